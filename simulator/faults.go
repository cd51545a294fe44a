package simulator

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Faults: the misbehaviours a test or the control API switches on, and
// how a spoiled answer is delivered.

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

	// Shapes the reference does not rule out (its "Added facts").
	FaultNoItemIDs     FaultKind = "no-item-ids"       // error items without Official_Account
	FaultReversed      FaultKind = "reversed"          // items in reverse request order
	FaultEnvelope      FaultKind = "envelope-variants" // no ActionStatus; RequestId, ErrorDisplay, unknown and nested fields
	FaultEmptyList     FaultKind = "empty-list"        // ErrorCode 0 with an empty OfficialAccountInfoList
	FaultNoList        FaultKind = "no-list"           // ErrorCode 0 without OfficialAccountInfoList
	FaultMalformedItem FaultKind = "malformed-item"    // the first fetched account's SubscriberNum is 12.5
	FaultImplausible   FaultKind = "implausible"       // a negative SubscriberNum, a LastMsgTime in milliseconds
	FaultEchoInfo      FaultKind = "echo-info"         // 20001 whose ErrorInfo echoes the request, control characters and 3 MB
	FaultUnknownCode   FaultKind = "unknown-code"      // an undocumented ErrorCode, a fresh one each call
	FaultHTTP429       FaultKind = "http429"           // too many requests
	FaultBadGzip       FaultKind = "bad-gzip"          // Content-Encoding gzip on a body that is not
)

// FaultKinds lists every fault kind.
var FaultKinds = []FaultKind{FaultTransient, FaultHTTP502, FaultHTTP503, FaultReset, FaultHang,
	FaultMalformed, FaultTruncated, FaultOversized, FaultMissingFields, FaultWrongTypes,
	FaultExtraAccount, FaultFewerAccounts, FaultNoItemIDs, FaultReversed, FaultEnvelope,
	FaultEmptyList, FaultNoList, FaultMalformedItem, FaultImplausible, FaultEchoInfo,
	FaultUnknownCode, FaultHTTP429, FaultBadGzip}

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
	case f.hit(FaultBadGzip):
		w.Header().Set("Content-Encoding", "gzip")
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

// shape is how an answer's items are laid out, from the shape faults.
type shape struct {
	noItemIDs, reversed, envelope, emptyList, noList, malformedItem, implausible bool
}

func (f *Faults) shape() shape {
	return shape{noItemIDs: f.hit(FaultNoItemIDs), reversed: f.hit(FaultReversed), envelope: f.hit(FaultEnvelope),
		emptyList: f.hit(FaultEmptyList), noList: f.hit(FaultNoList), malformedItem: f.hit(FaultMalformedItem),
		implausible: f.hit(FaultImplausible)}
}

// echoInfo is an ErrorInfo that echoes the request, as a misbehaving proxy
// might: the UserSig in the query, control characters and 3 MB of text.
func echoInfo(r *http.Request) string {
	return "rejected " + r.URL.String() + "\x1b[2J\r\nlevel=error msg=forged " + strings.Repeat("echo ", 600_000)
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
