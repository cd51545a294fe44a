// Package helm holds the test of the Helm chart: helm lint and helm
// template with the default values and with everything enabled, and every
// rendered object decoded strictly into the official Kubernetes and
// Prometheus Operator types, offline.
package helm

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

const chart = "../../charts/tencentchat-exporter"

// helm is the pinned helm that `make tools` builds into .tools/bin.
func helm(t *testing.T, args ...string) string {
	t.Helper()
	bin, _ := filepath.Abs("../../.tools/bin/helm")
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

var valueSets = map[string][]string{
	"defaults":           nil,
	"everything enabled": {"--set", "serviceMonitor.enabled=true", "--set", "prometheusRule.enabled=true", "--set", "extraArgs={--log.level=debug}"},
}

func TestLint(t *testing.T) {
	for name, set := range valueSets {
		t.Run(name, func(t *testing.T) {
			helm(t, append([]string{"lint", "--strict", chart}, set...)...)
		})
	}
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
			out := helm(t, append([]string{"template", "release", chart}, set...)...)
			kinds := map[string]int{}
			for _, doc := range strings.Split(out, "\n---") {
				var head struct{ Kind string }
				if err := yaml.Unmarshal([]byte(doc), &head); err != nil || head.Kind == "" {
					continue
				}
				kinds[head.Kind]++
				switch head.Kind {
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
					checkRuleEqualsMixin(t, &r)
				default:
					t.Errorf("unexpected kind %s", head.Kind)
				}
			}
			want := map[string]int{"Deployment": 1, "Service": 1, "ConfigMap": 1}
			if name == "everything enabled" {
				want["ServiceMonitor"], want["PrometheusRule"] = 1, 1
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
// alerts, one source of truth.
func checkRuleEqualsMixin(t *testing.T, r *monitoringv1.PrometheusRule) {
	t.Helper()
	raw, err := os.ReadFile("../../mixin/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var mixin monitoringv1.PrometheusRuleSpec
	strict(t, raw, &mixin)
	if !reflect.DeepEqual(r.Spec, mixin) {
		t.Error("the chart's PrometheusRule differs from mixin/alerts.yml: run make mixin")
	}
	if len(mixin.Groups) == 0 || len(mixin.Groups[0].Rules) < 5 {
		t.Fatalf("mixin has %d groups", len(mixin.Groups))
	}
}
