// Package testutil holds helpers shared by the tests of several packages:
// loopback addresses, waiting, a log buffer safe to read while written,
// and the anchors GitHub gives headings.
// Production code does not import it.
package testutil

import (
	"bytes"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
)

// FreeAddr returns a loopback address with a port that was free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// WaitFor polls cond until it holds, failing the test after d.
func WaitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Buffer is an io.Writer whose contents may be read while it is written,
// for a process's stderr or a logger.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Measure returns the longest of n runs of f: a baseline of how fast this
// machine, as loaded as it is right now, does the work.
func Measure(n int, f func()) time.Duration {
	var longest time.Duration
	for range n {
		start := time.Now()
		f()
		longest = max(longest, time.Since(start))
	}
	return longest
}

// Slack is what a wall-clock bound of a test allows beyond the time the
// code promises, given a baseline from Measure taken in the same test:
// an idle machine gets little more than 0.5 s, and a busy one as much
// more as it is slower at the baseline work. No test may assume an idle
// machine.
func Slack(baseline time.Duration) time.Duration {
	return 500*time.Millisecond + 3*baseline
}

// GitHubAnchor is the fragment GitHub gives a Markdown heading: lower case,
// spaces to hyphens, punctuation other than hyphens and underscores
// dropped; letters of any script (Chinese headings) kept.
func GitHubAnchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(strings.TrimLeft(heading, "#"))) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}
