package collector

import (
	"strings"
	"testing"
	"time"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/config"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/tencentchat"
	"github.com/tencentchat-exporter/tencentchat_exporter/simulator"
)

// TestPushStatistics: with push_statistics, the funnel's totals and each
// platform's stages equal the simulator's answer for the most recent
// complete Beijing day, with one call; the day's timestamp says which day;
// the debug probe tells the call.
func TestPushStatistics(t *testing.T) {
	r := newRig(t, 5, func(a *config.App) { a.AppStatistics, a.PushStatistics = true, true })
	r.waitStats(t)
	f := r.scrape(t, "/metrics", nil)
	day := yesterdayBeijing(time.Now())
	total, byPlatform := r.simApp.PushDay(day)
	for stage, want := range map[string]int64{"eligible": total.Total, "sent": total.Sent, "delivered": total.Delivered, "clicked": total.Click} {
		if v, ok := f.value("tencentchat_app_daily_push_notifications", map[string]string{"stage": stage}); !ok || v != float64(want) {
			t.Errorf("push %s = %v (present %v), simulator's %d", stage, v, ok, want)
		}
	}
	names := map[int]string{1: "apns", 2: "xiaomi", 3: "huawei", 4: "fcm", 6: "oppo", 7: "vivo", 8: "honor"}
	for code, c := range byPlatform {
		for stage, want := range map[string]int64{"eligible": c.Total, "sent": c.Sent, "delivered": c.Delivered, "clicked": c.Click} {
			if v, ok := f.value("tencentchat_app_daily_push_notifications_by_platform", map[string]string{"platform": names[code], "stage": stage}); !ok || v != float64(want) {
				t.Errorf("%s %s = %v (present %v), simulator's %d", names[code], stage, v, ok, want)
			}
		}
	}
	if v, _ := f.value("tencentchat_app_push_statistics_day_timestamp_seconds", nil); v != float64(day.Unix()) {
		t.Errorf("push day %v, want %d", v, day.Unix())
	}
	if n := len(r.simApp.Stats().PushCalls); n != 1 {
		t.Errorf("%d normal_push_statistics calls, want 1", n)
	}
	off := newRig(t, 5, func(a *config.App) { a.AppStatistics = true })
	off.waitStats(t)
	if n := len(off.simApp.Stats().PushCalls); n != 0 {
		t.Errorf("%d push calls with push_statistics off", n)
	}
	_, body := r.get(t, "/probe?target=main&debug=true", nil)
	if !strings.Contains(body, "normal_push_statistics (push funnel") || !strings.Contains(body, "the day of "+day.Format("2006-01-02")) {
		t.Errorf("the debug probe does not tell the push call:\n%s", body)
	}
}

func yesterdayBeijing(now time.Time) time.Time {
	y, m, d := now.In(tencentchat.Beijing).Date()
	return time.Date(y, m, d-1, 0, 0, 0, 0, tencentchat.Beijing)
}

// TestPushWithoutTheService: an app without the Push service gets a
// request-level code: counted under api="normal_push_statistics", logged,
// no push series, and the rest of the app unaffected. (That the refusals
// of later runs are not logged again is source's TestPushRefused.)
func TestPushWithoutTheService(t *testing.T) {
	r := newRig(t, 5, nil)
	r.simApp = r.sim.AddApp(simulator.AppConfig{SDKAppID: testApp, Identifier: testAdmin, SecretKey: testKey, Accounts: 5, Seed: 5, NoPush: true})
	if err := r.exp.ApplyConfig(r.withApp(func(a *config.App) { a.AppStatistics, a.PushStatistics = true, true })); err != nil {
		t.Fatal(err)
	}
	r.waitStats(t)
	f := r.scrape(t, "/metrics", nil)
	if n := f.count("tencentchat_app_daily_push_notifications") + f.count("tencentchat_app_daily_push_notifications_by_platform"); n != 0 {
		t.Errorf("%d push series for an app without push", n)
	}
	if v, _ := f.value("tencentchat_api_errors_total", map[string]string{"api": "normal_push_statistics", "code": "60017"}); v != 1 {
		t.Errorf("60017 under normal_push_statistics counted %v times, want the refusal", v)
	}
	if _, ok := f.value("tencentchat_app_daily_active_users", nil); !ok {
		t.Error("the app statistics suffered from the push refusal")
	}
	if v, _ := f.value("tencentchat_up", nil); v != 1 {
		t.Error("the app is down")
	}
	if n := strings.Count(r.logs.String(), "push statistics refused by the API"); n != 1 {
		t.Errorf("the refusal logged %d times, want once", n)
	}
}

// TestPushPlatformNames: Tencent's push platform codes by name; any other
// code as code_N, so an unknown vendor is still told apart.
func TestPushPlatformNames(t *testing.T) {
	for code, want := range map[int]string{0: "unknown", 1: "apns", 2: "xiaomi", 3: "huawei", 4: "fcm", 5: "meizu", 6: "oppo", 7: "vivo", 8: "honor", 9: "code_9", 999: "code_999"} {
		if got := pushPlatformName(code); got != want {
			t.Errorf("code %d: %q, want %q", code, got, want)
		}
	}
}
