package collector

import (
	"context"
	"slices"
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
	counters *counters // the source's Tally: carried over a reload with it
	families []*family // the rows of the table it has on, in the table's order
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
// them concurrently. It sends the app's own series, each family's and the
// counters of each family's API; the accounts' series are written by
// writeAccounts straight from its result.
type appCollector struct {
	ctx context.Context
	a   *app

	res    *source.Result // set by Collect
	origin source.Origin
}

func (c *appCollector) Describe(chan<- *prometheus.Desc) {}

func (c *appCollector) Collect(ch chan<- prometheus.Metric) {
	c.res, c.origin = c.a.Result(c.ctx)
	for _, f := range c.a.families {
		if f.emit != nil {
			f.emit(ch, c)
		}
	}
	emitCounters(ch, c.a)
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

// writeAccounts writes the accounts' families of every app of a scrape,
// each family whole (the formats forbid interleaving), from the results,
// in the writer's format: the families' account series, in the table's
// order, each where an app of the scrape has its family on. Every value
// family needs the account up (its name and owner label it). Only this
// writes account series.
func writeAccounts(w *exposition.Writer, table []*family, cs []*appCollector) {
	enc := w.Encoding()
	var mid []byte // the name and owner_account pairs
	for _, fam := range table {
		if !slices.ContainsFunc(cs, func(c *appCollector) bool { return fam.on(&c.a.Cfg) }) {
			continue
		}
		for _, s := range fam.accountSeries {
			w.Family(s.name, s.help, func() {
				for _, c := range cs {
					if !fam.on(&c.a.Cfg) {
						continue
					}
					l := c.a.labelsFor(enc)
					s.values(c.a, func(value func(int, *tencentchat.Result) (float64, bool)) {
						for i := range c.res.Accounts {
							r := &c.res.Accounts[i]
							if !source.AccountUp(r) {
								continue
							}
							if v, ok := value(i, r); ok {
								mid = enc.AppendLabel(mid[:0], "name", r.Info.Name)
								mid = enc.AppendLabel(mid, "owner_account", r.Info.OwnerAccount)
								w.Sample(v, l.account(i), mid, l.sdkappid)
							}
						}
					})
				}
			})
		}
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

// emitAccountsApp sends the app's own series of its accounts' fetch, once
// all its accounts are done.
func emitAccountsApp(ch chan<- prometheus.Metric, c *appCollector) {
	a, r := c.a, c.res
	name, id := a.Cfg.Name, a.SDKAppID
	ch <- prometheus.MustNewConstMetric(upDesc, prometheus.GaugeValue, float64(boolInt(r.OK)), id, name)
	if r != source.NotYet { // no fetch has ended: there is no duration to tell
		ch <- prometheus.MustNewConstMetric(scrapeDurationDesc, prometheus.GaugeValue, r.Duration.Seconds(), id, name)
	}
	ch <- prometheus.MustNewConstMetric(rateLimitDesc, prometheus.GaugeValue, a.Cfg.RateLimit, id, name)
	if a.Cfg.RefreshInterval > 0 {
		ch <- prometheus.MustNewConstMetric(refreshIntervalDesc, prometheus.GaugeValue, a.Cfg.RefreshInterval.Seconds(), id, name)
		if r != source.NotYet {
			ch <- prometheus.MustNewConstMetric(refreshTimeDesc, prometheus.GaugeValue, float64(r.At.Add(r.Duration).UnixNano())/1e9, id, name)
			ch <- prometheus.MustNewConstMetric(refreshDurationDesc, prometheus.GaugeValue, r.Duration.Seconds(), id, name)
		}
	}
}

// emitCounters sends the app's counters: those of the app, and those of
// each of its families' APIs.
func emitCounters(ch chan<- prometheus.Metric, a *app) {
	name, id := a.Cfg.Name, a.SDKAppID
	ch <- prometheus.MustNewConstMetric(invalidDesc, prometheus.CounterValue, float64(a.counters.invalid.Load()), id, name)
	ch <- prometheus.MustNewConstMetric(missingDesc, prometheus.CounterValue, float64(a.counters.missing.Load()), id, name)
	ch <- prometheus.MustNewConstMetric(limiterWaitDesc, prometheus.CounterValue, time.Duration(a.counters.limiterWait.Load()).Seconds(), id, name)
	a.counters.duration.Collect(ch)
	for _, f := range a.families {
		api, ok := a.counters.apiIndex(f.api)
		if !ok {
			continue
		}
		c := &a.counters.api[api]
		ch <- prometheus.MustNewConstMetric(requestsDesc, prometheus.CounterValue, float64(c.requests.Load()), id, name, f.api)
		for i, code := range codeLabels {
			ch <- prometheus.MustNewConstMetric(errorsDesc, prometheus.CounterValue, float64(c.codes[i].Load()), id, name, f.api, code)
		}
		for i, reason := range reasons {
			ch <- prometheus.MustNewConstMetric(failuresDesc, prometheus.CounterValue, float64(c.failures[i].Load()), id, name, f.api, string(reason))
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
