package collector

import (
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/config"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/scrape"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/tencentchat"
)

// writeDebug is /probe?target=...&debug=true: the story of a scrape that
// has just run as any other (its deadline, sharing and counters are a
// normal scrape's), then its metrics: the app's settings, where the result
// came from, every API call, the accounts that came back with their own
// code or not at all, and the last statistics refresh.
func writeDebug(w io.Writer, c *appCollector, sw *scrape.Window, offset time.Duration, gatherErr error) {
	a, res := c.a, c.res
	var b strings.Builder
	writeSettings(&b, a.cfg)
	fmt.Fprintf(&b, "\nScrape: timeout %v less offset %v = deadline %v; answered after %v; tencentchat_up %d\n",
		sw.Timeout, offset, sw.Deadline, time.Since(sw.Start).Round(time.Millisecond), boolInt(res.ok))

	res.mu.Lock()
	calls := slices.Clone(res.calls)
	res.mu.Unlock()
	slices.SortStableFunc(calls, func(x, y call) int { return x.batch - y.batch })
	switch c.src {
	case started:
		fmt.Fprintf(&b, "\n%s calls of this scrape's fetch (%d):\n", tencentchat.APIOfficialAccountInfo, len(calls))
	case joined:
		fmt.Fprintf(&b, "\n%s calls of a fetch another scrape started at %s, which this one joined (%d by the time it left):\n",
			tencentchat.APIOfficialAccountInfo, res.at.UTC().Format(time.RFC3339Nano), len(calls))
	case refreshed:
		if res == notYet {
			fmt.Fprintf(&b, "\nNo %s call: the app is refreshed in the background every %v, and its first refresh has not ended yet.\n",
				tencentchat.APIOfficialAccountInfo, a.cfg.RefreshInterval)
			break
		}
		fmt.Fprintf(&b, "\nNo %s call of this scrape: served from the background refresh (every %v) that started at %s, %v ago, whose calls were (%d):\n",
			tencentchat.APIOfficialAccountInfo, a.cfg.RefreshInterval, res.at.UTC().Format(time.RFC3339Nano), time.Since(res.at).Round(time.Millisecond), len(calls))
	}
	if len(calls) == 0 && res != notYet {
		b.WriteString("  none: no batch could start before the deadline\n")
	}
	for _, c := range calls {
		fmt.Fprintf(&b, "  batch %d (%d accounts) ", c.batch, c.Accounts)
		writeAttempt(&b, c.Attempt)
	}

	b.WriteString("\nAccounts without values:\n")
	n := 0
	for i := range res.accounts {
		r, id := &res.accounts[i], a.cfg.Accounts[i]
		switch {
		case accountUp(r):
			continue
		case !r.Answered && res.batchAnswered(i):
			fmt.Fprintf(&b, "  %s: not in the answer\n", id)
		case !r.Answered:
			fmt.Fprintf(&b, "  %s: its batch got no usable answer\n", id)
		case r.Err != nil:
			fmt.Fprintf(&b, "  %s: its item was malformed: %v\n", id, r.Err)
		default:
			fmt.Fprintf(&b, "  %s: ErrorCode %d\n", id, r.Info.ErrorCode.V)
		}
		n++
	}
	if n == 0 {
		b.WriteString("  none\n")
	}

	if a.cfg.AppStatistics {
		a.stats.mu.Lock()
		last, running := a.stats.last, a.stats.running
		a.stats.mu.Unlock()
		fmt.Fprintf(&b, "\n%s (app statistics, refreshed every %v apart from scrapes):\n", tencentchat.APIAppInfo, a.cfg.AppStatisticsInterval)
		switch {
		case last.at.IsZero() && running:
			b.WriteString("  the first refresh is under way\n")
		case last.at.IsZero():
			b.WriteString("  not refreshed yet\n")
		default:
			outcome := "succeeded"
			if last.err != nil {
				outcome = "failed: " + last.err.Error()
			}
			fmt.Fprintf(&b, "  last refresh at %s %s; its calls (%d):\n", last.at.UTC().Format(time.RFC3339), outcome, len(last.calls))
			for _, at := range last.calls {
				b.WriteString("  ")
				writeAttempt(&b, at)
			}
		}
	}

	b.WriteString("\nMetrics:\n")
	if gatherErr != nil {
		fmt.Fprintf(&b, "gathering failed: %v\n", gatherErr)
	}
	_, _ = io.WriteString(w, b.String())
}

// batchAnswered tells whether the batch of account i got a usable answer.
func (r *appResult) batchAnswered(i int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, _ := slices.BinarySearch(r.batchEnd, i+1)
	return b < len(r.batchOK) && r.batchOK[b]
}

// writeAttempt writes one call's line.
func writeAttempt(b *strings.Builder, t tencentchat.Attempt) {
	fmt.Fprintf(b, "attempt %d: ", t.Attempt)
	switch {
	case t.Reason != "" && t.HTTPStatus != 0:
		fmt.Fprintf(b, "HTTP %d", t.HTTPStatus)
	case t.Reason != "":
		fmt.Fprintf(b, "no answer (%s): %s", t.Reason, t.Info)
	default:
		fmt.Fprintf(b, "HTTP %d, ErrorCode %d", t.HTTPStatus, t.Code)
		if t.Code != 0 && t.Info != "" {
			fmt.Fprintf(b, " (%s)", t.Info)
		}
	}
	fmt.Fprintf(b, ", %v", t.Duration.Round(time.Millisecond))
	if t.Retry != "" {
		fmt.Fprintf(b, ", retried %s", t.Retry)
	}
	b.WriteByte('\n')
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
	fmt.Fprintf(b, "  concurrency: %d, timeout: %v, retries: %d, rate_limit: %g/s, usersig_ttl: %v, refresh_interval: %v\n",
		c.Concurrency, c.Timeout, c.Retries, c.RateLimit, c.UserSigTTL, c.RefreshInterval)
}

// endpointHost is the host an app's calls go to, for the status page.
func endpointHost(c config.App) string {
	if u, err := url.Parse(c.BaseURL()); err == nil {
		return u.Host
	}
	return ""
}
