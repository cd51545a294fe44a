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

	batchEnd []int // where each batch's accounts end

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
	r := &Result{Accounts: make([]tencentchat.Result, len(a.Cfg.Accounts)), At: time.Now(), OK: true,
		batchEnd: make([]int, len(a.batches)), batchOK: make([]bool, len(a.batches))}
	end := 0
	for i, b := range a.batches {
		end += b.Len()
		r.batchEnd[i] = end
	}
	return r
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
