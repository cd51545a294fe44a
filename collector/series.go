package collector

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// An account yields up to four samples with the same few label values.
// prometheus.MustNewConstMetric would build a label-pair slice and box every
// value for each sample (about 18 allocations a sample); accountSeries holds
// an account's samples and one shared set of label pairs in a single
// allocation instead. The registry treats label pairs as immutable, so
// sharing them between samples is safe.
type accountSeries struct {
	pairs   [5]dto.LabelPair
	long    [5]*dto.LabelPair // account, app_name, name, owner_account, sdkappid: sorted by name
	short   [3]*dto.LabelPair // account, app_name, sdkappid
	samples [4]gaugeSample
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

// Label names, addressable for dto.LabelPair. Never written.
var (
	lnAccount      = "account"
	lnAppName      = "app_name"
	lnName         = "name"
	lnOwnerAccount = "owner_account"
	lnSDKAppID     = "sdkappid"
)

// newAccountSeries points the label pairs at the given values, which must
// outlive the scrape (they live in the app's config and the fetch result).
func newAccountSeries(sdkappid, appName, account, name, owner *string) *accountSeries {
	s := &accountSeries{}
	s.pairs = [5]dto.LabelPair{
		{Name: &lnAccount, Value: account},
		{Name: &lnAppName, Value: appName},
		{Name: &lnName, Value: name},
		{Name: &lnOwnerAccount, Value: owner},
		{Name: &lnSDKAppID, Value: sdkappid},
	}
	for i := range s.pairs {
		s.long[i] = &s.pairs[i]
	}
	s.short = [3]*dto.LabelPair{&s.pairs[0], &s.pairs[1], &s.pairs[4]}
	return s
}

// add returns the next sample, set to desc and v with the long or short
// label set.
func (s *accountSeries) add(i int, desc *prometheus.Desc, v float64, long bool) prometheus.Metric {
	m := &s.samples[i]
	m.desc, m.value = desc, v
	if long {
		m.labels = s.long[:]
	} else {
		m.labels = s.short[:]
	}
	return m
}
