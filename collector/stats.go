package collector

import (
	"context"
	"sync"
	"time"

	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

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

// appStats is an app's statistics state. Like the counters, it is carried
// over a reload for an app that keeps its name and SDKAppID.
type appStats struct {
	mu          sync.Mutex
	running     bool      // a refresh is under way
	day         *statsDay // the last good values; nil before the first
	refreshedAt time.Time // of day
	nextTry     time.Time // no refresh before this
	backoff     time.Duration
	last        statsRefresh // the most recent refresh, for the debug probe
}

// statsRefresh is the story of one refresh, for the debug probe.
type statsRefresh struct {
	at    time.Time
	calls []tencentchat.Attempt
	err   error
}

// statsDay is one complete day's values, as exported.
type statsDay struct {
	start  time.Time // 00:00 UTC+8 of the day
	values map[string]float64
}

// refreshStatsIfDue starts a refresh of the app's statistics when they are
// due and none is running.
func (e *Exporter) refreshStatsIfDue(a *app) {
	s, now := a.stats, e.now()
	s.mu.Lock()
	due := !s.running && (s.day == nil || now.Sub(s.refreshedAt) >= a.cfg.AppStatisticsInterval) && !now.Before(s.nextTry)
	s.running = s.running || due
	s.mu.Unlock()
	if due {
		go e.refreshStats(a, now)
	}
}

func (e *Exporter) refreshStats(a *app, now time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), statsRefreshTimeout)
	defer cancel()
	var calls []tencentchat.Attempt
	days, err := a.client.GetAppInfo(ctx, func(at tencentchat.Attempt) {
		a.counters.observe(at)
		calls = append(calls, at)
	})
	var day *statsDay
	if err == nil {
		day, err = e.completeDay(a, days, now)
	}
	s := a.stats
	s.mu.Lock()
	defer s.mu.Unlock()
	s.running, s.last = false, statsRefresh{at: now, calls: calls, err: err}
	if err != nil {
		if s.backoff == 0 {
			s.backoff = statsFirstBackoff
		} else {
			s.backoff = min(2*s.backoff, a.cfg.AppStatisticsInterval)
		}
		s.nextTry = now.Add(s.backoff)
		level.Warn(e.logger).Log("msg", "app statistics not refreshed; serving the last good values", "app", a.cfg.Name,
			"sdkappid", a.sdkappid, "retry_in", s.backoff, "err", err)
		return
	}
	s.day, s.refreshedAt, s.backoff, s.nextTry = day, now, 0, time.Time{}
}

// completeDay is the most recent complete day of a getappinfo answer, as
// exported. A field that is missing, not a number or negative (every
// statistic is a count) is left out and counted.
func (e *Exporter) completeDay(a *app, days []tencentchat.AppDay, now time.Time) (*statsDay, error) {
	best, err := tencentchat.LatestCompleteDay(days, now)
	if err != nil {
		return nil, err
	}
	out := &statsDay{start: best.Start, values: make(map[string]float64, len(statsMetrics))}
	for _, m := range statsMetrics {
		v, ok := best.Int(m.field)
		if !ok || v < 0 {
			a.counters.invalid.Add(1)
			level.Debug(e.logger).Log("msg", "app statistic missing, not a number or negative; left out", "app", a.cfg.Name,
				"field", m.field, "value", best.Values[m.field])
			continue
		}
		out.values[m.field] = float64(v)
	}
	return out, nil
}

// emitStats sends an app's statistics, if it has any yet.
func emitStats(ch chan<- prometheus.Metric, a *app) {
	s := a.stats
	s.mu.Lock()
	day, refreshed := s.day, s.refreshedAt
	s.mu.Unlock()
	id, name := a.sdkappid, a.cfg.Name
	ch <- prometheus.MustNewConstMetric(statsIntervalDesc, prometheus.GaugeValue, a.cfg.AppStatisticsInterval.Seconds(), id, name)
	if day == nil {
		return
	}
	for _, m := range statsMetrics {
		v, ok := day.values[m.field]
		switch {
		case !ok:
		case m.chatType != "":
			ch <- prometheus.MustNewConstMetric(m.desc, prometheus.GaugeValue, v, id, name, m.chatType)
		default:
			ch <- prometheus.MustNewConstMetric(m.desc, prometheus.GaugeValue, v, id, name)
		}
	}
	ch <- prometheus.MustNewConstMetric(statsDayDesc, prometheus.GaugeValue, float64(day.start.Unix()), id, name)
	ch <- prometheus.MustNewConstMetric(statsRefreshDesc, prometheus.GaugeValue, float64(refreshed.Unix()), id, name)
}
