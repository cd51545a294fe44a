package collector

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/exposition"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/scrape"
)

// maxTargetLen bounds /probe's target.
const maxTargetLen = 256

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
	// Limit bounds the scrapes that run at once, /metrics and /probe
	// together; nil for no bound.
	Limit *scrape.Limit
	// Static collectors are added to every /metrics scrape: the exporter's
	// own go, process, build and reload metrics.
	Static []prometheus.Collector

	hint *atomic.Int64 // the size of the handler's last buffered answer
}

// MetricsHandler serves every app's metrics plus opts.Static.
func (e *Exporter) MetricsHandler(opts HandlerOpts) http.Handler {
	opts.hint = new(atomic.Int64)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.serveScrape(w, r, opts, e.state.Load().apps, opts.Static, false)
	})
}

// ProbeHandler serves one app, chosen by ?target= (name or SDKAppID): the
// multi-target pattern, so a large fleet can shard apps across Prometheus
// jobs or servers.
func (e *Exporter) ProbeHandler(opts HandlerOpts) http.Handler {
	opts.hint = new(atomic.Int64)
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
		e.serveScrape(w, r, opts, []*app{a}, nil, r.URL.Query().Get("debug") == "true")
	})
}

// ReadyHandler is /-/ready: 503 until every app with refresh_interval has
// ended its first background refresh (successful or not), 200 after, so a
// Kubernetes readiness probe keeps Prometheus away until there is data.
func (e *Exporter) ReadyHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if !e.Ready() {
			http.Error(w, "not ready: an app with refresh_interval has not ended its first background refresh", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "Ready")
	})
}

// SDHandler is /sd: Prometheus' HTTP service discovery (http_sd_configs)
// of every configured app as a /probe target of this exporter. Its labels
// name the app and where its calls go, never a credential;
// __param_target and __metrics_path__ make the scrape a /probe of the app
// without relabelling. The target is external's host and /probe lies under
// its path (--web.external-url: behind a proxy with a path prefix, or
// where answers are cached); without it, the address the request was sent
// to.
func (e *Exporter) SDHandler(external *url.URL) http.Handler {
	type group struct {
		Targets []string          `json:"targets"`
		Labels  map[string]string `json:"labels"`
	}
	probePath := "/probe"
	if external != nil {
		probePath = strings.TrimSuffix(external.Path, "/") + "/probe"
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "only GET", http.StatusMethodNotAllowed)
			return
		}
		target := r.Host
		if external != nil {
			target = external.Host
		}
		groups := []group{}
		for _, a := range e.state.Load().apps {
			l := map[string]string{"__param_target": a.Cfg.Name, "__metrics_path__": probePath,
				"app_name": a.Cfg.Name, "sdkappid": a.SDKAppID}
			if a.Cfg.Endpoint != "" {
				l["endpoint_host"] = a.Cfg.Host()
			} else {
				l["region"] = a.Cfg.Region
			}
			if external != nil && external.Scheme == "https" {
				l["__scheme__"] = "https"
			}
			groups = append(groups, group{Targets: []string{target}, Labels: l})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(groups)
	})
}

// serveScrape answers one scrape of apps: the scrape's window and slot
// (internal/scrape), a registry for this request with one collector per
// app, Gather (which runs the apps concurrently), and the answer: the
// exposition, or with debug the scrape's story and then its metrics. The
// API calls stop at Prometheus' timeout less the offset, waiting for a slot
// counts against it, and the answer is whole or visibly not.
func (e *Exporter) serveScrape(w http.ResponseWriter, r *http.Request, opts HandlerOpts, apps []*app, static []prometheus.Collector, debug bool) {
	if !scrape.AllowGET(w, r) {
		return
	}
	win, ok := scrape.Open(w, r, opts.TimeoutOffset, opts.Limit)
	if !ok {
		return
	}
	defer win.Close()
	if win.Clamped && e.tinyTimeoutLogged.CompareAndSwap(false, true) {
		level.Warn(e.logger).Log("msg", "scrape timeout header below the minimum; using the minimum (logged once)",
			"header", r.Header.Get(scrape.TimeoutHeader), "minimum", scrape.MinTimeout)
	}
	// Prometheus 3 may ask for OpenMetrics alone, or protobuf for native
	// histograms: it gets what it asked for, every format written as
	// cheaply as text (exposition.Negotiate offers only those).
	format := exposition.Negotiate(r.Header)
	if debug {
		format = expfmt.NewFormat(expfmt.TypeTextPlain)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(static...)
	collectors := make([]*appCollector, len(apps))
	for i, a := range apps {
		collectors[i] = &appCollector{ctx: win.Ctx, a: a}
		reg.MustRegister(collectors[i])
	}
	mfs, gatherErr := reg.Gather()
	if r.Context().Err() != nil {
		// Shutting down (or the scraper hung up): what was gathered is
		// cut short, and saying so beats serving every app as down.
		http.Error(w, "scrape cancelled: the exporter is shutting down", http.StatusServiceUnavailable)
		return
	}
	if gatherErr != nil {
		level.Error(e.logger).Log("msg", "gathering metrics", "err", gatherErr)
	}
	contentType := format
	if debug {
		contentType = "text/plain; charset=utf-8"
	}
	err := scrape.Answer(w, r, win, contentType, opts.hint, debug, func(out io.Writer) error {
		if debug {
			writeDebug(out, collectors[0], win, opts.TimeoutOffset, gatherErr)
		}
		return encode(out, format, mfs, e.families, collectors)
	})
	if err != nil {
		level.Error(e.logger).Log("msg", "encoding the scrape", "err", err)
	}
}

// encode writes the accounts' families straight from the results, then the
// gathered ones with client_golang's encoder, which ends an OpenMetrics
// answer with its # EOF.
func encode(out io.Writer, format expfmt.Format, mfs []*dto.MetricFamily, table []*family, cs []*appCollector) error {
	ew := exposition.NewWriter(out, format)
	writeAccounts(ew, table, cs)
	if err := ew.Flush(); err != nil {
		return err
	}
	enc := expfmt.NewEncoder(out, format)
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return err
		}
	}
	if c, ok := enc.(expfmt.Closer); ok {
		return c.Close()
	}
	return nil
}
