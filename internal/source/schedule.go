package source

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/go-kit/log/level"
	"golang.org/x/time/rate"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/tencentchat"
)

// Every app has one scheduler: a goroutine that starts each of the app's
// jobs when it is due, on one clock, and stops them all when the app is
// retired or the exporter closes. A job's run goes on a goroutine of its
// own, bounded workers beneath it (workers.go); the scheduler never waits
// for a run. Across reloads:
//
//   - A reload that leaves an app's configuration as it was does not touch
//     it: the exporter keeps the same App, and its scheduler runs on.
//   - An app that keeps its SDKAppID takes its predecessor's state whole
//     (source.go): a run the predecessor has in flight finishes and its
//     state is kept, and the successor's scheduler starts that job only
//     once it ended and is due again, so the two never run a job at once
//     and each job keeps to one run per interval.
//   - An app that is removed, or the exporter closing, cuts its runs: what
//     they got is not kept.

// Start is a reload's handover, in one place: it ends the schedulers of
// the apps retired, has the apps started take their states, cuts the runs
// of retired apps whose state nobody took (removed, or their SDKAppID
// changed), and starts the new apps' schedulers until ctx ends. Apps
// started together take their first turns spread over a tenth of their
// shortest interval (at most 10 s) rather than all at once.
func Start(ctx context.Context, started, retired []*App) {
	for _, a := range retired {
		if a.stop != nil {
			a.stop()
		}
	}
	for _, a := range started {
		a.st.take(ctx, a)
	}
	for _, a := range retired {
		a.st.release(a)
	}
	n := 0
	for _, a := range started {
		if len(a.jobs) > 0 {
			n++
		}
	}
	i := 0
	for _, a := range started {
		if len(a.jobs) == 0 {
			continue
		}
		shortest := time.Duration(math.MaxInt64)
		for _, j := range a.jobs {
			shortest = min(shortest, j.Every(&a.Cfg))
		}
		spread := min(shortest/10, 10*time.Second) * time.Duration(i) / time.Duration(n)
		i++
		life, stop := context.WithCancel(ctx)
		a.stop = stop
		go a.schedule(life, spread)
	}
}

// schedule is the app's scheduler: it starts every job that is due and
// not running, then sleeps until the next is due or a run ends.
func (a *App) schedule(life context.Context, spread time.Duration) {
	st := a.st
	first := time.Now().Add(spread)
	t := time.NewTimer(spread)
	defer t.Stop()
	for {
		st.mu.Lock()
		changed := st.changed
		now := time.Now()
		wait := time.Duration(math.MaxInt64)
		for _, j := range a.jobs {
			js := st.job(j)
			if js.running {
				continue
			}
			if d := a.due(j, js, first).Sub(now); d > 0 {
				wait = min(wait, d)
				continue
			}
			a.start(j, js, now)
		}
		st.mu.Unlock()
		t.Reset(wait)
		select {
		case <-life.Done():
			return
		case <-t.C:
		case <-changed:
		}
	}
}

// start starts a run of j; under the state's lock.
func (a *App) start(j *Job, js *jobState, now time.Time) {
	st := a.st
	js.running, js.lastStart = true, now
	cut := st.cut
	interval := j.Every(&a.Cfg)
	timeout := j.Timeout
	if timeout == 0 {
		timeout = interval
	}
	var (
		mu    sync.Mutex
		calls []tencentchat.Attempt
	)
	run := &Run{App: a, Prev: js.value, Now: a.now(), Observe: func(at tencentchat.Attempt) {
		if js.spacer != nil {
			js.spacer.done()
		}
		st.tally.Attempt(at)
		mu.Lock()
		calls = append(calls, at)
		mu.Unlock()
	}}
	run.Publish = func(v any) {
		st.mu.Lock()
		defer st.mu.Unlock()
		if cut.Err() == nil {
			js.value = v
		}
	}
	if j.Pace != nil {
		p := j.Pace(&a.Cfg)
		pc := &pacer{}
		if p.PerSecond > 0 {
			// One limiter across runs: a run that starts as the last
			// one's calls end does not add a call to the second.
			if js.limiter == nil || js.limiter.Limit() != rate.Limit(p.PerSecond) {
				js.limiter = rate.NewLimiter(rate.Limit(p.PerSecond), 1)
			}
			pc.lim = js.limiter
		}
		if p.Gap > 0 {
			if js.spacer == nil || js.spacer.gap != p.Gap {
				js.spacer = &spacer{gap: p.Gap}
			}
			pc.gap = js.spacer
		}
		if pc.lim != nil || pc.gap != nil {
			run.Pace = pc
		}
	}
	go func() {
		ctx, cancel := context.WithTimeout(cut, timeout)
		state, err := j.Run(ctx, run)
		cancel()
		st.mu.Lock()
		defer st.mu.Unlock()
		defer st.broadcast()
		js.running = false
		if cut.Err() != nil {
			return // cut: the app was removed or the exporter closed
		}
		mu.Lock()
		js.round = Round{At: now, Took: time.Since(now), Calls: calls, Err: err}
		mu.Unlock()
		if err != nil {
			js.failed = true
			if js.backoff == 0 {
				js.backoff = firstBackoff
			} else {
				js.backoff = min(2*js.backoff, interval)
			}
			level.Warn(a.logger).Log("msg", j.Name+" not refreshed; serving the last good values", "retry_in", js.backoff, "err", err)
			return
		}
		js.value, js.failed, js.backoff = state, false, 0
	}()
}
