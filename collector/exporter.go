// Package collector turns the configured apps into Prometheus metrics: on
// each scrape it fetches every app's official accounts through the
// tencentchat client, and it serves /metrics and /probe.
package collector

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/config"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/tencentchat"
)

// fields are the only fields the exporter asks for (ResponseFilter): the
// ones it exports, so the answer stays small.
var fields = []tencentchat.Field{tencentchat.FieldName, tencentchat.FieldOwnerAccount,
	tencentchat.FieldCreateTime, tencentchat.FieldLastMsgTime, tencentchat.FieldSubscriberNum}

// Exporter holds the apps of the current configuration and their counters.
// It is safe for concurrent use: scrapes see one configuration whole, never
// half of two.
type Exporter struct {
	logger log.Logger
	http   *http.Client

	state atomic.Pointer[state]

	reloadMu      sync.Mutex // serialises reloads
	reloadOK      atomic.Bool
	reloadSuccess atomic.Int64 // Unix seconds
}

// state is one configuration's apps; replaced whole on reload.
type state struct {
	apps       []*app
	byName     map[string]*app
	bySDKAppID map[string]*app
}

// app is one configured app, ready to scrape.
type app struct {
	cfg      config.App
	sdkappid string // label value
	client   *tencentchat.Client
	batches  []*tencentchat.Batch
	labels   *labelPairs
	counters *counters
	share    share
}

// counters are an app's cumulative counts. They live for the process and
// are carried over a reload for an app that keeps its name and SDKAppID.
type counters struct {
	requests atomic.Uint64
	failures [len(reasons)]atomic.Uint64

	mu    sync.Mutex
	codes map[int]uint64
}

var reasons = [...]tencentchat.Reason{tencentchat.ReasonTimeout, tencentchat.ReasonNetwork,
	tencentchat.ReasonHTTPStatus, tencentchat.ReasonDecode}

func newCounters() *counters {
	c := &counters{codes: make(map[int]uint64, len(tencentchat.DocumentedCodes))}
	for _, code := range tencentchat.DocumentedCodes {
		c.codes[code] = 0
	}
	return c
}

func (c *counters) addCode(code int) {
	c.mu.Lock()
	c.codes[code]++
	c.mu.Unlock()
}

// observe is the client's OnAttempt: it counts every call, its request-level
// code and its failure reason.
func (c *counters) observe(a tencentchat.Attempt) {
	c.requests.Add(1)
	if a.Code != 0 {
		c.addCode(a.Code)
	}
	for i, r := range reasons {
		if a.Reason == r {
			c.failures[i].Add(1)
		}
	}
}

// New returns an Exporter with no apps; give it some with ApplyConfig.
func New(logger log.Logger) *Exporter {
	e := &Exporter{logger: logger, http: tencentchat.DefaultHTTPClient()}
	e.state.Store(&state{byName: map[string]*app{}, bySDKAppID: map[string]*app{}})
	return e
}

// ApplyConfig replaces the apps. It builds everything first and swaps at
// the end, so a failure leaves the running configuration untouched.
func (e *Exporter) ApplyConfig(cfg *config.Config) error {
	old := e.state.Load()
	next := &state{byName: map[string]*app{}, bySDKAppID: map[string]*app{}}
	for _, ac := range cfg.Apps {
		a, err := e.newApp(ac, old)
		if err != nil {
			return fmt.Errorf("app %q: %w", ac.Name, err)
		}
		next.apps = append(next.apps, a)
		next.byName[ac.Name] = a
		next.bySDKAppID[a.sdkappid] = a
	}
	e.state.Store(next)
	return nil
}

func (e *Exporter) newApp(ac config.App, old *state) (*app, error) {
	a := &app{cfg: ac, sdkappid: strconv.FormatUint(ac.SDKAppID, 10)}
	if prev := old.byName[ac.Name]; prev != nil && prev.cfg.SDKAppID == ac.SDKAppID {
		a.counters = prev.counters
	} else {
		a.counters = newCounters()
	}
	var limiter *rate.Limiter
	if ac.RateLimit > 0 {
		limiter = rate.NewLimiter(rate.Limit(ac.RateLimit), 1)
	}
	client, err := tencentchat.New(tencentchat.Options{
		BaseURL:    ac.BaseURL(),
		SDKAppID:   ac.SDKAppID,
		Identifier: ac.Identifier,
		SecretKey:  string(ac.SecretKey),
		Timeout:    ac.Timeout,
		Retries:    ac.Retries,
		UserSigTTL: ac.UserSigTTL,
		Limiter:    limiter,
		HTTPClient: e.http,
		OnAttempt:  a.counters.observe,
	})
	if err != nil {
		return nil, err
	}
	a.client = client
	a.labels = newLabelPairs(a)
	for i := 0; i < len(ac.Accounts); i += ac.BatchSize {
		b, err := tencentchat.NewBatch(ac.Accounts[i:min(i+ac.BatchSize, len(ac.Accounts))], fields)
		if err != nil {
			return nil, err
		}
		a.batches = append(a.batches, b)
	}
	return a, nil
}

// Reload loads a configuration with load and applies it, recording the
// outcome in the reload metrics. On failure the running configuration
// keeps serving.
func (e *Exporter) Reload(load func() (*config.Config, error)) error {
	e.reloadMu.Lock()
	defer e.reloadMu.Unlock()
	cfg, err := load()
	if err == nil {
		err = e.ApplyConfig(cfg)
	}
	if err != nil {
		e.reloadOK.Store(false)
		level.Error(e.logger).Log("msg", "configuration not loaded; the previous one keeps serving", "err", err)
		return err
	}
	e.reloadOK.Store(true)
	e.reloadSuccess.Store(time.Now().Unix())
	level.Info(e.logger).Log("msg", "configuration loaded", "apps", len(cfg.Apps))
	return nil
}

// Close releases the idle API connections.
func (e *Exporter) Close() { e.http.CloseIdleConnections() }

// target finds an app by name or SDKAppID, for /probe.
func (e *Exporter) target(t string) *app {
	s := e.state.Load()
	if a := s.byName[t]; a != nil {
		return a
	}
	return s.bySDKAppID[t]
}

// errNoTarget and errUnknownTarget are /probe's 400 answers.
var (
	errNoTarget      = errors.New("target parameter is missing: give an app's name or SDKAppID")
	errUnknownTarget = errors.New("unknown target: no configured app has this name or SDKAppID")
)

// ConfigCollector returns the collector of the reload metrics, for the
// /metrics registry.
func (e *Exporter) ConfigCollector() prometheus.Collector { return configCollector{e} }

type configCollector struct{ e *Exporter }

func (c configCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- reloadSuccessDesc
	ch <- reloadTimeDesc
}

func (c configCollector) Collect(ch chan<- prometheus.Metric) {
	ok := 0.0
	if c.e.reloadOK.Load() {
		ok = 1
	}
	ch <- prometheus.MustNewConstMetric(reloadSuccessDesc, prometheus.GaugeValue, ok)
	if t := c.e.reloadSuccess.Load(); t != 0 {
		ch <- prometheus.MustNewConstMetric(reloadTimeDesc, prometheus.GaugeValue, float64(t))
	}
}

// snapshot returns the code counts in code order.
func (c *counters) snapshot() (codes []int, counts []uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	codes = make([]int, 0, len(c.codes))
	for code := range c.codes {
		codes = append(codes, code)
	}
	sort.Ints(codes)
	counts = make([]uint64, len(codes))
	for i, code := range codes {
		counts[i] = c.codes[code]
	}
	return codes, counts
}
