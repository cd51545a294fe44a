package source

import (
	"context"
	"time"

	"golang.org/x/time/rate"
)

// An app with refresh_interval is fetched in the background, and every
// scrape is answered from its last refresh. Its lifecycle, across reloads:
//
//   - A reload that leaves an app's configuration as it was does not touch
//     it: the exporter keeps the same App, and its refresh runs on.
//   - An app whose configuration changed is replaced by a new App, which
//     serves the old one's last refresh for the accounts that stay (carry)
//     at once, so the app keeps its values and the exporter its readiness.
//     The old App is retired: a refresh it has in flight finishes (its
//     calls are not thrown away), and the new one takes it as soon as it
//     ends, before its own first refresh; the two never refresh at once.
//   - An app that is removed, or the exporter closing, cuts the refresh.
//
// Statistics (getappinfo) are refreshed on their own schedule too, so in
// background mode no scrape starts a call.

// background is an app's background refresh: set by StartRefreshes and
// Retire, both called under the exporter's reload lock.
type background struct {
	loop      context.Context    // ends when the app is retired or the exporter closes
	stopLoop  context.CancelFunc // ends the loops (a refresh between refreshes)
	stopFetch context.CancelFunc // cuts a refresh in flight
	done      chan struct{}      // closed when the refresh loop has ended; nil without one
	pred      *App               // the app this one replaced, until its refresh is taken
}

// statsCheck is how often the statistics loop asks whether they are due.
const statsCheck = 15 * time.Second

// StartRefreshes starts the background refresh of the apps with
// refresh_interval until ctx ends or they are retired, their first
// refreshes spread over a tenth of the shortest interval (at most 10 s)
// rather than all at once. An app whose carried-over refresh covers its
// accounts waits for its next turn.
func StartRefreshes(ctx context.Context, apps []*App) {
	var bg []*App
	for _, a := range apps {
		if a.Cfg.RefreshInterval == 0 && !a.Cfg.PublishingActivity {
			continue
		}
		loop, stopLoop := context.WithCancel(ctx)
		a.bg.loop, a.bg.stopLoop = loop, stopLoop
		if a.Cfg.PublishingActivity {
			go a.publishingLoop(loop)
		}
		if a.Cfg.RefreshInterval > 0 {
			bg = append(bg, a)
		}
	}
	for i, a := range bg {
		spread := min(a.Cfg.RefreshInterval/10, 10*time.Second) * time.Duration(i) / time.Duration(len(bg))
		fetch, stopFetch := context.WithCancel(ctx)
		a.bg.stopFetch, a.bg.done = stopFetch, make(chan struct{})
		go a.refreshLoop(a.bg.loop, fetch, spread)
		if a.Cfg.DailyStatistics() {
			go a.statsLoop(a.bg.loop)
		}
	}
}

// Retire ends the app's loops: a reload replaced it (replaced: its
// refresh in flight finishes, for the app that replaces it), or removed it
// (the refresh is cut).
func (a *App) Retire(replaced bool) {
	if a.bg.stopLoop == nil {
		return // no loop of its own
	}
	if a.bg.done != nil && !replaced {
		a.bg.stopFetch()
	}
	a.bg.stopLoop()
}

// refreshLoop refreshes the app every interval until loop ends: first the
// refresh its predecessor had in flight, taken once it ends; then its own,
// the first after spread, or when the refresh it serves is an interval old
// if that covers its accounts. A refresh must end within its interval, and
// its calls, retries included, are paced over half of it
// (config.App.RefreshPace), a steady trickle of the app's 200 calls per
// second rather than a burst. Whatever a refresh got, failed batches and
// all, is what scrapes serve next: nothing older is presented as current.
// A refresh cut by fetch (the app removed, the exporter closing) is not
// served.
func (a *App) refreshLoop(loop, fetch context.Context, spread time.Duration) {
	defer close(a.bg.done)
	defer a.bg.stopFetch()
	interval := a.Cfg.RefreshInterval
	if p := a.bg.pred; p != nil {
		<-p.bg.done
		if l := p.latest.Load(); l != nil {
			if mine := a.latest.Load(); mine == nil || l.At.After(mine.At) {
				a.latest.Store(a.carry(l))
			}
		}
		a.bg.pred = nil
	}
	first := spread
	if l := a.latest.Load(); l != nil && l.Added == nil {
		first = max(first, interval-time.Since(l.At))
	}
	perSecond, _ := a.Cfg.RefreshPace()
	every(loop, fetch, first, interval, func(ctx context.Context) bool {
		res := a.newResult()
		a.fetch(ctx, res, rate.NewLimiter(rate.Limit(perSecond), 1))
		if fetch.Err() != nil {
			return false
		}
		a.last.Store(res.summary())
		a.latest.Store(res)
		return true
	})
}

// every runs round after first, then every interval from the start of the
// one before, until loop ends or round returns false. Each round runs
// under base, cut at one interval.
func every(loop, base context.Context, first, interval time.Duration, round func(ctx context.Context) bool) {
	t := time.NewTimer(first)
	defer t.Stop()
	for {
		select {
		case <-loop.Done():
			return
		case <-t.C:
		}
		start := time.Now()
		ctx, cancel := context.WithTimeout(base, interval)
		ok := round(ctx)
		cancel()
		if !ok {
			return
		}
		t.Reset(max(0, interval-time.Since(start)))
	}
}

// statsLoop refreshes the app's statistics when they are due, until loop
// ends: in background mode no scrape asks for them.
func (a *App) statsLoop(loop context.Context) {
	t := time.NewTicker(statsCheck)
	defer t.Stop()
	for {
		a.RefreshStatsIfDue(time.Now())
		select {
		case <-loop.Done():
			return
		case <-t.C:
		}
	}
}
