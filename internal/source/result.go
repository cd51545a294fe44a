package source

import (
	"slices"
	"sync"
	"time"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/tencentchat"
)

// Result is what one fetch learnt of one app. Its batches write into it as
// they complete; once the fetch is done it is read-only.
type Result struct {
	Accounts []tencentchat.Result // one per configured account, in config order
	At       time.Time            // when the fetch started
	Duration time.Duration
	// OK is whether every call answered with ErrorCode 0: the app is up.
	// Final once the fetch is done; a fetch cut by its deadline is never OK.
	OK bool
	// NotCalled is how many batches the deadline (a scrape's, or a
	// refresh's interval) left without a call: their accounts are down.
	NotCalled int
	// Added marks the accounts a reload added since this result was
	// fetched (see carry): not fetched yet. nil when there are none.
	Added []bool

	ids      []string // the accounts, in order (the configuration's slice)
	batchEnd []int    // where each batch's accounts end

	mu      sync.Mutex
	batchOK []bool // which batches got an answer with ErrorCode 0
	calls   []Call
}

// Call is one HTTP call of a fetch's batch.
type Call struct {
	Batch int
	tencentchat.Attempt
}

// NotYet is the result served before an app's first background refresh:
// no account, and the app not up. Never written.
var NotYet = &Result{}

// AccountUp tells an account whose values are served.
func AccountUp(r *tencentchat.Result) bool {
	return r.Answered && r.Err == nil && r.Info.ErrorCode.V == 0
}

func (a *App) newResult() *Result {
	r := &Result{Accounts: make([]tencentchat.Result, len(a.Cfg.Accounts)), At: time.Now(), OK: true, ids: a.Cfg.Accounts,
		batchEnd: make([]int, len(a.batches)), batchOK: make([]bool, len(a.batches))}
	end := 0
	for i, b := range a.batches {
		end += b.Len()
		r.batchEnd[i] = end
	}
	return r
}

// carry is a finished result of the app this one replaced, for this app's
// accounts: those that stay keep their values, in this app's order and
// batches; those the reload added are not fetched yet (Added), and down.
// The result itself when it already covers the same accounts in the same
// batches.
func (a *App) carry(r *Result) *Result {
	out := a.newResult()
	if slices.Equal(r.ids, out.ids) && slices.Equal(r.batchEnd, out.batchEnd) {
		return r
	}
	out.At, out.Duration, out.OK, out.NotCalled = r.At, r.Duration, r.OK, r.NotCalled
	out.calls = slices.Clone(r.calls)
	index := make(map[string]int, len(r.ids))
	for j, id := range r.ids {
		index[id] = j
	}
	lo := 0
	for b, end := range out.batchEnd {
		ok := true
		for i := lo; i < end; i++ {
			j, found := index[out.ids[i]]
			if !found {
				if out.Added == nil {
					out.Added = make([]bool, len(out.ids))
				}
				out.Added[i], ok = true, false
				continue
			}
			out.Accounts[i] = r.Accounts[j]
			ok = ok && r.BatchAnswered(j)
		}
		out.batchOK[b], lo = ok, end
	}
	return out
}

// Calls are the result's HTTP calls so far, by batch.
func (r *Result) Calls() []Call {
	r.mu.Lock()
	calls := slices.Clone(r.calls)
	r.mu.Unlock()
	slices.SortStableFunc(calls, func(x, y Call) int { return x.Batch - y.Batch })
	return calls
}

// BatchAnswered tells whether the batch of account i got a usable answer.
func (r *Result) BatchAnswered(i int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, _ := slices.BinarySearch(r.batchEnd, i+1)
	return b < len(r.batchOK) && r.batchOK[b]
}

func (r *Result) summary() *Summary {
	s := &Summary{At: r.At, Took: r.Duration, Up: r.OK, Calls: len(r.calls)}
	for i := range r.Accounts {
		if AccountUp(&r.Accounts[i]) {
			s.AccountsUp++
		} else {
			s.Down++
		}
	}
	return s
}

// finish records a batch's end.
func (r *Result) finish(i int, ok bool) {
	r.mu.Lock()
	r.batchOK[i] = ok
	r.OK = r.OK && ok
	r.mu.Unlock()
}
