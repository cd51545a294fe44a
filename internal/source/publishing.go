package source

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/go-kit/log/level"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/config"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/tencentchat"
)

// Publishing activity (publishing_activity) comes from
// official_account_msg_get_simple, one call per account, in rounds every
// publishing_activity_interval, in either mode, paced
// (config.App.PublishingPace) so that a round takes at most half the
// app's rate_limit, and at most one call per account per interval, reloads
// included. Values arrive account by account; a call that fails keeps the
// account's last good value, an account's own error code (130004: gone)
// drops it, and an account whose newest messages hold none published has
// none.

// Publishing is the publishing job's state: the values by account, which
// a round updates as its answers arrive, and the counts of that round.
type Publishing struct {
	mu     sync.RWMutex
	vals   map[string]tencentchat.Published // only Found ones
	round  PubRound
	before PubRound // the round before, the last ended while this one runs
}

// Read calls f with a lookup of the accounts' values, under one read lock:
// a scrape reads many. On nil (no round yet) f finds nothing.
func (p *Publishing) Read(f func(get func(id string) (tencentchat.Published, bool))) {
	if p == nil {
		f(func(string) (tencentchat.Published, bool) { return tencentchat.Published{}, false })
		return
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	f(func(id string) (tencentchat.Published, bool) {
		v, ok := p.vals[id]
		return v, ok
	})
}

// Round is the counts of the round that made the values, so far, and of
// the round before it.
func (p *Publishing) Round() (this, before PubRound) {
	if p == nil {
		return PubRound{}, PubRound{}
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.round, p.before
}

// PubRound is the counts of one round of publishing calls.
type PubRound struct {
	Accounts       int // accounts called
	Failed         int // accounts whose call failed (last good value kept)
	Gone           int // accounts answered with their own error code
	NeverPublished int // accounts with no published message among their newest
}

// PublishingJob calls every account once a round.
var PublishingJob = &Job{
	Name: "publishing activity",
	APIs: []string{tencentchat.APIMsgGetSimple},
	Every: func(c *config.App) time.Duration {
		return on(c.PublishingActivity, c.PublishingActivityInterval)
	},
	Pace: func(c *config.App) Pace { return Pace{PerSecond: c.PublishingPace()} },
	Run:  publishingRound,
}

// Published is the app's publishing job's state; nil before the first
// round ended (Get on nil finds nothing).
func (a *App) Published() *Publishing {
	p, _ := a.State(PublishingJob.Name).(*Publishing)
	return p
}

// publishingRound calls every account once, concurrency at a time. The
// new values start as the last round's, for the app's accounts only, and
// are served from the round's start, each account's as it arrives.
func publishingRound(ctx context.Context, r *Run) (any, error) {
	a := r.App
	next := &Publishing{vals: make(map[string]tencentchat.Published, len(a.Cfg.Accounts))}
	if prev, _ := r.Prev.(*Publishing); prev != nil {
		next.before, _ = prev.Round()
		for _, id := range a.Cfg.Accounts {
			if v, ok := prev.vals[id]; ok {
				next.vals[id] = v
			}
		}
	}
	r.Publish(next)
	round := &next.round
	each(ctx, len(a.Cfg.Accounts), a.Cfg.Concurrency, func(i int) {
		id := a.Cfg.Accounts[i]
		pub, bad, err := a.client.LatestPublished(ctx, id, r.Pace, r.Observe)
		for range bad {
			a.st.tally.Invalid()
		}
		var te *tencentchat.Error
		next.mu.Lock()
		defer next.mu.Unlock()
		switch {
		case errors.As(err, &te) && te.Attempts == 0:
			return // the round's time ran out before this call
		case errors.As(err, &te) && tencentchat.AccountCode(te.Code):
			delete(next.vals, id) // the account's own answer: gone, or not an official account
			round.Gone++
		case err != nil:
			round.Failed++
		case !pub.Found:
			delete(next.vals, id)
			round.NeverPublished++
		default:
			next.vals[id] = pub
		}
		round.Accounts++
	}, nil)
	next.mu.RLock()
	defer next.mu.RUnlock()
	if round.Failed > 0 || round.Accounts < len(a.Cfg.Accounts) {
		level.Warn(a.logger).Log("msg", "publishing activity: some accounts not refreshed; their last good values are kept",
			"failed", round.Failed, "not_called", len(a.Cfg.Accounts)-round.Accounts, "accounts", len(a.Cfg.Accounts))
	}
	return next, nil
}
