// Package collector turns the configured apps into Prometheus metrics: on
// each scrape it fetches every app's official accounts through the
// tencentchat client, and it serves /metrics and /probe.
package collector

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"golang.org/x/sync/singleflight"
	"golang.org/x/time/rate"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/config"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/tencentchat"
)

// minIdleConns is the idle pool a small configuration gets.
const minIdleConns = 32

// Fields are the only fields the exporter asks for (ResponseFilter): the
// ones it exports, so the answer stays small.
func Fields() []tencentchat.Field {
	return []tencentchat.Field{tencentchat.FieldName, tencentchat.FieldOwnerAccount,
		tencentchat.FieldCreateTime, tencentchat.FieldLastMsgTime, tencentchat.FieldSubscriberNum}
}

// Exporter holds the apps of the current configuration and their counters.
// It is safe for concurrent use: scrapes see one configuration whole, never
// half of two.
type Exporter struct {
	logger log.Logger
	now    func() time.Time // the clock of app statistics' days and intervals; tests set it

	applyMu   sync.Mutex   // serialises ApplyConfig; guards http and idleConns
	http      *http.Client // shared by the apps' clients; replaced by a larger one when needed
	idleConns int          // its idle connections per host

	state atomic.Pointer[state]

	tinyTimeoutLogged atomic.Bool

	reloads       singleflight.Group
	reloadOK      atomic.Bool
	reloadSuccess atomic.Int64 // Unix seconds
}

// state is one configuration's apps; replaced whole on reload.
type state struct {
	apps       []*app
	byName     map[string]*app
	bySDKAppID map[string]*app
}

// app is one configured app, ready to scrape.
type app struct {
	cfg      config.App
	sdkappid string // label value
	client   *tencentchat.Client
	batches  []*tencentchat.Batch
	labels   *labelPairs
	counters *counters
	stats    *appStats
	share    share
}

// New returns an Exporter with no apps; give it some with ApplyConfig.
func New(logger log.Logger) *Exporter {
	e := &Exporter{logger: logger, now: time.Now, http: tencentchat.NewHTTPClient(minIdleConns), idleConns: minIdleConns}
	e.state.Store(&state{byName: map[string]*app{}, bySDKAppID: map[string]*app{}})
	return e
}

// ApplyConfig replaces the apps. It builds everything first and swaps at
// the end, so a failure leaves the running configuration untouched. A
// configuration applied is a successful load for the reload metrics.
func (e *Exporter) ApplyConfig(cfg *config.Config) error {
	e.applyMu.Lock()
	defer e.applyMu.Unlock()
	old := e.state.Load()
	// Enough idle connections for every app's concurrent calls to reuse
	// theirs, were all apps on one API host: with 500 apps a pool of 32
	// made each scrape open some 470 new connections.
	need := 0
	for _, ac := range cfg.Apps {
		need += ac.Concurrency
	}
	if need > e.idleConns {
		prev := e.http
		e.http, e.idleConns = tencentchat.NewHTTPClient(need), need
		defer prev.CloseIdleConnections()
	}
	next := &state{byName: map[string]*app{}, bySDKAppID: map[string]*app{}}
	for _, ac := range cfg.Apps {
		a, err := e.newApp(ac, old)
		if err != nil {
			return fmt.Errorf("app %q: %w", ac.Name, err)
		}
		next.apps = append(next.apps, a)
		next.byName[ac.Name] = a
		next.bySDKAppID[a.sdkappid] = a
	}
	e.state.Store(next)
	e.reloadOK.Store(true)
	e.reloadSuccess.Store(time.Now().Unix())
	return nil
}

func (e *Exporter) newApp(ac config.App, old *state) (*app, error) {
	a := &app{cfg: ac, sdkappid: strconv.FormatUint(ac.SDKAppID, 10)}
	if prev := old.byName[ac.Name]; prev != nil && prev.cfg.SDKAppID == ac.SDKAppID {
		a.counters, a.stats = prev.counters, prev.stats
	} else {
		a.stats = &appStats{}
		a.counters = newCounters(log.With(e.logger, "app", ac.Name, "sdkappid", a.sdkappid))
	}
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
		HTTPClient: e.http,
		OnAttempt:  a.counters.observe,
	})
	if err != nil {
		return nil, err
	}
	a.client = client
	a.labels = newLabelPairs(a)
	for i := 0; i < len(ac.Accounts); i += ac.BatchSize {
		b, err := tencentchat.NewBatch(ac.Accounts[i:min(i+ac.BatchSize, len(ac.Accounts))], Fields())
		if err != nil {
			return nil, err
		}
		a.batches = append(a.batches, b)
	}
	return a, nil
}

// Close releases the idle API connections.
func (e *Exporter) Close() {
	e.applyMu.Lock()
	defer e.applyMu.Unlock()
	e.http.CloseIdleConnections()
}
