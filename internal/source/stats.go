package source

import (
	"context"
	"sync"
	"time"

	"github.com/go-kit/log/level"

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

// RefreshStatsIfDue starts a refresh of the app's statistics, as of now,
// when they are due and none is running, and returns at once.
func (a *App) RefreshStatsIfDue(now time.Time) {
	s := a.stats
	s.mu.Lock()
	due := !s.running && (s.day == nil || now.Sub(s.refreshedAt) >= a.Cfg.AppStatisticsInterval) && !now.Before(s.nextTry)
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

func (a *App) refreshStats(now time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), statsRefreshTimeout)
	defer cancel()
	var calls []tencentchat.Attempt
	days, err := a.client.GetAppInfo(ctx, func(at tencentchat.Attempt) {
		a.tally.Attempt(at)
		calls = append(calls, at)
	})
	var day *StatsDay
	if err == nil {
		day, err = a.completeDay(days, now)
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
	s.day, s.refreshedAt, s.backoff, s.nextTry = day, now, 0, time.Time{}
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
