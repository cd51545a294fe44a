package tencentchat

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Reason classifies a request that got no usable answer from the API. The
// values are the exporter's `reason` label values.
type Reason string

// Transport failure kinds. An answer with a non-zero ErrorCode has no Reason.
const (
	ReasonNone       Reason = ""
	ReasonTimeout    Reason = "timeout"
	ReasonNetwork    Reason = "network"
	ReasonHTTPStatus Reason = "http_status"
	ReasonDecode     Reason = "decode"
	// ReasonCanceled: the caller gave up before any deadline (it hung up,
	// or the process is shutting down). Not the API's failure: observers
	// see the call, without a reason.
	ReasonCanceled Reason = "canceled"
)

// Error is a request-level failure: either the API answered with a non-zero
// ErrorCode (Code != 0), or the request failed in transport (Reason != "").
// Its message never contains the secret key or a UserSig.
type Error struct {
	Code       int    // Tencent ErrorCode of the envelope, 0 for transport failures
	Info       string // Tencent ErrorInfo
	Reason     Reason // transport failure kind, "" for API error codes
	HTTPStatus int    // status code, for ReasonHTTPStatus
	Attempts   int    // calls made, retries included
	Err        error  // underlying transport or decode error, already redacted
}

func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.Code != 0:
		fmt.Fprintf(&b, "API error code %d", e.Code)
		if e.Info != "" {
			fmt.Fprintf(&b, " (%s)", e.Info)
		}
	case e.Reason == ReasonHTTPStatus:
		fmt.Fprintf(&b, "HTTP status %d", e.HTTPStatus)
	default:
		fmt.Fprintf(&b, "%s error", e.Reason)
		if e.Err != nil {
			fmt.Fprintf(&b, ": %v", e.Err)
		}
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " after %d attempts", e.Attempts)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// ErrorCode returns the Tencent ErrorCode carried by err, or 0.
func ErrorCode(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

// redactURLError rewrites the URL inside a *url.Error, which Go prints whole,
// query and UserSig included.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = redactURL(ue.URL)
	}
	return err
}

// redactURL keeps scheme, host and path and replaces the query, which holds
// the UserSig.
func redactURL(raw string) string {
	if i := strings.IndexByte(raw, '?'); i >= 0 {
		return raw[:i] + "?<redacted>"
	}
	return raw
}

// maxInfo bounds the ErrorInfo text kept from an answer: it is free text
// from the service or from whatever proxy stands in front of it.
const maxInfo = 256

// credentialLike matches runs that look like a UserSig or a secret key
// (both far longer than any word of an error message), so an answer that
// echoes the request, or a key, cannot carry them into a log.
var credentialLike = regexp.MustCompile(`[A-Za-z0-9*_+/=-]{40,}`)

// cleanInfo makes an ErrorInfo safe to log: the app's key and the UserSig
// of the call, and anything shaped like one, redacted; control characters
// escaped; cut to maxInfo bytes with the full length said.
func (c *Client) cleanInfo(info, sig string) string {
	if info == "" {
		return ""
	}
	full := len(info)
	for _, secret := range []string{c.opts.SecretKey, sig} {
		if secret != "" {
			info = strings.ReplaceAll(info, secret, "<redacted>")
		}
	}
	info = credentialLike.ReplaceAllString(info, "<redacted>")
	var b strings.Builder
	for _, r := range info {
		if b.Len() >= maxInfo {
			fmt.Fprintf(&b, "... (%d bytes)", full)
			break
		}
		switch {
		case r == utf8.RuneError:
			b.WriteString(`\ufffd`)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
