package collector

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/config"
)

// serveDebug is /probe?target=...&debug=true: one real scrape of the app,
// told as text. Its deadline, coalescing and counters are a normal
// scrape's; what it adds is the story: the app's settings, every API call,
// the accounts that came back with their own code, and the metrics.
func (e *Exporter) serveDebug(w http.ResponseWriter, r *http.Request, opts HandlerOpts, a *app) {
	sw, ok := e.openScrape(w, r, opts)
	if !ok {
		return
	}
	defer sw.close()
	// As a normal scrape: statistics refreshed beside the fetch when due.
	var stats sync.WaitGroup
	if a.cfg.AppStatistics {
		stats.Go(func() { e.refreshStats(sw.ctx, a) })
	}
	res := e.result(sw.ctx, a)
	stats.Wait()
	took := time.Since(sw.start)

	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	var b strings.Builder
	writeSettings(&b, a.cfg)
	fmt.Fprintf(&b, "\nScrape: timeout %v less offset %v = deadline %v; answered after %v; tencentchat_up %d\n",
		sw.timeout, opts.TimeoutOffset, sw.deadline, took.Round(time.Millisecond), boolInt(res.ok))

	res.mu.Lock()
	traces := slices.Clone(res.traces)
	res.mu.Unlock()
	fmt.Fprintf(&b, "\nAPI calls (%d):\n", len(traces))
	if len(traces) == 0 {
		b.WriteString("  none: the result came from cache_ttl, or no batch could start before the deadline\n")
	}
	slices.SortStableFunc(traces, func(x, y batchTrace) int { return x.batch - y.batch })
	for _, t := range traces {
		fmt.Fprintf(&b, "  batch %d (%d accounts) attempt %d: ", t.batch, t.Accounts, t.Attempt)
		switch {
		case t.Reason != "" && t.HTTPStatus != 0:
			fmt.Fprintf(&b, "HTTP %d", t.HTTPStatus)
		case t.Reason != "":
			fmt.Fprintf(&b, "no answer (%s): %s", t.Reason, t.Info)
		default:
			fmt.Fprintf(&b, "HTTP %d, ErrorCode %d", t.HTTPStatus, t.Code)
			if t.Code != 0 && t.Info != "" {
				fmt.Fprintf(&b, " (%s)", t.Info)
			}
		}
		fmt.Fprintf(&b, ", %v", t.Duration.Round(time.Millisecond))
		if t.Retry != "" {
			fmt.Fprintf(&b, ", retried %s", t.Retry)
		}
		b.WriteByte('\n')
	}

	b.WriteString("\nAccounts with their own error code:\n")
	n := 0
	for i, acct := range res.accounts {
		switch {
		case acct.code > 0:
			fmt.Fprintf(&b, "  %s: ErrorCode %d\n", a.cfg.Accounts[i], acct.code)
		case acct.code < 0:
			fmt.Fprintf(&b, "  %s: its item was malformed (see the debug log)\n", a.cfg.Accounts[i])
		default:
			continue
		}
		n++
	}
	if n == 0 {
		b.WriteString("  none\n")
	}

	b.WriteString("\nMetrics:\n")
	reg := prometheus.NewRegistry()
	reg.MustRegister(resultCollector{a: a, r: res})
	mfs, err := reg.Gather()
	if err != nil {
		fmt.Fprintf(&b, "gathering failed: %v\n", err)
	}
	_, _ = io.WriteString(w, b.String())
	enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return
		}
	}
}

// writeSettings prints an app's effective settings: the secret as
// <secret>, the endpoint without user info or query.
func writeSettings(b *strings.Builder, c config.App) {
	fmt.Fprintf(b, "App %q, SDKAppID %d\n\nSettings:\n", c.Name, c.SDKAppID)
	fmt.Fprintf(b, "  identifier: %s\n  secret: %s\n", c.Identifier, c.SecretKey)
	if c.Endpoint != "" {
		fmt.Fprintf(b, "  endpoint: %s\n", config.RedactURL(c.Endpoint))
	} else {
		fmt.Fprintf(b, "  region: %s (%s)\n", c.Region, c.BaseURL())
	}
	batches := (len(c.Accounts) + c.BatchSize - 1) / c.BatchSize
	fmt.Fprintf(b, "  accounts: %d, batches: %d of up to %d\n", len(c.Accounts), batches, c.BatchSize)
	fmt.Fprintf(b, "  concurrency: %d, timeout: %v, retries: %d, rate_limit: %g/s, usersig_ttl: %v, cache_ttl: %v\n",
		c.Concurrency, c.Timeout, c.Retries, c.RateLimit, c.UserSigTTL, c.CacheTTL)
}

// endpointHost is the host an app's calls go to, for the status page.
func endpointHost(c config.App) string {
	if u, err := url.Parse(c.BaseURL()); err == nil {
		return u.Host
	}
	return ""
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// resultCollector emits one app's series from a result already fetched.
type resultCollector struct {
	a *app
	r *appResult
}

func (c resultCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range scrapeDescs {
		ch <- d
	}
}

func (c resultCollector) Collect(ch chan<- prometheus.Metric) {
	emitAccounts(ch, c.a, c.r, 0, len(c.r.accounts))
	if c.a.cfg.AppStatistics {
		emitStats(ch, c.a)
	}
	emitApp(ch, c.a, c.r)
}
