package scrape

import (
	"net/http"
	"testing"
	"time"
)

// TestScrapeTimeout: the time a scrape's work gets, from Prometheus'
// header and the offset.
func TestScrapeTimeout(t *testing.T) {
	cases := []struct {
		header string
		offset time.Duration
		want   time.Duration
	}{
		{"", 500 * time.Millisecond, 9500 * time.Millisecond},
		{"10", 500 * time.Millisecond, 9500 * time.Millisecond},
		{"2.5", 500 * time.Millisecond, 2 * time.Second},
		{"0.6", 500 * time.Millisecond, 500 * time.Millisecond}, // raised to 1 s, then halved
		{"1e-7", 500 * time.Millisecond, 500 * time.Millisecond},
		{"1", 0, time.Second},
		{"garbage", 0, 10 * time.Second},
		{"-3", 0, 10 * time.Second},
		{"0", 0, 10 * time.Second},
		{"NaN", 0, 10 * time.Second},
		{"+Inf", 0, 10 * time.Second},
		{"1e12", 0, 5 * time.Minute},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(http.MethodGet, "/metrics", nil)
		if c.header != "" {
			req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", c.header)
		}
		limit, _ := timeout(req)
		if got := effectiveTimeout(limit, c.offset); got != c.want {
			t.Errorf("header %q offset %v: %v, want %v", c.header, c.offset, got, c.want)
		}
	}
}
