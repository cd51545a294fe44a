package source

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/config"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/tencentchat"
)

// A Job is one kind of an app's background work: a data family's calls,
// made apart from scrapes. Its four parts are the APIs it calls, its
// interval, its pace and its run function; the app's scheduler
// (schedule.go) starts it when it is due, and keeps what it returns as the
// job's state, handed over whole on reload (source.go).
type Job struct {
	// Name keys the job's state: two jobs of an app never share one.
	Name string
	// APIs are the APIs the job's calls go to.
	APIs []string
	// Every is how often the app runs the job; 0 for not at all.
	Every func(c *config.App) time.Duration
	// Pace spaces the job's calls within the app's rate_limit; nil for
	// none.
	Pace func(c *config.App) Pace
	// Timeout bounds one run, its retries included; 0 for its interval.
	Timeout time.Duration
	// Run makes one run's calls and returns the job's new state. An error
	// keeps the state as it was and retries after a backoff (15 s,
	// doubling up to the interval) rather than an interval.
	Run func(ctx context.Context, r *Run) (any, error)
	// Covers, if set, tells whether a state describes all of the app's
	// configuration: one a reload handed over that does not is refreshed
	// at once rather than an interval after the run that made it.
	Covers func(a *App, state any) bool
}

// Pace is how a job's calls are spaced: at most PerSecond a second, and
// Gap from the end of one call to the next, both across runs and reloads.
type Pace struct {
	PerSecond float64
	Gap       time.Duration
}

// Run is what a job's run is given.
type Run struct {
	App *App
	// Prev is the job's state before this run; nil before its first.
	Prev any
	// Now is the app's clock at the run's start: the clock of Beijing
	// days (Options.Now).
	Now time.Time
	// Pace is the job's pace; nil when it has none.
	Pace tencentchat.Waiter
	// Publish makes state the job's state before the run ends, for a
	// state that a run fills as its answers arrive (and guards itself).
	Publish func(state any)
	// Observe counts a call in the app's Tally and keeps it in the
	// job's story; every call a run makes is told to it.
	Observe func(tencentchat.Attempt)
}

// Round is the story of a job's run that ended, for the pages a person
// reads.
type Round struct {
	At    time.Time // when it started; zero before the first ended
	Took  time.Duration
	Calls []tencentchat.Attempt
	Err   error
}

// Backoff after a failed run: doubling from the first, up to the job's
// interval.
const firstBackoff = 15 * time.Second

// jobState is one job's state, guarded by the app state's mutex.
type jobState struct {
	value     any       // what the last successful run returned
	running   bool      // a run is under way (this app's or its predecessor's)
	lastStart time.Time // of the last run
	failed    bool      // the last run returned an error
	backoff   time.Duration
	round     Round         // the last run that ended
	limiter   *rate.Limiter // the job's PerSecond, kept across runs and reloads
	spacer    *spacer       // the job's Gap, likewise
}

// due is when the job is next due, with first the app's first turn.
func (a *App) due(j *Job, js *jobState, first time.Time) time.Time {
	switch {
	case js.lastStart.IsZero():
		return first
	case j.Covers != nil && js.value != nil && !j.Covers(a, js.value):
		return first
	case js.failed:
		return js.lastStart.Add(js.backoff)
	}
	return js.lastStart.Add(j.Every(&a.Cfg))
}

// pacer is a run's pace as a tencentchat.Waiter: its rate first, then
// its gap.
type pacer struct {
	lim *rate.Limiter // nil without a rate
	gap *spacer       // nil without a gap
}

func (p *pacer) Wait(ctx context.Context) error {
	if p.lim != nil {
		if err := p.lim.Wait(ctx); err != nil {
			return err
		}
	}
	if p.gap != nil {
		return p.gap.Wait(ctx)
	}
	return nil
}

// spacer keeps calls at least gap apart, counted from the end of the one
// before: Tencent counts calls as they arrive, and a call ends after it
// arrived, so the next one cannot arrive within gap of it, whatever the
// network's jitter (spacing the sends let two arrive 0.92 s apart on a
// busy machine).
type spacer struct {
	gap  time.Duration
	mu   sync.Mutex
	next time.Time
}

// Wait waits for the turn; an error when ctx ends first.
func (s *spacer) Wait(ctx context.Context) error {
	s.mu.Lock()
	d := time.Until(s.next)
	s.mu.Unlock()
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// done records that a call ended now.
func (s *spacer) done() {
	s.mu.Lock()
	s.next = time.Now().Add(s.gap)
	s.mu.Unlock()
}
