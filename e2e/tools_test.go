//go:build e2e

package e2e

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// builtModules lists the module versions whose packages the build of pkgs
// in the tool module dir compiles: module path to version.
func builtModules(t *testing.T, dir string, tags string, pkgs ...string) map[string]string {
	t.Helper()
	args := append([]string{"list", "-deps", "-tags", tags, "-f", "{{with .Module}}{{.Path}} {{.Version}}{{end}}"}, pkgs...)
	cmd := exec.Command("go", args...)
	cmd.Dir = filepath.Join("..", "tools", dir)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list in tools/%s: %v\n%s", dir, err, stderr.String())
	}
	mods := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.Fields(line); len(f) == 2 {
			mods[f[0]] = f[1]
		}
	}
	return mods
}

// TestToolModulesAligned keeps tools/alertmanager's build list in step with
// tools/prometheus' for the modules the two builds share: then `make tools`
// compiles their packages once (see tools/alertmanager/go.mod). A version
// that drifts apart costs make test minutes from a cold cache, not
// correctness, but nothing else would notice.
func TestToolModulesAligned(t *testing.T) {
	t.Parallel()
	prom := builtModules(t, "prometheus", "remove_all_sd",
		"github.com/prometheus/prometheus/cmd/prometheus", "github.com/prometheus/prometheus/cmd/promtool")
	am := builtModules(t, "alertmanager", "", "github.com/prometheus/alertmanager/cmd/alertmanager")
	exempt := map[string]string{
		"github.com/prometheus/alertmanager":    "the pinned release itself; Prometheus uses a newer one as a library",
		"github.com/KimMachineGun/automemlimit": "v1.0.0 dropped the call Alertmanager v0.31.1 makes",
	}
	shared := 0
	for mod, v := range am {
		pv, ok := prom[mod]
		if !ok {
			continue
		}
		shared++
		if _, ok := exempt[mod]; ok || v == pv {
			continue
		}
		t.Errorf("%s: tools/alertmanager builds %s, tools/prometheus %s; require %s in tools/alertmanager/go.mod", mod, v, pv, pv)
	}
	// A wrong package list would share nothing and pass quietly.
	if shared < 50 {
		t.Errorf("only %d modules shared between the two builds; expected most of Alertmanager's", shared)
	}
}
