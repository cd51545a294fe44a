// Package collector turns the configured apps into Prometheus metrics and
// serves /metrics and /probe.
//
// A scrape is one straight line. The handler (http.go) takes the scrape's
// window and slot (internal/scrape) and builds a registry for the request
// with one collector per app (emit.go), which Registry.Gather runs
// concurrently. Each app's collector gets the app's result (fetch.go: the
// last background refresh with refresh_interval, else a fetch in flight
// that it joins or a fetch it starts, which calls the tencentchat client
// per batch), and sends the app's own series, the last good app statistics
// (stats.go, refreshed apart from scrapes, never waited for) and the app's
// counters (counters.go). The handler writes the accounts' series straight
// from the results (emit.go, internal/exposition), then what was gathered;
// the debug probe renders the same scrape's story before its metrics
// (debug.go).
//
// Every series is born in metrics.go's descriptors. The files read in
// this order, each using the ones before it: metrics (descriptors),
// counters (an app's counts), exporter (a configuration's apps, reloads),
// fetch (an app's result: shared fetches and background refreshes), stats
// (getappinfo), emit (series from a result), debug and status (what a
// person reads), http (the handlers, the only entry points). The app type
// in exporter.go holds the state fetch.go, stats.go and emit.go keep.
package collector

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"
	"golang.org/x/time/rate"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/config"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/tencentchat"
)

// minIdleConns is the idle pool a small configuration gets.
const minIdleConns = 32

// Fields are the only fields the exporter asks for (ResponseFilter): the
// ones it exports, so the answer stays small.
func Fields() []tencentchat.Field {
	return []tencentchat.Field{tencentchat.FieldName, tencentchat.FieldOwnerAccount,
		tencentchat.FieldCreateTime, tencentchat.FieldLastMsgTime, tencentchat.FieldSubscriberNum}
}

// Exporter holds the apps of the current configuration and their counters.
// It is safe for concurrent use: scrapes see one configuration whole, never
// half of two.
type Exporter struct {
	logger log.Logger
	now    func() time.Time // the clock of app statistics' days and intervals; tests set it

	applyMu   sync.Mutex   // serialises ApplyConfig; guards http and idleConns
	http      *http.Client // shared by the apps' clients; replaced by a larger one when needed
	idleConns int          // its idle connections per host

	state atomic.Pointer[state]

	tinyTimeoutLogged atomic.Bool

	reloads              singleflight.Group
	reloadOK, reloadTime prometheus.Gauge
}

// state is one configuration's apps; replaced whole on reload. stop ends
// its apps' background refreshes.
type state struct {
	apps       []*app
	byName     map[string]*app
	bySDKAppID map[string]*app
	stop       context.CancelFunc
}

// app is one configured app, ready to scrape.
type app struct {
	cfg      config.App
	sdkappid string // label value
	client   *tencentchat.Client
	batches  []*tencentchat.Batch
	labels   *escapedLabels
	counters *counters // carried over a reload, as stats
	stats    *appStats
	share    share
}

// New returns an Exporter with no apps; give it some with ApplyConfig.
func New(logger log.Logger) *Exporter {
	e := &Exporter{logger: logger, now: time.Now, http: tencentchat.NewHTTPClient(minIdleConns), idleConns: minIdleConns,
		reloadOK:   prometheus.NewGauge(prometheus.GaugeOpts{Name: reloadSuccessName, Help: reloadSuccessHelp}),
		reloadTime: prometheus.NewGauge(prometheus.GaugeOpts{Name: reloadTimeName, Help: reloadTimeHelp}),
	}
	e.state.Store(&state{byName: map[string]*app{}, bySDKAppID: map[string]*app{}, stop: func() {}})
	return e
}

// ReloadMetrics are the collectors of the configuration reload gauges, for
// the /metrics registry.
func (e *Exporter) ReloadMetrics() []prometheus.Collector {
	return []prometheus.Collector{e.reloadOK, e.reloadTime}
}

// ApplyConfig replaces the apps. It builds everything first and swaps at
// the end, so a failure leaves the running configuration untouched. A
// configuration applied is a successful load for the reload metrics.
func (e *Exporter) ApplyConfig(cfg *config.Config) error {
	e.applyMu.Lock()
	defer e.applyMu.Unlock()
	old := e.state.Load()
	// Enough idle connections for every app's concurrent calls to reuse
	// theirs, were all apps on one API host: with 500 apps a pool of 32
	// made each scrape open some 470 new connections.
	need := 0
	for _, ac := range cfg.Apps {
		need += ac.Concurrency
	}
	if need > e.idleConns {
		prev := e.http
		e.http, e.idleConns = tencentchat.NewHTTPClient(need), need
		defer prev.CloseIdleConnections()
	}
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
	ctx, stop := context.WithCancel(context.Background())
	next.stop = stop
	old.stop()
	e.startRefreshes(ctx, next.apps)
	e.state.Store(next)
	e.reloadOK.Set(1)
	e.reloadTime.Set(float64(time.Now().Unix()))
	return nil
}

func (e *Exporter) newApp(ac config.App, old *state) (*app, error) {
	a := &app{cfg: ac, sdkappid: strconv.FormatUint(ac.SDKAppID, 10)}
	if prev := old.byName[ac.Name]; prev != nil && prev.cfg.SDKAppID == ac.SDKAppID {
		a.counters, a.stats = prev.counters, prev.stats
		if ac.RefreshInterval > 0 && slices.Equal(prev.cfg.Accounts, ac.Accounts) && prev.cfg.BatchSize == ac.BatchSize {
			// The same accounts in the same batches: the last refresh
			// still fits, and serves until the next.
			a.share.latest.Store(prev.share.latest.Load())
		}
	} else {
		a.stats = &appStats{}
		a.counters = newCounters(log.With(e.logger, "app", ac.Name, "sdkappid", a.sdkappid), a.sdkappid, ac.Name)
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
	})
	if err != nil {
		return nil, err
	}
	a.client = client
	a.labels = newEscapedLabels(a)
	for i := 0; i < len(ac.Accounts); i += ac.BatchSize {
		b, err := tencentchat.NewBatch(ac.Accounts[i:min(i+ac.BatchSize, len(ac.Accounts))], Fields())
		if err != nil {
			return nil, err
		}
		a.batches = append(a.batches, b)
	}
	return a, nil
}

// Reload loads a configuration with load and applies it, recording the
// outcome in the reload metrics. On failure the running configuration
// keeps serving. A reload asked for while one runs waits for that one's
// outcome and shares it, so a storm of SIGHUPs or POSTs runs a few
// reloads, not one per request.
func (e *Exporter) Reload(load func() (*config.Config, error)) error {
	_, err, _ := e.reloads.Do("reload", func() (any, error) {
		cfg, err := load()
		if err == nil {
			err = e.ApplyConfig(cfg)
		}
		if err != nil {
			e.reloadOK.Set(0)
			level.Error(e.logger).Log("msg", "configuration not loaded; the previous one keeps serving", "err", err)
			return nil, err
		}
		level.Info(e.logger).Log("msg", "configuration loaded", "apps", len(cfg.Apps))
		return nil, nil
	})
	return err
}

// target finds an app by name or SDKAppID, for /probe.
func (e *Exporter) target(t string) *app {
	s := e.state.Load()
	if a := s.byName[t]; a != nil {
		return a
	}
	return s.bySDKAppID[t]
}

// startRefreshes starts the background refresh of every app with
// refresh_interval, their first refreshes spread over a tenth of the
// shortest interval (at most 10 s) rather than all at once. An app whose
// last refresh was carried over a reload waits for its next turn.
func (e *Exporter) startRefreshes(ctx context.Context, apps []*app) {
	var bg []*app
	for _, a := range apps {
		if a.cfg.RefreshInterval > 0 {
			bg = append(bg, a)
		}
	}
	for i, a := range bg {
		first := min(a.cfg.RefreshInterval/10, 10*time.Second) * time.Duration(i) / time.Duration(len(bg))
		if last := a.share.latest.Load(); last != nil {
			first = max(first, a.cfg.RefreshInterval-time.Since(last.at))
		}
		go e.refreshLoop(ctx, a, first)
	}
}

// Ready tells whether every app with refresh_interval has ended its first
// background refresh (successful or not), so a scrape has data to serve.
func (e *Exporter) Ready() bool {
	for _, a := range e.state.Load().apps {
		if a.cfg.RefreshInterval > 0 && a.share.latest.Load() == nil {
			return false
		}
	}
	return true
}

// Close stops the background refreshes and releases the idle API
// connections.
func (e *Exporter) Close() {
	e.applyMu.Lock()
	defer e.applyMu.Unlock()
	e.state.Load().stop()
	e.http.CloseIdleConnections()
}
