package scrape

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
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

// TestHTTP10AnswersWhole: over HTTP/1.0 a streamed body ends when the
// connection closes, so a client cannot tell a cut answer from a whole
// one. Such a client gets the answer whole, with its Content-Length, or an
// error status: never a 200 whose body stops part-way.
func TestHTTP10AnswersWhole(t *testing.T) {
	const size = 4 << 20
	for _, c := range []struct {
		name   string
		fail   bool
		status string
	}{{"whole", false, "200"}, {"encoding fails part-way", true, "500"}} {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				win, ok := Open(w, r, 0, nil)
				if !ok {
					return
				}
				defer win.Close()
				_ = Answer(w, r, win, expfmt.NewFormat(expfmt.TypeTextPlain), new(atomic.Int64), false, func(out io.Writer) error {
					if _, err := out.Write(bytes.Repeat([]byte("x 1\n"), size/4)); err != nil {
						return err
					}
					if c.fail {
						return errors.New("encoding failed")
					}
					return nil
				})
			}))
			defer srv.Close()
			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			fmt.Fprint(conn, "GET /metrics HTTP/1.0\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			if !strings.HasPrefix(resp.Status, c.status) {
				t.Fatalf("status %s, want %s", resp.Status, c.status)
			}
			if c.fail {
				return
			}
			if err != nil || len(body) != size || resp.ContentLength != size {
				t.Errorf("body of %d bytes (Content-Length %d, %v), want %d whole", len(body), resp.ContentLength, err, size)
			}
		})
	}
}
