package source

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log/level"
	"golang.org/x/time/rate"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/tencentchat"
)

// Origin says where a scrape's result came from, for the debug probe.
type Origin string

// The origins of a result.
const (
	Fetched   Origin = "fetched"   // by this scrape, in its own calls
	Refreshed Origin = "refreshed" // the last background refresh
)

// Result returns the app's data for one scrape. With refresh_interval it
// is the last background refresh (NotYet before the first), and the scrape
// makes no call. Otherwise the scrape fetches the app itself, under the
// scrape's context: at its deadline (or a hang-up) the calls in flight are
// cut, and the result keeps what had arrived, as a blackbox probe does.
// Overlapping scrapes each make their own calls; refresh_interval is the
// answer to many scrapers.
func (a *App) Result(ctx context.Context) (*Result, Origin) {
	if a.Cfg.RefreshInterval > 0 {
		if r := a.latest.Load(); r != nil {
			return r, Refreshed
		}
		return NotYet, Refreshed
	}
	res := a.newResult()
	a.fetch(ctx, res, nil)
	a.last.Store(res.summary())
	return res, Fetched
}

// fetch queries every batch of the app into res, concurrency at a time;
// with pace, each call (retries included) waits for it. A batch that fails,
// or that the deadline leaves uncalled, keeps its accounts down; the other
// batches' accounts are still served.
func (a *App) fetch(ctx context.Context, res *Result, pace *rate.Limiter) {
	var (
		wg        sync.WaitGroup
		sem       = make(chan struct{}, a.Cfg.Concurrency)
		notCalled atomic.Int64
	)
	lo := 0
	for i, batch := range a.batches {
		out := res.Accounts[lo:res.batchEnd[i]]
		lo = res.batchEnd[i]
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			res.finish(i, false) // no time left to start this batch: its accounts stay down
			notCalled.Add(1)
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			observe := func(at tencentchat.Attempt) {
				a.tally.Attempt(at)
				res.mu.Lock()
				res.calls = append(res.calls, Call{i, at})
				res.mu.Unlock()
			}
			ok, called := a.fetchBatch(ctx, i, batch, out, pace, observe)
			if !called {
				notCalled.Add(1)
			}
			res.finish(i, ok)
		})
	}
	wg.Wait()
	res.Duration = time.Since(res.At)
	if res.NotCalled = int(notCalled.Load()); res.NotCalled > 0 {
		a.cutLogged.Do(func() {
			level.Warn(a.logger).Log("msg", "the deadline came before some batches were called; their accounts are down (logged at most once a minute)",
				"not_called", res.NotCalled, "batches", len(a.batches), "refresh_interval", a.Cfg.RefreshInterval)
		})
	}
}

// fetchBatch fills out for one batch, judging every account's values. ok
// is whether the call was answered with ErrorCode 0; called, whether any
// HTTP call was made before the deadline.
func (a *App) fetchBatch(ctx context.Context, i int, batch *tencentchat.Batch, out []tencentchat.Result, pace *rate.Limiter,
	observe func(tencentchat.Attempt)) (ok, called bool) {
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
		a.tally.Code(tencentchat.APIOfficialAccountInfo, code)
	}
	var missing []string
	for j := range out {
		r := &out[j]
		switch {
		case !r.Answered:
			missing = append(missing, r.ID)
			a.tally.Missing()
		case r.Err != nil:
			a.tally.Invalid()
			level.Debug(a.logger).Log("msg", "account's item unusable", "account", r.ID, "err", r.Err)
		case r.Info.ErrorCode.V != 0:
			a.tally.Code(tencentchat.APIOfficialAccountInfo, int(r.Info.ErrorCode.V))
			level.Debug(a.logger).Log("msg", "account error", "account", r.ID,
				"code", r.Info.ErrorCode.V, "info", r.Info.ErrorInfo)
		default:
			a.plausible(r.ID, "SubscriberNum", &r.Info.SubscriberNum, math.MaxInt64)
			a.plausible(r.ID, "LastMsgTime", &r.Info.LastMsgTime, maxTimestamp)
			a.plausible(r.ID, "CreateTime", &r.Info.CreateTime, maxTimestamp)
		}
	}
	if len(missing) > 0 {
		a.missingLogged.Do(func() {
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
	a.tally.Invalid()
	level.Debug(a.logger).Log("msg", "implausible value left out", "account", account, "field", field, "value", v.V)
	*v = tencentchat.OptInt{}
}
