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
	// 4 batches at rate_limit 2/s need 2 s; the interval is 1 s.
	r := newRig(t, 200, func(a *config.App) { a.RefreshInterval, a.RateLimit = time.Second, 2 })
	testutil.WaitFor(t, 30*time.Second, "for the first refresh", r.exp.Ready)
	_, body := r.get(t, "/probe?target=main&debug=true", nil)
	for _, want := range []string{"refresh pace: 2 calls/s", "WARNING: 4 batches at 2/s need 2s, more than refresh_interval 1s",
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
