// Package tencentchat is a client of Tencent Cloud Chat's REST API call
// get_official_account_info: it signs calls with a cached UserSig, retries
// what is transient, and reports every attempt to an observer. It knows
// nothing of Prometheus.
package tencentchat

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// APIPath is the path of get_official_account_info.
const APIPath = "/v4/official_account_open_http_svc/get_official_account_info"

// maxBody bounds an answer: 50 accounts with every field take some 30 KiB.
const maxBody = 4 << 20

// The APIs the client calls, by the names the exporter's api label uses.
const (
	APIOfficialAccountInfo = "get_official_account_info"
	APIAppInfo             = "getappinfo"
)

// AppInfoPath is the path of getappinfo, the app statistics API.
const AppInfoPath = "/v4/openconfigsvr/getappinfo"

// Attempt describes one HTTP call, for metrics.
type Attempt struct {
	API    string // APIOfficialAccountInfo or APIAppInfo
	Code   int    // envelope ErrorCode when the answer decoded, else 0
	Reason Reason // transport failure kind, "" when the answer decoded
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

	// OnAttempt, if set, is called after every HTTP call, retries included.
	OnAttempt func(Attempt)
}

// Client calls get_official_account_info for one app. It is safe for
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

// Result is the answer for one requested account, in request order.
type Result struct {
	ID       string
	Answered bool // the answer listed this account; Info is zero otherwise
	Info     AccountInfo
	Err      error // the account's item was malformed; Info is zero
}

// Answer is a call's outcome per requested account.
type Answer struct {
	Results []Result // one per requested account, in request order
	// OtherCodes are the non-zero ErrorCodes of items that could not be
	// matched to a requested account (no Official_Account and no position
	// to go by, or an account not asked for): they count for the app.
	OtherCodes []int
}

// Batch is a prepared request for some accounts: its body is built once,
// so a batch that is asked for on every scrape costs no encoding. The API
// takes at most 50 accounts a call and answers more with an error code;
// the configuration enforces the limit.
type Batch struct {
	ids  []string
	body []byte
}

// Len is the number of accounts in the batch.
func (b *Batch) Len() int { return len(b.ids) }

// NewBatch prepares a request for ids with a ResponseFilter of fields (all
// fields when empty).
func NewBatch(ids []string, fields []Field) (*Batch, error) {
	if len(ids) == 0 {
		return nil, errors.New("no accounts to ask for")
	}
	body, err := requestBody(ids, fields)
	if err != nil {
		return nil, err
	}
	return &Batch{ids: ids, body: body}, nil
}

// GetOfficialAccountInfo asks for some accounts (at most 50), with a
// ResponseFilter of fields (all fields when empty). A request-level failure
// is an *Error; otherwise there is one Result per id, each with its own
// ErrorCode.
func (c *Client) GetOfficialAccountInfo(ctx context.Context, ids []string, fields []Field) (*Answer, error) {
	b, err := NewBatch(ids, fields)
	if err != nil {
		return nil, err
	}
	return c.Fetch(ctx, b)
}

// Fetch is GetOfficialAccountInfo for a prepared batch.
func (c *Client) Fetch(ctx context.Context, b *Batch) (*Answer, error) {
	env := &envelope{OfficialAccountInfoList: make(itemList, 0, len(b.ids)), asked: len(b.ids)}
	if err := c.do(ctx, APIOfficialAccountInfo, APIPath, b.body, env); err != nil {
		return nil, err
	}
	return matchResults(b.ids, env.OfficialAccountInfoList), nil
}

type requestAccount struct {
	ID string `json:"Official_Account"`
}

type requestFilter struct {
	Fields []Field `json:"OfficialAccountBaseInfoFilter"`
}

type request struct {
	IDs    []requestAccount `json:"OfficialAccountIdList"`
	Filter *requestFilter   `json:"ResponseFilter,omitempty"`
}

func requestBody(ids []string, fields []Field) ([]byte, error) {
	req := request{IDs: make([]requestAccount, len(ids))}
	for i, id := range ids {
		req.IDs[i].ID = id
	}
	if len(fields) > 0 {
		req.Filter = &requestFilter{Fields: fields}
	}
	return json.Marshal(req)
}

// matchResults lines the answer up with the request. Neither the order of
// the items nor that error items carry Official_Account is documented, so
// items are matched by ID; an item without one takes its position only
// when the answer has exactly one item per requested account and no other
// item claimed that account. Anything else stays unmatched: a value is
// never attached to an account it may not belong to.
func matchResults(ids []string, items itemList) *Answer {
	ans := &Answer{Results: make([]Result, len(ids))}
	index := make(map[string]int, len(ids))
	for i, id := range ids {
		ans.Results[i].ID = id
		index[id] = i
	}
	take := func(i int, it *item) {
		r := &ans.Results[i]
		r.Answered = true
		if it.Err != nil {
			r.Err = it.Err
		} else {
			r.Info = it.AccountInfo
		}
	}
	var idless []int // positions of items without an ID
	for j := range items {
		it := &items[j]
		if it.OfficialAccount == "" {
			idless = append(idless, j)
			continue
		}
		if i, ok := index[it.OfficialAccount]; ok && !ans.Results[i].Answered {
			take(i, it)
			continue
		}
		ans.other(it)
	}
	for _, j := range idless {
		if len(items) == len(ids) && !ans.Results[j].Answered {
			take(j, &items[j])
			continue
		}
		ans.other(&items[j])
	}
	return ans
}

func (a *Answer) other(it *item) {
	if it.Err == nil && it.ErrorCode.V != 0 {
		a.OtherCodes = append(a.OtherCodes, int(it.ErrorCode.V))
	}
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// do runs the call with retries. Each attempt gets a fresh random and, after
// a 70001, one immediate attempt with a freshly signed UserSig.
func (c *Client) do(ctx context.Context, api, path string, body []byte, ans answer) error {
	var (
		last     *Error
		resigned bool
	)
	for attempt, retries := 1, 0; ; attempt++ {
		if c.opts.Limiter != nil {
			if err := c.opts.Limiter.Wait(ctx); err != nil {
				return finalError(ctx, last, attempt-1)
			}
		}
		sig, err := c.signer.get()
		if err != nil {
			return err
		}
		began := time.Now()
		callErr := c.call(ctx, api, path, sig, body, ans)
		trace := traceFrom(ctx)
		tr := AttemptTrace{Attempt: attempt, Accounts: ans.requested(), HTTPStatus: http.StatusOK, Duration: time.Since(began)}
		if callErr == nil {
			code, info := ans.status()
			if code == 0 {
				trace(tr)
				return nil
			}
			callErr = &Error{Code: code, Info: info} // cleaned by call
		}
		tr.Code, tr.Info, tr.Reason = callErr.Code, callErr.Info, callErr.Reason
		if callErr.Reason != ReasonNone {
			tr.HTTPStatus = callErr.HTTPStatus
			if callErr.Err != nil {
				tr.Info = callErr.Err.Error()
			}
		}
		if ctx.Err() != nil && last != nil {
			// The caller's deadline cut this retry short; what went wrong
			// before it says more than "timeout".
			trace(tr)
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
			tr.Retry = "at once, re-signed"
			trace(tr)
			continue
		}
		if !retryable(last) || retries >= c.opts.Retries || ctx.Err() != nil {
			trace(tr)
			return last
		}
		retries++
		wait := c.backoff(last, retries)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			trace(tr)
			return last // sleeping would outlive the caller
		}
		tr.Retry = "after " + wait.Round(time.Millisecond).String()
		trace(tr)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return last
		case <-t.C:
		}
	}
}

// AttemptTrace is one HTTP call in detail, for a debug view of a scrape.
type AttemptTrace struct {
	Attempt    int           // 1 for the first call of a request
	Accounts   int           // accounts asked for
	HTTPStatus int           // 0 when no answer came
	Reason     Reason        // transport failure kind, "" when the answer decoded
	Code       int           // ErrorCode of the answer
	Info       string        // ErrorInfo (cleaned), or the transport error
	Duration   time.Duration // of this call
	Retry      string        // when it is retried ("after 120ms"), "" if not
}

type traceKey struct{}

// WithTrace returns a context whose calls report every attempt to f.
func WithTrace(ctx context.Context, f func(AttemptTrace)) context.Context {
	return context.WithValue(ctx, traceKey{}, f)
}

func traceFrom(ctx context.Context) func(AttemptTrace) {
	if f, ok := ctx.Value(traceKey{}).(func(AttemptTrace)); ok {
		return f
	}
	return func(AttemptTrace) {}
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

// call makes one HTTP call of api and decodes its answer into ans. The
// returned *Error has Attempts unset.
func (c *Client) call(ctx context.Context, api, path, sig string, body []byte, ans answer) *Error {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	fail := func(e *Error) *Error {
		c.observe(Attempt{API: api, Reason: e.Reason})
		return e
	}

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
		return fail(&Error{Reason: classify(ctx, err), Err: redactURLError(err)})
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // keep the connection reusable
		return fail(&Error{Reason: ReasonHTTPStatus, HTTPStatus: resp.StatusCode})
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
		return fail(e)
	}
	if n > c.maxBody {
		return fail(&Error{Reason: ReasonDecode, Err: fmt.Errorf("answer larger than %d bytes", c.maxBody)})
	}
	if err := ans.decode(buf.Bytes()); err != nil {
		return fail(&Error{Reason: ReasonDecode, Err: err})
	}
	code, _ := ans.status()
	if code == 0 {
		// "OK" with nothing in it: calling it healthy would hide a
		// broken service or proxy.
		if err := ans.usable(); err != nil {
			return fail(&Error{Reason: ReasonDecode, Err: err})
		}
	}
	ans.clean(func(info string) string { return c.cleanInfo(info, sig) })
	c.observe(Attempt{API: api, Code: code})
	return nil
}

func (c *Client) observe(a Attempt) {
	if a.Reason == ReasonCanceled {
		a.Reason = ReasonNone // a call made, and cut by the caller: not the API's failure
	}
	if c.opts.OnAttempt != nil {
		c.opts.OnAttempt(a)
	}
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

// isRateLimit tells the answers given when calls come too fast: the
// rate-limit codes and HTTP 429. They are retried with a longer backoff.
func isRateLimit(e *Error) bool {
	switch e.Code {
	case 60007, 60011, 60018, 60019:
		return true
	}
	return e.Reason == ReasonHTTPStatus && e.HTTPStatus == http.StatusTooManyRequests
}

// retryable lists what the reference calls transient. Everything else,
// invalid parameters and signature codes above all, fails at once; 70050
// (bad signatures while throttled) wants a minute, longer than a scrape.
func retryable(e *Error) bool {
	if isRateLimit(e) {
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
	if isRateLimit(e) {
		base, limit = c.rateLimitBackoffBase, c.rateLimitCap
	}
	d := base << (retry - 1)
	if d > limit || d <= 0 {
		d = limit
	}
	return d/2 + rand.N(d/2+1)
}
