package collector

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/encoding/protodelim"
	"google.golang.org/protobuf/proto"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/config"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/source"
	"github.com/tencentchat-exporter/tencentchat_exporter/simulator"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/golden-* from this run")

// goldenNow is the fixed clock of the golden world: 10:00 in Beijing, so
// the statistics' day, the push day and the accounts' times never move.
// goldenAccounts is small: a publishing round calls one account a second.
const goldenAccounts = 5

var goldenNow = time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC)

// goldenFormats are the three formats a scrape can ask for, with the
// golden file of each.
var goldenFormats = []struct{ file, accept string }{
	{"golden-text.txt", "text/plain;version=0.0.4"},
	{"golden-openmetrics.txt", "application/openmetrics-text;version=1.0.0"},
	{"golden-protobuf.pb", "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"},
}

// volatile are the series whose values are the machine's, not the
// world's: how long calls took, and when a background refresh ended.
// (0.1.0's background statistics read the wall clock, not the exporter's,
// for when they were refreshed.)
var volatile = regexp.MustCompile(`^(tencentchat_scrape_duration_seconds|tencentchat_api_request_duration_seconds|tencentchat_last_refresh_timestamp_seconds|tencentchat_last_refresh_duration_seconds|tencentchat_app_statistics_last_refresh_timestamp_seconds\{app_name="background")`)

// TestGoldenWorld holds the exporter's answers for the simulator's world
// with every data family on, one app fetched on scrape and one refreshed
// in the background, to the bytes recorded in testdata, in all three
// formats: a refactoring of how the data is fetched must not change what
// is served. Only the values of volatile series (durations, a refresh's
// end) are masked. go test ./collector -run TestGoldenWorld -update
// rewrites the files.
func TestGoldenWorld(t *testing.T) {
	t.Parallel() // a publishing round takes its accounts' seconds
	sim := simulator.New()
	sim.SetClock(func() time.Time { return goldenNow })
	for _, id := range []uint64{testApp, testApp + 1} {
		sim.AddApp(simulator.AppConfig{SDKAppID: id, Identifier: testAdmin, SecretKey: testKey, Accounts: goldenAccounts, Seed: 7})
	}
	simSrv := httptest.NewServer(sim)
	defer simSrv.Close()
	defer sim.Close()
	exp := New(log.NewNopLogger())
	exp.now = func() time.Time { return goldenNow }
	defer exp.Close()
	cfg := &config.Config{}
	for i, name := range []string{"onscrape", "background"} {
		a := appConfig(name, testApp+uint64(i), simSrv.URL, goldenAccounts)
		a.BatchSize = 2 // three batches
		a.AppStatistics, a.PushStatistics, a.PublishingActivity = true, true, true
		a.Caps = map[string]int64{simulator.AccountID(3): 500000}
		if name == "background" {
			a.RefreshInterval = config.MinRefreshInterval
		}
		cfg.Apps = append(cfg.Apps, a)
	}
	if err := exp.ApplyConfig(cfg); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(exp.ProbeHandler(HandlerOpts{TimeoutOffset: 500 * time.Millisecond}))
	defer srv.Close()
	get := func(target, accept string) []byte {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"?target="+target, nil)
		req.Header.Set("Accept", accept)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", target, resp.StatusCode, body)
		}
		return body
	}
	for _, target := range []string{"onscrape", "background"} {
		get(target, goldenFormats[0].accept) // a first scrape of each, as Prometheus' first
	}
	waitSettled(t, exp)
	for _, f := range goldenFormats {
		var got []byte
		for _, target := range []string{"onscrape", "background"} {
			got = append(got, normalise(t, f.file, get(target, f.accept))...)
		}
		path := filepath.Join("testdata", f.file)
		if *updateGolden {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: the answer differs from the recorded one:\n%s", f.file, firstDiff(got, want))
		}
	}
}

// waitSettled waits until every background job of every app has ended its
// first run: statistics, the push funnel, publishing, the refresh.
func waitSettled(t *testing.T, e *Exporter) {
	t.Helper()
	for _, a := range e.state.Load().apps {
		waitJobs(t, a, source.StatisticsJobName, source.PushJob.Name, source.PublishingJob.Name, source.AccountsJob.Name)
	}
}

// normalise masks the values of volatile series: in the text formats the
// sample's value, in protobuf the metric's values, re-encoded.
func normalise(t *testing.T, file string, body []byte) []byte {
	t.Helper()
	if !strings.HasSuffix(file, ".pb") {
		var out bytes.Buffer
		for line := range strings.Lines(string(body)) {
			if volatile.MatchString(line) {
				if i := strings.LastIndexByte(line, ' '); i > 0 {
					line = line[:i] + " <masked>\n"
				}
			}
			out.WriteString(line)
		}
		return out.Bytes()
	}
	var out bytes.Buffer
	rd := bufio.NewReader(bytes.NewReader(body))
	for {
		mf := &dto.MetricFamily{}
		if err := protodelim.UnmarshalFrom(rd, mf); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("protobuf answer: %v", err)
		}
		for _, m := range mf.Metric {
			name := mf.GetName()
			if l := m.GetLabel(); len(l) > 0 {
				name += `{` + l[0].GetName() + `="` + l[0].GetValue() + `"`
			}
			if volatile.MatchString(name) {
				switch {
				case m.Gauge != nil:
					m.Gauge = &dto.Gauge{}
				case m.Histogram != nil:
					m.Histogram = &dto.Histogram{SampleCount: m.Histogram.SampleCount}
				}
			}
		}
		raw, err := proto.MarshalOptions{Deterministic: true}.Marshal(mf)
		if err != nil {
			t.Fatal(err)
		}
		out.WriteString("\n-- family --\n") // lines for firstDiff to show
		out.Write(raw)
	}
	return out.Bytes()
}

// firstDiff shows the first line where got and want part.
func firstDiff(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return "line " + strconv.Itoa(i+1) + ":\n  got:  " + gl + "\n  want: " + wl
		}
	}
	return "(same lines, different bytes)"
}
