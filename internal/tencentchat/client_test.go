package tencentchat

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tencentyun/tls-sig-api-v2-golang/tencentyun"
	"golang.org/x/time/rate"

	"github.com/tencentchat-exporter/tencentchat_exporter/simulator"
)

const (
	testApp   = 1400000000
	testAdmin = "administrator"
	testKey   = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"
)

// simEnv is a simulator on real HTTP with one app of n accounts.
func simEnv(t testing.TB, n int) (*simulator.App, string) {
	t.Helper()
	sim := simulator.New()
	app := sim.AddApp(simulator.AppConfig{SDKAppID: testApp, Identifier: testAdmin, SecretKey: testKey, Accounts: n, Seed: 1})
	srv := httptest.NewServer(sim)
	t.Cleanup(func() { sim.Close(); srv.Close() })
	return app, srv.URL
}

func newTestClient(t testing.TB, base string, mod func(*Options)) *Client {
	t.Helper()
	o := Options{BaseURL: base, SDKAppID: testApp, Identifier: testAdmin, SecretKey: testKey, Timeout: time.Second, Retries: 2,
		UserSigTTL: 24 * time.Hour}
	if mod != nil {
		mod(&o)
	}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	c.backoffBase, c.backoffCap = time.Millisecond, 5*time.Millisecond
	c.rateLimitBackoffBase, c.rateLimitCap = 2*time.Millisecond, 10*time.Millisecond
	return c
}

// testAnswer is what getInfo returns.
type testAnswer struct {
	Results    []Result
	OtherCodes []int
}

// getInfo asks for ids as the exporter does, through a Batch.
func getInfo(c *Client, ctx context.Context, ids []string, fields []Field, observe ...func(Attempt)) (*testAnswer, error) {
	b, err := NewBatch(ids, fields)
	if err != nil {
		return nil, err
	}
	var obs func(Attempt)
	if len(observe) > 0 {
		obs = observe[0]
	}
	ans := &testAnswer{Results: make([]Result, len(ids))}
	ans.OtherCodes, err = c.Fetch(ctx, b, ans.Results, nil, obs)
	if err != nil {
		return nil, err
	}
	return ans, nil
}

var allFields = []Field{FieldName, FieldOwnerAccount, FieldCreateTime, FieldLastMsgTime, FieldSubscriberNum}

func TestAgainstSimulator(t *testing.T) {
	app, base := simEnv(t, 120)
	c := newTestClient(t, base, nil)
	ids := []string{simulator.AccountID(0), simulator.AccountID(13), simulator.AccountID(7), "bad-id", "@TOA#_missing"}
	ans, err := getInfo(c, context.Background(), ids, allFields)
	if err != nil {
		t.Fatal(err)
	}
	res := ans.Results
	want0, _ := app.Account(ids[0])
	r := res[0]
	if !r.Answered || r.Info.ErrorCode.V != 0 || r.Info.Name != want0.Name || r.Info.OwnerAccount != want0.Owner ||
		r.Info.SubscriberNum != (OptInt{want0.Subscribers, true}) || r.Info.CreateTime != (OptInt{want0.CreateTime, true}) ||
		r.Info.LastMsgTime != (OptInt{want0.LastMsgTime, true}) {
		t.Fatalf("result %+v, account %+v", r, want0)
	}
	wantCodes := []int64{0, 130004, 0, 130007, 130004}
	for i, r := range res {
		if r.ID != ids[i] || !r.Answered || r.Info.ErrorCode.V != wantCodes[i] {
			t.Errorf("result %d: %+v, want code %d", i, r, wantCodes[i])
		}
	}
	if res[2].Info.LastMsgTime != (OptInt{0, true}) {
		t.Errorf("silent account: %+v", res[2].Info.LastMsgTime)
	}
}

func TestBatchLimits(t *testing.T) {
	_, base := simEnv(t, 60)
	c := newTestClient(t, base, nil)
	ids := make([]string, 51)
	for i := range ids {
		ids[i] = simulator.AccountID(i)
	}
	if _, err := getInfo(c, context.Background(), ids[:50], nil); err != nil {
		t.Fatalf("50 accounts: %v", err)
	}
	if _, err := getInfo(c, context.Background(), nil, nil); err == nil {
		t.Error("no accounts accepted")
	}
	// The configuration keeps batches at 50; the API refuses more.
	if _, err := getInfo(c, context.Background(), ids, nil); ErrorCode(err) == 0 {
		t.Errorf("51 accounts: err = %v, want an API error code", err)
	}
}

func TestConcurrentCalls(t *testing.T) {
	app, base := simEnv(t, 500)
	c := newTestClient(t, base, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for b := range 10 {
		wg.Go(func() {
			ids := make([]string, 50)
			for i := range ids {
				ids[i] = simulator.AccountID(b*50 + i)
			}
			ans, err := getInfo(c, context.Background(), ids, allFields)
			if err == nil && (len(ans.Results) != 50 || !ans.Results[49].Answered) {
				err = fmt.Errorf("batch %d: %d results", b, len(ans.Results))
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if s := app.Stats(); s.Calls != 10 {
		t.Errorf("%d calls, want 10", s.Calls)
	}
}

// capture is a server that records requests and answers with a script.
type capture struct {
	mu       sync.Mutex
	requests []*http.Request
	bodies   [][]byte
	answer   func(n int, w http.ResponseWriter, r *http.Request)
}

func (c *capture) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	c.requests = append(c.requests, r)
	c.bodies = append(c.bodies, body)
	n := len(c.requests)
	c.mu.Unlock()
	c.answer(n, w, r)
}

func (c *capture) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.requests)
}

func okAnswer(w http.ResponseWriter) {
	io.WriteString(w, `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","OfficialAccountInfoList":[{"ErrorCode":0,"Official_Account":"@TOA#_a","SubscriberNum":5}]}`)
}

func codeAnswer(w http.ResponseWriter, code int) {
	fmt.Fprintf(w, `{"ActionStatus":"FAIL","ErrorCode":%d,"ErrorInfo":"code %d"}`, code, code)
}

func captureServer(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) (*capture, string) {
	cp := &capture{answer: answer}
	srv := httptest.NewServer(cp)
	t.Cleanup(srv.Close)
	return cp, srv.URL
}

func TestRequestShape(t *testing.T) {
	cp, base := captureServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) { okAnswer(w) })
	c := newTestClient(t, base, func(o *Options) { o.Identifier = "admin user" })
	for range 3 {
		if _, err := getInfo(c, context.Background(), []string{"@TOA#_a", "@TOA#_b"}, []Field{FieldSubscriberNum, FieldName}); err != nil {
			t.Fatal(err)
		}
	}
	randoms := map[string]bool{}
	for i, r := range cp.requests {
		if r.Method != http.MethodPost || r.URL.Path != APIPath {
			t.Fatalf("%s %s", r.Method, r.URL.Path)
		}
		raw := r.URL.RawQuery
		q := r.URL.Query()
		if q.Get("sdkappid") != "1400000000" || q.Get("identifier") != "admin user" || q.Get("contenttype") != "json" {
			t.Errorf("query %q", raw)
		}
		// The UserSig is in the raw query exactly as signed: unescaped.
		sig := rawParam(raw, "usersig")
		if strings.Contains(sig, "%") || sig == "" {
			t.Errorf("usersig escaped or missing: %q", sig)
		}
		if err := tencentyun.VerifyUserSig(testApp, testKey, "admin user", sig, time.Now()); err != nil {
			t.Errorf("usersig does not verify: %v", err)
		}
		n, err := strconv.ParseUint(q.Get("random"), 10, 64)
		if err != nil || n > 4294967295 {
			t.Errorf("random %q", q.Get("random"))
		}
		randoms[q.Get("random")] = true
		var body struct {
			OfficialAccountIdList []map[string]string
			ResponseFilter        struct{ OfficialAccountBaseInfoFilter []string }
		}
		if err := json.Unmarshal(cp.bodies[i], &body); err != nil {
			t.Fatal(err)
		}
		if len(body.OfficialAccountIdList) != 2 || body.OfficialAccountIdList[1]["Official_Account"] != "@TOA#_b" ||
			strings.Join(body.ResponseFilter.OfficialAccountBaseInfoFilter, ",") != "SubscriberNum,Name" {
			t.Errorf("body %s", cp.bodies[i])
		}
	}
	if len(randoms) != 3 {
		t.Errorf("random repeated: %v", randoms)
	}
}

func rawParam(raw, name string) string {
	for _, kv := range strings.Split(raw, "&") {
		if k, v, _ := strings.Cut(kv, "="); k == name {
			return v
		}
	}
	return ""
}

// TestErrorCodes runs every documented code as a request-level answer:
// transient ones are retried up to Retries, the rest returned at once.
func TestErrorCodes(t *testing.T) {
	codes := []struct {
		code  int
		retry bool
	}{
		{6017, false}, {10004, true}, {20001, false}, {20005, true}, {130002, false}, {130004, false},
		{130007, false}, {131000, false}, {60002, false}, {60003, false}, {60004, false}, {60005, false},
		{60006, false}, {60007, true}, {60008, true}, {60010, false}, {60011, true}, {60012, false},
		{60015, false}, {60016, false}, {60017, false}, {60018, true}, {60019, true}, {60020, false},
		{60021, false}, {70003, false}, {70009, false}, {70013, false}, {70014, false}, {70016, false},
		{70020, false}, {70050, false},
		// Added facts: generic internal errors are transient; the rest not.
		{10002, true}, {20004, true}, {60009, false}, {60013, false}, {60014, false}, {70051, false}, {70107, false},
	}
	// Every documented code has a case, and every case is documented.
	documented := map[int]bool{}
	for _, c := range DocumentedCodes {
		documented[c] = true
	}
	for _, tc := range codes {
		if !documented[tc.code] {
			t.Errorf("code %d is tested but not in DocumentedCodes", tc.code)
		}
		delete(documented, tc.code)
	}
	delete(documented, 70001) // re-signed once: TestResignAfter70001
	for c := range documented {
		t.Errorf("documented code %d has no case", c)
	}
	for _, tc := range codes {
		t.Run(strconv.Itoa(tc.code), func(t *testing.T) {
			cp, base := captureServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) { codeAnswer(w, tc.code) })
			var attempts []Attempt
			c := newTestClient(t, base, nil)
			_, err := getInfo(c, context.Background(), []string{"@TOA#_a"}, nil, func(a Attempt) { attempts = append(attempts, a) })
			var e *Error
			if !errors.As(err, &e) || e.Code != tc.code || ErrorCode(err) != tc.code || e.Reason != ReasonNone {
				t.Fatalf("err = %#v", err)
			}
			want := 1
			if tc.retry {
				want = 3
			}
			if cp.count() != want || e.Attempts != want || len(attempts) != want || attempts[0].Code != tc.code {
				t.Fatalf("%d calls, Attempts %d, observed %v; want %d", cp.count(), e.Attempts, attempts, want)
			}
			if !strings.Contains(err.Error(), strconv.Itoa(tc.code)) {
				t.Errorf("message %q lacks the code", err)
			}
		})
	}
}

func TestTransientThenSuccess(t *testing.T) {
	cp, base := captureServer(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		switch n {
		case 1:
			codeAnswer(w, 10004)
		case 2:
			http.Error(w, "bad gateway", http.StatusBadGateway)
		default:
			okAnswer(w)
		}
	})
	var attempts []Attempt
	c := newTestClient(t, base, nil)
	ans, err := getInfo(c, context.Background(), []string{"@TOA#_a"}, nil, func(a Attempt) {
		// What is compared: which call, with which code or failure.
		attempts = append(attempts, Attempt{API: a.API, Code: a.Code, Reason: a.Reason})
	})
	if err != nil || !ans.Results[0].Answered || ans.Results[0].Info.SubscriberNum.V != 5 {
		t.Fatalf("%+v, %v", ans, err)
	}
	api := APIOfficialAccountInfo
	want := []Attempt{{API: api, Code: 10004}, {API: api, Reason: ReasonHTTPStatus}, {API: api}}
	if fmt.Sprint(attempts) != fmt.Sprint(want) || cp.count() != 3 {
		t.Fatalf("attempts %v", attempts)
	}
}

func TestTransportFailures(t *testing.T) {
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	cases := []struct {
		name    string
		handler func(w http.ResponseWriter, r *http.Request)
		reason  Reason
		calls   int // with Retries 2
	}{
		{"502", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) }, ReasonHTTPStatus, 3},
		{"429 retried", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTooManyRequests) }, ReasonHTTPStatus, 3},
		{"bad gzip not retried", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Encoding", "gzip")
			io.WriteString(w, "this is not gzip at all")
		}, ReasonDecode, 1},
		{"corrupt gzip stream", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Encoding", "gzip")
			w.Write([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
		}, ReasonDecode, 1},
		{"OK without items", func(w http.ResponseWriter, _ *http.Request) {
			io.WriteString(w, `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}`)
		}, ReasonDecode, 1},
		{"OK with an empty list", func(w http.ResponseWriter, _ *http.Request) {
			io.WriteString(w, `{"ErrorCode":0,"OfficialAccountInfoList":[]}`)
		}, ReasonDecode, 1},
		{"503", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }, ReasonHTTPStatus, 3},
		{"404 not retried", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNotFound) }, ReasonHTTPStatus, 1},
		{"redirect not followed", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://example.invalid/steal", http.StatusFound)
		}, ReasonHTTPStatus, 1},
		{"malformed", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "<html>") }, ReasonDecode, 1},
		{"oversized", func(w http.ResponseWriter, _ *http.Request) {
			io.WriteString(w, `{"ErrorCode":0,"Pad":"`+strings.Repeat("x", 2000)+`"}`)
		}, ReasonDecode, 1},
		{"truncated", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Length", "500")
			io.WriteString(w, `{"ErrorCode":0,`)
		}, ReasonDecode, 1},
		{"reset", func(w http.ResponseWriter, _ *http.Request) {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.(*net.TCPConn).SetLinger(0)
			conn.Close()
		}, ReasonNetwork, 3},
		{"hang", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-hang:
			}
		}, ReasonTimeout, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cp, base := captureServer(t, func(_ int, w http.ResponseWriter, r *http.Request) { tc.handler(w, r) })
			c := newTestClient(t, base, func(o *Options) { o.Timeout = 100 * time.Millisecond })
			c.maxBody = 1000
			_, err := getInfo(c, context.Background(), []string{"@TOA#_a"}, nil)
			var e *Error
			if !errors.As(err, &e) || e.Reason != tc.reason || e.Code != 0 {
				t.Fatalf("err = %v (%#v), want reason %s", err, err, tc.reason)
			}
			if cp.count() != tc.calls {
				t.Fatalf("%d calls, want %d", cp.count(), tc.calls)
			}
			assertNoSecret(t, err.Error(), c)
		})
	}
}

// TestRateLimitBackoffFor429: HTTP 429 waits the rate-limit backoff, not
// the short one.
func TestRateLimitBackoffFor429(t *testing.T) {
	if got := IsRateLimit(&Error{Reason: ReasonHTTPStatus, HTTPStatus: 429}); !got {
		t.Fatal("429 is not a rate-limit answer")
	}
	c := newTestClient(t, "http://127.0.0.1:1", nil)
	c.backoffBase, c.backoffCap = time.Millisecond, time.Millisecond
	c.rateLimitBackoffBase, c.rateLimitCap = time.Hour, time.Hour
	if d := c.backoff(&Error{Reason: ReasonHTTPStatus, HTTPStatus: 429}, 1); d < 30*time.Minute {
		t.Fatalf("429 backoff %v, want the rate-limit one", d)
	}
	if d := c.backoff(&Error{Reason: ReasonHTTPStatus, HTTPStatus: 503}, 1); d > time.Millisecond {
		t.Fatalf("503 backoff %v, want the short one", d)
	}
}

// TestErrorInfoCleaned: ErrorInfo is untrusted text. An answer that echoes
// the request (UserSig included), the key, control characters or megabytes
// gives an error message, and item infos, without any of them.
func TestErrorInfoCleaned(t *testing.T) {
	var c *Client
	_, base := captureServer(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		echo := "rejected " + r.URL.String() + " key=" + testKey + "\x1b[31m\r\nfake=line " + strings.Repeat("x ", 1<<20)
		b, _ := json.Marshal(echo)
		fmt.Fprintf(w, `{"ErrorCode":70009,"ErrorInfo":%s}`, b)
	})
	// A 2 MB answer under -race on a busy machine (make test builds the
	// tools beside the unit tests) may take over a second: the cleaning is
	// under test here, not the timeout.
	c = newTestClient(t, base, func(o *Options) { o.Timeout = 30 * time.Second })
	_, err := getInfo(c, context.Background(), []string{"@TOA#_a"}, nil)
	var e *Error
	if !errors.As(err, &e) || e.Code != 70009 {
		t.Fatalf("err = %v", err)
	}
	msg := err.Error()
	assertNoSecret(t, msg, c)
	if strings.Contains(msg, testKey) || strings.ContainsAny(msg, "\x1b\r\n") {
		t.Fatalf("message not cleaned: %q", msg)
	}
	if len(msg) > 400 || !strings.Contains(msg, "bytes)") || !strings.Contains(msg, `\x1b`) {
		t.Fatalf("message not cut to size with its length, or control characters not escaped: %q", msg)
	}
	// Item infos too.
	_, base = captureServer(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		b, _ := json.Marshal("echo " + r.URL.RawQuery + "\n")
		fmt.Fprintf(w, `{"ErrorCode":0,"OfficialAccountInfoList":[{"ErrorCode":130004,"Official_Account":"@TOA#_a","ErrorInfo":%s}]}`, b)
	})
	c = newTestClient(t, base, nil)
	ans, err := getInfo(c, context.Background(), []string{"@TOA#_a"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	info := ans.Results[0].Info.ErrorInfo
	assertNoSecret(t, info, c)
	if !strings.Contains(info, "<redacted>") || strings.Contains(info, "\n") {
		t.Fatalf("item info not cleaned: %q", info)
	}
}

func TestNetworkErrorRedacted(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: connection refused
	c := newTestClient(t, "http://"+addr, func(o *Options) { o.Retries = 0 })
	_, err = getInfo(c, context.Background(), []string{"@TOA#_a"}, nil)
	var e *Error
	if !errors.As(err, &e) || e.Reason != ReasonNetwork {
		t.Fatalf("err = %v", err)
	}
	var ue *url.Error
	if !errors.As(err, &ue) || !strings.Contains(ue.URL, "<redacted>") {
		t.Fatalf("url.Error not redacted: %v", err)
	}
	msg := fmt.Sprintf("%v %+v %#v", err, err, err)
	assertNoSecret(t, msg, c)
	if strings.Contains(msg, "usersig=") {
		t.Fatalf("query in error: %s", msg)
	}
}

func assertNoSecret(t *testing.T, s string, c *Client) {
	t.Helper()
	sig, _ := c.signer.get()
	for _, secret := range []string{testKey, sig} {
		if strings.Contains(s, secret) {
			t.Fatalf("secret in %q", s)
		}
	}
}

// TestRetriesAndDeadline: backoffs that fit before the caller's deadline
// are taken, as many as fit; a retry whose backoff would end after it is not
// attempted, and the call returns at once with the last error instead of
// sleeping into the deadline.
func TestRetriesAndDeadline(t *testing.T) {
	cases := []struct {
		name               string
		backoff, deadline  time.Duration // waits are backoff/2 to backoff
		minCalls, maxCalls int
		returnsEarly       bool // gives up before the deadline instead of sleeping into it
	}{
		// At most 300/20 + 1 calls fit; a loaded machine may fit fewer.
		{"backoffs fit", 40 * time.Millisecond, 300 * time.Millisecond, 2, 16, false},
		{"backoff longer than the deadline", 20 * time.Second, 5 * time.Second, 1, 1, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cp, base := captureServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) { codeAnswer(w, 60007) })
			c := newTestClient(t, base, func(o *Options) { o.Retries = 100 })
			c.rateLimitBackoffBase, c.rateLimitCap = tc.backoff, tc.backoff
			ctx, cancel := context.WithTimeout(context.Background(), tc.deadline)
			defer cancel()
			start := time.Now()
			if _, err := getInfo(c, ctx, []string{"@TOA#_a"}, nil); ErrorCode(err) != 60007 {
				t.Fatalf("err = %v", err)
			}
			if d := time.Since(start); tc.returnsEarly && ctx.Err() != nil {
				t.Fatalf("returned after %v, at the deadline: it waited instead of giving up", d)
			}
			if n := cp.count(); n < tc.minCalls || n > tc.maxCalls {
				t.Fatalf("%d calls within the deadline, want %d to %d", n, tc.minCalls, tc.maxCalls)
			}
		})
	}
}

func TestHangBoundedByContext(t *testing.T) {
	app, base := simEnv(t, 5)
	app.SetFaults(simulator.Faults{Rates: map[simulator.FaultKind]float64{simulator.FaultHang: 1}})
	c := newTestClient(t, base, func(o *Options) { o.Timeout = 10 * time.Second })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := getInfo(c, ctx, []string{simulator.AccountID(0)}, nil)
	var e *Error
	if !errors.As(err, &e) || e.Reason != ReasonTimeout {
		t.Fatalf("err = %v", err)
	}
}

// TestResultMatching: items are matched by Official_Account whatever their
// order; an item without one takes its position only when the answer has
// one item per requested account and the position is free; a malformed
// item makes its own account unusable; unmatched items' codes are kept.
// No value ever lands on another account.
func TestResultMatching(t *testing.T) {
	ids := []string{"@TOA#_a", "@TOA#_b", "@TOA#_c"}
	cases := []struct {
		name  string
		items string
		want  string // per account, "|"-separated: id:answered:subscribers:code[:start of err]
		other []int
	}{
		{"in order", `{"ErrorCode":0,"Official_Account":"@TOA#_a","SubscriberNum":1},{"ErrorCode":0,"Official_Account":"@TOA#_b","SubscriberNum":2},{"ErrorCode":0,"Official_Account":"@TOA#_c","SubscriberNum":3}`,
			"a:true:1:0|b:true:2:0|c:true:3:0", nil},
		{"reversed", `{"ErrorCode":0,"Official_Account":"@TOA#_c","SubscriberNum":3},{"ErrorCode":0,"Official_Account":"@TOA#_b","SubscriberNum":2},{"ErrorCode":0,"Official_Account":"@TOA#_a","SubscriberNum":1}`,
			"a:true:1:0|b:true:2:0|c:true:3:0", nil},
		{"out of order, an intruder, one missing", `{"ErrorCode":0,"Official_Account":"@TOA#_c","SubscriberNum":3},{"ErrorCode":130004,"Official_Account":"@TOA#_intruder"},{"ErrorCode":0,"Official_Account":"@TOA#_a","SubscriberNum":1}`,
			"a:true:1:0|b:false:0:0|c:true:3:0", []int{130004}},
		{"error item without ID, full answer", `{"ErrorCode":0,"Official_Account":"@TOA#_a","SubscriberNum":1},{"ErrorCode":130004},{"ErrorCode":0,"Official_Account":"@TOA#_c","SubscriberNum":3}`,
			"a:true:1:0|b:true:0:130004|c:true:3:0", nil},
		{"error item without ID, short answer", `{"ErrorCode":0,"Official_Account":"@TOA#_a","SubscriberNum":1},{"ErrorCode":130004}`,
			"a:true:1:0|b:false:0:0|c:false:0:0", []int{130004}},
		{"ID-less item whose position another item claimed", `{"ErrorCode":0,"Official_Account":"@TOA#_c","SubscriberNum":3},{"ErrorCode":0,"Official_Account":"@TOA#_b","SubscriberNum":2},{"ErrorCode":0,"SubscriberNum":9}`,
			"a:false:0:0|b:true:2:0|c:true:3:0", nil},
		{"duplicate item", `{"ErrorCode":0,"Official_Account":"@TOA#_a","SubscriberNum":1},{"ErrorCode":0,"Official_Account":"@TOA#_a","SubscriberNum":7},{"ErrorCode":0,"Official_Account":"@TOA#_c","SubscriberNum":3}`,
			"a:true:1:0|b:false:0:0|c:true:3:0", nil},
		{"one malformed value", `{"ErrorCode":0,"Official_Account":"@TOA#_a","SubscriberNum":1},{"ErrorCode":0,"Official_Account":"@TOA#_b","SubscriberNum":12.5},{"ErrorCode":0,"Official_Account":"@TOA#_c","SubscriberNum":3}`,
			"a:true:1:0|b:true:0:0:field SubscriberNum|c:true:3:0", nil},
		{"item without ErrorCode", `{"Official_Account":"@TOA#_a","SubscriberNum":1},{"ErrorCode":0,"Official_Account":"@TOA#_b","SubscriberNum":2},{"ErrorCode":0,"Official_Account":"@TOA#_c","SubscriberNum":3}`,
			"a:true:0:0:no ErrorCode|b:true:2:0|c:true:3:0", nil},
		{"item not an object", `7,{"ErrorCode":0,"Official_Account":"@TOA#_b","SubscriberNum":2},{"ErrorCode":0,"Official_Account":"@TOA#_c","SubscriberNum":3}`,
			"a:true:0:0:item: unexpected JSON number|b:true:2:0|c:true:3:0", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, base := captureServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
				io.WriteString(w, `{"ErrorCode":0,"OfficialAccountInfoList":[`+tc.items+`]}`)
			})
			ans, err := getInfo(newTestClient(t, base, nil), context.Background(), ids, nil)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range ans.Results {
				g := fmt.Sprintf("%s:%v:%d:%d", strings.TrimPrefix(r.ID, "@TOA#_"), r.Answered, r.Info.SubscriberNum.V, r.Info.ErrorCode.V)
				if r.Err != nil {
					g += ":" + r.Err.Error()
				}
				got = append(got, g)
			}
			// An error's text need only start with what the case names.
			for i, w := range strings.Split(tc.want, "|") {
				if !strings.HasPrefix(got[i], w) || (strings.Count(w, ":") == 3 && got[i] != w) {
					t.Errorf("account %d: got %s, want %s", i, got[i], w)
				}
			}
			if fmt.Sprint(ans.OtherCodes) != fmt.Sprint(tc.other) && (len(ans.OtherCodes) != 0 || len(tc.other) != 0) {
				t.Errorf("other codes %v, want %v", ans.OtherCodes, tc.other)
			}
		})
	}
}

func TestSignatureCaching(t *testing.T) {
	_, base := simEnv(t, 5)
	c := newTestClient(t, base, func(o *Options) { o.UserSigTTL = time.Hour })
	var signs atomic.Int32
	now := time.Now()
	c.signer.now = func() time.Time { return now }
	c.signer.sign = func(app int, key, id string, expire int) (string, error) {
		signs.Add(1)
		return tencentyun.GenUserSig(app, key, id, expire)
	}
	call := func() {
		t.Helper()
		if _, err := getInfo(c, context.Background(), []string{simulator.AccountID(0)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	for range 20 {
		call()
	}
	if signs.Load() != 1 {
		t.Fatalf("%d signatures for 20 calls", signs.Load())
	}
	now = now.Add(47 * time.Minute) // 78% of the lifetime
	call()
	if signs.Load() != 1 {
		t.Fatal("re-signed before 80% of the lifetime")
	}
	now = now.Add(2 * time.Minute) // 82%
	call()
	if signs.Load() != 2 {
		t.Fatal("not re-signed after 80% of the lifetime")
	}
}

func TestResignAfter70001(t *testing.T) {
	for _, persistent := range []bool{false, true} {
		t.Run(fmt.Sprintf("persistent=%v", persistent), func(t *testing.T) {
			cp, base := captureServer(t, func(n int, w http.ResponseWriter, _ *http.Request) {
				if n == 1 || persistent {
					codeAnswer(w, 70001)
					return
				}
				okAnswer(w)
			})
			c := newTestClient(t, base, nil)
			var signs atomic.Int32
			c.signer.sign = func(app int, key, id string, expire int) (string, error) {
				// Tokens of the same second are equal: vary the expiry
				// so the test can tell them apart.
				return tencentyun.GenUserSig(app, key, id, expire+int(signs.Add(1)))
			}
			_, err := getInfo(c, context.Background(), []string{"@TOA#_a"}, nil)
			if persistent && ErrorCode(err) != 70001 || !persistent && err != nil {
				t.Fatalf("err = %v", err)
			}
			if cp.count() != 2 || signs.Load() != 2 {
				t.Fatalf("%d calls, %d signatures; want 2 and 2", cp.count(), signs.Load())
			}
			s1, s2 := rawParam(cp.requests[0].URL.RawQuery, "usersig"), rawParam(cp.requests[1].URL.RawQuery, "usersig")
			if s1 == s2 {
				t.Fatal("second call reused the expired UserSig")
			}
		})
	}
}

// TestExpiredAgainstSimulator: the simulator's clock runs two days ahead, so
// every UserSig is expired: the client re-signs once and reports 70001.
func TestExpiredAgainstSimulator(t *testing.T) {
	sim := simulator.New()
	sim.AddApp(simulator.AppConfig{SDKAppID: testApp, Identifier: testAdmin, SecretKey: testKey, Accounts: 2})
	sim.SetClock(func() time.Time { return time.Now().Add(48 * time.Hour) })
	srv := httptest.NewServer(sim)
	defer srv.Close()
	c := newTestClient(t, srv.URL, nil)
	_, err := getInfo(c, context.Background(), []string{simulator.AccountID(0)}, nil)
	var e *Error
	if !errors.As(err, &e) || e.Code != 70001 || e.Attempts != 2 {
		t.Fatalf("err = %#v", err)
	}
}

func TestWrongKeyAgainstSimulator(t *testing.T) {
	_, base := simEnv(t, 2)
	c := newTestClient(t, base, func(o *Options) { o.SecretKey = "wrong" })
	_, err := getInfo(c, context.Background(), []string{simulator.AccountID(0)}, nil)
	if ErrorCode(err) != 70009 {
		t.Fatalf("err = %v", err)
	}
	assertNoSecret(t, err.Error(), c)
	if strings.Contains(err.Error(), "wrong") && !strings.Contains(err.Error(), "verification") {
		t.Fatalf("error mentions the key: %v", err)
	}
}

func TestRateLimiter(t *testing.T) {
	app, base := simEnv(t, 5)
	c := newTestClient(t, base, func(o *Options) { o.Limiter = rate.NewLimiter(10, 1) })
	var wg sync.WaitGroup
	for range 15 {
		wg.Go(func() {
			if _, err := getInfo(c, context.Background(), []string{simulator.AccountID(0)}, nil); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	// A token bucket of 10/s with burst 1 allows at most 11 calls in any
	// calendar second.
	if s := app.Stats(); s.Calls != 15 || s.MaxInSecond > 11 {
		t.Fatalf("stats %+v", s)
	}
}

// TestKnownAnswers checks the reference's rows against Tencent's module:
// the Node token verifies, and a token carrying each row's TLS.sig verifies,
// which holds only if the module's HMAC equals the row's.
func TestKnownAnswers(t *testing.T) {
	node := "eJyrVgrxCdYrSy1SslIy0jNQ0gHzM1NS80oy0zLBwokpuZl5mcUlRYkl*UVQBcUp2YkFBZkpSlaGJgZQAJEpycxNVbIyNEcVTa0oyCxKVbKyMDOBCRVnpitZKVX6OKZql5uHh6aGlhYmhVlm6IdEmFuUGhnmh7hnamdaRhUYlhoHFORFmhnYKtUCAK0SM5I_"
	if err := tencentyun.VerifyUserSig(testApp, testKey, "administrator", node, time.Unix(1700000100, 0)); err != nil {
		t.Fatalf("Node token: %v", err)
	}
	if err := tencentyun.VerifyUserSig(testApp, testKey, "administrator", node, time.Unix(1700000000+86401, 0)); err == nil {
		t.Fatal("expired Node token verified")
	}
	rows := []struct {
		id        string
		time, exp int64
		sig       string
	}{
		{"administrator", 1700000000, 86400, "yLAe+w7WUeUuqbV9h/TX78u21oTGi+i9Zp1u3PpnY60="},
		{"0", 1569910200, 15552000, "CpjuBdQs9ZwnuGAJR8onoOeI9fweX2vIMMY94iOJWJY="},
	}
	for _, r := range rows {
		tok := packToken(t, fmt.Sprintf(`{"TLS.ver":"2.0","TLS.identifier":%q,"TLS.sdkappid":%d,"TLS.time":%d,"TLS.expire":%d,"TLS.sig":%q}`,
			r.id, testApp, r.time, r.exp, r.sig))
		if err := tencentyun.VerifyUserSig(testApp, testKey, r.id, tok, time.Unix(r.time+10, 0)); err != nil {
			t.Errorf("row %s: %v", r.id, err)
		}
	}
	// And what our signer produces verifies and decodes to our inputs.
	s := newSigner(testApp, "administrator", testKey, 24*time.Hour)
	tok, err := s.get()
	if err != nil {
		t.Fatal(err)
	}
	if err := tencentyun.VerifyUserSig(testApp, testKey, "administrator", tok, time.Now()); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(unpackToken(t, tok), &doc); err != nil || doc["TLS.expire"] != float64(86400) || doc["TLS.identifier"] != "administrator" {
		t.Fatalf("doc %v, %v", doc, err)
	}
}

func packToken(t *testing.T, doc string) string {
	var z bytes.Buffer
	w := zlib.NewWriter(&z)
	io.WriteString(w, doc)
	w.Close()
	return strings.NewReplacer("+", "*", "/", "-", "=", "_").Replace(base64.StdEncoding.EncodeToString(z.Bytes()))
}

func unpackToken(t *testing.T, tok string) []byte {
	raw, err := base64.StdEncoding.DecodeString(strings.NewReplacer("*", "+", "-", "/", "_", "=").Replace(tok))
	if err != nil {
		t.Fatal(err)
	}
	r, err := zlib.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r)
	return b
}

func TestNewValidates(t *testing.T) {
	for _, o := range []Options{
		{SDKAppID: 1, Identifier: "a", SecretKey: "k"},
		{BaseURL: "http://x", Identifier: "a", SecretKey: "k"},
		{BaseURL: "http://x", SDKAppID: 1, SecretKey: "k"},
		{BaseURL: "http://x", SDKAppID: 1, Identifier: "a"},
		{BaseURL: "http://x", SDKAppID: 1, Identifier: "a", SecretKey: "k", UserSigTTL: time.Hour},
		{BaseURL: "http://x", SDKAppID: 1, Identifier: "a", SecretKey: "k", Timeout: time.Second},
		{BaseURL: "http://x", SDKAppID: 1, Identifier: "a", SecretKey: "k", Timeout: time.Second, UserSigTTL: time.Hour, Retries: -1},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
}

// TestDecodeErrorsBounded: a decoder error quotes what it refused; an
// answer whose 1 MB member name is given twice, in the envelope or in an
// item, must not make a 2 MB error (it reaches the log and the debug
// page), nor carry the UserSig or the key.
func TestDecodeErrorsBounded(t *testing.T) {
	long := strings.Repeat("k", 1<<20)
	for name, body := range map[string]string{
		"envelope": `{"ErrorCode":0,"` + long + `":1,"` + long + `":2}`,
		"item":     `{"ErrorCode":0,"OfficialAccountInfoList":[{"ErrorCode":0,"Official_Account":"@TOA#_a","` + long + `":1,"` + long + `":2}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, base := captureServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) { io.WriteString(w, body) })
			// 30 s: a timeout on a busy machine would leave the decoder untested.
			c := newTestClient(t, base, func(o *Options) { o.Retries, o.Timeout = 0, 30*time.Second })
			ans, err := getInfo(c, context.Background(), []string{"@TOA#_a"}, nil)
			var msg string
			switch {
			case err != nil:
				msg = err.Error()
			case ans.Results[0].Err != nil:
				msg = ans.Results[0].Err.Error()
			default:
				t.Fatalf("answer accepted: %+v", ans.Results[0])
			}
			if len(msg) > 400 || strings.Contains(msg, strings.Repeat("k", 300)) {
				t.Errorf("error of %d bytes: %.200s", len(msg), msg)
			}
		})
	}
}
