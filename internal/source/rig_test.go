package source

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/config"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/tencentchat"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/testutil"
	"github.com/tencentchat-exporter/tencentchat_exporter/simulator"
)

// The tests of this package run inside a testing/synctest bubble: its
// clock is fake, and moves only when every goroutine of the bubble waits,
// so a test of an hour's schedule takes milliseconds and no test sleeps in
// real time. The simulator answers over real HTTP (net/http's server and
// client) on an in-memory connection, which the bubble can wait on as it
// cannot on a socket.

const (
	simApp   = 1400000000
	simAdmin = "administrator"
	simKey   = "source-test-secret-key-7a1c4f0e9b2d"
)

// world is a simulator and what the tests see of the calls it answers.
type world struct {
	sim    *simulator.Simulator
	simApp *simulator.App
	client *http.Client
	tally  *tally
	logs   *testutil.Buffer

	mu       sync.Mutex
	arrivals map[string][]time.Time // by path, as the calls arrived
	byKey    map[string][]time.Time // by path and the first account the body names
	srv      *http.Server
	ln       *pipeListener
}

// newWorld serves a simulator of one app of accounts accounts; call it
// inside the bubble, and close it before the bubble ends.
func newWorld(t *testing.T, accounts int) *world {
	t.Helper()
	w := &world{sim: simulator.New(), tally: newTally(), logs: &testutil.Buffer{}, arrivals: map[string][]time.Time{}, byKey: map[string][]time.Time{}}
	w.simApp = w.sim.AddApp(simulator.AppConfig{SDKAppID: simApp, Identifier: simAdmin, SecretKey: simKey, Accounts: accounts, Seed: 3})
	w.ln = &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
	w.srv = &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		key := r.URL.Path
		if m := firstAccount.FindSubmatch(body); m != nil {
			key += " " + string(m[1])
		}
		w.mu.Lock()
		w.arrivals[r.URL.Path] = append(w.arrivals[r.URL.Path], time.Now())
		w.byKey[key] = append(w.byKey[key], time.Now())
		w.mu.Unlock()
		w.sim.ServeHTTP(rw, r)
	})}
	go func() { _ = w.srv.Serve(w.ln) }()
	w.client = &http.Client{Transport: &http.Transport{DialContext: w.ln.dial, DisableKeepAlives: true}}
	return w
}

func (w *world) close() {
	w.sim.Close()
	_ = w.srv.Close()
	w.client.CloseIdleConnections()
}

// firstAccount finds the first account a request's body names.
var firstAccount = regexp.MustCompile(`"Official_Account"\s*:\s*"([^"]+)"`)

// keyed are the arrival times of the calls to path, by the first account
// each named (none for an API that names none).
func (w *world) keyed(path string) map[string][]time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string][]time.Time{}
	for k, v := range w.byKey {
		if k == path || strings.HasPrefix(k, path+" ") {
			out[k] = slices.Clone(v)
		}
	}
	return out
}

// calls are the arrival times of the calls to path.
func (w *world) calls(path string) []time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.arrivals[path])
}

// appConfig is an app of the world's with its first n accounts, the
// defaults, no rate_limit, and mod.
func appConfig(n int, mod func(*config.App)) config.App {
	a := config.App{Name: "main", SDKAppID: simApp, Identifier: simAdmin, SecretKey: simKey, Endpoint: "http://simulator", Settings: config.Defaults()}
	a.RateLimit, a.Timeout = 0, 2*time.Second
	for i := range n {
		a.Accounts = append(a.Accounts, simulator.AccountID(i))
	}
	if mod != nil {
		mod(&a)
	}
	return a
}

// testFields are getappinfo fields kept by the statistics tests.
var testFields = []string{"ActiveUserNum", "RegistUserNumTotal"}

// jobs are the exporter's jobs, as the collector's table has them.
var jobs = []*Job{AccountsJob, PushJob, PublishingJob, StatisticsJob(testFields)}

// newApp builds an app of the world's, taking prev's state if given.
func (w *world) newApp(t *testing.T, ac config.App, prev *App) *App {
	t.Helper()
	a, err := New(ac, Options{HTTPClient: w.client, NewTally: func() Tally { return w.tally }, Jobs: jobs, Prev: prev,
		Logger: log.NewLogfmtLogger(w.logs)})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// reload replaces prev with a new app of ac, as the exporter's reload does.
func (w *world) reload(t *testing.T, ctx context.Context, prev *App, ac config.App) *App {
	t.Helper()
	a := w.newApp(t, ac, prev)
	Start(ctx, []*App{a}, []*App{prev})
	return a
}

// tally counts what an app's calls saw, by API.
type tally struct {
	mu       sync.Mutex
	attempts map[string][]tencentchat.Attempt
	codes    map[int]int
	invalid  int
	missing  int
}

func newTally() *tally {
	return &tally{attempts: map[string][]tencentchat.Attempt{}, codes: map[int]int{}}
}

func (c *tally) Attempt(at tencentchat.Attempt) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.attempts[at.API] = append(c.attempts[at.API], at)
}

func (c *tally) Code(_ string, code int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.codes[code]++
}

func (c *tally) Invalid() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.invalid++
}

func (c *tally) Missing() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.missing++
}

// pipeListener is a net.Listener of in-memory connections (net.Pipe).
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

// dial is the client's end of a new connection to the listener.
func (l *pipeListener) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-l.done:
		return nil, net.ErrClosed
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "simulator" }
