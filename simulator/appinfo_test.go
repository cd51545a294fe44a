package simulator

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func postAppInfo(t *testing.T, e *env, q, body string) (code int, days []map[string]any) {
	t.Helper()
	resp, err := http.Post(e.srv.URL+AppInfoPath+"?"+q, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var a struct {
		ErrorCode    int
		ActionStatus *string
		Result       []map[string]any
	}
	if err := json.Unmarshal(raw, &a); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	if a.ActionStatus != nil && a.ErrorCode == 0 {
		t.Errorf("ActionStatus in a getappinfo answer; Tencent's sample has none")
	}
	return a.ErrorCode, a.Result
}

// TestAppInfo: getappinfo answers the last 30 Beijing days ending
// yesterday (or today, when configured), every value a string, with the
// same signature checks as the other API, and RequestField honoured.
func TestAppInfo(t *testing.T) {
	e := newEnv(t, 3)
	sig := sign(t, refApp, refKey, adminID)
	code, days := postAppInfo(t, e, query(refApp, adminID, sig), `{}`)
	if code != 0 || len(days) != 30 {
		t.Fatalf("code %d, %d days", code, len(days))
	}
	now := time.Now().In(beijing)
	if got, want := days[29]["Date"], now.AddDate(0, 0, -1).Format("20060102"); got != want {
		t.Errorf("last day %v, want yesterday in Beijing %s", got, want)
	}
	for _, d := range days {
		if len(d) != len(AppInfoFields) {
			t.Fatalf("%d fields in %v", len(d), d)
		}
		for k, v := range d {
			if _, ok := v.(string); !ok {
				t.Fatalf("%s is %T, want a string", k, v)
			}
		}
		want := e.app.AppDay(d["Date"].(string), time.Now())
		if d["ActiveUserNum"] != want["ActiveUserNum"] || d["CallBackRsp"] != want["CallBackRsp"] {
			t.Fatalf("day %v differs from AppDay %v", d, want)
		}
	}
	if code, days := postAppInfo(t, e, query(refApp, adminID, sig), `{"RequestField":["ActiveUserNum"]}`); code != 0 || len(days[0]) != 2 {
		t.Errorf("RequestField: code %d, day %v", code, days[0])
	}
	if code, _ := postAppInfo(t, e, query(refApp, adminID, sign(t, refApp, "wrong", adminID)), `{}`); code != 70009 {
		t.Errorf("wrong key: %d", code)
	}
	if s := e.app.Stats(); s.AppInfoCalls != 3 || s.Calls != 0 {
		t.Errorf("stats %+v", s)
	}

	today := New()
	app := today.AddApp(AppConfig{SDKAppID: refApp, Identifier: adminID, SecretKey: refKey, Seed: 7, AppInfoIncludesToday: true})
	e2 := &env{sim: today, app: app, srv: httptestServer(t, today)}
	_, days = postAppInfo(t, e2, query(refApp, adminID, sig), `{}`)
	if got := days[29]["Date"]; got != now.Format("20060102") {
		t.Errorf("with today: last day %v", got)
	}

	app.SetAppInfoOverride("MaxOnlineNum", `null`)
	app.SetAppInfoOverride("LoginTimes", "")
	_, days = postAppInfo(t, e2, query(refApp, adminID, sig), `{}`)
	if v, ok := days[0]["MaxOnlineNum"]; !ok || v != nil {
		t.Errorf("override null: %v", days[0])
	}
	if _, ok := days[0]["LoginTimes"]; ok {
		t.Errorf("override absent: %v", days[0])
	}
}

func httptestServer(t *testing.T, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}
