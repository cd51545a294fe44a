package simulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestPushStatistics: normal_push_statistics as the reference says it
// answers: the day's funnel, totals the sum of the platforms; 60007 for a
// call within a second of the one before; 6017 for a window reaching more
// than 30 days back or ending before it starts; 60017 for an app without
// Push.
func TestPushStatistics(t *testing.T) {
	e := newEnv(t, 3)
	noPush := e.sim.AddApp(AppConfig{SDKAppID: refApp + 2, Identifier: adminID, SecretKey: refKey, Accounts: 1, NoPush: true})
	call := func(app uint64, start, end int64) (int, map[string]any) {
		t.Helper()
		q := query(app, adminID, sign(t, int(app), refKey, adminID))
		resp, err := http.Post(e.srv.URL+PushPath+"?"+q, "application/json", strings.NewReader(fmt.Sprintf(`{"StartTime":%d,"EndTime":%d}`, start, end)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var a map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
			t.Fatal(err)
		}
		return int(a["ErrorCode"].(float64)), a
	}
	y, m, d := time.Now().In(beijing).Date()
	day := time.Date(y, m, d-1, 0, 0, 0, 0, beijing)
	code, a := call(refApp, day.Unix(), day.Unix()+86399)
	total, byPlatform := e.app.PushDay(day)
	if code != 0 || int64(a["TotalCount"].(float64)) != total.Total || int64(a["DeliveredCount"].(float64)) != total.Delivered {
		t.Fatalf("code %d, answer %v, want totals %+v", code, a, total)
	}
	var sum int64
	for _, p := range a["PlatformStatistics"].([]any) {
		pm := p.(map[string]any)
		c := byPlatform[int(pm["PushPlatform"].(float64))]
		if int64(pm["SentCount"].(float64)) != c.Sent {
			t.Errorf("platform %v: %v, want %+v", pm["PushPlatform"], pm, c)
		}
		sum += int64(pm["TotalCount"].(float64))
	}
	if sum != total.Total {
		t.Errorf("platforms sum to %d, total %d", sum, total.Total)
	}
	if code, _ := call(refApp, day.Unix(), day.Unix()+86399); code != 60007 {
		t.Errorf("a call within a second: code %d, want 60007", code)
	}
	time.Sleep(1100 * time.Millisecond)
	if code, _ := call(refApp, time.Now().Add(-31*24*time.Hour).Unix(), day.Unix()); code != 6017 {
		t.Errorf("a window 31 days back: code %d, want 6017", code)
	}
	time.Sleep(1100 * time.Millisecond)
	if code, _ := call(refApp, day.Unix()+10, day.Unix()); code != 6017 {
		t.Errorf("a window ending before it starts: code %d, want 6017", code)
	}
	if code, _ := call(noPush.cfg.SDKAppID, day.Unix(), day.Unix()+86399); code != 60017 {
		t.Errorf("an app without Push: code %d, want 60017", code)
	}
	if n := len(e.app.Stats().PushCalls); n != 4 {
		t.Errorf("%d push calls counted, want 4", n)
	}
}
