package source

import (
	"context"
	"time"

	"github.com/go-kit/log/level"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/config"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/tencentchat"
)

// App statistics come from getappinfo, whose data changes once a day: a
// job refreshes them every app_statistics_interval, in either mode, so no
// scrape waits for them or starts a call. Scrapes serve the last good
// values; a failed refresh keeps them and is retried after a backoff.

// jobTimeout bounds one run of the daily jobs, its retries included.
const jobTimeout = time.Minute

// StatisticsJobName is StatisticsJob's name.
const StatisticsJobName = "app statistics"

// StatsDay is one complete day's values: by getappinfo field, each a
// non-negative integer.
type StatsDay struct {
	Start  time.Time // 00:00 UTC+8 of the day
	Values map[string]float64
}

// Stats is the app statistics job's state.
type Stats struct {
	Day         *StatsDay // the last good values
	RefreshedAt time.Time // when they were fetched, by the app's clock
}

// StatisticsJob refreshes the app statistics, keeping fields (the
// getappinfo fields exported).
func StatisticsJob(fields []string) *Job {
	return &Job{
		Name:    StatisticsJobName,
		APIs:    []string{tencentchat.APIAppInfo},
		Every:   func(c *config.App) time.Duration { return on(c.AppStatistics, c.AppStatisticsInterval) },
		Timeout: jobTimeout,
		Run: func(ctx context.Context, r *Run) (any, error) {
			days, err := r.App.client.GetAppInfo(ctx, r.Observe)
			if err != nil {
				return nil, err
			}
			day, err := r.App.completeDay(days, fields, r.Now)
			if err != nil {
				return nil, err
			}
			return &Stats{Day: day, RefreshedAt: r.Now}, nil
		},
	}
}

// on is d when the switch is on, else 0 (not run).
func on(enabled bool, d time.Duration) time.Duration {
	if enabled {
		return d
	}
	return 0
}

// Stats are the app's last good statistics; nil before the first success.
func (a *App) Stats() *Stats {
	s, _ := a.State(StatisticsJobName).(*Stats)
	return s
}

// completeDay is the most recent complete day of a getappinfo answer, as
// kept. A field that is missing, not a number or negative (every statistic
// is a count) is left out and counted.
func (a *App) completeDay(days []tencentchat.AppDay, fields []string, now time.Time) (*StatsDay, error) {
	best, err := tencentchat.LatestCompleteDay(days, now)
	if err != nil {
		return nil, err
	}
	out := &StatsDay{Start: best.Start, Values: make(map[string]float64, len(fields))}
	for _, f := range fields {
		v, ok := best.Int(f)
		if !ok || v < 0 {
			a.st.tally.Invalid()
			level.Debug(a.logger).Log("msg", "app statistic missing, not a number or negative; left out",
				"field", f, "value", best.Values[f])
			continue
		}
		out.Values[f] = float64(v)
	}
	return out, nil
}
