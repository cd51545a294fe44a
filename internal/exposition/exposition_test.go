package exposition

import (
	"bytes"
	"errors"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"google.golang.org/protobuf/proto"
)

// formats are the ones the Writer writes.
var formats = []expfmt.Format{
	expfmt.NewFormat(expfmt.TypeTextPlain),
	expfmt.NewFormat(expfmt.TypeOpenMetrics),
	expfmt.Format(expfmt.FmtOpenMetrics_0_0_1),
	expfmt.NewFormat(expfmt.TypeProtoDelim),
}

// render writes one gauge family of two samples, labels a and b, with the
// Writer: one sample's pairs as two pieces, the other's as one.
func render(t testing.TB, format expfmt.Format, help, a1, b1, a2, b2 string, v1, v2 float64) []byte {
	t.Helper()
	var out bytes.Buffer
	w := NewWriter(&out, format)
	if w == nil {
		t.Fatalf("NewWriter(%s) is nil", format)
	}
	enc := w.Encoding()
	w.Family("m", help, func() {
		w.Sample(v1, enc.AppendLabel(nil, "a", a1), enc.AppendLabel(nil, "b", b1))
		w.Sample(v2, enc.AppendLabel(enc.AppendLabel(nil, "a", a2), "b", b2))
	})
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// reference is the same family through client_golang's encoder, given the
// help and label values made valid UTF-8 as the Writer makes them (it
// refuses invalid label values, and would copy an invalid help).
func reference(t testing.TB, format expfmt.Format, help, a1, b1, a2, b2 string, v1, v2 float64) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := expfmt.NewEncoder(&out, format).Encode(family(help, a1, b1, a2, b2, v1, v2)); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func family(help, a1, b1, a2, b2 string, v1, v2 float64) *dto.MetricFamily {
	metric := func(a, b string, v float64) *dto.Metric {
		return &dto.Metric{Label: []*dto.LabelPair{{Name: proto.String("a"), Value: proto.String(a)}, {Name: proto.String("b"), Value: proto.String(b)}},
			Gauge: &dto.Gauge{Value: proto.Float64(v)}}
	}
	return &dto.MetricFamily{Name: proto.String("m"), Help: proto.String(validUTF8(help)), Type: dto.MetricType_GAUGE.Enum(),
		Metric: []*dto.Metric{metric(validUTF8(a1), validUTF8(b1), v1), metric(validUTF8(a2), validUTF8(b2), v2)}}
}

// same compares the two answers: text byte for byte; protobuf as the
// messages it decodes to, and as the one message the answer holds (the
// family's size prefix must cover it exactly).
func same(t testing.TB, format expfmt.Format, got, want []byte) {
	t.Helper()
	if format.FormatType() != expfmt.TypeProtoDelim {
		if !bytes.Equal(got, want) {
			t.Errorf("Writer:\n%q\nclient_golang:\n%q", got, want)
		}
		return
	}
	dec := expfmt.NewDecoder(bytes.NewReader(got), format)
	var g, w dto.MetricFamily
	if err := dec.Decode(&g); err != nil {
		t.Fatalf("decoding the Writer's protobuf: %v (%x)", err, got)
	}
	if err := dec.Decode(&dto.MetricFamily{}); !errors.Is(err, io.EOF) {
		t.Fatalf("after the family: %v, want EOF (%x)", err, got)
	}
	if err := expfmt.NewDecoder(bytes.NewReader(want), format).Decode(&w); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(&g, &w) {
		t.Errorf("Writer:\n%v\nclient_golang:\n%v", &g, &w)
	}
}

// TestWriterMatchesClientGolang: hostile help texts, label values and
// floats, written by the Writer and by client_golang, in every format the
// Writer writes, byte for byte.
func TestWriterMatchesClientGolang(t *testing.T) {
	cases := []struct {
		name, help, a, b string
		v                float64
	}{
		{"plain", "Help.", "x", "y", 42},
		{"escapes", `back\slash "quoted"` + "\nnewline", `q"uote`, `b\s` + "\n", 1},
		{"invalid UTF-8", "h\xff", "bad\xffutf8\xc3", "\xe4\xb8", 0},
		{"multibyte", "长帮助 😀", "长", "😀", -1},
		{"empty", "", "", "", 0.5},
		{"NUL and tab", "h\x00", "nul\x00", "tab\t", 1e21},
		{"large integer", "h", "a", "b", 123456789012345},
		{"tiny", "h", "a", "b", 5e-324},
		{"negative", "h", "a", "b", -1699501664},
		{"NaN", "h", "a", "b", math.NaN()},
		{"+Inf", "h", "a", "b", math.Inf(1)},
		{"-Inf", "h", "a", "b", math.Inf(-1)},
		{"max", "h", "a", "b", math.MaxFloat64},
		{"2^53+1", "h", "a", "b", 1 << 53},
	}
	for _, format := range formats {
		for _, c := range cases {
			t.Run(string(format)+"/"+c.name, func(t *testing.T) {
				same(t, format, render(t, format, c.help, c.a, c.b, c.b, c.a, c.v, -c.v),
					reference(t, format, c.help, c.a, c.b, c.b, c.a, c.v, -c.v))
			})
		}
	}
}

// FuzzWriter renders random help texts, label values and floats through
// the Writer and through client_golang, in every format the Writer writes,
// and wants the same bytes (text) or messages (protobuf). make fuzz runs
// it.
func FuzzWriter(f *testing.F) {
	f.Add("Help.", "x", "y", 42.0, -1.0)
	f.Add(`b\s "q"`+"\n", "bad\xffutf8\xc3", "长😀", math.Inf(1), 1e-7)
	f.Add("", "", "\x00", math.NaN(), 1e21)
	f.Fuzz(func(t *testing.T, help, a, b string, v1, v2 float64) {
		for _, format := range formats {
			same(t, format, render(t, format, help, a, b, b, a, v1, v2), reference(t, format, help, a, b, b, a, v1, v2))
		}
	})
}

// TestWrites: the formats the Writer writes, and those it leaves to
// client_golang (NewWriter returns nil).
func TestWrites(t *testing.T) {
	for format, want := range map[expfmt.Format]bool{
		expfmt.NewFormat(expfmt.TypeTextPlain):     true,
		expfmt.NewFormat(expfmt.TypeOpenMetrics):   true,
		expfmt.Format(expfmt.FmtOpenMetrics_0_0_1): true,
		expfmt.Format(expfmt.FmtOpenMetrics_2_0_0): false,
		expfmt.NewFormat(expfmt.TypeProtoDelim):    true,
		expfmt.NewFormat(expfmt.TypeProtoText):     false,
	} {
		if got := Writes(format); got != want {
			t.Errorf("Writes(%s) = %v, want %v", format, got, want)
		}
		if got := NewWriter(&bytes.Buffer{}, format) != nil; got != want {
			t.Errorf("NewWriter(%s) != nil is %v, want %v", format, got, want)
		}
	}
}

// failing is an output that refuses every write.
type failing struct{ n int }

func (f *failing) Write([]byte) (int, error) { f.n++; return 0, errors.New("refused") }

// TestFirstErrorStops: the output's first error is kept, returned by
// Flush, and no write is tried after it.
func TestFirstErrorStops(t *testing.T) {
	out := &failing{}
	w := NewWriter(out, formats[0])
	w.Family("m", strings.Repeat("h", flushAt), func() { // over flushAt: written, and refused
		w.Sample(1, Text.AppendLabel(nil, "a", strings.Repeat("x", flushAt)))
	})
	if err := w.Flush(); err == nil || err.Error() != "refused" {
		t.Errorf("Flush = %v, want the output's error", err)
	}
	if out.n != 1 {
		t.Errorf("%d writes to a failed output, want 1", out.n)
	}
}

// TestNegotiate: every Accept header Prometheus sends, and the protobuf
// text formats it never sends, get a format the Writer writes.
func TestNegotiate(t *testing.T) {
	for accept, want := range map[string]expfmt.FormatType{
		"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.8,application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.1": expfmt.TypeProtoDelim,
		"application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,text/plain;version=1.0.0;q=0.1":                                                                             expfmt.TypeOpenMetrics,
		"text/plain;version=1.0.0;escaping=allow-utf-8":                                         expfmt.TypeTextPlain,
		"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text": expfmt.TypeTextPlain,
		"": expfmt.TypeTextPlain,
	} {
		h := http.Header{}
		h.Set("Accept", accept)
		f := Negotiate(h)
		if f.FormatType() != want || !Writes(f) {
			t.Errorf("Accept %q: %s, want a %v the Writer writes", accept, f, want)
		}
	}
}
