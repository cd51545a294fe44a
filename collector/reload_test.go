package collector

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/config"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/testutil"
	"github.com/tencentchat-exporter/tencentchat_exporter/simulator"
)

// withApp is r's configuration with its app changed by mod, as a new
// configuration a reload applies.
func (r *rig) withApp(mod func(*config.App)) *config.Config {
	cfg := *r.cfg
	cfg.Apps = []config.App{r.cfg.Apps[0]}
	cfg.Apps[0].Accounts = append([]string(nil), r.cfg.Apps[0].Accounts...)
	mod(&cfg.Apps[0])
	return &cfg
}

// TestReloadStormLeavesRefreshAlone: reloads of an unchanged configuration
// every 100 ms, from the start, do not disturb the app's background
// refresh: the first refresh ends (the exporter gets ready) with exactly
// its batches called, none thrown away. (Each reload cut the refresh in
// flight and started another: /-/ready stayed 503 for the whole storm.)
func TestReloadStormLeavesRefreshAlone(t *testing.T) {
	t.Parallel() // waits on timers and servers more than it computes
	r := newRig(t, 200, func(a *config.App) { a.RefreshInterval = 10 * time.Second; a.Concurrency = 1 })
	r.simApp.SetFaults(simulator.Faults{Latency: 300 * time.Millisecond}) // 4 calls at 1/s: about 3.3 s
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if err := r.exp.ApplyConfig(r.withApp(func(*config.App) {})); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	testutil.WaitFor(t, 30*time.Second, "for the first refresh, during the reload storm", r.exp.Ready)
	if c := r.simApp.Stats().Calls; c != 4 {
		t.Errorf("%d calls when the first refresh ended, want its 4 batches", c)
	}
	f := r.scrape(t, "/metrics", nil)
	if v, _ := f.value("tencentchat_up", nil); v != 1 {
		t.Errorf("tencentchat_up %v after the first refresh", v)
	}
}

// TestReloadAddingAnAccountKeepsTheRest: a reload that adds one account
// while a refresh is in flight lets that refresh finish and serves it:
// the accounts that stay keep their values, the app stays up and the
// exporter ready, the new account is down and named as not fetched yet;
// the next refresh, which starts at once rather than an interval later,
// fetches it. (The whole app was blank until the next refresh ended.)
func TestReloadAddingAnAccountKeepsTheRest(t *testing.T) {
	t.Parallel() // waits on timers and servers more than it computes
	r := newRig(t, 201, func(a *config.App) {
		a.Accounts = a.Accounts[:200]
		a.RefreshInterval, a.Concurrency = 10*time.Second, 1
	})
	testutil.WaitFor(t, 30*time.Second, "for the first refresh", r.exp.Ready)
	// The next refresh comes 10 s after the first began; make it slow and
	// reload during it.
	r.simApp.SetFaults(simulator.Faults{Latency: 300 * time.Millisecond})
	before := r.simApp.Stats().Calls
	testutil.WaitFor(t, 30*time.Second, "for the second refresh's first call", func() bool { return r.simApp.Stats().Calls > before })
	added := simulator.AccountID(200)
	if err := r.exp.ApplyConfig(r.withApp(func(a *config.App) { a.Accounts = append(a.Accounts, added) })); err != nil {
		t.Fatal(err)
	}
	live := 0
	for _, a := range r.simApp.Accounts()[:200] {
		if !a.Terminated {
			live++
		}
	}
	// At once, and while the refresh in flight goes on: the last refresh's
	// values for the 200 that stay.
	f := r.scrape(t, "/metrics", nil)
	if n := f.count("tencentchat_official_account_subscribers"); n != live {
		t.Errorf("right after the reload: %d subscriber series, want the %d live accounts that stayed", n, live)
	}
	if v, _ := f.value("tencentchat_up", nil); v != 1 || !r.exp.Ready() {
		t.Errorf("right after the reload: tencentchat_up %v, ready %v", v, r.exp.Ready())
	}
	if v, ok := f.value("tencentchat_official_account_up", map[string]string{"account": added}); !ok || v != 0 {
		t.Errorf("the added account: up %v (present %v), want 0", v, ok)
	}
	_, body := r.get(t, "/probe?target=main&debug=true", nil)
	if !strings.Contains(body, added+": not fetched yet: a reload added it after this refresh") {
		t.Errorf("the debug probe does not name the added account as not fetched yet:\n%s", body)
	}
	// The refresh in flight finishes (4 calls, none thrown away), then the
	// new app's own (5 calls) fetches the added account.
	testutil.WaitFor(t, 30*time.Second, "for the added account's values", func() bool {
		f := r.scrape(t, "/metrics", nil)
		_, ok := f.value("tencentchat_official_account_subscribers", map[string]string{"account": added})
		return ok
	})
	if c := r.simApp.Stats().Calls - before; c != 4+5 {
		t.Errorf("%d calls since the second refresh began, want its 4 and the new app's 5", c)
	}
}

// TestRetriesPaced: a background refresh paces every call, retries
// included. Against an API answering 502, with retries 2, the calls never
// exceed the pace (max(40 batches / 5 s, 1) = 8 a second). (Retries went
// out at once: three times the pace.)
func TestRetriesPaced(t *testing.T) {
	t.Parallel() // waits on timers and servers more than it computes
	r := newRig(t, 2000, func(a *config.App) { a.RefreshInterval, a.Retries, a.RateLimit = 10*time.Second, 2, 0 })
	r.simApp.SetFaults(simulator.Faults{Rates: map[simulator.FaultKind]float64{simulator.FaultHTTP502: 1}})
	testutil.WaitFor(t, 30*time.Second, "for the first refresh", r.exp.Ready)
	r.exp.Close()
	s := r.simApp.Stats()
	// The limiter spaces calls 1/8 s apart as they leave; the simulator
	// counts them per calendar second as they arrive, so one second may
	// see one more.
	if s.MaxInSecond > 8+1 || s.Calls < 40 {
		t.Errorf("%d calls, at most %d in one second: want at least the 40 batches' first calls, never more than 9 a second", s.Calls, s.MaxInSecond)
	}
}

// TestStatisticsRefreshedWithoutScrapes: in background mode the app
// statistics are refreshed on their own schedule: with no scrape at all,
// getappinfo is called, and a scrape then serves its values. (They were
// refreshed only when a scrape asked.)
func TestStatisticsRefreshedWithoutScrapes(t *testing.T) {
	t.Parallel() // waits on timers and servers more than it computes
	r := newRig(t, 10, func(a *config.App) { a.RefreshInterval, a.AppStatistics = time.Hour, true })
	testutil.WaitFor(t, 10*time.Second, "for getappinfo without a scrape", func() bool { return r.simApp.Stats().AppInfoCalls == 1 })
	r.waitStats(t)
	f := r.scrape(t, "/metrics", nil)
	if _, ok := f.value("tencentchat_app_daily_active_users", nil); !ok {
		t.Error("no statistics after the background refresh")
	}
	if c := r.simApp.Stats().AppInfoCalls; c != 1 {
		t.Errorf("%d getappinfo calls, want 1", c)
	}
}

// TestRefreshThatCannotFitIsTold: when an app's batches cannot all be
// called within refresh_interval at its pace, the configuration warns at
// load, the debug probe says so with the numbers, and a refresh says how
// many batches it left uncalled. (The tail was down on every refresh, and
// nothing said why.)
func TestRefreshThatCannotFitIsTold(t *testing.T) {
	t.Parallel() // waits on timers and servers more than it computes
	// 30 batches at rate_limit 2/s need 15 s; the interval is 10 s.
	r := newRig(t, 1500, func(a *config.App) { a.RefreshInterval, a.RateLimit = 10*time.Second, 2 })
	testutil.WaitFor(t, 30*time.Second, "for the first refresh", r.exp.Ready)
	_, body := r.get(t, "/probe?target=main&debug=true", nil)
	for _, want := range []string{"refresh pace: 2 calls/s", "WARNING: 30 batches at 2/s need 15s, more than refresh_interval 10s",
		"batches were not called: the deadline came first"} {
		if !strings.Contains(body, want) {
			t.Errorf("the debug probe lacks %q:\n%s", want, body)
		}
	}
	if !strings.Contains(r.logs.String(), "not_called=") {
		t.Errorf("the cut refresh was not logged:\n%s", r.logs.String())
	}
	if status, _ := r.get(t, "/-/ready", nil); status != http.StatusOK {
		t.Errorf("/-/ready %d", status)
	}
}
