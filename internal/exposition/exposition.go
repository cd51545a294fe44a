// Package exposition writes gauge families in Prometheus' text formats
// (0.0.4, and OpenMetrics 1.0.0 and 0.0.1) straight from the caller's data,
// byte for byte as client_golang's encoder would, without a dto.Metric per
// series. Label pairs are escaped by the caller once (AppendLabel) and
// reused for every scrape; a sample then costs a few appends. Other
// formats (protobuf) are left to client_golang: NewWriter says so.
package exposition

import (
	"bytes"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/common/expfmt"
)

// flushAt is how much a Writer buffers before it writes to its output.
const flushAt = 32 << 10

// Writer writes gauge families to an output. Its first error stops it and
// is returned by Flush.
type Writer struct {
	out io.Writer
	buf []byte
	om  bool
	err error
}

// Writes tells whether a Writer writes format: text 0.0.4 (what every
// text/plain Accept header negotiates to), OpenMetrics 1.0.0 or 0.0.1.
func Writes(format expfmt.Format) bool {
	switch format.FormatType() {
	case expfmt.TypeTextPlain:
		return true
	case expfmt.TypeOpenMetrics:
		return !strings.Contains(string(format), "version="+expfmt.OpenMetricsVersion_2_0_0)
	}
	return false
}

// NewWriter returns a Writer for format, or nil when it does not Write it.
func NewWriter(out io.Writer, format expfmt.Format) *Writer {
	if !Writes(format) {
		return nil
	}
	return &Writer{out: out, buf: make([]byte, 0, flushAt+4<<10), om: format.FormatType() == expfmt.TypeOpenMetrics}
}

// Gauge starts a family of gauges: its HELP and TYPE lines. name must be a
// valid legacy metric name.
func (w *Writer) Gauge(name, help string) {
	w.buf = append(w.buf, "# HELP "...)
	w.buf = append(w.buf, name...)
	w.buf = append(w.buf, ' ')
	w.buf = appendEscaped(w.buf, help, w.om)
	w.buf = append(w.buf, "\n# TYPE "...)
	w.buf = append(w.buf, name...)
	w.buf = append(w.buf, " gauge\n"...)
	w.maybeFlush()
}

// Sample writes one sample of the family: name, the label set made of the
// pieces in order (each a run of AppendLabel pairs, joined by commas
// within and between pieces by the caller), and value.
func (w *Writer) Sample(name string, value float64, labels ...[]byte) {
	w.buf = append(w.buf, name...)
	w.buf = append(w.buf, '{')
	for _, l := range labels {
		w.buf = append(w.buf, l...)
	}
	w.buf = append(w.buf, '}', ' ')
	w.buf = AppendFloat(w.buf, value, w.om)
	w.buf = append(w.buf, '\n')
	w.maybeFlush()
}

// Flush writes what is buffered and returns the first error met.
func (w *Writer) Flush() error {
	if w.err == nil && len(w.buf) > 0 {
		_, w.err = w.out.Write(w.buf)
	}
	w.buf = w.buf[:0]
	return w.err
}

func (w *Writer) maybeFlush() {
	if len(w.buf) >= flushAt {
		w.Flush()
	}
}

// AppendLabel appends name="value" with value escaped for either format
// (backslash, double quote and newline) and made valid UTF-8 (an invalid
// byte becomes U+FFFD: client_golang would refuse the whole series).
func AppendLabel(b []byte, name, value string) []byte {
	b = append(b, name...)
	b = append(b, '=', '"')
	b = appendEscaped(b, value, true)
	return append(b, '"')
}

// appendEscaped escapes backslash and newline, and double quote when quote
// is set (label values, and HELP in OpenMetrics).
func appendEscaped(b []byte, s string, quote bool) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '\\':
				b = append(b, '\\', '\\')
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '"' && quote:
				b = append(b, '\\', '"')
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = utf8.AppendRune(b, utf8.RuneError)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return b
}

// AppendFloat appends v as client_golang writes it: the shortest 'g' form,
// with ".0" added to integral values in OpenMetrics.
func AppendFloat(b []byte, v float64, om bool) []byte {
	switch {
	case v == 1, v == 0, v == -1:
		b = strconv.AppendInt(b, int64(v), 10)
		if om {
			b = append(b, '.', '0')
		}
		return b
	case math.IsNaN(v):
		return append(b, "NaN"...)
	case math.IsInf(v, +1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	}
	start := len(b)
	b = strconv.AppendFloat(b, v, 'g', -1, 64)
	if om && !bytes.ContainsAny(b[start:], "e.") {
		b = append(b, '.', '0')
	}
	return b
}
