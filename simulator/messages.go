package simulator

import (
	"encoding/json"
	"fmt"
	"io"
)

// MsgPath is the path of official_account_msg_get_simple: an official
// account's newest messages, written from the reference (third research
// pass).
const MsgPath = "/v4/official_account_open_http_svc/official_account_msg_get_simple"

// maxMsgs is the most messages one answer holds.
const maxMsgs = 20

// messages answers official_account_msg_get_simple for one account: its
// newest ReqMsgNumber messages (at most 20), newest first, each a MsgSeq
// one below the last and an hour older; the newest marked IsPlaceMsg when
// it was recalled. An account that never published has an empty
// RspMsgList; one that does not exist or was terminated answers 130004.
// LastMsgKey (paging to older messages) is not simulated: it answers as
// without.
func (a *App) messages(body io.Reader) ([]byte, int) {
	raw, err := io.ReadAll(io.LimitReader(body, maxRequestBody))
	if err != nil {
		return nil, 60002
	}
	var req struct {
		Account *string `json:"Official_Account"`
		N       *int    `json:"ReqMsgNumber"`
	}
	if err := json.Unmarshal(raw, &req); err != nil {
		return nil, 60003
	}
	if req.Account == nil || req.N == nil {
		return nil, 20001
	}
	if *req.N < 1 {
		return nil, 6017
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	acct := a.byID[*req.Account]
	if acct == nil || acct.Terminated {
		return nil, 130004
	}
	type msg struct {
		From      string          `json:"From_Account"`
		Place     int             `json:"IsPlaceMsg"`
		Seq       int64           `json:"MsgSeq"`
		Key       string          `json:"MsgKey"`
		Timestamp int64           `json:"MsgTimeStamp"`
		Body      json.RawMessage `json:"MsgBody"`
	}
	list := []msg{}
	n := min(*req.N, maxMsgs)
	for k := int64(0); k < int64(n) && acct.Published-k >= 1; k++ {
		m := msg{From: acct.Owner, Seq: acct.Published - k, Timestamp: acct.PublishedAt - 3600*k,
			Body: json.RawMessage(`[{"MsgType":"TIMTextElem","MsgContent":{"Text":"simulated"}}]`)}
		m.Key = fmt.Sprintf("%d_1_%d", m.Seq, m.Timestamp)
		if k == 0 && acct.NewestRecalled {
			m.Place = 2 // recalled (SDK models); 1 is expired, failed or deleted
		}
		list = append(list, m)
	}
	finished, lastKey := 1, ""
	if int64(n) < acct.Published {
		finished = 0
	}
	if len(list) > 0 {
		lastKey = list[len(list)-1].Key
	}
	out, _ := json.Marshal(map[string]any{"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0,
		"Official_Account": acct.ID, "IsFinished": finished, "LastMsgKey": lastKey, "RspMsgList": list})
	return out, 0
}
