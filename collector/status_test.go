package collector

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/config"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/scrape"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/testutil"
	"github.com/tencentchat-exporter/tencentchat_exporter/simulator"
)

// TestStatusPage: before any scrape each app says "not scraped yet"; after
// one, its outcome; a hostile app name is escaped; showing the page never
// calls the API.
func TestStatusPage(t *testing.T) {
	r := newRig(t, 20, func(a *config.App) { a.Name = `<script>alert("x")</script>` })
	page := func() string {
		var b strings.Builder
		if err := r.exp.WriteStatus(&b); err != nil {
			t.Fatal(err)
		}
		record(b.String())
		return b.String()
	}
	before := page()
	if !strings.Contains(before, "not scraped yet") || strings.Contains(before, "<script>") ||
		!strings.Contains(before, "&lt;script&gt;") || !strings.Contains(before, "probe?target=%3Cscript%3E") {
		t.Fatalf("page before a scrape:\n%s", before)
	}
	if c := r.simApp.Stats().Calls; c != 0 {
		t.Fatalf("the page called the API %d times", c)
	}
	r.scrape(t, "/metrics", nil)
	after := page()
	for _, want := range []string{"<td>1400000000</td>", "<td>20</td>", "<td>1</td><td>1</td>", "19 / 1", "get_official_account_info 130004: 1", "&amp;debug=true"} {
		if !strings.Contains(after, want) {
			t.Errorf("page after a scrape lacks %q:\n%s", want, after)
		}
	}
	if strings.Contains(after, "not scraped yet") || strings.Contains(after, testKey) {
		t.Errorf("page after a scrape:\n%s", after)
	}
	if c := r.simApp.Stats().Calls; c != 1 {
		t.Fatalf("%d calls: the page must not add any to the scrape's one", c)
	}
}

// TestDebugProbe: /probe?target=...&debug=true tells one real scrape: the
// settings (secret hidden), each call, the accounts with their own codes,
// and the metrics; its counters move as a normal scrape's.
func TestDebugProbe(t *testing.T) {
	t.Parallel() // waits on timers and servers more than it computes
	cases := []struct {
		name   string
		mod    func(*config.App)
		faults simulator.Faults
		want   []string
	}{
		{name: "healthy", want: []string{"secret: <secret>", "Fetched by this scrape: get_official_account_info calls (1):", "batch 0 (20 accounts) attempt 1: HTTP 200, ErrorCode 0",
			"@TOA#_sim00013: ErrorCode 130004", "tencentchat_up 1", "tencentchat_official_account_subscribers{"}},
		{name: "service not enabled", faults: simulator.Faults{ServiceDisabled: true},
			want: []string{"attempt 1: HTTP 200, ErrorCode 131000 (official account service not enabled", "tencentchat_up 0"}},
		{name: "wrong key", mod: func(a *config.App) { a.SecretKey = "another-apps-key-0123456789" },
			want: []string{"ErrorCode 70009 (UserSig verification failed", "tencentchat_up 0"}},
		{name: "retried transient", faults: simulator.Faults{ErrorCode: 10004},
			want: []string{"attempt 1: HTTP 200, ErrorCode 10004", "retried after", "attempt 3: HTTP 200, ErrorCode 10004"}},
		{name: "app statistics", mod: func(a *config.App) { a.AppStatistics = true },
			want: []string{"tencentchat_app_daily_active_users ", `tencentchat_api_requests_total{api="getappinfo",app_name="main",sdkappid="1400000000"} 1`}},
		{name: "bad gateway", faults: simulator.Faults{Rates: map[simulator.FaultKind]float64{simulator.FaultHTTP502: 1}},
			want: []string{"attempt 1: HTTP 502", "retried after"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t, 20, c.mod)
			r.simApp.SetFaults(c.faults)
			if r.cfg.Apps[0].AppStatistics {
				// Statistics are refreshed apart from scrapes: a first
				// scrape starts the refresh that the debug one shows.
				r.get(t, "/probe?target=main", nil)
				r.waitStats(t)
			}
			status, body := r.get(t, "/probe?target=main&debug=true", nil)
			if status != 200 {
				t.Fatalf("status %d: %s", status, body)
			}
			for _, want := range c.want {
				if !strings.Contains(strings.ReplaceAll(body, `{app_name="main",sdkappid="1400000000"}`, ""), want) {
					t.Errorf("debug output lacks %q:\n%s", want, body)
				}
			}
			if strings.Contains(body, testKey) || strings.Contains(body, "another-apps-key") {
				t.Fatal("a key in the debug output")
			}
			// The counters moved as for a normal scrape.
			f := r.scrape(t, "/probe?target=main", nil)
			if v, _ := f.value("tencentchat_api_requests_total", nil); v < 2 {
				t.Errorf("requests_total %v after the debug scrape and one more", v)
			}
		})
	}
}

// TestAccountsLeftOutAreCounted: an "OK" answer that lists only accounts
// that were not asked for leaves every asked account down; that is
// counted, logged, and named per account by the debug probe.
func TestAccountsLeftOutAreCounted(t *testing.T) {
	r := newRig(t, 3, nil)
	r.setIntercept(func(_ []byte, w http.ResponseWriter, _ *http.Request) bool {
		io.WriteString(w, `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","OfficialAccountInfoList":[`+
			`{"ErrorCode":0,"Official_Account":"@TOA#_someone_else","Name":"x","SubscriberNum":5}]}`)
		return true
	})
	f := r.scrape(t, "/metrics", nil)
	if v, _ := f.value("tencentchat_api_accounts_missing_total", nil); v != 3 {
		t.Errorf("accounts missing %v, want 3", v)
	}
	if n := f.count("tencentchat_official_account_subscribers"); n != 0 {
		t.Errorf("%d subscriber series from an answer about someone else", n)
	}
	if !strings.Contains(r.logs.String(), "left accounts out") {
		t.Errorf("not logged:\n%s", r.logs.String())
	}
	_, body := r.get(t, "/probe?target=main&debug=true", nil)
	for i := range 3 {
		if want := simulator.AccountID(i) + ": not in the answer"; !strings.Contains(body, want) {
			t.Errorf("debug probe lacks %q:\n%s", want, body)
		}
	}
}

// TestDebugProbeSaysWhereItsResultCameFrom: without refresh_interval the
// debug probe says it fetched and lists its own calls; served from a
// background refresh it says so, with when, and never calls the calls its
// own.
func TestDebugProbeSaysWhereItsResultCameFrom(t *testing.T) {
	t.Parallel() // waits on timers and servers more than it computes
	r := newRig(t, 120, func(a *config.App) { a.Concurrency = 1 })
	_, body := r.get(t, "/probe?target=main&debug=true", map[string]string{scrape.TimeoutHeader: "10"})
	if !strings.Contains(body, "Fetched by this scrape: get_official_account_info calls (3)") || strings.Contains(body, "Served from the refresh") {
		t.Errorf("debug probe in default mode:\n%s", body)
	}
	if c := r.simApp.Stats().Calls; c != 3 {
		t.Errorf("%d calls, want the 3 of the probe's fetch", c)
	}

	bg := newRig(t, 20, func(a *config.App) { a.RefreshInterval = time.Hour })
	testutil.WaitFor(t, 10*time.Second, "for the first background refresh", bg.exp.Ready)
	_, body = bg.get(t, "/probe?target=main&debug=true", nil)
	if !regexp.MustCompile(`Served from the refresh at \d{4}-\d\d-\d\dT[^ ]+Z \(every 1h0m0s, started [^)]+ ago\): no get_official_account_info call of this scrape; the refresh's calls \(1\)`).MatchString(body) ||
		strings.Contains(body, "Fetched by this scrape") {
		t.Errorf("background debug probe:\n%s", body)
	}
}
