package collector

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/exposition"
)

// Scrape timeout bounds. Without the header, Prometheus' own default
// scrape_timeout (10 s) is assumed; a header beyond maxTimeout is clipped so
// a typo cannot keep API calls running for hours, and one below minTimeout
// raised, so a typo cannot mark every healthy app down without a call.
const (
	defaultTimeout = 10 * time.Second
	minTimeout     = time.Second
	maxTimeout     = 5 * time.Minute
	maxTargetLen   = 256
)

// MaxScrapeTimeout is the longest a scrape may take, for the server's
// write timeout.
const MaxScrapeTimeout = maxTimeout

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
	Limit *RequestLimit
	// Static collectors are added to every /metrics scrape: the exporter's
	// own go, process, build and reload metrics.
	Static []prometheus.Collector

	hint *atomic.Int64 // the size of the handler's last answer, to size the next
}

func (o *HandlerOpts) sizeHint() *atomic.Int64 { return o.hint }

// RequestLimit bounds concurrent scrapes: each holds its series, some
// 4 KiB per account, while it gathers and encodes them.
type RequestLimit struct {
	slots chan struct{}
}

// NewRequestLimit returns a limit of n concurrent scrapes; n <= 0 is no
// limit (nil).
func NewRequestLimit(n int) *RequestLimit {
	if n <= 0 {
		return nil
	}
	return &RequestLimit{slots: make(chan struct{}, n)}
}

// acquire waits for a slot within ctx; when none comes free it answers 503
// and reports false. A nil limit always has a slot.
func (l *RequestLimit) acquire(ctx context.Context, w http.ResponseWriter) (release func(), ok bool) {
	if l == nil {
		return func() {}, true
	}
	select {
	case l.slots <- struct{}{}:
		return func() { <-l.slots }, true
	case <-ctx.Done():
		http.Error(w, fmt.Sprintf("too many concurrent scrapes (--web.max-requests=%d): none finished within this scrape's timeout", cap(l.slots)),
			http.StatusServiceUnavailable)
		return nil, false
	}
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

// allowScrape answers anything but GET and reports whether to go on: HEAD
// gets the headers without an API call, other methods 405.
func allowScrape(w http.ResponseWriter, r *http.Request) bool {
	switch r.Method {
	case http.MethodGet:
		return true
	case http.MethodHead:
		w.Header().Set("Content-Type", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
	default:
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "only GET scrapes", http.StatusMethodNotAllowed)
	}
	return false
}

// serveScrape answers one scrape of apps: the scrape's window and slot, a
// registry for this request with one collector per app, Gather (which runs
// the apps concurrently), and the answer: the exposition, or with debug the
// scrape's story and then its metrics. GET scrapes; HEAD answers the
// headers without calling the API; anything else is 405. The whole answer
// is bounded by Prometheus' timeout: the API calls stop at the timeout
// less the offset, waiting for a slot counts against it, and writing stops
// at the timeout itself (a client that does not read is cut off then).
func (e *Exporter) serveScrape(w http.ResponseWriter, r *http.Request, opts HandlerOpts, apps []*app, static []prometheus.Collector, debug bool) {
	if !allowScrape(w, r) {
		return
	}
	sw, ok := e.openScrape(w, r, opts)
	if !ok {
		return
	}
	defer sw.close()
	// Prometheus 3 may ask for OpenMetrics alone: it gets it.
	format := expfmt.NegotiateAccept(r.Header, expfmt.DefaultOpenMetricsAcceptedFormats()...)
	if debug {
		format = expfmt.NewFormat(expfmt.TypeTextPlain)
	}
	direct := exposition.NewWriter(io.Discard, format) != nil
	reg := prometheus.NewRegistry()
	reg.MustRegister(static...)
	collectors := make([]*appCollector, len(apps))
	for i, a := range apps {
		collectors[i] = &appCollector{e: e, ctx: sw.ctx, a: a, direct: direct}
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
		promLogger{e.logger}.Println("error gathering metrics:", gatherErr)
	}
	if debug || gzipAccepted(r) {
		e.sendBuffered(w, r, opts, sw, format, mfs, collectors, direct, debug, gatherErr)
		return
	}
	// Without compression the exposition is some 600 bytes an account: it
	// is streamed rather than held. A scrape that cannot finish by the
	// write deadline is cut off mid-stream, which Prometheus counts as a
	// failed scrape (the chunked answer has no end); an encoding error
	// aborts the connection for the same reason. It never looks whole.
	sw.close()
	if !e.startAnswer(w, sw) {
		return
	}
	w.Header().Set("Content-Type", string(format))
	bw := bufio.NewWriterSize(w, 64<<10)
	err := encode(bw, format, mfs, collectors, direct)
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		level.Debug(e.logger).Log("msg", "scrape answer not sent whole", "err", err)
		panic(http.ErrAbortHandler)
	}
}

// sendBuffered answers a scrape that takes gzip (as Prometheus does) or the
// debug probe: encoded whole before it is sent, so a machine too busy to
// encode in the time the offset leaves says so with a 503 instead of a
// body cut half-way. What is held is the gzip stream, a tenth of the
// exposition, in a buffer sized from the handler's last answer.
func (e *Exporter) sendBuffered(w http.ResponseWriter, r *http.Request, opts HandlerOpts, sw *scrapeWindow, format expfmt.Format,
	mfs []*dto.MetricFamily, collectors []*appCollector, direct, debug bool, gatherErr error) {
	body := &bytes.Buffer{}
	body.Grow(int(opts.sizeHint().Load()))
	var out io.Writer = body
	if !debug {
		zw := gzipPool.Get().(*gzip.Writer)
		defer gzipPool.Put(zw)
		zw.Reset(body)
		out = zw
	} else {
		writeDebug(out, collectors[0], sw, opts.TimeoutOffset, gatherErr)
	}
	err := encode(out, format, mfs, collectors, direct)
	if zw, ok := out.(*gzip.Writer); ok && err == nil {
		err = zw.Close()
	}
	if err != nil {
		level.Error(e.logger).Log("msg", "encoding the scrape", "err", err)
		http.Error(w, "encoding the metrics failed: "+err.Error(), http.StatusInternalServerError)
		return
	}
	opts.sizeHint().Store(int64(body.Len()) * 9 / 8)
	sw.close()
	if !e.startAnswer(w, sw) {
		return
	}
	w.Header().Set("Content-Type", string(format))
	if debug {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	} else {
		w.Header().Set("Content-Encoding", "gzip")
	}
	w.Header().Set("Content-Length", strconv.Itoa(body.Len()))
	_, _ = w.Write(body.Bytes())
}

// startAnswer is called once the scrape's slot is given back, so the next
// scrape has it now rather than when a client that does not read lets go.
// It bounds the sending by maxWrite, however long a timeout the client
// claimed, and answers 503 when Prometheus' timeout is (nearly) over.
func (e *Exporter) startAnswer(w http.ResponseWriter, sw *scrapeWindow) bool {
	writeBy := sw.start.Add(sw.timeout)
	if bound := time.Now().Add(maxWrite); bound.Before(writeBy) {
		writeBy = bound
	}
	_ = http.NewResponseController(w).SetWriteDeadline(writeBy)
	if time.Since(sw.start) > sw.timeout-writeMargin {
		http.Error(w, "the scrape was not answered before Prometheus' timeout: the exporter is overloaded (see --web.max-requests)",
			http.StatusServiceUnavailable)
		return false
	}
	return true
}

// encode writes the accounts' families straight from the results (when
// direct), then the gathered ones with client_golang's encoder, which ends
// an OpenMetrics answer with its # EOF.
func encode(out io.Writer, format expfmt.Format, mfs []*dto.MetricFamily, cs []*appCollector, direct bool) error {
	if direct {
		ew := exposition.NewWriter(out, format)
		writeAccounts(ew, cs)
		if err := ew.Flush(); err != nil {
			return err
		}
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

// gzipAccepted tells whether the client takes a gzip answer.
func gzipAccepted(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}

// gzipPool keeps compressors between scrapes: each holds some 800 KiB.
// BestSpeed: a tenth of the exposition already, at half the CPU of the
// default level.
var gzipPool = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return zw
}}

// scrapeWindow is one scrape's time: Prometheus' timeout, the shorter
// deadline of its API calls, and the slot it holds.
type scrapeWindow struct {
	start             time.Time
	timeout, deadline time.Duration
	ctx               context.Context
	close             func() // releases the slot and the context; idempotent
}

// openScrape sets a scrape's deadlines (writing stops at Prometheus'
// timeout, API calls at the timeout less the offset) and waits within them
// for a slot; without one it has answered 503 and reports false.
func (e *Exporter) openScrape(w http.ResponseWriter, r *http.Request, opts HandlerOpts) (*scrapeWindow, bool) {
	sw := &scrapeWindow{start: time.Now()}
	timeout, clamped := prometheusTimeout(r)
	if clamped && e.tinyTimeoutLogged.CompareAndSwap(false, true) {
		level.Warn(e.logger).Log("msg", "scrape timeout header below the minimum; using the minimum (logged once)",
			"header", r.Header.Get(timeoutHeader), "minimum", minTimeout)
	}
	sw.timeout, sw.deadline = timeout, effectiveTimeout(timeout, opts.TimeoutOffset)
	_ = http.NewResponseController(w).SetWriteDeadline(sw.start.Add(timeout))
	ctx, cancel := context.WithTimeout(r.Context(), sw.deadline)
	release, ok := opts.Limit.acquire(ctx, w)
	if !ok {
		cancel()
		return nil, false
	}
	sw.ctx, sw.close = ctx, sync.OnceFunc(func() { release(); cancel() })
	return sw, true
}

// maxWrite bounds the sending of an answer once it is encoded: Prometheus
// reads at once, and a client that stalls must not hold the answer's
// memory for the whole of the timeout it claimed.
const maxWrite = 10 * time.Second

// writeMargin is the time an encoded answer must have left before
// Prometheus' timeout to be sent rather than replaced by a 503.
const writeMargin = 100 * time.Millisecond

type promLogger struct{ l log.Logger }

// Println logs promhttp's gathering and encoding errors with their text
// (a []any value would make logfmt drop the line's err).
func (p promLogger) Println(v ...any) {
	level.Error(p.l).Log("msg", "serving metrics", "err", strings.TrimSpace(fmt.Sprintln(v...)))
}

const timeoutHeader = "X-Prometheus-Scrape-Timeout-Seconds"

// prometheusTimeout is Prometheus' scrape timeout from its header: the
// default when the header is missing, unparsable or not positive; at least
// minTimeout (clamped reports that it was raised), at most maxTimeout.
func prometheusTimeout(r *http.Request) (t time.Duration, clamped bool) {
	v := r.Header.Get(timeoutHeader)
	if v == "" {
		return defaultTimeout, false
	}
	s, err := strconv.ParseFloat(v, 64)
	if err != nil || !(s > 0) || math.IsInf(s, 0) {
		return defaultTimeout, false
	}
	if s < minTimeout.Seconds() {
		return minTimeout, true
	}
	return time.Duration(math.Min(s, maxTimeout.Seconds()) * float64(time.Second)), false
}

// effectiveTimeout is the time the API calls get: the timeout less the
// offset, or half the timeout when the offset would eat more than that, so
// a scrape always has some time and never outlives Prometheus.
func effectiveTimeout(t, offset time.Duration) time.Duration {
	if t-offset < t/2 {
		return t / 2
	}
	return t - offset
}
