package collector

import (
	"sort"
	"sync"
	"sync/atomic"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/tencentchat"
)

// counters are an app's cumulative counts. They live for the process and
// are carried over a reload for an app that keeps its name and SDKAppID.
type counters struct {
	requests atomic.Uint64
	failures [len(reasons)]atomic.Uint64

	mu    sync.Mutex
	codes map[int]uint64
}

var reasons = [...]tencentchat.Reason{tencentchat.ReasonTimeout, tencentchat.ReasonNetwork,
	tencentchat.ReasonHTTPStatus, tencentchat.ReasonDecode}

func newCounters() *counters {
	c := &counters{codes: make(map[int]uint64, len(tencentchat.DocumentedCodes))}
	for _, code := range tencentchat.DocumentedCodes {
		c.codes[code] = 0
	}
	return c
}

func (c *counters) addCode(code int) {
	c.mu.Lock()
	c.codes[code]++
	c.mu.Unlock()
}

// observe is the client's OnAttempt: it counts every call, its request-level
// code and its failure reason.
func (c *counters) observe(a tencentchat.Attempt) {
	c.requests.Add(1)
	if a.Code != 0 {
		c.addCode(a.Code)
	}
	for i, r := range reasons {
		if a.Reason == r {
			c.failures[i].Add(1)
		}
	}
}

// snapshot returns the code counts in code order.
func (c *counters) snapshot() (codes []int, counts []uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	codes = make([]int, 0, len(c.codes))
	for code := range c.codes {
		codes = append(codes, code)
	}
	sort.Ints(codes)
	counts = make([]uint64, len(codes))
	for i, code := range codes {
		counts[i] = c.codes[code]
	}
	return codes, counts
}
