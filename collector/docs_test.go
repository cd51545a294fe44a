package collector

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
)

// TestMetricsDocumented: every metric the exporter serves, with every data
// family on (the golden world's answers) and the exporter's own on
// /metrics, has a row in docs/metrics.md that gives its type and exactly
// its labels; and every row names a metric that is served. A metric added
// without its row fails here.
func TestMetricsDocumented(t *testing.T) {
	type row struct {
		typ    string
		labels []string
	}
	// Both languages' pages, each held to what is served on its own.
	docs := map[string]map[string]row{"docs/metrics.md": {}, "docs/zh-CN/metrics.md": {}}
	tick := regexp.MustCompile("`([a-z_]+)`")
	for doc, rows := range docs {
		raw, err := os.ReadFile("../" + doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(raw), "\n") {
			cells := strings.Split(line, "|")
			if len(cells) != 6 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`tencentchat_") {
				continue
			}
			name := strings.Trim(strings.TrimSpace(cells[1]), "`")
			if _, dup := rows[name]; dup {
				t.Errorf("%s: %s has two rows", doc, name)
			}
			var labels []string
			for _, m := range tick.FindAllStringSubmatch(cells[3], -1) {
				labels = append(labels, m[1])
			}
			slices.Sort(labels)
			if strings.TrimSpace(cells[4]) == "" {
				t.Errorf("%s: %s has no meaning", doc, name)
			}
			rows[name] = row{strings.TrimSpace(cells[2]), labels}
		}
	}

	golden, err := os.ReadFile("testdata/golden-text.txt")
	if err != nil {
		t.Fatal(err)
	}
	// The file holds two answers, one per app, one after the other; only
	// names, types and labels matter here, so masked values read as 0.
	served := families{}
	for _, answer := range splitAnswers(strings.ReplaceAll(string(golden), "<masked>", "0")) {
		f, err := tryParse(answer)
		if err != nil {
			t.Fatal(err)
		}
		for name, mf := range f {
			if prev, ok := served[name]; ok {
				mf.Metric = append(mf.Metric, prev.Metric...)
			}
			served[name] = mf
		}
	}
	// The exporter's own, which main.go registers beside the apps.
	reg := prometheus.NewPedanticRegistry()
	exp := New(log.NewNopLogger())
	defer exp.Close()
	reg.MustRegister(exp.ReloadMetrics()...)
	own, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range own {
		served[mf.GetName()] = mf
	}
	if len(served) < 40 {
		t.Fatalf("only %d families served; the golden world lost its families", len(served))
	}
	for doc, rows := range docs {
		for name, mf := range served {
			if !strings.HasPrefix(name, "tencentchat_") {
				continue
			}
			r, ok := rows[name]
			if !ok {
				t.Errorf("%s is served, and has no row in %s", name, doc)
				continue
			}
			if typ := strings.ToLower(mf.GetType().String()); r.typ != typ {
				t.Errorf("%s: %s is a %s, the exporter serves a %s", doc, name, r.typ, typ)
			}
			labels := map[string]bool{}
			for _, m := range mf.GetMetric() {
				for _, lp := range m.GetLabel() {
					labels[lp.GetName()] = true
				}
			}
			var got []string
			for l := range labels {
				got = append(got, l)
			}
			slices.Sort(got)
			if !slices.Equal(got, r.labels) {
				t.Errorf("%s: %s has labels %v, the exporter serves %v", doc, name, r.labels, got)
			}
		}
		for name := range rows {
			// build_info comes from client_golang's version collector,
			// which main.go registers; the collector package never serves it.
			if _, ok := served[name]; !ok && name != "tencentchat_exporter_build_info" {
				t.Errorf("%s has a row for %s, which the exporter does not serve", doc, name)
			}
		}
	}
}

// splitAnswers cuts concatenated text answers where a HELP line repeats.
func splitAnswers(text string) []string {
	var out []string
	var cur strings.Builder
	seen := map[string]bool{}
	for line := range strings.Lines(text) {
		if strings.HasPrefix(line, "# HELP ") {
			name := strings.Fields(line)[2]
			if seen[name] {
				out = append(out, cur.String())
				cur.Reset()
				clear(seen)
			}
			seen[name] = true
		}
		cur.WriteString(line)
	}
	return append(out, cur.String())
}
