package source

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

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
	latest  atomic.Pointer[Result] // the last refresh done; nil before the first
}

// flight is one fetch that scrapes wait on.
type flight struct {
	ctx      context.Context // ends when the fetch is cut off or abandoned
	cancel   context.CancelCauseFunc
	deadline time.Time // zero: none
	res      *Result
	done     chan struct{} // closed when res is complete
	waiters  int           // guarded by share.mu
}

// Origin says where a scrape's result came from, for the debug probe.
type Origin string

// The origins of a result.
const (
	Started   Origin = "started"
	Joined    Origin = "joined"
	Refreshed Origin = "refreshed" // the last background refresh
)

// Result returns the app's data for one scrape, by the rule above.
func (a *App) Result(ctx context.Context) (*Result, Origin) {
	if a.Cfg.RefreshInterval > 0 {
		if r := a.share.latest.Load(); r != nil {
			return r, Refreshed
		}
		return NotYet, Refreshed
	}
	start := time.Now()
	dl, _ := ctx.Deadline()
	a.share.mu.Lock()
	origin, f := Joined, a.share.current
	if !f.joinable(dl) {
		origin, f = Started, a.start(ctx)
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
	return res, origin
}

// joinable tells whether a scrape with deadline dl (zero: none) joins f,
// by the rule above. A fetch that ended or was cut off is not joined.
func (f *flight) joinable(dl time.Time) bool {
	return f != nil && f.ctx.Err() == nil &&
		(f.deadline.IsZero() || (!dl.IsZero() && !f.deadline.Before(dl.Add(-joinSlack))))
}

// start runs a fetch under the deadline of ctx, but not its cancellation:
// the starter may hang up while others wait on the fetch.
func (a *App) start(ctx context.Context) *flight {
	f := &flight{res: a.newResult(), done: make(chan struct{})}
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
		a.fetch(fctx, f.res, nil)
		a.last.Store(f.res.summary())
		a.share.mu.Lock()
		if a.share.current == f {
			a.share.current = nil
		}
		a.share.mu.Unlock()
		close(f.done)
	}()
	return f
}
