package tencentchat

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Field names a field of the ResponseFilter.
type Field string

// The fields of an official account's information that the exporter asks
// for (the ResponseFilter also knows Introduction, FaceUrl, Organization
// and CustomString).
const (
	FieldCreateTime    Field = "CreateTime"
	FieldName          Field = "Name"
	FieldOwnerAccount  Field = "Owner_Account"
	FieldLastMsgTime   Field = "LastMsgTime"
	FieldSubscriberNum Field = "SubscriberNum"
)

// OptInt is an integer field of the answer that may be absent. Absent and
// null leave Set false, so the exporter can omit a value it was not given
// instead of exporting 0.
type OptInt struct {
	V   int64
	Set bool
}

// UnmarshalJSONFrom accepts a JSON integer or null; anything else (a
// fraction, an exponent, a string, a number beyond int64) is an error,
// which makes the whole answer undecodable rather than silently wrong.
func (o *OptInt) UnmarshalJSONFrom(d *jsontext.Decoder) error {
	raw, err := d.ReadValue()
	if err != nil {
		return err
	}
	if raw.Kind() == 'n' {
		*o = OptInt{}
		return nil
	}
	v, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return fmt.Errorf("not an integer: %.32q", raw)
	}
	*o = OptInt{V: v, Set: true}
	return nil
}

// AccountInfo is one item of OfficialAccountInfoList: the fields that the
// exporter asks for, and what an item needs to be matched and judged. The
// other fields (Introduction, FaceUrl, ...) are skipped while decoding.
type AccountInfo struct {
	ErrorCode       OptInt `json:"ErrorCode"`
	ErrorInfo       string `json:"ErrorInfo"`
	OfficialAccount string `json:"Official_Account"`
	Name            string `json:"Name"`
	OwnerAccount    string `json:"Owner_Account"`
	CreateTime      OptInt `json:"CreateTime"`
	LastMsgTime     OptInt `json:"LastMsgTime"`
	SubscriberNum   OptInt `json:"SubscriberNum"`
}

// Fields are the fields a batch asks for (ResponseFilter): the ones
// AccountInfo keeps beyond the error and the ID, so the answer stays small.
// A field added to AccountInfo is added here too.
func Fields() []Field {
	return []Field{FieldName, FieldOwnerAccount, FieldCreateTime, FieldLastMsgTime, FieldSubscriberNum}
}

// envelope is the whole answer. Unknown fields (ErrorDisplay, RequestId, ...)
// are ignored: other Tencent APIs add them and this one may too. Only
// ErrorCode is required; ActionStatus is absent from some APIs' answers.
type envelope struct {
	ActionStatus            string   `json:"ActionStatus"`
	ErrorCode               OptInt   `json:"ErrorCode"`
	ErrorInfo               string   `json:"ErrorInfo"`
	OfficialAccountInfoList itemList `json:"OfficialAccountInfoList"`

	asked int // accounts asked for; not part of the answer
}

// item is one entry of OfficialAccountInfoList. An entry that is valid
// JSON but not a usable item (a field of the wrong type, no ErrorCode) has
// Err set and, where it could be read, its Official_Account: one bad value
// makes its own account unusable, not the whole batch.
type item struct {
	AccountInfo
	Err error
}

// itemList decodes the list item by item.
type itemList []item

// UnmarshalJSONFrom reads each item as a whole JSON value (a syntax error
// still fails the whole answer: nothing after it can be trusted) and
// decodes it on its own.
func (l *itemList) UnmarshalJSONFrom(d *jsontext.Decoder) error {
	switch d.PeekKind() {
	case 'n':
		_, err := d.ReadToken()
		*l = nil
		return err
	case '[':
	default:
		_, err := d.ReadValue()
		if err == nil {
			err = errors.New("OfficialAccountInfoList is not a list")
		}
		return err
	}
	if _, err := d.ReadToken(); err != nil {
		return err
	}
	for d.PeekKind() != ']' {
		raw, err := d.ReadValue()
		if err != nil {
			return err
		}
		// Decoded in place: the list is sized to the request, so an item
		// costs no allocation of its own.
		*l = append(*l, item{})
		it := &(*l)[len(*l)-1]
		if err := json.Unmarshal(raw, &it.AccountInfo, itemOptions); err != nil {
			*it = item{Err: itemError(err)}
			var id struct {
				ID string `json:"Official_Account"`
			}
			if json.Unmarshal(raw, &id, decodeOptions) == nil {
				it.OfficialAccount = id.ID
			}
		} else if !it.ErrorCode.Set {
			*it = item{AccountInfo: AccountInfo{OfficialAccount: it.OfficialAccount}, Err: errors.New("no ErrorCode")}
		}
	}
	_, err := d.ReadToken()
	return err
}

// itemError names the field that failed, without the library's Go type
// names.
func itemError(err error) error {
	var se *json.SemanticError
	if !errors.As(err, &se) {
		return err
	}
	what := "wrong type"
	if se.Err != nil {
		what = se.Err.Error()
	} else if se.JSONKind != 0 {
		what = "unexpected JSON " + se.JSONKind.String()
	}
	if se.JSONPointer == "" {
		return fmt.Errorf("item: %s", what)
	}
	return fmt.Errorf("field %s: %s", strings.TrimPrefix(string(se.JSONPointer), "/"), what)
}

var errNoErrorCode = errors.New("answer has no ErrorCode")

// get_official_account_info's answer.

func (e *envelope) decode(body []byte) error {
	list := e.OfficialAccountInfoList[:0]
	*e = envelope{OfficialAccountInfoList: list, asked: e.asked}
	return decodeAnswer(body, e)
}

func (e *envelope) status() (int, string) { return int(e.ErrorCode.V), e.ErrorInfo }

func (e *envelope) usable() error {
	if len(e.OfficialAccountInfoList) == 0 {
		return errors.New("ErrorCode 0 but no OfficialAccountInfoList items")
	}
	return nil
}

func (e *envelope) clean(f func(string) string) {
	e.ErrorInfo = f(e.ErrorInfo)
	for i := range e.OfficialAccountInfoList {
		it := &e.OfficialAccountInfoList[i]
		if it.ErrorInfo != "" {
			it.ErrorInfo = f(it.ErrorInfo)
		}
		if it.Err != nil {
			it.Err = errors.New(f(it.Err.Error()))
		}
	}
}

func (e *envelope) requested() int { return e.asked }

// decodeOptions are encoding/json/v2's defaults (exact key names, unknown
// keys ignored, duplicate keys and trailing data refused, nesting bounded)
// with one leniency: invalid UTF-8 in a string, which a proxy may produce
// by cutting a name, becomes U+FFFD instead of failing the whole answer.
var decodeOptions = jsontext.AllowInvalidUTF8(true)

// itemOptions decode an item that the list's decoder has already read
// whole, and so checked for repeated keys: not checking again saves about
// 5% of an item's cost.
var itemOptions = json.JoinOptions(decodeOptions, jsontext.AllowDuplicateNames(true))

// decodeAnswer parses an answer body. It fails on anything that is not a
// JSON object with an integer ErrorCode; a list item that is not usable is
// marked (item.Err), never turned into numbers.
func decodeAnswer(body []byte, env *envelope) error {
	if err := json.Unmarshal(body, env, decodeOptions); err != nil {
		return fmt.Errorf("undecodable answer: %w", err)
	}
	if !env.ErrorCode.Set {
		return errNoErrorCode
	}
	return nil
}
