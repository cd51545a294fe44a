// Package mixin evaluates mixin.libsonnet, the exporter's monitoring mixin,
// with go-jsonnet, and renders what it holds as the files the repository
// ships: Prometheus rule files in YAML and the Grafana dashboard in JSON.
// `make mixin` writes them; the tests here fail while the shipped files
// differ from the evaluation, and the end-to-end suite evaluates the mixin
// with its clock shortened.
package mixin

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/google/go-jsonnet"
	"go.yaml.in/yaml/v3"
)

//go:embed mixin.libsonnet config.yml dashboards/*.json
var sources embed.FS

// RuleFile is a Prometheus rule file.
type RuleFile struct {
	Groups []RuleGroup `json:"groups" yaml:"groups"`
}

// RuleGroup is one group of a rule file.
type RuleGroup struct {
	Name     string `json:"name" yaml:"name"`
	Interval string `json:"interval,omitempty" yaml:"interval,omitempty"`
	Rules    []Rule `json:"rules" yaml:"rules"`
}

// Rule is a recording or an alerting rule, its fields in the order
// Prometheus' documentation gives them.
type Rule struct {
	Record        string            `json:"record,omitempty" yaml:"record,omitempty"`
	Alert         string            `json:"alert,omitempty" yaml:"alert,omitempty"`
	Expr          string            `json:"expr" yaml:"expr"`
	For           string            `json:"for,omitempty" yaml:"for,omitempty"`
	KeepFiringFor string            `json:"keep_firing_for,omitempty" yaml:"keep_firing_for,omitempty"`
	Labels        map[string]string `json:"labels,omitempty" yaml:"labels,omitempty"`
	Annotations   map[string]string `json:"annotations,omitempty" yaml:"annotations,omitempty"`
}

// Mixin is the evaluated mixin.
type Mixin struct {
	Alerts     RuleFile                   `json:"prometheusAlerts"`
	Rules      RuleFile                   `json:"prometheusRules"`
	Dashboards map[string]json.RawMessage `json:"grafanaDashboards"`
}

// Evaluate evaluates mixin.libsonnet, its _config overridden by config
// (nil: as config.yml says).
func Evaluate(config map[string]any) (*Mixin, error) {
	raw, err := sources.ReadFile("config.yml")
	if err != nil {
		return nil, err
	}
	return evaluate(string(raw), config)
}

// evaluate evaluates the mixin with configYAML as its config.yml.
func evaluate(configYAML string, config map[string]any) (*Mixin, error) {
	if config == nil {
		config = map[string]any{}
	}
	overrides, err := json.Marshal(config)
	if err != nil {
		return nil, err
	}
	data := map[string]jsonnet.Contents{"config.yml": jsonnet.MakeContents(configYAML)}
	for _, name := range []string{"mixin.libsonnet", "dashboards/tencentchat-official-accounts.json"} {
		b, err := sources.ReadFile(name)
		if err != nil {
			return nil, err
		}
		data[name] = jsonnet.MakeContentsRaw(b)
	}
	// A key of config.yml the mixin never reads is a typo of one it does.
	var keys map[string]any
	if err := yaml.Unmarshal([]byte(configYAML), &keys); err != nil {
		return nil, fmt.Errorf("mixin/config.yml: %w", err)
	}
	for key := range keys {
		if !regexp.MustCompile(`\bcfg\.` + regexp.QuoteMeta(key) + `\b`).Match(data["mixin.libsonnet"].Data()) {
			return nil, fmt.Errorf("mixin/config.yml: unknown key %q", key)
		}
	}
	vm := jsonnet.MakeVM()
	vm.Importer(&jsonnet.MemoryImporter{Data: data})
	vm.ExtCode("overrides", string(overrides))
	out, err := vm.EvaluateAnonymousSnippet("evaluate.jsonnet", `
		local m = (import 'mixin.libsonnet') + { _config+:: std.extVar('overrides') };
		{ prometheusAlerts: m.prometheusAlerts, prometheusRules: m.prometheusRules, grafanaDashboards: m.grafanaDashboards }`)
	if err != nil {
		return nil, fmt.Errorf("mixin.libsonnet: %w", err)
	}
	var m Mixin
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("mixin.libsonnet: its output: %w", err)
	}
	return &m, nil
}

// Files are the files `make mixin` writes, by their path in the
// repository: the alerts in the configured language and in Chinese, the
// recording rules, the dashboards, and the Helm chart's copies of the
// rule files.
func Files() (map[string][]byte, error) {
	raw, err := sources.ReadFile("config.yml")
	if err != nil {
		return nil, err
	}
	return files(string(raw))
}

func files(configYAML string) (map[string][]byte, error) {
	m, err := evaluate(configYAML, nil)
	if err != nil {
		return nil, err
	}
	zh, err := evaluate(configYAML, map[string]any{"language": "zh"})
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	for name, rf := range map[string]RuleFile{"alerts.yml": m.Alerts, "alerts.zh.yml": zh.Alerts, "rules.yml": m.Rules} {
		b, err := rf.YAML(name)
		if err != nil {
			return nil, err
		}
		files["mixin/"+name] = b
		files["charts/tencentchat-exporter/files/"+name] = b
	}
	for name, raw := range m.Dashboards {
		b, err := Indent(raw)
		if err != nil {
			return nil, fmt.Errorf("dashboard %s: %w", name, err)
		}
		files["mixin/dashboards/"+name] = b
	}
	return files, nil
}

// YAML renders the rule file as the repository ships it, with a header
// that says where it comes from.
func (rf RuleFile) YAML(name string) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s of tencentchat_exporter's mixin. Generated by `make mixin` from\n", name)
	b.WriteString("# mixin/mixin.libsonnet and mixin/config.yml: change them there. The\n")
	b.WriteString("# runbook for each alert is in docs/runbook.md (docs/zh-CN/runbook.md).\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(rf); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Indent renders JSON as the repository ships it: two spaces, keys
// sorted, no HTML escaping, a final newline.
func Indent(raw []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Names lists the names the rules of a file give (alert names, recorded
// series), each once, sorted.
func (rf RuleFile) Names() []string {
	seen := map[string]bool{}
	var names []string
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			name := r.Alert + r.Record
			if !seen[name] {
				seen[name] = true
				names = append(names, name)
			}
		}
	}
	sort.Strings(names)
	return names
}
