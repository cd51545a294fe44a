// Package exposition writes gauge families straight from the caller's
// data, in every format a Prometheus scrape negotiates: text 0.0.4,
// OpenMetrics 1.0.0 and 0.0.1, and delimited protobuf, byte for byte (text)
// or message for message (protobuf) as client_golang's encoder would,
// without a dto.Metric per series. Label pairs are encoded by the caller
// once (Encoding.AppendLabel) and reused for every scrape; a sample then
// costs a few appends.
package exposition

import (
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/common/expfmt"
	"google.golang.org/protobuf/encoding/protowire"
)

// flushAt is how much a Writer buffers before it writes to its output.
const flushAt = 32 << 10

// Encoding is how label pairs are encoded: the text formats share one,
// protobuf has its own.
type Encoding int

// The encodings.
const (
	Text Encoding = iota
	Protobuf
)

// Writer writes gauge families to an output. Its first error stops it and
// is returned by Flush.
type Writer struct {
	out io.Writer
	buf []byte
	enc Encoding
	om  bool // OpenMetrics
	err error

	family string // the family being written (text)
	sizing bool   // protobuf: the samples are only being measured
	size   int    // protobuf: the measured size of the family's metrics
}

// negotiable are the formats a scrape is offered, in order of preference,
// every one of which a Writer writes. (client_golang also offers protobuf
// text and compact text, which Prometheus never asks for; a client that
// asks for only those gets text.)
var negotiable = []expfmt.Format{
	expfmt.FmtOpenMetrics_1_0_0,
	expfmt.FmtOpenMetrics_0_0_1,
	expfmt.FmtProtoDelim,
	expfmt.FmtText,
}

// Negotiate is the format of a scrape's answer, from its Accept header:
// one that a Writer writes.
func Negotiate(h http.Header) expfmt.Format {
	return expfmt.NegotiateAccept(h, negotiable...)
}

// Writes tells whether a Writer writes format: text 0.0.4 (what every
// text/plain Accept header negotiates to), OpenMetrics 1.0.0 or 0.0.1, or
// delimited protobuf.
func Writes(format expfmt.Format) bool {
	switch format.FormatType() {
	case expfmt.TypeTextPlain, expfmt.TypeProtoDelim:
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
	w := &Writer{out: out, buf: make([]byte, 0, flushAt+4<<10), om: format.FormatType() == expfmt.TypeOpenMetrics}
	if format.FormatType() == expfmt.TypeProtoDelim {
		w.enc = Protobuf
	}
	return w
}

// Encoding is how the label pairs given to Sample must be encoded.
func (w *Writer) Encoding() Encoding { return w.enc }

// Family writes a gauge family: name (a valid legacy metric name), help,
// and the samples that samples writes with Sample. In protobuf samples is
// called twice, first to measure the family, whose size precedes it.
func (w *Writer) Family(name, help string, samples func()) {
	if w.enc == Protobuf {
		w.protoFamily(name, help, samples)
		return
	}
	w.buf = append(w.buf, "# HELP "...)
	w.buf = append(w.buf, name...)
	w.buf = append(w.buf, ' ')
	w.buf = appendEscaped(w.buf, help, w.om)
	w.buf = append(w.buf, "\n# TYPE "...)
	w.buf = append(w.buf, name...)
	w.buf = append(w.buf, " gauge\n"...)
	w.maybeFlush()
	w.family = name
	samples()
}

// Sample writes one sample of the family being written: the label set
// made of the label pairs in order, each appended by the Writer's
// Encoding's AppendLabel (one or more to a piece), and value.
func (w *Writer) Sample(value float64, labels ...[]byte) {
	if w.enc == Protobuf {
		w.protoSample(value, labels)
		return
	}
	w.buf = append(w.buf, w.family...)
	w.buf = append(w.buf, '{')
	for _, l := range labels {
		w.buf = append(w.buf, l...)
	}
	if w.buf[len(w.buf)-1] == ',' { // every pair ends with one; the last is not written
		w.buf = w.buf[:len(w.buf)-1]
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

// AppendLabel appends the label pair name="value" in the encoding, its
// value made valid UTF-8 (an invalid byte becomes U+FFFD: client_golang
// would refuse the whole series). In the text formats the value is
// escaped (backslash, double quote and newline) and the pair ends with a
// comma, which Sample drops after the last; in protobuf it is a LabelPair
// field of a Metric.
func (e Encoding) AppendLabel(b []byte, name, value string) []byte {
	if e == Protobuf {
		v := validUTF8(value)
		pair := protowire.SizeTag(1) + protowire.SizeBytes(len(name)) + protowire.SizeTag(2) + protowire.SizeBytes(len(v))
		b = protowire.AppendTag(b, 1, protowire.BytesType) // Metric.label
		b = protowire.AppendVarint(b, uint64(pair))
		b = protowire.AppendString(protowire.AppendTag(b, 1, protowire.BytesType), name)
		return protowire.AppendString(protowire.AppendTag(b, 2, protowire.BytesType), v)
	}
	b = append(b, name...)
	b = append(b, '=', '"')
	b = appendEscaped(b, value, true)
	return append(b, '"', ',')
}

// validUTF8 is s with every invalid byte replaced by U+FFFD, as the text
// formats' escaping makes it; s itself when it is valid.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(r) // an invalid byte ranges as one utf8.RuneError
	}
	return b.String()
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

// Protobuf: each family is one MetricFamily message, preceded by its size
// as a varint (the delimited format). Its fields are name (1), help (2),
// type (3, GAUGE = 1) and one metric (4) per sample; a Metric is its label
// pairs (1) and a Gauge (2) whose value (1) is a double.

// gaugeSize is a Metric's gauge field: tag, size, and the Gauge's value
// field (tag and 8 bytes).
const gaugeSize = 1 + 1 + 1 + 8

func (w *Writer) protoFamily(name, help string, samples func()) {
	w.sizing, w.size = true, 0
	samples()
	w.sizing = false
	help = validUTF8(help)
	size := protowire.SizeTag(1) + protowire.SizeBytes(len(name)) +
		protowire.SizeTag(2) + protowire.SizeBytes(len(help)) +
		protowire.SizeTag(3) + protowire.SizeVarint(1) + w.size
	w.buf = protowire.AppendVarint(w.buf, uint64(size))
	w.buf = protowire.AppendString(protowire.AppendTag(w.buf, 1, protowire.BytesType), name)
	w.buf = protowire.AppendString(protowire.AppendTag(w.buf, 2, protowire.BytesType), help)
	w.buf = protowire.AppendVarint(protowire.AppendTag(w.buf, 3, protowire.VarintType), 1)
	samples()
	w.maybeFlush()
}

func (w *Writer) protoSample(value float64, labels [][]byte) {
	metric := gaugeSize
	for _, l := range labels {
		metric += len(l)
	}
	if w.sizing {
		w.size += protowire.SizeTag(4) + protowire.SizeBytes(metric)
		return
	}
	w.buf = protowire.AppendTag(w.buf, 4, protowire.BytesType)
	w.buf = protowire.AppendVarint(w.buf, uint64(metric))
	for _, l := range labels {
		w.buf = append(w.buf, l...)
	}
	w.buf = append(w.buf, 2<<3|byte(protowire.BytesType), 9, 1<<3|byte(protowire.Fixed64Type))
	w.buf = binary.LittleEndian.AppendUint64(w.buf, math.Float64bits(value))
	w.maybeFlush()
}
