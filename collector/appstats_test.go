package collector

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/config"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/scrape"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/tencentchat"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/testutil"
	"github.com/tencentchat-exporter/tencentchat_exporter/simulator"
)

func statsRig(t *testing.T, includesToday bool) *rig {
	r := newRig(t, 5, func(a *config.App) { a.AppStatistics = true })
	r.simApp = r.sim.AddApp(simulator.AppConfig{SDKAppID: testApp, Identifier: testAdmin, SecretKey: testKey, Accounts: 5, Seed: 5,
		AppInfoIncludesToday: includesToday})
	return r
}

// TestAppStatisticsValues: the exported values are the simulator's for
// the most recent complete Beijing day, whether or not the answer
// includes today's running day.
func TestAppStatisticsValues(t *testing.T) {
	for _, includesToday := range []bool{false, true} {
		t.Run("includes today "+strconv.FormatBool(includesToday), func(t *testing.T) {
			r := statsRig(t, includesToday)
			r.scrape(t, "/metrics", nil) // starts the refresh, does not wait for it
			r.waitStats(t)
			f := r.scrape(t, "/metrics", nil)
			now := time.Now()
			yesterday := now.In(tencentchat.Beijing).AddDate(0, 0, -1)
			want := r.simApp.AppDay(yesterday.Format("20060102"), now)
			checks := map[string]string{
				"tencentchat_app_daily_active_users":       "ActiveUserNum",
				"tencentchat_app_registered_users":         "RegistUserNumTotal",
				"tencentchat_app_daily_max_online_users":   "MaxOnlineNum",
				"tencentchat_app_groups":                   "GroupAllGroupNum",
				"tencentchat_app_daily_callback_requests":  "CallBackReq",
				"tencentchat_app_daily_callback_responses": "CallBackRsp",
				// The four fields 0.1.0 dropped.
				"tencentchat_app_daily_unique_message_senders": "SendMsgUserNum",
				"tencentchat_app_daily_friendships_added":      "ChainIncrease",
				"tencentchat_app_daily_friendships_removed":    "ChainDecrease",
				"tencentchat_app_daily_groups_with_messages":   "GroupSendMsgGroupNum",
			}
			for metric, field := range checks {
				if v, ok := f.value(metric, nil); !ok || strconv.FormatFloat(v, 'f', -1, 64) != want[field] {
					t.Errorf("%s = %v (present %v), simulator's %s = %s", metric, v, ok, field, want[field])
				}
			}
			for chatType, field := range map[string]string{"c2c": "C2CUpMsgNum", "group": "GroupUpMsgNum"} {
				if v, _ := f.value("tencentchat_app_daily_messages_sent", map[string]string{"chat_type": chatType}); strconv.FormatFloat(v, 'f', -1, 64) != want[field] {
					t.Errorf("messages sent %s = %v, want %s", chatType, v, want[field])
				}
			}
			start, _ := time.ParseInLocation("20060102", yesterday.Format("20060102"), tencentchat.Beijing)
			if v, _ := f.value("tencentchat_app_statistics_day_timestamp_seconds", nil); v != float64(start.Unix()) {
				t.Errorf("day timestamp %v, want %d (00:00 UTC+8 of yesterday)", v, start.Unix())
			}
			if v, _ := f.value("tencentchat_api_requests_total", map[string]string{"api": "getappinfo"}); v != 1 {
				t.Errorf("getappinfo requests %v, want 1", v)
			}
			if n := f.count("tencentchat_app_daily_push_messages"); n != 2 {
				t.Errorf("%d push message series, want c2c and group", n)
			}
		})
	}
}

// TestAppStatisticsOncePerInterval: however many scrapers, getappinfo is
// called once per interval; a failed refresh keeps the last good values
// and is retried after a backoff, not at every scrape.
func TestAppStatisticsOncePerInterval(t *testing.T) {
	t.Parallel() // waits on timers and servers more than it computes
	r := statsRig(t, false)
	clock := time.Now()
	var mu sync.Mutex
	r.exp.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
	scrapeAll := func(n int) {
		var scrapes []<-chan scraped
		for range n {
			scrapes = append(scrapes, r.goScrape("/metrics", nil))
		}
		for _, s := range scrapes {
			await(t, s)
		}
	}
	calls := func() int64 { return r.simApp.Stats().AppInfoCalls }

	scrapeAll(10)
	r.waitStats(t)
	if c := calls(); c != 1 {
		t.Fatalf("%d getappinfo calls for 10 concurrent scrapes, want 1", c)
	}
	advance(29 * time.Minute)
	scrapeAll(5)
	r.waitStats(t)
	if c := calls(); c != 1 {
		t.Fatalf("%d calls within the 30 min interval, want 1", c)
	}
	first := r.scrape(t, "/metrics", nil)
	refreshed, _ := first.value("tencentchat_app_statistics_last_refresh_timestamp_seconds", nil)
	dau, _ := first.value("tencentchat_app_daily_active_users", nil)

	// Due again, and the API fails: the last good values stay.
	advance(2 * time.Minute)
	r.simApp.SetFaults(simulator.Faults{Rates: map[simulator.FaultKind]float64{simulator.FaultHTTP502: 1}})
	r.scrape(t, "/metrics", nil)
	r.waitStats(t)
	f := r.scrape(t, "/metrics", nil)
	if c := calls(); c != 4 { // the first try and its two retries
		t.Fatalf("%d calls after the failing refresh, want 4", c)
	}
	if v, _ := f.value("tencentchat_app_daily_active_users", nil); v != dau {
		t.Errorf("after a failed refresh DAU = %v, want the last good %v", v, dau)
	}
	if v, _ := f.value("tencentchat_app_statistics_last_refresh_timestamp_seconds", nil); v != refreshed {
		t.Errorf("last refresh moved to %v on a failure", v)
	}
	if v, _ := f.value("tencentchat_api_request_failures_total", map[string]string{"api": "getappinfo", "reason": "http_status"}); v != 3 {
		t.Errorf("getappinfo http_status failures %v, want 3", v)
	}
	if !strings.Contains(r.logs.String(), "app statistics not refreshed") {
		t.Error("the failed refresh was not logged")
	}
	scrapeAll(5)
	r.waitStats(t)
	if c := calls(); c != 4 {
		t.Fatalf("%d calls: a failed refresh was retried at the next scrapes, before its backoff", c)
	}
	r.simApp.SetFaults(simulator.Faults{})
	advance(16 * time.Second)
	r.scrape(t, "/metrics", nil)
	r.waitStats(t)
	f = r.scrape(t, "/metrics", nil)
	if c := calls(); c != 5 {
		t.Fatalf("%d calls, want the retry after the backoff", c)
	}
	if v, _ := f.value("tencentchat_app_statistics_last_refresh_timestamp_seconds", nil); v <= refreshed {
		t.Errorf("last refresh %v not after %v once the retry worked", v, refreshed)
	}
}

// TestAppStatisticsBadFields: a field that is missing or not a number is
// left out and counted, never exported as 0; the others are served.
func TestAppStatisticsBadFields(t *testing.T) {
	r := statsRig(t, false)
	r.simApp.SetAppInfoOverride("ActiveUserNum", `"n/a"`)
	r.simApp.SetAppInfoOverride("MaxOnlineNum", `null`)
	r.simApp.SetAppInfoOverride("CallBackReq", "")
	r.simApp.SetAppInfoOverride("GroupAllGroupNum", `"-5"`)
	r.simApp.SetAppInfoOverride("ChainDecrease", `"1e3"`)
	r.scrape(t, "/metrics", nil)
	r.waitStats(t)
	f := r.scrape(t, "/metrics", nil)
	for _, m := range []string{"tencentchat_app_daily_active_users", "tencentchat_app_daily_max_online_users", "tencentchat_app_daily_callback_requests", "tencentchat_app_groups",
		"tencentchat_app_daily_friendships_removed"} {
		if _, ok := f.value(m, nil); ok {
			t.Errorf("%s exported from a bad field", m)
		}
	}
	if _, ok := f.value("tencentchat_app_daily_callback_responses", nil); !ok {
		t.Error("a good field was left out")
	}
	if v, _ := f.value("tencentchat_api_invalid_values_total", nil); v != 5 {
		t.Errorf("invalid values %v, want 5", v)
	}
}

// TestAppStatisticsOff: an app without app_statistics makes no getappinfo
// call and has no getappinfo series.
func TestAppStatisticsOff(t *testing.T) {
	r := newRig(t, 5, nil)
	f := r.scrape(t, "/metrics", nil)
	if c := r.simApp.Stats().AppInfoCalls; c != 0 {
		t.Errorf("%d getappinfo calls", c)
	}
	if _, ok := f.value("tencentchat_api_requests_total", map[string]string{"api": "getappinfo"}); ok {
		t.Error("getappinfo series for an app without app_statistics")
	}
	if f.count("tencentchat_app_daily_active_users") != 0 || f.count("tencentchat_app_statistics_interval_seconds") != 0 {
		t.Error("statistics series for an app without app_statistics")
	}
}

// TestStatisticsOutliveTheScraper: a scrape whose client hangs up after
// 0.3 s triggered the statistics refresh; the refresh runs in its own
// context and succeeds, with no backoff. A getappinfo that hangs does not
// hold the accounts' series of the scrape that started it.
func TestStatisticsOutliveTheScraper(t *testing.T) {
	r := statsRig(t, false)
	base := testutil.Measure(2, func() { r.scrape(t, "/probe?target=main", nil) })
	r.waitStats(t)
	r.exp.now = func() time.Time { return time.Now().Add(time.Hour) } // the statistics are due again
	release := make(chan struct{})
	r.setIntercept(func(_ []byte, _ http.ResponseWriter, req *http.Request) bool {
		if strings.Contains(req.URL.Path, "getappinfo") {
			<-release
		}
		return false
	})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.srv.URL+"/metrics", nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close() // answered within 0.3 s: the accounts did not wait for getappinfo
	} else if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatal(err)
	}
	// A scrape with getappinfo still hanging answers at once, accounts whole.
	start := time.Now()
	f := r.scrape(t, "/metrics", map[string]string{scrape.TimeoutHeader: "30"})
	if v, _ := f.value("tencentchat_up", nil); v != 1 || f.count("tencentchat_official_account_up") != 5 {
		t.Errorf("accounts' scrape while getappinfo hangs: up %v, %d accounts", v, f.count("tencentchat_official_account_up"))
	}
	if d, limit := time.Since(start), 5*time.Second+testutil.Slack(base); d > limit {
		t.Errorf("the scrape took %v, over %v: it waited for getappinfo (a healthy scrape: %v)", d, limit, base)
	}
	close(release)
	r.waitStats(t)
	f = r.scrape(t, "/metrics", nil)
	if v, _ := f.value("tencentchat_api_requests_total", map[string]string{"api": "getappinfo"}); v != 2 {
		t.Errorf("getappinfo requests %v, want 2: the first refresh and the one the hung-up scrape started", v)
	}
	if strings.Contains(r.logs.String(), "app statistics not refreshed") {
		t.Errorf("the refresh failed:\n%s", r.logs.String())
	}
}
