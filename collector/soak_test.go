//go:build soak

package collector

import (
	"net/http"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/config"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/testutil"
	"github.com/tencentchat-exporter/tencentchat_exporter/simulator"
)

// TestSoak scrapes over and over with random faults switched on. Every
// scrape answers in time with a parseable exposition, counters never go
// back, and afterwards no goroutine is left over and the heap has not
// grown. make soak runs it (SOAK_SCRAPES=5000; 200 when unset).
func TestSoak(t *testing.T) {
	scrapes := 200
	if v := os.Getenv("SOAK_SCRAPES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 20 {
			t.Fatalf("SOAK_SCRAPES=%q: want a number of at least 20", v)
		}
		scrapes = n
	}
	ignore := goleak.IgnoreCurrent()
	r := newRig(t, 100, func(a *config.App) { a.Retries = 1 })
	base := testutil.Measure(3, func() { r.scrape(t, "/metrics", nil) })
	// Due by Prometheus' 1.5 s; the deadline is 1 s, and a busy machine
	// may need the slack that a healthy scrape's time says it needs.
	limit := max(1500*time.Millisecond, time.Second+testutil.Slack(base))
	r.simApp.SetFaults(simulator.Faults{LatencyJitter: 3 * time.Millisecond, Rates: map[simulator.FaultKind]float64{
		simulator.FaultTransient: 0.05, simulator.FaultHTTP502: 0.05, simulator.FaultReset: 0.03,
		simulator.FaultMalformed: 0.03, simulator.FaultTruncated: 0.03, simulator.FaultHang: 0.01,
		simulator.FaultFewerAccounts: 0.02,
	}})
	header := map[string]string{"X-Prometheus-Scrape-Timeout-Seconds": "1.5"}
	var lastRequests float64
	var heapEarly uint64
	ups := 0
	for i := 1; i <= scrapes; i++ {
		start := time.Now()
		f := r.scrape(t, "/metrics", header)
		if d := time.Since(start); d > limit {
			t.Fatalf("scrape %d took %v with a 1.5s timeout, want under %v (healthy scrape: %v)", i, d, limit, base)
		}
		req, ok := f.value("tencentchat_api_requests_total", nil)
		if !ok || req < lastRequests {
			t.Fatalf("scrape %d: requests_total %v after %v", i, req, lastRequests)
		}
		lastRequests = req
		if v, _ := f.value("tencentchat_up", nil); v == 1 {
			ups++
		}
		if i == scrapes/10 {
			heapEarly = heapInUse()
		}
	}
	heapLate := heapInUse()
	t.Logf("%d scrapes, %d with every call answered; heap in use %.1f MiB after %d, %.1f MiB at the end",
		scrapes, ups, float64(heapEarly)/(1<<20), scrapes/10, float64(heapLate)/(1<<20))
	if ups == 0 || ups == scrapes {
		t.Errorf("%d of %d scrapes up: the faults did not mix with successes", ups, scrapes)
	}
	if heapLate > heapEarly*3/2+2<<20 {
		t.Errorf("heap grew from %d to %d bytes", heapEarly, heapLate)
	}
	r.close()
	http.DefaultClient.CloseIdleConnections()
	goleak.VerifyNone(t, ignore)
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}
