package tencentchat

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// A decoder for exactly the answer's shape, which the exporter parses
// 50 accounts at a time on every scrape. encoding/json spends most of its
// time on reflection and on a separate validation pass; this one makes a
// single pass and writes straight into the fields the exporter uses. It
// follows encoding/json's rules wherever they differ from strict JSON
// (keys match case-insensitively when no exact match exists, invalid UTF-8
// in strings becomes U+FFFD, the last of repeated keys wins), and a
// differential fuzz test holds it to encoding/json's results.

// maxDepth bounds the nesting of skipped values, as encoding/json does.
const maxDepth = 10000

type scanner struct {
	b       []byte
	i       int
	depth   int
	scratch []byte // unescaped string values; copied out at once
	keyBuf  []byte // unescaped keys; a key is in use while its value is read
}

var errSyntax = errors.New("invalid JSON")

func (s *scanner) fail(what string) error {
	return fmt.Errorf("%w: %s at offset %d", errSyntax, what, s.i)
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, or 0 at the end (which a NUL in
// the input also returns: callers check for the end with s.i).
func (s *scanner) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) expect(c byte) error {
	if s.peek() != c {
		return s.fail(fmt.Sprintf("want %q", c))
	}
	s.i++
	return nil
}

func (s *scanner) literal(lit string) error {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return s.fail("bad literal")
	}
	s.i += len(lit)
	return nil
}

// object calls field for each key of an object; field must consume the
// value.
func (s *scanner) object(field func(key []byte) error) error {
	if err := s.expect('{'); err != nil {
		return err
	}
	if s.peek() == '}' {
		s.i++
		return nil
	}
	for {
		if s.peek() != '"' {
			return s.fail("want a key")
		}
		key, err := s.str(&s.keyBuf)
		if err != nil {
			return err
		}
		if err := s.expect(':'); err != nil {
			return err
		}
		s.ws()
		if err := field(key); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return s.fail("want , or }")
		}
	}
}

// str reads a string. Plain strings are returned as a slice of the input,
// without copying; others are unescaped into *buf, which is reused, so the
// result is valid only until the next call with the same buffer.
func (s *scanner) str(buf *[]byte) ([]byte, error) {
	s.i++ // opening quote, checked by the caller
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			out := s.b[start:s.i]
			s.i++
			return out, nil
		case c == '\\' || c >= utf8.RuneSelf:
			if buf == nil {
				var discard []byte
				buf = &discard
			}
			out, err := s.slowStr(append((*buf)[:0], s.b[start:s.i]...))
			*buf = out
			return out, err
		case c < 0x20:
			return nil, s.fail("control character in string")
		}
		s.i++
	}
	return nil, s.fail("unterminated string")
}

// slowStr finishes a string that has escapes or non-ASCII bytes, with
// encoding/json's treatment of bad UTF-8 and lone surrogates (U+FFFD).
func (s *scanner) slowStr(out []byte) ([]byte, error) {
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return out, nil
		case c < 0x20:
			return nil, s.fail("control character in string")
		case c == '\\':
			if s.i+1 >= len(s.b) {
				return nil, s.fail("unterminated escape")
			}
			e := s.b[s.i+1]
			s.i += 2
			switch e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, ok := s.hex4()
				if !ok {
					return nil, s.fail("bad \\u escape")
				}
				if utf16.IsSurrogate(r) {
					// A pair only if a \u low surrogate follows at once.
					r2 := rune(-1)
					if s.i+1 < len(s.b) && s.b[s.i] == '\\' && s.b[s.i+1] == 'u' {
						save := s.i
						s.i += 2
						var ok2 bool
						if r2, ok2 = s.hex4(); !ok2 {
							return nil, s.fail("bad \\u escape")
						}
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							out = utf8.AppendRune(out, dec)
							continue
						}
						s.i = save // not a pair: the second escape stands alone
					}
					r = utf8.RuneError
				}
				out = utf8.AppendRune(out, r)
			default:
				return nil, s.fail("bad escape")
			}
		case c < utf8.RuneSelf:
			out = append(out, c)
			s.i++
		default:
			r, size := utf8.DecodeRune(s.b[s.i:])
			if r == utf8.RuneError && size == 1 {
				out = utf8.AppendRune(out, utf8.RuneError)
			} else {
				out = append(out, s.b[s.i:s.i+size]...)
			}
			s.i += size
		}
	}
	return nil, s.fail("unterminated string")
}

func (s *scanner) hex4() (rune, bool) {
	if len(s.b)-s.i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range s.b[s.i : s.i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r*16 + rune(c)
	}
	s.i += 4
	return r, true
}

// number reads a JSON number and returns its text.
func (s *scanner) number() ([]byte, error) {
	start := s.i
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i < len(s.b) && s.b[s.i] == '0':
		s.i++
	case s.i < len(s.b) && '1' <= s.b[s.i] && s.b[s.i] <= '9':
		for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
			s.i++
		}
	default:
		return nil, s.fail("bad number")
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if s.i >= len(s.b) || s.b[s.i] < '0' || s.b[s.i] > '9' {
			return nil, s.fail("bad number")
		}
		for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
			s.i++
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if s.i >= len(s.b) || s.b[s.i] < '0' || s.b[s.i] > '9' {
			return nil, s.fail("bad number")
		}
		for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
			s.i++
		}
	}
	return s.b[start:s.i], nil
}

// skip consumes any value.
func (s *scanner) skip() error {
	switch c := s.peek(); c {
	case '{':
		if s.depth++; s.depth > maxDepth {
			return s.fail("nested too deep")
		}
		err := s.object(func([]byte) error { return s.skip() })
		s.depth--
		return err
	case '[':
		if s.depth++; s.depth > maxDepth {
			return s.fail("nested too deep")
		}
		err := s.array(func() error { return s.skip() })
		s.depth--
		return err
	case '"':
		_, err := s.str(&s.scratch)
		return err
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	default:
		_, err := s.number()
		return err
	}
}

// array calls elem for each element; elem must consume it.
func (s *scanner) array(elem func() error) error {
	if err := s.expect('['); err != nil {
		return err
	}
	if s.peek() == ']' {
		s.i++
		return nil
	}
	for {
		s.ws()
		if err := elem(); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			return nil
		default:
			return s.fail("want , or ]")
		}
	}
}

// intField reads an integer or null into o. A value of another type is an
// error, as is a number that is not a whole int64.
func (s *scanner) intField(o *OptInt) error {
	switch s.peek() {
	case 'n':
		// encoding/json leaves the field as it was on null.
		return s.literal("null")
	case '"', '{', '[', 't', 'f':
		if err := s.skip(); err != nil {
			return err
		}
		return errNotInteger
	}
	num, err := s.number()
	if err != nil {
		return err
	}
	v, err := strconv.ParseInt(string(num), 10, 64)
	if err != nil {
		return errNotInteger
	}
	*o = OptInt{V: v, Set: true}
	return nil
}

var errNotInteger = errors.New("not an integer")

// strField reads a string or null into dst.
func (s *scanner) strField(dst *string) error {
	switch s.peek() {
	case 'n':
		return s.literal("null")
	case '"':
	default:
		if err := s.skip(); err != nil {
			return err
		}
		return errors.New("not a string")
	}
	b, err := s.str(&s.scratch)
	if err != nil {
		return err
	}
	*dst = string(b)
	return nil
}

// keyIs matches a key the way encoding/json matches struct fields: exactly,
// or else as bytes.EqualFold does.
func keyIs(key []byte, name string) bool {
	return string(key) == name || bytes.EqualFold(key, []byte(name))
}

// scanAnswer decodes an answer into env in one pass.
func scanAnswer(body []byte, env *envelope) error {
	s := &scanner{b: body}
	seenList := false
	err := s.object(func(key []byte) error {
		switch {
		case keyIs(key, "ErrorCode"):
			return s.intField(&env.ErrorCode)
		case keyIs(key, "ErrorInfo"):
			return s.strField(&env.ErrorInfo)
		case keyIs(key, "ActionStatus"):
			return s.strField(&env.ActionStatus)
		case keyIs(key, "OfficialAccountInfoList"):
			// encoding/json would decode a second list over the first,
			// keeping stale fields; no real answer repeats it.
			if seenList {
				return errors.New("OfficialAccountInfoList given twice")
			}
			seenList = true
			return s.list(env)
		}
		return s.skip()
	})
	if err != nil {
		return err
	}
	if s.ws(); s.i < len(s.b) {
		return s.fail("data after the answer")
	}
	return nil
}

func (s *scanner) list(env *envelope) error {
	if s.peek() == 'n' {
		env.OfficialAccountInfoList = nil
		return s.literal("null")
	}
	items := env.OfficialAccountInfoList[:0]
	if items == nil {
		items = []AccountInfo{} // encoding/json gives [] for [], not nil
	}
	err := s.array(func() error {
		items = append(items, AccountInfo{})
		return s.item(&items[len(items)-1])
	})
	env.OfficialAccountInfoList = items
	return err
}

func (s *scanner) item(a *AccountInfo) error {
	if s.peek() != '{' {
		return s.fail("list item is not an object")
	}
	return s.object(func(key []byte) error {
		switch {
		case keyIs(key, "ErrorCode"):
			return s.intField(&a.ErrorCode)
		case keyIs(key, "Official_Account"):
			return s.strField(&a.OfficialAccount)
		case keyIs(key, "SubscriberNum"):
			return s.intField(&a.SubscriberNum)
		case keyIs(key, "LastMsgTime"):
			return s.intField(&a.LastMsgTime)
		case keyIs(key, "CreateTime"):
			return s.intField(&a.CreateTime)
		case keyIs(key, "Name"):
			return s.strField(&a.Name)
		case keyIs(key, "Owner_Account"):
			return s.strField(&a.OwnerAccount)
		case keyIs(key, "ErrorInfo"):
			return s.strField(&a.ErrorInfo)
		case keyIs(key, "Introduction"):
			return s.strField(&a.Introduction)
		case keyIs(key, "FaceUrl"):
			return s.strField(&a.FaceURL)
		case keyIs(key, "Organization"):
			return s.strField(&a.Organization)
		case keyIs(key, "CustomString"):
			return s.strField(&a.CustomString)
		}
		return s.skip()
	})
}
