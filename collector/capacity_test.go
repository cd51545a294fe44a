package collector

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/config"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/testutil"
	"github.com/tencentchat-exporter/tencentchat_exporter/simulator"
)

// TestSubscriberLimit: every account with a subscriber value has its cap,
// labelled as its subscriber gauge: the app's max_subscribers, or the
// account's own; an account without a value has none.
func TestSubscriberLimit(t *testing.T) {
	r := newRig(t, 60, func(a *config.App) {
		a.MaxSubscribers = 200000
		a.Caps = map[string]int64{simulator.AccountID(0): 500000}
	})
	f := r.scrape(t, "/metrics", nil)
	limits, subs := f["tencentchat_official_account_subscriber_limit"].GetMetric(), f["tencentchat_official_account_subscribers"].GetMetric()
	if len(limits) == 0 || len(limits) != len(subs) {
		t.Fatalf("%d limit series for %d subscriber series", len(limits), len(subs))
	}
	for i, m := range limits {
		l := labelsOf(m)
		if sl := labelsOf(subs[i]); len(sl) != len(l) || sl["account"] != l["account"] || sl["name"] != l["name"] || sl["owner_account"] != l["owner_account"] {
			t.Errorf("limit labels %v, subscriber labels %v", l, sl)
		}
		want := 200000.0
		if l["account"] == simulator.AccountID(0) {
			want = 500000
		}
		if v := m.GetGauge().GetValue(); v != want {
			t.Errorf("%s: limit %v, want %v", l["account"], v, want)
		}
	}
	if _, ok := f.value("tencentchat_official_account_subscriber_limit", map[string]string{"account": simulator.AccountID(13)}); ok {
		t.Error("a terminated account has a limit")
	}
}

// TestPublishingActivity: with publishing_activity, a round calls every
// account once (no scrape needed) and each account's two publishing
// gauges are the API's newest published message (a recalled newest
// skipped); accounts that never published, and gone ones, have none.
// (The interval is 6 s here, below the configurable minimum, so a round
// paced over half of it takes 3 s.)
func TestPublishingActivity(t *testing.T) {
	t.Parallel() // waits on timers and servers more than it computes
	const accounts = 60
	r := newRig(t, accounts, func(a *config.App) {
		a.PublishingActivity, a.PublishingActivityInterval, a.RateLimit = true, 6*time.Second, 0
	})
	var last pubStory
	testutil.WaitFor(t, 30*time.Second, "for the first publishing round", func() bool {
		last, _ = publishingStory(r.exp.state.Load().apps[0])
		return !last.At.IsZero()
	})
	if last.Calls != accounts || last.Accounts != accounts {
		t.Errorf("a round made %d calls for %d accounts, want one per account (%d)", last.Calls, last.Accounts, accounts)
	}
	f := r.scrape(t, "/metrics", nil)
	published := 0
	for _, acct := range r.simApp.Accounts() {
		seq, okSeq := f.value("tencentchat_official_account_published_messages", map[string]string{"account": acct.ID})
		ts, okTime := f.value("tencentchat_official_account_last_published_timestamp_seconds", map[string]string{"account": acct.ID})
		switch {
		case acct.Terminated || acct.Published == 0:
			if okSeq || okTime {
				t.Errorf("%s (terminated %v, never published %v) has publishing values %v, %v", acct.ID, acct.Terminated, acct.Published == 0, seq, ts)
			}
		case acct.NewestRecalled:
			// The newest was recalled: the one before, an hour older.
			if seq != float64(acct.Published-1) || ts != float64(acct.PublishedAt-3600) {
				t.Errorf("%s (newest recalled): %v at %v, want %d at %d", acct.ID, seq, ts, acct.Published-1, acct.PublishedAt-3600)
			}
			published++
		default:
			if seq != float64(acct.Published) || ts != float64(acct.PublishedAt) {
				t.Errorf("%s: %v at %v, want %d at %d", acct.ID, seq, ts, acct.Published, acct.PublishedAt)
			}
			published++
		}
	}
	if published == 0 {
		t.Fatal("no account with publishing values")
	}
	if v, _ := f.value("tencentchat_api_requests_total", map[string]string{"api": "official_account_msg_get_simple"}); v < accounts || v != float64(r.simApp.Stats().MsgCalls) {
		t.Errorf("requests_total{api=official_account_msg_get_simple} %v, want the %d calls the API saw", v, r.simApp.Stats().MsgCalls)
	}
	if v, _ := f.value("tencentchat_api_errors_total", map[string]string{"api": "official_account_msg_get_simple", "code": "130004"}); v < 1 {
		t.Errorf("the gone account's 130004 was not counted under official_account_msg_get_simple: %v", v)
	}
	_, body := r.get(t, "/probe?target=main&debug=true", nil)
	if !strings.Contains(body, "official_account_msg_get_simple (publishing activity, one call per account every 6s") ||
		!strings.Contains(body, "60 accounts in") {
		t.Errorf("the debug probe does not tell the publishing round:\n%s", body)
	}
}

// TestPublishingRoundNeverMakesAScrapeWait: a scrape while a slow round
// runs answers in about the time a scrape takes alone.
func TestPublishingRoundNeverMakesAScrapeWait(t *testing.T) {
	t.Parallel() // waits on timers and servers more than it computes
	r := newRig(t, 20, nil)
	base := testutil.Measure(2, func() { r.scrape(t, "/metrics", nil) })
	cfg := r.withApp(func(a *config.App) { a.PublishingActivity, a.PublishingActivityInterval = true, time.Minute })
	// Only the message calls are slow: 2 s each.
	slow := make(chan struct{})
	defer close(slow)
	r.setIntercept(func(_ []byte, _ http.ResponseWriter, req *http.Request) bool {
		if req.URL.Path == simulator.MsgPath {
			select {
			case <-slow:
			case <-time.After(2 * time.Second):
			}
		}
		return false
	})
	if err := r.exp.ApplyConfig(cfg); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, "for the round to start", func() bool {
		_, running := publishingStory(r.exp.state.Load().apps[0])
		return running
	})
	start := time.Now()
	f := r.scrape(t, "/metrics", nil)
	if d, limit := time.Since(start), time.Second+testutil.Slack(base); d > limit {
		t.Errorf("a scrape during a publishing round took %v, want under %v (alone: %v)", d, limit, base)
	}
	if v, _ := f.value("tencentchat_up", nil); v != 1 {
		t.Errorf("tencentchat_up %v", v)
	}
}

// TestPublishingOff: without publishing_activity the API sees no
// official_account_msg_get_simple call, and no publishing series or
// counters are served.
func TestPublishingOff(t *testing.T) {
	r := newRig(t, 20, nil)
	f := r.scrape(t, "/metrics", nil)
	time.Sleep(100 * time.Millisecond) // a loop that should not exist would have called by now
	if c := r.simApp.Stats().MsgCalls; c != 0 {
		t.Errorf("%d official_account_msg_get_simple calls with publishing_activity off", c)
	}
	for _, name := range []string{"tencentchat_official_account_published_messages", "tencentchat_official_account_last_published_timestamp_seconds"} {
		if n := f.count(name); n != 0 {
			t.Errorf("%d %s series", n, name)
		}
	}
	if _, ok := f.value("tencentchat_api_requests_total", map[string]string{"api": "official_account_msg_get_simple"}); ok {
		t.Error("a requests counter for official_account_msg_get_simple with publishing off")
	}
}
