//go:build e2e

package e2e

import (
	"crypto/md5"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/testutil"
	"github.com/tencentchat-exporter/tencentchat_exporter/mixin"
	"github.com/tencentchat-exporter/tencentchat_exporter/simulator"
)

const key = "e2e-secret-key-0f1e2d3c4b5a"

// apps of the test; the README's scrape configs name these targets.
var apps = []struct {
	name     string
	sdkappid uint64
	accounts int
}{{"prod", 1400000000, 20}, {"staging", 1400000001, 5}, {"shop", 1400000002, 8}, {"news", 1400000003, 3}}

// need returns the path of the pinned Prometheus 3's prometheus or
// promtool, or of the pinned Alertmanager: the one that PROMETHEUS_BIN,
// PROMTOOL_BIN or ALERTMANAGER_BIN names, else the one `make tools` builds
// into .tools/bin. Either must be the pinned version; a binary found on
// PATH is never used: it may be any version. A missing tool fails the
// suite, never skips it.
func need(t *testing.T, tool string) string {
	t.Helper()
	env := strings.ToUpper(tool) + "_BIN"
	path := os.Getenv(env)
	if path == "" {
		var err error
		if path, err = filepath.Abs(filepath.Join("..", ".tools", "bin", tool)); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command(path, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v. The end-to-end suite runs the pinned Prometheus 3 and Alertmanager: run `make tools` in the repository's root "+
			"(it builds them from tools/*/go.mod into .tools/bin), or point %s at the pinned version", path, err, env)
	}
	if want := pinned(t, tool); !strings.Contains(string(out), "version "+want+" ") {
		t.Fatalf("%s is not the pinned %s %s: %s; run `make tools` or unset %s", path, tool, want, strings.SplitN(string(out), "\n", 2)[0], env)
	}
	return path
}

// pinned is the release of tool that tools/*/go.mod pins: module v0.316.0
// is Prometheus 3.16.0; Alertmanager's module version is its release.
func pinned(t *testing.T, tool string) string {
	t.Helper()
	dir, module := "prometheus", "github.com/prometheus/prometheus"
	if tool == "alertmanager" || tool == "amtool" {
		dir, module = "alertmanager", "github.com/prometheus/alertmanager"
	}
	raw, err := os.ReadFile(filepath.Join("..", "tools", dir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(module) + ` v(\d+)\.(\d+)\.(\d+)`).FindStringSubmatch(string(raw))
	if m == nil {
		t.Fatalf("tools/%s/go.mod does not pin %s", dir, module)
	}
	if dir == "alertmanager" {
		return m[1] + "." + m[2] + "." + m[3]
	}
	var minor int
	fmt.Sscan(m[2], &minor)
	return fmt.Sprintf("%d.%d.%s", minor/100, minor%100, m[3])
}

// TestMain gives the suite one directory for the exporter it builds.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tencentchat-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// binDir holds the exporter the suite builds; set once by TestMain.
var binDir string

// buildExporter builds the exporter once for the tests that run at once,
// as the root package's TestMain does, so the build cache has it. Not with
// -race: a race-built exporter misses the suite's 1 s scrape timeouts on a
// busy machine (cold make test runs saw series go stale and protobuf
// answers cut short); the unit tests check for races.
var buildExporter = sync.OnceValues(func() (string, []byte) {
	bin := filepath.Join(binDir, "tencentchat_exporter")
	out, err := exec.Command("go", "build", "-o", bin, "..").CombinedOutput()
	if err != nil {
		return "", append([]byte(err.Error()+"\n"), out...)
	}
	return bin, nil
})

// exporter returns the path of the exporter built from this tree.
func exporter(t *testing.T) string {
	t.Helper()
	bin, out := buildExporter()
	if bin == "" {
		t.Fatalf("build: %s", out)
	}
	return bin
}

// fastMixin is the mixin with its clock shortened for a test of minutes:
// a Beijing day of 20 seconds (midnight every 20 s, looked for each
// second), SLO windows of a sixtieth (the 1 h window is a minute), and in
// the alerts every for: of minutes cut to 2 s and every range of N minutes
// to N seconds. keep_firing_for stays as it is: it is what keeps an outage
// from looking like a recovery.
func fastMixin(t *testing.T, language string) (rules, alerts []byte, m *mixin.Mixin) {
	t.Helper()
	m, err := mixin.Evaluate(map[string]any{
		"daily_report_day_seconds": 20, "daily_report_utc_offset_seconds": 0,
		"daily_report_interval": "1s", "daily_report_step": "1s", "daily_report_catch_up": "10s", "slo_time_divisor": 60,
		"language": language,
	})
	if err != nil {
		t.Fatal(err)
	}
	rules, err = m.Rules.YAML("rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	alerts, err = m.Alerts.YAML("alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	alerts = regexp.MustCompile(`(?m)^(\s+)for: \d+m`).ReplaceAll(alerts, []byte("${1}for: 2s"))
	alerts = regexp.MustCompile(`\[(\d+)m\]`).ReplaceAll(alerts, []byte("[${1}s]"))
	return rules, alerts, m
}

// startProc runs a command until the test ends and waits for url to answer.
func startProc(t *testing.T, ready string, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(name, args...)
	logFile, _ := os.Create(filepath.Join(t.TempDir(), filepath.Base(name)+".log"))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logFile.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logFile.Name())
			t.Logf("%s log:\n%s", filepath.Base(name), tail(string(b), 3000))
		}
	})
	testutil.WaitFor(t, 30*time.Second, "waiting for "+ready, func() bool {
		resp, err := http.Get(ready)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return cmd
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// readmeScrapeConfigs returns the scrape configs of the yaml blocks of the
// README and docs/kubernetes.md (scale-out), with their placeholders
// pointed at this test's processes.
func readmeScrapeConfigs(t *testing.T, replace *strings.Replacer) []any {
	var raw []byte
	for _, doc := range []string{"../README.md", "../docs/kubernetes.md"} {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		raw = append(raw, b...)
	}
	var out []any
	for _, m := range regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(raw), -1) {
		if !strings.HasPrefix(m[1], "scrape_configs:") {
			continue
		}
		var doc struct {
			ScrapeConfigs []any `yaml:"scrape_configs"`
		}
		if err := yaml.Unmarshal([]byte(replace.Replace(m[1])), &doc); err != nil {
			t.Fatalf("README scrape config does not parse: %v\n%s", err, m[1])
		}
		out = append(out, doc.ScrapeConfigs...)
	}
	if len(out) != 4 {
		t.Fatalf("found %d scrape configs in the README and docs/kubernetes.md, want the /metrics, /sd, /probe and sharded ones", len(out))
	}
	return out
}

type promClient struct {
	t    *testing.T
	base string
}

type sample struct {
	Metric map[string]string
	Value  [2]any
}

func (p promClient) query(q string) []sample {
	p.t.Helper()
	resp, err := http.Get(p.base + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		Status string
		Error  string
		Data   struct {
			ResultType string
			Result     json.RawMessage
		}
	}
	body, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(body, &r); err != nil || r.Status != "success" {
		p.t.Fatalf("query %s: %s %s", q, r.Error, body)
	}
	if r.Data.ResultType == "scalar" {
		return []sample{{}}
	}
	var out []sample
	json.Unmarshal(r.Data.Result, &out)
	return out
}

// webhook is an Alertmanager receiver served by the test; it keeps every
// notification.
type webhook struct {
	url string
	mu  sync.Mutex
	got []amNotification
}

type amNotification struct {
	Status   string
	Receiver string
	GroupKey string
	Alerts   []amAlert
}

type amAlert struct {
	Status           string
	Labels           map[string]string
	Annotations      map[string]string
	StartsAt, EndsAt time.Time
}

func newWebhook(t *testing.T) *webhook {
	w := &webhook{}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var n amNotification
		if err := json.NewDecoder(r.Body).Decode(&n); err != nil {
			t.Errorf("webhook: %v", err)
		}
		w.mu.Lock()
		w.got = append(w.got, n)
		w.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	w.url = srv.URL
	return w
}

// alerts returns the alerts with status ("" for any) that match.
func (w *webhook) alerts(status string, match func(amAlert) bool) []amAlert {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []amAlert
	for _, n := range w.got {
		for _, a := range n.Alerts {
			if (status == "" || a.Status == status) && match(a) {
				out = append(out, a)
			}
		}
	}
	return out
}

// groupKeys are the distinct group keys of notifications with a matching
// firing alert: the pager deduplicates by group key, so one is one page.
func (w *webhook) groupKeys(match func(amAlert) bool) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	seen := map[string]bool{}
	var keys []string
	for _, n := range w.got {
		for _, a := range n.Alerts {
			if a.Status == "firing" && match(a) && !seen[n.GroupKey] {
				seen[n.GroupKey] = true
				keys = append(keys, n.GroupKey)
			}
		}
	}
	return keys
}

func checkAnnotations(t *testing.T, a amAlert) {
	t.Helper()
	for _, k := range []string{"summary", "description", "runbook_url"} {
		if v := a.Annotations[k]; v == "" || strings.Contains(v, "{{") || strings.Contains(v, "<no value>") {
			t.Errorf("%s: annotation %s = %q, not rendered", a.Labels["alertname"], k, v)
		}
	}
	if !strings.HasPrefix(a.Annotations["runbook_url"], "https://github.com/tencentchat-exporter/tencentchat_exporter/blob/main/docs/runbook.md#") {
		t.Errorf("runbook_url %q", a.Annotations["runbook_url"])
	}
}

// agreeWithin calls compare every second until it finds no mismatch or d
// has passed, then reports the mismatches it found last.
func agreeWithin(t *testing.T, d time.Duration, compare func() (mismatches []string)) {
	t.Helper()
	mismatches := compare()
	for deadline := time.Now().Add(d); len(mismatches) > 0 && time.Now().Before(deadline); mismatches = compare() {
		time.Sleep(time.Second)
	}
	for _, m := range mismatches {
		t.Error(m)
	}
}

// startAlertmanager runs the pinned Alertmanager with the configuration in
// file (one the project ships), its waits cut to a second and then changed
// by adapt (the receivers pointed at the test's servers), and returns its
// address.
func startAlertmanager(t *testing.T, dir, file string, adapt func(cfg map[string]any)) string {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	route := cfg["route"].(map[string]any)
	route["group_wait"], route["group_interval"], route["repeat_interval"] = "1s", "1s", "1h"
	adapt(cfg)
	out, _ := yaml.Marshal(cfg)
	written := filepath.Join(dir, "alertmanager.yml")
	os.WriteFile(written, out, 0o644)
	addr := testutil.FreeAddr(t)
	startProc(t, "http://"+addr+"/-/ready", need(t, "alertmanager"), "--config.file="+written,
		"--storage.path="+filepath.Join(dir, "am"), "--web.listen-address="+addr, "--cluster.listen-address=")
	return addr
}

// prometheusArgs writes cfg as dir/prometheus.yml and returns the flags
// that run Prometheus on it with its data in dir/data (run again, the
// same flags restart it on the same data), and the address it will serve.
func prometheusArgs(t *testing.T, dir string, cfg map[string]any) (args []string, base string) {
	t.Helper()
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "prometheus.yml")
	os.WriteFile(file, out, 0o644)
	addr := testutil.FreeAddr(t)
	return []string{"--config.file=" + file, "--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + addr}, "http://" + addr
}

// startPrometheus runs the pinned Prometheus with cfg until the test ends.
func startPrometheus(t *testing.T, dir string, cfg map[string]any) promClient {
	t.Helper()
	args, base := prometheusArgs(t, dir, cfg)
	startProc(t, base+"/-/ready", need(t, "prometheus"), args...)
	return promClient{t: t, base: base}
}

// protocols are the scrape protocols Prometheus 3 offers, and the
// Content-Type the exporter must answer each with. No client_golang release
// encodes text format 1.0.0 (Prometheus' UTF-8 names, which this exporter
// does not use); it answers 0.0.4, which Prometheus 3 reads, and the test
// holds it to that and to the values.
var protocols = map[string]string{
	"PrometheusProto":      "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited",
	"OpenMetricsText1.0.0": "application/openmetrics-text; version=1.0.0",
	"OpenMetricsText0.0.1": "application/openmetrics-text; version=0.0.1",
	"PrometheusText1.0.0":  "text/plain; version=0.0.4",
	"PrometheusText0.0.4":  "text/plain; version=0.0.4",
}

// recordingProxy forwards to target and records, per ?protocol=, the
// Content-Type of the last answer. It returns its host:port.
func recordingProxy(t *testing.T, target string) (string, func(protocol string) string) {
	var mu sync.Mutex
	seen := map[string]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, target, nil)
		req.Header = r.Header.Clone()
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		mu.Lock()
		seen[r.URL.Query().Get("protocol")] = resp.Header.Get("Content-Type")
		mu.Unlock()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), func(protocol string) string {
		mu.Lock()
		defer mu.Unlock()
		return seen[protocol]
	}
}

// checkValues compares every app's subscriber series that job scraped
// with the simulator's data.
func checkValues(t *testing.T, prom promClient, job string, simApps map[string]*simulator.App) {
	t.Helper()
	for _, a := range apps {
		got := prom.query(fmt.Sprintf(`tencentchat_official_account_subscribers{job=%q,app_name=%q}`, job, a.name))
		bySim := map[string]simulator.Account{}
		live := 0
		for _, acct := range simApps[a.name].Accounts() {
			bySim[acct.ID] = acct
			if !acct.Terminated {
				live++
			}
		}
		if len(got) != live {
			t.Errorf("job %s, app %s: %d subscriber series, want %d", job, a.name, len(got), live)
		}
		for _, s := range got {
			acct := bySim[s.Metric["account"]]
			if s.Value[1] != fmt.Sprint(acct.Subscribers) || s.Metric["name"] != acct.Name || s.Metric["owner_account"] != acct.Owner {
				t.Errorf("job %s: %v = %v, simulator has %+v", job, s.Metric, s.Value[1], acct)
			}
		}
	}
}

func hashmod(s string, mod uint64) uint64 {
	sum := md5.Sum([]byte(s))
	return binary.BigEndian.Uint64(sum[8:]) % mod
}

func TestEndToEnd(t *testing.T) {
	t.Parallel()          // each starts its own processes on free ports: they wait side by side
	need(t, "prometheus") // before any process starts: a missing tool fails at once
	dir := t.TempDir()

	// The simulator, its data still so values can be compared exactly.
	sim := simulator.New()
	simApps := map[string]*simulator.App{}
	for _, a := range apps {
		simApps[a.name] = sim.AddApp(simulator.AppConfig{SDKAppID: a.sdkappid, Identifier: "administrator", SecretKey: key, Accounts: a.accounts, Seed: 11})
	}
	simSrv := httptest.NewServer(sim)
	defer simSrv.Close()
	defer sim.Close()

	// Two exporter replicas sharing one configuration.
	bin := exporter(t)
	os.WriteFile(filepath.Join(dir, "key"), []byte(key), 0o600)
	var cfg strings.Builder
	cfg.WriteString("defaults:\n  timeout: 2s\n  app_statistics: true\n  push_statistics: true\n  publishing_activity: true\n  publishing_activity_interval: 1m\napps:\n")
	for _, a := range apps {
		ids := make([]string, a.accounts)
		for i := range ids {
			ids[i] = fmt.Sprintf("%q", simulator.AccountID(i))
		}
		// The simulator raised the first account's cap at creation: the
		// configuration says so.
		ids[0] = fmt.Sprintf("{id: %q, max_subscribers: 500000}", simulator.AccountID(0))
		fmt.Fprintf(&cfg, "  - {name: %s, sdkappid: %d, identifier: administrator, secret_key_file: key, endpoint: %q, accounts: [%s]}\n",
			a.name, a.sdkappid, simSrv.URL, strings.Join(ids, ", "))
	}
	cfgFile := filepath.Join(dir, "config.yml")
	os.WriteFile(cfgFile, []byte(cfg.String()), 0o600)
	replicas := []string{testutil.FreeAddr(t), testutil.FreeAddr(t)}
	started := time.Now()
	for _, addr := range replicas {
		startProc(t, "http://"+addr+"/-/healthy", bin, "--config.file="+cfgFile, "--web.listen-address="+addr)
	}
	// And the demo, which the dashboard must show data for too.
	demoAddr := testutil.FreeAddr(t)
	startProc(t, "http://"+demoAddr+"/-/ready", bin, "--demo", "--web.listen-address="+demoAddr)

	// Prometheus with the README's scrape configs and the mixin's rules
	// and alerts, their clock shortened.
	fastRules, fastAlerts, fast := fastMixin(t, "en")
	os.WriteFile(filepath.Join(dir, "rules.yml"), fastRules, 0o644)
	os.WriteFile(filepath.Join(dir, "alerts.yml"), fastAlerts, 0o644)
	scrapes := readmeScrapeConfigs(t, strings.NewReplacer(
		"exporter-host:9882", replicas[0], "exporter-0:9882", replicas[0], "exporter-1:9882", replicas[1],
		"scrape_interval: 60s", "scrape_interval: 1s", "scrape_timeout: 30s", "scrape_timeout: 1s"))
	scrapes = append(scrapes, map[string]any{"job_name": "demo",
		"static_configs": []any{map[string]any{"targets": []string{demoAddr}}}})
	// One job per scrape protocol that Prometheus 3 offers, each asking for
	// that protocol alone, through a proxy that records the Content-Type
	// the exporter answered with.
	proxy, answered := recordingProxy(t, "http://"+replicas[0]+"/metrics")
	for proto := range protocols {
		scrapes = append(scrapes, map[string]any{"job_name": "protocol_" + proto, "scrape_protocols": []string{proto},
			"params":         map[string]any{"protocol": []string{proto}},
			"static_configs": []any{map[string]any{"targets": []string{proxy}}}})
	}
	// Alertmanager with the mixin's routing and inhibition, its receivers
	// served by this test.
	pages, warnings := newWebhook(t), newWebhook(t)
	amAddr := startAlertmanager(t, dir, "../mixin/alertmanager.yml", func(cfg map[string]any) {
		for _, r := range cfg["receivers"].([]any) {
			rcv := r.(map[string]any)
			url := warnings.url
			if rcv["name"] == "tencentchat-pages" {
				url = pages.url
			}
			rcv["webhook_configs"] = []any{map[string]any{"url": url, "send_resolved": true}}
		}
	})
	prom := startPrometheus(t, dir, map[string]any{
		"global":         map[string]any{"scrape_interval": "1s", "evaluation_interval": "1s"},
		"rule_files":     []string{filepath.Join(dir, "rules.yml"), filepath.Join(dir, "alerts.yml")},
		"scrape_configs": scrapes,
		"alerting": map[string]any{"alertmanagers": []any{map[string]any{
			"static_configs": []any{map[string]any{"targets": []string{amAddr}}}}}},
	})

	// Every target of the jobs is up: 1 (/metrics), 4 (/sd), 2 (/probe), 4 (sharded).
	want := map[string]int{"tencentchat": 1, "tencentchat_sd": len(apps), "tencentchat_probe": 2, "tencentchat_sharded": 4, "demo": 1}
	for proto := range protocols {
		want["protocol_"+proto] = 1
	}
	testutil.WaitFor(t, 30*time.Second, "for every target to be up", func() bool {
		for job, n := range want {
			if len(prom.query(fmt.Sprintf(`up{job=%q} == 1`, job))) != n {
				return false
			}
		}
		return true
	})

	t.Run("sharding", func(t *testing.T) {
		resp, err := http.Get(prom.base + "/api/v1/targets?state=active")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r struct {
			Data struct {
				ActiveTargets []struct {
					Labels    map[string]string
					ScrapeURL string
				}
			}
		}
		json.NewDecoder(resp.Body).Decode(&r)
		used := map[string]bool{}
		seen := map[string]int{}
		for _, tg := range r.Data.ActiveTargets {
			if tg.Labels["job"] != "tencentchat_sharded" {
				continue
			}
			app := tg.Labels["instance"]
			seen[app]++
			wantAddr := replicas[hashmod(app, 2)]
			if !strings.Contains(tg.ScrapeURL, wantAddr) || !strings.Contains(tg.ScrapeURL, "target="+app) {
				t.Errorf("app %s scraped at %s, want replica %s", app, tg.ScrapeURL, wantAddr)
			}
			used[wantAddr] = true
		}
		for _, a := range apps {
			if seen[a.name] != 1 {
				t.Errorf("app %s scraped by %d sharded targets, want 1", a.name, seen[a.name])
			}
		}
		if len(used) != 2 {
			t.Errorf("the apps all landed on one replica: %v", used)
		}
		// Each app's series come from its one target.
		if got := prom.query(`count by (app_name) (tencentchat_up{job="tencentchat_sharded"}) != 1`); len(got) != 0 {
			t.Errorf("apps served by more than one sharded target: %v", got)
		}
	})

	t.Run("values match the simulator", func(t *testing.T) {
		checkValues(t, prom, "tencentchat", simApps)
		if got := prom.query(`tencentchat_official_account_up{job="tencentchat",account="@TOA#_sim00013"}`); len(got) != 1 || got[0].Value[1] != "0" {
			t.Errorf("terminated account: %v", got)
		}
	})

	t.Run("app statistics match the simulator", func(t *testing.T) {
		// The first refresh may have been cut by a scrape's 1 s timeout on
		// a busy machine; it is retried after a short backoff. And a scrape
		// that misses its 1 s timeout on a busy machine leaves every series
		// stale until the next one, so the values are compared until they
		// match, for a minute at most.
		agreeWithin(t, 60*time.Second, func() (mismatches []string) {
			now := time.Now()
			yesterday := now.In(time.FixedZone("UTC+8", 8*3600)).AddDate(0, 0, -1).Format("20060102")
			for _, a := range apps {
				want := simApps[a.name].AppDay(yesterday, now)
				for metric, field := range map[string]string{"tencentchat_app_daily_active_users": "ActiveUserNum",
					"tencentchat_app_daily_callback_requests": "CallBackReq", "tencentchat_app_registered_users": "RegistUserNumTotal",
					"tencentchat_app_daily_unique_message_senders": "SendMsgUserNum", "tencentchat_app_daily_friendships_added": "ChainIncrease",
					"tencentchat_app_daily_friendships_removed": "ChainDecrease", "tencentchat_app_daily_groups_with_messages": "GroupSendMsgGroupNum"} {
					got := prom.query(fmt.Sprintf(`%s{job="tencentchat",app_name=%q}`, metric, a.name))
					if len(got) != 1 || got[0].Value[1] != want[field] {
						mismatches = append(mismatches, fmt.Sprintf("%s{app_name=%q} = %v, simulator's %s for %s is %s",
							metric, a.name, got, field, yesterday, want[field]))
					}
				}
			}
			return mismatches
		})
	})

	t.Run("every scrape protocol", func(t *testing.T) {
		for proto, wantType := range protocols {
			got := answered(proto)
			media, params, err := mime.ParseMediaType(got)
			wantMedia, wantParams, _ := mime.ParseMediaType(wantType)
			if err != nil || media != wantMedia || params["version"] != wantParams["version"] {
				t.Errorf("%s: answered with Content-Type %q, want %q", proto, got, wantType)
			}
			checkValues(t, prom, "protocol_"+proto, simApps)
		}
	})

	t.Run("promtool check metrics", func(t *testing.T) {
		promtool := need(t, "promtool")
		for _, u := range []string{"http://" + replicas[0] + "/metrics", "http://" + replicas[0] + "/probe?target=prod",
			"http://" + demoAddr + "/metrics"} {
			resp, err := http.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			cmd := exec.Command(promtool, "check", "metrics")
			cmd.Stdin = strings.NewReader(string(body))
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("promtool check metrics on %s: %v\n%s", u, err, out)
			}
		}
	})

	// Every recorded series has a value: the daily report's after two of
	// its 20-second days, the SLOs' at once.
	t.Run("recording rules", func(t *testing.T) {
		names := fast.Rules.Names()
		if len(names) < 20 {
			t.Fatalf("only %d recording rules", len(names))
		}
		for _, name := range names {
			testutil.WaitFor(t, 90*time.Second, "for "+name, func() bool { return len(prom.query(name)) > 0 })
		}
		// Yesterday's change of an account whose subscribers stood still
		// is 0, for every account of every app at both midnights.
		for _, s := range prom.query(`account:tencentchat_official_account_subscribers:net_change_beijing_yesterday{job="tencentchat"}`) {
			if s.Value[1] != "0" {
				t.Errorf("%v: yesterday's change %v with still subscribers", s.Metric, s.Value[1])
			}
		}
	})

	t.Run("dashboard queries return data", func(t *testing.T) {
		// Let the rate() windows fill.
		time.Sleep(4 * time.Second)
		raw, err := os.ReadFile("../mixin/dashboards/tencentchat-official-accounts.json")
		if err != nil {
			t.Fatal(err)
		}
		var dash struct {
			Panels []struct {
				Title   string
				Type    string
				Targets []struct{ Expr string }
			}
			Templating struct{ List []struct{ Name string } }
		}
		if err := json.Unmarshal(raw, &dash); err != nil {
			t.Fatal(err)
		}
		vars := map[string]bool{}
		for _, v := range dash.Templating.List {
			vars[v.Name] = true
		}
		if !vars["datasource"] || !vars["job"] || !vars["instance"] || !vars["app_name"] || !vars["owner_account"] || !vars["account"] {
			t.Fatalf("dashboard variables: %v", vars)
		}
		n := 0
		// "All" apps and accounts, as Grafana substitutes them, and the
		// demo app alone.
		for _, app := range []string{".*", "demo"} {
			sub := strings.NewReplacer("$app_name", app, "$account", ".*", "$job", ".*", "$instance", ".*", "$owner_account", ".*", "$__rate_interval", "15s", "$__range", "5m", "$__interval", "5s")
			for _, p := range dash.Panels {
				if p.Type == "row" {
					continue
				}
				if len(p.Targets) == 0 {
					t.Errorf("panel %q has no query", p.Title)
				}
				for _, tg := range p.Targets {
					n++
					if got := prom.query(sub.Replace(tg.Expr)); len(got) == 0 {
						t.Errorf("panel %q with app_name=%s: %s returns nothing", p.Title, app, tg.Expr)
					}
				}
			}
		}
		if n < 20 {
			t.Fatalf("only %d queries in the dashboard", n)
		}
	})

	alertActive := func(sel string) bool {
		return len(prom.query(`ALERTS{`+sel+`}`)) > 0
	}

	t.Run("subscriber limits", func(t *testing.T) {
		for _, a := range apps {
			subs := prom.query(fmt.Sprintf(`tencentchat_official_account_subscribers{job="tencentchat",app_name=%q}`, a.name))
			limits := prom.query(fmt.Sprintf(`tencentchat_official_account_subscriber_limit{job="tencentchat",app_name=%q}`, a.name))
			if len(limits) == 0 || len(limits) != len(subs) {
				t.Errorf("app %s: %d limit series for %d subscriber series", a.name, len(limits), len(subs))
			}
			for _, l := range limits {
				want := "100000"
				if l.Metric["account"] == simulator.AccountID(0) {
					want = "500000" // its own max_subscribers
				}
				if l.Value[1] != want {
					t.Errorf("%v: limit %v, want %s", l.Metric, l.Value[1], want)
				}
			}
		}
	})

	t.Run("publishing activity matches the simulator", func(t *testing.T) {
		// One round per replica per minute, one call per account, paced
		// at least a second apart: prod's 20 accounts take 20 s.
		agreeWithin(t, 90*time.Second, func() (mismatches []string) {
			for _, a := range apps {
				for _, acct := range simApps[a.name].Accounts() {
					got := prom.query(fmt.Sprintf(`tencentchat_official_account_published_messages{job="tencentchat",account=%q,app_name=%q}`, acct.ID, a.name))
					ts := prom.query(fmt.Sprintf(`tencentchat_official_account_last_published_timestamp_seconds{job="tencentchat",account=%q,app_name=%q}`, acct.ID, a.name))
					seq, at := acct.Published, acct.PublishedAt
					if acct.NewestRecalled {
						seq, at = seq-1, at-3600 // the recalled newest is skipped
					}
					switch {
					case acct.Terminated || acct.Published == 0:
						if len(got)+len(ts) != 0 {
							mismatches = append(mismatches, fmt.Sprintf("%s/%s never published or gone, has %v %v", a.name, acct.ID, got, ts))
						}
					case len(got) != 1 || len(ts) != 1 || got[0].Value[1] != fmt.Sprint(seq) || ts[0].Value[1] != fmt.Sprint(at):
						mismatches = append(mismatches, fmt.Sprintf("%s/%s: %v at %v, simulator's %d at %d", a.name, acct.ID, got, ts, seq, at))
					}
				}
			}
			return mismatches
		})
		// Each replica calls each account at most once per interval (1m),
		// and has called each at least once.
		rounds := int(time.Since(started)/time.Minute) + 1
		for _, a := range apps {
			got := prom.query(fmt.Sprintf(`tencentchat_api_requests_total{job="tencentchat",api="official_account_msg_get_simple",app_name=%q}`, a.name))
			var n int
			if len(got) == 1 {
				fmt.Sscan(fmt.Sprint(got[0].Value[1]), &n)
			}
			if n < a.accounts || n > a.accounts*rounds {
				t.Errorf("app %s: %v official_account_msg_get_simple calls by one replica in %d intervals, want %d to %d", a.name, got, rounds, a.accounts, a.accounts*rounds)
			}
		}
	})

	t.Run("push statistics match the simulator", func(t *testing.T) {
		names := map[int]string{1: "apns", 2: "xiaomi", 3: "huawei", 4: "fcm", 6: "oppo", 7: "vivo", 8: "honor"}
		agreeWithin(t, 60*time.Second, func() (mismatches []string) {
			bj := time.FixedZone("UTC+8", 8*3600)
			y, m, d := time.Now().In(bj).Date()
			day := time.Date(y, m, d-1, 0, 0, 0, 0, bj)
			for _, a := range apps {
				total, byPlatform := simApps[a.name].PushDay(day)
				check := func(q string, want int64) {
					if got := prom.query(q); len(got) != 1 || got[0].Value[1] != fmt.Sprint(want) {
						mismatches = append(mismatches, fmt.Sprintf("%s = %v, simulator's %d", q, got, want))
					}
				}
				check(fmt.Sprintf(`tencentchat_app_daily_push_notifications{job="tencentchat",app_name=%q,stage="delivered"}`, a.name), total.Delivered)
				check(fmt.Sprintf(`tencentchat_app_daily_push_notifications{job="tencentchat",app_name=%q,stage="eligible"}`, a.name), total.Total)
				for code, c := range byPlatform {
					check(fmt.Sprintf(`tencentchat_app_daily_push_notifications_by_platform{job="tencentchat",app_name=%q,platform=%q,stage="sent"}`, a.name, names[code]), c.Sent)
				}
				check(fmt.Sprintf(`tencentchat_app_push_statistics_day_timestamp_seconds{job="tencentchat",app_name=%q}`, a.name), day.Unix())
			}
			return mismatches
		})
		// The two replicas refresh on their own and share Tencent's one
		// call a second per app: a call the simulator refused for coming
		// too fast was retried later, and the values above still match.
		// (One exporter's own spacing is TestPushCallsSpaced's.)
	})

	t.Run("capacity alerts", func(t *testing.T) {
		near, full := simulator.AccountID(3), simulator.AccountID(4)
		for _, id := range []string{near, full} {
			if acct, _ := simApps["shop"].Account(id); acct.Terminated || acct.MaxSubscribers != 100000 {
				t.Fatalf("shop/%s cannot be the test's account: %+v", id, acct)
			}
		}
		capacity := `alertname=~"TencentChatOfficialAccount(NearCapacity|Full|FillingUp)",job="tencentchat"`
		if got := prom.query(`ALERTS{` + capacity + `}`); len(got) != 0 {
			t.Fatalf("capacity alerts before any account is near its cap: %v", got)
		}
		simApps["shop"].Update(near, func(a *simulator.Account) { a.Subscribers = 95000 })
		simApps["shop"].Update(full, func(a *simulator.Account) { a.Subscribers = 100000 })
		testutil.WaitFor(t, 60*time.Second, "for the capacity alerts", func() bool {
			return alertActive(fmt.Sprintf(`alertname="TencentChatOfficialAccountNearCapacity",job="tencentchat",alertstate="firing",account=%q`, near)) &&
				alertActive(fmt.Sprintf(`alertname="TencentChatOfficialAccountFull",job="tencentchat",alertstate="firing",account=%q`, full))
		})
		for _, s := range prom.query(`ALERTS{` + capacity + `}`) {
			name, acct := s.Metric["alertname"], s.Metric["account"]
			expected := (name == "TencentChatOfficialAccountNearCapacity" && acct == near) || (name == "TencentChatOfficialAccountFull" && acct == full)
			if !expected {
				t.Errorf("a capacity alert that should be silent: %v", s.Metric)
			}
		}
	})

	t.Run("subscriber drop alert", func(t *testing.T) {
		var victim simulator.Account
		for _, acct := range simApps["prod"].Accounts() {
			if !acct.Terminated && acct.Subscribers >= 1000 {
				victim = acct
				break
			}
		}
		if victim.ID == "" {
			t.Fatal("no account with 1000+ subscribers in the simulator")
		}
		sel := fmt.Sprintf(`alertname="TencentChatOfficialAccountSubscribersDropping",app_name="prod",account=%q`, victim.ID)
		if alertActive(sel) {
			t.Fatal("drop alert active before the drop")
		}
		// The demo's accounts drop sharply now and then by design; the
		// simulator's data behind the replicas stands still.
		if others := prom.query(`ALERTS{alertname="TencentChatOfficialAccountSubscribersDropping",job!="demo"}`); len(others) != 0 {
			t.Fatalf("drop alert active with still data: %v", others)
		}
		simApps["prod"].Update(victim.ID, func(a *simulator.Account) { a.Subscribers /= 10 })
		testutil.WaitFor(t, 30*time.Second, "for the drop alert", func() bool { return alertActive(sel) })
		got := prom.query(`ALERTS{` + sel + `}`)
		if got[0].Metric["name"] != victim.Name || got[0].Metric["owner_account"] != victim.Owner {
			t.Errorf("alert labels %v", got[0].Metric)
		}
		// Routed by severity to the warnings receiver, labels and rendered
		// annotations intact.
		isDrop := func(a amAlert) bool {
			return a.Labels["alertname"] == "TencentChatOfficialAccountSubscribersDropping" && a.Labels["account"] == victim.ID
		}
		testutil.WaitFor(t, 30*time.Second, "for the drop alert at the warnings receiver", func() bool {
			return len(warnings.alerts("firing", isDrop)) > 0
		})
		a := warnings.alerts("firing", isDrop)[0]
		for k, v := range map[string]string{"app_name": "prod", "sdkappid": "1400000000", "name": victim.Name,
			"owner_account": victim.Owner, "severity": "warning"} {
			if a.Labels[k] != v {
				t.Errorf("drop alert label %s = %q, want %q", k, a.Labels[k], v)
			}
		}
		checkAnnotations(t, a)
		if n := len(pages.alerts("", isDrop)); n != 0 {
			t.Errorf("the drop alert (a warning) reached the pager %d times", n)
		}
	})

	t.Run("131000 alert", func(t *testing.T) {
		sel := `alertname="TencentChatOfficialAccountServiceNotEnabled",app_name="prod"`
		if alertActive(sel) {
			t.Fatal("131000 alert active before the fault")
		}
		prod := func(name string) func(amAlert) bool {
			return func(a amAlert) bool { return a.Labels["alertname"] == name && a.Labels["app_name"] == "prod" }
		}
		// What reached the receivers before the outage (the terminated
		// account's alert, for one) is not the outage's doing.
		others := []string{"TencentChatDataFreshnessBudgetBurn", "TencentChatAPIAvailabilityBudgetBurn", "TencentChatOfficialAccountUnavailable"}
		before := map[string]int{}
		for _, name := range others {
			before[name] = len(pages.alerts("", prod(name))) + len(warnings.alerts("", prod(name)))
		}
		simApps["prod"].SetFaults(simulator.Faults{ServiceDisabled: true})
		testutil.WaitFor(t, 30*time.Second, "for the 131000 alert", func() bool { return alertActive(sel) })
		if alertActive(`alertname="TencentChatOfficialAccountServiceNotEnabled",app_name="staging"`) {
			t.Error("131000 alert for an app that is fine")
		}
		testutil.WaitFor(t, 30*time.Second, "for the 131000 page", func() bool {
			return len(pages.alerts("firing", prod("TencentChatOfficialAccountServiceNotEnabled"))) > 0
		})
		checkAnnotations(t, pages.alerts("firing", prod("TencentChatOfficialAccountServiceNotEnabled"))[0])
		// The same outage burns both SLOs' budgets: their page alerts fire
		// in Prometheus, and the inhibition keeps them from paging a second
		// time for the one cause.
		for _, name := range others[:2] {
			testutil.WaitFor(t, 30*time.Second, "for "+name+" to page in Prometheus", func() bool {
				return alertActive(`alertname="` + name + `",severity="page",app_name="prod",alertstate="firing"`)
			})
		}
		time.Sleep(5 * time.Second) // group_wait and group_interval are 1 s: anything uninhibited would have arrived
		for _, name := range others {
			if n := len(pages.alerts("", prod(name))) + len(warnings.alerts("", prod(name))) - before[name]; n != 0 {
				t.Errorf("%s reached a receiver %d times during the 131000 outage: one cause, two pages", name, n)
			}
		}
		if keys := pages.groupKeys(prod("TencentChatOfficialAccountServiceNotEnabled")); len(keys) != 1 {
			t.Errorf("the 131000 outage paged under %d group keys, want one: %v", len(keys), keys)
		}
		// The drop alert's series are gone during the outage: it must not
		// resolve because of that.
		isDrop := func(a amAlert) bool { return a.Labels["alertname"] == "TencentChatOfficialAccountSubscribersDropping" }
		if n := len(warnings.alerts("resolved", isDrop)); n != 0 {
			t.Errorf("the drop alert resolved during the API outage (%d times)", n)
		}

		// Healed: the page resolves.
		simApps["prod"].SetFaults(simulator.Faults{})
		testutil.WaitFor(t, 60*time.Second, "for the 131000 alert to resolve at the pager", func() bool {
			return len(pages.alerts("resolved", prod("TencentChatOfficialAccountServiceNotEnabled"))) > 0
		})
	})
}

// TestBackgroundModeTwoPrometheus: an exporter whose apps have
// refresh_interval, discovered through /sd and scraped every second by two
// Prometheus 3 servers with the README's /sd scrape config. The simulator
// sees one refresh's calls per interval, however many scrapes there are,
// and both servers have every app's accounts with the same values.
func TestBackgroundModeTwoPrometheus(t *testing.T) {
	t.Parallel()          // each starts its own processes on free ports: they wait side by side
	need(t, "prometheus") // before any process starts: a missing tool fails at once
	dir := t.TempDir()
	sim := simulator.New()
	defer sim.Close()
	bgApps := []struct {
		name     string
		sdkappid uint64
		accounts int
	}{{"big", 1400000010, 120}, {"small", 1400000011, 5}} // 3 batches and 1: 4 calls a refresh
	var cfg strings.Builder
	const interval = 10 * time.Second // the shortest refresh_interval
	fmt.Fprintf(&cfg, "defaults:\n  timeout: 2s\n  refresh_interval: %s\napps:\n", interval)
	simSrv := httptest.NewServer(sim)
	defer simSrv.Close()
	for _, a := range bgApps {
		sim.AddApp(simulator.AppConfig{SDKAppID: a.sdkappid, Identifier: "administrator", SecretKey: key, Accounts: a.accounts, Seed: 3})
		ids := make([]string, a.accounts)
		for i := range ids {
			ids[i] = fmt.Sprintf("%q", simulator.AccountID(i))
		}
		fmt.Fprintf(&cfg, "  - {name: %s, sdkappid: %d, identifier: administrator, secret_key_file: key, endpoint: %q, accounts: [%s]}\n",
			a.name, a.sdkappid, simSrv.URL, strings.Join(ids, ", "))
	}
	os.WriteFile(filepath.Join(dir, "key"), []byte(key), 0o600)
	os.WriteFile(filepath.Join(dir, "config.yml"), []byte(cfg.String()), 0o600)
	bin := exporter(t)
	addr := testutil.FreeAddr(t)
	startProc(t, "http://"+addr+"/-/ready", bin, "--config.file="+filepath.Join(dir, "config.yml"), "--web.listen-address="+addr)

	var sdJob any
	for _, sc := range readmeScrapeConfigs(t, strings.NewReplacer("exporter-host:9882", addr,
		"scrape_interval: 60s", "scrape_interval: 1s", "scrape_timeout: 30s", "scrape_timeout: 1s")) {
		if sc.(map[string]any)["job_name"] == "tencentchat_sd" {
			sdJob = sc
		}
	}
	if sdJob == nil {
		t.Fatal("the README has no tencentchat_sd scrape config")
	}
	var proms []promClient
	for i := range 2 {
		d := filepath.Join(dir, "prom"+strconv.Itoa(i))
		os.MkdirAll(d, 0o755)
		proms = append(proms, startPrometheus(t, d, map[string]any{
			"global":         map[string]any{"scrape_interval": "1s", "evaluation_interval": "1s", "external_labels": map[string]any{"replica": strconv.Itoa(i)}},
			"scrape_configs": []any{sdJob},
		}))
	}
	for i, p := range proms {
		testutil.WaitFor(t, 30*time.Second, fmt.Sprintf("Prometheus %d to discover and scrape both apps", i), func() bool {
			return len(p.query(`up{job="tencentchat_sd"} == 1`)) == len(bgApps) &&
				len(p.query(`tencentchat_official_account_up{app_name="big",instance="big"}`)) == 120
		})
	}

	calls := func() int64 {
		var n int64
		for _, a := range bgApps {
			n += sim.App(a.sdkappid).Stats().Calls
		}
		return n
	}
	// A refresh's calls are paced over a few seconds: the window opens and
	// closes between two refreshes, once no call has come for 3 s, so it
	// never cuts one in half.
	quiet := func() int64 {
		last, since := calls(), time.Now()
		for time.Since(since) < 3*time.Second {
			time.Sleep(100 * time.Millisecond)
			if n := calls(); n != last {
				last, since = n, time.Now()
			}
		}
		return last
	}
	before := quiet()
	start := time.Now()
	time.Sleep(2 * interval)
	made := quiet() - before
	window := time.Since(start)
	// Two servers scraping two targets every second made some 100
	// scrapes in the window; fetching on scrape would have cost 4 calls
	// each. Refreshes cost 4 calls each, one per interval.
	refreshes := int64(window/interval) + 1
	if made%4 != 0 || made > 4*refreshes || made < 4*(refreshes-1) {
		t.Errorf("%d calls in %v with refresh_interval %v: want 4 for each of %d or %d refreshes", made, window, interval, refreshes-1, refreshes)
	}
	for i, p := range proms {
		if n := len(p.query(`tencentchat_last_refresh_timestamp_seconds{job="tencentchat_sd"}`)); n != len(bgApps) {
			t.Errorf("Prometheus %d: %d apps with a last refresh time", i, n)
		}
		if n := len(p.query(`count_over_time(up{job="tencentchat_sd",instance="big"}[20s]) >= 10`)); n != 1 {
			t.Errorf("Prometheus %d did not scrape every second", i)
		}
	}
}
