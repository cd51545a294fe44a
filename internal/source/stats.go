package source

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/go-kit/log/level"
	"golang.org/x/time/rate"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/tencentchat"
)

// App statistics come from getappinfo, whose data changes once a day. A
// scrape that finds them due starts a refresh and goes on without waiting:
// the refresh runs in its own context, bounded by statsRefreshTimeout, so
// neither a hanging getappinfo nor a scraper that hangs up touches the
// scrape's account series or the refresh. Scrapes serve the last good
// values; a failed refresh keeps them and is retried after a backoff, not
// at every scrape.

// Backoff after a failed refresh: doubling from the first, up to the
// app's interval.
const statsFirstBackoff = 15 * time.Second

// statsRefreshTimeout bounds one refresh, its retries included.
const statsRefreshTimeout = time.Minute

// stats is an app's statistics state. It is carried over a reload for an
// app that keeps its name and SDKAppID.
type stats struct {
	mu          sync.Mutex
	running     bool      // a refresh is under way
	day         *StatsDay // the last good values; nil before the first
	refreshedAt time.Time // of day
	nextTry     time.Time // no refresh before this
	backoff     time.Duration
	last        StatsRefresh // the most recent refresh, for the debug probe

	// The push funnel (push_statistics), refreshed with the statistics.
	push        *PushDay     // the last good day; nil before the first or once the API refused it
	pushLast    StatsRefresh // the most recent push call, for the debug probe
	pushSpacer  *spacer      // Tencent's one call a second per app, kept across reloads
	pushRefused rate.Sometimes
}

// PushDay is one Beijing day's push funnel, as kept.
type PushDay struct {
	Start time.Time // 00:00 UTC+8 of the day
	tencentchat.PushDay
}

func newStats() *stats {
	return &stats{pushSpacer: &spacer{gap: time.Second}, pushRefused: rate.Sometimes{First: 1, Interval: time.Hour}}
}

// spacer keeps calls at least gap apart, counted from the end of the one
// before: Tencent counts calls as they arrive, and a call ends after it
// arrived, so the next one cannot arrive within gap of it, whatever the
// network's jitter (spacing the sends let two arrive 0.92 s apart on a
// busy machine).
type spacer struct {
	gap  time.Duration
	mu   sync.Mutex
	next time.Time
}

// Wait waits for the turn; an error when ctx ends first.
func (s *spacer) Wait(ctx context.Context) error {
	s.mu.Lock()
	d := time.Until(s.next)
	s.mu.Unlock()
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// done records that a call ended now.
func (s *spacer) done() {
	s.mu.Lock()
	s.next = time.Now().Add(s.gap)
	s.mu.Unlock()
}

// StatsRefresh is the story of one statistics refresh, for the debug probe.
type StatsRefresh struct {
	At    time.Time // zero before the first ended
	Calls []tencentchat.Attempt
	Err   error
}

// StatsDay is one complete day's values: by getappinfo field, each a
// non-negative integer.
type StatsDay struct {
	Start  time.Time // 00:00 UTC+8 of the day
	Values map[string]float64
}

// RefreshStatsIfDue starts a refresh of the app's daily statistics
// (getappinfo's, the push funnel's), as of now, when they are due and none
// is running, and returns at once.
func (a *App) RefreshStatsIfDue(now time.Time) {
	s := a.stats
	s.mu.Lock()
	due := !s.running && (s.refreshedAt.IsZero() || now.Sub(s.refreshedAt) >= a.Cfg.AppStatisticsInterval) && !now.Before(s.nextTry)
	s.running = s.running || due
	s.mu.Unlock()
	if due {
		go a.refreshStats(now)
	}
}

// Stats are the app's last good statistics and when they were fetched; nil
// before the first success.
func (a *App) Stats() (*StatsDay, time.Time) {
	a.stats.mu.Lock()
	defer a.stats.mu.Unlock()
	return a.stats.day, a.stats.refreshedAt
}

// StatsStory is the app's most recent statistics refresh, and whether one
// is running.
func (a *App) StatsStory() (StatsRefresh, bool) {
	a.stats.mu.Lock()
	defer a.stats.mu.Unlock()
	return a.stats.last, a.stats.running
}

// PushStats is the app's last good push funnel (nil before the first, or
// once the API refused the call), and its most recent push call.
func (a *App) PushStats() (*PushDay, StatsRefresh) {
	a.stats.mu.Lock()
	defer a.stats.mu.Unlock()
	return a.stats.push, a.stats.pushLast
}

func (a *App) refreshStats(now time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), statsRefreshTimeout)
	defer cancel()
	var (
		calls []tencentchat.Attempt
		day   *StatsDay
		err   error
	)
	if a.Cfg.AppStatistics {
		var days []tencentchat.AppDay
		days, err = a.client.GetAppInfo(ctx, func(at tencentchat.Attempt) {
			a.tally.Attempt(at)
			calls = append(calls, at)
		})
		if err == nil {
			day, err = a.completeDay(days, now)
		}
	}
	if a.Cfg.PushStatistics {
		// The same day as the statistics report; yesterday in Beijing
		// when they are off or failed.
		start := yesterday(now)
		if day != nil {
			start = day.Start
		}
		a.refreshPush(ctx, start, now)
	}
	s := a.stats
	s.mu.Lock()
	defer s.mu.Unlock()
	s.running, s.last = false, StatsRefresh{At: now, Calls: calls, Err: err}
	if err != nil {
		if s.backoff == 0 {
			s.backoff = statsFirstBackoff
		} else {
			s.backoff = min(2*s.backoff, a.Cfg.AppStatisticsInterval)
		}
		s.nextTry = now.Add(s.backoff)
		level.Warn(a.logger).Log("msg", "app statistics not refreshed; serving the last good values",
			"retry_in", s.backoff, "err", err)
		return
	}
	if day != nil {
		s.day = day
	}
	s.refreshedAt, s.backoff, s.nextTry = now, 0, time.Time{}
}

// yesterday is 00:00 UTC+8 of the Beijing day before now's.
func yesterday(now time.Time) time.Time {
	y, m, d := now.In(tencentchat.Beijing).Date()
	return time.Date(y, m, d-1, 0, 0, 0, 0, tencentchat.Beijing)
}

// refreshPush fetches the push funnel of the Beijing day from start, one
// call at most (the API allows one a second per app, and the app's push
// spacer keeps every attempt a second after the end of the one before). An answer the API refused (a non-zero
// code: Push not enabled, say) clears the funnel, so its series are
// absent, and is logged at most once an hour; a failure keeps the last
// good day until the next refresh tries again.
func (a *App) refreshPush(ctx context.Context, start, now time.Time) {
	var calls []tencentchat.Attempt
	got, err := a.client.PushStatistics(ctx, start, start.Add(24*time.Hour-time.Second), a.stats.pushSpacer, func(at tencentchat.Attempt) {
		a.stats.pushSpacer.done()
		a.tally.Attempt(at)
		calls = append(calls, at)
	})
	for range got.Invalid + got.Dropped {
		a.tally.Invalid()
	}
	if got.Invalid+got.Dropped > 0 {
		level.Warn(a.logger).Log("msg", "push statistics: values left out (negative, not a number, missing, or platforms beyond the bound)",
			"invalid", got.Invalid, "platforms_dropped", got.Dropped)
	}
	s := a.stats
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pushLast = StatsRefresh{At: now, Calls: calls, Err: err}
	var te *tencentchat.Error
	switch {
	case err == nil:
		s.push = &PushDay{Start: start, PushDay: got}
	case errors.As(err, &te) && te.Code != 0 && te.Reason == tencentchat.ReasonNone && !tencentchat.IsRateLimit(te):
		s.push = nil
		s.pushRefused.Do(func() {
			level.Warn(a.logger).Log("msg", "push statistics refused by the API (is the Push service enabled for the app?); no push series (logged at most once an hour)",
				"code", te.Code, "err", err)
		})
	default:
		level.Warn(a.logger).Log("msg", "push statistics not refreshed; serving the last good day", "err", err)
	}
}

// completeDay is the most recent complete day of a getappinfo answer, as
// kept. A field that is missing, not a number or negative (every statistic
// is a count) is left out and counted.
func (a *App) completeDay(days []tencentchat.AppDay, now time.Time) (*StatsDay, error) {
	best, err := tencentchat.LatestCompleteDay(days, now)
	if err != nil {
		return nil, err
	}
	out := &StatsDay{Start: best.Start, Values: make(map[string]float64, len(a.statsFields))}
	for _, f := range a.statsFields {
		v, ok := best.Int(f)
		if !ok || v < 0 {
			a.tally.Invalid()
			level.Debug(a.logger).Log("msg", "app statistic missing, not a number or negative; left out",
				"field", f, "value", best.Values[f])
			continue
		}
		out.Values[f] = float64(v)
	}
	return out, nil
}
