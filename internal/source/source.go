// Package source is a configured app as a source of data: its accounts,
// fetched in batches through the tencentchat client by each scrape or
// refreshed in the background (fetch.go), and its statistics from getappinfo, refreshed apart from scrapes
// (stats.go). It keeps the last results and tells its Tally what every
// call saw; it knows nothing of Prometheus: the collector package turns
// what it holds into metrics.
package source

import (
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"golang.org/x/time/rate"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/config"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/tencentchat"
)

// Tally is told what an app's calls saw, as they happen: the collector's
// counters.
type Tally interface {
	// Attempt is every HTTP call, retries included.
	Attempt(tencentchat.Attempt)
	// Code is a non-zero ErrorCode beyond a call's own: an account's, or
	// one an answer carried for no requested account.
	Code(api string, code int)
	// Invalid is a value that could not be used.
	Invalid()
	// Missing is an account that an answer with ErrorCode 0 left out.
	Missing()
}

// App is one configured app as a data source. Build it with New; it is
// safe for concurrent use.
type App struct {
	Cfg      config.App
	SDKAppID string // the label value

	client  *tencentchat.Client
	batches []*tencentchat.Batch
	tally   Tally
	logger  log.Logger

	missingLogged *rate.Sometimes
	cutLogged     *rate.Sometimes
	latest        atomic.Pointer[Result]   // the last background refresh; nil before the first
	stats         *stats                   // carried over a reload, as last
	pub           *pubState                // carried over a reload, as stats
	last          *atomic.Pointer[Summary] // holds nil until a fetch ended
	statsFields   []string

	bg background // the background refresh's lifecycle (refresh.go)
}

// Options are what New needs beside the app's configuration.
type Options struct {
	HTTPClient  *http.Client // shared by the apps' clients
	Tally       Tally
	Logger      log.Logger // with the app's labels (app, sdkappid)
	StatsFields []string   // the getappinfo fields the statistics keep
	// Prev is the app of this name in the configuration replaced, if
	// any; what carries over is inherit's to say.
	Prev *App
}

// New builds an app's client and batches.
func New(ac config.App, o Options) (*App, error) {
	a := &App{Cfg: ac, SDKAppID: strconv.FormatUint(ac.SDKAppID, 10), tally: o.Tally, logger: o.Logger,
		statsFields: o.StatsFields}
	a.stats, a.last = newStats(), new(atomic.Pointer[Summary])
	a.pub = &pubState{vals: map[string]tencentchat.Published{}}
	a.missingLogged = &rate.Sometimes{First: 1, Interval: time.Minute}
	a.cutLogged = &rate.Sometimes{First: 1, Interval: time.Minute}
	var limiter *rate.Limiter
	if ac.RateLimit > 0 {
		limiter = rate.NewLimiter(rate.Limit(ac.RateLimit), 1)
	}
	client, err := tencentchat.New(tencentchat.Options{
		BaseURL:    ac.BaseURL(),
		SDKAppID:   ac.SDKAppID,
		Identifier: ac.Identifier,
		SecretKey:  string(ac.SecretKey),
		Timeout:    ac.Timeout,
		Retries:    ac.Retries,
		UserSigTTL: ac.UserSigTTL,
		Limiter:    limiter,
		HTTPClient: o.HTTPClient,
	})
	if err != nil {
		return nil, err
	}
	a.client = client
	for i := 0; i < len(ac.Accounts); i += ac.BatchSize {
		b, err := tencentchat.NewBatch(ac.Accounts[i:min(i+ac.BatchSize, len(ac.Accounts))], tencentchat.Fields())
		if err != nil {
			return nil, err
		}
		a.batches = append(a.batches, b)
	}
	if o.Prev != nil {
		a.inherit(o.Prev)
	}
	return a, nil
}

// inherit carries over a reload what the app of the same name in the
// replaced configuration learnt, by one rule: what describes the same
// data is kept. With the same SDKAppID: the statistics (the same app's
// days), the publishing activity, the last summary and the log throttles;
// and, in background mode,
// the last refresh for the accounts that stay (carry), which serves until
// this app's own first refresh, and the predecessor itself, whose refresh
// in flight this app waits for and takes (refresh.go). Anything else
// starts afresh. (An app whose configuration did not change at all is not
// rebuilt: it keeps running as it was.)
func (a *App) inherit(p *App) {
	if p.Cfg.SDKAppID != a.Cfg.SDKAppID {
		return
	}
	a.stats, a.last, a.missingLogged, a.cutLogged, a.pub = p.stats, p.last, p.missingLogged, p.cutLogged, p.pub
	if a.Cfg.RefreshInterval > 0 {
		if l := p.latest.Load(); l != nil {
			a.latest.Store(a.carry(l))
		}
		if p.bg.done != nil {
			a.bg.pred = p
		}
	}
}

// Summary is the outcome of an app's most recent fetch, for the status
// page: counts, so the page does not keep every account of a result alive.
type Summary struct {
	At               time.Time
	Took             time.Duration
	Up               bool
	Calls            int
	AccountsUp, Down int
}

// Last is the summary of the app's most recent fetch; nil before one ended.
func (a *App) Last() *Summary { return a.last.Load() }

// Ready tells whether the app has data to serve: it is fetched on scrape,
// or its first background refresh has ended (successful or not).
func (a *App) Ready() bool {
	return a.Cfg.RefreshInterval == 0 || a.latest.Load() != nil
}
