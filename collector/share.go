package collector

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Two Prometheus servers of an HA pair, or /metrics and /probe at once,
// often scrape the same app at the same moment. They share one fetch, so
// the API quota is spent once; with cache_ttl, a complete result is reused
// for that long. Sharing must never make a scrape worse than it would be
// alone: the fetch runs until the latest deadline of the scrapes waiting
// on it, and each scrape leaves at its own deadline with what has arrived.

// share is an app's in-flight fetch and its last complete result.
type share struct {
	mu       sync.Mutex
	current  *flight
	cached   *appResult
	cachedAt time.Time
}

// flight is one fetch that concurrent scrapes wait on.
type flight struct {
	ctx  *flightCtx
	res  *appResult
	done chan struct{} // closed when res is complete

	waiters int // guarded by share.mu
}

// flightGrace is how long a scrape whose deadline ends its fetch waits for
// the fetch to wind up.
const flightGrace = 100 * time.Millisecond

// errAbandoned cancels a fetch whose every scrape went away before its
// deadline (hung up, or the exporter is shutting down): not an API timeout.
var errAbandoned = errors.New("every scrape waiting on the fetch went away")

// flightCtx is a fetch's context. Its deadline is the latest of the
// scrapes waiting on the fetch, and moves later when a scrape with a later
// deadline joins; it has none while one of them has none.
type flightCtx struct {
	context.Context
	cancel context.CancelCauseFunc

	mu       sync.Mutex
	deadline time.Time // zero: none
	timer    *time.Timer
}

func newFlightCtx(parent context.Context) *flightCtx {
	base, cancel := context.WithCancelCause(context.WithoutCancel(parent))
	c := &flightCtx{Context: base, cancel: cancel}
	if dl, ok := parent.Deadline(); ok {
		c.deadline = dl
		c.timer = time.AfterFunc(time.Until(dl), func() { cancel(context.DeadlineExceeded) })
	}
	return c
}

// Deadline is the current deadline; a later joiner may still move it.
func (c *flightCtx) Deadline() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.deadline, !c.deadline.IsZero()
}

// extend moves the deadline to dl (has false: none) if that is later. It
// reports false when the fetch has already ended or been cut off.
func (c *flightCtx) extend(dl time.Time, has bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.Err() != nil {
		return false
	}
	switch {
	case c.deadline.IsZero():
	case !has:
		if !c.timer.Stop() {
			return false
		}
		c.deadline = time.Time{}
	case dl.After(c.deadline):
		if !c.timer.Stop() {
			return false // it fired while we looked
		}
		c.deadline = dl
		c.timer.Reset(time.Until(dl))
	}
	return true
}

func (c *flightCtx) stop() {
	c.mu.Lock()
	if c.timer != nil {
		c.timer.Stop()
	}
	c.mu.Unlock()
	c.cancel(context.Canceled)
}

// result returns the app's data for one scrape: a cached result, the
// result of the fetch in flight (whose deadline it extends to its own), or
// of a fetch it starts. At its own deadline it leaves with the accounts of
// the batches done by then, the others down.
func (e *Exporter) result(ctx context.Context, a *app) *appResult {
	start := time.Now()
	dl, hasDL := ctx.Deadline()
	a.share.mu.Lock()
	if ttl := a.cfg.CacheTTL; ttl > 0 && a.share.cached != nil && start.Sub(a.share.cachedAt) < ttl {
		r := a.share.cached
		a.share.mu.Unlock()
		return r
	}
	f := a.share.current
	if f == nil || !f.ctx.extend(dl, hasDL) {
		f = &flight{ctx: newFlightCtx(ctx), res: newResult(a), done: make(chan struct{})}
		a.share.current = f
		go e.run(a, f)
	}
	f.waiters++
	a.share.mu.Unlock()

	var res *appResult
	select {
	case <-f.done:
		res = f.res
	case <-ctx.Done():
		// A fetch that ends at this scrape's deadline too (it has no later
		// scrape to serve) winds up within moments: its cut calls then show
		// in this scrape's counters. The timeout offset pays for the wait.
		wait := time.Duration(0)
		if fdl, ok := f.ctx.Deadline(); ok && hasDL && !fdl.After(dl) && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			wait = flightGrace
		}
		grace := time.NewTimer(wait)
		defer grace.Stop()
		select {
		case <-f.done:
			res = f.res
		case <-grace.C:
			res = f.res.partial(time.Since(start))
		}
	}

	a.share.mu.Lock()
	f.waiters--
	if f.waiters == 0 {
		select {
		case <-f.done:
		default:
			// The last scrape is gone: a deadline that passed is an API
			// timeout; a hang-up or a shutdown is not.
			cause := errAbandoned
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				cause = context.DeadlineExceeded
			}
			f.ctx.cancel(cause)
		}
	}
	a.share.mu.Unlock()
	return res
}

// run fetches for a flight and publishes the result.
func (e *Exporter) run(a *app, f *flight) {
	defer f.ctx.stop()
	requests := &a.counters.api[apiOfficialAccounts].requests
	calls := requests.Load()
	e.fetch(f.ctx, a, f.res)
	a.counters.last.Store(newLastScrape(f.res, requests.Load()-calls))
	a.share.mu.Lock()
	if a.share.current == f {
		a.share.current = nil
	}
	if f.res.ok && a.cfg.CacheTTL > 0 {
		a.share.cached, a.share.cachedAt = f.res, time.Now()
	}
	a.share.mu.Unlock()
	close(f.done)
}
