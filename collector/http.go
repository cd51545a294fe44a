package collector

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Scrape timeout bounds. Without the header, Prometheus' own default
// scrape_timeout (10 s) is assumed; a header beyond maxTimeout is clipped so
// a typo cannot keep API calls running for hours.
const (
	defaultTimeout = 10 * time.Second
	maxTimeout     = 5 * time.Minute
	maxTargetLen   = 256
)

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

// HandlerOpts configures the HTTP handlers.
type HandlerOpts struct {
	// TimeoutOffset is subtracted from Prometheus' scrape timeout so the
	// answer is on the wire before Prometheus gives up.
	TimeoutOffset time.Duration
	// Static collectors are added to every /metrics scrape: the exporter's
	// own go, process, build and reload metrics. They are registered in the
	// scrape's registry rather than gathered beside it, since
	// prometheus.Gatherers would check every account's series a second time.
	Static []prometheus.Collector
}

// MetricsHandler serves every app's metrics plus opts.Static.
func (e *Exporter) MetricsHandler(opts HandlerOpts) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), scrapeTimeout(r, opts.TimeoutOffset))
		defer cancel()
		reg := prometheus.NewRegistry()
		reg.MustRegister(opts.Static...)
		reg.MustRegister(scrape{e: e, ctx: ctx, apps: e.state.Load().apps})
		e.serve(w, r, reg)
	})
}

// ProbeHandler serves one app, chosen by ?target= (name or SDKAppID): the
// multi-target pattern, so a large fleet can shard apps across Prometheus
// jobs or servers.
func (e *Exporter) ProbeHandler(opts HandlerOpts) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := r.URL.Query().Get("target")
		var a *app
		switch {
		case t == "":
			http.Error(w, errNoTarget.Error(), http.StatusBadRequest)
			return
		case len(t) > maxTargetLen:
			http.Error(w, "target is too long", http.StatusBadRequest)
			return
		default:
			if a = e.target(t); a == nil {
				http.Error(w, errUnknownTarget.Error(), http.StatusBadRequest)
				return
			}
		}
		ctx, cancel := context.WithTimeout(r.Context(), scrapeTimeout(r, opts.TimeoutOffset))
		defer cancel()
		reg := prometheus.NewRegistry()
		reg.MustRegister(scrape{e: e, ctx: ctx, apps: []*app{a}})
		e.serve(w, r, reg)
	})
}

func (e *Exporter) serve(w http.ResponseWriter, r *http.Request, g prometheus.Gatherer) {
	promhttp.HandlerFor(g, promhttp.HandlerOpts{
		ErrorLog:      promLogger{e.logger},
		ErrorHandling: promhttp.ContinueOnError,
		// Prometheus 3 may ask for OpenMetrics alone; without this it
		// would get the text format it did not ask for.
		EnableOpenMetrics: true,
	}).ServeHTTP(w, r)
}

type promLogger struct{ l log.Logger }

// Println logs promhttp's gathering and encoding errors with their text
// (a []any value would make logfmt drop the line's err).
func (p promLogger) Println(v ...any) {
	level.Error(p.l).Log("msg", "serving metrics", "err", strings.TrimSpace(fmt.Sprintln(v...)))
}

// scrapeTimeout is Prometheus' X-Prometheus-Scrape-Timeout-Seconds less the
// offset. A missing, unparsable or non-positive header falls back to the
// default; an offset that would eat most of a short timeout is cut to half
// of it, so a scrape always has some time and never outlives Prometheus.
func scrapeTimeout(r *http.Request, offset time.Duration) time.Duration {
	t := defaultTimeout
	if v := r.Header.Get("X-Prometheus-Scrape-Timeout-Seconds"); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil && s > 0 && !math.IsInf(s, 0) {
			t = time.Duration(math.Min(s, maxTimeout.Seconds()) * float64(time.Second))
		}
	}
	if t-offset < t/2 {
		return t / 2
	}
	return t - offset
}
