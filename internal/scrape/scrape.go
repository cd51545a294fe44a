// Package scrape is the HTTP side of answering a Prometheus scrape, apart
// from what is scraped: the time Prometheus gives (its timeout header less
// an offset), a bounded number of scrapes at once, the format and
// compression it asks for, and an answer that is whole or visibly not.
// It knows nothing of Tencent.
package scrape

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/common/expfmt"
)

// Timeout bounds. Without the header, Prometheus' own default
// scrape_timeout (10 s) is assumed; a header beyond MaxTimeout is clipped so
// a typo cannot keep API calls running for hours, and one below MinTimeout
// raised, so a typo cannot mark every healthy app down without a call.
const (
	DefaultTimeout = 10 * time.Second
	MinTimeout     = time.Second
	MaxTimeout     = 5 * time.Minute
	TimeoutHeader  = "X-Prometheus-Scrape-Timeout-Seconds"
)

// maxWrite bounds the sending of an answer once it is encoded: Prometheus
// reads at once, and a client that stalls must not hold the answer's
// memory, nor a slot, for the whole of the timeout it claimed.
const maxWrite = 10 * time.Second

// writeMargin is the time an encoded answer must have left before
// Prometheus' timeout to be sent rather than replaced by a 503.
const writeMargin = 100 * time.Millisecond

// Limit bounds concurrent scrapes. A nil *Limit has no bound.
type Limit struct{ slots chan struct{} }

// NewLimit returns a limit of n concurrent scrapes; n <= 0 is none (nil).
func NewLimit(n int) *Limit {
	if n <= 0 {
		return nil
	}
	return &Limit{slots: make(chan struct{}, n)}
}

// AllowGET answers anything but GET and reports whether to go on: HEAD
// gets the headers without a scrape, other methods 405.
func AllowGET(w http.ResponseWriter, r *http.Request) bool {
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

// Window is one scrape's time: Prometheus' timeout, the shorter deadline
// of the work (Ctx), and the slot it holds.
type Window struct {
	Start             time.Time
	Timeout, Deadline time.Duration
	Clamped           bool // the header asked for less than MinTimeout
	Ctx               context.Context
	Close             func() // gives the slot back and ends Ctx; idempotent
}

// Open sets a scrape's deadlines (writing stops at Prometheus' timeout,
// the work at the timeout less offset) and waits within them for a slot of
// limit; without one it has answered 503 and reports false.
func Open(w http.ResponseWriter, r *http.Request, offset time.Duration, limit *Limit) (*Window, bool) {
	win := &Window{Start: time.Now()}
	win.Timeout, win.Clamped = timeout(r)
	win.Deadline = effectiveTimeout(win.Timeout, offset)
	_ = http.NewResponseController(w).SetWriteDeadline(win.Start.Add(win.Timeout))
	ctx, cancel := context.WithTimeout(r.Context(), win.Deadline)
	release := func() {}
	if limit != nil {
		select {
		case limit.slots <- struct{}{}:
			release = func() { <-limit.slots }
		case <-ctx.Done():
			cancel()
			http.Error(w, fmt.Sprintf("too many concurrent scrapes (--web.max-requests=%d): none finished within this scrape's timeout", cap(limit.slots)),
				http.StatusServiceUnavailable)
			return nil, false
		}
	}
	win.Ctx, win.Close = ctx, sync.OnceFunc(func() { release(); cancel() })
	return win, true
}

// Answer sends what encode writes, in format. With gzip, which Prometheus
// asks for, or buffered set, the answer is encoded whole before it is sent
// (the gzip stream is a tenth of the exposition), so a machine too busy to
// encode in time answers 503 instead of a body cut half-way. Without, it
// is streamed and holds nothing (over HTTP/1.1: an HTTP/1.0 client, which
// could not tell a cut answer from a whole one, gets it buffered): one that
// cannot finish by the write deadline is cut off mid-stream, and an encoding error aborts the
// connection, which Prometheus counts as a failed scrape (the chunked
// answer has no end). No answer looks whole that is not. Either way the
// window's slot is given back once the answer is encoded, so the next
// scrape has it rather than wait for a client that does not read, and
// sending is bounded by maxWrite. hint keeps the size of the last buffered
// answer, to size the next. The error is encode's, for the log.
func Answer(w http.ResponseWriter, r *http.Request, win *Window, format expfmt.Format, hint *atomic.Int64, buffered bool,
	encode func(io.Writer) error) error {
	w.Header().Set("Content-Type", string(format))
	compress := !buffered && gzipAccepted(r)
	// Over HTTP/1.0 a streamed body ends when the connection closes, so a
	// cut answer would look whole: such a client gets it whole, with its
	// length.
	if !buffered && !compress && r.ProtoAtLeast(1, 1) {
		win.Close()
		if !startAnswer(w, win) {
			return nil
		}
		bw := bufio.NewWriterSize(w, 64<<10)
		err := encode(bw)
		if err == nil {
			err = bw.Flush()
		}
		if err != nil {
			panic(http.ErrAbortHandler)
		}
		return nil
	}
	body := &bytes.Buffer{}
	body.Grow(int(hint.Load()))
	var out io.Writer = body
	var zw *gzip.Writer
	if compress {
		zw = gzipPool.Get().(*gzip.Writer)
		defer gzipPool.Put(zw)
		zw.Reset(body)
		out = zw
	}
	err := encode(out)
	if zw != nil && err == nil {
		err = zw.Close()
	}
	if err != nil {
		http.Error(w, "encoding the metrics failed: "+err.Error(), http.StatusInternalServerError)
		return err
	}
	hint.Store(int64(body.Len()) * 9 / 8)
	win.Close()
	if !startAnswer(w, win) {
		return nil
	}
	if zw != nil {
		w.Header().Set("Content-Encoding", "gzip")
	}
	w.Header().Set("Content-Length", strconv.Itoa(body.Len()))
	_, _ = w.Write(body.Bytes())
	return nil
}

// startAnswer bounds the sending by maxWrite, however long a timeout the
// client claimed, and answers 503 when Prometheus' timeout is (nearly)
// over.
func startAnswer(w http.ResponseWriter, win *Window) bool {
	writeBy := win.Start.Add(win.Timeout)
	if bound := time.Now().Add(maxWrite); bound.Before(writeBy) {
		writeBy = bound
	}
	_ = http.NewResponseController(w).SetWriteDeadline(writeBy)
	if time.Since(win.Start) > win.Timeout-writeMargin {
		w.Header().Del("Content-Type")
		http.Error(w, "the scrape was not answered before Prometheus' timeout: the exporter is overloaded (see --web.max-requests)",
			http.StatusServiceUnavailable)
		return false
	}
	return true
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

// timeout is Prometheus' scrape timeout from its header: the default when
// the header is missing, unparsable or not positive; at least MinTimeout
// (clamped reports that it was raised), at most MaxTimeout.
func timeout(r *http.Request) (t time.Duration, clamped bool) {
	v := r.Header.Get(TimeoutHeader)
	if v == "" {
		return DefaultTimeout, false
	}
	s, err := strconv.ParseFloat(v, 64)
	if err != nil || !(s > 0) || math.IsInf(s, 0) {
		return DefaultTimeout, false
	}
	if s < MinTimeout.Seconds() {
		return MinTimeout, true
	}
	return time.Duration(math.Min(s, MaxTimeout.Seconds()) * float64(time.Second)), false
}

// effectiveTimeout is the time the work gets: the timeout less the offset,
// or half the timeout when the offset would eat more than that, so a
// scrape always has some time and never outlives Prometheus.
func effectiveTimeout(t, offset time.Duration) time.Duration {
	if t-offset < t/2 {
		return t / 2
	}
	return t - offset
}
