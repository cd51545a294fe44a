package tencentchat

import "testing"

// TestNewestPublished: the newest message that is not a placeholder, by
// MsgSeq whatever the order; placeholders (recalled, expired) skipped;
// messages without a usable sequence or time counted as bad and never
// taken; hostile shapes refused or left out, never invented.
func TestNewestPublished(t *testing.T) {
	cases := []struct {
		name    string
		body    string
		want    Published
		bad     int
		decodes bool
	}{
		{"the reference's sample", `{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0,"Official_Account":"@TOA#_15ERQPAER","IsFinished":1,"LastMsgKey":"71_1_1698741698","RspMsgList":[{"From_Account":"144115197276518801","IsPlaceMsg":0,"MsgSeq":71,"MsgKey":"71_1_1698741698","MsgTimeStamp":1698741698,"MsgBody":[]}]}`,
			Published{true, 71, 1698741698}, 0, true},
		{"the newest recalled", `{"ErrorCode":0,"RspMsgList":[{"IsPlaceMsg":2,"MsgSeq":9,"MsgTimeStamp":900},{"IsPlaceMsg":0,"MsgSeq":8,"MsgTimeStamp":800}]}`,
			Published{true, 8, 800}, 0, true},
		{"oldest first", `{"ErrorCode":0,"RspMsgList":[{"MsgSeq":3,"MsgTimeStamp":300},{"MsgSeq":5,"MsgTimeStamp":500}]}`,
			Published{true, 5, 500}, 0, true},
		{"never published: empty", `{"ErrorCode":0,"RspMsgList":[]}`, Published{}, 0, true},
		{"never published: absent", `{"ErrorCode":0}`, Published{}, 0, true},
		{"all placeholders", `{"ErrorCode":0,"RspMsgList":[{"IsPlaceMsg":1,"MsgSeq":4,"MsgTimeStamp":400}]}`, Published{}, 0, true},
		{"no sequence, negative time", `{"ErrorCode":0,"RspMsgList":[{"MsgTimeStamp":400},{"MsgSeq":2,"MsgTimeStamp":-5},{"MsgSeq":1,"MsgTimeStamp":100}]}`,
			Published{true, 1, 100}, 2, true},
		{"a string sequence", `{"ErrorCode":0,"RspMsgList":[{"MsgSeq":"7","MsgTimeStamp":700}]}`, Published{}, 0, false},
		{"a fraction", `{"ErrorCode":0,"RspMsgList":[{"MsgSeq":7.5,"MsgTimeStamp":700}]}`, Published{}, 0, false},
		{"no ErrorCode", `{"RspMsgList":[]}`, Published{}, 0, false},
		{"not JSON", `<html>`, Published{}, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var a msgAnswer
			err := a.decode([]byte(c.body))
			if (err == nil) != c.decodes {
				t.Fatalf("decode: %v, want decodes %v", err, c.decodes)
			}
			if err != nil {
				return
			}
			got, bad := a.newest()
			if got != c.want || bad != c.bad {
				t.Errorf("newest %+v, %d bad; want %+v, %d", got, bad, c.want, c.bad)
			}
		})
	}
}
