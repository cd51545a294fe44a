package source

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log/level"
	"golang.org/x/time/rate"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/tencentchat"
)

// Publishing activity (publishing_activity) comes from
// official_account_msg_get_simple, one call per account, in rounds every
// publishing_activity_interval: in the background in either mode, never
// making a scrape wait, paced (config.App.PublishingPace) so that a round
// takes at most half the app's rate_limit, and at most one call per
// account per interval, reloads included (a replacing app waits for the
// interval since the last round began). Values arrive account by account;
// a call that fails keeps the account's last good value, an account's own
// error code (130004: gone) drops it, and an account whose newest messages
// hold none published has none.

// pubState is an app's publishing activity. It is carried over a reload
// for an app that keeps its SDKAppID.
type pubState struct {
	mu        sync.RWMutex
	vals      map[string]tencentchat.Published // by account; only Found ones
	lastStart time.Time                        // of the last round
	last      PubRound                         // the last round that ended
	running   *PubRound                        // the round under way, nil between rounds
}

// PubRound is one round of publishing calls, for the debug probe.
type PubRound struct {
	At             time.Time
	Took           time.Duration
	Accounts       int // accounts called
	Calls          int // HTTP calls, retries included
	Failed         int // accounts whose call failed (last good value kept)
	Gone           int // accounts answered with their own error code
	NeverPublished int // accounts with no published message among their newest
}

// PublishedValues calls f with a lookup of the accounts' publishing
// values, under one read lock: a scrape reads many.
func (a *App) PublishedValues(f func(get func(id string) (tencentchat.Published, bool))) {
	p := a.pub
	p.mu.RLock()
	defer p.mu.RUnlock()
	f(func(id string) (tencentchat.Published, bool) {
		v, ok := p.vals[id]
		return v, ok
	})
}

// PublishingStory is the last round that ended (zero At before the first)
// and whether one is under way, for the debug probe.
func (a *App) PublishingStory() (last PubRound, running bool) {
	p := a.pub
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.last, p.running != nil
}

// publishingLoop runs a round every interval until loop ends, the first
// when the interval since the last round (a predecessor's) has passed.
func (a *App) publishingLoop(loop context.Context) {
	interval := a.Cfg.PublishingActivityInterval
	a.pub.mu.RLock()
	wait := time.Until(a.pub.lastStart.Add(interval))
	a.pub.mu.RUnlock()
	every(loop, loop, max(0, wait), interval, func(ctx context.Context) bool {
		a.publishingRound(ctx, time.Now())
		return true
	})
}

// publishingRound calls every account once, concurrency at a time, paced.
func (a *App) publishingRound(ctx context.Context, start time.Time) {
	p := a.pub
	round := &PubRound{At: start}
	p.mu.Lock()
	p.lastStart, p.running = start, round
	p.mu.Unlock()
	pace := rate.NewLimiter(rate.Limit(a.Cfg.PublishingPace()), 1)
	var (
		wg    sync.WaitGroup
		sem   = make(chan struct{}, a.Cfg.Concurrency)
		calls atomic.Int64
	)
	observe := func(at tencentchat.Attempt) {
		a.tally.Attempt(at)
		calls.Add(1)
	}
	for _, id := range a.Cfg.Accounts {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			pub, bad, err := a.client.LatestPublished(ctx, id, pace, observe)
			for range bad {
				a.tally.Invalid()
			}
			var te *tencentchat.Error
			p.mu.Lock()
			defer p.mu.Unlock()
			switch {
			case errors.As(err, &te) && te.Attempts == 0:
				return // the round's time ran out before this call
			case errors.As(err, &te) && tencentchat.AccountCode(te.Code):
				delete(p.vals, id) // the account's own answer: gone, or not an official account
				round.Gone++
			case err != nil:
				round.Failed++
			case !pub.Found:
				delete(p.vals, id)
				round.NeverPublished++
			default:
				p.vals[id] = pub
			}
			round.Accounts++
		})
	}
	wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	// Accounts a reload removed have no value to keep.
	if len(p.vals) > len(a.Cfg.Accounts) {
		keep := make(map[string]bool, len(a.Cfg.Accounts))
		for _, id := range a.Cfg.Accounts {
			keep[id] = true
		}
		for id := range p.vals {
			if !keep[id] {
				delete(p.vals, id)
			}
		}
	}
	round.Took, round.Calls = time.Since(start), int(calls.Load())
	p.last, p.running = *round, nil
	if round.Failed > 0 || round.Accounts < len(a.Cfg.Accounts) {
		level.Warn(a.logger).Log("msg", "publishing activity: some accounts not refreshed; their last good values are kept",
			"failed", round.Failed, "not_called", len(a.Cfg.Accounts)-round.Accounts, "accounts", len(a.Cfg.Accounts))
	}
}
