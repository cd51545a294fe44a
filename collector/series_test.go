package collector

import (
	"bytes"
	"context"
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/config"
	"github.com/tencentchat-exporter/tencentchat_exporter/simulator"
)

// TestDescriptorsMatchSeries gathers a scrape in which every kind of series
// is born (fetched accounts, a never-sent one, a terminated one, a failed
// batch, the app's own and the reload metrics) through a pedantic registry,
// which checks each sample's label names against its descriptor: emit.go
// builds label pairs by hand, and nothing else would notice them drift.
func TestDescriptorsMatchSeries(t *testing.T) {
	r := newRig(t, 120, func(a *config.App) { a.Retries = 0; a.AppStatistics = true })
	failed := []byte(simulator.AccountID(110)) // in the third batch of 50
	r.setIntercept(func(body []byte, w http.ResponseWriter, _ *http.Request) bool {
		if bytes.Contains(body, failed) {
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		}
		return false
	})
	// The statistics are refreshed apart from scrapes: a first scrape
	// starts the refresh, the gathered one serves its values.
	r.scrape(t, "/metrics", nil)
	r.waitStats(t)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(described{&appCollector{ctx: context.Background(), a: r.exp.state.Load().apps[0]}})
	reg.MustRegister(r.exp.ReloadMetrics()...)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("pedantic gather: %v", err)
	}
	got := map[string]int{}
	for _, mf := range mfs {
		got[mf.GetName()] = len(mf.GetMetric())
	}
	for _, name := range []string{
		"tencentchat_official_account_subscribers", "tencentchat_official_account_last_message_timestamp_seconds",
		"tencentchat_official_account_creation_timestamp_seconds", "tencentchat_official_account_up",
		"tencentchat_up", "tencentchat_scrape_duration_seconds", "tencentchat_api_requests_total",
		"tencentchat_api_errors_total", "tencentchat_api_request_failures_total",
		"tencentchat_exporter_config_last_reload_successful", "tencentchat_exporter_config_last_reload_success_timestamp_seconds",
		"tencentchat_api_invalid_values_total", "tencentchat_app_daily_active_users", "tencentchat_app_daily_messages_sent",
		"tencentchat_app_daily_callback_responses", "tencentchat_app_statistics_day_timestamp_seconds",
		"tencentchat_app_statistics_last_refresh_timestamp_seconds", "tencentchat_app_statistics_interval_seconds",
	} {
		if got[name] == 0 {
			t.Errorf("%s: no series", name)
		}
	}
	// 120 accounts are up or down; the 20 of the failed batch and the
	// terminated ones have no values, and silent ones no last message.
	if got["tencentchat_official_account_up"] != 120 {
		t.Errorf("%d up series, want 120", got["tencentchat_official_account_up"])
	}
	subs, last := got["tencentchat_official_account_subscribers"], got["tencentchat_official_account_last_message_timestamp_seconds"]
	if subs >= 100 || subs < 90 || last >= subs {
		t.Errorf("%d subscriber and %d last-message series: want fewer than the 100 fetched, fewer silent", subs, last)
	}
}

// described is an app's collector that describes what it may emit, so a
// pedantic registry checks every sample against its descriptor. It sends
// the accounts' series too, as the const metrics that writeAccounts is
// held to (TestDirectWriterMatchesClientGolang).
type described struct{ *appCollector }

func (d described) Collect(ch chan<- prometheus.Metric) {
	d.appCollector.Collect(ch)
	collectAccounts(ch, d.a, d.res)
}

func (d described) Describe(ch chan<- *prometheus.Desc) {
	for _, desc := range scrapeDescs {
		ch <- desc
	}
	d.a.counters.duration.Describe(ch)
}

// scrapeDescs are the descriptors of a scrape's metrics, for described.
var scrapeDescs = func() []*prometheus.Desc {
	d := []*prometheus.Desc{subscribersDesc, lastMessageDesc, creationDesc, limitDesc, lastPubDesc, publishedDesc, accountUpDesc,
		upDesc, scrapeDurationDesc, requestsDesc, errorsDesc, invalidDesc, missingDesc, failuresDesc,
		rateLimitDesc, limiterWaitDesc, refreshTimeDesc, refreshDurationDesc, refreshIntervalDesc,
		statsDayDesc, statsRefreshDesc, statsIntervalDesc, pushDesc, pushByPlatformDesc, pushDayDesc}
	for _, m := range statsMetrics {
		if m.chatType != "group" { // each chat_type pair shares one descriptor
			d = append(d, m.desc)
		}
	}
	return d
}()
