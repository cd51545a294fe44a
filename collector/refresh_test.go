package collector

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/config"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/testutil"
	"github.com/tencentchat-exporter/tencentchat_exporter/simulator"
)

// TestBackgroundRefresh: with refresh_interval, /-/ready is 503 until the
// first refresh has ended and 200 after; then any number of scrapes of
// /metrics and /probe cost no API call and answer without waiting for the
// API (which now takes 5 s a call), with every account and the time of the
// refresh they come from.
func TestBackgroundRefresh(t *testing.T) {
	t.Parallel() // waits on timers and servers more than it computes
	r := newRig(t, 120, func(a *config.App) { a.RefreshInterval = time.Hour })
	r.simApp.SetFaults(simulator.Faults{Latency: 500 * time.Millisecond})
	if status, body := r.get(t, "/-/ready", nil); status != http.StatusServiceUnavailable {
		t.Errorf("/-/ready during the first refresh: %d %q", status, body)
	}
	testutil.WaitFor(t, 30*time.Second, "for /-/ready", func() bool {
		status, _ := r.get(t, "/-/ready", nil)
		return status == http.StatusOK
	})
	after := r.simApp.Stats().Calls
	if after != 3 {
		t.Fatalf("%d calls in the first refresh, want the 3 batches", after)
	}
	r.simApp.SetFaults(simulator.Faults{Latency: 5 * time.Second})
	var scrapes []<-chan scraped
	for i := range 10 {
		path := "/metrics"
		if i%2 == 1 {
			path = "/probe?target=main"
		}
		scrapes = append(scrapes, r.goScrape(path, nil))
	}
	for _, s := range scrapes {
		f := await(t, s)
		if v, _ := f.value("tencentchat_up", nil); v != 1 {
			t.Errorf("tencentchat_up %v", v)
		}
		if n, live := f.count("tencentchat_official_account_subscribers"), liveAccounts(r); n != live {
			t.Errorf("%d of %d live accounts", n, live)
		}
		if v, ok := f.value("tencentchat_last_refresh_timestamp_seconds", nil); !ok || v < float64(time.Now().Add(-time.Minute).Unix()) {
			t.Errorf("last refresh timestamp %v (present %v)", v, ok)
		}
		if v, _ := f.value("tencentchat_refresh_interval_seconds", nil); v != 3600 {
			t.Errorf("refresh interval %v", v)
		}
	}
	if c := r.simApp.Stats().Calls; c != after {
		t.Fatalf("%d API calls from 10 scrapes served by the background refresh, want 0", c-after)
	}
}

// TestFailedRefreshServedAsFailed: a refresh that gets 131000 is what the
// scrapes serve next: tencentchat_up 0, no subscriber value from the older
// good refresh, the error counted.
func TestFailedRefreshServedAsFailed(t *testing.T) {
	r := newRig(t, 20, func(a *config.App) { a.RefreshInterval = 300 * time.Millisecond })
	testutil.WaitFor(t, 10*time.Second, "for the first refresh", r.exp.Ready)
	if f := r.scrape(t, "/metrics", nil); f.count("tencentchat_official_account_subscribers") == 0 {
		t.Fatal("no values from the first refresh")
	}
	r.simApp.SetFaults(simulator.Faults{ServiceDisabled: true})
	before := r.simApp.Stats().Calls
	testutil.WaitFor(t, 10*time.Second, "for a refresh after the fault", func() bool { return r.simApp.Stats().Calls > before+1 })
	f := r.scrape(t, "/metrics", nil)
	if v, _ := f.value("tencentchat_up", nil); v != 0 {
		t.Errorf("tencentchat_up %v after a refresh that got 131000", v)
	}
	if n := f.count("tencentchat_official_account_subscribers"); n != 0 {
		t.Errorf("%d subscriber series served from an older refresh", n)
	}
	if v, _ := f.value("tencentchat_api_errors_total", map[string]string{"code": "131000"}); v < 1 {
		t.Errorf("131000 counted %v times", v)
	}
}

// TestServiceDiscovery: /sd lists every app as a /probe target of the
// exporter at the address it was asked on, labelled with its name,
// SDKAppID and where its calls go, and nothing secret.
func TestServiceDiscovery(t *testing.T) {
	r := newRig(t, 5, nil)
	second := appConfig("region app", testApp+1, "", 3)
	second.Endpoint, second.Region = "", "singapore"
	cfg := &config.Config{Apps: []config.App{r.cfg.Apps[0], second}}
	if err := r.exp.ApplyConfig(cfg); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/sd", r.exp.SDHandler(nil))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/sd")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	record(string(raw))
	var groups []struct {
		Targets []string
		Labels  map[string]string
	}
	if err := json.Unmarshal(raw, &groups); err != nil || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("%v: %s", err, raw)
	}
	host := strings.TrimPrefix(srv.URL, "http://")
	want := []map[string]string{
		{"__param_target": "main", "__metrics_path__": "/probe", "app_name": "main", "sdkappid": "1400000000", "endpoint_host": strings.TrimPrefix(r.simURL, "http://")},
		{"__param_target": "region app", "__metrics_path__": "/probe", "app_name": "region app", "sdkappid": "1400000001", "region": "singapore"},
	}
	if len(groups) != len(want) {
		t.Fatalf("%d groups: %s", len(groups), raw)
	}
	for i, g := range groups {
		if len(g.Targets) != 1 || g.Targets[0] != host || !maps.Equal(g.Labels, want[i]) {
			t.Errorf("group %d: %+v, want target %s and labels %v", i, g, host, want[i])
		}
	}
}

// TestServiceDiscoveryExternalURL: with --web.external-url, /sd lists its
// host as the target and /probe under its path, whatever Host the request
// came with (a proxy with a path prefix, or a cached answer).
func TestServiceDiscoveryExternalURL(t *testing.T) {
	r := newRig(t, 5, nil)
	u, _ := url.Parse("https://exporter.example.com:8443/tencentchat/")
	srv := httptest.NewServer(r.exp.SDHandler(u))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	req.Host = "internal-pod:9882"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var groups []struct {
		Targets []string
		Labels  map[string]string
	}
	if err := json.NewDecoder(resp.Body).Decode(&groups); err != nil {
		t.Fatal(err)
	}
	if len(groups) != 1 || len(groups[0].Targets) != 1 || groups[0].Targets[0] != "exporter.example.com:8443" ||
		groups[0].Labels["__metrics_path__"] != "/tencentchat/probe" || groups[0].Labels["__scheme__"] != "https" {
		t.Errorf("groups %+v", groups)
	}
}
