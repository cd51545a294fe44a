// Package helm holds the test of the Helm chart: helm lint --strict and
// helm template with the default values and with everything enabled, and
// every rendered object decoded strictly into the official Kubernetes and
// Prometheus Operator types, offline. It runs helm's own lint and render
// packages as a library, pinned in go.mod: what `helm lint` and `helm
// template` run, without compiling the helm command (its cluster client,
// registry and plugin code), which took over two minutes from a cold cache.
package chart

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	"helm.sh/helm/v3/pkg/releaseutil"
	"helm.sh/helm/v3/pkg/strvals"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

const chart = "../../charts/tencentchat-exporter"

// values parses --set style assignments, as helm's --set does.
func values(t *testing.T, set []string) map[string]any {
	t.Helper()
	v := map[string]any{}
	for _, s := range set {
		if err := strvals.ParseInto(s, v); err != nil {
			t.Fatalf("--set %s: %v", s, err)
		}
	}
	return v
}

var valueSets = map[string][]string{
	"defaults":           nil,
	"everything enabled": {"serviceMonitor.enabled=true", "prometheusRule.enabled=true", "extraArgs={--log.level=debug}"},
	"alerts in Chinese":  {"prometheusRule.enabled=true", "prometheusRule.language=zh"},
}

// TestLint is helm lint --strict: a warning fails as an error does.
func TestLint(t *testing.T) {
	for name, set := range valueSets {
		t.Run(name, func(t *testing.T) {
			res := lint.All(chart, values(t, set), "default", false)
			if len(res.Messages) == 0 {
				t.Fatal("the linter said nothing: not even that Chart.yaml was read")
			}
			for _, m := range res.Messages {
				if m.Severity >= support.WarningSev {
					t.Error(m)
				}
			}
		})
	}
}

// render is helm template release CHART with the values set: the chart's
// manifests in install order, without NOTES.txt, partials or hooks.
func render(t *testing.T, set []string) []releaseutil.Manifest {
	t.Helper()
	c, err := loader.Load(chart)
	if err != nil {
		t.Fatal(err)
	}
	vals, err := chartutil.ToRenderValues(c, values(t, set),
		chartutil.ReleaseOptions{Name: "release", Namespace: "default", Revision: 1, IsInstall: true}, chartutil.DefaultCapabilities)
	if err != nil {
		t.Fatal(err)
	}
	files, err := engine.Render(c, vals)
	if err != nil {
		t.Fatal(err)
	}
	for name := range files {
		if strings.HasSuffix(name, "NOTES.txt") {
			delete(files, name)
		}
	}
	hooks, manifests, err := releaseutil.SortManifests(files, chartutil.DefaultCapabilities.APIVersions, releaseutil.InstallOrder)
	if err != nil {
		t.Fatal(err)
	}
	if len(hooks) != 0 {
		t.Errorf("the chart has %d hooks; helm template would print them too", len(hooks))
	}
	return manifests
}

// strict decodes a rendered object into v, refusing unknown fields.
func strict(t *testing.T, doc []byte, v any) {
	t.Helper()
	raw, err := yaml.YAMLToJSON(doc)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%T: %v\n%s", v, err, doc)
	}
}

func TestTemplate(t *testing.T) {
	for name, set := range valueSets {
		t.Run(name, func(t *testing.T) {
			kinds := map[string]int{}
			for _, m := range render(t, set) {
				doc := m.Content
				kinds[m.Head.Kind]++
				switch m.Head.Kind {
				case "Deployment":
					var d appsv1.Deployment
					strict(t, []byte(doc), &d)
					checkDeployment(t, &d)
				case "Service":
					strict(t, []byte(doc), &corev1.Service{})
				case "ConfigMap":
					var cm corev1.ConfigMap
					strict(t, []byte(doc), &cm)
					if !strings.Contains(cm.Data["config.yml"], "apps:") {
						t.Errorf("ConfigMap holds no configuration: %v", cm.Data)
					}
				case "ServiceMonitor":
					strict(t, []byte(doc), &monitoringv1.ServiceMonitor{})
				case "PrometheusRule":
					var r monitoringv1.PrometheusRule
					strict(t, []byte(doc), &r)
					checkRuleEqualsMixin(t, &r, map[bool]string{true: "alerts.zh.yml", false: "alerts.yml"}[name == "alerts in Chinese"])
				default:
					t.Errorf("unexpected kind %s", m.Head.Kind)
				}
			}
			want := map[string]int{"Deployment": 1, "Service": 1, "ConfigMap": 1}
			switch name {
			case "everything enabled":
				want["ServiceMonitor"], want["PrometheusRule"] = 1, 1
			case "alerts in Chinese":
				want["PrometheusRule"] = 1
			}
			if !reflect.DeepEqual(kinds, want) {
				t.Errorf("rendered %v, want %v", kinds, want)
			}
		})
	}
}

func checkDeployment(t *testing.T, d *appsv1.Deployment) {
	t.Helper()
	pod := d.Spec.Template.Spec
	c := pod.Containers[0]
	sc := c.SecurityContext
	switch {
	case pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot:
		t.Error("the pod may run as root")
	case sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
		t.Error("the root filesystem is writable")
	case sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL":
		t.Error("capabilities are not all dropped")
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		t.Error("privilege escalation allowed")
	case c.LivenessProbe == nil || c.LivenessProbe.HTTPGet.Path != "/-/healthy" || c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Path != "/-/ready":
		t.Error("the liveness probe is not on /-/healthy, or the readiness probe not on /-/ready")
	case !slices.Contains(c.Args, "--web.max-requests=10"):
		t.Errorf("--web.max-requests is not the values' maxRequests: %v", c.Args)
	case len(c.Env) != 1 || c.Env[0].Name != "GOMEMLIMIT" || c.Env[0].ValueFrom == nil || c.Env[0].ValueFrom.ResourceFieldRef == nil ||
		c.Env[0].ValueFrom.ResourceFieldRef.Resource != "limits.memory":
		t.Errorf("GOMEMLIMIT is not set from the memory limit: %+v", c.Env)
	case c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero():
		t.Error("no memory request or limit")
	case d.Spec.Template.Annotations["checksum/config"] == "":
		t.Error("no checksum of the configuration: a changed config would not restart the pod")
	}
	keys := false
	for _, v := range pod.Volumes {
		if v.Secret != nil && v.Secret.SecretName == "tencentchat-keys" {
			keys = true
		}
	}
	if !keys {
		t.Error("the keys Secret is not mounted")
	}
	if !strings.Contains(strings.Join(c.Args, " "), "--config.auto-reload-interval=30s") {
		t.Errorf("args %v lack the auto-reload interval", c.Args)
	}
}

// checkRuleEqualsMixin: the PrometheusRule serves exactly the mixin's
// recording rules and its alerts in the chosen language, one source of
// truth.
func checkRuleEqualsMixin(t *testing.T, r *monitoringv1.PrometheusRule, alerts string) {
	t.Helper()
	var want monitoringv1.PrometheusRuleSpec
	for _, file := range []string{"rules.yml", alerts} {
		raw, err := os.ReadFile("../../mixin/" + file)
		if err != nil {
			t.Fatal(err)
		}
		var spec monitoringv1.PrometheusRuleSpec
		strict(t, raw, &spec)
		if len(spec.Groups) < 2 || len(spec.Groups[0].Rules) < 5 {
			t.Fatalf("mixin/%s has %d groups", file, len(spec.Groups))
		}
		want.Groups = append(want.Groups, spec.Groups...)
	}
	if !reflect.DeepEqual(r.Spec, want) {
		t.Errorf("the chart's PrometheusRule differs from mixin/rules.yml and mixin/%s: run make mixin", alerts)
	}
}
