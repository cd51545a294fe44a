package collector

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/config"
	"github.com/tencentchat-exporter/tencentchat_exporter/simulator"
)

// TestAnswerShapes runs the shapes that Tencent's documentation leaves
// open, or that a hostile proxy could send, through the simulator against
// a 60-account app (two batches: 50 and 10; account 13 is terminated). For
// each: which accounts are up, that every value served equals the
// simulator's, nothing is invented, and the counters move as documented.
func TestAnswerShapes(t *testing.T) {
	t.Parallel() // the shapes are tested, not the clock

	first := map[int]bool{0: true, 50: true} // the first account fetched in each batch
	second := map[int]bool{1: true, 51: true}
	cases := []struct {
		name    string
		fault   simulator.FaultKind
		appUp   float64
		down    func(i int) bool // besides the terminated account
		noSubs  func(i int) bool // up, but no subscriber series
		errors  map[string]float64
		reasons map[string]float64
		invalid float64
		logHas  string
	}{
		{name: "error items without IDs match by position", fault: simulator.FaultNoItemIDs, appUp: 1,
			errors: map[string]float64{"130004": 1}},
		{name: "reversed answer", fault: simulator.FaultReversed, appUp: 1, errors: map[string]float64{"130004": 1}},
		{name: "envelope variants", fault: simulator.FaultEnvelope, appUp: 1, errors: map[string]float64{"130004": 1}},
		{name: "OK with an empty list", fault: simulator.FaultEmptyList, down: all,
			reasons: map[string]float64{"decode": 2}, logHas: "no OfficialAccountInfoList items"},
		{name: "OK without a list", fault: simulator.FaultNoList, down: all,
			reasons: map[string]float64{"decode": 2}, logHas: "no OfficialAccountInfoList items"},
		{name: "one malformed value", fault: simulator.FaultMalformedItem, appUp: 1, down: func(i int) bool { return first[i] },
			errors: map[string]float64{"130004": 1}, invalid: 2, logHas: "field SubscriberNum"},
		{name: "implausible values", fault: simulator.FaultImplausible, appUp: 1, noSubs: func(i int) bool { return first[i] },
			errors: map[string]float64{"130004": 1}, logHas: "implausible value left out"},
		{name: "HTTP 429", fault: simulator.FaultHTTP429, down: all, reasons: map[string]float64{"http_status": 6}},
		{name: "gzip that is not", fault: simulator.FaultBadGzip, down: all, reasons: map[string]float64{"decode": 2}},
		{name: "ErrorInfo echoing the request", fault: simulator.FaultEchoInfo, down: all,
			errors: map[string]float64{"20001": 2}, logHas: "bytes)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// The shapes are what is tested, not the clock: a call gets the
			// whole of the scrape's 20 s (a 3 MB ErrorInfo under -race on a
			// busy machine took more than the rig's 2 s).
			r := newRig(t, 60, func(a *config.App) { a.BatchSize = 50; a.Timeout = 19 * time.Second })
			r.simApp.SetFaults(simulator.Faults{Rates: map[simulator.FaultKind]float64{c.fault: 1}})
			f := r.scrape(t, "/metrics", map[string]string{"X-Prometheus-Scrape-Timeout-Seconds": "20"})
			if v, _ := f.value("tencentchat_up", nil); v != c.appUp {
				t.Errorf("tencentchat_up = %v, want %v", v, c.appUp)
			}
			invalid := c.invalid
			for i := range 60 {
				id := simulator.AccountID(i)
				acct, _ := r.simApp.Account(id)
				wantUp := !acct.Terminated && (c.down == nil || !c.down(i))
				labels := map[string]string{"account": id}
				up, _ := f.value("tencentchat_official_account_up", labels)
				subs, hasSubs := f.value("tencentchat_official_account_subscribers", labels)
				last, hasLast := f.value("tencentchat_official_account_last_message_timestamp_seconds", labels)
				wantSubs := wantUp && (c.noSubs == nil || !c.noSubs(i))
				wantLast := wantUp && acct.LastMsgTime > 0
				if c.fault == simulator.FaultImplausible && second[i] && acct.LastMsgTime > 0 {
					wantLast = false // sent in milliseconds: left out
					invalid++
				}
				if c.fault == simulator.FaultImplausible && first[i] {
					invalid++
				}
				switch {
				case (up == 1) != wantUp:
					t.Errorf("%s: up %v, want %v", id, up, wantUp)
				case hasSubs != wantSubs || (hasSubs && subs != float64(acct.Subscribers)):
					t.Errorf("%s: subscribers %v (present %v), simulator %d, want present %v", id, subs, hasSubs, acct.Subscribers, wantSubs)
				case hasLast != wantLast || (hasLast && last != float64(acct.LastMsgTime)):
					t.Errorf("%s: last message %v (present %v), simulator %d, want present %v", id, last, hasLast, acct.LastMsgTime, wantLast)
				}
			}
			for code, want := range c.errors {
				if v, _ := f.value("tencentchat_api_errors_total", map[string]string{"code": code}); v != want {
					t.Errorf("errors{code=%s} = %v, want %v", code, v, want)
				}
			}
			for _, reason := range []string{"timeout", "network", "http_status", "decode"} {
				if v, _ := f.value("tencentchat_api_request_failures_total", map[string]string{"reason": reason}); v != c.reasons[reason] {
					t.Errorf("failures{reason=%s} = %v, want %v", reason, v, c.reasons[reason])
				}
			}
			if v, _ := f.value("tencentchat_api_invalid_values_total", nil); v != invalid {
				t.Errorf("invalid_values_total = %v, want %v", v, invalid)
			}
			logs := r.logs.String()
			if c.logHas != "" && !strings.Contains(logs, c.logHas) {
				t.Errorf("logs lack %q:\n%s", c.logHas, logs)
			}
			// Untrusted text never floods or forges log lines.
			for _, line := range strings.Split(logs, "\n") {
				if len(line) > 2048 || strings.HasPrefix(line, "level=error msg=forged") || strings.Contains(line, "\x1b") {
					t.Errorf("log line unsafe (%d bytes): %.300s", len(line), line)
				}
			}
		})
	}
}

func all(int) bool { return true }

// TestAnswerShapesNamedInLogs: a malformed item's debug line names the
// account and the field, so an operator can find it.
func TestAnswerShapesNamedInLogs(t *testing.T) {
	r := newRig(t, 5, nil)
	r.simApp.SetFaults(simulator.Faults{Rates: map[simulator.FaultKind]float64{simulator.FaultMalformedItem: 1}})
	r.scrape(t, "/metrics", nil)
	want := fmt.Sprintf("account=%s", simulator.AccountID(0))
	for _, line := range strings.Split(r.logs.String(), "\n") {
		if strings.Contains(line, "unusable") && strings.Contains(line, want) && strings.Contains(line, "SubscriberNum") {
			return
		}
	}
	t.Fatalf("no debug line naming %s and SubscriberNum:\n%s", want, r.logs.String())
}
