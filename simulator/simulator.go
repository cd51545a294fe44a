// Package simulator is a stand-in for Tencent Cloud Chat's REST API call
// get_official_account_info, written from the API reference alone. Tests,
// benchmarks and the exporter's demo mode run against it, since the real
// service cannot be reached from where this project is built. It imports no
// package of this project, so a misreading of the API in the client cannot
// hide behind the same misreading here.
package simulator

import (
	"bytes"
	"crypto/hmac"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Path is the only path the simulator answers.
const Path = "/v4/official_account_open_http_svc/get_official_account_info"

// maxAccounts is the most accounts one call may ask for (6017 beyond).
const maxAccounts = 50

// maxRequestBody bounds what the simulator reads of a request body.
const maxRequestBody = 1 << 20

// AppConfig describes one simulated app.
type AppConfig struct {
	SDKAppID   uint64
	Identifier string // the App admin; other validly signed identifiers get 60010
	SecretKey  string
	Accounts   int // accounts @TOA#_sim00000 .. generated
	Seed       uint64
	// DriftInterval is how often the data moves (subscribers drift, messages
	// are sent). 0 keeps the data still, which exact-value tests want.
	DriftInterval time.Duration
}

// Simulator is an http.Handler serving any number of apps.
type Simulator struct {
	now func() time.Time

	mu   sync.RWMutex
	apps map[uint64]*App

	closing chan struct{}
	once    sync.Once
}

// New returns an empty simulator; add apps with AddApp.
func New() *Simulator {
	return &Simulator{now: time.Now, apps: map[uint64]*App{}, closing: make(chan struct{})}
}

// Close releases calls held by the hang fault.
func (s *Simulator) Close() { s.once.Do(func() { close(s.closing) }) }

// SetClock replaces the simulator's clock (for signature expiry tests).
func (s *Simulator) SetClock(now func() time.Time) {
	s.mu.Lock()
	s.now = now
	s.mu.Unlock()
}

func (s *Simulator) clock() time.Time {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.now()
}

// AddApp adds (or replaces) an app and returns it for control.
func (s *Simulator) AddApp(c AppConfig) *App {
	now := s.clock()
	rng := rand.New(rand.NewPCG(c.Seed, c.SDKAppID))
	a := &App{cfg: c, rng: rng, lastDrift: now, byID: map[string]*Account{}}
	a.accounts = generate(rng, c.Accounts, now)
	for _, acct := range a.accounts {
		a.byID[acct.ID] = acct
	}
	s.mu.Lock()
	s.apps[c.SDKAppID] = a
	s.mu.Unlock()
	return a
}

// App returns a simulated app by SDKAppID.
func (s *Simulator) App(sdkappid uint64) *App {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.apps[sdkappid]
}

// App is one simulated app: its accounts, faults and call counts.
type App struct {
	cfg AppConfig

	mu        sync.Mutex
	rng       *rand.Rand
	accounts  []*Account
	byID      map[string]*Account
	lastDrift time.Time
	faults    Faults

	calls       int64
	second      int64 // the Unix second being counted
	inSecond    int
	maxInSecond int
}

// Stats are an app's call counts.
type Stats struct {
	Calls       int64 // every call that reached the app, faults included
	MaxInSecond int   // the most calls seen within one calendar second
}

// Stats returns the app's call counts.
func (a *App) Stats() Stats {
	a.mu.Lock()
	defer a.mu.Unlock()
	return Stats{Calls: a.calls, MaxInSecond: a.maxInSecond}
}

// SetFaults replaces the app's faults.
func (a *App) SetFaults(f Faults) {
	a.mu.Lock()
	a.faults = f
	a.mu.Unlock()
}

// Faults returns the app's faults.
func (a *App) Faults() Faults {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.faults
}

// Account returns a copy of an account's current data.
func (a *App) Account(id string) (Account, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	acct, ok := a.byID[id]
	if !ok {
		return Account{}, false
	}
	return *acct, true
}

// Accounts returns copies of every account, in ID order.
func (a *App) Accounts() []Account {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]Account, len(a.accounts))
	for i, acct := range a.accounts {
		out[i] = *acct
	}
	return out
}

// Update changes an account's data in place; it reports whether the
// account exists.
func (a *App) Update(id string, f func(*Account)) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	acct, ok := a.byID[id]
	if ok {
		f(acct)
	}
	return ok
}

// FaultKind names a fault that hits a share of calls.
type FaultKind string

// The faults, each given a rate in Faults.Rates.
const (
	FaultTransient     FaultKind = "transient"      // 10004 or 20005
	FaultHTTP502       FaultKind = "http502"        // bad gateway
	FaultHTTP503       FaultKind = "http503"        // unavailable
	FaultReset         FaultKind = "reset"          // TCP reset, no answer
	FaultHang          FaultKind = "hang"           // no answer until the caller gives up
	FaultMalformed     FaultKind = "malformed"      // body is not JSON
	FaultTruncated     FaultKind = "truncated"      // connection closes half-way through the body
	FaultOversized     FaultKind = "oversized"      // a valid answer padded past 8 MiB
	FaultMissingFields FaultKind = "missing-fields" // envelope without ErrorCode
	FaultWrongTypes    FaultKind = "wrong-types"    // numbers sent as strings
	FaultExtraAccount  FaultKind = "extra-account"  // lists an account not asked for
	FaultFewerAccounts FaultKind = "fewer-accounts" // leaves the last account out
)

// FaultKinds lists every fault kind.
var FaultKinds = []FaultKind{FaultTransient, FaultHTTP502, FaultHTTP503, FaultReset, FaultHang,
	FaultMalformed, FaultTruncated, FaultOversized, FaultMissingFields, FaultWrongTypes,
	FaultExtraAccount, FaultFewerAccounts}

// Faults are the misbehaviours switched on for an app.
type Faults struct {
	Latency       time.Duration // added to every call
	LatencyJitter time.Duration // plus a random share of this
	// RateLimit answers 60007 to calls beyond this many within one
	// calendar second, like the service's frequency limit. 0: no limit.
	RateLimit int
	// ServiceDisabled answers 131000 to every authenticated call.
	ServiceDisabled bool
	// ErrorCode, when non-zero, answers every authenticated call with it.
	ErrorCode int
	// Rates gives each fault kind the share of calls (0..1) it hits.
	Rates map[FaultKind]float64
}

func (f *Faults) hit(k FaultKind) bool {
	r := f.Rates[k]
	return r > 0 && (r >= 1 || rand.Float64() < r)
}

// ParseFault parses "kind=rate" (rate 0..1; "kind" alone means 1).
func ParseFault(s string) (FaultKind, float64, error) {
	name, rateText, hasRate := strings.Cut(s, "=")
	kind := FaultKind(name)
	known := false
	for _, k := range FaultKinds {
		known = known || k == kind
	}
	if !known {
		names := make([]string, len(FaultKinds))
		for i, k := range FaultKinds {
			names[i] = string(k)
		}
		return "", 0, fmt.Errorf("unknown fault %q (known: %s)", name, strings.Join(names, ", "))
	}
	rate := 1.0
	if hasRate {
		var err error
		rate, err = strconv.ParseFloat(rateText, 64)
		if err != nil || rate < 0 || rate > 1 {
			return "", 0, fmt.Errorf("fault %q: rate must be a number from 0 to 1", name)
		}
	}
	return kind, rate, nil
}

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

func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != Path {
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
	faults := app.count(s.clock())

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
	}

	ids, filter, code := parseBody(r.Body)
	if code != 0 {
		writeError(w, code)
		return
	}
	body := app.answer(ids, filter, s.clock())
	s.deliver(w, body, &faults)
}

// count records a call for the app's statistics and returns its faults.
func (a *App) count(now time.Time) Faults {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls++
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

// checkUserSig returns the documented code for a bad UserSig, 60010 for a
// good one of an identifier that is not the admin, or 0.
func (a *App) checkUserSig(identifier, token string, now time.Time) int {
	if token == "" {
		return 70003
	}
	p, err := decodeUserSig(token)
	if err != nil {
		return 70003
	}
	if p.sdkappid != a.cfg.SDKAppID {
		return 70014
	}
	if p.identifier != identifier {
		return 70013
	}
	if !hmac.Equal(p.mac, expectedMAC(a.cfg.SecretKey, p)) {
		return 70009
	}
	if now.Unix() > p.time+p.expire {
		return 70001
	}
	if identifier != a.cfg.Identifier {
		return 60010
	}
	return 0
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
func (a *App) answer(ids []string, filter filterSet, now time.Time) []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.drift(now)
	var b bytes.Buffer
	b.Grow(64 + 200*len(ids))
	b.WriteString(`{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0,"OfficialAccountInfoList":[`)
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		acct := a.byID[id]
		switch {
		case !validID(id):
			writeItemError(&b, id, 130007)
		case acct == nil || acct.Terminated:
			writeItemError(&b, id, 130004)
		default:
			writeItem(&b, acct, filter)
		}
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// drift moves the data on by the steps due since the last call; at most a
// few steps, so an app left alone for hours costs nothing much on wake-up.
func (a *App) drift(now time.Time) {
	iv := a.cfg.DriftInterval
	if iv <= 0 {
		return
	}
	steps := int(now.Sub(a.lastDrift) / iv)
	if steps <= 0 {
		return
	}
	a.lastDrift = a.lastDrift.Add(time.Duration(steps) * iv)
	for range min(steps, 5) {
		evolve(a.rng, a.accounts, now)
	}
}

func writeItemError(b *bytes.Buffer, id string, code int) {
	fmt.Fprintf(b, `{"ErrorCode":%d,"ErrorInfo":%s,"Official_Account":%s}`, code, jsonString(errorInfo[code]), jsonString(id))
}

func writeItem(b *bytes.Buffer, a *Account, filter filterSet) {
	b.WriteString(`{"ErrorCode":0,"ErrorInfo":"","Official_Account":`)
	writeJSONString(b, a.ID)
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

// deliver writes a successful answer, spoiled by a body fault if one hits.
func (s *Simulator) deliver(w http.ResponseWriter, body []byte, f *Faults) {
	switch {
	case f.hit(FaultMalformed):
		body = body[:len(body)/2]
		body = append(body, "<html>oops"...)
	case f.hit(FaultOversized):
		pad := bytes.Repeat([]byte("x"), 8<<20)
		body = append(body[:len(body)-1], `,"Padding":"`...)
		body = append(body, pad...)
		body = append(body, `"}`...)
	case f.hit(FaultMissingFields):
		body = bytes.Replace(body, []byte(`"ErrorCode":0,"OfficialAccountInfoList"`), []byte(`"OfficialAccountInfoList"`), 1)
	case f.hit(FaultWrongTypes):
		body = bytes.ReplaceAll(body, []byte(`"ErrorCode":0`), []byte(`"ErrorCode":"0"`))
	case f.hit(FaultExtraAccount):
		extra := []byte(`{"ErrorCode":0,"ErrorInfo":"","Official_Account":"@TOA#_not_asked_for","Name":"Intruder","SubscriberNum":1}`)
		if i := bytes.LastIndex(body, []byte("]}")); i > 0 {
			body = append(append(append(body[:i:i], ','), extra...), "]}"...)
		}
	case f.hit(FaultFewerAccounts):
		if i := bytes.LastIndex(body, []byte(`,{"ErrorCode"`)); i > 0 {
			body = append(body[:i:i], "]}"...)
		}
	case f.hit(FaultTruncated):
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body[:len(body)/2])
		// Returning with fewer bytes than announced makes net/http close
		// the connection: the client sees an unexpected EOF.
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

// reset closes the connection with a TCP RST instead of an answer.
func reset(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}
