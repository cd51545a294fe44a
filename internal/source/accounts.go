package source

import (
	"context"
	"errors"
	"math"
	"sync/atomic"
	"time"

	"github.com/go-kit/log/level"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/config"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/tencentchat"
)

// The accounts (get_official_account_info) are fetched by each scrape, as
// a blackbox probe is, or with refresh_interval by AccountsJob, whose last
// run every scrape serves.

// Origin says where a scrape's result came from, for the debug probe.
type Origin string

// The origins of a result.
const (
	Fetched   Origin = "fetched"   // by this scrape, in its own calls
	Refreshed Origin = "refreshed" // the last background refresh
)

// AccountsJob refreshes an app's accounts every refresh_interval, its
// calls, retries included, paced over half of it (config.App.RefreshPace):
// a steady trickle of the app's 200 calls per second rather than a burst.
// A run must end within its interval. Whatever a run got, failed batches
// and all, is what scrapes serve next: nothing older is presented as
// current.
var AccountsJob = &Job{
	Name:  "accounts refresh",
	APIs:  []string{tencentchat.APIOfficialAccountInfo},
	Every: func(c *config.App) time.Duration { return c.RefreshInterval },
	Pace: func(c *config.App) Pace {
		perSecond, _ := c.RefreshPace()
		return Pace{PerSecond: perSecond}
	},
	Run: func(ctx context.Context, r *Run) (any, error) {
		res := r.App.newResult()
		r.App.fetch(ctx, res, r.Pace, r.Observe)
		return res, nil
	},
	// A reload that added accounts has them fetched at once.
	Covers: func(a *App, state any) bool {
		return a.carry(state.(*Result)).Added == nil
	},
}

// Result returns the app's data for one scrape. With refresh_interval it
// is the last background refresh (NotYet before the first), and the scrape
// makes no call. Otherwise the scrape fetches the app itself, under the
// scrape's context: at its deadline (or a hang-up) the calls in flight are
// cut, and the result keeps what had arrived, as a blackbox probe does.
// Overlapping scrapes each make their own calls; refresh_interval is the
// answer to many scrapers.
func (a *App) Result(ctx context.Context) (*Result, Origin) {
	if a.Cfg.RefreshInterval > 0 {
		if r, _ := a.State(AccountsJob.Name).(*Result); r != nil {
			if c := a.carry(r); c != r {
				// Handed over by a reload that changed the accounts:
				// carried once, not at every scrape.
				a.replaceState(AccountsJob.Name, r, c)
				r = c
			}
			return r, Refreshed
		}
		return NotYet, Refreshed
	}
	res := a.newResult()
	a.fetch(ctx, res, nil, a.st.tally.Attempt)
	a.st.last.Store(res.summary())
	return res, Fetched
}

// fetch queries every batch of the app into res, concurrency at a time;
// with pace, each call (retries included) waits for it. A batch that fails,
// or that the deadline leaves uncalled, keeps its accounts down; the other
// batches' accounts are still served.
func (a *App) fetch(ctx context.Context, res *Result, pace tencentchat.Waiter, observe func(tencentchat.Attempt)) {
	var notCalled atomic.Int64
	each(ctx, len(a.batches), a.Cfg.Concurrency, func(i int) {
		lo := 0
		if i > 0 {
			lo = res.batchEnd[i-1]
		}
		out := res.Accounts[lo:res.batchEnd[i]]
		ok, called := a.fetchBatch(ctx, i, a.batches[i], out, pace, func(at tencentchat.Attempt) {
			observe(at)
			res.mu.Lock()
			res.calls = append(res.calls, Call{i, at})
			res.mu.Unlock()
		})
		if !called {
			notCalled.Add(1)
		}
		res.finish(i, ok)
	}, func(i int) {
		res.finish(i, false) // no time left to start this batch: its accounts stay down
		notCalled.Add(1)
	})
	res.Duration = time.Since(res.At)
	if res.NotCalled = int(notCalled.Load()); res.NotCalled > 0 {
		a.st.cutLogged.Do(func() {
			level.Warn(a.logger).Log("msg", "the deadline came before some batches were called; their accounts are down (logged at most once a minute)",
				"not_called", res.NotCalled, "batches", len(a.batches), "refresh_interval", a.Cfg.RefreshInterval)
		})
	}
}

// fetchBatch fills out for one batch, judging every account's values. ok
// is whether the call was answered with ErrorCode 0; called, whether any
// HTTP call was made before the deadline.
func (a *App) fetchBatch(ctx context.Context, i int, batch *tencentchat.Batch, out []tencentchat.Result, pace tencentchat.Waiter,
	observe func(tencentchat.Attempt)) (ok, called bool) {
	tally := a.st.tally
	other, err := a.client.Fetch(ctx, batch, out, pace, observe)
	if err != nil {
		var te *tencentchat.Error
		if errors.As(err, &te) && te.Attempts == 0 {
			return false, false // no call before the deadline: fetch tells it once
		}
		level.Warn(a.logger).Log("msg", "API call failed", "batch", i, "accounts", batch.Len(), "err", err)
		return false, true
	}
	for _, code := range other {
		tally.Code(tencentchat.APIOfficialAccountInfo, code)
	}
	var missing []string
	for j := range out {
		r := &out[j]
		switch {
		case !r.Answered:
			missing = append(missing, r.ID)
			tally.Missing()
		case r.Err != nil:
			tally.Invalid()
			level.Debug(a.logger).Log("msg", "account's item unusable", "account", r.ID, "err", r.Err)
		case r.Info.ErrorCode.V != 0:
			tally.Code(tencentchat.APIOfficialAccountInfo, int(r.Info.ErrorCode.V))
			level.Debug(a.logger).Log("msg", "account error", "account", r.ID,
				"code", r.Info.ErrorCode.V, "info", r.Info.ErrorInfo)
		default:
			a.plausible(r.ID, "SubscriberNum", &r.Info.SubscriberNum, math.MaxInt64)
			a.plausible(r.ID, "LastMsgTime", &r.Info.LastMsgTime, maxTimestamp)
			a.plausible(r.ID, "CreateTime", &r.Info.CreateTime, maxTimestamp)
		}
	}
	if len(missing) > 0 {
		a.st.missingLogged.Do(func() {
			level.Warn(a.logger).Log("msg", "an answer with ErrorCode 0 left accounts out; they are down (logged at most once a minute, counted in tencentchat_api_accounts_missing_total)",
				"batch", i, "missing", len(missing), "first", missing[0])
		})
	}
	return true, true
}

// maxTimestamp is 3000-01-01 in Unix seconds: a time beyond it is in
// milliseconds or broken.
const maxTimestamp = 32503680000

// plausible unsets v when it lies outside [0, hi] and counts it: a
// negative count or a time in milliseconds is left out, never exported.
func (a *App) plausible(account, field string, v *tencentchat.OptInt, hi int64) {
	if !v.Set || (v.V >= 0 && v.V <= hi) {
		return
	}
	a.st.tally.Invalid()
	level.Debug(a.logger).Log("msg", "implausible value left out", "account", account, "field", field, "value", v.V)
	*v = tencentchat.OptInt{}
}
