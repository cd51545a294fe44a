package source

import (
	"context"
	"errors"
	"time"

	"github.com/go-kit/log/level"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/config"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/tencentchat"
)

// The push funnel (push_statistics) comes from normal_push_statistics,
// one call a refresh, every app_statistics_interval, for the day the app
// statistics are of (yesterday in Beijing when they are off or not fetched
// yet). The API allows one call a second per app: the job's pace keeps
// every attempt a second after the end of the one before, across runs and
// reloads. An answer the API refused (a non-zero code: Push not enabled,
// say) clears the funnel, so its series are absent, and is logged at most
// once an hour; a failure keeps the last good day until the next refresh.

// PushDay is one Beijing day's push funnel, as kept.
type PushDay struct {
	Start time.Time // 00:00 UTC+8 of the day
	tencentchat.PushDay
}

// Push is the push job's state.
type Push struct {
	Day *PushDay  // the last good day; nil before the first or once the API refused it
	At  time.Time // of the last call, by the app's clock
	Err error     // the last call's, if it failed
}

// PushJob refreshes the push funnel.
var PushJob = &Job{
	Name:    "push statistics",
	APIs:    []string{tencentchat.APIPushStatistics},
	Every:   func(c *config.App) time.Duration { return on(c.PushStatistics, c.AppStatisticsInterval) },
	Pace:    func(*config.App) Pace { return Pace{Gap: time.Second} },
	Timeout: jobTimeout,
	Run: func(ctx context.Context, r *Run) (any, error) {
		a := r.App
		start := yesterday(r.Now)
		if s := a.Stats(); s != nil {
			start = s.Day.Start
		}
		got, err := a.client.PushStatistics(ctx, start, start.Add(24*time.Hour-time.Second), r.Pace, r.Observe)
		for range got.Invalid + got.Dropped {
			a.st.tally.Invalid()
		}
		if got.Invalid+got.Dropped > 0 {
			level.Warn(a.logger).Log("msg", "push statistics: values left out (negative, not a number, missing, or platforms beyond the bound)",
				"invalid", got.Invalid, "platforms_dropped", got.Dropped)
		}
		next := &Push{At: r.Now, Err: err}
		if prev, _ := r.Prev.(*Push); prev != nil {
			next.Day = prev.Day
		}
		var te *tencentchat.Error
		switch {
		case err == nil:
			next.Day = &PushDay{Start: start, PushDay: got}
		case errors.As(err, &te) && te.Code != 0 && te.Reason == tencentchat.ReasonNone && !tencentchat.IsRateLimit(te):
			next.Day = nil
			a.st.pushRefused.Do(func() {
				level.Warn(a.logger).Log("msg", "push statistics refused by the API (is the Push service enabled for the app?); no push series (logged at most once an hour)",
					"code", te.Code, "err", err)
			})
		default:
			level.Warn(a.logger).Log("msg", "push statistics not refreshed; serving the last good day", "err", err)
		}
		return next, nil
	},
}

// PushStats is the app's push funnel job's state; nil before its first
// call.
func (a *App) PushStats() *Push {
	p, _ := a.State(PushJob.Name).(*Push)
	return p
}

// yesterday is 00:00 UTC+8 of the Beijing day before now's.
func yesterday(now time.Time) time.Time {
	y, m, d := now.In(tencentchat.Beijing).Date()
	return time.Date(y, m, d-1, 0, 0, 0, 0, tencentchat.Beijing)
}
