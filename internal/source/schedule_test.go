package source

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/config"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/tencentchat"
	"github.com/tencentchat-exporter/tencentchat_exporter/simulator"
)

// TestIntervals: each job runs when its app starts and then every
// interval from the start of its last run, on one clock, whatever the
// other jobs do: the calls each API sees over 100 s are the runs that fit
// times the calls a run makes.
func TestIntervals(t *testing.T) {
	cases := []struct {
		name  string
		mod   func(*config.App)
		path  string
		calls int // in 100 s, less a moment
	}{
		{"accounts every 10 s, 3 batches", func(a *config.App) { a.RefreshInterval = 10 * time.Second }, tencentchat.APIPath, 10 * 3},
		{"statistics every 30 s", func(a *config.App) { a.AppStatistics, a.AppStatisticsInterval = true, 30*time.Second }, tencentchat.AppInfoPath, 4},
		{"push every 20 s", func(a *config.App) { a.PushStatistics, a.AppStatisticsInterval = true, 20*time.Second }, tencentchat.PushStatisticsPath, 5},
		{"publishing every 60 s, 120 accounts", func(a *config.App) { a.PublishingActivity, a.PublishingActivityInterval = true, time.Minute },
			tencentchat.MsgGetSimplePath, 2 * 120},
		{"every family at once: accounts", everyFamily, tencentchat.APIPath, 10 * 3},
		{"every family at once: statistics", everyFamily, tencentchat.AppInfoPath, 4},
		{"every family at once: push", everyFamily, tencentchat.PushStatisticsPath, 4},
		{"every family at once: publishing", everyFamily, tencentchat.MsgGetSimplePath, 2 * 120},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := newWorld(t, 120)
				defer w.close()
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				a := w.newApp(t, appConfig(120, c.mod), nil)
				Start(ctx, []*App{a}, nil)
				time.Sleep(100*time.Second - time.Millisecond)
				synctest.Wait()
				if got := len(w.calls(c.path)); got != c.calls {
					t.Errorf("%d calls to %s in 100 s, want %d", got, c.path, c.calls)
				}
				cancel()
				synctest.Wait()
			})
		})
	}
}

// everyFamily switches every family on: accounts every 10 s, the daily
// jobs every 30 s, publishing every minute.
func everyFamily(a *config.App) {
	a.RefreshInterval = 10 * time.Second
	a.AppStatistics, a.PushStatistics, a.AppStatisticsInterval = true, true, 30*time.Second
	a.PublishingActivity, a.PublishingActivityInterval = true, time.Minute
}

// inBubble runs f in a bubble with a world of accounts accounts and a
// context that ends with it; every goroutine must have ended by then.
func inBubble(t *testing.T, accounts int, f func(t *testing.T, w *world, ctx context.Context)) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, accounts)
		ctx, cancel := context.WithCancel(context.Background())
		defer func() { // also after t.Fatal, so the bubble's goroutines end
			cancel()
			w.close()
			synctest.Wait()
		}()
		f(t, w, ctx)
	})
}

// since are the times as offsets from start.
func since(start time.Time, times []time.Time) []time.Duration {
	out := make([]time.Duration, len(times))
	for i, at := range times {
		out[i] = at.Sub(start)
	}
	return out
}

// TestPacing: a run's calls, retries included, are spaced by its pace,
// to the nanosecond of the bubble's clock: a refresh over half its
// interval, never above rate_limit; a publishing round at the same; the
// push funnel a second after the end of the call before, across runs and
// reloads.
func TestPacing(t *testing.T) {
	cases := []struct {
		name     string
		accounts int
		mod      func(*config.App)
		faults   simulator.Faults
		path     string
		reloads  bool
		least    time.Duration // between two arrivals
		calls    int           // at least, in the first 20 s
	}{
		{"refresh over half the interval", 500, func(a *config.App) { a.RefreshInterval, a.Concurrency = 2*time.Second, 4 },
			simulator.Faults{}, tencentchat.APIPath, false, 100 * time.Millisecond, 10},
		{"refresh below rate_limit", 500, func(a *config.App) { a.RefreshInterval, a.RateLimit, a.Concurrency = 8*time.Second, 1.5, 4 },
			simulator.Faults{}, tencentchat.APIPath, false, 666 * time.Millisecond, 10},
		{"retries paced too", 2000, func(a *config.App) { a.RefreshInterval, a.Retries = 10*time.Second, 2 },
			simulator.Faults{Rates: map[simulator.FaultKind]float64{simulator.FaultHTTP502: 1}}, tencentchat.APIPath, false, 125 * time.Millisecond, 3 * 40},
		{"publishing", 20, func(a *config.App) { a.PublishingActivity, a.PublishingActivityInterval = true, time.Minute },
			simulator.Faults{}, tencentchat.MsgGetSimplePath, false, time.Second, 20},
		{"push a second after the last call ended, through reloads", 5,
			func(a *config.App) { a.PushStatistics, a.AppStatisticsInterval = true, 10*time.Millisecond },
			simulator.Faults{Latency: 300 * time.Millisecond}, tencentchat.PushStatisticsPath, true, 1300 * time.Millisecond, 12},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inBubble(t, c.accounts, func(t *testing.T, w *world, ctx context.Context) {
				w.simApp.SetFaults(c.faults)
				ac := appConfig(c.accounts, c.mod)
				a := w.newApp(t, ac, nil)
				Start(ctx, []*App{a}, nil)
				for i := range 20 {
					time.Sleep(time.Second)
					if c.reloads && i%3 == 0 {
						ac.RateLimit = float64(50 + i) // a changed configuration: the app is replaced
						a = w.reload(t, ctx, a, ac)
					}
				}
				calls := w.calls(c.path)
				if len(calls) < c.calls {
					t.Fatalf("%d calls in 20 s, want at least %d", len(calls), c.calls)
				}
				for i := 1; i < len(calls); i++ {
					if gap := calls[i].Sub(calls[i-1]); gap < c.least-time.Millisecond {
						t.Fatalf("calls %d and %d arrived %v apart, want at least %v (arrivals %v)", i-1, i, gap, c.least, since(calls[0], calls))
					}
				}
			})
		})
	}
}

// TestBackoff: a statistics run that fails keeps the last good values
// and is retried after 15 s, doubling up to the interval; the first that
// succeeds goes back to the interval.
func TestBackoff(t *testing.T) {
	inBubble(t, 5, func(t *testing.T, w *world, ctx context.Context) {
		start := time.Now()
		a := w.newApp(t, appConfig(5, func(a *config.App) {
			a.AppStatistics, a.AppStatisticsInterval, a.Retries = true, 5*time.Minute, 0
		}), nil)
		Start(ctx, []*App{a}, nil)
		synctest.Wait()
		good := a.Stats()
		if good == nil || len(good.Day.Values) != len(testFields) {
			t.Fatalf("statistics after the first run: %+v", good)
		}
		time.Sleep(time.Second)
		w.simApp.SetFaults(simulator.Faults{Rates: map[simulator.FaultKind]float64{simulator.FaultHTTP502: 1}})
		time.Sleep(1000 * time.Second)
		if s := a.Stats(); s != good {
			t.Errorf("the failed runs replaced the last good values: %+v", s)
		}
		if last, _ := a.Story(StatisticsJobName); last.Err == nil {
			t.Error("the story does not tell the failure")
		}
		w.simApp.SetFaults(simulator.Faults{})
		time.Sleep(400 * time.Second)
		want := []time.Duration{0, 300, 315, 345, 405, 525, 765, 1065, 1365}
		got := since(start, w.calls(tencentchat.AppInfoPath))
		if len(got) != len(want) {
			t.Fatalf("getappinfo calls at %v, want at %v s", got, want)
		}
		for i := range want {
			if got[i] != want[i]*time.Second {
				t.Errorf("call %d at %v, want %v s (all: %v)", i, got[i], want[i], got)
			}
		}
		if s := a.Stats(); s == good || !s.RefreshedAt.Equal(start.Add(1365*time.Second)) {
			t.Errorf("after the retry worked: %+v", s)
		}
	})
}

// TestPushRefused: an app without the Push service gets a request-level
// code at every run: no funnel, the code told to the tally, the refusal
// logged once, and the statistics unaffected.
func TestPushRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, 5)
		defer w.close()
		w.simApp = w.sim.AddApp(simulator.AppConfig{SDKAppID: simApp, Identifier: simAdmin, SecretKey: simKey, Accounts: 5, NoPush: true})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		a := w.newApp(t, appConfig(5, func(a *config.App) {
			a.AppStatistics, a.PushStatistics, a.AppStatisticsInterval = true, true, 10*time.Second
		}), nil)
		Start(ctx, []*App{a}, nil)
		time.Sleep(35 * time.Second)
		p := a.PushStats()
		if p == nil || p.Day != nil || p.Err == nil {
			t.Fatalf("push state %+v, want no day and the error", p)
		}
		refused := 0
		for _, at := range w.tally.attempts[tencentchat.APIPushStatistics] {
			if at.Code == 60017 {
				refused++
			}
		}
		if refused != 4 {
			t.Errorf("%d refusals told, want the 4 runs'", refused)
		}
		if n := strings.Count(w.logs.String(), "push statistics refused by the API"); n != 1 {
			t.Errorf("the refusal logged %d times, want once", n)
		}
		if a.Stats() == nil {
			t.Error("the statistics suffered from the push refusal")
		}
		cancel()
		synctest.Wait()
	})
}
