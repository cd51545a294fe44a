package collector

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/config"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/exposition"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/source"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/tencentchat"
	"github.com/tencentchat-exporter/tencentchat_exporter/simulator"
)

// benchExporter is an exporter with one app of n accounts in front of an
// in-process simulator with no latency.
func benchExporter(b *testing.B, n int) http.Handler {
	b.Helper()
	sim := simulator.New()
	sim.AddApp(simulator.AppConfig{SDKAppID: testApp, Identifier: testAdmin, SecretKey: testKey, Accounts: n, Seed: 1})
	srv := httptest.NewServer(sim)
	b.Cleanup(func() { sim.Close(); srv.Close() })
	e := New(log.NewNopLogger())
	a := appConfig("bench", testApp, srv.URL, n)
	a.Concurrency = 8
	if err := e.ApplyConfig(&config.Config{Apps: []config.App{a}}); err != nil {
		b.Fatal(err)
	}
	return e.MetricsHandler(HandlerOpts{})
}

// discard is a ResponseWriter that only counts bytes, so the benchmark
// measures producing the exposition rather than buffering it.
type discard struct {
	h http.Header
	n int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { d.n += len(p); return len(p), nil }
func (d *discard) WriteHeader(int)             {}

func serveOnce(b *testing.B, h http.Handler) int {
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	w := &discard{h: http.Header{}}
	h.ServeHTTP(w, req)
	return w.n
}

// BenchmarkScrape is one whole /metrics scrape: API calls to the simulator
// over loopback HTTP, decoding, metrics, exposition.
func BenchmarkScrape(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			h := benchExporter(b, n)
			serveOnce(b, h) // sign the UserSig, warm the connections
			b.ReportAllocs()
			for b.Loop() {
				if serveOnce(b, h) == 0 {
					b.Fatal("empty exposition")
				}
			}
			reportPerAccount(b, n)
		})
	}
}

func reportPerAccount(b *testing.B, n int) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/account")
}

// BenchmarkEmit writes fetched results as the exposition, in text and in
// protobuf: the exporter's own work between the decoder and the socket.
func BenchmarkEmit(b *testing.B) {
	const n = 1000
	for name, format := range map[string]expfmt.Format{"text": expfmt.NewFormat(expfmt.TypeTextPlain), "protobuf": expfmt.NewFormat(expfmt.TypeProtoDelim)} {
		b.Run(name, func(b *testing.B) {
			a := benchApp(n)
			c := &appCollector{a: a, res: fakeResult(n)}
			b.ReportAllocs()
			for b.Loop() {
				w := exposition.NewWriter(io.Discard, format)
				writeAccounts(w, defaultFamilies(), []*appCollector{c})
				if err := w.Flush(); err != nil {
					b.Fatal(err)
				}
			}
			reportPerAccount(b, n)
		})
	}
}

func benchApp(n int) *app {
	table := defaultFamilies()
	var apis []string
	for _, f := range table {
		apis = append(apis, f.api)
	}
	c := newCounters(log.NewNopLogger(), strconv.Itoa(testApp), "bench", apis)
	src, err := source.New(appConfig("bench", testApp, "http://unused", n), source.Options{HTTPClient: http.DefaultClient,
		NewTally: func() source.Tally { return c }, Logger: log.NewNopLogger()})
	if err != nil {
		panic(err)
	}
	return &app{App: src, counters: c, families: familiesOn(table, &src.Cfg)}
}

func fakeResult(n int) *source.Result {
	res := &source.Result{OK: true, Accounts: make([]tencentchat.Result, n), Duration: time.Second}
	for i := range res.Accounts {
		res.Accounts[i] = tencentchat.Result{Answered: true, Info: tencentchat.AccountInfo{
			ErrorCode: tencentchat.OptInt{Set: true}, Name: fmt.Sprintf("Sim News %05d", i), OwnerAccount: "owner001",
			CreateTime:    tencentchat.OptInt{V: 1696577604, Set: true},
			LastMsgTime:   tencentchat.OptInt{V: 1699501664, Set: true},
			SubscriberNum: tencentchat.OptInt{V: int64(1000 + i), Set: true},
		}}
	}
	return res
}

// prebuilt is a collector of ready const metrics: what client_golang alone
// costs to gather and encode the same series.
type prebuilt []prometheus.Metric

func (p prebuilt) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(p, ch) }
func (p prebuilt) Collect(ch chan<- prometheus.Metric) {
	for _, m := range p {
		ch <- m
	}
}

// collectAccounts sends the accounts' series as const metrics: what the
// straightforward client_golang exporter does, the reference that
// writeAccounts is held to.
func collectAccounts(ch chan<- prometheus.Metric, a *app, r *source.Result) {
	send := func(desc *prometheus.Desc, v float64, labels ...string) {
		m, err := prometheus.NewConstMetric(desc, prometheus.GaugeValue, v, labels...)
		if err != nil {
			m = prometheus.NewInvalidMetric(desc, err)
		}
		ch <- m
	}
	for _, f := range a.families {
		for _, s := range f.accountSeries {
			s.values(a, func(value func(int, *tencentchat.Result) (float64, bool)) {
				for i := range r.Accounts {
					acct, id := &r.Accounts[i], a.Cfg.Accounts[i]
					if v, ok := value(i, acct); source.AccountUp(acct) && ok {
						send(s.desc, v, a.SDKAppID, a.Cfg.Name, id, acct.Info.Name, acct.Info.OwnerAccount)
					}
				}
			})
		}
	}
	for i := range r.Accounts {
		send(accountUpDesc, float64(boolInt(source.AccountUp(&r.Accounts[i]))), a.SDKAppID, a.Cfg.Name, a.Cfg.Accounts[i])
	}
}

// constRegistry is a registry of a result's account series (and with
// withApp the app's own) as ready const metrics, built once: what the
// straightforward client_golang exporter gathers.
func constRegistry(a *app, res *source.Result, withApp bool) *prometheus.Registry {
	ch := make(chan prometheus.Metric, 5*len(res.Accounts)+200)
	collectAccounts(ch, a, res)
	if withApp {
		emitAccountsApp(ch, &appCollector{a: a, res: res})
		emitCounters(ch, a)
	}
	close(ch)
	var metrics prebuilt
	for m := range ch {
		metrics = append(metrics, m)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics)
	return reg
}

// BenchmarkBaselineEncode gathers and encodes, with client_golang alone,
// as many series as a scrape of n accounts yields, from const metrics built
// beforehand: what the straightforward exporter pays after its fetch.
func BenchmarkBaselineEncode(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			h := promhttp.HandlerFor(constRegistry(benchApp(n), fakeResult(n), true), promhttp.HandlerOpts{})
			b.ReportAllocs()
			for b.Loop() {
				serveOnce(b, h)
			}
			reportPerAccount(b, n)
		})
	}
}
