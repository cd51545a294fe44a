package tencentchat

import (
	"errors"
	"fmt"
	"strconv"
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

// UnmarshalJSON accepts a JSON integer or null; anything else is an error,
// which makes the whole answer undecodable rather than silently wrong.
func (o *OptInt) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*o = OptInt{}
		return nil
	}
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return fmt.Errorf("not an integer: %.32q", b)
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

// decodeAnswer parses an answer body. It fails on anything that is not a
// JSON object with an integer ErrorCode, and on a list item without one: a
// value we cannot trust is never turned into a number.
func decodeAnswer(body []byte, env *envelope) error {
	if err := scanAnswer(body, env); err != nil {
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
