package simulator

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestMessages: official_account_msg_get_simple as the reference says it
// answers: the newest messages newest first, with MsgSeq and MsgTimeStamp,
// a recalled newest marked IsPlaceMsg; an empty list for an account that
// never published; 130004 for one that is gone; the request's shape
// checked. Each call is counted.
func TestMessages(t *testing.T) {
	e := newEnv(t, 60)
	q := query(refApp, adminID, sign(t, refApp, refKey, adminID))
	type msg struct {
		IsPlaceMsg   int
		MsgSeq       int64
		MsgKey       string
		MsgTimeStamp int64
	}
	call := func(body string) (code int, list []msg, finished int) {
		t.Helper()
		resp, err := http.Post(e.srv.URL+MsgPath+"?"+q, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var a struct {
			ErrorCode  int
			IsFinished int
			RspMsgList []msg
		}
		if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
			t.Fatal(err)
		}
		return a.ErrorCode, a.RspMsgList, a.IsFinished
	}
	accts := e.app.Accounts()
	for i, acct := range accts {
		code, list, _ := call(`{"Official_Account":"` + acct.ID + `","ReqMsgNumber":3}`)
		switch {
		case acct.Terminated:
			if code != 130004 {
				t.Errorf("%s (terminated): code %d, want 130004", acct.ID, code)
			}
		case acct.Published == 0:
			if code != 0 || len(list) != 0 {
				t.Errorf("%s (never published): code %d, %d messages", acct.ID, code, len(list))
			}
		default:
			if code != 0 || len(list) == 0 || list[0].MsgSeq != acct.Published || list[0].MsgTimeStamp != acct.PublishedAt {
				t.Fatalf("%s: code %d, messages %+v, want the newest %d at %d", acct.ID, code, list, acct.Published, acct.PublishedAt)
			}
			if (list[0].IsPlaceMsg != 0) != acct.NewestRecalled {
				t.Errorf("%s: IsPlaceMsg %d, recalled %v", acct.ID, list[0].IsPlaceMsg, acct.NewestRecalled)
			}
			for k := 1; k < len(list); k++ {
				if list[k].MsgSeq != list[k-1].MsgSeq-1 || list[k].MsgTimeStamp >= list[k-1].MsgTimeStamp || list[k].IsPlaceMsg != 0 {
					t.Errorf("%s: message %d %+v after %+v", acct.ID, k, list[k], list[k-1])
				}
			}
		}
		if acct.Subscribers > acct.MaxSubscribers {
			t.Errorf("%s: %d subscribers over its cap %d", acct.ID, acct.Subscribers, acct.MaxSubscribers)
		}
		want := int64(100000)
		if i%50 == 0 {
			want = 500000
		}
		if acct.MaxSubscribers != want {
			t.Errorf("%s: cap %d, want %d", acct.ID, acct.MaxSubscribers, want)
		}
	}
	kinds := map[string]bool{}
	for _, a := range accts {
		kinds["terminated"] = kinds["terminated"] || a.Terminated
		kinds["silent"] = kinds["silent"] || (a.Published == 0 && !a.Terminated)
		kinds["recalled"] = kinds["recalled"] || a.NewestRecalled
		kinds["publishing"] = kinds["publishing"] || a.Published > 0
	}
	if len(kinds) != 4 || !kinds["terminated"] || !kinds["silent"] || !kinds["recalled"] || !kinds["publishing"] {
		t.Errorf("the accounts lack a kind: %v", kinds)
	}
	for body, want := range map[string]int{`nope`: 60003, `{"ReqMsgNumber":1}`: 20001, `{"Official_Account":"@TOA#_sim00001","ReqMsgNumber":0}`: 6017,
		`{"Official_Account":"@TOA#_unknown","ReqMsgNumber":1}`: 130004} {
		if code, _, _ := call(body); code != want {
			t.Errorf("%s: code %d, want %d", body, code, want)
		}
	}
	if s := e.app.Stats(); s.MsgCalls != int64(len(accts))+4 || s.Calls != 0 {
		t.Errorf("stats %+v", s)
	}
}
