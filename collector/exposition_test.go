package collector

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/exposition"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/source"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/tencentchat"
)

// TestDirectWriterMatchesClientGolang renders the same accounts both ways,
// straight from the result (writeAccounts) and as const metrics through a
// registry and client_golang's encoder, in every text format the direct
// writer serves, and wants the same families, line for line, with hostile
// names: quotes, backslashes, newlines, NUL, invalid UTF-8 (which
// client_golang would refuse, so it gets the value the writer makes valid)
// and 100 KB.
func TestDirectWriterMatchesClientGolang(t *testing.T) {
	hostile := []string{"plain", `quote " in`, `back\slash`, "new\nline", "nul\x00byte", "bad\xffutf8\xc3",
		strings.Repeat("长", 100<<10/3), "", `\"\n`, "tab\there", "emoji 😀"}
	a := benchApp(len(hostile))
	a.Cfg.Name = `app "name" \ with` + "\nnewline"
	res := &source.Result{Accounts: make([]tencentchat.Result, len(hostile)+2)}
	a.Cfg.Accounts = append(a.Cfg.Accounts, "@TOA#_down", "@TOA#_own_code")
	values := []int64{0, 1, 1699501664, 7, 123456789012345, 42, 3, 1000000, 99, 5, 2}
	for i, name := range hostile {
		res.Accounts[i] = tencentchat.Result{Answered: true, Info: tencentchat.AccountInfo{ErrorCode: tencentchat.OptInt{Set: true},
			Name: name, OwnerAccount: hostile[len(hostile)-1-i],
			SubscriberNum: tencentchat.OptInt{V: values[i], Set: true},
			LastMsgTime:   tencentchat.OptInt{V: values[(i+3)%len(values)], Set: i%4 != 0},
			CreateTime:    tencentchat.OptInt{V: 1696577604, Set: i%5 != 0}}}
	}
	res.Accounts[len(hostile)+1] = tencentchat.Result{Answered: true, Info: tencentchat.AccountInfo{ErrorCode: tencentchat.OptInt{V: 130004, Set: true}}}
	direct := &appCollector{a: a, res: res}

	// What client_golang is given: the same values, made valid UTF-8 as
	// the writer makes them; the raw ones it refuses.
	valid := &source.Result{Accounts: slices.Clone(res.Accounts)}
	for i := range valid.Accounts {
		info := &valid.Accounts[i].Info
		info.Name, info.OwnerAccount = strings.ToValidUTF8(info.Name, "\uFFFD"), strings.ToValidUTF8(info.OwnerAccount, "\uFFFD")
	}
	for _, format := range []expfmt.Format{expfmt.NewFormat(expfmt.TypeTextPlain),
		expfmt.NewFormat(expfmt.TypeOpenMetrics), expfmt.Format(expfmt.FmtOpenMetrics_0_0_1), expfmt.NewFormat(expfmt.TypeProtoDelim)} {
		t.Run(string(format), func(t *testing.T) {
			var got bytes.Buffer
			w := exposition.NewWriter(&got, format)
			if w == nil {
				t.Fatal("the writer does not write this format")
			}
			writeAccounts(w, defaultFamilies(), []*appCollector{direct})
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			mfs, err := constRegistry(a, valid, false).Gather()
			if err != nil {
				t.Fatal(err)
			}
			var want bytes.Buffer
			enc := expfmt.NewEncoder(&want, format)
			for _, mf := range mfs {
				if err := enc.Encode(mf); err != nil {
					t.Fatal(err)
				}
			}
			// Every value family of the families on (publishing is off
			// here), and the up family.
			n := 1
			for _, f := range a.families {
				n += len(f.accountSeries)
			}
			if n != 5 {
				t.Fatalf("%d account families, want subscribers, last message, creation, limit and up", n)
			}
			if format.FormatType() == expfmt.TypeProtoDelim {
				g, wt := decodeFamilies(t, &got), decodeFamilies(t, &want)
				if len(g) != n || len(wt) != n {
					t.Fatalf("families: direct %d, client_golang %d, want %d", len(g), len(wt), n)
				}
				for name, mf := range wt {
					if !proto.Equal(g[name], mf) {
						t.Errorf("%s differs:\ndirect:\n%.2000s\nclient_golang:\n%.2000s", name, prototext.Format(g[name]), prototext.Format(mf))
					}
				}
				return
			}
			g, wt := familyLines(got.String()), familyLines(want.String())
			if len(g) != n || len(wt) != n {
				t.Fatalf("families: direct %d, client_golang %d, want %d", len(g), len(wt), n)
			}
			for name, lines := range wt {
				if !slices.Equal(g[name], lines) {
					t.Errorf("%s differs:\ndirect:\n%.2000s\nclient_golang:\n%.2000s", name, strings.Join(g[name], "\n"), strings.Join(lines, "\n"))
				}
			}
		})
	}
	// The raw values: client_golang refuses the series with invalid UTF-8,
	// which is why the writer makes them valid rather than copy them.
	if _, err := constRegistry(a, res, false).Gather(); err == nil || !strings.Contains(err.Error(), "UTF-8") {
		t.Errorf("client_golang took invalid UTF-8: %v", err)
	}
}

// decodeFamilies reads a delimited protobuf exposition, each family's
// metrics sorted by their labels (the two writers order series
// differently), by name.
func decodeFamilies(t *testing.T, r io.Reader) map[string]*dto.MetricFamily {
	t.Helper()
	out := map[string]*dto.MetricFamily{}
	dec := expfmt.NewDecoder(r, expfmt.NewFormat(expfmt.TypeProtoDelim))
	for {
		mf := &dto.MetricFamily{}
		if err := dec.Decode(mf); errors.Is(err, io.EOF) {
			return out
		} else if err != nil {
			t.Fatalf("decoding the protobuf exposition: %v", err)
		}
		slices.SortFunc(mf.Metric, func(x, y *dto.Metric) int { return strings.Compare(x.String(), y.String()) })
		out[mf.GetName()] = mf
	}
}

// familyLines groups an exposition's lines by family: its HELP and TYPE
// lines in order, then its samples sorted (the two writers order series
// differently).
func familyLines(text string) map[string][]string {
	out := map[string][]string{}
	samples := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if rest, ok := strings.CutPrefix(line, "# "); ok {
			f := strings.Fields(rest)
			out[f[1]] = append(out[f[1]], line)
			continue
		}
		name := line[:strings.IndexAny(line, "{ ")]
		samples[name] = append(samples[name], line)
	}
	for name, s := range samples {
		slices.Sort(s)
		out[name] = append(out[name], s...)
	}
	return out
}

// TestZeroTimesLeftOut: a CreateTime or LastMsgTime of 0 means "never" and
// is left out alike, in both writers; a count of 0 is a value.
func TestZeroTimesLeftOut(t *testing.T) {
	a := benchApp(1)
	zero := tencentchat.OptInt{V: 0, Set: true}
	res := &source.Result{Accounts: []tencentchat.Result{{Answered: true, Info: tencentchat.AccountInfo{ErrorCode: zero,
		SubscriberNum: zero, CreateTime: zero, LastMsgTime: zero}}}}
	var got bytes.Buffer
	w := exposition.NewWriter(&got, expfmt.NewFormat(expfmt.TypeTextPlain))
	writeAccounts(w, defaultFamilies(), []*appCollector{{a: a, res: res}})
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	mfs, err := constRegistry(a, res, false).Gather()
	if err != nil {
		t.Fatal(err)
	}
	for name, n := range map[string]int{subscribersName: 1, creationName: 0, lastMessageName: 0, accountUpName: 1} {
		if c := strings.Count(got.String(), "\n"+name+"{"); c != n {
			t.Errorf("direct: %d %s samples, want %d", c, name, n)
		}
		c := 0
		for _, mf := range mfs {
			if mf.GetName() == name {
				c = len(mf.GetMetric())
			}
		}
		if c != n {
			t.Errorf("const metrics: %d %s samples, want %d", c, name, n)
		}
	}
}
