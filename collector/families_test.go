package collector

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/config"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/source"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/tencentchat"
	"github.com/tencentchat-exporter/tencentchat_exporter/simulator"
)

// TestEveryFamilyHasARoute: each row's API path is one the simulator
// answers, so a family cannot come without its simulated API.
func TestEveryFamilyHasARoute(t *testing.T) {
	srv := httptest.NewServer(simulator.New().Mux(false))
	defer srv.Close()
	for _, f := range defaultFamilies() {
		resp, err := http.Post(srv.URL+f.path+"?contenttype=json", "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound {
			t.Errorf("family %q: the simulator does not answer its path %s", f.name, f.path)
		}
	}
}

var widgetsDesc = prometheus.NewDesc("tencentchat_test_widgets", "Widgets of the made-up family.", appLabels, nil)

// widgetsFamily is a made-up family with an API of its own, served by
// srv: a row, its job and its functions, and nothing else.
func widgetsFamily(srv string) *family {
	job := &source.Job{
		Name:  "widgets",
		APIs:  []string{"widget_count"},
		Every: func(*config.App) time.Duration { return time.Hour },
		Run: func(ctx context.Context, r *source.Run) (any, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv+"/widgets", nil)
			if err != nil {
				return nil, err
			}
			start := time.Now()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return nil, err
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			r.Observe(tencentchat.Attempt{API: "widget_count", Attempt: 1, HTTPStatus: resp.StatusCode, Duration: time.Since(start)})
			return strconv.Atoi(strings.TrimSpace(string(body)))
		},
	}
	widgets := func(a *app) (int, bool) { n, ok := a.State("widgets").(int); return n, ok }
	return &family{
		name: "widgets", on: func(c *config.App) bool { return strings.HasPrefix(c.Name, "w") }, job: job,
		api: "widget_count", path: "/widgets",
		emit: func(ch chan<- prometheus.Metric, c *appCollector) {
			if n, ok := widgets(c.a); ok {
				ch <- prometheus.MustNewConstMetric(widgetsDesc, prometheus.GaugeValue, float64(n), c.a.SDKAppID, c.a.Cfg.Name)
			}
		},
		debug: func(b *strings.Builder, c *appCollector) {
			n, ok := widgets(c.a)
			fmt.Fprintf(b, "\nwidget_count (widgets): %d, fetched %v\n", n, ok)
		},
		status: &statusColumn{"widgets", func(a *app) string {
			if n, ok := widgets(a); ok {
				return strconv.Itoa(n) + " widgets"
			}
			return "not fetched yet"
		}},
	}
}

// TestMadeUpFamily: a family is a row. A test-only row with its own fake
// API, added to the table and nowhere else, is fetched by the app's
// scheduler and appears in /metrics (its series and its API's counters),
// the debug probe and the status page; an app with the row off has none
// of it.
func TestMadeUpFamily(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "42\n") }))
	defer api.Close()
	for _, tc := range []struct {
		name string
		on   bool
	}{{"wmain", true}, {"main", false}} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRigTable(t, 3, func(a *config.App) { a.Name = tc.name }, HandlerOpts{TimeoutOffset: 500 * time.Millisecond},
				append(defaultFamilies(), widgetsFamily(api.URL)))
			a := r.exp.state.Load().apps[0]
			if a.Runs("widgets") != tc.on {
				t.Fatalf("app %q runs the widgets job: %v, want %v", tc.name, a.Runs("widgets"), tc.on)
			}
			if tc.on {
				waitJobs(t, a, "widgets")
			}
			f := r.scrape(t, "/metrics", nil)
			v, ok := f.value("tencentchat_test_widgets", nil)
			if ok != tc.on || (ok && v != 42) {
				t.Errorf("tencentchat_test_widgets = %v (present %v), want 42 present %v", v, ok, tc.on)
			}
			calls, _ := f.value("tencentchat_api_requests_total", map[string]string{"api": "widget_count"})
			if want := map[bool]float64{true: 1, false: 0}[tc.on]; calls != want {
				t.Errorf("widget_count requests %v, want %v", calls, want)
			}
			if n := f.count("tencentchat_official_account_subscribers"); n == 0 {
				t.Error("the made-up family displaced the accounts' series")
			}

			_, debug := r.get(t, "/probe?target="+tc.name+"&debug=true", nil)
			if got := strings.Contains(debug, "widget_count (widgets): 42, fetched true"); got != tc.on {
				t.Errorf("debug probe has the widgets section: %v, want %v:\n%s", got, tc.on, debug)
			}
			var status strings.Builder
			if err := r.exp.WriteStatus(&status); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(status.String(), "<th>widgets</th>") {
				t.Errorf("status page has no widgets column:\n%s", status.String())
			}
			if got := strings.Contains(status.String(), "42 widgets"); got != tc.on {
				t.Errorf("status page shows the widgets: %v, want %v:\n%s", got, tc.on, status.String())
			}
		})
	}
}
