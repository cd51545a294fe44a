package simulator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tencentyun/tls-sig-api-v2-golang/tencentyun"
)

// The reference's known answer: key, app and a token made by Tencent's Node
// library for identifier "administrator" at time 1700000000, lifetime 86400.
const (
	refKey      = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"
	refApp      = 1400000000
	refTime     = 1700000000
	refToken    = "eJyrVgrxCdYrSy1SslIy0jNQ0gHzM1NS80oy0zLBwokpuZl5mcUlRYkl*UVQBcUp2YkFBZkpSlaGJgZQAJEpycxNVbIyNEcVTa0oyCxKVbKyMDOBCRVnpitZKVX6OKZql5uHh6aGlhYmhVlm6IdEmFuUGhnmh7hnamdaRhUYlhoHFORFmhnYKtUCAK0SM5I_"
	adminID     = "administrator"
	defaultBody = `{"OfficialAccountIdList":[{"Official_Account":"@TOA#_sim00000"}]}`
)

type env struct {
	sim *Simulator
	app *App
	srv *httptest.Server
}

func newEnv(t *testing.T, accounts int) *env {
	t.Helper()
	sim := New()
	app := sim.AddApp(AppConfig{SDKAppID: refApp, Identifier: adminID, SecretKey: refKey, Accounts: accounts, Seed: 7})
	sim.AddApp(AppConfig{SDKAppID: refApp + 1, Identifier: adminID, SecretKey: "other-app-key", Accounts: 3})
	srv := httptest.NewServer(sim)
	t.Cleanup(func() { sim.Close(); srv.Close() })
	return &env{sim: sim, app: app, srv: srv}
}

func sign(t *testing.T, app int, key, identifier string) string {
	t.Helper()
	sig, err := tencentyun.GenUserSig(app, key, identifier, 86400)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func query(app uint64, identifier, sig string) string {
	return fmt.Sprintf("sdkappid=%d&identifier=%s&usersig=%s&random=%d&contenttype=json", app, identifier, sig, 4294967295)
}

type answer struct {
	ActionStatus            string
	ErrorCode               int
	ErrorInfo               string
	OfficialAccountInfoList []map[string]any
}

func (e *env) post(t *testing.T, q, body string) answer {
	t.Helper()
	resp, err := http.Post(e.srv.URL+Path+"?"+q, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("HTTP %d", resp.StatusCode)
	}
	var a answer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatal(err)
	}
	return a
}

func TestUserSigChecks(t *testing.T) {
	e := newEnv(t, 5)
	good := sign(t, refApp, refKey, adminID)
	// A token whose HMAC is flipped: decode, change TLS.sig, re-encode.
	forged := reencode(t, good, func(doc map[string]any) {
		sig := []byte(doc["TLS.sig"].(string))
		if sig[0] == 'A' {
			sig[0] = 'B'
		} else {
			sig[0] = 'A'
		}
		doc["TLS.sig"] = string(sig)
	})
	cases := []struct {
		name  string
		app   uint64
		id    string
		sig   string
		clock int64 // 0: now
		want  int
	}{
		{"official module token", refApp, adminID, good, 0, 0},
		{"reference Node token", refApp, adminID, refToken, refTime + 100, 0},
		{"reference token at last valid second", refApp, adminID, refToken, refTime + 86400, 0},
		{"reference token expired", refApp, adminID, refToken, refTime + 86401, 70001},
		{"forged HMAC", refApp, adminID, forged, 0, 70009},
		{"signed with another key", refApp, adminID, sign(t, refApp, "not-the-key", adminID), 0, 70009},
		{"other app's key and id", refApp, adminID, sign(t, refApp+1, "other-app-key", adminID), 0, 70014},
		{"identifier differs from signed", refApp, "someone", good, 0, 70013},
		{"validly signed non-admin", refApp, "someone", sign(t, refApp, refKey, "someone"), 0, 60010},
		{"garbage", refApp, adminID, "notatoken", 0, 70003},
		{"truncated", refApp, adminID, good[:len(good)/2], 0, 70003},
		{"empty", refApp, adminID, "", 0, 70003},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.clock != 0 {
				e.sim.SetClock(func() time.Time { return time.Unix(c.clock, 0) })
				defer e.sim.SetClock(time.Now)
			}
			a := e.post(t, query(c.app, c.id, c.sig), defaultBody)
			if a.ErrorCode != c.want {
				t.Fatalf("ErrorCode = %d (%s), want %d", a.ErrorCode, a.ErrorInfo, c.want)
			}
			if wantStatus := map[bool]string{true: "OK", false: "FAIL"}[c.want == 0]; a.ActionStatus != wantStatus {
				t.Errorf("ActionStatus = %q, want %q", a.ActionStatus, wantStatus)
			}
		})
	}
}

// reencode changes a token's JSON document and packs it again.
func reencode(t *testing.T, token string, change func(map[string]any)) string {
	t.Helper()
	p, err := decodeUserSig(token)
	if err != nil {
		t.Fatal(err)
	}
	doc := map[string]any{"TLS.ver": "2.0", "TLS.identifier": p.identifier, "TLS.sdkappid": p.sdkappid,
		"TLS.time": p.time, "TLS.expire": p.expire, "TLS.sig": b64(p.mac)}
	change(doc)
	return packToken(t, doc)
}

func TestRequestChecks(t *testing.T) {
	e := newEnv(t, 60)
	sig := sign(t, refApp, refKey, adminID)
	ok := query(refApp, adminID, sig)
	many := func(n int) string {
		ids := make([]string, n)
		for i := range ids {
			ids[i] = fmt.Sprintf(`{"Official_Account":%q}`, AccountID(i))
		}
		return `{"OfficialAccountIdList":[` + strings.Join(ids, ",") + `]}`
	}
	cases := []struct {
		name, query, body string
		want              int
	}{
		{"ok", ok, defaultBody, 0},
		{"50 accounts", ok, many(50), 0},
		{"51 accounts", ok, many(51), 6017},
		{"no accounts", ok, `{"OfficialAccountIdList":[]}`, 6017},
		{"not JSON", ok, `{"OfficialAccountIdList":`, 60003},
		{"empty body", ok, ``, 60003},
		{"list missing", ok, `{"Accounts":[]}`, 20001},
		{"list wrong type", ok, `{"OfficialAccountIdList":"@TOA#_sim00000"}`, 20001},
		{"item without ID", ok, `{"OfficialAccountIdList":[{"Account":"x"}]}`, 20001},
		{"unknown filter field", ok, `{"OfficialAccountIdList":[{"Official_Account":"@TOA#_sim00000"}],"ResponseFilter":{"OfficialAccountBaseInfoFilter":["Bogus"]}}`, 6017},
		{"no sdkappid", strings.Replace(ok, "sdkappid=1400000000&", "", 1), defaultBody, 60012},
		{"non-numeric sdkappid", strings.Replace(ok, "sdkappid=1400000000", "sdkappid=abc", 1), defaultBody, 60006},
		{"unknown sdkappid", strings.Replace(ok, "sdkappid=1400000000", "sdkappid=1400009999", 1), defaultBody, 70020},
		{"no identifier", strings.Replace(ok, "identifier=administrator&", "", 1), defaultBody, 60004},
		{"no contenttype", strings.Replace(ok, "&contenttype=json", "", 1), defaultBody, 60002},
		{"contenttype xml", strings.Replace(ok, "contenttype=json", "contenttype=xml", 1), defaultBody, 60002},
		{"random out of range", strings.Replace(ok, "random=4294967295", "random=4294967296", 1), defaultBody, 60002},
		{"random missing", strings.Replace(ok, "random=4294967295&", "", 1), defaultBody, 60002},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if a := e.post(t, c.query, c.body); a.ErrorCode != c.want {
				t.Fatalf("ErrorCode = %d (%s), want %d", a.ErrorCode, a.ErrorInfo, c.want)
			}
		})
	}

	t.Run("GET", func(t *testing.T) {
		resp, err := http.Get(e.srv.URL + Path + "?" + ok)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var a answer
		_ = json.NewDecoder(resp.Body).Decode(&a)
		if a.ErrorCode != 60002 {
			t.Fatalf("GET answered %d, want 60002", a.ErrorCode)
		}
	})
	t.Run("wrong path", func(t *testing.T) {
		resp, err := http.Post(e.srv.URL+"/v4/other?"+ok, "application/json", strings.NewReader(defaultBody))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("status %d, want 404", resp.StatusCode)
		}
	})
}

func TestAccountsAndFilter(t *testing.T) {
	e := newEnv(t, 100)
	q := query(refApp, adminID, sign(t, refApp, refKey, adminID))
	terminated := AccountID(13)
	silent := AccountID(7)
	tooLong := "@TOA#_" + strings.Repeat("x", 43)
	body := fmt.Sprintf(`{"OfficialAccountIdList":[{"Official_Account":%q},{"Official_Account":%q},{"Official_Account":%q},{"Official_Account":"nope"},{"Official_Account":%q},{"Official_Account":"@TOA#_unknown"}]}`,
		AccountID(1), terminated, silent, tooLong)
	a := e.post(t, q, body)
	if a.ErrorCode != 0 || len(a.OfficialAccountInfoList) != 6 {
		t.Fatalf("answer %+v", a)
	}
	wantCodes := []float64{0, 130004, 0, 130007, 130007, 130004}
	for i, item := range a.OfficialAccountInfoList {
		if item["ErrorCode"] != wantCodes[i] {
			t.Errorf("item %d (%v): ErrorCode %v, want %v", i, item["Official_Account"], item["ErrorCode"], wantCodes[i])
		}
	}
	first, _ := e.app.Account(AccountID(1))
	got := a.OfficialAccountInfoList[0]
	if got["Name"] != first.Name || got["SubscriberNum"] != float64(first.Subscribers) ||
		got["Owner_Account"] != first.Owner || got["CreateTime"] != float64(first.CreateTime) {
		t.Errorf("item = %v, account = %+v", got, first)
	}
	if a.OfficialAccountInfoList[2]["LastMsgTime"] != float64(0) {
		t.Errorf("silent account LastMsgTime = %v, want 0", a.OfficialAccountInfoList[2]["LastMsgTime"])
	}
	if len(e.sim.App(refApp).Accounts()) != 100 {
		t.Fatal("accounts lost")
	}
	// Exactly 49-byte IDs are malformed, exactly 48 are only unknown.
	if len(tooLong) != 49 {
		t.Fatalf("test ID is %d bytes", len(tooLong))
	}

	filtered := e.post(t, q, `{"OfficialAccountIdList":[{"Official_Account":"@TOA#_sim00001"}],"ResponseFilter":{"OfficialAccountBaseInfoFilter":["SubscriberNum","Name"]}}`)
	item := filtered.OfficialAccountInfoList[0]
	for _, k := range []string{"ErrorCode", "Official_Account", "SubscriberNum", "Name"} {
		if _, ok := item[k]; !ok {
			t.Errorf("filtered item lacks %s: %v", k, item)
		}
	}
	for _, k := range []string{"CreateTime", "Owner_Account", "LastMsgTime", "Introduction", "FaceUrl"} {
		if _, ok := item[k]; ok {
			t.Errorf("filtered item has %s: %v", k, item)
		}
	}
}

func TestDataDrifts(t *testing.T) {
	sim := New()
	now := time.Unix(1_800_000_000, 0)
	sim.SetClock(func() time.Time { return now })
	app := sim.AddApp(AppConfig{SDKAppID: 1, Identifier: "a", SecretKey: "k", Accounts: 200, Seed: 3, DriftInterval: time.Minute})
	before := app.Accounts()
	for range 60 {
		now = now.Add(time.Minute)
		app.mu.Lock()
		app.drift(now)
		app.mu.Unlock()
	}
	after := app.Accounts()
	var moved, advanced, silent, terminated int
	for i := range before {
		if after[i].Subscribers != before[i].Subscribers {
			moved++
		}
		if after[i].LastMsgTime > before[i].LastMsgTime {
			advanced++
		}
		if after[i].LastMsgTime == 0 {
			silent++
		}
		if after[i].Terminated {
			terminated++
		}
	}
	if moved < 150 || advanced < 150 || silent == 0 || terminated == 0 {
		t.Fatalf("moved=%d advanced=%d silent=%d terminated=%d of 200", moved, advanced, silent, terminated)
	}
}

func TestSharpDropsHappen(t *testing.T) {
	rng := newTestRand()
	now := time.Unix(1_800_000_000, 0)
	accts := generate(rng, 1000, now)
	prev := make([]int64, len(accts))
	drops := 0
	for range 200 {
		for i, a := range accts {
			prev[i] = a.Subscribers
		}
		evolve(rng, accts, now)
		for i, a := range accts {
			if prev[i] > 100 && a.Subscribers < prev[i]*3/4 {
				drops++
			}
		}
	}
	// 1000 accounts × 200 steps × 0.0005 ≈ 100 sharp drops.
	if drops < 30 || drops > 300 {
		t.Fatalf("%d sharp drops in 200 steps of 1000 accounts", drops)
	}
}

func TestFaults(t *testing.T) {
	sig := sign(t, refApp, refKey, adminID)
	cases := []struct {
		name   string
		faults Faults
		check  func(t *testing.T, status int, body []byte, err error)
	}{
		{"service disabled", Faults{ServiceDisabled: true}, wantCode(131000)},
		{"error code", Faults{ErrorCode: 60011}, wantCode(60011)},
		{"transient", Faults{Rates: map[FaultKind]float64{FaultTransient: 1}}, func(t *testing.T, status int, body []byte, err error) {
			var a answer
			if err != nil || json.Unmarshal(body, &a) != nil || (a.ErrorCode != 10004 && a.ErrorCode != 20005) {
				t.Fatalf("got %s, %v", body, err)
			}
		}},
		{"502", Faults{Rates: map[FaultKind]float64{FaultHTTP502: 1}}, wantStatus(502)},
		{"503", Faults{Rates: map[FaultKind]float64{FaultHTTP503: 1}}, wantStatus(503)},
		{"reset", Faults{Rates: map[FaultKind]float64{FaultReset: 1}}, wantErr},
		{"truncated", Faults{Rates: map[FaultKind]float64{FaultTruncated: 1}}, wantErr},
		{"malformed", Faults{Rates: map[FaultKind]float64{FaultMalformed: 1}}, wantUndecodable},
		{"wrong types", Faults{Rates: map[FaultKind]float64{FaultWrongTypes: 1}}, wantBodyHas(`"ErrorCode":"0"`)},
		{"missing fields", Faults{Rates: map[FaultKind]float64{FaultMissingFields: 1}}, func(t *testing.T, status int, body []byte, err error) {
			var m map[string]any
			if err != nil || json.Unmarshal(body, &m) != nil {
				t.Fatalf("got %s, %v", body, err)
			}
			if _, ok := m["ErrorCode"]; ok {
				t.Fatalf("envelope still has ErrorCode: %s", body)
			}
		}},
		{"extra account", Faults{Rates: map[FaultKind]float64{FaultExtraAccount: 1}}, wantItems(3)},
		{"fewer accounts", Faults{Rates: map[FaultKind]float64{FaultFewerAccounts: 1}}, wantItems(1)},
		{"oversized", Faults{Rates: map[FaultKind]float64{FaultOversized: 1}}, func(t *testing.T, status int, body []byte, err error) {
			var a answer
			if err != nil || len(body) < 8<<20 || json.Unmarshal(body, &a) != nil || a.ErrorCode != 0 {
				t.Fatalf("got %d bytes, %v", len(body), err)
			}
		}},
		{"reversed", Faults{Rates: map[FaultKind]float64{FaultReversed: 1}}, func(t *testing.T, status int, body []byte, err error) {
			i, j := bytes.Index(body, []byte(`"@TOA#_sim00001"`)), bytes.Index(body, []byte(`"@TOA#_sim00000"`))
			if err != nil || i < 0 || j < i {
				t.Fatalf("not reversed: %s, %v", body, err)
			}
		}},
		{"envelope variants", Faults{Rates: map[FaultKind]float64{FaultEnvelope: 1}}, func(t *testing.T, status int, body []byte, err error) {
			var m map[string]any
			if err != nil || json.Unmarshal(body, &m) != nil || m["ActionStatus"] != nil || m["RequestId"] == nil || m["ErrorCode"] != 0.0 {
				t.Fatalf("got %s, %v", body, err)
			}
			wantItems(2)(t, status, body, err)
		}},
		{"empty list", Faults{Rates: map[FaultKind]float64{FaultEmptyList: 1}}, wantItems(0)},
		{"no list", Faults{Rates: map[FaultKind]float64{FaultNoList: 1}}, wantBodyHas(`{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}`)},
		{"malformed item", Faults{Rates: map[FaultKind]float64{FaultMalformedItem: 1}}, wantBodyHas(`"SubscriberNum":12.5`)},
		{"implausible", Faults{Rates: map[FaultKind]float64{FaultImplausible: 1}}, wantBodyHas(`"SubscriberNum":-`)},
		{"echo info", Faults{Rates: map[FaultKind]float64{FaultEchoInfo: 1}}, func(t *testing.T, status int, body []byte, err error) {
			var a answer
			if err != nil || json.Unmarshal(body, &a) != nil || a.ErrorCode != 20001 || len(body) < 3_000_000 || !bytes.Contains(body, []byte("usersig=")) {
				t.Fatalf("got %d bytes, %v", len(body), err)
			}
		}},
		{"unknown code", Faults{Rates: map[FaultKind]float64{FaultUnknownCode: 1}}, func(t *testing.T, status int, body []byte, err error) {
			var a answer
			if err != nil || json.Unmarshal(body, &a) != nil || a.ErrorCode < 80000 || a.ErrorCode >= 90000 {
				t.Fatalf("got %s, %v", body, err)
			}
		}},
		{"429", Faults{Rates: map[FaultKind]float64{FaultHTTP429: 1}}, wantStatus(429)},
		{"bad gzip", Faults{Rates: map[FaultKind]float64{FaultBadGzip: 1}}, wantErr},
		{"hang until the caller gives up", Faults{Rates: map[FaultKind]float64{FaultHang: 1}}, wantErr},
		{"latency", Faults{Latency: 300 * time.Millisecond}, wantErr},
	}
	// The caller gives up after 200 ms where the case is about giving up
	// (hang, latency of 300 ms); elsewhere it waits long enough for a busy
	// machine to move 8 MiB under the race detector.
	timeout := func(name string) time.Duration {
		if name == "latency" || strings.HasPrefix(name, "hang") {
			return 200 * time.Millisecond
		}
		return time.Minute
	}
	body := `{"OfficialAccountIdList":[{"Official_Account":"@TOA#_sim00000"},{"Official_Account":"@TOA#_sim00001"}]}`
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, 5)
			e.app.SetFaults(c.faults)
			ctx, cancel := context.WithTimeout(context.Background(), timeout(c.name))
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.srv.URL+Path+"?"+query(refApp, adminID, sig), strings.NewReader(body))
			resp, err := http.DefaultClient.Do(req)
			var got []byte
			status := 0
			if err == nil {
				status = resp.StatusCode
				got, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			c.check(t, status, got, err)
		})
	}
}

func wantCode(code int) func(*testing.T, int, []byte, error) {
	return func(t *testing.T, status int, body []byte, err error) {
		var a answer
		if err != nil || json.Unmarshal(body, &a) != nil || a.ErrorCode != code || a.ActionStatus != "FAIL" {
			t.Fatalf("got %d %s, %v; want ErrorCode %d", status, body, err, code)
		}
	}
}

func wantStatus(code int) func(*testing.T, int, []byte, error) {
	return func(t *testing.T, status int, body []byte, err error) {
		if err != nil || status != code {
			t.Fatalf("got status %d, %v; want %d", status, err, code)
		}
	}
}

// TestNoItemIDs: with the fault, error items come without their account's
// ID, as Tencent's samples leave open; fetched items keep theirs.
func TestNoItemIDs(t *testing.T) {
	e := newEnv(t, 5)
	e.app.SetFaults(Faults{Rates: map[FaultKind]float64{FaultNoItemIDs: 1}})
	a := e.post(t, query(refApp, adminID, sign(t, refApp, refKey, adminID)),
		`{"OfficialAccountIdList":[{"Official_Account":"@TOA#_sim00000"},{"Official_Account":"@TOA#_missing"},{"Official_Account":"bad"}]}`)
	if len(a.OfficialAccountInfoList) != 3 {
		t.Fatalf("%+v", a)
	}
	for i, wantID := range []any{"@TOA#_sim00000", nil, nil} {
		if got := a.OfficialAccountInfoList[i]["Official_Account"]; got != wantID {
			t.Errorf("item %d: Official_Account %v, want %v", i, got, wantID)
		}
	}
}

func wantErr(t *testing.T, status int, body []byte, err error) {
	if err == nil {
		t.Fatalf("got status %d with %d bytes, want a transport error", status, len(body))
	}
}

func wantUndecodable(t *testing.T, status int, body []byte, err error) {
	var v any
	if err != nil || json.Unmarshal(body, &v) == nil {
		t.Fatalf("got %s, %v; want a body that is not JSON", body, err)
	}
}

func wantBodyHas(s string) func(*testing.T, int, []byte, error) {
	return func(t *testing.T, status int, body []byte, err error) {
		if err != nil || !bytes.Contains(body, []byte(s)) {
			t.Fatalf("got %s, %v; want it to contain %s", body, err, s)
		}
	}
}

func wantItems(n int) func(*testing.T, int, []byte, error) {
	return func(t *testing.T, status int, body []byte, err error) {
		var a answer
		if err != nil || json.Unmarshal(body, &a) != nil || len(a.OfficialAccountInfoList) != n {
			t.Fatalf("got %s, %v; want %d items", body, err, n)
		}
	}
}

func TestRateLimit(t *testing.T) {
	e := newEnv(t, 5)
	now := time.Unix(1_800_000_000, 0)
	e.sim.SetClock(func() time.Time { return now })
	e.app.SetFaults(Faults{RateLimit: 3})
	// TLS.time comes from the real clock, so pin the simulator near it.
	now = time.Now()
	q := query(refApp, adminID, sign(t, refApp, refKey, adminID))
	var codes []int
	for range 5 {
		codes = append(codes, e.post(t, q, defaultBody).ErrorCode)
	}
	if fmt.Sprint(codes) != "[0 0 0 60007 60007]" {
		t.Fatalf("codes within one second: %v", codes)
	}
	now = now.Add(time.Second)
	if c := e.post(t, q, defaultBody).ErrorCode; c != 0 {
		t.Fatalf("next second: %d", c)
	}
	if s := e.app.Stats(); s.Calls != 6 || s.MaxInSecond != 5 {
		t.Fatalf("stats %+v", s)
	}
}

func TestParseFault(t *testing.T) {
	cases := []struct {
		in   string
		kind FaultKind
		rate float64
		err  bool
	}{
		{"http502=0.25", FaultHTTP502, 0.25, false},
		{"hang", FaultHang, 1, false},
		{"bogus=1", "", 0, true},
		{"reset=2", "", 0, true},
		{"reset=x", "", 0, true},
	}
	for _, c := range cases {
		k, r, err := ParseFault(c.in)
		if (err != nil) != c.err || k != c.kind || r != c.rate {
			t.Errorf("ParseFault(%q) = %q, %v, %v", c.in, k, r, err)
		}
	}
}

func TestControlAPI(t *testing.T) {
	sim := New()
	sim.AddApp(AppConfig{SDKAppID: refApp, Identifier: adminID, SecretKey: refKey, Accounts: 3})
	srv := httptest.NewServer(sim.ControlHandler())
	defer srv.Close()
	base := srv.URL + "/simulator/apps/" + strconv.Itoa(refApp)

	do := func(method, url, body string) int {
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := do("PUT", base+"/faults", `{"Latency":"5ms","ServiceDisabled":true,"Rates":{"http502":0.5}}`); s != 204 {
		t.Fatalf("PUT faults: %d", s)
	}
	f := sim.App(refApp).Faults()
	if f.Latency != 5*time.Millisecond || !f.ServiceDisabled || f.Rates[FaultHTTP502] != 0.5 {
		t.Fatalf("faults %+v", f)
	}
	if s := do("PUT", base+"/faults", `{"Rates":{"bogus":1}}`); s != 400 {
		t.Fatalf("bad fault: %d", s)
	}
	if s := do("POST", base+"/account?id=%40TOA%23_sim00001", `{"Subscribers":42}`); s != 204 {
		t.Fatalf("update: %d", s)
	}
	if a, _ := sim.App(refApp).Account("@TOA#_sim00001"); a.Subscribers != 42 {
		t.Fatalf("subscribers %d", a.Subscribers)
	}
	if s := do("POST", base+"/account?id=nope", `{"Subscribers":1}`); s != 404 {
		t.Fatalf("unknown account: %d", s)
	}
	if s := do("GET", srv.URL+"/simulator/apps/1/stats", ""); s != 404 {
		t.Fatalf("unknown app: %d", s)
	}
}
