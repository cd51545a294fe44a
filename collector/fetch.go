package collector

import (
	"context"
	"errors"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log/level"
	"golang.org/x/time/rate"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/tencentchat"
)

// appResult is what one fetch learnt of one app. Its batches write into it
// as they complete; once the fetch is done it is read-only, and before that
// only partial reads it.
type appResult struct {
	accounts []tencentchat.Result // one per configured account, in config order
	at       time.Time            // when the fetch started
	duration time.Duration
	batchEnd []int // where each batch's accounts end

	mu        sync.Mutex
	ok        bool   // every call answered with ErrorCode 0; final once done
	batchDone []bool // which batches' accounts are final
	batchOK   []bool // which batches got an answer with ErrorCode 0
	calls     []call // every HTTP call, for the debug probe and the status page
}

// call is one HTTP call of a fetch's batch.
type call struct {
	batch int
	tencentchat.Attempt
}

// accountUp tells an account whose values are served.
func accountUp(r *tencentchat.Result) bool {
	return r.Answered && r.Err == nil && r.Info.ErrorCode.V == 0
}

func newResult(a *app) *appResult {
	r := &appResult{accounts: make([]tencentchat.Result, len(a.cfg.Accounts)), at: time.Now(), ok: true,
		batchEnd: make([]int, len(a.batches)), batchDone: make([]bool, len(a.batches)), batchOK: make([]bool, len(a.batches))}
	end := 0
	for i, b := range a.batches {
		end += b.Len()
		r.batchEnd[i] = end
	}
	return r
}

func (r *appResult) summary() *lastFetch {
	l := &lastFetch{at: r.at, took: r.duration, up: r.ok, calls: len(r.calls)}
	for i := range r.accounts {
		if accountUp(&r.accounts[i]) {
			l.accountsUp++
		} else {
			l.down++
		}
	}
	return l
}

// partial is a copy of what has arrived so far, for a scrape that leaves
// before the fetch is done: the accounts of finished batches, the others
// down, and the app not up.
func (r *appResult) partial(took time.Duration) *appResult {
	out := &appResult{accounts: make([]tencentchat.Result, len(r.accounts)), at: r.at, duration: took}
	r.mu.Lock()
	defer r.mu.Unlock()
	lo := 0
	for i, done := range r.batchDone {
		if done {
			copy(out.accounts[lo:r.batchEnd[i]], r.accounts[lo:r.batchEnd[i]])
		}
		lo = r.batchEnd[i]
	}
	out.calls = append(out.calls, r.calls...)
	out.batchEnd, out.batchOK = r.batchEnd, slices.Clone(r.batchOK)
	return out
}

// An app with refresh_interval is fetched in the background (refreshLoop)
// and every scrape is answered from its last refresh. Otherwise each scrape
// fetches, and two Prometheus servers of an HA pair, or /metrics and
// /probe at once, often scrape the same app at the same moment; they share
// one fetch, so the API quota is spent once. The rule: a fetch runs under
// its starter's deadline. A later scrape of the same app joins it when that
// deadline is no earlier than its own, less joinSlack (two scrapes with one
// timeout arrive moments apart); otherwise it starts its own fetch. Each
// scrape leaves at its own deadline with what has arrived, and a fetch that
// every scrape has left is cancelled.

// joinSlack is how much earlier than its own deadline a fetch's may end
// for a scrape to join it.
const joinSlack = 500 * time.Millisecond

// flightGrace is how long a scrape whose deadline ends its fetch too waits
// for the fetch to wind up, so the calls its deadline cut are counted.
const flightGrace = 100 * time.Millisecond

// errAbandoned cancels a fetch whose every scrape went away before its
// deadline (hung up, or the exporter is shutting down): not an API timeout.
var errAbandoned = errors.New("every scrape waiting on the fetch went away")

// share is an app's fetch in flight, or its last background refresh.
type share struct {
	mu      sync.Mutex
	current *flight
	latest  atomic.Pointer[appResult] // the last refresh done; nil before the first
}

// flight is one fetch that scrapes wait on.
type flight struct {
	ctx      context.Context // ends when the fetch is cut off or abandoned
	cancel   context.CancelCauseFunc
	deadline time.Time // zero: none
	res      *appResult
	done     chan struct{} // closed when res is complete
	waiters  int           // guarded by share.mu
}

// source says where a scrape's result came from, for the debug probe.
type source string

const (
	started   source = "started"
	joined    source = "joined"
	refreshed source = "refreshed" // the last background refresh
)

// notYet is the result served before an app's first background refresh:
// no account, and the app not up.
var notYet = &appResult{}

// result returns the app's data for one scrape, by the rule above.
func (e *Exporter) result(ctx context.Context, a *app) (*appResult, source) {
	if a.cfg.RefreshInterval > 0 {
		if r := a.share.latest.Load(); r != nil {
			return r, refreshed
		}
		return notYet, refreshed
	}
	start := time.Now()
	dl, _ := ctx.Deadline()
	a.share.mu.Lock()
	src, f := joined, a.share.current
	if f == nil || f.ctx.Err() != nil || (!f.deadline.IsZero() && (dl.IsZero() || f.deadline.Before(dl.Add(-joinSlack)))) {
		src, f = started, e.start(ctx, a)
		a.share.current = f
	}
	f.waiters++
	a.share.mu.Unlock()

	res := f.res
	select {
	case <-f.done:
	case <-ctx.Done():
		wait := time.Duration(0)
		if errors.Is(ctx.Err(), context.DeadlineExceeded) && !f.deadline.After(dl.Add(flightGrace)) {
			wait = flightGrace
		}
		grace := time.NewTimer(wait)
		defer grace.Stop()
		select {
		case <-f.done:
		case <-grace.C:
			res = f.res.partial(time.Since(start))
		}
	}

	a.share.mu.Lock()
	defer a.share.mu.Unlock()
	if f.waiters--; f.waiters == 0 {
		select {
		case <-f.done:
		default:
			// The last scrape is gone: a deadline that passed is an API
			// timeout; a hang-up or a shutdown is not.
			cause := errAbandoned
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				cause = context.DeadlineExceeded
			}
			f.cancel(cause)
		}
	}
	return res, src
}

// start runs a fetch under the deadline of ctx, but not its cancellation:
// the starter may hang up while others wait on the fetch.
func (e *Exporter) start(ctx context.Context, a *app) *flight {
	f := &flight{res: newResult(a), done: make(chan struct{})}
	fctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	f.cancel = cancel
	if dl, ok := ctx.Deadline(); ok {
		f.deadline = dl
		var stop context.CancelFunc
		fctx, stop = context.WithDeadline(fctx, dl)
		f.cancel = func(cause error) { cancel(cause); stop() }
	}
	f.ctx = fctx
	go func() {
		defer f.cancel(context.Canceled)
		e.fetch(fctx, a, f.res, nil)
		a.counters.last.Store(f.res.summary())
		a.share.mu.Lock()
		if a.share.current == f {
			a.share.current = nil
		}
		a.share.mu.Unlock()
		close(f.done)
	}()
	return f
}

// refreshLoop fetches an app with refresh_interval in the background: the
// first time after first (apps' schedules are spread), then every interval,
// until ctx ends (the app was reloaded away, or the exporter closes). A
// refresh must end within its interval, and paces its calls over half of
// it: at most max(calls / (interval / 2), 1) start per second, never more
// than rate_limit, a steady trickle of the app's 200 calls per second
// rather than a burst. Whatever a refresh got, failed batches and all, is
// what scrapes serve next: nothing older is presented as current.
func (e *Exporter) refreshLoop(ctx context.Context, a *app, first time.Duration) {
	interval := a.cfg.RefreshInterval
	perSecond := max(float64(len(a.batches))/(interval.Seconds()/2), 1)
	if a.cfg.RateLimit > 0 {
		perSecond = min(perSecond, a.cfg.RateLimit)
	}
	t := time.NewTimer(first)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		start := time.Now()
		rctx, cancel := context.WithTimeout(ctx, interval)
		res := newResult(a)
		e.fetch(rctx, a, res, rate.NewLimiter(rate.Limit(perSecond), 1))
		cancel()
		if ctx.Err() != nil {
			return // cut by a reload or shutdown: not a refresh to serve
		}
		a.counters.last.Store(res.summary())
		a.share.latest.Store(res)
		t.Reset(max(0, interval-time.Since(start)))
	}
}

// fetch queries every batch of the app into res, concurrency at a time,
// each batch started when pace (if any) allows. A batch that fails, or
// that the deadline leaves unstarted, keeps its accounts down; the other
// batches' accounts are still served.
func (e *Exporter) fetch(ctx context.Context, a *app, res *appResult, pace *rate.Limiter) {
	var (
		wg  sync.WaitGroup
		sem = make(chan struct{}, a.cfg.Concurrency)
	)
	finish := func(i int, ok bool) {
		res.mu.Lock()
		res.batchDone[i], res.batchOK[i] = true, ok
		res.ok = res.ok && ok
		res.mu.Unlock()
	}
	lo := 0
	for i, batch := range a.batches {
		out := res.accounts[lo:res.batchEnd[i]]
		lo = res.batchEnd[i]
		if pace != nil && pace.Wait(ctx) != nil {
			finish(i, false) // the refresh's time is up before this batch's turn
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			finish(i, false) // no time left to start this batch: its accounts stay down
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			observe := func(at tencentchat.Attempt) {
				a.counters.observe(at)
				res.mu.Lock()
				res.calls = append(res.calls, call{i, at})
				res.mu.Unlock()
			}
			finish(i, e.fetchBatch(ctx, a, i, batch, out, observe))
		})
	}
	wg.Wait()
	res.duration = time.Since(res.at)
}

// fetchBatch fills out for one batch, judging every account's values, and
// reports whether the call was answered with ErrorCode 0.
func (e *Exporter) fetchBatch(ctx context.Context, a *app, i int, batch *tencentchat.Batch, out []tencentchat.Result, observe func(tencentchat.Attempt)) bool {
	other, err := a.client.Fetch(ctx, batch, out, observe)
	if err != nil {
		level.Warn(e.logger).Log("msg", "API call failed", "app", a.cfg.Name, "sdkappid", a.sdkappid,
			"batch", i, "accounts", batch.Len(), "err", err)
		return false
	}
	for _, code := range other {
		a.counters.addCode(apiOfficialAccounts, code)
	}
	var missing []string
	for j := range out {
		r := &out[j]
		switch {
		case !r.Answered:
			missing = append(missing, r.ID)
			a.counters.missing.Add(1)
		case r.Err != nil:
			a.counters.invalid.Add(1)
			level.Debug(e.logger).Log("msg", "account's item unusable", "app", a.cfg.Name, "account", r.ID, "err", r.Err)
		case r.Info.ErrorCode.V != 0:
			a.counters.addCode(apiOfficialAccounts, int(r.Info.ErrorCode.V))
			level.Debug(e.logger).Log("msg", "account error", "app", a.cfg.Name, "account", r.ID,
				"code", r.Info.ErrorCode.V, "info", r.Info.ErrorInfo)
		default:
			e.plausible(a, r.ID, "SubscriberNum", &r.Info.SubscriberNum, math.MaxInt64)
			e.plausible(a, r.ID, "LastMsgTime", &r.Info.LastMsgTime, maxTimestamp)
			e.plausible(a, r.ID, "CreateTime", &r.Info.CreateTime, maxTimestamp)
		}
	}
	if len(missing) > 0 {
		a.counters.missingLogged.Do(func() {
			level.Warn(e.logger).Log("msg", "an answer with ErrorCode 0 left accounts out; they are down (logged at most once a minute, counted in tencentchat_api_accounts_missing_total)",
				"app", a.cfg.Name, "sdkappid", a.sdkappid, "batch", i, "missing", len(missing), "first", missing[0])
		})
	}
	return true
}

// maxTimestamp is 3000-01-01 in Unix seconds: a time beyond it is in
// milliseconds or broken.
const maxTimestamp = 32503680000

// plausible unsets v when it lies outside [0, hi] and counts it: a
// negative count or a time in milliseconds is left out, never exported.
func (e *Exporter) plausible(a *app, account, field string, v *tencentchat.OptInt, hi int64) {
	if !v.Set || (v.V >= 0 && v.V <= hi) {
		return
	}
	a.counters.invalid.Add(1)
	level.Debug(e.logger).Log("msg", "implausible value left out", "app", a.cfg.Name, "account", account, "field", field, "value", v.V)
	*v = tencentchat.OptInt{}
}
