package collector

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

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

// The sample slots of an account's series.
const (
	slotSubscribers = iota
	slotLastMessage
	slotCreation
	slotUp
	numSlots
)

// accountSeries is one fetched account's samples and per-scrape labels.
type accountSeries struct {
	name, owner dto.LabelPair
	long        [5]*dto.LabelPair // account, app_name, name, owner_account, sdkappid
	samples     [numSlots]gaugeSample
}

// newAccountSeries labels account i with its name and owner, which must
// outlive the scrape (they live in the fetch result).
func newAccountSeries(p *labelPairs, i int, name, owner *string) *accountSeries {
	s := &accountSeries{
		name:  dto.LabelPair{Name: &lnName, Value: name},
		owner: dto.LabelPair{Name: &lnOwnerAccount, Value: owner},
	}
	s.long = [5]*dto.LabelPair{&p.accounts[i], &p.appName, &s.name, &s.owner, &p.sdkappid}
	return s
}

// add returns a sample slot set to desc and v, with the long label set.
func (s *accountSeries) add(slot int, desc *prometheus.Desc, v float64) prometheus.Metric {
	m := &s.samples[slot]
	m.desc, m.value, m.labels = desc, v, s.long[:]
	return m
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
