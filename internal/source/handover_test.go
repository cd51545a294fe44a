package source

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/config"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/tencentchat"
	"github.com/tencentchat-exporter/tencentchat_exporter/simulator"
)

// TestHandoverMidRound: a reload that replaces an app (same SDKAppID)
// while a job's run is in flight lets the run finish into the state the
// successor takes, and the successor runs the job only when it is due
// again: no account is called twice within an interval, nothing the
// predecessor fetched is lost.
func TestHandoverMidRound(t *testing.T) {
	t.Run("publishing", func(t *testing.T) {
		inBubble(t, 20, func(t *testing.T, w *world, ctx context.Context) {
			ac := appConfig(20, func(a *config.App) { a.PublishingActivity, a.PublishingActivityInterval = true, time.Minute })
			a := w.newApp(t, ac, nil)
			Start(ctx, []*App{a}, nil)
			time.Sleep(5 * time.Second) // a round of 20 calls at 1/s is under way
			ac.RateLimit = 50
			b := w.reload(t, ctx, a, ac)
			time.Sleep(54 * time.Second)
			if n := len(w.calls(tencentchat.MsgGetSimplePath)); n != 20 {
				t.Errorf("%d calls by 59 s, want the first round's 20 and none of the successor's yet", n)
			}
			found := 0
			b.Published().Read(func(get func(string) (tencentchat.Published, bool)) {
				for _, id := range ac.Accounts {
					if _, ok := get(id); ok {
						found++
					}
				}
			})
			if round, _ := b.Published().Round(); found == 0 || round.Accounts != 20 {
				t.Errorf("the successor serves %d accounts' values of a round that called %d, want the whole round", found, round.Accounts)
			}
			time.Sleep(2 * time.Second)
			if n := len(w.calls(tencentchat.MsgGetSimplePath)); n <= 20 {
				t.Errorf("%d calls by 61 s: the successor's round did not start when due", n)
			}
		})
	})
	t.Run("accounts refresh, an account added", func(t *testing.T) {
		inBubble(t, 201, func(t *testing.T, w *world, ctx context.Context) {
			ac := appConfig(200, func(a *config.App) { a.RefreshInterval, a.Concurrency = 10*time.Second, 1 })
			a := w.newApp(t, ac, nil)
			Start(ctx, []*App{a}, nil)
			time.Sleep(5 * time.Second)
			before := len(w.calls(tencentchat.APIPath)) // the first refresh's
			w.simApp.SetFaults(simulator.Faults{Latency: 300 * time.Millisecond})
			time.Sleep(5*time.Second + 100*time.Millisecond) // the second refresh's first call is in flight
			added := simulator.AccountID(200)
			ac.Accounts = append(ac.Accounts[:200:200], added)
			b := w.reload(t, ctx, a, ac)
			// At once: the last refresh's values for the 200 that stay.
			res, _ := b.Result(ctx)
			if !b.Ready() || !res.OK || res.Added == nil || !res.Added[200] || AccountUp(&res.Accounts[200]) {
				t.Fatalf("right after the reload: ready %v, up %v, added %v", b.Ready(), res.OK, res.Added)
			}
			for i := range 200 {
				if id := ac.Accounts[i]; !AccountUp(&res.Accounts[i]) && !w.terminated(id) {
					t.Fatalf("right after the reload, %s has no value", id)
				}
			}
			// The refresh in flight finishes (4 calls, none thrown away),
			// then the successor's own (5 calls) fetches the added account
			// at once, not an interval later.
			time.Sleep(9 * time.Second)
			if n := len(w.calls(tencentchat.APIPath)) - before; n != 4+5 {
				t.Errorf("%d calls since the second refresh began, want its 4 and the successor's 5", n)
			}
			if res, _ := b.Result(ctx); res.Added != nil || !AccountUp(&res.Accounts[200]) {
				t.Errorf("the added account has no value after the successor's refresh")
			}
		})
	})
	t.Run("statistics kept", func(t *testing.T) {
		inBubble(t, 5, func(t *testing.T, w *world, ctx context.Context) {
			ac := appConfig(5, func(a *config.App) { a.AppStatistics, a.AppStatisticsInterval = true, time.Hour })
			a := w.newApp(t, ac, nil)
			Start(ctx, []*App{a}, nil)
			time.Sleep(time.Minute)
			for i := range 10 {
				ac.RateLimit = float64(10 + i)
				a = w.reload(t, ctx, a, ac)
				time.Sleep(time.Minute)
			}
			if n := len(w.calls(tencentchat.AppInfoPath)); n != 1 || a.Stats() == nil {
				t.Errorf("%d getappinfo calls in 11 minutes of reloads, want 1 (statistics %v)", n, a.Stats())
			}
		})
	})
	t.Run("SDKAppID changed: cut", func(t *testing.T) {
		inBubble(t, 20, func(t *testing.T, w *world, ctx context.Context) {
			w.sim.AddApp(simulator.AppConfig{SDKAppID: simApp + 1, Identifier: simAdmin, SecretKey: simKey, Accounts: 20})
			ac := appConfig(20, func(a *config.App) { a.PublishingActivity, a.PublishingActivityInterval = true, time.Minute })
			a := w.newApp(t, ac, nil)
			Start(ctx, []*App{a}, nil)
			time.Sleep(5*time.Second + time.Millisecond)
			ac.SDKAppID = simApp + 1
			b := w.reload(t, ctx, a, ac)
			time.Sleep(50 * time.Second)
			// The old app's round stopped at its sixth call; the new app,
			// another app to Tencent, started its own at once.
			if n := len(w.calls(tencentchat.MsgGetSimplePath)); n != 6+20 {
				t.Errorf("%d calls, want the cut round's 6 and the new app's 20", n)
			}
			if round, _ := b.Published().Round(); round.Accounts != 20 {
				t.Errorf("the new app's round called %d accounts", round.Accounts)
			}
		})
	})
}

// terminated tells a simulated account that is gone (130004).
func (w *world) terminated(id string) bool {
	acct, _ := w.simApp.Account(id)
	return acct.Terminated
}

// TestShutdownMidRound: the exporter closing during every job's run cuts
// them all: no call after, every goroutine ends (the bubble would not end
// otherwise), and what the cut runs got is not kept.
func TestShutdownMidRound(t *testing.T) {
	inBubble(t, 120, func(t *testing.T, w *world, ctx context.Context) {
		w.simApp.SetFaults(simulator.Faults{Latency: 2 * time.Second})
		ctx, cancel := context.WithCancel(ctx)
		a := w.newApp(t, appConfig(120, everyFamily), nil)
		Start(ctx, []*App{a}, nil)
		time.Sleep(time.Second) // every job's first call is in flight
		cancel()
		synctest.Wait()
		n := len(w.calls(tencentchat.APIPath)) + len(w.calls(tencentchat.MsgGetSimplePath))
		time.Sleep(time.Minute)
		if m := len(w.calls(tencentchat.APIPath)) + len(w.calls(tencentchat.MsgGetSimplePath)); m != n {
			t.Errorf("%d calls after the shutdown", m-n)
		}
		for _, j := range jobs {
			if s := a.State(j.Name); s != nil && j != PublishingJob {
				t.Errorf("%s: a cut run's state was kept: %v", j.Name, s)
			}
		}
	})
}

// TestAPIBudget: with every family on and a reload every 7 s for a quarter
// of an hour, each job calls each account (a batch, for the accounts refresh) at
// most once a run, its runs an interval apart: their number never exceeds
// the runs that fit, and two calls to one account are never closer than
// the interval less the pace slots by which concurrent calls may swap
// places within a run.
func TestAPIBudget(t *testing.T) {
	inBubble(t, 60, func(t *testing.T, w *world, ctx context.Context) {
		ac := appConfig(60, everyFamily)
		a := w.newApp(t, ac, nil)
		Start(ctx, []*App{a}, nil)
		const span = 15 * time.Minute
		for i := range int(span / (7 * time.Second)) {
			time.Sleep(7 * time.Second)
			ac.RateLimit = float64(100 + i%2)
			a = w.reload(t, ctx, a, ac)
		}
		refreshPace, _ := ac.RefreshPace()
		for _, c := range []struct {
			path     string
			interval time.Duration
			keys     int     // accounts, batches or the app
			pace     float64 // calls a second; 1 where unpaced
		}{
			{tencentchat.APIPath, ac.RefreshInterval, ac.Batches(), refreshPace},
			{tencentchat.AppInfoPath, ac.AppStatisticsInterval, 1, 1},
			{tencentchat.PushStatisticsPath, ac.AppStatisticsInterval, 1, 1},
			{tencentchat.MsgGetSimplePath, ac.PublishingActivityInterval, len(ac.Accounts), ac.PublishingPace()},
		} {
			least := c.interval - time.Duration(float64(ac.Concurrency)/c.pace*float64(time.Second))
			keyed := w.keyed(c.path)
			if len(keyed) != c.keys {
				t.Errorf("%s: %d accounts called, want %d", c.path, len(keyed), c.keys)
			}
			runs := int(span/c.interval) + 1
			for key, calls := range keyed {
				if len(calls) > runs || len(calls) < runs-2 {
					t.Errorf("%s: %d calls in %v, want one a run (%d runs fit)", key, len(calls), span, runs)
				}
				for i := 1; i < len(calls); i++ {
					if gap := calls[i].Sub(calls[i-1]); gap < least {
						t.Errorf("%s: calls %v apart at %v, want at least %v", key, gap, calls[i], least)
						break
					}
				}
			}
		}
	})
}

// TestOneSchedulerPerApp: an app with every family on runs one goroutine
// between runs, its scheduler, and during runs one per run beside the
// bounded workers of each.
func TestOneSchedulerPerApp(t *testing.T) {
	inBubble(t, 120, func(t *testing.T, w *world, ctx context.Context) {
		synctest.Wait()
		base := bubbled()
		var apps []*App
		for range 2 {
			apps = append(apps, w.newApp(t, appConfig(120, everyFamily), nil))
		}
		Start(ctx, apps, nil)
		time.Sleep(time.Second)
		synctest.Wait()
		// Four runs, each with its workers (concurrency 4) in flight, and
		// the net/http connection goroutines of their calls.
		if n, most := bubbled()-base, 2*(1+4*(1+4+4)); n > most || n <= 2 {
			t.Errorf("%d goroutines for 2 apps in their runs, want more than their schedulers and at most %d", n, most)
		}
		time.Sleep(35 * time.Second) // every run has ended; the next accounts refresh is at 40 s
		synctest.Wait()
		if n := bubbled() - base; n != len(apps) {
			t.Errorf("%d goroutines for %d apps between runs, want one each", n, len(apps))
		}
	})
}

// bubbled counts the goroutines of synctest bubbles, as the tracebacks of
// every goroutine name them. runtime.NumGoroutine would also count what
// runs outside the bubble, such as the finalizer goroutine while it runs a
// finalizer, and so miscount now and then.
func bubbled() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for line := range strings.Lines(string(buf)) {
		if strings.HasPrefix(line, "goroutine ") && strings.Contains(line, ", synctest bubble ") {
			count++
		}
	}
	return count
}
