package collector

import (
	"bytes"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/config"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/testutil"
	"github.com/tencentchat-exporter/tencentchat_exporter/simulator"
)

// TestFaults runs every fault against one batch (accounts 50..99) of app
// "main" while its other batches and app "other" stay healthy, and checks
// that the scrape answers before the deadline, reports exactly what failed,
// invents nothing, and is whole again on the next healthy scrape.
func TestFaults(t *testing.T) {
	t.Parallel() // waits on timers and servers more than it computes
	rates := func(k simulator.FaultKind) simulator.Faults {
		return simulator.Faults{Rates: map[simulator.FaultKind]float64{k: 1}}
	}
	cases := []struct {
		name      string
		faults    simulator.Faults
		times     int           // calls of the batch that get the fault; 0: all
		header    float64       // Prometheus' scrape timeout, seconds
		wantUp    float64       // tencentchat_up of main
		batchUp   bool          // the faulty batch's accounts served
		code      string        // a counter of tencentchat_api_errors_total that must move
		reason    string        // or of tencentchat_api_request_failures_total
		count     float64       // by this much
		requests  float64       // tencentchat_api_requests_total of main
		lastDown  bool          // only the batch's last account missing
		noIntrude bool          // no series for an account not asked for
		timeout   time.Duration // each call's timeout, if not the rig's 2 s
	}{
		{name: "latency beyond the deadline", faults: simulator.Faults{Latency: 3 * time.Second}, header: 1.5, reason: "timeout", count: 1, requests: 3},
		{name: "hang", faults: rates(simulator.FaultHang), header: 1.5, reason: "timeout", count: 1, requests: 3},
		{name: "one 10004", faults: simulator.Faults{ErrorCode: 10004}, times: 1, wantUp: 1, batchUp: true, code: "10004", count: 1, requests: 4},
		{name: "one 20005", faults: simulator.Faults{ErrorCode: 20005}, times: 1, wantUp: 1, batchUp: true, code: "20005", count: 1, requests: 4},
		{name: "10004 burst", faults: simulator.Faults{ErrorCode: 10004}, code: "10004", count: 3, requests: 5},
		{name: "transient burst", faults: rates(simulator.FaultTransient), times: 2, wantUp: 1, batchUp: true, requests: 5},
		{name: "rate limited 60007", faults: simulator.Faults{ErrorCode: 60007}, code: "60007", count: 3, requests: 5},
		{name: "rate limited 60011", faults: simulator.Faults{ErrorCode: 60011}, code: "60011", count: 3, requests: 5},
		{name: "131000", faults: simulator.Faults{ServiceDisabled: true}, code: "131000", count: 1, requests: 3},
		{name: "70001 then re-signed", faults: simulator.Faults{ErrorCode: 70001}, times: 1, wantUp: 1, batchUp: true, code: "70001", count: 1, requests: 4},
		{name: "70003 not retried", faults: simulator.Faults{ErrorCode: 70003}, code: "70003", count: 1, requests: 3},
		{name: "70009 not retried", faults: simulator.Faults{ErrorCode: 70009}, code: "70009", count: 1, requests: 3},
		{name: "HTTP 502", faults: rates(simulator.FaultHTTP502), reason: "http_status", count: 3, requests: 5},
		{name: "HTTP 503", faults: rates(simulator.FaultHTTP503), reason: "http_status", count: 3, requests: 5},
		{name: "connection reset", faults: rates(simulator.FaultReset), reason: "network", count: 3, requests: 5},
		{name: "malformed body", faults: rates(simulator.FaultMalformed), reason: "decode", count: 1, requests: 3},
		{name: "truncated body", faults: rates(simulator.FaultTruncated), reason: "decode", count: 1, requests: 3},
		// 8 MiB sent and read under -race beside other work can take over
		// 2 s: a timeout then, and a retry, which is not what this case is about.
		{name: "oversized body", faults: rates(simulator.FaultOversized), reason: "decode", count: 1, requests: 3, timeout: 4 * time.Second},
		{name: "envelope without ErrorCode", faults: rates(simulator.FaultMissingFields), reason: "decode", count: 1, requests: 3},
		{name: "wrongly typed fields", faults: rates(simulator.FaultWrongTypes), reason: "decode", count: 1, requests: 3},
		{name: "account not asked for", faults: rates(simulator.FaultExtraAccount), wantUp: 1, batchUp: true, noIntrude: true, requests: 3},
		{name: "fewer accounts than asked", faults: rates(simulator.FaultFewerAccounts), wantUp: 1, batchUp: true, lastDown: true, requests: 3},
	}
	// How long a healthy scrape of the same shape takes on this machine as
	// loaded as it is now: the time bounds below stretch by its slack.
	healthy := newRig(t, 150, nil)
	base := testutil.Measure(3, func() { healthy.scrape(t, "/metrics", nil) })
	healthy.close()
	slack := testutil.Slack(base)
	for _, c := range cases {
		// Not parallel: the cases time the scrape against its deadline.
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t, 150, func(a *config.App) { // batches 0..49, 50..99, 100..149
				if c.timeout > 0 {
					a.Timeout = c.timeout
				}
			})
			r.sim.AddApp(simulator.AppConfig{SDKAppID: testApp + 1, Identifier: testAdmin, SecretKey: testKey, Accounts: 10})
			r.cfg.Apps = append(r.cfg.Apps, appConfig("other", testApp+1, r.simURL, 10))
			if err := r.exp.ApplyConfig(r.cfg); err != nil {
				t.Fatal(err)
			}
			faulty := simulator.New()
			defer faulty.Close()
			faulty.AddApp(simulator.AppConfig{SDKAppID: testApp, Identifier: testAdmin, SecretKey: testKey, Accounts: 150, Seed: 5}).SetFaults(c.faults)
			marker := []byte(`"` + simulator.AccountID(50) + `"`)
			var mu sync.Mutex
			hits := 0
			r.setIntercept(func(body []byte, w http.ResponseWriter, req *http.Request) bool {
				if !bytes.Contains(body, marker) {
					return false
				}
				mu.Lock()
				hits++
				route := c.times == 0 || hits <= c.times
				mu.Unlock()
				if route {
					faulty.ServeHTTP(w, req)
				}
				return route
			})
			header := c.header
			if header == 0 {
				header = 5
			}
			start := time.Now()
			f := r.scrape(t, "/metrics", map[string]string{"X-Prometheus-Scrape-Timeout-Seconds": strconv.FormatFloat(header, 'f', -1, 64)})
			// The calls stop at Prometheus' timeout less the 0.5 s offset;
			// cancelling them and encoding the answer take a little longer,
			// which is what the offset is for. The answer must never come
			// after Prometheus' own timeout.
			took := time.Since(start)
			budget := time.Duration(header * float64(time.Second))
			deadline := budget - 500*time.Millisecond
			if limit := max(budget, deadline+slack); took >= limit {
				t.Errorf("scrape took %v: Prometheus would have given up at %v (healthy scrape: %v)", took, budget, base)
			}
			if limit := deadline + max(400*time.Millisecond, slack); c.header != 0 && took >= limit {
				t.Errorf("scrape took %v: more than %v beyond its %v deadline (healthy scrape: %v)", took, limit-deadline, deadline, base)
			}

			main := map[string]string{"app_name": "main"}
			if v, _ := f.value("tencentchat_up", main); v != c.wantUp {
				t.Errorf("tencentchat_up{main} = %v, want %v", v, c.wantUp)
			}
			if v, _ := f.value("tencentchat_up", map[string]string{"app_name": "other"}); v != 1 {
				t.Error("the other app was affected")
			}
			if c.code != "" {
				if v, _ := f.value("tencentchat_api_errors_total", map[string]string{"app_name": "main", "code": c.code}); v != c.count {
					t.Errorf("errors{code=%s} = %v, want %v", c.code, v, c.count)
				}
			}
			if c.reason != "" {
				if v, _ := f.value("tencentchat_api_request_failures_total", map[string]string{"app_name": "main", "reason": c.reason}); v != c.count {
					t.Errorf("failures{reason=%s} = %v, want %v", c.reason, v, c.count)
				}
			}
			if v, _ := f.value("tencentchat_api_requests_total", main); v != c.requests {
				t.Errorf("requests_total{main} = %v, want %v", v, c.requests)
			}
			checkAccounts(t, r, f, func(i int) bool {
				switch {
				case i < 50 || i >= 100:
					return true
				case c.lastDown:
					return i != 99
				}
				return c.batchUp
			})
			if c.noIntrude {
				if _, ok := f.value("tencentchat_official_account_up", map[string]string{"account": "@TOA#_not_asked_for"}); ok {
					t.Error("series for an account that was not asked for")
				}
			}

			// Healthy again: the next scrape is whole.
			r.setIntercept(nil)
			f = r.scrape(t, "/metrics", map[string]string{"X-Prometheus-Scrape-Timeout-Seconds": "10"})
			if v, _ := f.value("tencentchat_up", main); v != 1 {
				t.Error("main not up after the fault cleared")
			}
			checkAccounts(t, r, f, func(int) bool { return true })
		})
	}
}

// checkAccounts holds every account of app main to wantUp (terminated ones
// are always down) and checks no value is served for an account that is
// down, nor for any account that is not configured.
func checkAccounts(t *testing.T, r *rig, f families, wantUp func(i int) bool) {
	t.Helper()
	configured := map[string]bool{}
	for i := range 150 {
		id := simulator.AccountID(i)
		configured[id] = true
		acct, _ := r.simApp.Account(id)
		want := wantUp(i) && !acct.Terminated
		up, ok := f.value("tencentchat_official_account_up", map[string]string{"app_name": "main", "account": id})
		_, hasSubs := f.value("tencentchat_official_account_subscribers", map[string]string{"app_name": "main", "account": id})
		_, hasCreated := f.value("tencentchat_official_account_creation_timestamp_seconds", map[string]string{"app_name": "main", "account": id})
		if !ok || (up == 1) != want || hasSubs != want || hasCreated != want {
			t.Errorf("%s: up=%v (present %v) subscribers=%v created=%v, want up %v", id, up, ok, hasSubs, hasCreated, want)
		}
	}
	for _, name := range []string{"tencentchat_official_account_subscribers", "tencentchat_official_account_up",
		"tencentchat_official_account_last_message_timestamp_seconds", "tencentchat_official_account_creation_timestamp_seconds"} {
		for _, m := range f[name].GetMetric() {
			l := labelsOf(m)
			if l["app_name"] == "main" && !configured[l["account"]] {
				t.Errorf("%s invented for %s", name, l["account"])
			}
		}
	}
}

// TestReloadDuringScrapes reloads between two configurations while scrapes
// run: every scrape sees one of them whole, and none fails.
func TestReloadDuringScrapes(t *testing.T) {
	t.Parallel() // counts what the scrapes saw, not how long they took
	r := newRig(t, 60, nil)
	r.sim.AddApp(simulator.AppConfig{SDKAppID: testApp + 1, Identifier: testAdmin, SecretKey: testKey, Accounts: 20})
	one := &config.Config{Apps: []config.App{r.cfg.Apps[0]}}
	two := &config.Config{Apps: []config.App{r.cfg.Apps[0], appConfig("other", testApp+1, r.simURL, 20)}}
	stop := make(chan struct{})
	var reloads atomic.Int64
	var reloader sync.WaitGroup
	reloader.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			cfg := one
			if i%2 == 1 {
				cfg = two
			}
			if err := r.exp.Reload(func() (*config.Config, error) { return cfg, nil }); err != nil {
				t.Error(err)
			}
			reloads.Add(1)
			time.Sleep(time.Millisecond)
		}
	})
	var scrapers sync.WaitGroup
	for range 4 {
		scrapers.Go(func() {
			for range 25 {
				f, err := r.tryScrape("/metrics", nil)
				if err != nil {
					t.Error(err)
					return
				}
				apps := f.count("tencentchat_up")
				accounts := f.count("tencentchat_official_account_up")
				if (apps != 1 || accounts != 60) && (apps != 2 || accounts != 80) {
					t.Errorf("scrape saw %d apps and %d accounts: half of a configuration", apps, accounts)
				}
				for _, m := range f["tencentchat_up"].GetMetric() {
					if m.GetGauge().GetValue() != 1 {
						t.Errorf("app %v down during reloads", labelsOf(m))
					}
				}
			}
		})
	}
	scrapers.Wait()
	close(stop)
	reloader.Wait()
	if n := reloads.Load(); n < 10 {
		t.Fatalf("only %d reloads happened during the scrapes", n)
	}
}
