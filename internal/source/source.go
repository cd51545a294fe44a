// Package source is a configured app as a source of data, knowing nothing
// of Prometheus: the collector package turns what it holds into metrics.
//
// An app's accounts are fetched in batches through the tencentchat client
// by each scrape, or by a background job (accounts.go). Every other data
// family is a Job (job.go): its statistics (statistics.go), its push
// funnel (push.go) and its accounts' publishing activity (publishing.go).
// One scheduler per app runs its jobs (schedule.go), bounded workers
// beneath each run (workers.go). An app's state, every job's included, is
// one value that a reload hands over whole (this file). Every call is told
// to the app's Tally.
package source

import (
	"context"
	"net/http"
	"strconv"
	"sync"
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

// App is one configured app as a data source. Build it with New and start
// it with Start; it is safe for concurrent use.
type App struct {
	Cfg      config.App
	SDKAppID string // the label value

	client  *tencentchat.Client
	batches []*tencentchat.Batch
	jobs    []*Job // the jobs this app runs, in the order given
	logger  log.Logger
	now     func() time.Time

	st   *state
	stop context.CancelFunc // ends the scheduler; nil without one
}

// state is everything an app learnt and counted: one value, handed over
// whole to the app that replaces it with the same SDKAppID.
type state struct {
	tally Tally

	mu      sync.Mutex
	changed chan struct{}        // closed and replaced when a run ends
	jobs    map[string]*jobState // by Job.Name
	owner   *App                 // the app that runs it
	cut     context.Context      // ends the runs: the app removed, the exporter closed
	cancel  context.CancelFunc

	last          atomic.Pointer[Summary] // a scrape's own fetch; nil before one ended
	missingLogged *rate.Sometimes
	cutLogged     *rate.Sometimes
	pushRefused   *rate.Sometimes
}

func newState(tally Tally) *state {
	return &state{tally: tally, changed: make(chan struct{}), jobs: map[string]*jobState{},
		missingLogged: &rate.Sometimes{First: 1, Interval: time.Minute},
		cutLogged:     &rate.Sometimes{First: 1, Interval: time.Minute},
		pushRefused:   &rate.Sometimes{First: 1, Interval: time.Hour}}
}

// job is j's state, made at its first use; under mu.
func (s *state) job(j *Job) *jobState {
	js := s.jobs[j.Name]
	if js == nil {
		js = &jobState{}
		s.jobs[j.Name] = js
	}
	return js
}

// broadcast wakes whoever waits for a run's end; under mu.
func (s *state) broadcast() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// take makes a the state's owner, under ctx when the state has no
// context of its own yet.
func (s *state) take(ctx context.Context, a *App) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.owner = a
	if s.cut == nil {
		s.cut, s.cancel = context.WithCancel(ctx)
	}
}

// release cuts the state's runs if a still owns it: no successor took it.
func (s *state) release(a *App) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.owner == a && s.cancel != nil {
		s.cancel()
	}
}

// Options are what New needs beside the app's configuration.
type Options struct {
	HTTPClient *http.Client // shared by the apps' clients
	// NewTally makes the app's Tally, unless it takes its predecessor's.
	NewTally func() Tally
	Logger   log.Logger // with the app's labels (app, sdkappid)
	// Jobs are the jobs an app may run; it runs those whose Every is not
	// 0 for its configuration.
	Jobs []*Job
	// Now is the clock of Beijing days; time.Now when nil.
	Now func() time.Time
	// Prev is the app of this name in the configuration replaced, if
	// any; inherit says what carries over.
	Prev *App
}

// New builds an app's client and batches.
func New(ac config.App, o Options) (*App, error) {
	a := &App{Cfg: ac, SDKAppID: strconv.FormatUint(ac.SDKAppID, 10), logger: o.Logger, now: o.Now}
	if a.now == nil {
		a.now = time.Now
	}
	if a.logger == nil {
		a.logger = log.NewNopLogger()
	}
	for _, j := range o.Jobs {
		if j.Every(&a.Cfg) > 0 {
			a.jobs = append(a.jobs, j)
		}
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
	if o.Prev != nil && o.Prev.Cfg.SDKAppID == ac.SDKAppID {
		a.inherit(o.Prev)
	} else {
		var t Tally
		if o.NewTally != nil {
			t = o.NewTally()
		}
		a.st = newState(t)
	}
	return a, nil
}

// inherit takes over a reload what the app of the same name and SDKAppID
// in the replaced configuration learnt, by one rule: the whole state, every
// job's (its value, its last start and story, its spacer), the last
// summary, the log throttles and the Tally. Only the values of jobs this
// app does not run are dropped: nothing would keep them current. Runs the
// predecessor has in flight finish into the same state (schedule.go).
func (a *App) inherit(p *App) {
	a.st = p.st
	a.st.mu.Lock()
	defer a.st.mu.Unlock()
	for name, js := range a.st.jobs {
		if !a.Runs(name) {
			js.value = nil
		}
	}
}

// Runs tells whether the app runs the job of this name.
func (a *App) Runs(name string) bool {
	for _, j := range a.jobs {
		if j.Name == name {
			return true
		}
	}
	return false
}

// Tally is the app's Tally: its own, or its predecessor's.
func (a *App) Tally() Tally { return a.st.tally }

// Client is the app's API client, for a job's run.
func (a *App) Client() *tencentchat.Client { return a.client }

// Logger is the app's logger, with its labels.
func (a *App) Logger() log.Logger { return a.logger }

// State is the state of the app's job of this name, as its last
// successful run left it; nil before one, or when the app does not run it.
func (a *App) State(name string) any {
	if !a.Runs(name) {
		return nil
	}
	a.st.mu.Lock()
	defer a.st.mu.Unlock()
	if js := a.st.jobs[name]; js != nil {
		return js.value
	}
	return nil
}

// replaceState replaces the state of the job of this name with next, if
// it still is old.
func (a *App) replaceState(name string, old, next any) {
	a.st.mu.Lock()
	defer a.st.mu.Unlock()
	if js := a.st.jobs[name]; js != nil && js.value == old {
		js.value = next
	}
}

// Story is the last run of the app's job of this name that ended (zero
// before one), and whether one is under way.
func (a *App) Story(name string) (Round, bool) {
	a.st.mu.Lock()
	defer a.st.mu.Unlock()
	if js := a.st.jobs[name]; js != nil {
		return js.round, js.running
	}
	return Round{}, false
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

// Last is the summary of the app's most recent fetch: its last background
// refresh with refresh_interval, else a scrape's; nil before one ended.
func (a *App) Last() *Summary {
	if a.Cfg.RefreshInterval > 0 {
		if res, _ := a.State(AccountsJob.Name).(*Result); res != nil {
			return res.summary()
		}
		return nil
	}
	return a.st.last.Load()
}

// Ready tells whether the app has data to serve: it is fetched on scrape,
// or its first background refresh has ended (successful or not).
func (a *App) Ready() bool {
	return a.Cfg.RefreshInterval == 0 || a.State(AccountsJob.Name) != nil
}
