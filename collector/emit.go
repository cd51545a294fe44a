package collector

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/tencentchat"
)

// appCollector is one scrape of one app, bound to the scrape's context so
// its deadline reaches every API call. It describes nothing: a registry
// takes any number of such unchecked collectors, one per app, and gathers
// them concurrently. What it fetched stays on it for the debug probe.
type appCollector struct {
	e   *Exporter
	ctx context.Context
	a   *app

	res *appResult // set by Collect
	src source
}

func (c *appCollector) Describe(chan<- *prometheus.Desc) {}

func (c *appCollector) Collect(ch chan<- prometheus.Metric) {
	a := c.a
	if a.cfg.AppStatistics {
		c.e.refreshStatsIfDue(a)
	}
	c.res, c.src = c.e.result(c.ctx, a)
	emitAccounts(ch, a, c.res)
	if a.cfg.AppStatistics {
		emitStats(ch, a)
	}
	emitApp(ch, a, c.res)
}

// An account yields up to four samples with the same few label values.
// prometheus.MustNewConstMetric would build a label-pair slice and box every
// value for each sample (about 18 allocations a sample). Instead, the label
// pairs that never change (account, app_name, sdkappid) are built once per
// configuration, and each scrape adds one allocation per account holding
// its name and owner pairs and its samples. The registry treats label pairs
// as immutable, so sharing them between samples and scrapes is safe.

// Label names, addressable for dto.LabelPair. Never written.
var (
	lnAccount      = "account"
	lnAppName      = "app_name"
	lnName         = "name"
	lnOwnerAccount = "owner_account"
	lnSDKAppID     = "sdkappid"
)

// labelPairs are an app's label pairs that live as long as its
// configuration.
type labelPairs struct {
	appName, sdkappid dto.LabelPair
	accounts          []dto.LabelPair     // one per configured account
	short             [][3]*dto.LabelPair // account, app_name, sdkappid: sorted by name
}

func newLabelPairs(a *app) *labelPairs {
	p := &labelPairs{
		appName:  dto.LabelPair{Name: &lnAppName, Value: &a.cfg.Name},
		sdkappid: dto.LabelPair{Name: &lnSDKAppID, Value: &a.sdkappid},
		accounts: make([]dto.LabelPair, len(a.cfg.Accounts)),
		short:    make([][3]*dto.LabelPair, len(a.cfg.Accounts)),
	}
	for i := range a.cfg.Accounts {
		p.accounts[i] = dto.LabelPair{Name: &lnAccount, Value: &a.cfg.Accounts[i]}
		p.short[i] = [3]*dto.LabelPair{&p.accounts[i], &p.appName, &p.sdkappid}
	}
	return p
}

// accountSeries is one fetched account's samples and per-scrape labels:
// the subscribers, last message, creation and up gauges.
type accountSeries struct {
	name, owner dto.LabelPair
	long        [5]*dto.LabelPair // account, app_name, name, owner_account, sdkappid
	samples     [4]gaugeSample
}

// gaugeSample is a prometheus.Metric for one gauge value.
type gaugeSample struct {
	desc   *prometheus.Desc
	labels []*dto.LabelPair
	value  float64
	gauge  dto.Gauge
}

func (s *gaugeSample) Desc() *prometheus.Desc { return s.desc }

func (s *gaugeSample) Write(m *dto.Metric) error {
	s.gauge.Value = &s.value
	m.Label = s.labels
	m.Gauge = &s.gauge
	return nil
}

// emitAccounts sends the series of a result's accounts. A time of 0 means
// "never" (an account that never sent a message) and is left out.
func emitAccounts(ch chan<- prometheus.Metric, a *app, r *appResult) {
	for i := range r.accounts {
		acct := &r.accounts[i]
		if !accountUp(acct) {
			ch <- &gaugeSample{desc: accountUpDesc, labels: a.labels.short[i][:]}
			continue
		}
		// name and owner live in the result, which outlives the scrape.
		s := &accountSeries{
			name:  dto.LabelPair{Name: &lnName, Value: &acct.Info.Name},
			owner: dto.LabelPair{Name: &lnOwnerAccount, Value: &acct.Info.OwnerAccount},
		}
		s.long = [5]*dto.LabelPair{&a.labels.accounts[i], &a.labels.appName, &s.name, &s.owner, &a.labels.sdkappid}
		n := 0
		add := func(desc *prometheus.Desc, v tencentchat.OptInt, zeroIsNever bool) {
			if v.Set && (v.V > 0 || !zeroIsNever) {
				s.samples[n] = gaugeSample{desc: desc, value: float64(v.V), labels: s.long[:]}
				ch <- &s.samples[n]
				n++
			}
		}
		add(subscribersDesc, acct.Info.SubscriberNum, false)
		add(lastMessageDesc, acct.Info.LastMsgTime, true)
		add(creationDesc, acct.Info.CreateTime, true)
		s.samples[n] = gaugeSample{desc: accountUpDesc, value: 1, labels: a.labels.short[i][:]}
		ch <- &s.samples[n]
	}
}

// emitApp sends the app's own series, once all its accounts are done.
func emitApp(ch chan<- prometheus.Metric, a *app, r *appResult) {
	name, id := a.cfg.Name, a.sdkappid
	ch <- prometheus.MustNewConstMetric(upDesc, prometheus.GaugeValue, float64(boolInt(r.ok)), id, name)
	ch <- prometheus.MustNewConstMetric(scrapeDurationDesc, prometheus.GaugeValue, r.duration.Seconds(), id, name)
	ch <- prometheus.MustNewConstMetric(invalidDesc, prometheus.CounterValue, float64(a.counters.invalid.Load()), id, name)
	for api, apiName := range apis {
		if api == apiAppInfo && !a.cfg.AppStatistics {
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

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
