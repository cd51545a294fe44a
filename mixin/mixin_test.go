package mixin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-jsonnet"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/testutil"
)

// TestShippedFilesAreTheMixin: every file `make mixin` writes is in the
// repository as go-jsonnet evaluates mixin.libsonnet with config.yml: the
// YAML and JSON others load and the mixin others import cannot drift.
func TestShippedFilesAreTheMixin(t *testing.T) {
	t.Parallel()
	files, err := Files()
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 7 {
		t.Errorf("%d files, want 7 (three rule files, their chart copies, the dashboard)", len(files))
	}
	if diff := differing(t, files); len(diff) != 0 {
		t.Errorf("differ from mixin/mixin.libsonnet with mixin/config.yml: %v; run `make mixin`", diff)
	}
}

// differing lists the files whose content in the repository is not what
// the evaluation gave.
func differing(t *testing.T, files map[string][]byte) []string {
	t.Helper()
	var diff []string
	for name, want := range files {
		got, err := os.ReadFile("../" + name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			diff = append(diff, name)
		}
	}
	return diff
}

// TestChangedThresholdIsCaught: a threshold changed in config.yml without
// `make mixin` makes the shipped files differ, and reaches the rules. The
// four changes go into one evaluation, as each evaluation costs seconds
// under -race; each change's text is absent from the shipped file and
// present in the evaluated one, so each key is still proven on its own.
func TestChangedThresholdIsCaught(t *testing.T) {
	t.Parallel()
	changes := []struct{ key, from, to, file, want string }{
		{"capacity_near_ratio", "0.9", "0.95", "mixin/alerts.yml", ">= 0.95"},
		{"slo_api_availability_objective", "0.995", "0.999", "mixin/alerts.yml", "(14.4 * (1 - 0.999))"},
		{"slo_data_freshness_max_age_intervals", "2", "3", "mixin/rules.yml", "< bool 3 * tencentchat_refresh_interval_seconds"},
		{"dashboard_timezone", "Asia/Shanghai", "utc", "mixin/dashboards/tencentchat-official-accounts.json", `"timezone": "utc"`},
	}
	raw, err := sources.ReadFile("config.yml")
	if err != nil {
		t.Fatal(err)
	}
	config := string(raw)
	for _, c := range changes {
		from, to := c.key+": "+c.from, c.key+": "+c.to
		if !strings.Contains(config, from) {
			t.Fatalf("config.yml has no %q", from)
		}
		config = strings.Replace(config, from, to, 1)
	}
	files, err := files(config)
	if err != nil {
		t.Fatal(err)
	}
	diff := differing(t, files)
	for _, c := range changes {
		shipped, err := os.ReadFile("../" + c.file)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(shipped), c.want) {
			t.Errorf("%s: the shipped %s already holds %q; the case proves nothing", c.key, c.file, c.want)
		}
		if !strings.Contains(string(files[c.file]), c.want) {
			t.Errorf("%s: %s does not hold %q", c.key, c.file, c.want)
		}
		if !contains(diff, c.file) {
			t.Errorf("%s: %s: %s changed, yet the shipped file is found equal (%v)", c.key, c.file, c.to, diff)
		}
	}
}

// TestConfigMistakes: a missing or unknown key, or a language the mixin
// does not speak, is refused with its name.
func TestConfigMistakes(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct{ config, want string }{
		"missing":  {replaceConfig(t, "callback_answered_ratio: 0.99\n", ""), "callback_answered_ratio"},
		"unknown":  {replaceConfig(t, "language: en\n", "language: en\nsubscriber_drop_ration: 0.3\n"), "subscriber_drop_ration"},
		"prefix":   {replaceConfig(t, "language: en\n", "language: en\ncapacity_near: 0.3\n"), "capacity_near"},
		"language": {replaceConfig(t, "language: en\n", "language: fr\n"), "language"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := files(c.config)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one naming %s", err, c.want)
			}
		})
	}
}

func replaceConfig(t *testing.T, from, to string) string {
	t.Helper()
	raw, err := sources.ReadFile("config.yml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), from) {
		t.Fatalf("config.yml has no %q", from)
	}
	return strings.Replace(string(raw), from, to, 1)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestRunbookLinks: every alert's runbook_url points at a heading of the
// runbook in its language, by the anchor GitHub makes of it, and both
// runbooks have a heading for every alert.
func TestRunbookLinks(t *testing.T) {
	t.Parallel()
	const base = "https://github.com/tencentchat-exporter/tencentchat_exporter/blob/main/"
	for file, runbook := range map[string]string{"alerts.yml": "docs/runbook.md", "alerts.zh.yml": "docs/zh-CN/runbook.md"} {
		doc, err := os.ReadFile("../" + runbook)
		if err != nil {
			t.Fatal(err)
		}
		anchors := map[string]bool{}
		for _, line := range strings.Split(string(doc), "\n") {
			if strings.HasPrefix(line, "#") {
				anchors[testutil.GitHubAnchor(line)] = true
			}
		}
		alerts, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		links := regexp.MustCompile(`runbook_url: (\S+)`).FindAllStringSubmatch(string(alerts), -1)
		if file == "alerts.yml" {
			// The dashboard's panels link the English runbook too.
			dash, err := os.ReadFile("dashboards/tencentchat-official-accounts.json")
			if err != nil {
				t.Fatal(err)
			}
			links = append(links, regexp.MustCompile(`"url": "(\S+runbook\.md#\S+)"`).FindAllStringSubmatch(string(dash), -1)...)
		}
		if len(links) < 15 {
			t.Fatalf("%d runbook links in mixin/%s", len(links), file)
		}
		for _, m := range links {
			anchor, ok := strings.CutPrefix(m[1], base+runbook+"#")
			if !ok || !anchors[anchor] {
				t.Errorf("mixin/%s: runbook_url %s: no such heading in %s", file, m[1], runbook)
			}
		}
	}
}

// TestChineseAlertsDifferOnlyInText: alerts.zh.yml is alerts.yml with
// Chinese summaries and descriptions and links to the Chinese runbook; the
// rules, their labels and holds are the same.
func TestChineseAlertsDifferOnlyInText(t *testing.T) {
	t.Parallel()
	en, err := Evaluate(nil)
	if err != nil {
		t.Fatal(err)
	}
	zh, err := Evaluate(map[string]any{"language": "zh"})
	if err != nil {
		t.Fatal(err)
	}
	han := regexp.MustCompile(`\p{Han}`)
	if len(en.Alerts.Groups) != len(zh.Alerts.Groups) {
		t.Fatalf("%d groups in English, %d in Chinese", len(en.Alerts.Groups), len(zh.Alerts.Groups))
	}
	for i, g := range en.Alerts.Groups {
		if len(g.Rules) != len(zh.Alerts.Groups[i].Rules) {
			t.Fatalf("group %s: %d rules in English, %d in Chinese", g.Name, len(g.Rules), len(zh.Alerts.Groups[i].Rules))
		}
		for j, r := range g.Rules {
			z := zh.Alerts.Groups[i].Rules[j]
			if r.Alert != z.Alert || r.Expr != z.Expr || r.For != z.For || r.KeepFiringFor != z.KeepFiringFor || fmt.Sprint(r.Labels) != fmt.Sprint(z.Labels) {
				t.Errorf("%s: the Chinese rule is not the English one", r.Alert)
			}
			for _, k := range []string{"summary", "description"} {
				if han.MatchString(r.Annotations[k]) || !han.MatchString(z.Annotations[k]) {
					t.Errorf("%s: %s: English %q, Chinese %q", r.Alert, k, r.Annotations[k], z.Annotations[k])
				}
			}
			if !strings.Contains(z.Annotations["runbook_url"], "/docs/zh-CN/runbook.md#") {
				t.Errorf("%s: Chinese runbook_url %s", r.Alert, z.Annotations["runbook_url"])
			}
		}
	}
}

// TestImportAsDocumented: the jsonnet the README and the runbook show, run
// as jsonnet-bundler lays the mixin out (vendor/github.com/...), writes
// the rules, the alerts with its overrides, and the dashboard.
func TestImportAsDocumented(t *testing.T) {
	t.Parallel()
	vendor := t.TempDir()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(vendor, "github.com", "tencentchat-exporter"), 0o755)
	if err := os.Symlink(root, filepath.Join(vendor, "github.com", "tencentchat-exporter", "tencentchat_exporter")); err != nil {
		t.Fatal(err)
	}
	for _, doc := range []string{"../README.md", "../docs/runbook.md"} {
		raw, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile("(?s)```jsonnet\n(.*?)```").FindStringSubmatch(string(raw))
		if m == nil {
			t.Fatalf("%s: no jsonnet block", doc)
		}
		vm := jsonnet.MakeVM()
		vm.Importer(&jsonnet.FileImporter{JPaths: []string{vendor}})
		out, err := vm.EvaluateAnonymousSnippetMulti(doc, m[1])
		if err != nil {
			t.Fatalf("%s: %v", doc, err)
		}
		var alerts string
		if err := json.Unmarshal([]byte(out["tencentchat-alerts.yml"]), &alerts); err != nil {
			t.Fatalf("%s: tencentchat-alerts.yml: %v", doc, err)
		}
		if !strings.Contains(alerts, ">= 0.95") || !strings.Contains(alerts, "应用") {
			t.Errorf("%s: the overrides (capacity_near_ratio 0.95, language zh) did not reach the alerts", doc)
		}
		if _, ok := out["tencentchat-official-accounts.json"]; !ok || out["tencentchat-rules.yml"] == "" {
			t.Errorf("%s: wrote %d files, not the rules and the dashboard", doc, len(out))
		}
	}
}
