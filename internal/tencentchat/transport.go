// Package tencentchat is a client of the four calls of Tencent Cloud Chat's
// REST API that the exporter makes: get_official_account_info
// (accounts.go), getappinfo (appinfo.go), official_account_msg_get_simple
// (messages.go) and normal_push_statistics (push.go), each with its
// decoder. This file is the transport they share: it signs calls with a
// cached UserSig, waits for the app's rate limiter and the caller's pace,
// retries what is transient, and reports every attempt, once, to the
// caller's observer. It knows nothing of Prometheus.
package tencentchat

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxBody bounds an answer: 50 accounts with every field take some 30 KiB.
const maxBody = 4 << 20

// Waiter spaces calls: a *rate.Limiter, or anything that waits its turn.
// Its Wait returns an error when the turn would come after ctx's end.
type Waiter interface {
	Wait(ctx context.Context) error
}

// The APIs the client calls, by the names the exporter's api label uses.
const (
	APIOfficialAccountInfo = "get_official_account_info"
	APIAppInfo             = "getappinfo"
)

// AppInfoPath is the path of getappinfo, the app statistics API.
const AppInfoPath = "/v4/openconfigsvr/getappinfo"

// Attempt is one HTTP call, told to the caller's observer once it is
// over: the exporter counts it and the debug probe lists it.
type Attempt struct {
	API        string        // APIOfficialAccountInfo or APIAppInfo
	Attempt    int           // 1 for the first call of a request
	Accounts   int           // accounts asked for; 0 for getappinfo
	HTTPStatus int           // 0 when no answer came
	Reason     Reason        // transport failure kind, "" when the answer decoded
	Code       int           // envelope ErrorCode when the answer decoded, else 0
	Info       string        // ErrorInfo (cleaned), or the transport error
	Duration   time.Duration // of this call
	Retry      string        // how it is retried ("after 120ms"); "" if not
	// LimiterWait is how long the call waited for the app's rate limiter
	// before it was sent.
	LimiterWait time.Duration
}

// Options configures a Client. Every field without "optional" is required:
// the defaults belong to the configuration, not to the client.
type Options struct {
	BaseURL    string
	SDKAppID   uint64
	Identifier string
	SecretKey  string

	Timeout    time.Duration // per HTTP call
	Retries    int           // further attempts after the first for transient failures
	UserSigTTL time.Duration // validity of the UserSigs the client signs
	Limiter    *rate.Limiter // optional: calls per second for this app
	HTTPClient *http.Client  // optional; its Timeout should be 0 (Timeout above applies)
}

// Client calls the API for one app. It is safe for
// concurrent use.
type Client struct {
	opts   Options
	signer *signer
	http   *http.Client

	// answer size and backoff bounds; variables of the client so tests can
	// shorten them.
	maxBody                            int64
	backoffBase, backoffCap            time.Duration
	rateLimitBackoffBase, rateLimitCap time.Duration
}

// New returns a Client for opts.
func New(opts Options) (*Client, error) {
	if opts.BaseURL == "" {
		return nil, errors.New("no base URL")
	}
	if opts.SDKAppID == 0 || opts.Identifier == "" || opts.SecretKey == "" {
		return nil, errors.New("sdkappid, identifier and secret key are required")
	}
	if opts.Timeout <= 0 || opts.UserSigTTL <= 0 || opts.Retries < 0 {
		return nil, errors.New("timeout and usersig TTL must be positive, retries not negative")
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = NewHTTPClient(32)
	}
	return &Client{
		opts:                 opts,
		signer:               newSigner(opts.SDKAppID, opts.Identifier, opts.SecretKey, opts.UserSigTTL),
		http:                 hc,
		maxBody:              maxBody,
		backoffBase:          100 * time.Millisecond,
		backoffCap:           2 * time.Second,
		rateLimitBackoffBase: 500 * time.Millisecond,
		rateLimitCap:         5 * time.Second,
	}, nil
}

// NewHTTPClient returns a client that keeps up to idlePerHost connections
// per API host alive between scrapes: a steady scrape then reuses them
// instead of paying a TLS handshake for each call. Redirects are refused:
// following one would resend the UserSig to wherever it points.
func NewHTTPClient(idlePerHost int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = idlePerHost
	t.MaxIdleConns = idlePerHost
	return &http.Client{
		Transport: t,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// do runs the call with retries. Each attempt gets a fresh random and, after
// a 70001, one immediate attempt with a freshly signed UserSig. Every HTTP
// call is told to observe (if not nil) once it is over, with how it is
// retried.
func (c *Client) do(ctx context.Context, api, path string, body []byte, ans answer, pace Waiter, observe func(Attempt)) error {
	if observe == nil {
		observe = func(Attempt) {}
	}
	var (
		last     *Error
		resigned bool
	)
	for attempt, retries := 1, 0; ; attempt++ {
		// A background refresh's pace first, then the app's rate_limit,
		// whose wait alone is the call's LimiterWait.
		if pace != nil && pace.Wait(ctx) != nil {
			return finalError(ctx, last, attempt-1)
		}
		var waited time.Duration
		if c.opts.Limiter != nil {
			t0 := time.Now()
			if err := c.opts.Limiter.Wait(ctx); err != nil {
				return finalError(ctx, last, attempt-1)
			}
			waited = time.Since(t0)
		}
		sig, err := c.signer.get()
		if err != nil {
			return err
		}
		began := time.Now()
		callErr := c.call(ctx, path, sig, body, ans)
		at := Attempt{API: api, Attempt: attempt, Accounts: ans.requested(), HTTPStatus: http.StatusOK, Duration: time.Since(began), LimiterWait: waited}
		if callErr == nil {
			code, info := ans.status()
			if code == 0 {
				observe(at)
				return nil
			}
			callErr = &Error{Code: code, Info: info} // cleaned by call
		}
		at.Code, at.Info, at.Reason = callErr.Code, callErr.Info, callErr.Reason
		if callErr.Reason != ReasonNone {
			at.HTTPStatus = callErr.HTTPStatus
			if callErr.Err != nil {
				at.Info = callErr.Err.Error()
			}
		}
		if ctx.Err() != nil && last != nil {
			// The caller's deadline cut this retry short; what went wrong
			// before it says more than "timeout".
			observe(at)
			last.Attempts = attempt
			return last
		}
		last = callErr
		last.Attempts = attempt
		if last.Code == 70001 && !resigned {
			// The cached signature expired early (clock skew, or the
			// TTL outlived the key's validity): re-sign once, at once.
			resigned = true
			c.signer.invalidate(sig)
			at.Retry = "at once, re-signed"
			observe(at)
			continue
		}
		if !retryable(last) || retries >= c.opts.Retries || ctx.Err() != nil {
			observe(at)
			return last
		}
		retries++
		wait := c.backoff(last, retries)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			observe(at)
			return last // sleeping would outlive the caller
		}
		at.Retry = "after " + wait.Round(time.Millisecond).String()
		observe(at)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return last
		case <-t.C:
		}
	}
}

// finalError is what a call that could not start again returns: the last
// attempt's error, or a timeout if there was none.
func finalError(ctx context.Context, last *Error, attempts int) error {
	if last != nil {
		return last
	}
	return &Error{Reason: ReasonTimeout, Attempts: attempts, Err: ctx.Err()}
}

// answer is the decoded body of one API's answer.
type answer interface {
	decode(body []byte) error // into the answer, replacing what was there
	status() (code int, info string)
	// usable tells an answer with ErrorCode 0 that still cannot be used.
	usable() error
	// clean passes every ErrorInfo through f.
	clean(f func(string) string)
	requested() int // accounts asked for, for traces
}

// call makes one HTTP call and decodes its answer into ans. The returned
// *Error has Attempts unset.
func (c *Client) call(ctx context.Context, path, sig string, body []byte, ans answer) *Error {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.opts.BaseURL+path, bytes.NewReader(body))
	if err != nil {
		return &Error{Reason: ReasonNetwork, Err: redactURLError(err)}
	}
	// Tencent's SDKs put the UserSig into the query unescaped; its alphabet
	// (A-Z a-z 0-9 * - _) needs no escaping and the server's handling of
	// %2A is unknown, so the query is built by hand.
	req.URL.RawQuery = "sdkappid=" + strconv.FormatUint(c.opts.SDKAppID, 10) +
		"&identifier=" + url.QueryEscape(c.opts.Identifier) +
		"&usersig=" + sig +
		"&random=" + strconv.FormatUint(uint64(rand.Uint32()), 10) +
		"&contenttype=json"
	req.Header.Set("Content-Type", "application/json")

	resp, err := c.http.Do(req)
	if err != nil {
		return &Error{Reason: classify(ctx, err), Err: redactURLError(err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // keep the connection reusable
		return &Error{Reason: ReasonHTTPStatus, HTTPStatus: resp.StatusCode}
	}

	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	n, err := buf.ReadFrom(io.LimitReader(resp.Body, c.maxBody+1))
	if err != nil {
		e := &Error{Reason: classify(ctx, err), Err: redactURLError(err)}
		if e.Reason == ReasonNetwork && (errors.Is(err, io.ErrUnexpectedEOF) || badCompression(err)) {
			e.Reason = ReasonDecode // a truncated body, or gzip that does not inflate
		}
		return e
	}
	if n > c.maxBody {
		return &Error{Reason: ReasonDecode, Err: fmt.Errorf("answer larger than %d bytes", c.maxBody)}
	}
	if err := ans.decode(buf.Bytes()); err != nil {
		// The decoder quotes what it refused (a member name given twice,
		// say): untrusted text, bounded and redacted like ErrorInfo.
		return &Error{Reason: ReasonDecode, Err: errors.New(c.cleanInfo(err.Error(), sig))}
	}
	code, _ := ans.status()
	if code == 0 {
		// "OK" with nothing in it: calling it healthy would hide a
		// broken service or proxy.
		if err := ans.usable(); err != nil {
			return &Error{Reason: ReasonDecode, Err: err}
		}
	}
	ans.clean(func(info string) string { return c.cleanInfo(info, sig) })
	return nil
}

// badCompression tells the errors of a gzip body (which the transport
// inflates) that is not gzip: the answer is broken, the network is fine.
func badCompression(err error) bool {
	var corrupt flate.CorruptInputError
	return errors.Is(err, gzip.ErrHeader) || errors.Is(err, gzip.ErrChecksum) || errors.As(err, &corrupt)
}

// classify tells a timeout from other network failures.
func classify(ctx context.Context, err error) Reason {
	if ctx.Err() != nil && !errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
		return ReasonCanceled
	}
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
		return ReasonTimeout
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return ReasonTimeout
	}
	return ReasonNetwork
}

// IsRateLimit tells the answers given when calls come too fast: the
// RateLimitCodes and HTTP 429. They are retried with a longer backoff.
func IsRateLimit(e *Error) bool {
	if slices.Contains(RateLimitCodes[:], e.Code) {
		return true
	}
	return e.Reason == ReasonHTTPStatus && e.HTTPStatus == http.StatusTooManyRequests
}

// retryable lists what the reference calls transient. Everything else,
// invalid parameters and signature codes above all, fails at once; 70050
// (bad signatures while throttled) wants a minute, longer than a scrape.
func retryable(e *Error) bool {
	if IsRateLimit(e) {
		return true
	}
	if e.Code != 0 {
		switch e.Code {
		case 10002, 10004, 20004, 20005, 60008:
			return true
		}
		return false
	}
	switch e.Reason {
	case ReasonTimeout, ReasonNetwork:
		return true
	case ReasonHTTPStatus:
		return e.HTTPStatus >= 500
	}
	return false
}

// backoff is capped exponential backoff with full jitter: a random wait in
// [d/2, d) where d doubles with each retry up to the cap.
func (c *Client) backoff(e *Error, retry int) time.Duration {
	base, limit := c.backoffBase, c.backoffCap
	if IsRateLimit(e) {
		base, limit = c.rateLimitBackoffBase, c.rateLimitCap
	}
	d := base << (retry - 1)
	if d > limit || d <= 0 {
		d = limit
	}
	return d/2 + rand.N(d/2+1)
}
