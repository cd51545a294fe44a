package simulator

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Account is one simulated official account. The JSON names are the API's.
type Account struct {
	ID          string
	Name        string
	Owner       string
	CreateTime  int64
	LastMsgTime int64 // 0: never sent a message
	Subscribers int64
	// MaxSubscribers is the account's cap (MaxSubscriberNum): Tencent's
	// default 100,000, raised to 500,000 for every 50th account (as at
	// creation). Subscribers never exceed it.
	MaxSubscribers int64
	// Published is the MsgSeq of the account's newest message (how many it
	// has published), and PublishedAt its MsgTimeStamp; 0 while it never
	// published. NewestRecalled marks the newest as recalled (IsPlaceMsg).
	Published      int64
	PublishedAt    int64
	NewestRecalled bool
	Introduction   string
	FaceURL        string
	Organization   string
	CustomString   string
	Terminated     bool // answered with 130004, like an account that never existed

	silent bool // never sends, so LastMsgTime stays 0
}

// AccountID is the ID of the i-th generated account: @TOA#_sim00000, ...
func AccountID(i int) string { return fmt.Sprintf("@TOA#_sim%05d", i) }

var topics = []string{"News", "Weather", "Sports", "Travel", "Music", "Finance", "Games", "Food", "Health", "Tech"}

// generate makes n accounts whose data looks like a real app's: subscriber
// counts spread over orders of magnitude, a few silent accounts that never
// sent a message, a few terminated ones.
func generate(rng *rand.Rand, n int, now time.Time) []*Account {
	accts := make([]*Account, n)
	for i := range accts {
		a := &Account{
			ID:           AccountID(i),
			Name:         fmt.Sprintf("Sim %s %05d", topics[i%len(topics)], i),
			Owner:        fmt.Sprintf("owner%03d", i%37),
			CreateTime:   now.Unix() - 86400 - rng.Int64N(3*365*86400),
			Subscribers:  int64(math.Pow(10, 1+3.9*rng.Float64())), // under 80,000: no account starts near its cap
			Introduction: "A simulated official account",
			Organization: "Simulator",
			silent:       i%23 == 7,
			Terminated:   i%97 == 13,
		}
		a.MaxSubscribers = 100000
		if i%50 == 0 {
			a.MaxSubscribers = 500000
		}
		if !a.silent {
			a.LastMsgTime = now.Unix() - rng.Int64N(2*86400)
			a.Published, a.PublishedAt = 1+rng.Int64N(500), a.LastMsgTime
			a.NewestRecalled = i%11 == 5
		}
		accts[i] = a
	}
	return accts
}

// evolve advances the data by one step: subscribers drift by a fraction of a
// percent either way, now and then one account loses a large share at once,
// and accounts that send messages do so at random.
func evolve(rng *rand.Rand, accts []*Account, now time.Time) {
	for _, a := range accts {
		if a.Terminated {
			continue
		}
		drift := rng.NormFloat64() * 0.005 * float64(a.Subscribers)
		a.Subscribers += int64(math.Round(drift + 0.3*rng.Float64()))
		if rng.Float64() < 0.0005 {
			a.Subscribers = int64(float64(a.Subscribers) * (0.4 + 0.3*rng.Float64()))
		}
		a.Subscribers = min(max(a.Subscribers, 0), a.MaxSubscribers)
		if !a.silent && rng.Float64() < 0.3 {
			a.LastMsgTime = now.Unix()
			a.Published, a.PublishedAt, a.NewestRecalled = a.Published+1, a.LastMsgTime, false
		}
	}
}

// Account returns a copy of an account's current data.
func (a *App) Account(id string) (Account, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	acct, ok := a.byID[id]
	if !ok {
		return Account{}, false
	}
	return *acct, true
}

// Accounts returns copies of every account, in ID order.
func (a *App) Accounts() []Account {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]Account, len(a.accounts))
	for i, acct := range a.accounts {
		out[i] = *acct
	}
	return out
}

// Update changes an account's data in place; it reports whether the
// account exists.
func (a *App) Update(id string, f func(*Account)) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	acct, ok := a.byID[id]
	if ok {
		f(acct)
	}
	return ok
}

// drift moves the data on by the steps due since the last call; at most a
// few steps, so an app left alone for hours costs nothing much on wake-up.
func (a *App) drift(now time.Time) {
	iv := a.cfg.DriftInterval
	if iv <= 0 {
		return
	}
	steps := int(now.Sub(a.lastDrift) / iv)
	if steps <= 0 {
		return
	}
	a.lastDrift = a.lastDrift.Add(time.Duration(steps) * iv)
	for range min(steps, 5) {
		evolve(a.rng, a.accounts, now)
	}
}
