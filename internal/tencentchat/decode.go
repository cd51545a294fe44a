package tencentchat

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Field names a field of the ResponseFilter.
type Field string

// The fields an official account's information can be filtered to.
const (
	FieldCreateTime    Field = "CreateTime"
	FieldName          Field = "Name"
	FieldOwnerAccount  Field = "Owner_Account"
	FieldLastMsgTime   Field = "LastMsgTime"
	FieldSubscriberNum Field = "SubscriberNum"
	FieldIntroduction  Field = "Introduction"
	FieldFaceURL       Field = "FaceUrl"
	FieldOrganization  Field = "Organization"
	FieldCustomString  Field = "CustomString"
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

// AccountInfo is one item of OfficialAccountInfoList.
type AccountInfo struct {
	ErrorCode       OptInt `json:"ErrorCode"`
	ErrorInfo       string `json:"ErrorInfo"`
	OfficialAccount string `json:"Official_Account"`
	Name            string `json:"Name"`
	OwnerAccount    string `json:"Owner_Account"`
	CreateTime      OptInt `json:"CreateTime"`
	LastMsgTime     OptInt `json:"LastMsgTime"`
	SubscriberNum   OptInt `json:"SubscriberNum"`
	Introduction    string `json:"Introduction"`
	FaceURL         string `json:"FaceUrl"`
	Organization    string `json:"Organization"`
	CustomString    string `json:"CustomString"`
}

// envelope is the whole answer. Unknown fields (ErrorDisplay, RequestId, ...)
// are ignored: other Tencent APIs add them and this one may too.
type envelope struct {
	ActionStatus            string        `json:"ActionStatus"`
	ErrorCode               OptInt        `json:"ErrorCode"`
	ErrorInfo               string        `json:"ErrorInfo"`
	OfficialAccountInfoList []AccountInfo `json:"OfficialAccountInfoList"`
}

var errNoErrorCode = errors.New("answer has no ErrorCode")

// decodeOptions are encoding/json/v2's defaults (exact key names, unknown
// keys ignored, duplicate keys and trailing data refused, nesting bounded)
// with one leniency: invalid UTF-8 in a string, which a proxy may produce
// by cutting a name, becomes U+FFFD instead of failing the whole answer.
var decodeOptions = jsontext.AllowInvalidUTF8(true)

// decodeAnswer parses an answer body. It fails on anything that is not a
// JSON object with an integer ErrorCode, and on a list item without one: a
// value we cannot trust is never turned into a number.
func decodeAnswer(body []byte, env *envelope) error {
	if err := json.Unmarshal(body, env, decodeOptions); err != nil {
		return fmt.Errorf("undecodable answer: %w", err)
	}
	if !env.ErrorCode.Set {
		return errNoErrorCode
	}
	for i := range env.OfficialAccountInfoList {
		if !env.OfficialAccountInfoList[i].ErrorCode.Set {
			return fmt.Errorf("answer item %d has no ErrorCode", i)
		}
	}
	return nil
}
