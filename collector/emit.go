package collector

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/exposition"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/source"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/tencentchat"
)

// app is one configured app, ready to scrape: its source, and what the
// collector keeps of it.
type app struct {
	*source.App
	counters *counters // carried over a reload, as the source's statistics
	labels   [2]lazyLabels
}

// lazyLabels are an app's label pairs in one encoding, built at the first
// scrape that needs them: a protobuf scraper costs a text-only
// configuration nothing.
type lazyLabels struct {
	once sync.Once
	l    *encodedLabels
}

// labelsFor are the app's label pairs in enc.
func (a *app) labelsFor(enc exposition.Encoding) *encodedLabels {
	ll := &a.labels[enc]
	ll.once.Do(func() { ll.l = newEncodedLabels(a, enc) })
	return ll.l
}

// appCollector is one scrape of one app, bound to the scrape's context so
// its deadline reaches every API call. It describes nothing: a registry
// takes any number of such unchecked collectors, one per app, and gathers
// them concurrently. It sends the app's own series; the accounts' series
// are written by writeAccounts straight from its result.
type appCollector struct {
	now func() time.Time // the statistics' clock
	ctx context.Context
	a   *app

	res    *source.Result // set by Collect
	origin source.Origin
}

func (c *appCollector) Describe(chan<- *prometheus.Desc) {}

func (c *appCollector) Collect(ch chan<- prometheus.Metric) {
	a := c.a
	if a.Cfg.DailyStatistics() && a.Cfg.RefreshInterval == 0 {
		// In background mode the statistics have a loop of their own.
		a.RefreshStatsIfDue(c.now())
	}
	c.res, c.origin = a.Result(c.ctx)
	if a.Cfg.AppStatistics {
		emitStats(ch, a)
	}
	if a.Cfg.PushStatistics {
		emitPush(ch, a)
	}
	emitApp(ch, a, c.res)
}

// encodedLabels are an app's label pairs that live as long as its
// configuration, encoded once: account and app_name before the per-scrape
// name and owner_account, sdkappid after them (label names in order).
type encodedLabels struct {
	buf      []byte // every account's account and app_name pairs, one after another
	end      []int  // where each account's end in buf
	sdkappid []byte
}

func newEncodedLabels(a *app, enc exposition.Encoding) *encodedLabels {
	l := &encodedLabels{end: make([]int, len(a.Cfg.Accounts)), sdkappid: enc.AppendLabel(nil, "sdkappid", a.SDKAppID)}
	appName := enc.AppendLabel(nil, "app_name", a.Cfg.Name)
	for i, id := range a.Cfg.Accounts {
		l.buf = append(enc.AppendLabel(l.buf, "account", id), appName...)
		l.end[i] = len(l.buf)
	}
	return l
}

func (l *encodedLabels) account(i int) []byte {
	start := 0
	if i > 0 {
		start = l.end[i-1]
	}
	return l.buf[start:l.end[i]]
}

// accountFamilies are the per-account gauges, with the value each takes
// for account i of an app from its result r, when it has one. Every value
// family needs the account up (its name and owner label it). A time of 0
// means "never" (an account that never sent a message) and is left out,
// as a value not sent is.
var accountFamilies = []struct {
	desc       *prometheus.Desc
	name, help string
	value      func(a *app, i int, r *tencentchat.Result, pub publishedLookup) (float64, bool)
	publishing bool // written only when an app of the scrape has publishing_activity
}{
	{subscribersDesc, subscribersName, subscribersHelp, func(_ *app, _ int, r *tencentchat.Result, _ publishedLookup) (float64, bool) {
		return optional(r.Info.SubscriberNum, false)
	}, false},
	{lastMessageDesc, lastMessageName, lastMessageHelp, func(_ *app, _ int, r *tencentchat.Result, _ publishedLookup) (float64, bool) {
		return optional(r.Info.LastMsgTime, true)
	}, false},
	{creationDesc, creationName, creationHelp, func(_ *app, _ int, r *tencentchat.Result, _ publishedLookup) (float64, bool) {
		return optional(r.Info.CreateTime, true)
	}, false},
	// The configured cap, beside every subscriber value, so the two
	// divide without a join.
	{limitDesc, limitName, limitHelp, func(a *app, i int, r *tencentchat.Result, _ publishedLookup) (float64, bool) {
		if !r.Info.SubscriberNum.Set {
			return 0, false
		}
		return float64(a.Cfg.Cap(a.Cfg.Accounts[i])), true
	}, false},
	{lastPubDesc, lastPubName, lastPubHelp, func(a *app, i int, _ *tencentchat.Result, pub publishedLookup) (float64, bool) {
		p, ok := pub(a.Cfg.Accounts[i])
		return float64(p.Time), ok
	}, true},
	{publishedDesc, publishedName, publishedHelp, func(a *app, i int, _ *tencentchat.Result, pub publishedLookup) (float64, bool) {
		p, ok := pub(a.Cfg.Accounts[i])
		return float64(p.Seq), ok
	}, true},
}

// publishedLookup is an app's publishing values by account.
type publishedLookup func(id string) (tencentchat.Published, bool)

func noPublished(string) (tencentchat.Published, bool) { return tencentchat.Published{}, false }

// optional is an API value, if it was sent (and, with zeroIsNever, is not
// 0).
func optional(v tencentchat.OptInt, zeroIsNever bool) (float64, bool) {
	return float64(v.V), v.Set && (v.V != 0 || !zeroIsNever)
}

// withPublished calls f with the app's publishing values (none when
// publishing_activity is off), under their read lock.
func withPublished(a *app, f func(publishedLookup)) {
	if !a.Cfg.PublishingActivity {
		f(noPublished)
		return
	}
	a.PublishedValues(func(get func(string) (tencentchat.Published, bool)) { f(get) })
}

// writeAccounts writes the accounts' families of every app of a scrape,
// each family whole (the formats forbid interleaving), from the results,
// in the writer's format. Only this writes account series.
func writeAccounts(w *exposition.Writer, cs []*appCollector) {
	enc := w.Encoding()
	publishing := slices.ContainsFunc(cs, func(c *appCollector) bool { return c.a.Cfg.PublishingActivity })
	var mid []byte // the name and owner_account pairs
	for _, f := range accountFamilies {
		if f.publishing && !publishing {
			continue
		}
		w.Family(f.name, f.help, func() {
			for _, c := range cs {
				l := c.a.labelsFor(enc)
				withPublished(c.a, func(pub publishedLookup) {
					for i := range c.res.Accounts {
						r := &c.res.Accounts[i]
						if !source.AccountUp(r) {
							continue
						}
						if v, ok := f.value(c.a, i, r, pub); ok {
							mid = enc.AppendLabel(mid[:0], "name", r.Info.Name)
							mid = enc.AppendLabel(mid, "owner_account", r.Info.OwnerAccount)
							w.Sample(v, l.account(i), mid, l.sdkappid)
						}
					}
				})
			}
		})
	}
	w.Family(accountUpName, accountUpHelp, func() {
		for _, c := range cs {
			l := c.a.labelsFor(enc)
			for i := range c.res.Accounts {
				w.Sample(float64(boolInt(source.AccountUp(&c.res.Accounts[i]))), l.account(i), l.sdkappid)
			}
		}
	})
}

// emitApp sends the app's own series, once all its accounts are done.
func emitApp(ch chan<- prometheus.Metric, a *app, r *source.Result) {
	name, id := a.Cfg.Name, a.SDKAppID
	ch <- prometheus.MustNewConstMetric(upDesc, prometheus.GaugeValue, float64(boolInt(r.OK)), id, name)
	if r != source.NotYet { // no fetch has ended: there is no duration to tell
		ch <- prometheus.MustNewConstMetric(scrapeDurationDesc, prometheus.GaugeValue, r.Duration.Seconds(), id, name)
	}
	ch <- prometheus.MustNewConstMetric(invalidDesc, prometheus.CounterValue, float64(a.counters.invalid.Load()), id, name)
	ch <- prometheus.MustNewConstMetric(missingDesc, prometheus.CounterValue, float64(a.counters.missing.Load()), id, name)
	ch <- prometheus.MustNewConstMetric(rateLimitDesc, prometheus.GaugeValue, a.Cfg.RateLimit, id, name)
	ch <- prometheus.MustNewConstMetric(limiterWaitDesc, prometheus.CounterValue, time.Duration(a.counters.limiterWait.Load()).Seconds(), id, name)
	a.counters.duration.Collect(ch)
	if a.Cfg.RefreshInterval > 0 {
		ch <- prometheus.MustNewConstMetric(refreshIntervalDesc, prometheus.GaugeValue, a.Cfg.RefreshInterval.Seconds(), id, name)
		if r != source.NotYet {
			ch <- prometheus.MustNewConstMetric(refreshTimeDesc, prometheus.GaugeValue, float64(r.At.Add(r.Duration).UnixNano())/1e9, id, name)
			ch <- prometheus.MustNewConstMetric(refreshDurationDesc, prometheus.GaugeValue, r.Duration.Seconds(), id, name)
		}
	}
	for api, apiName := range apis {
		if (api == apiAppInfo && !a.Cfg.AppStatistics) || (api == apiMsgGetSimple && !a.Cfg.PublishingActivity) ||
			(api == apiPushStatistics && !a.Cfg.PushStatistics) {
			continue
		}
		c := &a.counters.api[api]
		ch <- prometheus.MustNewConstMetric(requestsDesc, prometheus.CounterValue, float64(c.requests.Load()), id, name, apiName)
		for i, code := range codeLabels {
			ch <- prometheus.MustNewConstMetric(errorsDesc, prometheus.CounterValue, float64(c.codes[i].Load()), id, name, apiName, code)
		}
		for i, reason := range reasons {
			ch <- prometheus.MustNewConstMetric(failuresDesc, prometheus.CounterValue, float64(c.failures[i].Load()), id, name, apiName, string(reason))
		}
	}
}

// emitStats sends an app's statistics, if it has any yet.
func emitStats(ch chan<- prometheus.Metric, a *app) {
	day, refreshed := a.Stats()
	id, name := a.SDKAppID, a.Cfg.Name
	ch <- prometheus.MustNewConstMetric(statsIntervalDesc, prometheus.GaugeValue, a.Cfg.AppStatisticsInterval.Seconds(), id, name)
	if day == nil {
		return
	}
	for _, m := range statsMetrics {
		v, ok := day.Values[m.field]
		switch {
		case !ok:
		case m.chatType != "":
			ch <- prometheus.MustNewConstMetric(m.desc, prometheus.GaugeValue, v, id, name, m.chatType)
		default:
			ch <- prometheus.MustNewConstMetric(m.desc, prometheus.GaugeValue, v, id, name)
		}
	}
	ch <- prometheus.MustNewConstMetric(statsDayDesc, prometheus.GaugeValue, float64(day.Start.Unix()), id, name)
	ch <- prometheus.MustNewConstMetric(statsRefreshDesc, prometheus.GaugeValue, float64(refreshed.Unix()), id, name)
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
func emitPush(ch chan<- prometheus.Metric, a *app) {
	day, _ := a.PushStats()
	if day == nil {
		return
	}
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
	for _, p := range day.Platforms { // each code once (tencentchat.PushDay)
		platform := pushPlatformName(p.Code)
		stages(p.PushCounts, func(stage string, v float64) {
			ch <- prometheus.MustNewConstMetric(pushByPlatformDesc, prometheus.GaugeValue, v, id, name, platform, stage)
		})
	}
	ch <- prometheus.MustNewConstMetric(pushDayDesc, prometheus.GaugeValue, float64(day.Start.Unix()), id, name)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
