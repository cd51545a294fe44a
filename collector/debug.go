package collector

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/scrape"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/source"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/tencentchat"
)

// writeDebug is /probe?target=...&debug=true: the story of a scrape that
// has just run as any other (its deadline and counters are a normal
// scrape's), then its metrics: the app's settings, then each of its
// families' lines (where the accounts' result came from, every API call,
// the accounts that came back with their own code or not at all; each
// background job's last run).
func writeDebug(w io.Writer, c *appCollector, sw *scrape.Window, offset time.Duration, gatherErr error) {
	var b strings.Builder
	b.WriteString(c.a.Cfg.Describe())
	fmt.Fprintf(&b, "\nScrape: timeout %v less offset %v = deadline %v; answered after %v; tencentchat_up %d\n",
		sw.Timeout, offset, sw.Deadline, time.Since(sw.Start).Round(time.Millisecond), boolInt(c.res.OK))
	for _, f := range c.a.families {
		if f.debug != nil {
			f.debug(&b, c)
		}
	}
	b.WriteString("\nMetrics:\n")
	if gatherErr != nil {
		fmt.Fprintf(&b, "gathering failed: %v\n", gatherErr)
	}
	_, _ = io.WriteString(w, b.String())
}

// debugAccounts is the accounts' lines of the debug probe.
func debugAccounts(b *strings.Builder, c *appCollector) {
	a, res := c.a, c.res
	calls := res.Calls()
	switch c.origin {
	case source.Fetched:
		fmt.Fprintf(b, "\nFetched by this scrape: %s calls (%d):\n", tencentchat.APIOfficialAccountInfo, len(calls))
	case source.Refreshed:
		if res == source.NotYet {
			fmt.Fprintf(b, "\nNo %s call: the app is refreshed in the background every %v, and its first refresh has not ended yet.\n",
				tencentchat.APIOfficialAccountInfo, a.Cfg.RefreshInterval)
			break
		}
		fmt.Fprintf(b, "\nServed from the refresh at %s (every %v, started %v ago): no %s call of this scrape; the refresh's calls (%d):\n",
			res.At.UTC().Format(time.RFC3339Nano), a.Cfg.RefreshInterval, time.Since(res.At).Round(time.Millisecond), tencentchat.APIOfficialAccountInfo, len(calls))
	}
	if len(calls) == 0 && res != source.NotYet {
		b.WriteString("  none\n")
	}
	for _, c := range calls {
		fmt.Fprintf(b, "  batch %d (%d accounts) ", c.Batch, c.Accounts)
		writeAttempt(b, c.Attempt)
	}
	if res.NotCalled > 0 {
		fmt.Fprintf(b, "  %d of %d batches were not called: the deadline came first", res.NotCalled, a.Cfg.Batches())
		if a.Cfg.RefreshInterval > 0 {
			b.WriteString(" (see the refresh pace above)")
		}
		b.WriteString("\n")
	}

	b.WriteString("\nAccounts without values:\n")
	n := 0
	for i := range res.Accounts {
		r, id := &res.Accounts[i], a.Cfg.Accounts[i]
		switch {
		case source.AccountUp(r):
			continue
		case res.Added != nil && res.Added[i]:
			fmt.Fprintf(b, "  %s: not fetched yet: a reload added it after this refresh\n", id)
		case !r.Answered && res.BatchAnswered(i):
			fmt.Fprintf(b, "  %s: not in the answer\n", id)
		case !r.Answered:
			fmt.Fprintf(b, "  %s: its batch got no usable answer\n", id)
		case r.Err != nil:
			fmt.Fprintf(b, "  %s: its item was malformed: %v\n", id, r.Err)
		default:
			fmt.Fprintf(b, "  %s: ErrorCode %d\n", id, r.Info.ErrorCode.V)
		}
		n++
	}
	if n == 0 {
		b.WriteString("  none\n")
	}
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
