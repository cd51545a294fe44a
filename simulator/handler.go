package simulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Request handling: the reference's checks in its order, then the answer.

// errorInfo gives each code the text the service is documented to send.
var errorInfo = map[int]string{
	6017:   "invalid request parameter",
	10004:  "internal server error, please retry",
	20001:  "invalid request packet",
	20005:  "internal server error, please retry",
	60002:  "HTTP parse error",
	60003:  "JSON parse error",
	60004:  "account or signature is wrong",
	60006:  "SDKAppID invalid",
	60007:  "REST API call rate over limit",
	60010:  "request requires App admin permissions",
	60012:  "SDKAppID missing",
	70001:  "UserSig expired",
	70003:  "UserSig is invalid or truncated",
	70009:  "UserSig verification failed, check the secret key",
	70013:  "identifier in the request does not match the UserSig",
	70014:  "SDKAppID in the request does not match the UserSig",
	70020:  "SDKAppID not found",
	130004: "official account does not exist or was terminated",
	130007: "invalid official account ID",
	131000: "official account service not enabled for this AppId",
}

// route is one API the simulator answers: a row per data family. Adding
// an API is a row here, its answer function and its Stats field; the
// checks every call goes through (signature, faults, rate limit) are
// shared and stay in ServeHTTP.
type route struct {
	// tally records one call that reached the app, faults included;
	// it runs with a.mu held.
	tally func(a *App, now time.Time)
	// answer reads the request body and returns the answer, or an
	// error code for the reference's error answer.
	answer func(a *App, r *http.Request, now time.Time, f *Faults) ([]byte, int)
}

// routes maps each API path to its row. It is never written.
var routes = map[string]route{
	Path: {
		tally: func(a *App, _ time.Time) { a.calls++ },
		answer: func(a *App, r *http.Request, now time.Time, f *Faults) ([]byte, int) {
			ids, filter, code := parseBody(r.Body)
			if code != 0 {
				return nil, code
			}
			return a.answer(ids, filter, now, f.shape()), 0
		},
	},
	AppInfoPath: {
		tally: func(a *App, _ time.Time) { a.appInfoCalls++ },
		answer: func(a *App, r *http.Request, now time.Time, _ *Faults) ([]byte, int) {
			return a.appInfo(r.Body, now)
		},
	},
	MsgPath: {
		tally: func(a *App, _ time.Time) { a.msgCalls++ },
		answer: func(a *App, r *http.Request, _ time.Time, _ *Faults) ([]byte, int) {
			return a.messages(r.Body)
		},
	},
	PushPath: {
		tally: func(a *App, now time.Time) { a.pushCalls = append(a.pushCalls, now) },
		answer: func(a *App, r *http.Request, now time.Time, _ *Faults) ([]byte, int) {
			return a.pushStatistics(r.Body, now)
		},
	},
}

func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	route, ok := routes[r.URL.Path]
	if !ok {
		http.Error(w, "404 page not found", http.StatusNotFound)
		return
	}
	// The service answers HTTP 200 for every call it understands; errors are
	// in the body. Which code a GET gets is not documented: 60002 (HTTP
	// parse error) is the closest documented one.
	if r.Method != http.MethodPost {
		writeError(w, 60002)
		return
	}
	q := r.URL.Query()
	if q.Get("contenttype") != "json" {
		writeError(w, 60002)
		return
	}
	if _, err := strconv.ParseUint(q.Get("random"), 10, 32); err != nil {
		writeError(w, 60002)
		return
	}
	appText := q.Get("sdkappid")
	if appText == "" {
		writeError(w, 60012)
		return
	}
	sdkappid, err := strconv.ParseUint(appText, 10, 64)
	if err != nil {
		writeError(w, 60006)
		return
	}
	app := s.App(sdkappid)
	if app == nil {
		writeError(w, 70020) // the reference: SDKAppID not found (wrong region)
		return
	}
	faults := app.count(s.clock(), route)

	if faults.Latency > 0 || faults.LatencyJitter > 0 {
		d := faults.Latency
		if faults.LatencyJitter > 0 {
			d += rand.N(faults.LatencyJitter)
		}
		if !s.sleep(r, d) {
			return
		}
	}
	switch {
	case faults.hit(FaultHang):
		select {
		case <-r.Context().Done():
		case <-s.closing:
		}
		return
	case faults.hit(FaultReset):
		reset(w)
		return
	case faults.hit(FaultHTTP502):
		http.Error(w, "502 Bad Gateway", http.StatusBadGateway)
		return
	case faults.hit(FaultHTTP503):
		http.Error(w, "503 Service Unavailable", http.StatusServiceUnavailable)
		return
	case faults.hit(FaultHTTP429):
		http.Error(w, "429 Too Many Requests", http.StatusTooManyRequests)
		return
	}
	if app.overLimit(faults.RateLimit) {
		writeError(w, 60007)
		return
	}

	identifier, token := q.Get("identifier"), q.Get("usersig")
	if identifier == "" {
		writeError(w, 60004)
		return
	}
	if code := app.checkUserSig(identifier, token, s.clock()); code != 0 {
		writeError(w, code)
		return
	}
	switch {
	case faults.ServiceDisabled:
		writeError(w, 131000)
		return
	case faults.ErrorCode != 0:
		writeError(w, faults.ErrorCode)
		return
	case faults.hit(FaultTransient):
		writeError(w, []int{10004, 20005}[rand.IntN(2)])
		return
	case faults.hit(FaultUnknownCode):
		writeError(w, 80000+rand.IntN(10000))
		return
	case faults.hit(FaultEchoInfo):
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"ActionStatus":"FAIL","ErrorInfo":%s,"ErrorCode":20001}`, jsonString(echoInfo(r)))
		return
	}

	body, code := route.answer(app, r, s.clock(), &faults)
	if code != 0 {
		writeError(w, code)
		return
	}
	s.deliver(w, body, &faults)
}

// count records a call on route for the app's statistics and returns
// its faults.
func (a *App) count(now time.Time, route route) Faults {
	a.mu.Lock()
	defer a.mu.Unlock()
	route.tally(a, now)
	if sec := now.Unix(); sec != a.second {
		a.second, a.inSecond = sec, 0
	}
	a.inSecond++
	if a.inSecond > a.maxInSecond {
		a.maxInSecond = a.inSecond
	}
	return a.faults
}
func (a *App) overLimit(limit int) bool {
	if limit <= 0 {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.inSecond > limit
}

// sleep waits d, or less if the caller goes away; it reports whether to go on.
func (s *Simulator) sleep(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	case <-s.closing:
		return false
	}
}

type filterSet map[string]bool

var knownFields = map[string]bool{"CreateTime": true, "Name": true, "Owner_Account": true,
	"LastMsgTime": true, "SubscriberNum": true, "Introduction": true, "FaceUrl": true,
	"Organization": true, "CustomString": true}

// parseBody returns the requested IDs and filter (nil: every field), or the
// code for a body that is not JSON (60003), not the expected shape (20001) or
// out of the documented limits (6017).
func parseBody(body io.Reader) ([]string, filterSet, int) {
	raw, err := io.ReadAll(io.LimitReader(body, maxRequestBody))
	if err != nil {
		return nil, nil, 60002
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, nil, 60003
	}
	var list []struct {
		ID *string `json:"Official_Account"`
	}
	listRaw, ok := doc["OfficialAccountIdList"]
	if !ok || json.Unmarshal(listRaw, &list) != nil {
		return nil, nil, 20001
	}
	if len(list) == 0 || len(list) > maxAccounts {
		return nil, nil, 6017
	}
	ids := make([]string, len(list))
	for i, item := range list {
		if item.ID == nil {
			return nil, nil, 20001
		}
		ids[i] = *item.ID
	}
	var filter filterSet
	if fRaw, ok := doc["ResponseFilter"]; ok {
		var f struct {
			Fields []string `json:"OfficialAccountBaseInfoFilter"`
		}
		if json.Unmarshal(fRaw, &f) != nil {
			return nil, nil, 20001
		}
		// An empty filter is taken as no filter (every field), which is
		// what the page documents for a missing one.
		if len(f.Fields) > 0 {
			filter = filterSet{}
			for _, name := range f.Fields {
				if !knownFields[name] {
					return nil, nil, 6017
				}
				filter[name] = true
			}
		}
	}
	return ids, filter, 0
}

// validID is the documented shape: "@TOA#_" prefix, at most 48 bytes.
func validID(id string) bool {
	return strings.HasPrefix(id, "@TOA#_") && len(id) > len("@TOA#_") && len(id) <= 48
}

// answer builds the body for a successful call.
func (a *App) answer(ids []string, filter filterSet, now time.Time, sh shape) []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.drift(now)
	var b bytes.Buffer
	b.Grow(64 + 200*len(ids))
	switch {
	case sh.noList:
		return []byte(`{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}`)
	case sh.emptyList:
		return []byte(`{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0,"OfficialAccountInfoList":[]}`)
	case sh.envelope:
		fmt.Fprintf(&b, `{"ErrorCode":0,"ErrorInfo":"","RequestId":"sim-%d","ErrorDisplay":"","Extra":{"nested":[1,{"a":null}],"b":-1.5e3},"OfficialAccountInfoList":[`, a.calls)
	default:
		b.WriteString(`{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0,"OfficialAccountInfoList":[`)
	}
	fetched := 0 // accounts written with their data so far
	for n := range ids {
		i := n
		if sh.reversed {
			i = len(ids) - 1 - n
		}
		id := ids[i]
		if n > 0 {
			b.WriteByte(',')
		}
		acct := a.byID[id]
		switch {
		case !validID(id):
			writeItemError(&b, id, 130007, sh)
		case acct == nil || acct.Terminated:
			writeItemError(&b, id, 130004, sh)
		default:
			v := *acct
			switch {
			case sh.malformedItem && fetched == 0:
				v.Subscribers = badSubscribers
			case sh.implausible && fetched == 0:
				v.Subscribers = -v.Subscribers - 1
			case sh.implausible && fetched == 1:
				v.LastMsgTime *= 1000
			}
			fetched++
			writeItem(&b, &v, filter, sh)
		}
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// badSubscribers marks the malformed-item fault's account: writeItem sends
// 12.5 instead of an integer.
const badSubscribers = -1 << 62

func writeItemError(b *bytes.Buffer, id string, code int, sh shape) {
	if sh.noItemIDs {
		fmt.Fprintf(b, `{"ErrorCode":%d,"ErrorInfo":%s}`, code, jsonString(errorInfo[code]))
		return
	}
	fmt.Fprintf(b, `{"ErrorCode":%d,"ErrorInfo":%s,"Official_Account":%s}`, code, jsonString(errorInfo[code]), jsonString(id))
}

func writeItem(b *bytes.Buffer, a *Account, filter filterSet, sh shape) {
	b.WriteString(`{"ErrorCode":0,"ErrorInfo":"","Official_Account":`)
	writeJSONString(b, a.ID)
	if sh.envelope {
		b.WriteString(`,"Unknown":{"x":[true,null,{"y":"z"}]}`)
	}
	str := func(name, v string) {
		if filter == nil || filter[name] {
			b.WriteString(`,"`)
			b.WriteString(name)
			b.WriteString(`":`)
			writeJSONString(b, v)
		}
	}
	num := func(name string, v int64) {
		if filter == nil || filter[name] {
			b.WriteString(`,"`)
			b.WriteString(name)
			b.WriteString(`":`)
			if v == badSubscribers {
				b.WriteString("12.5")
				return
			}
			b.Write(strconv.AppendInt(b.AvailableBuffer(), v, 10))
		}
	}
	str("Name", a.Name)
	num("CreateTime", a.CreateTime)
	str("Owner_Account", a.Owner)
	num("LastMsgTime", a.LastMsgTime)
	num("SubscriberNum", a.Subscribers)
	str("Introduction", a.Introduction)
	str("FaceUrl", a.FaceURL)
	str("Organization", a.Organization)
	str("CustomString", a.CustomString)
	b.WriteByte('}')
}

// writeJSONString writes s as a JSON string; plain ASCII, the common case,
// goes straight in, anything else through encoding/json.
func writeJSONString(b *bytes.Buffer, s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b.WriteString(jsonString(s))
			return
		}
	}
	b.WriteByte('"')
	b.WriteString(s)
	b.WriteByte('"')
}
func jsonString(s string) string {
	out, _ := json.Marshal(s)
	return string(out)
}
func writeError(w http.ResponseWriter, code int) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"ActionStatus":"FAIL","ErrorInfo":%s,"ErrorCode":%d}`, jsonString(errorInfo[code]), code)
}
