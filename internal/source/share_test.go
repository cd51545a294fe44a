package source

import (
	"context"
	"testing"
	"time"
)

// TestJoinable is the sharing rule as a table: a later scrape joins a
// fetch whose deadline is no earlier than its own less joinSlack, and
// never one that ended.
func TestJoinable(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	live := context.Background()
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	cases := []struct {
		name          string
		fetch, scrape time.Time // zero: no deadline
		ctx           context.Context
		want          bool
	}{
		{"neither has a deadline", time.Time{}, time.Time{}, live, true},
		{"the fetch has none", time.Time{}, t0, live, true},
		{"the scrape has none: it outlasts any fetch", t0, time.Time{}, live, false},
		{"the same deadline", t0, t0, live, true},
		{"a shorter scrape", t0, t0.Add(-5 * time.Second), live, true},
		{"a longer scrape within the slack", t0, t0.Add(joinSlack), live, true},
		{"a longer scrape beyond the slack", t0, t0.Add(joinSlack + time.Millisecond), live, false},
		{"a fetch cut off", t0, t0, ended, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &flight{ctx: c.ctx, deadline: c.fetch}
			if got := f.joinable(c.scrape); got != c.want {
				t.Errorf("joinable = %v, want %v", got, c.want)
			}
		})
	}
	var none *flight
	if none.joinable(t0) {
		t.Error("no fetch in flight is joinable")
	}
}
