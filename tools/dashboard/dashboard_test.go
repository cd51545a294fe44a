// Package dashboard holds the test that reads the mixin's dashboard as
// Grafana would: strictly, into the Grafana Foundation SDK's types.
package dashboard

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/bargauge"
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

const file = "../../mixin/dashboards/tencentchat-official-accounts.json"

// strictErr undoes a quirk of the SDK: its strict decoders return their
// error list typed even when it is empty, a non-nil error meaning none.
func strictErr(err error) error {
	var be cog.BuildErrors
	if errors.As(err, &be) && len(be) == 0 {
		return nil
	}
	return err
}

// decode reads a dashboard strictly. The SDK's own decoding of the panel
// and annotation lists trips over that quirk (every panel is dropped with
// an empty error), so those lists are decoded here item by item, each as
// strictly.
//
//nolint:staticcheck // The mixin's dashboard is Grafana's classic JSON model, which v1 types describe.
func decode(raw []byte) (*dashboard.Dashboard, error) {
	registerPlugins()
	raw, _, err := withoutSharing(raw)
	if err != nil {
		return nil, err
	}
	var d dashboard.Dashboard //nolint:staticcheck // as above
	if err := strictErr(d.UnmarshalJSONStrict(raw)); err != nil {
		return nil, err
	}
	var doc struct {
		Panels      []json.RawMessage
		Annotations struct{ List []json.RawMessage }
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	d.Panels = nil
	for i, p := range doc.Panels {
		var head struct{ Type string }
		json.Unmarshal(p, &head)
		if head.Type == "row" {
			var row dashboard.RowPanel
			if err := strictErr(row.UnmarshalJSONStrict(p)); err != nil {
				return nil, fmt.Errorf("panels[%d]: %w", i, err)
			}
			d.Panels = append(d.Panels, dashboard.PanelOrRowPanel{RowPanel: &row})
			continue
		}
		var panel dashboard.Panel
		if err := strictErr(panel.UnmarshalJSONStrict(p)); err != nil {
			return nil, fmt.Errorf("panels[%d]: %w", i, err)
		}
		// Options and queries are unions the SDK loses the same way: each
		// is decoded into its plugin's type here.
		var parts struct {
			Options json.RawMessage
			Targets []json.RawMessage
		}
		json.Unmarshal(p, &parts)
		opts, err := panelOptions(head.Type)
		if err != nil {
			return nil, fmt.Errorf("panels[%d]: %w", i, err)
		}
		if err := strictErr(opts.UnmarshalJSONStrict(parts.Options)); err != nil {
			return nil, fmt.Errorf("panels[%d].options: %w", i, err)
		}
		panel.Options = opts
		panel.Targets = nil
		for j, q := range parts.Targets {
			var dq prometheus.Dataquery
			if err := strictErr(dq.UnmarshalJSONStrict(q)); err != nil {
				return nil, fmt.Errorf("panels[%d].targets[%d]: %w", i, j, err)
			}
			panel.Targets = append(panel.Targets, &dq)
		}
		d.Panels = append(d.Panels, dashboard.PanelOrRowPanel{Panel: &panel})
	}
	d.Annotations.List = nil
	for i, a := range doc.Annotations.List {
		var q dashboard.AnnotationQuery
		if err := strictErr(q.UnmarshalJSONStrict(a)); err != nil {
			return nil, fmt.Errorf("annotations.list[%d]: %w", i, err)
		}
		d.Annotations.List = append(d.Annotations.List, q)
	}
	return &d, nil
}

// sharing is what Grafana's "Export for sharing externally" adds to a
// dashboard, and its import reads: the inputs it asks for and what the
// dashboard needs. The dashboard model itself has no such keys.
type sharing struct {
	Inputs []struct {
		Name, Label, Description, Type, PluginID, PluginName string
	} `json:"__inputs"`
	Requires []struct{ Type, ID, Name, Version string } `json:"__requires"`
}

// withoutSharing splits the sharing keys off a dashboard.
func withoutSharing(raw []byte) ([]byte, *sharing, error) {
	var sh sharing
	if err := json.Unmarshal(raw, &sh); err != nil {
		return nil, nil, err
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, nil, err
	}
	delete(doc, "__inputs")
	delete(doc, "__requires")
	rest, err := json.Marshal(doc)
	return rest, &sh, err
}

// registerPlugins registers with the SDK's runtime the panel and query
// plugins the dashboard uses, as plugins.RegisterDefaultPlugins does for
// all of Grafana's: that would compile some forty plugin packages for
// nothing, and a panel of another type fails panelOptions anyway.
func registerPlugins() {
	rt := cog.NewRuntime()
	for _, v := range []variants.PanelcfgConfig{bargauge.VariantConfig(), stat.VariantConfig(),
		table.VariantConfig(), timeseries.VariantConfig()} {
		rt.RegisterPanelcfgVariant(v)
	}
	rt.RegisterDataqueryVariant(prometheus.VariantConfig())
}

// strictDecoder is a plugin type the SDK can decode strictly.
type strictDecoder interface {
	UnmarshalJSONStrict(raw []byte) error
}

// panelOptions is the options type of a panel plugin this dashboard uses.
func panelOptions(typ string) (strictDecoder, error) {
	switch typ {
	case "stat":
		return stat.NewOptions(), nil
	case "table":
		return table.NewOptions(), nil
	case "timeseries":
		return timeseries.NewOptions(), nil
	case "bargauge":
		return bargauge.NewOptions(), nil
	}
	return nil, fmt.Errorf("panel type %q: the test knows no options type for it", typ)
}

// TestDashboardDecodesStrictly: the dashboard decodes into Grafana's
// types with unknown keys and wrong types as errors, marshals back
// without losing a key, and every panel and query uses the dashboard's
// data source variable.
func TestDashboardDecodesStrictly(t *testing.T) {
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	d, err := decode(raw)
	if err != nil {
		t.Fatalf("strict decode: %v", err)
	}
	back, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	model, _, err := withoutSharing(raw)
	if err != nil {
		t.Fatal(err)
	}
	var before, after any
	json.Unmarshal(model, &before)
	json.Unmarshal(back, &after)
	// An empty annotation list is left out on the way back: not a loss.
	if len(d.Annotations.List) == 0 {
		delete(before.(map[string]any)["annotations"].(map[string]any), "list")
	}
	if lost := missingKeys("", before, after); len(lost) > 0 {
		t.Errorf("the round trip through Grafana's types drops %d keys: %s", len(lost), strings.Join(lost, ", "))
	}

	var doc struct {
		Panels []struct {
			Title      string
			Type       string
			Datasource *struct{ Type, UID string }
			Targets    []struct {
				Datasource *struct{ Type, UID string }
			}
		}
	}
	json.Unmarshal(raw, &doc)
	panels := 0
	for _, p := range doc.Panels {
		if p.Type == "row" {
			continue
		}
		panels++
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" || p.Datasource.Type != "prometheus" {
			t.Errorf("panel %q: data source %+v, want the ${datasource} variable", p.Title, p.Datasource)
		}
		for i, q := range p.Targets {
			if q.Datasource == nil || q.Datasource.UID != "${datasource}" {
				t.Errorf("panel %q query %d: data source %+v, want the ${datasource} variable", p.Title, i, q.Datasource)
			}
		}
	}
	if panels < 15 {
		t.Fatalf("only %d panels decoded", panels)
	}
}

// TestBrokenDashboardsRefused: the strict decode is the check, so it must
// refuse what Grafana would not read right.
func TestBrokenDashboardsRefused(t *testing.T) {
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for name, change := range map[string][2]string{
		"typo'd key":           {`"gridPos"`, `"gridPoz"`},
		"wrong type":           {`"title": "Tencent Cloud Chat official accounts"`, `"title": 7`},
		"bad gridPos":          {`"w": 24`, `"w": "wide"`},
		"unknown panel option": {`"justifyMode": "auto"`, `"justifyMode": "auto", "nope": 1`},
	} {
		broken := strings.Replace(string(raw), change[0], change[1], 1)
		if broken == string(raw) {
			t.Fatalf("%s: %s not found in the dashboard", name, change[0])
		}
		if _, err := decode([]byte(broken)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// missingKeys lists the object keys of a that b lacks, by path.
func missingKeys(path string, a, b any) []string {
	var out []string
	switch av := a.(type) {
	case map[string]any:
		bv, _ := b.(map[string]any)
		keys := make([]string, 0, len(av))
		for k := range av {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if _, ok := bv[k]; !ok {
				out = append(out, path+"/"+k)
				continue
			}
			out = append(out, missingKeys(path+"/"+k, av[k], bv[k])...)
		}
	case []any:
		bv, _ := b.([]any)
		for i := range av {
			if i < len(bv) {
				out = append(out, missingKeys(path+"/"+strconvItoa(i), av[i], bv[i])...)
			}
		}
	}
	return out
}

func strconvItoa(i int) string { return strconv.Itoa(i) }

// TestDashboardImportsAnywhere: the dashboard carries what Grafana's import
// needs to place it in any Grafana (its data source as an input, the
// plugins it uses), the variables an operator filters by, Beijing time,
// and runbook links on the panels of alerts.
func TestDashboardImportsAnywhere(t *testing.T) {
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	_, sh, err := withoutSharing(raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(sh.Inputs) != 1 || sh.Inputs[0].Name != "DS_PROMETHEUS" || sh.Inputs[0].Type != "datasource" || sh.Inputs[0].PluginID != "prometheus" {
		t.Errorf("__inputs %+v, want the one Prometheus data source DS_PROMETHEUS", sh.Inputs)
	}
	var doc struct {
		Timezone   string
		Templating struct {
			List []struct {
				Name, Type string
				Current    struct{ Value any }
			}
		}
		Panels []struct {
			Type, Title string
			Links       []struct{ Title, URL string }
		}
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Timezone != "Asia/Shanghai" {
		t.Errorf("time zone %q, want Asia/Shanghai", doc.Timezone)
	}
	var vars []string
	for _, v := range doc.Templating.List {
		vars = append(vars, v.Name)
		if v.Type == "datasource" && v.Current.Value != "${DS_PROMETHEUS}" {
			t.Errorf("the data source variable defaults to %v, not the imported ${DS_PROMETHEUS}", v.Current.Value)
		}
	}
	if got := strings.Join(vars, " "); got != "datasource job instance app_name owner_account account" {
		t.Errorf("variables %s", got)
	}
	required := map[string]bool{}
	for _, r := range sh.Requires {
		required[r.Type+"/"+r.ID] = true
	}
	if !required["grafana/grafana"] || !required["datasource/prometheus"] {
		t.Errorf("__requires %+v lacks Grafana or the Prometheus data source", sh.Requires)
	}
	links := 0
	for _, p := range doc.Panels {
		if p.Type != "row" && !required["panel/"+p.Type] {
			t.Errorf("panel %q: type %s not in __requires", p.Title, p.Type)
		}
		for _, l := range p.Links {
			links++
			if !strings.HasPrefix(l.URL, "https://github.com/tencentchat-exporter/tencentchat_exporter/blob/main/docs/runbook.md#") {
				t.Errorf("panel %q: link %s is not to the runbook", p.Title, l.URL)
			}
		}
	}
	if links < 15 {
		t.Errorf("%d runbook links on the panels", links)
	}
}
