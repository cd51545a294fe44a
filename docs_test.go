package main

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/testutil"
)

// docs are the documents a reader follows links through, English and
// Chinese.
func docs(t *testing.T) []string {
	t.Helper()
	files := []string{"README.md", "CONTRIBUTING.md", "CHANGELOG.md", "examples/alertmanager/README.md"}
	for _, glob := range []string{"docs/*.md", "docs/zh-CN/*.md"} {
		m, err := filepath.Glob(glob)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 12 {
		t.Fatalf("only %d documents: %v", len(files), files)
	}
	return files
}

// TestDocLinksResolve: every relative link of the documents names a file
// of the repository, and every #fragment a heading of it, as GitHub makes
// anchors of headings (Chinese headings included).
func TestDocLinksResolve(t *testing.T) {
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	for _, doc := range docs(t) {
		raw, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range link.FindAllStringSubmatch(string(raw), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file, fragment, _ := strings.Cut(target, "#")
			path := doc
			if file != "" {
				path = filepath.Join(filepath.Dir(doc), file)
			}
			if _, err := os.Stat(path); err != nil {
				t.Errorf("%s: link %s: %v", doc, target, err)
				continue
			}
			if fragment != "" && !headings(t, path)[fragment] {
				t.Errorf("%s: link %s: no heading #%s in %s", doc, target, fragment, path)
			}
		}
	}
}

// headings are the anchors GitHub gives the headings of a Markdown file.
func headings(t *testing.T, path string) map[string]bool {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	fenced := false
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "```") {
			fenced = !fenced
		}
		if !fenced && strings.HasPrefix(line, "#") {
			anchors[testutil.GitHubAnchor(line)] = true
		}
	}
	return anchors
}

// TestChineseDocsKeepUp: the README links the Chinese docs in its first
// lines, and docs/zh-CN/metrics.md names every metric of docs/metrics.md,
// so a metric added in English only fails here.
func TestChineseDocsKeepUp(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	head := strings.Join(strings.SplitN(string(readme), "\n", 6)[:5], "\n")
	if !strings.Contains(head, "[中文文档](docs/zh-CN/README.md)") {
		t.Errorf("the README's first lines do not link the Chinese docs:\n%s", head)
	}
	metrics, err := os.ReadFile("docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	zh, err := os.ReadFile("docs/zh-CN/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	english, chinese := tableMetrics(string(metrics)), tableMetrics(string(zh))
	if len(english) < 40 {
		t.Fatalf("only %d metrics in docs/metrics.md's tables", len(english))
	}
	for name := range english {
		if !chinese[name] {
			t.Errorf("%s is in docs/metrics.md's tables, not in docs/zh-CN/metrics.md's", name)
		}
	}
}

// tableMetrics are the metric names in the first column of a text's tables.
func tableMetrics(text string) map[string]bool {
	names := map[string]bool{}
	for _, line := range strings.Split(text, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 3 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`tencentchat_") {
			continue
		}
		for _, m := range regexp.MustCompile("`(tencentchat_[a-z_]+)").FindAllStringSubmatch(cells[1], -1) {
			names[m[1]] = true
		}
	}
	return names
}

// TestAlertmanagerExamplesInhibitAsTheMixin: the paging examples are whole
// Alertmanager configurations to copy, so each repeats the mixin's
// inhibition; this keeps the copies equal to mixin/alertmanager.yml's.
func TestAlertmanagerExamplesInhibitAsTheMixin(t *testing.T) {
	inhibit := func(file string) any {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var cfg struct {
			InhibitRules any `yaml:"inhibit_rules"`
		}
		if err := yaml.Unmarshal(raw, &cfg); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		return cfg.InhibitRules
	}
	want := inhibit("mixin/alertmanager.yml")
	examples, _ := filepath.Glob("examples/alertmanager/*.yml")
	if len(examples) < 3 {
		t.Fatalf("examples: %v", examples)
	}
	for _, file := range examples {
		if got := inhibit(file); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: inhibit_rules differ from mixin/alertmanager.yml's:\n%v\nwant\n%v", file, got, want)
		}
	}
}

// TestContributingLayout: CONTRIBUTING's layout names every Go file of the
// tree under the bullet of its folder, and names no file that is not
// there, so the map cannot drift from the code. A bullet's first
// backticked name is its folder (`./` for the command's); each backticked
// name ending in .go after it is a file of that folder.
func TestContributingLayout(t *testing.T) {
	raw, err := os.ReadFile("CONTRIBUTING.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	start := strings.Index(text, "\n## Layout\n")
	if start < 0 {
		t.Fatal("CONTRIBUTING.md has no ## Layout section")
	}
	section := text[start+len("\n## Layout\n"):]
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	tick := regexp.MustCompile("`([^`]+)`")
	named := map[string]bool{}
	for _, bullet := range strings.Split("\n"+section, "\n- ")[1:] {
		names := tick.FindAllStringSubmatch(bullet, -1)
		if len(names) == 0 || !strings.HasSuffix(names[0][1], "/") {
			t.Errorf("layout bullet does not begin with its folder: %.60q", bullet)
			continue
		}
		dir := strings.TrimSuffix(names[0][1], "/")
		for _, n := range names[1:] {
			if f := n[1]; strings.HasSuffix(f, ".go") && !strings.Contains(f, "/") {
				named[filepath.Join(dir, f)] = true
			}
		}
	}
	onDisk := map[string]bool{}
	err = filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "dist") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") {
			onDisk[path] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(onDisk) < 100 {
		t.Fatalf("only %d Go files found; is the test running at the repository's root?", len(onDisk))
	}
	for f := range onDisk {
		if !named[f] {
			t.Errorf("%s is not named under its folder in CONTRIBUTING.md's layout", f)
		}
	}
	for f := range named {
		if !onDisk[f] {
			t.Errorf("CONTRIBUTING.md's layout names %s, which does not exist", f)
		}
	}
}

// TestChangelogShape: CHANGELOG.md is in Keep a Changelog form: releases
// as "## [version] - date" (or "## [Unreleased]"), their changes under the
// six kinds' headings, each change one line, each release linked.
func TestChangelogShape(t *testing.T) {
	raw, err := os.ReadFile("CHANGELOG.md")
	if err != nil {
		t.Fatal(err)
	}
	release := regexp.MustCompile(`^## \[(Unreleased|\d+\.\d+\.\d+)\]( - \d{4}-\d{2}-\d{2})?$`)
	kind := regexp.MustCompile(`^### (Added|Changed|Deprecated|Removed|Fixed|Security)$`)
	link := regexp.MustCompile(`^\[(Unreleased|\d+\.\d+\.\d+)\]: https://`)
	var releases, linked []string
	inRelease, inKind, entries := false, false, 0
	for i, line := range strings.Split(string(raw), "\n") {
		switch {
		case release.MatchString(line):
			m := release.FindStringSubmatch(line)
			if m[1] != "Unreleased" && m[2] == "" {
				t.Errorf("CHANGELOG.md:%d: release %s without its date", i+1, m[1])
			}
			releases = append(releases, m[1])
			inRelease, inKind = true, false
		case kind.MatchString(line):
			if !inRelease {
				t.Errorf("CHANGELOG.md:%d: %q outside a release", i+1, line)
			}
			inKind = true
		case strings.HasPrefix(line, "- "):
			if !inKind {
				t.Errorf("CHANGELOG.md:%d: a change outside Added, Changed, Fixed, ...", i+1)
			}
			entries++
		case link.MatchString(line):
			linked = append(linked, link.FindStringSubmatch(line)[1])
		case line == "" || !inRelease:
		default:
			t.Errorf("CHANGELOG.md:%d: neither a heading nor a one-line change: %.60q", i+1, line)
		}
	}
	if len(releases) < 2 || releases[0] != "Unreleased" || entries < 20 {
		t.Fatalf("releases %v with %d changes: the file lost its shape", releases, entries)
	}
	if !slices.Equal(releases, linked) {
		t.Errorf("releases %v, links %v: each release wants its link, in order", releases, linked)
	}
}
