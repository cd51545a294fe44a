package exposition

import (
	"bytes"
	"errors"
	"math"
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
}

// render writes one gauge family of two samples, labels a and b, with the
// Writer.
func render(t testing.TB, format expfmt.Format, help, a1, b1, a2, b2 string, v1, v2 float64) string {
	t.Helper()
	var out bytes.Buffer
	w := NewWriter(&out, format)
	if w == nil {
		t.Fatalf("NewWriter(%s) is nil", format)
	}
	w.Gauge("m", help)
	w.Sample("m", v1, AppendLabel(nil, "a", a1), []byte{','}, AppendLabel(nil, "b", b1))
	w.Sample("m", v2, append(AppendLabel(nil, "a", a2), ','), AppendLabel(nil, "b", b2))
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// reference is the same family through client_golang's encoder, given the
// help and label values made valid UTF-8 as the Writer makes them (it
// refuses invalid label values, and would copy an invalid help).
func reference(t testing.TB, format expfmt.Format, help, a1, b1, a2, b2 string, v1, v2 float64) string {
	t.Helper()
	metric := func(a, b string, v float64) *dto.Metric {
		return &dto.Metric{Label: []*dto.LabelPair{{Name: proto.String("a"), Value: proto.String(a)}, {Name: proto.String("b"), Value: proto.String(b)}},
			Gauge: &dto.Gauge{Value: proto.Float64(v)}}
	}
	mf := &dto.MetricFamily{Name: proto.String("m"), Help: proto.String(validUTF8(help)), Type: dto.MetricType_GAUGE.Enum(),
		Metric: []*dto.Metric{metric(validUTF8(a1), validUTF8(b1), v1), metric(validUTF8(a2), validUTF8(b2), v2)}}
	var out bytes.Buffer
	if err := expfmt.NewEncoder(&out, format).Encode(mf); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// validUTF8 replaces every invalid byte with U+FFFD, as AppendLabel does.
func validUTF8(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(r) // an invalid byte ranges as one utf8.RuneError
	}
	return b.String()
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
				got := render(t, format, c.help, c.a, c.b, c.b, c.a, c.v, -c.v)
				want := reference(t, format, c.help, c.a, c.b, c.b, c.a, c.v, -c.v)
				if got != want {
					t.Errorf("Writer:\n%q\nclient_golang:\n%q", got, want)
				}
			})
		}
	}
}

// FuzzWriter renders random help texts, label values and floats through
// the Writer and through client_golang, in every format the Writer writes,
// and wants the same bytes. make fuzz runs it.
func FuzzWriter(f *testing.F) {
	f.Add("Help.", "x", "y", 42.0, -1.0)
	f.Add(`b\s "q"`+"\n", "bad\xffutf8\xc3", "长😀", math.Inf(1), 1e-7)
	f.Add("", "", "\x00", math.NaN(), 1e21)
	f.Fuzz(func(t *testing.T, help, a, b string, v1, v2 float64) {
		for _, format := range formats {
			got := render(t, format, help, a, b, b, a, v1, v2)
			want := reference(t, format, help, a, b, b, a, v1, v2)
			if got != want {
				t.Fatalf("%s:\nWriter:\n%q\nclient_golang:\n%q", format, got, want)
			}
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
		expfmt.NewFormat(expfmt.TypeProtoDelim):    false,
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
	w.Gauge("m", strings.Repeat("h", flushAt)) // over flushAt: written, and refused
	w.Sample("m", 1, AppendLabel(nil, "a", strings.Repeat("x", flushAt)))
	if err := w.Flush(); err == nil || err.Error() != "refused" {
		t.Errorf("Flush = %v, want the output's error", err)
	}
	if out.n != 1 {
		t.Errorf("%d writes to a failed output, want 1", out.n)
	}
}
