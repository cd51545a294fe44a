// Package collector turns the configured apps into Prometheus metrics and
// serves /metrics and /probe; internal/source holds the apps' data.
//
// A scrape is one straight line. The handler (http.go) takes the scrape's
// window and slot (internal/scrape) and builds a registry for the request
// with one collector per app (emit.go), which Registry.Gather runs
// concurrently. Each app's collector gets the app's accounts from its
// source (the last background run of the accounts job with
// refresh_interval, else a fetch of its own, batch by batch) and sends,
// for every data family the app has on, that family's series as its row
// of the table says (families.go): the accounts, the push funnel,
// publishing activity, the app statistics, each from the state its job
// last left, never waited for. Then come the app's counters (counters.go,
// which the source tells of every call). The handler writes the
// per-account series straight from the results (emit.go,
// internal/exposition), then what was gathered; the debug probe renders
// the same scrape's story before its metrics (debug.go), and the status
// page a line an app (status.go), both again a section or a column a row.
//
// Every series is born in metrics.go's descriptors. The files read in
// this order, each using only the ones before it: metrics (descriptors),
// counters (an app's counts), emit (an app and its series), families (the
// table), exporter (a configuration's apps, reloads), debug and status
// (what a person reads), http (the handlers, the only entry points).
package collector

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/config"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/source"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/tencentchat"
)

// minIdleConns is the idle pool a small configuration gets.
const minIdleConns = 32

// Exporter holds the apps of the current configuration and their counters.
// It is safe for concurrent use: scrapes see one configuration whole, never
// half of two.
type Exporter struct {
	logger   log.Logger
	now      func() time.Time // the clock of Beijing days; tests set it
	families []*family        // the table (families.go)
	apis     []string         // the families' APIs: the counters' slots

	applyMu   sync.Mutex   // serialises ApplyConfig; guards http and idleConns
	http      *http.Client // shared by the apps' clients; replaced by a larger one when needed
	idleConns int          // its idle connections per host

	state atomic.Pointer[state]

	// ctx ends with the exporter: the apps' background refreshes run under it.
	ctx    context.Context
	cancel context.CancelFunc

	tinyTimeoutLogged atomic.Bool

	reloads              singleflight.Group
	reloadOK, reloadTime prometheus.Gauge
	filesStale           atomic.Bool  // the last reload failed: reloadOK is 0
	fingerprint          atomic.Value // string: of the configuration applied last
}

// state is one configuration's apps; replaced whole on reload.
type state struct {
	apps       []*app
	byName     map[string]*app
	bySDKAppID map[string]*app
}

// New returns an Exporter with no apps; give it some with ApplyConfig.
func New(logger log.Logger) *Exporter { return newExporter(logger, defaultFamilies()) }

// newExporter is New with a table of families of its own.
func newExporter(logger log.Logger, table []*family) *Exporter {
	e := &Exporter{logger: logger, now: time.Now, families: table, http: tencentchat.NewHTTPClient(minIdleConns), idleConns: minIdleConns,
		reloadOK:   prometheus.NewGauge(prometheus.GaugeOpts{Name: reloadSuccessName, Help: reloadSuccessHelp}),
		reloadTime: prometheus.NewGauge(prometheus.GaugeOpts{Name: reloadTimeName, Help: reloadTimeHelp}),
	}
	for _, f := range table {
		e.apis = append(e.apis, f.api)
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	e.state.Store(&state{byName: map[string]*app{}, bySDKAppID: map[string]*app{}})
	return e
}

// ReloadMetrics are the collectors of the configuration reload gauges, for
// the /metrics registry.
func (e *Exporter) ReloadMetrics() []prometheus.Collector {
	return []prometheus.Collector{e.reloadOK, e.reloadTime}
}

// ApplyConfig replaces the apps. It builds everything first and swaps at
// the end, so a failure leaves the running configuration untouched. An
// app whose configuration did not change is kept as it is, its background
// jobs undisturbed; a changed one is rebuilt from its predecessor, whose
// whole state it takes when it keeps the SDKAppID (source.App's inherit
// and Retire). A configuration
// applied is a successful load for the reload metrics.
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
	kept := map[*app]bool{}
	var started []*source.App
	for _, ac := range cfg.Apps {
		a := old.byName[ac.Name]
		if a != nil && reflect.DeepEqual(a.Cfg, ac) {
			kept[a] = true // unchanged: it keeps running, its refresh undisturbed
		} else {
			var err error
			if a, err = e.newApp(ac, old); err != nil {
				return fmt.Errorf("app %q: %w", ac.Name, err)
			}
			started = append(started, a.App)
		}
		next.apps = append(next.apps, a)
		next.byName[ac.Name] = a
		next.bySDKAppID[a.SDKAppID] = a
	}
	var retired []*source.App
	for _, a := range old.apps {
		if !kept[a] {
			retired = append(retired, a.App)
		}
	}
	source.Start(e.ctx, started, retired)
	e.state.Store(next)
	e.fingerprint.Store(cfg.Fingerprint)
	e.filesStale.Store(false)
	e.reloadOK.Set(1)
	e.reloadTime.Set(float64(time.Now().Unix()))
	return nil
}

func (e *Exporter) newApp(ac config.App, old *state) (*app, error) {
	id := strconv.FormatUint(ac.SDKAppID, 10)
	// One logger per app: every line about it carries its name and
	// SDKAppID, in that order.
	logger := log.With(e.logger, "app", ac.Name, "sdkappid", id)
	families := familiesOn(e.families, &ac)
	var jobs []*source.Job // of the families it has on: a row off runs nothing
	for _, f := range families {
		if f.job != nil && !slices.Contains(jobs, f.job) {
			jobs = append(jobs, f.job)
		}
	}
	o := source.Options{HTTPClient: e.http, Logger: logger, Jobs: jobs, Now: e.now,
		NewTally: func() source.Tally { return newCounters(logger, id, ac.Name, e.apis) }}
	if prev := old.byName[ac.Name]; prev != nil {
		o.Prev = prev.App
	}
	src, err := source.New(ac, o)
	if err != nil {
		return nil, err
	}
	return &app{App: src, counters: src.Tally().(*counters), families: families}, nil
}

// familiesOn are the rows of table that c has on.
func familiesOn(table []*family, c *config.App) []*family {
	var out []*family
	for _, f := range table {
		if f.on(c) {
			out = append(out, f)
		}
	}
	return out
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
			e.filesStale.Store(true)
			e.reloadOK.Set(0)
			level.Error(e.logger).Log("msg", "configuration not loaded; the previous one keeps serving", "err", err)
			return nil, err
		}
		level.Info(e.logger).Log("msg", "configuration loaded", "apps", len(cfg.Apps))
		return nil, nil
	})
	return err
}

// Fingerprint is that of the files the running configuration was loaded
// from (config.Config.Fingerprint): set only once a configuration is
// applied, so a file that loaded but could not be applied is not taken
// for what runs.
func (e *Exporter) Fingerprint() string {
	fp, _ := e.fingerprint.Load().(string)
	return fp
}

// FilesCurrent records that the configuration files on disk are what
// runs (the auto-reloader found them so): after a refused edit was
// reverted, the reload status is a success again, though nothing was
// reloaded.
func (e *Exporter) FilesCurrent() {
	if e.filesStale.CompareAndSwap(true, false) {
		e.reloadOK.Set(1)
		level.Info(e.logger).Log("msg", "the configuration files are the running configuration again; the failed reload is over")
	}
}

// target finds an app by name or SDKAppID, for /probe.
func (e *Exporter) target(t string) *app {
	s := e.state.Load()
	if a := s.byName[t]; a != nil {
		return a
	}
	return s.bySDKAppID[t]
}

// Ready tells whether every app with refresh_interval has ended its first
// background refresh (successful or not), so a scrape has data to serve.
func (e *Exporter) Ready() bool {
	for _, a := range e.state.Load().apps {
		if !a.Ready() {
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
	e.cancel()
	e.http.CloseIdleConnections()
}
