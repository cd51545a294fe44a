package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-logfmt/logfmt"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/testutil"
	"github.com/tencentchat-exporter/tencentchat_exporter/simulator"
)

// These tests run the built binary as a user would.

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tce-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "tencentchat_exporter")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Printf("building the exporter: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running exporter.
type proc struct {
	cmd    *exec.Cmd
	addr   string
	stderr testutil.Buffer
	done   chan struct{} // closed when the process has exited
	err    error         // its exit status, once done is closed
}

func (p *proc) logs() string { return p.stderr.String() }

func start(t *testing.T, args ...string) *proc {
	t.Helper()
	p := &proc{addr: testutil.FreeAddr(t), done: make(chan struct{})}
	p.cmd = exec.Command(binary, append([]string{"--web.listen-address=" + p.addr}, args...)...)
	pipe, _ := p.cmd.StderrPipe()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	copied := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			p.stderr.Write([]byte(sc.Text() + "\n"))
		}
		close(copied)
	}()
	go func() { <-copied; p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + p.addr + "/-/healthy"); err == nil {
			resp.Body.Close()
			return p
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("exporter did not come up; logs:\n%s", p.logs())
	return nil
}

func (p *proc) get(t *testing.T, path string) (int, string) {
	t.Helper()
	status, body, err := p.do(http.MethodGet, path)
	if err != nil {
		t.Fatal(err)
	}
	return status, body
}

func (p *proc) post(t *testing.T, path string) (int, string) {
	t.Helper()
	status, body, err := p.do(http.MethodPost, path)
	if err != nil {
		t.Fatal(err)
	}
	return status, body
}

// do is a request to the exporter that returns its error, for goroutines a
// test spawns (only the test's own goroutine may call t.Fatal).
func (p *proc) do(method, path string) (int, string, error) {
	req, err := http.NewRequest(method, "http://"+p.addr+path, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func countLines(body, prefix string) int {
	n := 0
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

func TestDemo(t *testing.T) {
	p := start(t, "--demo")
	testutil.WaitFor(t, 10*time.Second, "for the demo's first background refresh", func() bool {
		status, _ := p.get(t, "/-/ready")
		return status == http.StatusOK
	})
	// The first scrape starts the app statistics' refresh and does not
	// wait for it: a later scrape serves them.
	var status int
	var body string
	testutil.WaitFor(t, 10*time.Second, "for the demo's app statistics", func() bool {
		status, body = p.get(t, "/metrics")
		return status != 200 || strings.Contains(body, "tencentchat_app_daily_active_users{")
	})
	if status != 200 {
		t.Fatalf("/metrics: %d", status)
	}
	for _, want := range []string{
		`tencentchat_up{app_name="demo",sdkappid="1400000000"} 1`,
		`tencentchat_exporter_config_last_reload_successful 1`,
		`tencentchat_exporter_build_info{`,
		`go_goroutines `,
		`process_cpu_seconds_total `,
		`tencentchat_api_errors_total{api="get_official_account_info",app_name="demo",code="131000",sdkappid="1400000000"} 0`,
		`tencentchat_app_daily_active_users{app_name="demo",sdkappid="1400000000"} `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// Every line the process wrote, exporter-toolkit's "Listening on"
	// included, starts with the same keys in the same order.
	lines := strings.Split(strings.TrimSpace(p.logs()), "\n")
	head := regexp.MustCompile(`^ts=\S+ caller=\S+ level=(debug|info|warn|error) (app=\S+ sdkappid=\d+ )?msg=`)
	for _, l := range lines {
		if !head.MatchString(l) {
			t.Errorf("log line out of order: %s", l)
		}
	}
	if !strings.Contains(p.logs(), `msg="Listening on"`) || len(lines) < 3 {
		t.Errorf("expected exporter-toolkit's lines among the logs:\n%s", p.logs())
	}
	// 50 accounts, one terminated (index 13).
	if n := countLines(body, "tencentchat_official_account_up{"); n != 50 {
		t.Errorf("%d accounts", n)
	}
	if n := countLines(body, "tencentchat_official_account_subscribers{"); n != 49 {
		t.Errorf("%d subscriber series, want 49", n)
	}
	if n := countLines(body, "tencentchat_official_account_last_message_timestamp_seconds{"); n < 40 || n >= 49 {
		t.Errorf("%d last-message series: silent accounts must have none", n)
	}
	if s, b := p.get(t, "/probe?target=demo"); s != 200 || countLines(b, "tencentchat_official_account_up{") != 50 {
		t.Errorf("/probe?target=demo: %d", s)
	}
	if s, b := p.get(t, "/probe?target=other"); s != 400 || !strings.Contains(b, "unknown target") {
		t.Errorf("/probe?target=other: %d %s", s, b)
	}
	if s, b := p.get(t, "/"); s != 200 || !strings.Contains(b, "/metrics") {
		t.Errorf("landing page: %d", s)
	}
	if s, _ := p.get(t, "/-/reload"); s != http.StatusMethodNotAllowed {
		t.Errorf("GET /-/reload: %d", s)
	}
	if s, _ := p.post(t, "/-/reload"); s != 200 {
		t.Errorf("POST /-/reload: %d", s)
	}
	if !strings.Contains(p.logs(), "demo mode") {
		t.Errorf("demo not announced in logs:\n%s", p.logs())
	}
}

func TestVersion(t *testing.T) {
	out, err := exec.Command(binary, "--version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "tencentchat_exporter, version") {
		t.Fatalf("%v: %s", err, out)
	}
}

func TestBadFlag(t *testing.T) {
	for flag, want := range map[string]string{
		"--log.level=loud":                            "log.level",
		"--web.external-url=ftp://x":                  "--web.external-url must be an http or https URL",
		"--web.external-url=http://u:hunter2@x/":      "--web.external-url must be",
		"--web.external-url=https://x/p?token=s3cr3t": "--web.external-url must be",
		"--web.external-url=/relative":                "--web.external-url must be",
	} {
		out, err := exec.Command(binary, flag).CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), want) {
			t.Errorf("%s: %v: %s", flag, err, out)
		}
		if strings.Contains(string(out), "hunter2") || strings.Contains(string(out), "s3cr3t") {
			t.Errorf("%s: a credential in the error: %s", flag, out)
		}
	}
}

const key = "main-test-secret-key-a1b2c3d4e5f6"

// simServer is an in-process simulator recording the UserSigs it is sent.
func simServer(t *testing.T, accounts int) (*simulator.App, string, func() []string) {
	sim := simulator.New()
	app := sim.AddApp(simulator.AppConfig{SDKAppID: 1400000000, Identifier: "administrator", SecretKey: key, Accounts: accounts})
	var mu sync.Mutex
	sigs := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		sigs[r.URL.Query().Get("usersig")] = true
		mu.Unlock()
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { sim.Close(); srv.Close() })
	return app, srv.URL, func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := []string{}
		for s := range sigs {
			if s != "" {
				out = append(out, s)
			}
		}
		return out
	}
}

func writeConfig(t *testing.T, path, endpoint string, accounts int) {
	t.Helper()
	if err := tryWriteConfig(path, endpoint, accounts); err != nil {
		t.Fatal(err)
	}
}

// tryWriteConfig writes a configuration of one app with the first
// accounts of the simulator at endpoint, and returns its error.
func tryWriteConfig(path, endpoint string, accounts int) error {
	ids := make([]string, accounts)
	for i := range ids {
		ids[i] = fmt.Sprintf("%q", simulator.AccountID(i))
	}
	cfg := fmt.Sprintf(`apps:
  - name: prod
    sdkappid: 1400000000
    identifier: administrator
    secret_key_file: key.txt
    endpoint: %s
    accounts: [%s]
`, endpoint, strings.Join(ids, ", "))
	return os.WriteFile(path, []byte(cfg), 0o600)
}

func TestConfigAgainstSimulator(t *testing.T) {
	_, endpoint, sigs := simServer(t, 100)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yml")
	os.WriteFile(filepath.Join(dir, "key.txt"), []byte(key+"\n"), 0o600)
	writeConfig(t, cfgPath, endpoint, 10)

	p := start(t, "--config.file="+cfgPath, "--log.level=debug")
	_, body := p.get(t, "/metrics")
	if n := countLines(body, "tencentchat_official_account_up{"); n != 10 {
		t.Fatalf("%d accounts", n)
	}

	// SIGHUP picks up an edit.
	writeConfig(t, cfgPath, endpoint, 20)
	p.cmd.Process.Signal(syscall.SIGHUP)
	testutil.WaitFor(t, 10*time.Second, "for the reload", func() bool {
		_, body = p.get(t, "/metrics")
		return countLines(body, "tencentchat_official_account_up{") == 20
	})

	// A broken edit is refused; the old config keeps serving.
	os.WriteFile(cfgPath, []byte("apps:\n  - name: prod\n    bogus: 1\n"), 0o600)
	status, msg := p.post(t, "/-/reload")
	if status != http.StatusInternalServerError || !strings.Contains(msg, `unknown key "bogus"`) {
		t.Fatalf("POST /-/reload with a broken config: %d %s", status, msg)
	}
	_, body = p.get(t, "/metrics")
	if !strings.Contains(body, "tencentchat_exporter_config_last_reload_successful 0") ||
		countLines(body, "tencentchat_official_account_up{") != 20 {
		t.Fatalf("after a refused reload:\n%s", grepLines(body, "tencentchat_exporter_config"))
	}

	// SIGTERM: exit 0, promptly.
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if p.err != nil {
			t.Fatalf("exit after SIGTERM: %v", p.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no exit within 10s of SIGTERM")
	}

	logs := p.logs()
	seen := sigs()
	if len(seen) == 0 {
		t.Fatal("no UserSig seen: the leak check below would prove nothing")
	}
	for _, secret := range append(seen, key) {
		if strings.Contains(logs, secret) || strings.Contains(body, secret) || strings.Contains(msg, secret) {
			t.Fatalf("a secret is in the output")
		}
	}
}

func grepLines(body, prefix string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "key.txt"), []byte(key), 0o600)
	good := filepath.Join(dir, "good.yml")
	writeConfig(t, good, "http://127.0.0.1:1", 3)
	out, err := exec.Command(binary, "--config.check", "--config.file="+good).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "valid: 1 apps, 3 accounts") {
		t.Fatalf("good config: %v %s", err, out)
	}
	bad := filepath.Join(dir, "bad.yml")
	os.WriteFile(bad, []byte("apps:\n  - name: prod\n    sdkappid: 1\n    identifier: a\n    secret_key_file: key.txt\n    region: china\n    batch_size: 51\n    accounts: ['@TOA#_a']\n"), 0o600)
	out, err = exec.Command(binary, "--config.check", "--config.file="+bad).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("bad config exit: %v", err)
	}
	line := strings.TrimSpace(string(out))
	if strings.Count(line, "\n") != 0 || !strings.Contains(line, bad) || !strings.Contains(line, `app "prod"`) || !strings.Contains(line, "batch_size") {
		t.Fatalf("bad config message: %q", line)
	}
	// A bad config at start-up stops the exporter with status 1.
	cmd := exec.Command(binary, "--config.file="+bad, "--web.listen-address="+testutil.FreeAddr(t))
	out, err = cmd.CombinedOutput()
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), "batch_size") {
		t.Fatalf("start with a bad config: %v %s", err, out)
	}
}

// TestLogLines: every line, the toolkit's through the slog bridge included,
// carries ts, caller, level and msg once each, and caller names the code
// that logged, not a logging wrapper.
func TestLogLines(t *testing.T) {
	for _, format := range []string{"logfmt", "json"} {
		t.Run(format, func(t *testing.T) {
			p := start(t, "--demo", "--log.format="+format)
			p.get(t, "/metrics")
			testutil.WaitFor(t, 5*time.Second, "the toolkit's listening line", func() bool {
				return strings.Contains(p.logs(), "Listening on")
			})
			lines := strings.Split(strings.TrimSpace(p.logs()), "\n")
			for _, line := range lines {
				keys := logKeys(t, format, line)
				seen := map[string]int{}
				for _, k := range keys {
					seen[k]++
				}
				for _, k := range []string{"ts", "caller", "level", "msg"} {
					if seen[k] != 1 {
						t.Errorf("key %s %d times in %s", k, seen[k], line)
					}
				}
				for k, n := range seen {
					if n > 1 {
						t.Errorf("key %s %d times in %s", k, n, line)
					}
				}
				if strings.Contains(line, "logger.go") || strings.Contains(line, "handler.go") {
					t.Errorf("caller is a logging wrapper: %s", line)
				}
			}
			if len(lines) < 4 {
				t.Fatalf("only %d log lines:\n%s", len(lines), p.logs())
			}
		})
	}
}

// logKeys returns the keys of one log line, in order, repeats kept.
func logKeys(t *testing.T, format, line string) []string {
	t.Helper()
	var keys []string
	if format == "json" {
		dec := json.NewDecoder(strings.NewReader(line))
		if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
			t.Fatalf("not a JSON object: %s", line)
		}
		for dec.More() {
			k, _ := dec.Token()
			keys = append(keys, k.(string))
			var v any
			if err := dec.Decode(&v); err != nil {
				t.Fatalf("bad JSON line %s: %v", line, err)
			}
		}
		return keys
	}
	d := logfmt.NewDecoder(strings.NewReader(line))
	for d.ScanRecord() {
		for d.ScanKeyval() {
			keys = append(keys, string(d.Key()))
		}
	}
	if d.Err() != nil {
		t.Fatalf("bad logfmt line %s: %v", line, d.Err())
	}
	return keys
}

// TestLandingPageLinks follows every link of / and wants 200 from each,
// the apps' probe and debug links among them; a probe of an app not yet
// named is a form, not a link.
func TestLandingPageLinks(t *testing.T) {
	p := start(t, "--demo")
	// /-/ready answers 503 until the demo app's first background refresh
	// has ended, as it should; the links are followed after that.
	testutil.WaitFor(t, 10*time.Second, "for /-/ready", func() bool {
		status, _ := p.get(t, "/-/ready")
		return status == http.StatusOK
	})
	status, page := p.get(t, "/")
	if status != 200 {
		t.Fatalf("/: %d", status)
	}
	links := regexp.MustCompile(`href="([^"]+)"`).FindAllStringSubmatch(page, -1)
	followed := 0
	for _, m := range links {
		link := html.UnescapeString(m[1])
		if strings.HasPrefix(link, "http") {
			continue // the toolkit's links to external sites
		}
		if !strings.HasPrefix(link, "/") {
			link = "/" + link
		}
		// The page offers a 60-second CPU profile; one second proves the
		// same handler answers.
		link = strings.Replace(link, "seconds=60", "seconds=1", 1)
		if s, body := p.get(t, link); s != 200 {
			t.Errorf("%s: %d %.200s", link, s, body)
		}
		followed++
	}
	if followed < 6 {
		t.Fatalf("followed %d links, want metrics, health, two profiles and the app's probe and debug:\n%s", followed, page)
	}
	if !strings.Contains(page, `<form action="probe"`) {
		t.Errorf("no probe form on the page:\n%s", page)
	}
}

// TestAutoReloadIntervalBound: an interval below 1 s (an idle exporter
// reading and hashing its files a thousand times a second) is refused
// with one line naming the flag and the minimum.
func TestAutoReloadIntervalBound(t *testing.T) {
	for _, v := range []string{"1ms", "999ms", "-1s"} {
		out, err := exec.Command(binary, "--config.auto-reload-interval="+v, "--demo").CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), "--config.auto-reload-interval") ||
			!strings.Contains(string(out), "at least 1s") {
			t.Errorf("%s: %v: %s", v, err, out)
		}
	}
}

func TestBadTelemetryPath(t *testing.T) {
	for _, path := range []string{"/probe", "/-/healthy", "/-/reload", "/", "metrics", "", "/a b", "/debug/pprof/heap",
		"/sd", "/-/ready", "//metrics", "/%zz", "/a/../metrics", "/a//b"} {
		out, err := exec.Command(binary, "--web.telemetry-path="+path, "--demo").CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), "--web.telemetry-path") ||
			strings.Count(strings.TrimSpace(string(out)), "\n") != 0 {
			t.Errorf("%q: %v: %s", path, err, out)
		}
	}
}

// TestKeyNeverEchoedByConfigErrors: two paths swapped, accounts_file
// pointing at the key file. The refused reload's HTTP answer, the log and
// --config.check name the problem without quoting the key.
func TestKeyNeverEchoedByConfigErrors(t *testing.T) {
	const longKey = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "key.txt"), []byte(longKey), 0o600)
	cfg := filepath.Join(dir, "config.yml")
	writeConfig(t, cfg, "http://127.0.0.1:1", 3)
	p := start(t, "--config.file="+cfg)
	swapped := "apps:\n  - name: prod\n    sdkappid: 1400000000\n    identifier: administrator\n" +
		"    secret_key_file: key.txt\n    endpoint: http://127.0.0.1:1\n    accounts_file: key.txt\n"
	if err := os.WriteFile(cfg, []byte(swapped), 0o600); err != nil {
		t.Fatal(err)
	}
	status, body := p.post(t, "/-/reload")
	if status != http.StatusInternalServerError || !strings.Contains(body, "must start with") {
		t.Errorf("POST /-/reload: %d %q", status, body)
	}
	out, _ := exec.Command(binary, "--config.check", "--config.file="+cfg).CombinedOutput()
	if !strings.Contains(string(out), "accounts_file") {
		t.Errorf("--config.check: %s", out)
	}
	testutil.WaitFor(t, 5*time.Second, "for the refused reload's log line", func() bool {
		return strings.Contains(p.logs(), "configuration not loaded")
	})
	for where, text := range map[string]string{"the reload answer": body, "--config.check": string(out), "the log": p.logs()} {
		if strings.Contains(text, longKey[:20]) || strings.Contains(text, longKey[44:]) {
			t.Errorf("the key is in %s:\n%s", where, text)
		}
	}
}
