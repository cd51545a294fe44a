package main

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
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
// lines, and the Chinese README's metric tables name every metric of the
// English one, so a metric added in English only fails here.
func TestChineseDocsKeepUp(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	head := strings.Join(strings.SplitN(string(readme), "\n", 6)[:5], "\n")
	if !strings.Contains(head, "[中文文档](docs/zh-CN/README.md)") {
		t.Errorf("the README's first lines do not link the Chinese docs:\n%s", head)
	}
	zh, err := os.ReadFile("docs/zh-CN/README.md")
	if err != nil {
		t.Fatal(err)
	}
	english, chinese := tableMetrics(t, string(readme)), tableMetrics(t, string(zh))
	if len(english) < 40 {
		t.Fatalf("only %d metrics in the README's tables", len(english))
	}
	for name := range english {
		if !chinese[name] {
			t.Errorf("%s is in the README's metric tables, not in docs/zh-CN/README.md's", name)
		}
	}
}

// tableMetrics are the metric names in the first column of the tables of
// a document's metrics section (from its heading to the next one of the
// same level).
func tableMetrics(t *testing.T, doc string) map[string]bool {
	t.Helper()
	start := regexp.MustCompile(`(?m)^## (Metrics|指标)$`).FindStringIndex(doc)
	if start == nil {
		t.Fatal("no metrics section")
	}
	section := doc[start[1]:]
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	names := map[string]bool{}
	for _, line := range strings.Split(section, "\n") {
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
