package collector

import (
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/config"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/scrape"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/testutil"
	"github.com/tencentchat-exporter/tencentchat_exporter/simulator"
)

// TestMethods: only GET scrapes. HEAD answers without calling the API;
// other methods get 405 and an Allow header.
func TestMethods(t *testing.T) {
	r := newRig(t, 5, nil)
	for _, path := range []string{"/metrics", "/probe?target=main"} {
		for _, m := range []string{http.MethodHead, http.MethodPut, http.MethodPost, http.MethodOptions, http.MethodDelete} {
			req, _ := http.NewRequest(m, r.srv.URL+path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			want := http.StatusMethodNotAllowed
			if m == http.MethodHead {
				want = http.StatusOK
			}
			if resp.StatusCode != want || (want == 405 && resp.Header.Get("Allow") != "GET, HEAD") {
				t.Errorf("%s %s: %d (Allow %q), want %d", m, path, resp.StatusCode, resp.Header.Get("Allow"), want)
			}
		}
	}
	if c := r.simApp.Stats().Calls; c != 0 {
		t.Fatalf("%d API calls for requests that are not GET", c)
	}
}

// TestMaxRequests: with a limit of 1, a scrape that holds the slot makes a
// short scrape answer 503 within its own deadline and a patient one wait
// for the slot and succeed.
func TestMaxRequests(t *testing.T) {
	t.Parallel() // waits on timers and servers more than it computes
	r := newRigOpts(t, 5, nil, HandlerOpts{TimeoutOffset: 500 * time.Millisecond, Limit: scrape.NewLimit(1)})
	r.simApp.SetFaults(simulator.Faults{Latency: time.Second})
	holder := r.goScrape("/metrics", map[string]string{scrape.TimeoutHeader: "5"})
	// The simulator has seen the first scrape's call: it holds the slot.
	for r.simApp.Stats().Calls == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	status, body := r.get(t, "/probe?target=main", map[string]string{scrape.TimeoutHeader: "1"})
	if status != http.StatusServiceUnavailable || !strings.Contains(body, "--web.max-requests=1") {
		t.Errorf("short scrape: %d %q, want 503 naming the flag", status, body)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("the 503 came after %v, past Prometheus' 1 s", d)
	}
	status, _ = r.get(t, "/probe?target=main", map[string]string{scrape.TimeoutHeader: "10"})
	if status != 200 {
		t.Errorf("patient scrape: %d, want 200 once the slot was free", status)
	}
	await(t, holder)
}

// TestTinyTimeoutHeader: a timeout header of 1e-7 is raised to the
// minimum, so a healthy app is scraped, not marked down without a call;
// the warning is logged once.
func TestTinyTimeoutHeader(t *testing.T) {
	r := newRig(t, 5, nil)
	for range 2 {
		f := r.scrape(t, "/metrics", map[string]string{scrape.TimeoutHeader: "1e-7"})
		if v, _ := f.value("tencentchat_up", nil); v != 1 {
			t.Fatalf("tencentchat_up %v with a tiny timeout header", v)
		}
	}
	if n := strings.Count(r.logs.String(), "below the minimum"); n != 1 {
		t.Fatalf("warned %d times, want once:\n%s", n, r.logs.String())
	}
}

// TestHangUpNotCountedAsTimeout: a scraper that hangs up cuts the API call
// short; that is not the API's failure, and the counters say so.
func TestHangUpNotCountedAsTimeout(t *testing.T) {
	r := newRig(t, 5, func(a *config.App) { a.Timeout = 30 * time.Second })
	r.simApp.SetFaults(simulator.Faults{Latency: 30 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.srv.URL+"/metrics", nil)
	req.Header.Set(scrape.TimeoutHeader, "60")
	done := make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}()
	for r.simApp.Stats().Calls == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	r.simApp.SetFaults(simulator.Faults{})
	// The abandoned fetch winds up in the background; then a healthy scrape
	// shows its call counted as a request and not as a failure.
	a := r.exp.state.Load().apps[0]
	testutil.WaitFor(t, 10*time.Second, "for the abandoned fetch to end", func() bool { return a.Last() != nil })
	f := r.scrape(t, "/metrics", nil)
	if v, _ := f.value("tencentchat_api_requests_total", nil); v != 2 {
		t.Fatalf("requests_total %v, want 2 (the cut call and the healthy one)", v)
	}
	for _, reason := range []string{"timeout", "network"} {
		if v, _ := f.value("tencentchat_api_request_failures_total", map[string]string{"reason": reason}); v != 0 {
			t.Errorf("failures{reason=%s} = %v after a hang-up, want 0", reason, v)
		}
	}
}

// TestConnectionsReused: with 50 apps on one API host, a second scrape
// opens no new connection: the idle pool holds every app's.
func TestConnectionsReused(t *testing.T) {
	sim := simulator.New()
	defer sim.Close()
	var opened atomic.Int32
	srv := httptest.NewUnstartedServer(sim)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	cfg := &config.Config{}
	for i := range 50 {
		id := uint64(testApp + i)
		sim.AddApp(simulator.AppConfig{SDKAppID: id, Identifier: testAdmin, SecretKey: testKey, Accounts: 2})
		a := appConfig(fmt.Sprintf("app%d", i), id, srv.URL, 2)
		a.Concurrency = 1
		cfg.Apps = append(cfg.Apps, a)
	}
	e := New(log.NewNopLogger())
	defer e.Close()
	if err := e.ApplyConfig(cfg); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	for _, a := range e.state.Load().apps {
		reg.MustRegister(&appCollector{ctx: context.Background(), a: a})
	}
	// The first scrape opens one connection per app. A later one opens
	// none once the transport has put the first's back in its pool, which
	// it does in the background: a few tries, a moment apart, must see a
	// scrape open none. A pool smaller than 50 never can.
	if _, err := reg.Gather(); err != nil {
		t.Fatal(err)
	}
	var fresh []int32
	for range 5 {
		time.Sleep(200 * time.Millisecond)
		before := opened.Load()
		if _, err := reg.Gather(); err != nil {
			t.Fatal(err)
		}
		fresh = append(fresh, opened.Load()-before)
		if fresh[len(fresh)-1] == 0 {
			return
		}
	}
	t.Fatalf("every later scrape opened new connections: %v", fresh)
}

// TestStalledReadersDoNotHoldSlots: two clients send a scrape claiming a
// 300 s timeout and never read an answer larger than the socket buffers.
// With --web.max-requests=2 they held both slots for five minutes and every
// other scrape got 503; now a slot is given back once the answer is
// encoded, and a normal scrape is served.
func TestStalledReadersDoNotHoldSlots(t *testing.T) {
	t.Parallel() // waits on a paced refresh; no bound on its own time
	// A refresh every 4 s paces its 400 calls over 2 s.
	r := newRig(t, 20000, func(a *config.App) { a.RefreshInterval = 4 * time.Second; a.Concurrency = 8 })
	testutil.WaitFor(t, time.Minute, "for the first background refresh", r.exp.Ready)
	opts := HandlerOpts{TimeoutOffset: 500 * time.Millisecond, Limit: scrape.NewLimit(2)}
	var entered atomic.Int32
	h := r.exp.MetricsHandler(opts)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		entered.Add(1)
		h.ServeHTTP(w, req)
	}))
	defer srv.Close()
	r.scrape(t, "/metrics", map[string]string{scrape.TimeoutHeader: "60"}) // answered from the last refresh

	for range 2 {
		c, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.(*net.TCPConn).SetReadBuffer(4096)
		fmt.Fprintf(c, "GET /metrics HTTP/1.1\r\nHost: exporter\r\n%s: 300\r\n\r\n", scrape.TimeoutHeader)
	}
	testutil.WaitFor(t, 10*time.Second, "for the stalled scrapes to reach the handler", func() bool { return entered.Load() == 2 })

	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/metrics", nil)
	req.Header.Set(scrape.TimeoutHeader, "10")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("a normal scrape behind two stalled readers: %d %.200s", resp.StatusCode, body)
	}
	if n := strings.Count(string(body), "tencentchat_official_account_up{"); n != 20000 {
		t.Fatalf("%d accounts in the answer", n)
	}
}

// TestProtobufCostsWhatTextCosts: a scrape that negotiates protobuf, as
// Prometheus does for native histograms, allocates about what a text
// scrape does: the accounts' series are written straight from the result
// in both, not built as a const metric each (which cost some 3.4 KB an
// account). Served from a background refresh, so the scrapes make no
// call and what is measured is the answer alone.
func TestProtobufCostsWhatTextCosts(t *testing.T) {
	const accounts = 2000 // 40 calls, paced over 5 s
	r := newRig(t, accounts, func(a *config.App) { a.RefreshInterval = 10 * time.Second })
	testutil.WaitFor(t, 30*time.Second, "for the first refresh", r.exp.Ready)
	h := r.exp.MetricsHandler(HandlerOpts{})
	allocated := func(accept string) (uint64, int) {
		scrape := func() int {
			req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
			req.Header.Set("Accept", accept)
			w := &discard{h: http.Header{}}
			h.ServeHTTP(w, req)
			return w.n
		}
		scrape() // the label pairs of this encoding are built once, at the first
		// The least of three: a background refresh may allocate meanwhile.
		least, n := uint64(math.MaxUint64), 0
		for range 3 {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			n = scrape()
			runtime.ReadMemStats(&after)
			least = min(least, after.TotalAlloc-before.TotalAlloc)
		}
		return least, n
	}
	text, textBytes := allocated("text/plain;version=0.0.4")
	pb, pbBytes := allocated("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.8,text/plain;version=0.0.4;q=0.1")
	t.Logf("text: %d bytes allocated for a %d-byte answer; protobuf: %d for %d", text, textBytes, pb, pbBytes)
	if textBytes < accounts*100 || pbBytes < accounts*50 {
		t.Fatalf("answers of %d (text) and %d (protobuf) bytes for %d accounts: not every account was served", textBytes, pbBytes, accounts)
	}
	if limit := text*3/2 + 64<<10; pb > limit {
		t.Errorf("a protobuf scrape allocated %d bytes (%d an account), over 1.5 times text's %d", pb, pb/accounts, text)
	}
}
