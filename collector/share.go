package collector

import (
	"context"
	"sync"
	"time"
)

// Two Prometheus servers of an HA pair, or /metrics and /probe at once,
// often scrape the same app at the same moment. They share one fetch, so
// the API quota is spent once; with cache_ttl, a complete result is reused
// for that long.

// share is an app's in-flight fetch and its last complete result.
type share struct {
	mu       sync.Mutex
	current  *flight
	cached   *appResult
	cachedAt time.Time
}

// flight is one fetch that concurrent scrapes wait on. It runs under its
// starter's deadline, and is cancelled once its starter and every scrape
// that joined it have gone (hung up, timed out, or shut down).
type flight struct {
	done chan struct{} // closed when res is set
	res  *appResult

	// guarded by share.mu
	joiners   int
	ownerGone bool
	cancel    context.CancelFunc
}

// leave records that a waiter went away; the last one out cancels.
func (f *flight) leave(owner bool) {
	if owner {
		f.ownerGone = true
	} else {
		f.joiners--
	}
	if f.ownerGone && f.joiners == 0 {
		f.cancel()
	}
}

// result returns the app's data for one scrape. The scrape that starts a
// fetch waits for it (the fetch ends by that scrape's deadline) and is told
// of each batch as it completes (streamed is then true); a scrape that joins
// one waits at most until its own deadline, and otherwise reports the app as
// failed.
func (e *Exporter) result(ctx context.Context, a *app, done batchDone) (res *appResult, streamed bool) {
	start := time.Now()
	a.share.mu.Lock()
	if ttl := a.cfg.CacheTTL; ttl > 0 && a.share.cached != nil && start.Sub(a.share.cachedAt) < ttl {
		r := a.share.cached
		a.share.mu.Unlock()
		return r, false
	}
	if f := a.share.current; f != nil {
		f.joiners++
		a.share.mu.Unlock()
		select {
		case <-f.done:
			res = f.res
		case <-ctx.Done():
			res = failedResult(a, time.Since(start))
		}
		a.share.mu.Lock()
		f.leave(false)
		a.share.mu.Unlock()
		return res, false
	}

	// The fetch keeps this scrape's deadline but not its cancellation: if
	// this scraper hangs up, the scrapes that joined still get their data;
	// only when they are gone too is it cancelled.
	fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	if dl, ok := ctx.Deadline(); ok {
		var cancelDL context.CancelFunc
		fctx, cancelDL = context.WithDeadline(fctx, dl)
		defer cancelDL()
	}
	f := &flight{done: make(chan struct{}), cancel: cancel}
	a.share.current = f
	a.share.mu.Unlock()
	stop := context.AfterFunc(ctx, func() {
		a.share.mu.Lock()
		f.leave(true)
		a.share.mu.Unlock()
	})
	defer stop()
	res = e.fetch(fctx, a, done)

	a.share.mu.Lock()
	a.share.current = nil
	if res.ok && a.cfg.CacheTTL > 0 {
		a.share.cached, a.share.cachedAt = res, time.Now()
	}
	a.share.mu.Unlock()
	f.res = res
	close(f.done)
	return res, true
}

// failedResult marks every account of the app down, fetching nothing.
func failedResult(a *app, took time.Duration) *appResult {
	return &appResult{accounts: make([]accountResult, len(a.cfg.Accounts)), duration: took}
}
