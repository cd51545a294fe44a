package collector

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/config"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/source"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/tencentchat"
)

// family is one kind of data the exporter reads for an app: a row of the
// table that the scrape (emit.go), the counters, the debug probe and the
// status page loop over. Adding a family is a client method and its
// decoder (internal/tencentchat), a Job (internal/source), a row here, the
// simulator's route for its path, its tests and its docs (CONTRIBUTING).
type family struct {
	name string
	// on tells whether an app has the family switched on.
	on func(c *config.App) bool
	// job is the background job that fetches it (its Every says when it
	// runs); nil for none.
	job *source.Job
	// api is the API its calls go to: its counters' slot and api label.
	api string
	// path is the API's path, which the simulator answers.
	path string
	// emit sends the app's own series of the family; nil for none.
	emit func(ch chan<- prometheus.Metric, c *appCollector)
	// accountSeries are the per-account families it adds, written from
	// the data straight (writeAccounts) when an app of the scrape has it on.
	accountSeries []accountSeries
	// debug writes its lines of the debug probe; nil for none.
	debug func(b *strings.Builder, c *appCollector)
	// status, if set, is its column on the status page: a heading, and
	// the app's cell ("off" where the family is off).
	status *statusColumn
}

// statusColumn is a family's column of the status page.
type statusColumn struct {
	heading string
	cell    func(a *app) string
}

// accountSeries is a per-account gauge family. values binds it to one
// app for one scrape: f is called with account i's value, if it has one,
// from its result r (up: its name and owner label it).
type accountSeries struct {
	desc       *prometheus.Desc // the same family as a const metric's, for the tests' reference
	name, help string
	values     func(a *app, f func(value func(i int, r *tencentchat.Result) (float64, bool)))
}

// always is on for every app.
func always(*config.App) bool { return true }

// plain is accountSeries.values for a value of the result alone.
func plain(v func(a *app, i int, r *tencentchat.Result) (float64, bool)) func(*app, func(func(int, *tencentchat.Result) (float64, bool))) {
	return func(a *app, f func(func(int, *tencentchat.Result) (float64, bool))) {
		f(func(i int, r *tencentchat.Result) (float64, bool) { return v(a, i, r) })
	}
}

// defaultFamilies is the table, in the order of the answer's account families
// and of the debug probe's sections. statsFields are the getappinfo fields
// the statistics keep.
func defaultFamilies() []*family {
	return []*family{
		{
			name: "official accounts", on: always, job: source.AccountsJob,
			api: tencentchat.APIOfficialAccountInfo, path: tencentchat.APIPath,
			emit: emitAccountsApp,
			accountSeries: []accountSeries{
				{subscribersDesc, subscribersName, subscribersHelp, plain(func(_ *app, _ int, r *tencentchat.Result) (float64, bool) {
					return optional(r.Info.SubscriberNum, false)
				})},
				{lastMessageDesc, lastMessageName, lastMessageHelp, plain(func(_ *app, _ int, r *tencentchat.Result) (float64, bool) {
					return optional(r.Info.LastMsgTime, true)
				})},
				{creationDesc, creationName, creationHelp, plain(func(_ *app, _ int, r *tencentchat.Result) (float64, bool) {
					return optional(r.Info.CreateTime, true)
				})},
				// The configured cap, beside every subscriber value, so the
				// two divide without a join.
				{limitDesc, limitName, limitHelp, plain(func(a *app, i int, r *tencentchat.Result) (float64, bool) {
					if !r.Info.SubscriberNum.Set {
						return 0, false
					}
					return float64(a.Cfg.Cap(a.Cfg.Accounts[i])), true
				})},
			},
			debug: debugAccounts,
		},
		{
			name: "push funnel", on: func(c *config.App) bool { return c.PushStatistics }, job: source.PushJob,
			api: tencentchat.APIPushStatistics, path: tencentchat.PushStatisticsPath,
			emit:   emitPush,
			debug:  debugPush,
			status: &statusColumn{"push statistics", pushSummary},
		},
		{
			name: "publishing activity", on: func(c *config.App) bool { return c.PublishingActivity }, job: source.PublishingJob,
			api: tencentchat.APIMsgGetSimple, path: tencentchat.MsgGetSimplePath,
			accountSeries: []accountSeries{
				{lastPubDesc, lastPubName, lastPubHelp, published(func(p tencentchat.Published) float64 { return float64(p.Time) })},
				{publishedDesc, publishedName, publishedHelp, published(func(p tencentchat.Published) float64 { return float64(p.Seq) })},
			},
			debug:  debugPublishing,
			status: &statusColumn{"publishing activity", publishingSummary},
		},
		{
			name: "app statistics", on: func(c *config.App) bool { return c.AppStatistics }, job: source.StatisticsJob(statsFields),
			api: tencentchat.APIAppInfo, path: tencentchat.AppInfoPath,
			emit:  emitStats,
			debug: debugStats,
		},
	}
}

// optional is an API value, if it was sent (and, with zeroIsNever, is not
// 0).
func optional(v tencentchat.OptInt, zeroIsNever bool) (float64, bool) {
	return float64(v.V), v.Set && (v.V != 0 || !zeroIsNever)
}

// published is accountSeries.values for a publishing value, read under
// one lock for the whole scrape.
func published(v func(tencentchat.Published) float64) func(*app, func(func(int, *tencentchat.Result) (float64, bool))) {
	return func(a *app, f func(func(int, *tencentchat.Result) (float64, bool))) {
		a.Published().Read(func(get func(string) (tencentchat.Published, bool)) {
			f(func(i int, _ *tencentchat.Result) (float64, bool) {
				p, ok := get(a.Cfg.Accounts[i])
				return v(p), ok
			})
		})
	}
}

// emitStats sends an app's statistics, if it has any yet.
func emitStats(ch chan<- prometheus.Metric, c *appCollector) {
	a := c.a
	s := a.Stats()
	id, name := a.SDKAppID, a.Cfg.Name
	ch <- prometheus.MustNewConstMetric(statsIntervalDesc, prometheus.GaugeValue, a.Cfg.AppStatisticsInterval.Seconds(), id, name)
	if s == nil {
		return
	}
	for _, m := range statsMetrics {
		v, ok := s.Day.Values[m.field]
		switch {
		case !ok:
		case m.chatType != "":
			ch <- prometheus.MustNewConstMetric(m.desc, prometheus.GaugeValue, v, id, name, m.chatType)
		default:
			ch <- prometheus.MustNewConstMetric(m.desc, prometheus.GaugeValue, v, id, name)
		}
	}
	ch <- prometheus.MustNewConstMetric(statsDayDesc, prometheus.GaugeValue, float64(s.Day.Start.Unix()), id, name)
	ch <- prometheus.MustNewConstMetric(statsRefreshDesc, prometheus.GaugeValue, float64(s.RefreshedAt.Unix()), id, name)
}

// pushPlatforms names the push platform codes (Tencent's push callback
// model); any other code is "code_N".
var pushPlatforms = [...]string{"unknown", "apns", "xiaomi", "huawei", "fcm", "meizu", "oppo", "vivo", "honor"}

func pushPlatformName(code int) string {
	if code >= 0 && code < len(pushPlatforms) {
		return pushPlatforms[code]
	}
	return "code_" + strconv.Itoa(code)
}

// emitPush sends the app's push funnel, if it has one: the totals and each
// platform's, by stage, each value only when the answer gave it.
func emitPush(ch chan<- prometheus.Metric, c *appCollector) {
	a := c.a
	p := a.PushStats()
	if p == nil || p.Day == nil {
		return
	}
	day := p.Day
	id, name := a.SDKAppID, a.Cfg.Name
	stages := func(c tencentchat.PushCounts, send func(stage string, v float64)) {
		for _, s := range []struct {
			stage string
			v     tencentchat.OptInt
		}{{"eligible", c.Eligible}, {"sent", c.Sent}, {"delivered", c.Delivered}, {"clicked", c.Clicked}} {
			if s.v.Set {
				send(s.stage, float64(s.v.V))
			}
		}
	}
	stages(day.Total, func(stage string, v float64) {
		ch <- prometheus.MustNewConstMetric(pushDesc, prometheus.GaugeValue, v, id, name, stage)
	})
	for _, pl := range day.Platforms { // each code once (tencentchat.PushDay)
		platform := pushPlatformName(pl.Code)
		stages(pl.PushCounts, func(stage string, v float64) {
			ch <- prometheus.MustNewConstMetric(pushByPlatformDesc, prometheus.GaugeValue, v, id, name, platform, stage)
		})
	}
	ch <- prometheus.MustNewConstMetric(pushDayDesc, prometheus.GaugeValue, float64(day.Start.Unix()), id, name)
}

func debugPush(b *strings.Builder, c *appCollector) {
	a := c.a
	fmt.Fprintf(b, "\n%s (push funnel, with the app statistics every %v, one call at most, at most one a second):\n  %s\n",
		tencentchat.APIPushStatistics, a.Cfg.AppStatisticsInterval, pushSummary(a))
	if last, _ := a.Story(source.PushJob.Name); !last.At.IsZero() {
		for _, at := range last.Calls {
			b.WriteString("  ")
			writeAttempt(b, at)
		}
	}
}

func debugPublishing(b *strings.Builder, c *appCollector) {
	a := c.a
	fmt.Fprintf(b, "\n%s (publishing activity, one call per account every %v, at most %g calls/s, apart from scrapes):\n  %s\n",
		tencentchat.APIMsgGetSimple, a.Cfg.PublishingActivityInterval, a.Cfg.PublishingPace(), publishingSummary(a))
}

func debugStats(b *strings.Builder, c *appCollector) {
	a := c.a
	last, running := a.Story(source.StatisticsJobName)
	fmt.Fprintf(b, "\n%s (app statistics, refreshed every %v apart from scrapes):\n", tencentchat.APIAppInfo, a.Cfg.AppStatisticsInterval)
	switch {
	case last.At.IsZero() && running:
		b.WriteString("  the first refresh is under way\n")
	case last.At.IsZero():
		b.WriteString("  not refreshed yet\n")
	default:
		outcome := "succeeded"
		if last.Err != nil {
			outcome = "failed: " + last.Err.Error()
		}
		fmt.Fprintf(b, "  last refresh at %s %s; its calls (%d):\n", last.At.UTC().Format(time.RFC3339), outcome, len(last.Calls))
		for _, at := range last.Calls {
			b.WriteString("  ")
			writeAttempt(b, at)
		}
	}
}

// publishingSummary is the app's last publishing round, in a line.
func publishingSummary(a *app) string {
	last, running := a.Story(source.PublishingJob.Name)
	var s string
	switch {
	case last.At.IsZero():
		s = "no round ended yet"
	default:
		r, before := a.Published().Round()
		if running {
			r = before // the counts of the round that ended, not of the one under way
		}
		s = fmt.Sprintf("last round at %s: %d accounts in %v, %d calls, %d failed, %d gone, %d never published",
			last.At.UTC().Format(time.RFC3339), r.Accounts, last.Took.Round(time.Millisecond), len(last.Calls), r.Failed, r.Gone, r.NeverPublished)
	}
	if running {
		s += "; a round is under way"
	}
	return s
}

// pushSummary is the app's last push statistics call, in a line.
func pushSummary(a *app) string {
	p := a.PushStats()
	switch {
	case p == nil:
		return "not refreshed yet"
	case p.Err != nil && p.Day != nil:
		return fmt.Sprintf("last call at %s failed (%v); serving the day of %s", p.At.UTC().Format(time.RFC3339), p.Err, p.Day.Start.Format("2006-01-02"))
	case p.Err != nil:
		return fmt.Sprintf("last call at %s failed: %v; no push series", p.At.UTC().Format(time.RFC3339), p.Err)
	}
	return fmt.Sprintf("last call at %s: the day of %s (Beijing), %d platforms", p.At.UTC().Format(time.RFC3339), p.Day.Start.Format("2006-01-02"), len(p.Day.Platforms))
}
