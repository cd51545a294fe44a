package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// TestAlertsUpToDate: the committed mixin/alerts.yml, and the chart's copy
// its PrometheusRule serves, are what `make mixin` writes from the
// committed template and thresholds.
func TestAlertsUpToDate(t *testing.T) {
	want, err := Render("../../mixin/alerts.yml.tmpl", "../../mixin/config.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range Outputs {
		got, err := os.ReadFile("../../" + file)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("%s differs from mixin/alerts.yml.tmpl with mixin/config.yml: run `make mixin`", file)
		}
	}
}

// TestRenderRefusesIncompleteConfig: a missing threshold would render as
// an empty value in PromQL; an unknown key is a typo.
func TestRenderRefusesIncompleteConfig(t *testing.T) {
	dir := t.TempDir()
	raw, _ := os.ReadFile("../../mixin/config.yml")
	for name, cfg := range map[string]string{
		"unknown key": string(raw) + "\nsubscriber_drop_ration: 0.3\n",
		"empty value": strings.Replace(string(raw), "keep_firing_for: 30m", "keep_firing_for: ''", 1),
		"missing key": strings.Replace(string(raw), "callback_answered_ratio: 0.99", "", 1),
	} {
		file := dir + "/config.yml"
		os.WriteFile(file, []byte(cfg), 0o644)
		if _, err := Render("../../mixin/alerts.yml.tmpl", file); err == nil {
			t.Errorf("%s: rendered without complaint", name)
		}
	}
	// A changed threshold reaches the rules.
	file := dir + "/config.yml"
	os.WriteFile(file, []byte(strings.Replace(string(raw), "subscriber_drop_ratio: 0.2", "subscriber_drop_ratio: 0.35", 1)), 0o644)
	out, err := Render("../../mixin/alerts.yml.tmpl", file)
	if err != nil || !strings.Contains(string(out), "> 0.35") || strings.Contains(string(out), "> 0.2\n") {
		t.Errorf("changed threshold not rendered: %v", err)
	}
}

// TestRunbookLinks: every alert's runbook_url points at a heading of
// docs/runbook.md, by the anchor GitHub makes of it.
func TestRunbookLinks(t *testing.T) {
	const prefix = "https://github.com/tencentchat-exporter/tencentchat_exporter/blob/main/docs/runbook.md#"
	doc, err := os.ReadFile("../../docs/runbook.md")
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	for _, line := range strings.Split(string(doc), "\n") {
		if strings.HasPrefix(line, "#") {
			anchors[githubAnchor(strings.TrimLeft(line, "# "))] = true
		}
	}
	alerts, err := os.ReadFile("../../mixin/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	links := regexp.MustCompile(`runbook_url: (\S+)`).FindAllStringSubmatch(string(alerts), -1)
	if len(links) < 10 {
		t.Fatalf("%d runbook links in mixin/alerts.yml", len(links))
	}
	for _, m := range links {
		anchor, ok := strings.CutPrefix(m[1], prefix)
		if !ok || !anchors[anchor] {
			t.Errorf("runbook_url %s: no such heading in docs/runbook.md", m[1])
		}
	}
}

// githubAnchor is the fragment GitHub gives a heading: lower case, spaces
// to hyphens, punctuation other than hyphens and underscores dropped.
func githubAnchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}
