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

// flight is one fetch that concurrent scrapes wait on.
type flight struct {
	done chan struct{} // closed when res is set
	res  *appResult
}

// result returns the app's data for one scrape. The scrape that starts a
// fetch waits for it (the fetch ends by that scrape's deadline); a scrape
// that joins one waits at most until its own deadline, and otherwise reports
// the app as failed.
func (e *Exporter) result(ctx context.Context, a *app) *appResult {
	start := time.Now()
	a.share.mu.Lock()
	if ttl := a.cfg.CacheTTL; ttl > 0 && a.share.cached != nil && start.Sub(a.share.cachedAt) < ttl {
		r := a.share.cached
		a.share.mu.Unlock()
		return r
	}
	if f := a.share.current; f != nil {
		a.share.mu.Unlock()
		select {
		case <-f.done:
			return f.res
		case <-ctx.Done():
			return failedResult(a, time.Since(start))
		}
	}
	f := &flight{done: make(chan struct{})}
	a.share.current = f
	a.share.mu.Unlock()

	// The fetch keeps this scrape's deadline but not its cancellation: if
	// this scraper hangs up, the scrapes that joined still get their data.
	fctx := context.WithoutCancel(ctx)
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		fctx, cancel = context.WithDeadline(fctx, dl)
		defer cancel()
	}
	res := e.fetch(fctx, a)

	a.share.mu.Lock()
	a.share.current = nil
	if res.ok && a.cfg.CacheTTL > 0 {
		a.share.cached, a.share.cachedAt = res, time.Now()
	}
	a.share.mu.Unlock()
	f.res = res
	close(f.done)
	return res
}

// failedResult marks every account of the app down, fetching nothing.
func failedResult(a *app, took time.Duration) *appResult {
	return &appResult{accounts: make([]accountResult, len(a.cfg.Accounts)), duration: took}
}
