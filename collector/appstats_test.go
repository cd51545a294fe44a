package collector

import (
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

// TestStatisticsDoNotHoldTheScrape: a getappinfo that hangs does not hold
// the scrape: the statistics are a job of their own, which no scrape
// starts or waits for, and the accounts' series are whole.
func TestStatisticsDoNotHoldTheScrape(t *testing.T) {
	r := newRig(t, 5, nil)
	base := testutil.Measure(2, func() { r.scrape(t, "/probe?target=main", nil) })
	release, hung := make(chan struct{}), make(chan struct{}, 1)
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock) // before the rig's servers close, or their Close waits forever
	r.setIntercept(func(_ []byte, _ http.ResponseWriter, req *http.Request) bool {
		if strings.Contains(req.URL.Path, "getappinfo") {
			select {
			case hung <- struct{}{}:
			default:
			}
			<-release
		}
		return false
	})
	if err := r.exp.ApplyConfig(r.withApp(func(a *config.App) { a.AppStatistics = true })); err != nil {
		t.Fatal(err)
	}
	select {
	case <-hung:
	case <-time.After(10 * time.Second):
		t.Fatal("getappinfo was not called within 10 s of turning the statistics on")
	}
	start := time.Now()
	f := r.scrape(t, "/metrics", map[string]string{scrape.TimeoutHeader: "30"})
	if v, _ := f.value("tencentchat_up", nil); v != 1 || f.count("tencentchat_official_account_up") != 5 {
		t.Errorf("accounts' scrape while getappinfo hangs: up %v, %d accounts", v, f.count("tencentchat_official_account_up"))
	}
	if d, limit := time.Since(start), 5*time.Second+testutil.Slack(base); d > limit {
		t.Errorf("the scrape took %v, over %v: it waited for getappinfo (a healthy scrape: %v)", d, limit, base)
	}
	unblock()
	r.waitStats(t)
	f = r.scrape(t, "/metrics", nil)
	if v, _ := f.value("tencentchat_api_requests_total", map[string]string{"api": "getappinfo"}); v != 1 {
		t.Errorf("getappinfo requests %v, want 1", v)
	}
	if _, ok := f.value("tencentchat_app_daily_active_users", nil); !ok {
		t.Errorf("no statistics once getappinfo answered:\n%s", r.logs.String())
	}
}
