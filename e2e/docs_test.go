//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestTencentCloudRemoteWrite: the remote_write block that
// docs/tencent-cloud.md (and its Chinese twin) tells a self-run Prometheus
// to use for TMP is configuration the pinned Prometheus accepts.
func TestTencentCloudRemoteWrite(t *testing.T) {
	t.Parallel()
	promtool := need(t, "promtool")
	for _, doc := range []string{"../docs/tencent-cloud.md", "../docs/zh-CN/tencent-cloud.md"} {
		raw, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		var block string
		for _, m := range regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(raw), -1) {
			if strings.HasPrefix(m[1], "remote_write:") {
				block = m[1]
			}
		}
		if block == "" {
			t.Fatalf("%s: no remote_write block", doc)
		}
		// The placeholders become an address and a token file of the test's.
		dir := t.TempDir()
		token := filepath.Join(dir, "tmp-token")
		os.WriteFile(token, []byte("token\n"), 0o600)
		block = regexp.MustCompile(`<[^>]*>`).ReplaceAllStringFunc(block, func(p string) string {
			if strings.Contains(p, "APPID") {
				return "1250000000"
			}
			return "10.0.0.1:9090"
		})
		block = strings.ReplaceAll(block, "/etc/prometheus/secrets/tmp-token", token)
		cfg := filepath.Join(dir, "prometheus.yml")
		os.WriteFile(cfg, []byte(block), 0o644)
		out, err := exec.Command(promtool, "check", "config", cfg).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "SUCCESS") {
			t.Errorf("%s: promtool check config: %v\n%s\n%s", doc, err, block, out)
		}
	}
}
