//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/testutil"
)

// TestAlertmanagerExamples: every example in examples/alertmanager and the
// mixin's own passes amtool check-config, with the Chinese template
// parsed where an example names it.
func TestAlertmanagerExamples(t *testing.T) {
	t.Parallel()
	amtool := need(t, "amtool")
	files, _ := filepath.Glob("../examples/alertmanager/*.yml")
	files = append(files, "../mixin/alertmanager.yml")
	if len(files) < 4 {
		t.Fatalf("examples: %v", files)
	}
	template, err := filepath.Abs("../examples/alertmanager/templates/tencentchat-zh.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			checked := filepath.Join(t.TempDir(), filepath.Base(file))
			os.WriteFile(checked, []byte(strings.ReplaceAll(string(raw), "/etc/alertmanager/templates/tencentchat-zh.tmpl", template)), 0o644)
			out, err := exec.Command(amtool, "check-config", checked).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "SUCCESS") {
				t.Errorf("amtool check-config %s: %v\n%s", file, err, out)
			}
			if strings.Contains(string(raw), "tencentchat-zh.tmpl") && !strings.Contains(string(out), "1 templates") {
				t.Errorf("%s: the Chinese template was not loaded:\n%s", file, out)
			}
		})
	}
}

// weCom is a stand-in for the WeCom API Alertmanager's wechat_configs
// calls: it hands out a token for the right secret and keeps the messages
// sent with it.
type weCom struct {
	url    string
	mu     sync.Mutex
	sent   []weComMessage
	tokens int
}

type weComMessage struct {
	ToParty string `json:"toparty"`
	AgentID string `json:"agentid"`
	Type    string `json:"msgtype"`
	Text    struct {
		Content string `json:"content"`
	} `json:"text"`
}

func newWeCom(t *testing.T, corpID, secret string) *weCom {
	w := &weCom{}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/cgi-bin/gettoken":
			if r.URL.Query().Get("corpid") != corpID || r.URL.Query().Get("corpsecret") != secret {
				fmt.Fprint(rw, `{"errcode":40001,"errmsg":"invalid credential"}`)
				return
			}
			w.mu.Lock()
			w.tokens++
			w.mu.Unlock()
			fmt.Fprint(rw, `{"errcode":0,"errmsg":"ok","access_token":"stand-in-token","expires_in":7200}`)
		case "/cgi-bin/message/send":
			if r.URL.Query().Get("access_token") != "stand-in-token" {
				fmt.Fprint(rw, `{"errcode":40014,"errmsg":"invalid access_token"}`)
				return
			}
			body, _ := io.ReadAll(r.Body)
			var m weComMessage
			if err := json.Unmarshal(body, &m); err != nil {
				t.Errorf("WeCom message: %v: %s", err, body)
			}
			w.mu.Lock()
			w.sent = append(w.sent, m)
			w.mu.Unlock()
			fmt.Fprint(rw, `{"errcode":0,"errmsg":"ok"}`)
		default:
			http.NotFound(rw, r)
		}
	}))
	t.Cleanup(srv.Close)
	w.url = srv.URL
	return w
}

func (w *weCom) messages() []weComMessage {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]weComMessage(nil), w.sent...)
}

// TestWeComPaging: the path a team in mainland China pages through, end to
// end. A real Prometheus evaluates the Chinese alerts (language: zh); an
// exporter target that does not answer fires TencentChatExporterDown; a
// real Alertmanager with examples/alertmanager/wecom.yml and its template
// sends it through wechat_configs to a stand-in of the WeCom API; the
// message that arrives carries the Chinese summary, Beijing time, the
// Chinese runbook and the dashboard.
func TestWeComPaging(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const corpID, secret = "ww0123456789abcdef", "wecom-app-secret-for-the-test"
	wecom := newWeCom(t, corpID, secret)

	// Alertmanager with the example as written, but for the API's address,
	// the files' places and shorter waits.
	template, _ := filepath.Abs("../examples/alertmanager/templates/tencentchat-zh.tmpl")
	secretFile := filepath.Join(dir, "wecom-secret")
	os.WriteFile(secretFile, []byte(secret+"\n"), 0o600)
	amAddr := startAlertmanager(t, dir, "../examples/alertmanager/wecom.yml", func(cfg map[string]any) {
		cfg["global"].(map[string]any)["wechat_api_url"] = wecom.url + "/cgi-bin/"
		cfg["templates"] = []string{template}
		for _, r := range cfg["receivers"].([]any) {
			for _, wc := range r.(map[string]any)["wechat_configs"].([]any) {
				c := wc.(map[string]any)
				if c["corp_id"] != corpID {
					t.Fatalf("the example's corp_id %v is not the test's", c["corp_id"])
				}
				c["api_secret_file"] = secretFile
			}
		}
	})

	// Prometheus with the Chinese alerts, scraping an exporter address
	// where nothing listens.
	rules, alerts, _ := fastMixin(t, "zh")
	os.WriteFile(filepath.Join(dir, "rules.yml"), rules, 0o644)
	os.WriteFile(filepath.Join(dir, "alerts.yml"), alerts, 0o644)
	down := testutil.FreeAddr(t)
	startPrometheus(t, dir, map[string]any{
		"global":     map[string]any{"scrape_interval": "1s", "evaluation_interval": "1s"},
		"rule_files": []string{filepath.Join(dir, "rules.yml"), filepath.Join(dir, "alerts.yml")},
		"scrape_configs": []any{map[string]any{"job_name": "tencentchat",
			"static_configs": []any{map[string]any{"targets": []string{down}}}}},
		"alerting": map[string]any{"alertmanagers": []any{map[string]any{
			"static_configs": []any{map[string]any{"targets": []string{amAddr}}}}}},
	})

	testutil.WaitFor(t, 60*time.Second, "for the WeCom message", func() bool { return len(wecom.messages()) > 0 })
	m := wecom.messages()[0]
	if m.ToParty != "2" || m.AgentID != "1000002" || m.Type != "text" {
		t.Errorf("sent to party %q by agent %q as %q, want the on-call party 2 by agent 1000002 as text", m.ToParty, m.AgentID, m.Type)
	}
	text := m.Text.Content
	t.Logf("the WeCom message:\n%s", text)
	for _, want := range []string{
		"【告警 1 条】TencentChatExporterDown",
		"tencentchat_exporter 目标 " + down + " 已宕机",
		"级别：严重",
		"处理手册：https://github.com/tencentchat-exporter/tencentchat_exporter/blob/main/docs/zh-CN/runbook.md#tencentchatexporterdown",
		"看板：https://grafana.example.com/d/tencentchat-official-accounts",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the message lacks %q:\n%s", want, text)
		}
	}
	// The start is told in Beijing time: UTC+8, within the test's minutes.
	match := regexp.MustCompile(`开始：(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) 北京时间`).FindStringSubmatch(text)
	if match == nil {
		t.Fatalf("no start time in Beijing time:\n%s", text)
	}
	started, err := time.Parse("2006-01-02 15:04:05", match[1])
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Now().UTC().Add(8 * time.Hour).Sub(started); d < 0 || d > 5*time.Minute {
		t.Errorf("start %s is not the alert's start in Beijing time (now there: %s)", match[1], time.Now().UTC().Add(8*time.Hour).Format(time.DateTime))
	}
	if strings.Contains(text, secret) {
		t.Error("the message shows the WeCom secret")
	}
}
