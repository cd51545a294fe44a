package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/go-kit/log"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/testutil"
	"github.com/tencentchat-exporter/tencentchat_exporter/simulator"
)

// TestSIGTERMDuringScrape: a scrape waiting on a slow API does not hold
// the process: SIGTERM ends it with status 0 within seconds, and the cut
// scrape answers 503 rather than 200 with every app down.
func TestSIGTERMDuringScrape(t *testing.T) {
	app, endpoint, _ := simServer(t, 10)
	app.SetFaults(simulator.Faults{Latency: 20 * time.Second})
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "key.txt"), []byte(key), 0o600)
	cfg := filepath.Join(dir, "config.yml")
	writeConfig(t, cfg, endpoint, 10)
	p := start(t, "--config.file="+cfg)

	scraped := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, "http://"+p.addr+"/metrics", nil)
		req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "60")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			scraped <- 0
			return
		}
		resp.Body.Close()
		scraped <- resp.StatusCode
	}()
	time.Sleep(500 * time.Millisecond) // the scrape is waiting on the API
	sent := time.Now()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if p.err != nil {
			t.Fatalf("exit status after SIGTERM: %v", p.err)
		}
		if d := time.Since(sent); d > 3*time.Second {
			t.Fatalf("exit took %v", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("still running 10s after SIGTERM")
	}
	select {
	case status := <-scraped:
		if status != http.StatusServiceUnavailable {
			t.Errorf("the cut scrape answered %d, want 503", status)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the in-flight scrape never ended")
	}
}

// TestSIGHUPDuringStartup: a SIGHUP while the configuration is still
// loading is a reload, not Go's default exit (status 129).
func TestSIGHUPDuringStartup(t *testing.T) {
	_, endpoint, _ := simServer(t, 10)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "key.txt"), []byte(key), 0o600)
	// 300,000 accounts take a while to load: the signals land in that.
	var ids strings.Builder
	for i := range 300_000 {
		fmt.Fprintf(&ids, "@TOA#_startup%07d\n", i)
	}
	os.WriteFile(filepath.Join(dir, "accounts.txt"), []byte(ids.String()), 0o600)
	cfg := filepath.Join(dir, "config.yml")
	os.WriteFile(cfg, []byte("apps:\n  - {name: prod, sdkappid: 1400000000, identifier: administrator, secret_key_file: key.txt, endpoint: '"+
		endpoint+"', accounts_file: accounts.txt}\n"), 0o600)
	addr := testutil.FreeAddr(t)
	cmd := exec.Command(binary, "--config.file="+cfg, "--web.listen-address="+addr)
	var logs testutil.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill(); <-exited })
	healthy := func() bool {
		resp, err := http.Get("http://" + addr + "/-/healthy")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	}
	// Wait for the process to be running Go code (it has logged), then
	// signal it until it serves.
	testutil.WaitFor(t, 10*time.Second, "for the first log line", func() bool { return logs.String() != "" })
	sent := 0
	for deadline := time.Now().Add(30 * time.Second); !healthy(); sent++ {
		select {
		case err := <-exited:
			t.Fatalf("exited during start-up after %d SIGHUPs: %v\n%s", sent, err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("not serving after 30 s:\n%s", logs.String())
		}
		cmd.Process.Signal(syscall.SIGHUP)
		time.Sleep(5 * time.Millisecond)
	}
	if sent == 0 {
		t.Fatal("the configuration loaded before any SIGHUP was sent: the test proves nothing")
	}
	testutil.WaitFor(t, 20*time.Second, "for the queued reload", func() bool {
		return strings.Count(logs.String(), "configuration loaded") >= 1
	})
	t.Logf("%d SIGHUPs during start-up", sent)
}

// TestIdleConnectionsClosed: the server closes keep-alive connections left
// idle, so a client holding thousands cannot exhaust the descriptors.
func TestIdleConnectionsClosed(t *testing.T) {
	srv := newServer(context.Background(), http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }),
		log.NewNopLogger(), 300*time.Millisecond)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	// Idle now: the server must close it (read sees EOF) soon after 300 ms.
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("idle connection not closed by the server: %v", err)
	}
}

// TestKeyRotation: the app's key changes at Tencent; until the key file is
// rotated calls fail with 70009, after a SIGHUP they work again.
func TestKeyRotation(t *testing.T) {
	sim := simulator.New()
	defer sim.Close()
	const oldKey, newKey = "rotation-old-key-1234", "rotation-new-key-5678"
	sim.AddApp(simulator.AppConfig{SDKAppID: 1400000000, Identifier: "administrator", SecretKey: oldKey, Accounts: 3})
	srv := serveTest(t, sim)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key.txt")
	os.WriteFile(keyFile, []byte(oldKey), 0o600)
	cfg := filepath.Join(dir, "config.yml")
	writeConfig(t, cfg, srv, 3)
	p := start(t, "--config.file="+cfg)
	up := func() bool {
		_, body := p.get(t, "/metrics")
		return strings.Contains(body, `tencentchat_up{app_name="prod",sdkappid="1400000000"} 1`)
	}
	if !up() {
		t.Fatal("not up with the right key")
	}
	sim.AddApp(simulator.AppConfig{SDKAppID: 1400000000, Identifier: "administrator", SecretKey: newKey, Accounts: 3})
	_, body := p.get(t, "/metrics")
	if !strings.Contains(body, `code="70009",sdkappid="1400000000"} 1`) {
		t.Fatalf("70009 not counted after the key changed:\n%s", grepLines(body, "tencentchat_api_errors_total"))
	}
	os.WriteFile(keyFile, []byte(newKey), 0o600)
	p.cmd.Process.Signal(syscall.SIGHUP)
	testutil.WaitFor(t, 10*time.Second, "for the rotated key", up)
	for _, secret := range []string{oldKey, newKey} {
		if strings.Contains(p.logs(), secret) {
			t.Fatal("a key is in the log")
		}
	}
}

func serveTest(t *testing.T, h http.Handler) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

func TestTimeoutHeaderAndBadRequests(t *testing.T) {
	p := start(t, "--demo")
	for _, h := range []string{"garbage", "-5", "0", "1e308", "NaN", ""} {
		req, _ := http.NewRequest(http.MethodGet, "http://"+p.addr+"/metrics", nil)
		req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", h)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("timeout header %q: status %d", h, resp.StatusCode)
		}
	}
	for _, q := range []string{"", "?target=", "?target=nope", "?target=" + strings.Repeat("a", 5000), "?target=%00%01%ff"} {
		if s, _ := p.get(t, "/probe"+q); s != 400 {
			t.Errorf("/probe%s: %d, want 400", q[:min(len(q), 20)], s)
		}
	}
	for _, m := range []string{"GET", "PUT", "DELETE"} {
		req, _ := http.NewRequest(m, "http://"+p.addr+"/-/reload", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s /-/reload: %d", m, resp.StatusCode)
		}
	}
	if strings.Contains(p.logs(), "panic") {
		t.Fatalf("panic in the log:\n%s", p.logs())
	}
}

// TestTLSAndBasicAuth serves through --web.config.file with a generated
// certificate and a bcrypt password.
func TestTLSAndBasicAuth(t *testing.T) {
	dir := t.TempDir()
	certPEM, keyPEM := selfSigned(t)
	os.WriteFile(filepath.Join(dir, "cert.pem"), certPEM, 0o600)
	os.WriteFile(filepath.Join(dir, "key.pem"), keyPEM, 0o600)
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret-pass"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	webCfg := filepath.Join(dir, "web.yml")
	os.WriteFile(webCfg, []byte(fmt.Sprintf("tls_server_config:\n  cert_file: %s\n  key_file: %s\nbasic_auth_users:\n  prom: %s\n",
		filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), hash)), 0o600)

	addr := testutil.FreeAddr(t)
	cmd := exec.Command(binary, "--demo", "--web.listen-address="+addr, "--web.config.file="+webCfg)
	logs := &testutil.Buffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	trusted := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	get := func(c *http.Client, url, user, pass string) (int, error) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	url := "https://" + addr + "/metrics"
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := get(trusted, url, "", ""); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("TLS endpoint not up:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, c := range []struct {
		user, pass string
		want       int
	}{{"", "", 401}, {"prom", "wrong", 401}, {"other", "s3cret-pass", 401}, {"prom", "s3cret-pass", 200}} {
		if got, err := get(trusted, url, c.user, c.pass); err != nil || got != c.want {
			t.Errorf("user %q: %d, %v; want %d", c.user, got, err, c.want)
		}
	}
	// The handshake is verified: a client that does not trust the
	// certificate fails, and plain HTTP gets no metrics.
	if _, err := get(&http.Client{}, url, "prom", "s3cret-pass"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted client: %v", err)
	}
	if got, err := get(&http.Client{}, "http://"+addr+"/metrics", "prom", "s3cret-pass"); err == nil && got == 200 {
		t.Error("plain HTTP served metrics")
	}
	if strings.Contains(logs.String(), "s3cret-pass") {
		t.Error("password in the log")
	}
}

func selfSigned(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "tencentchat_exporter test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(priv)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}

// TestBrokenConfigsExitOne runs broken configurations through the binary:
// each exits 1 with one line naming the file, the app and the key.
func TestBrokenConfigsExitOne(t *testing.T) {
	dir := t.TempDir()
	base := "apps:\n  - name: prod\n    sdkappid: 1400000000\n    identifier: admin\n    region: china\n"
	cases := []struct{ yaml, key string }{
		{base + "    secret_key: k\n    accounts: ['@TOA#_a']\n    colour: blue\n", `unknown key "colour"`},
		{base + "    secret_key: k\n    accounts: ['@TOA#_a']\n    batch_size: 51\n", "batch_size"},
		{base + "    accounts: ['@TOA#_a']\n", "secret_key"},
		{base + "    secret_key_file: /nonexistent\n    accounts: ['@TOA#_a']\n", "secret_key_file"},
		{base + "    secret_key: k\n    accounts: ['bad']\n", "accounts"},
		{base + "    secret_key: k\n    accounts: ['@TOA#_a']\n    endpoint: 'ftp://x'\n", "endpoint"},
	}
	for i, c := range cases {
		file := filepath.Join(dir, fmt.Sprintf("c%d.yml", i))
		os.WriteFile(file, []byte(c.yaml), 0o600)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		out, err := exec.CommandContext(ctx, binary, "--config.check", "--config.file="+file).CombinedOutput()
		cancel()
		var ee *exec.ExitError
		line := strings.TrimSpace(string(out))
		if !errors.As(err, &ee) || ee.ExitCode() != 1 || strings.Contains(line, "\n") || !strings.Contains(line, file) ||
			!strings.Contains(line, `app "prod"`) || !strings.Contains(line, c.key) || strings.Contains(line, "panic") {
			t.Errorf("case %d: %v: %q", i, err, line)
		}
	}
}

// TestReloadSignalsDuringScrapes alternates the configuration by SIGHUP and
// POST /-/reload while scrapes run against the process: every scrape
// answers 200 with one configuration whole.
func TestReloadSignalsDuringScrapes(t *testing.T) {
	_, endpoint, _ := simServer(t, 30)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "key.txt"), []byte(key), 0o600)
	cfg := filepath.Join(dir, "config.yml")
	writeConfig(t, cfg, endpoint, 10)
	p := start(t, "--config.file="+cfg)

	stop := make(chan struct{})
	reloads := make(chan int, 1)
	go func() {
		n := 0
		defer func() { reloads <- n }()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := tryWriteConfig(cfg, endpoint, []int{10, 30}[i%2]); err != nil {
				t.Error(err)
				return
			}
			if i%3 == 0 {
				p.cmd.Process.Signal(syscall.SIGHUP)
			} else if s, body, err := p.do(http.MethodPost, "/-/reload"); err != nil || s != 200 {
				t.Errorf("POST /-/reload: %d %s %v", s, body, err)
			}
			n++
			time.Sleep(20 * time.Millisecond)
		}
	}()
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			for range 30 {
				status, body, err := p.do(http.MethodGet, "/metrics")
				n := countLines(body, "tencentchat_official_account_up{")
				if err != nil || status != 200 || (n != 10 && n != 30) || !strings.Contains(body, `tencentchat_up{app_name="prod",sdkappid="1400000000"} 1`) {
					t.Errorf("scrape during reloads: status %d, %d accounts, %v", status, n, err)
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	if n := <-reloads; n < 5 {
		t.Fatalf("only %d reloads during the scrapes", n)
	}
	if strings.Contains(p.logs(), "configuration not loaded") {
		// A config file caught half-written is refused and logged, which
		// is the designed behaviour; it must never reach a scrape.
		t.Logf("some reloads saw a half-written file and were refused")
	}
}

// TestEndpointCredentialsNotEchoed: an endpoint with a password and a
// query token is refused, and neither appears in --config.check's output
// nor in the answer to POST /-/reload.
func TestEndpointCredentialsNotEchoed(t *testing.T) {
	_, p, cfg, endpoint := startOnSim(t, 5)
	bad := strings.Replace(endpoint, "http://", "http://user:hunter2@", 1) + "/x?token=s3cr3t"
	writeConfig(t, cfg, bad, 5)
	out, _ := exec.Command(binary, "--config.file="+cfg, "--config.check").CombinedOutput()
	status, body := p.post(t, "/-/reload")
	for what, text := range map[string]string{"--config.check": string(out), "POST /-/reload": body, "the log": p.logs()} {
		if strings.Contains(text, "hunter2") || strings.Contains(text, "s3cr3t") {
			t.Errorf("%s shows a credential: %s", what, text)
		}
	}
	if status != http.StatusInternalServerError || !strings.Contains(body, "<redacted>") || !strings.Contains(string(out), "user info") {
		t.Errorf("reload %d %q; check %q", status, body, out)
	}
}

// TestSlowReadersReleased: clients that ask for a big scrape and never
// read are cut off at their scrape timeout, so they cannot hold the
// exporter's memory or connections. The app is refreshed in the
// background, so every answer is whole and large (some 3 MB), more than
// the socket buffers hold.
func TestSlowReadersReleased(t *testing.T) {
	t.Parallel() // waits on timers and servers more than it computes
	_, endpoint, _ := simServer(t, 5000)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "key.txt"), []byte(key), 0o600)
	cfg := filepath.Join(dir, "config.yml")
	writeConfig(t, cfg, endpoint, 5000)
	appendFile(t, cfg, "    refresh_interval: 10s\n") // 100 calls paced over 5 s
	p := start(t, "--config.file="+cfg)
	testutil.WaitFor(t, 30*time.Second, "for the first refresh", func() bool {
		status, _ := p.get(t, "/-/ready")
		return status == http.StatusOK
	})
	var conns []net.Conn
	for range 5 {
		d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
			// A tiny receive window, so the server's writes block soon.
			return c.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 1024) })
		}}
		conn, err := d.Dial("tcp", p.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Prometheus-Scrape-Timeout-Seconds: 2\r\n\r\n")
		conns = append(conns, conn)
	}
	// Past the 2 s timeout the server gives up writing and closes: reading
	// now drains what was sent and then ends. A server that kept writing
	// would keep the reads going without end.
	time.Sleep(3 * time.Second)
	for i, conn := range conns {
		conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		n, err := io.Copy(io.Discard, conn)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Errorf("client %d: still open 20 s after its timeout (%d bytes read)", i, n)
		}
	}
}

// procStatus reads a kB field of /proc/PID/status, in bytes.
func procStatus(t *testing.T, pid int, field string) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// TestAutoReload: with --config.auto-reload-interval the exporter picks up
// an account added to its accounts_file, refuses a broken configuration
// once (and does not retry it while the files stay the same), and picks
// up a rotated key, the way Kubernetes swaps ConfigMaps and Secrets: by
// replacing a symlink.
func TestAutoReload(t *testing.T) {
	t.Parallel() // waits on timers and servers more than it computes
	sim := simulator.New()
	defer sim.Close()
	const oldKey, newKey = "auto-reload-old-key-1234", "auto-reload-new-key-5678"
	sim.AddApp(simulator.AppConfig{SDKAppID: 1400000000, Identifier: "administrator", SecretKey: oldKey, Accounts: 10})
	srv := serveTest(t, sim)
	dir := t.TempDir()
	// The key lives behind a symlink, as in a mounted Secret.
	os.WriteFile(filepath.Join(dir, "key-v1"), []byte(oldKey), 0o600)
	os.Symlink("key-v1", filepath.Join(dir, "key.txt"))
	accounts := filepath.Join(dir, "accounts.txt")
	os.WriteFile(accounts, []byte(simulator.AccountID(0)+"\n"), 0o600)
	cfg := filepath.Join(dir, "config.yml")
	good := fmt.Sprintf("apps:\n  - {name: prod, sdkappid: 1400000000, identifier: administrator, secret_key_file: key.txt, endpoint: %q, accounts_file: accounts.txt}\n", srv)
	os.WriteFile(cfg, []byte(good), 0o600)
	const interval = time.Second // the shortest allowed
	p := start(t, "--config.file="+cfg, "--config.auto-reload-interval="+interval.String())
	accountsServed := func() int {
		_, body := p.get(t, "/metrics")
		return countLines(body, "tencentchat_official_account_up{")
	}
	if n := accountsServed(); n != 1 {
		t.Fatalf("%d accounts at start", n)
	}

	// An added account.
	os.WriteFile(accounts, []byte(simulator.AccountID(0)+"\n"+simulator.AccountID(1)+"\n"), 0o600)
	testutil.WaitFor(t, 10*time.Second, "for the added account", func() bool { return accountsServed() == 2 })

	// A broken configuration: refused once, the old one keeps serving.
	os.WriteFile(cfg, []byte(good+"  - {name: broken\n"), 0o600)
	testutil.WaitFor(t, 10*time.Second, "for the broken configuration to be refused", func() bool {
		return strings.Contains(p.logs(), "configuration not loaded")
	})
	time.Sleep(3 * interval)
	if n := strings.Count(p.logs(), "configuration not loaded"); n != 1 {
		t.Errorf("the broken configuration was tried %d times, want once", n)
	}
	if _, body := p.get(t, "/metrics"); !strings.Contains(body, "tencentchat_exporter_config_last_reload_successful 0") ||
		countLines(body, "tencentchat_official_account_up{") != 2 {
		t.Errorf("after the refused change: %s", grepLines(body, "reload_successful"))
	}
	os.WriteFile(cfg, []byte(good), 0o600)
	testutil.WaitFor(t, 10*time.Second, "for the repaired configuration", func() bool {
		_, body := p.get(t, "/metrics")
		return strings.Contains(body, "tencentchat_exporter_config_last_reload_successful 1")
	})

	// A key rotation by symlink swap.
	sim.AddApp(simulator.AppConfig{SDKAppID: 1400000000, Identifier: "administrator", SecretKey: newKey, Accounts: 10})
	os.WriteFile(filepath.Join(dir, "key-v2"), []byte(newKey), 0o600)
	os.Symlink("key-v2", filepath.Join(dir, "key.tmp"))
	os.Rename(filepath.Join(dir, "key.tmp"), filepath.Join(dir, "key.txt"))
	testutil.WaitFor(t, 10*time.Second, "for the rotated key", func() bool {
		_, body := p.get(t, "/metrics")
		return strings.Contains(body, `tencentchat_up{app_name="prod",sdkappid="1400000000"} 1`)
	})
	for _, secret := range []string{oldKey, newKey} {
		if strings.Contains(p.logs(), secret) {
			t.Fatal("a key is in the log")
		}
	}
}

// TestAutoReloadWaitsForAMissingKey: a ConfigMap update that adds an app
// lands before the Secret with its key. The reload is refused; when the
// key file appears, the watcher notices (it watches the files of the
// refused configuration too) and loads it, without a SIGHUP.
func TestAutoReloadWaitsForAMissingKey(t *testing.T) {
	t.Parallel() // waits on timers and servers more than it computes
	sim := simulator.New()
	defer sim.Close()
	sim.AddApp(simulator.AppConfig{SDKAppID: 1400000000, Identifier: "administrator", SecretKey: key, Accounts: 3})
	sim.AddApp(simulator.AppConfig{SDKAppID: 1400000001, Identifier: "administrator", SecretKey: key, Accounts: 3})
	srv := serveTest(t, sim)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "key.txt"), []byte(key), 0o600)
	cfg := filepath.Join(dir, "config.yml")
	app := func(name string, id int, keyFile string) string {
		return fmt.Sprintf("  - {name: %s, sdkappid: %d, identifier: administrator, secret_key_file: %s, endpoint: %q, accounts: [%q]}\n",
			name, id, keyFile, srv, simulator.AccountID(0))
	}
	os.WriteFile(cfg, []byte("apps:\n"+app("prod", 1400000000, "key.txt")), 0o600)
	p := start(t, "--config.file="+cfg, "--config.auto-reload-interval=1s")

	os.WriteFile(cfg, []byte("apps:\n"+app("prod", 1400000000, "key.txt")+app("shop", 1400000001, "shop-key.txt")), 0o600)
	testutil.WaitFor(t, 15*time.Second, "for the configuration without its key to be refused", func() bool {
		return strings.Contains(p.logs(), "configuration not loaded")
	})
	os.WriteFile(filepath.Join(dir, "shop-key.txt"), []byte(key), 0o600)
	testutil.WaitFor(t, 15*time.Second, "for the new app once its key appeared", func() bool {
		_, body := p.get(t, "/metrics")
		return strings.Contains(body, `tencentchat_up{app_name="shop",sdkappid="1400000001"} 1`) &&
			strings.Contains(body, "tencentchat_exporter_config_last_reload_successful 1")
	})
}

// startOnSim starts the exporter on an in-process simulator app of n
// accounts, all of them configured, and returns the simulated app, the
// process, its configuration file and the simulator's endpoint.
func startOnSim(t *testing.T, n int, args ...string) (*simulator.App, *proc, string, string) {
	t.Helper()
	app, endpoint, _ := simServer(t, n)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "key.txt"), []byte(key), 0o600)
	cfg := filepath.Join(dir, "config.yml")
	writeConfig(t, cfg, endpoint, n)
	return app, start(t, append([]string{"--config.file=" + cfg}, args...)...), cfg, endpoint
}

// TestServerErrorLog: the server's own errors (accept failures, TLS
// handshakes) come out through the exporter's logger, in its format, not
// in Go's plain log format.
func TestServerErrorLog(t *testing.T) {
	var buf testutil.Buffer
	logger := log.NewLogfmtLogger(&buf)
	srv := newServer(context.Background(), http.NotFoundHandler(), logger, time.Minute)
	srv.ErrorLog.Printf("http: Accept error: accept tcp [::]:9882: accept4: too many open files; retrying in 5ms")
	line := strings.TrimSpace(buf.String())
	if !strings.HasPrefix(line, "level=error component=http msg=") || !strings.Contains(line, "too many open files") {
		t.Fatalf("server error logged as %q", line)
	}
}

// appendFile adds text to the end of the file at path.
func appendFile(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

// TestRevertedConfigurationClearsTheFailure: an edit the auto-reloader
// refuses sets the reload status to 0; restoring the file exactly as it
// was leaves nothing to reload, yet the status must say again that the
// files on disk are what runs (the alert on it stops).
func TestRevertedConfigurationClearsTheFailure(t *testing.T) {
	t.Parallel() // waits on the auto-reloader's polls
	_, p, cfg, _ := startOnSim(t, 5, "--config.auto-reload-interval=1s")
	good, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	status := func(want string) func() bool {
		return func() bool {
			_, body := p.get(t, "/metrics")
			return strings.Contains(body, "\ntencentchat_exporter_config_last_reload_successful "+want+"\n")
		}
	}
	testutil.WaitFor(t, 5*time.Second, "for the reload status 1", status("1"))
	if err := os.WriteFile(cfg, append(append([]byte{}, good...), "    bogus: 1\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 15*time.Second, "for the broken edit to be refused", status("0"))
	if err := os.WriteFile(cfg, good, 0o600); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 15*time.Second, "for the reload status 1 after the revert", status("1"))
	if !strings.Contains(p.logs(), "the configuration files are the running configuration again") {
		t.Errorf("the revert was not logged:\n%s", p.logs())
	}
}
