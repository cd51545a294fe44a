package tencentchat

import (
	"context"
	"encoding/json"
)

// APIMsgGetSimple is official_account_msg_get_simple, an account's newest
// messages; MsgGetSimplePath is its path.
const (
	APIMsgGetSimple  = "official_account_msg_get_simple"
	MsgGetSimplePath = "/v4/official_account_open_http_svc/official_account_msg_get_simple"
)

// msgLookBack is how many of an account's newest messages a call asks
// for: the newest that is not a placeholder (IsPlaceMsg: expired, failed
// to store, deleted or recalled) is the one that counts, and a recalled
// newest message must not make a publishing account look silent. At most
// 20 come in one answer.
const msgLookBack = 5

// Published is what an account's newest published message says: its
// MsgSeq (the account's message counter: how many it has published) and
// MsgTimeStamp. Found is false for an account with no such message among
// its newest.
type Published struct {
	Found bool
	Seq   int64
	Time  int64 // Unix seconds
}

type msgAnswer struct {
	ErrorCode OptInt `json:"ErrorCode"`
	ErrorInfo string `json:"ErrorInfo"`
	Messages  []struct {
		IsPlaceMsg   OptInt `json:"IsPlaceMsg"`
		MsgSeq       OptInt `json:"MsgSeq"`
		MsgTimeStamp OptInt `json:"MsgTimeStamp"`
	} `json:"RspMsgList"`
}

func (a *msgAnswer) decode(body []byte) error {
	*a = msgAnswer{}
	return decodeWithCode(body, a, &a.ErrorCode)
}

func (a *msgAnswer) status() (int, string)       { return int(a.ErrorCode.V), a.ErrorInfo }
func (a *msgAnswer) usable() error               { return nil } // no message is an answer too
func (a *msgAnswer) clean(f func(string) string) { a.ErrorInfo = f(a.ErrorInfo) }
func (a *msgAnswer) requested() int              { return 1 }
func (a *msgAnswer) newest() (p Published, bad int) {
	for _, m := range a.Messages {
		switch {
		case m.IsPlaceMsg.V != 0:
			continue
		case !m.MsgSeq.Set || !m.MsgTimeStamp.Set || m.MsgSeq.V < 0 || m.MsgTimeStamp.V <= 0:
			bad++ // a message without a usable sequence or time is not taken
			continue
		case !p.Found || m.MsgSeq.V > p.Seq:
			p = Published{Found: true, Seq: m.MsgSeq.V, Time: m.MsgTimeStamp.V}
		}
	}
	return p, bad
}

// LatestPublished calls official_account_msg_get_simple for one account
// and returns its newest published message; bad counts the messages whose
// sequence or time could not be used. A non-zero ErrorCode (130004 for an
// account that is gone) is an *Error, as for any call. pace, if not nil,
// is waited on before every HTTP call; observe is told of each.
func (c *Client) LatestPublished(ctx context.Context, account string, pace Waiter, observe func(Attempt)) (p Published, bad int, err error) {
	body, err := json.Marshal(struct {
		Account string `json:"Official_Account"`
		N       int    `json:"ReqMsgNumber"`
	}{account, msgLookBack})
	if err != nil {
		return Published{}, 0, err
	}
	var ans msgAnswer
	if err := c.do(ctx, APIMsgGetSimple, MsgGetSimplePath, body, &ans, pace, observe); err != nil {
		return Published{}, 0, err
	}
	p, bad = ans.newest()
	return p, bad, nil
}
