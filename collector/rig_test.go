package collector

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/config"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/source"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/testutil"
	"github.com/tencentchat-exporter/tencentchat_exporter/simulator"
)

const (
	testApp   = 1400000000
	testAdmin = "administrator"
	testKey   = "collector-test-secret-key-5bd2850fff3ecb11"
)

// leakWatch gathers everything the exporter logged and served in this
// package's tests, and every UserSig the simulator was sent; TestMain fails
// the run if any secret shows up in the output.
var leakWatch struct {
	mu      sync.Mutex
	rigs    int // tests that ran the exporter; 0 when only benchmarks ran
	outputs int // outputs searched
	leaks   []string
	sigs    map[string]bool
}

// record searches one output at once (keeping it would make the soak test
// measure the test's own memory). A UserSig is sent to the simulator before
// anything could echo it, so the set of known UserSigs is complete for s.
func record(s string) {
	leakWatch.mu.Lock()
	defer leakWatch.mu.Unlock()
	leakWatch.outputs++
	for secret := range leakWatch.sigs {
		if strings.Contains(s, secret) {
			leakWatch.leaks = append(leakWatch.leaks, "a UserSig")
		}
	}
	if strings.Contains(s, testKey) {
		leakWatch.leaks = append(leakWatch.leaks, "the secret key")
	}
}

func TestMain(m *testing.M) {
	leakWatch.sigs = map[string]bool{}
	code := m.Run()
	leakWatch.mu.Lock()
	defer leakWatch.mu.Unlock()
	if code == 0 && leakWatch.rigs > 0 {
		if len(leakWatch.sigs) == 0 || leakWatch.outputs == 0 {
			fmt.Println("leak check saw no UserSig or no output: the check itself is broken")
			code = 1
		}
		for _, what := range leakWatch.leaks {
			fmt.Printf("secret leaked into the exporter's output: %s\n", what)
			code = 1
		}
		fmt.Printf("leak check: %d outputs searched for the key and %d UserSigs\n", leakWatch.outputs, len(leakWatch.sigs))
	}
	os.Exit(code)
}

// rig is a simulator and an exporter in front of it, both on real HTTP.
type rig struct {
	sim    *simulator.Simulator
	simApp *simulator.App
	simURL string
	exp    *Exporter
	srv    *httptest.Server
	logs   *testutil.Buffer
	cfg    *config.Config
	close  func() // stops everything; also run at cleanup

	// intercept, if set, may answer a simulator call instead of it.
	mu        sync.Mutex
	intercept func(body []byte, w http.ResponseWriter, req *http.Request) bool
}

func appConfig(name string, sdkappid uint64, endpoint string, accounts int) config.App {
	a := config.App{Name: name, SDKAppID: sdkappid, Identifier: testAdmin, SecretKey: testKey,
		Endpoint: endpoint, Settings: config.Defaults()}
	a.RateLimit = 0
	a.Timeout = 2 * time.Second
	for i := range accounts {
		a.Accounts = append(a.Accounts, simulator.AccountID(i))
	}
	return a
}

func newRig(t *testing.T, accounts int, mod func(*config.App)) *rig {
	return newRigOpts(t, accounts, mod, HandlerOpts{TimeoutOffset: 500 * time.Millisecond})
}

func newRigOpts(t *testing.T, accounts int, mod func(*config.App), opts HandlerOpts) *rig {
	t.Helper()
	return newRigTable(t, accounts, mod, opts, defaultFamilies())
}

// newRigTable is newRigOpts with a family table of its own.
func newRigTable(t *testing.T, accounts int, mod func(*config.App), opts HandlerOpts, table []*family) *rig {
	t.Helper()
	r := &rig{sim: simulator.New(), logs: &testutil.Buffer{}}
	leakWatch.mu.Lock()
	leakWatch.rigs++
	leakWatch.mu.Unlock()
	r.simApp = r.sim.AddApp(simulator.AppConfig{SDKAppID: testApp, Identifier: testAdmin, SecretKey: testKey, Accounts: accounts, Seed: 5})
	simSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if sig := req.URL.Query().Get("usersig"); sig != "" {
			leakWatch.mu.Lock()
			leakWatch.sigs[sig] = true
			leakWatch.mu.Unlock()
		}
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		icpt := r.intercept
		r.mu.Unlock()
		req.Body = io.NopCloser(bytes.NewReader(body))
		if icpt != nil && icpt(body, w, req) {
			return
		}
		r.sim.ServeHTTP(w, req)
	}))
	r.simURL = simSrv.URL
	logger := level.NewFilter(log.NewLogfmtLogger(r.logs), level.AllowDebug())
	r.exp = newExporter(logger, table)
	a := appConfig("main", testApp, simSrv.URL, accounts)
	if mod != nil {
		mod(&a)
	}
	r.cfg = &config.Config{Apps: []config.App{a}}
	if err := r.exp.Reload(func() (*config.Config, error) { return r.cfg, nil }); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", r.exp.MetricsHandler(opts))
	mux.Handle("/probe", r.exp.ProbeHandler(opts))
	mux.Handle("/-/ready", r.exp.ReadyHandler())
	r.srv = httptest.NewServer(mux)
	var once sync.Once
	r.close = func() {
		once.Do(func() {
			r.srv.Close()
			r.sim.Close()
			simSrv.Close()
			r.exp.Close()
			record(r.logs.String())
		})
	}
	t.Cleanup(r.close)
	return r
}

// waitStats waits until the rig's app's daily jobs (statistics, push)
// have each ended a run and none is under way.
func (r *rig) waitStats(t *testing.T) {
	t.Helper()
	waitJobs(t, r.exp.state.Load().apps[0], source.StatisticsJobName, source.PushJob.Name)
}

// waitJobs waits until each of the named jobs that a runs has ended a run
// and is not running.
func waitJobs(t *testing.T, a *app, names ...string) {
	t.Helper()
	testutil.WaitFor(t, 20*time.Second, "for the jobs' runs", func() bool {
		for _, name := range names {
			if !a.Runs(name) {
				continue
			}
			if last, running := a.Story(name); last.At.IsZero() || running {
				return false
			}
		}
		return true
	})
}

// pubStory is a publishing round's story as the tests read it.
type pubStory struct {
	At              time.Time
	Calls, Accounts int
}

// publishingStory is a's last ended publishing round, and whether one is
// under way.
func publishingStory(a *app) (pubStory, bool) {
	last, running := a.Story(source.PublishingJob.Name)
	r, before := a.Published().Round()
	if running {
		r = before
	}
	return pubStory{last.At, len(last.Calls), r.Accounts}, running
}

func (r *rig) setIntercept(f func(body []byte, w http.ResponseWriter, req *http.Request) bool) {
	r.mu.Lock()
	r.intercept = f
	r.mu.Unlock()
}

// get fetches a path of the exporter with optional headers.
func (r *rig) get(t *testing.T, path string, header map[string]string) (int, string) {
	t.Helper()
	status, body, err := r.tryGet(path, header)
	if err != nil {
		t.Fatal(err)
	}
	return status, body
}

func (r *rig) tryGet(path string, header map[string]string) (int, string, error) {
	req, _ := http.NewRequest(http.MethodGet, r.srv.URL+path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	record(string(body))
	return resp.StatusCode, string(body), nil
}

// scrape fetches and parses an exposition.
func (r *rig) scrape(t *testing.T, path string, header map[string]string) families {
	t.Helper()
	f, err := r.tryScrape(path, header)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (r *rig) tryScrape(path string, header map[string]string) (families, error) {
	status, body, err := r.tryGet(path, header)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %d %s", path, status, body)
	}
	return tryParse(body)
}

// goScrape scrapes on a goroutine of its own; await reports the outcome
// on the test's goroutine, the only one where t.Fatal stops a test.
func (r *rig) goScrape(path string, header map[string]string) <-chan scraped {
	ch := make(chan scraped, 1)
	go func() {
		f, err := r.tryScrape(path, header)
		ch <- scraped{f, err}
	}()
	return ch
}

type scraped struct {
	f   families
	err error
}

func await(t *testing.T, ch <-chan scraped) families {
	t.Helper()
	s := <-ch
	if s.err != nil {
		t.Fatal(s.err)
	}
	return s.f
}

type families map[string]*dto.MetricFamily

func tryParse(body string) (families, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	mf, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("exposition does not parse: %w", err)
	}
	return mf, nil
}

func labelsOf(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, lp := range m.GetLabel() {
		out[lp.GetName()] = lp.GetValue()
	}
	return out
}

// value finds one sample by labels (a subset match); ok is false if none.
func (f families) value(name string, labels map[string]string) (float64, bool) {
	mf := f[name]
	if mf == nil {
		return 0, false
	}
	for _, m := range mf.GetMetric() {
		l := labelsOf(m)
		match := true
		for k, v := range labels {
			match = match && l[k] == v
		}
		if !match {
			continue
		}
		switch {
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		}
	}
	return 0, false
}

func (f families) count(name string) int {
	if mf := f[name]; mf != nil {
		return len(mf.GetMetric())
	}
	return 0
}
