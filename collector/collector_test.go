package collector

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/config"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/tencentchat"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/testutil"
	"github.com/tencentchat-exporter/tencentchat_exporter/simulator"
)

func acctLabels(id string) map[string]string {
	return map[string]string{"sdkappid": strconv.Itoa(testApp), "app_name": "main", "account": id}
}

func TestExactValues(t *testing.T) {
	r := newRig(t, 120, nil)
	f := r.scrape(t, "/metrics", nil)
	var up, down, silent int
	for _, acct := range r.simApp.Accounts() {
		l := acctLabels(acct.ID)
		upV, ok := f.value("tencentchat_official_account_up", l)
		if !ok {
			t.Fatalf("%s: no up series", acct.ID)
		}
		subs, hasSubs := f.value("tencentchat_official_account_subscribers", l)
		created, hasCreated := f.value("tencentchat_official_account_creation_timestamp_seconds", l)
		last, hasLast := f.value("tencentchat_official_account_last_message_timestamp_seconds", l)
		if acct.Terminated {
			down++
			if upV != 0 || hasSubs || hasCreated || hasLast {
				t.Errorf("%s terminated: up=%v subs=%v created=%v last=%v", acct.ID, upV, hasSubs, hasCreated, hasLast)
			}
			continue
		}
		up++
		if upV != 1 || subs != float64(acct.Subscribers) || created != float64(acct.CreateTime) {
			t.Errorf("%s: up=%v subs=%v (want %d) created=%v (want %d)", acct.ID, upV, subs, acct.Subscribers, created, acct.CreateTime)
		}
		if acct.LastMsgTime == 0 {
			silent++
			if hasLast {
				t.Errorf("%s never sent a message but has a last-message series", acct.ID)
			}
		} else if last != float64(acct.LastMsgTime) {
			t.Errorf("%s: last message %v, want %d", acct.ID, last, acct.LastMsgTime)
		}
	}
	if up == 0 || down == 0 || silent == 0 {
		t.Fatalf("test data lacks a case: up=%d down=%d silent=%d", up, down, silent)
	}
	// The name and owner labels carry the account's data.
	for _, m := range f["tencentchat_official_account_subscribers"].GetMetric() {
		l := labelsOf(m)
		acct, _ := r.simApp.Account(l["account"])
		if l["name"] != acct.Name || l["owner_account"] != acct.Owner {
			t.Fatalf("labels %v, account %+v", l, acct)
		}
	}
	if n := f.count("tencentchat_official_account_subscribers"); n != up {
		t.Errorf("%d subscriber series, want %d", n, up)
	}
	if v, _ := f.value("tencentchat_up", map[string]string{"app_name": "main"}); v != 1 {
		t.Errorf("tencentchat_up = %v", v)
	}
	// One terminated account among 120: one 130004 counted.
	if v, _ := f.value("tencentchat_api_errors_total", map[string]string{"code": "130004"}); v != float64(down) {
		t.Errorf("130004 count %v, want %d", v, down)
	}
	for _, mf := range f {
		for _, m := range mf.GetMetric() {
			if m.TimestampMs != nil {
				t.Fatalf("%s has a sample timestamp", mf.GetName())
			}
		}
	}
}

func TestMetricsLint(t *testing.T) {
	r := newRig(t, 10, nil)
	_, body := r.get(t, "/metrics", nil)
	problems, err := promlint.New(strings.NewReader(body)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

func TestBatching(t *testing.T) {
	cases := []struct{ accounts, batch, want int }{
		{120, 50, 3}, {50, 50, 1}, {51, 50, 2}, {120, 7, 18}, {1, 50, 1},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%d/%d", c.accounts, c.batch), func(t *testing.T) {
			r := newRig(t, c.accounts, func(a *config.App) { a.BatchSize = c.batch })
			for scrape := 1; scrape <= 2; scrape++ {
				f := r.scrape(t, "/metrics", nil)
				if got := r.simApp.Stats().Calls; got != int64(c.want*scrape) {
					t.Fatalf("after scrape %d: %d calls, want %d", scrape, got, c.want*scrape)
				}
				if v, _ := f.value("tencentchat_api_requests_total", nil); v != float64(c.want*scrape) {
					t.Fatalf("requests_total %v", v)
				}
				if n := f.count("tencentchat_official_account_up"); n != c.accounts {
					t.Fatalf("%d up series", n)
				}
			}
		})
	}
}

func TestNoCallsOutsideScrapes(t *testing.T) {
	r := newRig(t, 10, nil)
	time.Sleep(50 * time.Millisecond)
	if c := r.simApp.Stats().Calls; c != 0 {
		t.Fatalf("%d calls before any scrape", c)
	}
}

// TestPartialFailure: the batch holding account 50 gets HTTP 502 every
// time; its accounts are down and absent, the other batches are whole.
func TestPartialFailure(t *testing.T) {
	r := newRig(t, 150, func(a *config.App) { a.Retries = 1 })
	failing := []byte(`"` + simulator.AccountID(50) + `"`)
	r.setIntercept(func(body []byte, w http.ResponseWriter, _ *http.Request) bool {
		if bytes.Contains(body, failing) {
			w.WriteHeader(http.StatusBadGateway)
			return true
		}
		return false
	})
	f := r.scrape(t, "/metrics", nil)
	for i := range 150 {
		id := simulator.AccountID(i)
		acct, _ := r.simApp.Account(id)
		up, _ := f.value("tencentchat_official_account_up", acctLabels(id))
		_, hasSubs := f.value("tencentchat_official_account_subscribers", acctLabels(id))
		inFailed := i >= 50 && i < 100
		switch {
		case inFailed && (up != 0 || hasSubs):
			t.Errorf("%s in the failed batch: up=%v subscribers=%v", id, up, hasSubs)
		case !inFailed && !acct.Terminated && (up != 1 || !hasSubs):
			t.Errorf("%s in a good batch: up=%v subscribers=%v", id, up, hasSubs)
		}
	}
	if v, _ := f.value("tencentchat_up", nil); v != 0 {
		t.Errorf("tencentchat_up = %v, want 0", v)
	}
	if v, _ := f.value("tencentchat_api_request_failures_total", map[string]string{"reason": "http_status"}); v != 2 {
		t.Errorf("http_status failures %v, want 2 (one call and one retry)", v)
	}
	if v, _ := f.value("tencentchat_api_requests_total", nil); v != 4 {
		t.Errorf("requests %v, want 4", v)
	}
	if !strings.Contains(r.logs.String(), "batch=1") {
		t.Errorf("failed batch not logged: %s", r.logs)
	}
	// The next healthy scrape is whole again.
	r.setIntercept(nil)
	f = r.scrape(t, "/metrics", nil)
	if v, _ := f.value("tencentchat_up", nil); v != 1 {
		t.Errorf("after recovery tencentchat_up = %v", v)
	}
	if up, _ := f.value("tencentchat_official_account_up", acctLabels(simulator.AccountID(60))); up != 1 {
		t.Error("account of the failed batch not back")
	}
}

func TestErrorCountersPreinitialised(t *testing.T) {
	r := newRig(t, 5, nil)
	f := r.scrape(t, "/metrics", nil)
	for _, code := range tencentchat.DocumentedCodes {
		v, ok := f.value("tencentchat_api_errors_total", map[string]string{"code": strconv.Itoa(code)})
		if !ok || v != 0 {
			t.Errorf("code %d: %v, %v; want a 0 counter", code, v, ok)
		}
	}
	for _, reason := range []string{"timeout", "network", "http_status", "decode"} {
		if v, ok := f.value("tencentchat_api_request_failures_total", map[string]string{"reason": reason}); !ok || v != 0 {
			t.Errorf("reason %s: %v, %v", reason, v, ok)
		}
	}
	// The first 131000 moves its counter from 0 to 1.
	r.simApp.SetFaults(simulator.Faults{ServiceDisabled: true})
	f = r.scrape(t, "/metrics", nil)
	if v, _ := f.value("tencentchat_api_errors_total", map[string]string{"code": "131000"}); v != 1 {
		t.Errorf("131000 after one failed call: %v", v)
	}
	if v, _ := f.value("tencentchat_up", nil); v != 0 {
		t.Errorf("tencentchat_up %v", v)
	}
	if n := f.count("tencentchat_official_account_subscribers"); n != 0 {
		t.Errorf("%d subscriber series while the service is off", n)
	}
}

// TestUnknownCodeCounted: undocumented codes count as code="other", so the
// series stay bounded however many fresh codes the API sends, and their
// numbers are logged at warn at most once a minute.
func TestUnknownCodeCounted(t *testing.T) {
	r := newRig(t, 5, nil)
	before := r.scrape(t, "/metrics", nil).count("tencentchat_api_errors_total")
	for i := range 10 {
		r.simApp.SetFaults(simulator.Faults{ErrorCode: 99990 + i})
		r.scrape(t, "/metrics", nil)
	}
	f := r.scrape(t, "/metrics", nil)
	if v, _ := f.value("tencentchat_api_errors_total", map[string]string{"code": "other"}); v != 11 {
		t.Errorf(`errors{code="other"} = %v, want 11`, v)
	}
	if n := f.count("tencentchat_api_errors_total"); n != before || n != len(tencentchat.DocumentedCodes)+1 {
		t.Errorf("%d error series after fresh codes, %d before; want %d", n, before, len(tencentchat.DocumentedCodes)+1)
	}
	if n := strings.Count(r.logs.String(), "undocumented ErrorCode"); n != 1 || !strings.Contains(r.logs.String(), "code=99990") {
		t.Errorf("undocumented codes logged %d times, want once with the first code:\n%s", n, r.logs.String())
	}
}

// TestDeadlineFromHeader: the API answers after 6 s; with Prometheus'
// timeout at 3 s and the offset 1 s the scrape answers after about 2 s,
// everything marked failed, nothing invented. The offset is what the
// scrape has for encoding before the exporter would rather answer 503, so
// this test keeps it wider than the default for a loaded make test.
func TestDeadlineFromHeader(t *testing.T) {
	t.Parallel() // waits on timers and servers more than it computes
	r := newRigOpts(t, 60, func(a *config.App) { a.Timeout = 20 * time.Second; a.Concurrency = 1 },
		HandlerOpts{TimeoutOffset: time.Second})
	base := testutil.Measure(2, func() { r.scrape(t, "/metrics", nil) })
	r.simApp.SetFaults(simulator.Faults{Latency: 6 * time.Second})
	start := time.Now()
	f := r.scrape(t, "/metrics", map[string]string{"X-Prometheus-Scrape-Timeout-Seconds": "3"})
	took := time.Since(start)
	// Due before Prometheus' 3 s; a busy machine may need the slack
	// beyond the 2 s deadline that a healthy scrape's time says it needs.
	if limit := max(3*time.Second, 2*time.Second+testutil.Slack(base)); took >= limit {
		t.Fatalf("scrape took %v, want under %v (healthy scrape: %v)", took, limit, base)
	}
	if took < 1900*time.Millisecond {
		t.Fatalf("scrape gave up after %v, before its 2s budget", took)
	}
	if v, _ := f.value("tencentchat_up", nil); v != 0 {
		t.Error("tencentchat_up not 0")
	}
	if n := f.count("tencentchat_official_account_subscribers"); n != 0 {
		t.Errorf("%d subscriber series invented", n)
	}
	if v, _ := f.value("tencentchat_api_request_failures_total", map[string]string{"reason": "timeout"}); v != 1 {
		t.Errorf("timeout failures %v, want 1 (the second batch never started)", v)
	}
	if n := f.count("tencentchat_official_account_up"); n != 60 {
		t.Errorf("%d up series", n)
	}
}

func TestProbe(t *testing.T) {
	r := newRig(t, 20, nil)
	second := appConfig("second", testApp+1, r.simURL, 3)
	r.sim.AddApp(simulator.AppConfig{SDKAppID: testApp + 1, Identifier: testAdmin, SecretKey: testKey, Accounts: 3})
	r.cfg.Apps = append(r.cfg.Apps, second)
	if err := r.exp.Reload(func() (*config.Config, error) { return r.cfg, nil }); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"second", strconv.Itoa(testApp + 1)} {
		f := r.scrape(t, "/probe?target="+target, nil)
		if n := f.count("tencentchat_official_account_up"); n != 3 {
			t.Errorf("target %s: %d accounts, want 3", target, n)
		}
		if _, ok := f.value("tencentchat_up", map[string]string{"app_name": "main"}); ok {
			t.Errorf("target %s served the other app", target)
		}
		if f.count("tencentchat_exporter_config_last_reload_successful") != 0 {
			t.Error("probe served exporter metrics")
		}
	}
	all := r.scrape(t, "/metrics", nil)
	if n := all.count("tencentchat_up"); n != 2 {
		t.Errorf("/metrics has %d apps", n)
	}
	for _, c := range []struct{ query, want string }{
		{"", "target parameter is missing"},
		{"?target=", "target parameter is missing"},
		{"?target=nope", "unknown target"},
		{"?target=" + strings.Repeat("x", 300), "too long"},
		{"?target=%00%ff%fe", "unknown target"},
	} {
		status, body := r.get(t, "/probe"+c.query, nil)
		if status != http.StatusBadRequest || !strings.Contains(body, c.want) {
			t.Errorf("/probe%s: %d %q", c.query, status, body)
		}
	}
}

func TestReload(t *testing.T) {
	r := newRig(t, 10, nil)
	r.scrape(t, "/metrics", nil)
	r.scrape(t, "/metrics", nil)
	reg := prometheus.NewRegistry()
	reg.MustRegister(r.exp.ReloadMetrics()...)
	reloadOK := func() float64 {
		mfs, _ := reg.Gather()
		for _, mf := range mfs {
			if mf.GetName() == "tencentchat_exporter_config_last_reload_successful" {
				return mf.GetMetric()[0].GetGauge().GetValue()
			}
		}
		return -1
	}
	if reloadOK() != 1 {
		t.Fatal("reload gauge not 1 after a good start")
	}

	// A failing load keeps the old configuration and its counters.
	err := r.exp.Reload(func() (*config.Config, error) { return nil, errors.New("bad.yml: line 3: unknown key") })
	if err == nil || reloadOK() != 0 {
		t.Fatalf("failed reload: err=%v gauge=%v", err, reloadOK())
	}
	if !strings.Contains(r.logs.String(), "previous one keeps serving") {
		t.Error("failed reload not logged")
	}
	f := r.scrape(t, "/metrics", nil)
	if v, _ := f.value("tencentchat_api_requests_total", nil); v != 3 {
		t.Fatalf("requests %v after a failed reload, want 3", v)
	}

	// A good reload that keeps the app keeps its counters, even with new
	// accounts and settings.
	changed := *r.cfg
	changed.Apps = []config.App{r.cfg.Apps[0]}
	changed.Apps[0].Accounts = changed.Apps[0].Accounts[:5]
	changed.Apps[0].BatchSize = 2
	if err := r.exp.Reload(func() (*config.Config, error) { return &changed, nil }); err != nil || reloadOK() != 1 {
		t.Fatal(err)
	}
	f = r.scrape(t, "/metrics", nil)
	if v, _ := f.value("tencentchat_api_requests_total", nil); v != 6 {
		t.Fatalf("requests %v after reload, want 3+3", v)
	}
	if n := f.count("tencentchat_official_account_up"); n != 5 {
		t.Fatalf("%d accounts after reload", n)
	}

	// Renaming the app starts it afresh.
	renamed := changed
	renamed.Apps = []config.App{changed.Apps[0]}
	renamed.Apps[0].Name = "renamed"
	if err := r.exp.Reload(func() (*config.Config, error) { return &renamed, nil }); err != nil {
		t.Fatal(err)
	}
	f = r.scrape(t, "/metrics", nil)
	if v, _ := f.value("tencentchat_api_requests_total", map[string]string{"app_name": "renamed"}); v != 3 {
		t.Fatalf("renamed app requests %v, want 3", v)
	}
	if _, ok := f.value("tencentchat_up", map[string]string{"app_name": "main"}); ok {
		t.Fatal("removed app still served")
	}
}

func TestApplyConfigIsAllOrNothing(t *testing.T) {
	r := newRig(t, 5, nil)
	bad := *r.cfg
	bad.Apps = append([]config.App{}, r.cfg.Apps...)
	broken := appConfig("broken", 2, "", 1)
	broken.Identifier = "" // config.Load refuses it; ApplyConfig must too
	bad.Apps = append(bad.Apps, broken)
	err := r.exp.ApplyConfig(&bad)
	if err == nil || !strings.Contains(err.Error(), `app "broken"`) || !strings.Contains(err.Error(), "identifier") {
		t.Fatalf("err = %v", err)
	}
	f := r.scrape(t, "/metrics", nil)
	if n := f.count("tencentchat_up"); n != 1 {
		t.Fatalf("%d apps served after a refused config", n)
	}
}

func TestWrongKeyIsReportedNotLeaked(t *testing.T) {
	r := newRig(t, 5, func(a *config.App) { a.SecretKey = "a-wrong-key-" + testKey })
	f := r.scrape(t, "/metrics", nil)
	if v, _ := f.value("tencentchat_api_errors_total", map[string]string{"code": "70009"}); v != 1 {
		t.Errorf("70009 count %v", v)
	}
	if !strings.Contains(r.logs.String(), "70009") {
		t.Errorf("70009 not logged: %s", r.logs)
	}
}

func TestOtherAppsUnaffected(t *testing.T) {
	r := newRig(t, 10, nil)
	r.sim.AddApp(simulator.AppConfig{SDKAppID: testApp + 1, Identifier: testAdmin, SecretKey: testKey, Accounts: 10}).
		SetFaults(simulator.Faults{ServiceDisabled: true})
	r.cfg.Apps = append(r.cfg.Apps, appConfig("broken", testApp+1, r.simURL, 10))
	if err := r.exp.ApplyConfig(r.cfg); err != nil {
		t.Fatal(err)
	}
	f := r.scrape(t, "/metrics", nil)
	if v, _ := f.value("tencentchat_up", map[string]string{"app_name": "main"}); v != 1 {
		t.Error("healthy app marked down")
	}
	if v, _ := f.value("tencentchat_up", map[string]string{"app_name": "broken"}); v != 0 {
		t.Error("broken app marked up")
	}
	if v, _ := f.value("tencentchat_api_errors_total", map[string]string{"app_name": "broken", "code": "131000"}); v != 1 {
		t.Error("131000 not counted for the broken app")
	}
	if v, _ := f.value("tencentchat_api_errors_total", map[string]string{"app_name": "main", "code": "131000"}); v != 0 {
		t.Error("131000 counted for the healthy app")
	}
}

// TestOverlappingScrapesFetchEachTheirOwn: without refresh_interval, six
// scrapes of /metrics and /probe at once each make their own round of API
// calls, and each gets every account.
func TestOverlappingScrapesFetchEachTheirOwn(t *testing.T) {
	r := newRig(t, 120, nil) // 3 batches
	r.simApp.SetFaults(simulator.Faults{Latency: 300 * time.Millisecond})
	scrapes := make([]<-chan scraped, 6)
	for i := range scrapes {
		path := "/metrics"
		if i%2 == 1 {
			path = "/probe?target=main"
		}
		scrapes[i] = r.goScrape(path, nil)
	}
	for i, s := range scrapes {
		f := await(t, s)
		if v, _ := f.value("tencentchat_up", nil); v != 1 {
			t.Errorf("scrape %d: tencentchat_up %v, want 1", i, v)
		}
		if n, live := f.count("tencentchat_official_account_subscribers"), liveAccounts(r); n != live {
			t.Errorf("scrape %d got %d subscriber series, want %d", i, n, live)
		}
	}
	if c := r.simApp.Stats().Calls; c != 6*3 {
		t.Fatalf("%d API calls for 6 overlapping scrapes, want 18 (three each)", c)
	}
}

// TestOverlappingScrapesKeepTheirOwnDeadlines: a scrape with a 1 s timeout
// and one with 30 s, overlapping, each fetch for themselves. The short one
// leaves at its deadline with what had arrived (its first call cut, the
// app down, no value invented); the long one gets every account, as it
// would alone: neither cuts the other short, nor makes it wait.
func TestOverlappingScrapesKeepTheirOwnDeadlines(t *testing.T) {
	t.Parallel() // waits on timers and servers more than it computes
	r := newRig(t, 120, func(a *config.App) { a.Concurrency = 1; a.Timeout = 10 * time.Second })
	base := testutil.Measure(2, func() { r.scrape(t, "/metrics", nil) })
	callsBefore := r.simApp.Stats().Calls
	r.simApp.SetFaults(simulator.Faults{Latency: 700 * time.Millisecond})
	long := r.goScrape("/probe?target=main", map[string]string{"X-Prometheus-Scrape-Timeout-Seconds": "30"})
	testutil.WaitFor(t, 5*time.Second, "for the long scrape's first call", func() bool { return r.simApp.Stats().Calls > callsBefore })
	start := time.Now()
	short := r.scrape(t, "/metrics", map[string]string{"X-Prometheus-Scrape-Timeout-Seconds": "1"})
	// Its deadline is 0.5 s (half of a timeout the offset would eat).
	if d, limit := time.Since(start), max(time.Second, 500*time.Millisecond+testutil.Slack(base)); d > limit {
		t.Errorf("short scrape took %v with a 1s timeout, want under %v (healthy scrape: %v)", d, limit, base)
	}
	if v, _ := short.value("tencentchat_up", nil); v != 0 {
		t.Errorf("short scrape: tencentchat_up %v, want 0", v)
	}
	if n := short.count("tencentchat_official_account_subscribers"); n != 0 {
		t.Errorf("short scrape invented %d series", n)
	}
	l := await(t, long)
	if v, _ := l.value("tencentchat_up", nil); v != 1 {
		t.Errorf("long scrape: tencentchat_up %v, want 1", v)
	}
	if n, live := l.count("tencentchat_official_account_subscribers"), liveAccounts(r); n != live {
		t.Errorf("long scrape: %d of %d live accounts", n, live)
	}
	// The long fetch's three, and the short one's first, cut at its
	// deadline.
	if c := r.simApp.Stats().Calls - callsBefore; c != 3+1 {
		t.Errorf("%d calls, want 3 + 1", c)
	}
}

// TestRateLimit: with rate_limit R the simulator never sees more than R
// calls in a second, and N accounts take about N/50/R seconds: never less,
// and no more than the same scrape without a limit takes on top.
func TestRateLimit(t *testing.T) {
	t.Parallel() // waits on timers and servers more than it computes

	const rateLimit, accounts = 10, 1000 // 20 calls: about 2 s
	unlimited := newRig(t, accounts, func(a *config.App) { a.RateLimit = 0; a.Concurrency = 8 })
	base := testutil.Measure(2, func() { unlimited.scrape(t, "/metrics", nil) })
	unlimited.close()
	r := newRig(t, accounts, func(a *config.App) { a.RateLimit = rateLimit; a.Concurrency = 8 })
	start := time.Now()
	f := r.scrape(t, "/metrics", map[string]string{"X-Prometheus-Scrape-Timeout-Seconds": "30"})
	took := time.Since(start)
	s := r.simApp.Stats()
	// The limiter spaces the calls 1/R apart as they leave; the simulator
	// counts them per calendar second as they arrive, so a call sent just
	// before a second's start and delayed past it (a loaded machine) can
	// make one second see R+1. The average is held below by the duration.
	if s.Calls != accounts/50 || s.MaxInSecond > rateLimit+1 {
		t.Fatalf("stats %+v: more than %d calls in one second", s, rateLimit)
	}
	// The first call goes at once, the other 19 at 1/R intervals.
	if least := time.Duration(accounts/50-1) * time.Second / rateLimit; took < least || took > least+testutil.Slack(base) {
		t.Fatalf("scrape took %v, want %v plus at most %v (unlimited scrape: %v)", took, least, testutil.Slack(base), base)
	}
	if v, _ := f.value("tencentchat_up", nil); v != 1 {
		t.Fatal("scrape incomplete")
	}
}

// TestHangUpLeavesTheOtherScrapeWhole: of two overlapping scrapes, the
// first hangs up; its calls are cut, and the second, which made its own,
// still gets the whole result. The cut call is not the API's failure.
func TestHangUpLeavesTheOtherScrapeWhole(t *testing.T) {
	r := newRig(t, 10, nil)
	r.simApp.SetFaults(simulator.Faults{Latency: 500 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.srv.URL+"/metrics", nil)
	hungUp := make(chan struct{})
	go func() {
		defer close(hungUp)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	testutil.WaitFor(t, 5*time.Second, "for the first scrape's call", func() bool { return r.simApp.Stats().Calls == 1 })
	other := r.goScrape("/probe?target=main", nil)
	testutil.WaitFor(t, 5*time.Second, "for the second scrape's call", func() bool { return r.simApp.Stats().Calls == 2 })
	cancel()
	<-hungUp
	f := await(t, other)
	if v, _ := f.value("tencentchat_up", nil); v != 1 {
		t.Fatal("the other scrape lost its data when the first hung up")
	}
	if n, live := f.count("tencentchat_official_account_subscribers"), liveAccounts(r); n != live {
		t.Errorf("the other scrape: %d of %d live accounts", n, live)
	}
	if v, _ := f.value("tencentchat_api_request_failures_total", map[string]string{"reason": "timeout"}); v != 0 {
		t.Errorf("the hang-up counted as %v timeouts", v)
	}
}

// liveAccounts counts the simulated app's accounts that are not terminated.
func liveAccounts(r *rig) int {
	n := 0
	for _, a := range r.simApp.Accounts() {
		if !a.Terminated {
			n++
		}
	}
	return n
}

// TestReloadStormCoalesced: 100 reloads asked for at once run a few loads,
// each request getting the outcome of the one it waited on.
func TestReloadStormCoalesced(t *testing.T) {
	r := newRig(t, 5, nil)
	var loads atomic.Int32
	load := func() (*config.Config, error) {
		loads.Add(1)
		time.Sleep(100 * time.Millisecond)
		return r.cfg, nil
	}
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			if err := r.exp.Reload(load); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := loads.Load(); n < 1 || n > 10 {
		t.Fatalf("%d loads for 100 reloads asked at once", n)
	}
}
