// Package simulator is a stand-in for the calls of Tencent Cloud Chat's
// REST API that the exporter makes, written from the API reference alone:
// get_official_account_info, getappinfo, official_account_msg_get_simple
// and normal_push_statistics. Tests, benchmarks and the exporter's demo
// mode run against it, since the real service cannot be reached from where
// this project is built. It imports no package of this project, so a
// misreading of the API in the client cannot hide behind the same
// misreading here.
//
// Every call goes through the same checks in the reference's order
// (handler.go: method, query, signature, faults, rate limit) and then to
// its API's row of the route table: the accounts' answer is in
// handler.go (their drifting data in data.go), the other APIs one file
// each (appinfo.go, messages.go, push.go). faults.go holds the
// misbehaviours a test switches on, control.go the Mux and the control
// API, usersig.go the signature check.
package simulator

import (
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// Path is the path of get_official_account_info.
const Path = "/v4/official_account_open_http_svc/get_official_account_info"

// maxAccounts is the most accounts one call may ask for (6017 beyond).
const maxAccounts = 50

// maxRequestBody bounds what the simulator reads of a request body.
const maxRequestBody = 1 << 20

// AppConfig describes one simulated app.
type AppConfig struct {
	SDKAppID   uint64
	Identifier string // the App admin; other validly signed identifiers get 60010
	SecretKey  string
	Accounts   int // accounts @TOA#_sim00000 .. generated
	Seed       uint64
	// DriftInterval is how often the data moves (subscribers drift, messages
	// are sent). 0 keeps the data still, which exact-value tests want.
	DriftInterval time.Duration
	// AppInfoIncludesToday makes getappinfo's answers end with today's
	// running (incomplete) Beijing day; otherwise they end with yesterday.
	// Tencent does not document which it does.
	AppInfoIncludesToday bool
	// NoPush is an app without the Push service: normal_push_statistics
	// answers 60017 (request disabled).
	NoPush bool
}

// Simulator is an http.Handler serving any number of apps.
type Simulator struct {
	now func() time.Time

	mu   sync.RWMutex
	apps map[uint64]*App

	closing chan struct{}
	once    sync.Once
}

// New returns an empty simulator; add apps with AddApp.
func New() *Simulator {
	return &Simulator{now: time.Now, apps: map[uint64]*App{}, closing: make(chan struct{})}
}

// Close releases calls held by the hang fault.
func (s *Simulator) Close() { s.once.Do(func() { close(s.closing) }) }

// SetClock replaces the simulator's clock (for signature expiry tests).
func (s *Simulator) SetClock(now func() time.Time) {
	s.mu.Lock()
	s.now = now
	s.mu.Unlock()
}
func (s *Simulator) clock() time.Time {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.now()
}

// AddApp adds (or replaces) an app and returns it for control.
func (s *Simulator) AddApp(c AppConfig) *App {
	now := s.clock()
	rng := rand.New(rand.NewPCG(c.Seed, c.SDKAppID))
	a := &App{cfg: c, rng: rng, lastDrift: now, byID: map[string]*Account{}}
	a.accounts = generate(rng, c.Accounts, now)
	for _, acct := range a.accounts {
		a.byID[acct.ID] = acct
	}
	s.mu.Lock()
	s.apps[c.SDKAppID] = a
	s.mu.Unlock()
	return a
}

// App returns a simulated app by SDKAppID.
func (s *Simulator) App(sdkappid uint64) *App {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.apps[sdkappid]
}

// App is one simulated app: its accounts, faults and call counts.
type App struct {
	cfg AppConfig

	mu        sync.Mutex
	rng       *rand.Rand
	accounts  []*Account
	byID      map[string]*Account
	lastDrift time.Time
	faults    Faults

	calls, appInfoCalls, msgCalls int64
	pushCalls                     []time.Time // arrival of every normal_push_statistics call
	appInfoOverride               map[string]string
	second                        int64 // the Unix second being counted
	inSecond                      int
	maxInSecond                   int
}

// Stats are an app's call counts.
type Stats struct {
	Calls        int64       // get_official_account_info calls that reached the app, faults included
	AppInfoCalls int64       // getappinfo calls that reached the app, faults included
	MsgCalls     int64       // official_account_msg_get_simple calls that reached the app, faults included
	PushCalls    []time.Time // when each normal_push_statistics call arrived, refused ones included
	MaxInSecond  int         // the most calls (of either) seen within one calendar second
}

// Stats returns the app's call counts.
func (a *App) Stats() Stats {
	a.mu.Lock()
	defer a.mu.Unlock()
	return Stats{Calls: a.calls, AppInfoCalls: a.appInfoCalls, MsgCalls: a.msgCalls, PushCalls: slices.Clone(a.pushCalls), MaxInSecond: a.maxInSecond}
}
