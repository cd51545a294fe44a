package tencentchat

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// jsonAnswer is the reference: what encoding/json makes of a body.
func jsonAnswer(body []byte, env *envelope) error { return json.Unmarshal(body, env) }

func TestScanMatchesEncodingJSON(t *testing.T) {
	bodies := [][]byte{answer50()}
	files, _ := filepath.Glob("testdata/*.json")
	for _, f := range files {
		b, _ := os.ReadFile(f)
		bodies = append(bodies, b)
	}
	bodies = append(bodies,
		[]byte(` { "ErrorCode" : 0 , "OfficialAccountInfoList" : [ { "ErrorCode" : 0 , "Name" : "caf\u00e9 \"q\" \\ \/ \b\f\n\r\t \ud83d\ude00 \ud800 x" } ] } `),
		[]byte("{\"ErrorCode\":0,\"OfficialAccountInfoList\":[{\"ErrorCode\":0,\"Name\":\"bad \xff utf8 \xe4\xb8\"}]}"),
		[]byte(`{"errorcode":7,"officialaccountinfolist":[{"errorcode":1,"subscribernum":5,"NAME":"x"}]}`),
		[]byte(`{"ErrorCode":0,"Extra":{"a":[1,2,{"b":null}],"c":true,"d":-1.5e+10},"OfficialAccountInfoList":null}`),
		[]byte(`{"ErrorCode":0,"OfficialAccountInfoList":[{"ErrorCode":0,"SubscriberNum":null,"Name":null}]}`),
		[]byte(`{"ErrorCode":1,"ErrorCode":2}`),
		[]byte(`{"ErrorCode":0,"OfficialAccountInfoList":[]}`),
	)
	for i, b := range bodies {
		var got, want envelope
		errGot, errWant := scanAnswer(b, &got), jsonAnswer(b, &want)
		if errGot != nil || errWant != nil {
			t.Errorf("body %d: scan %v, encoding/json %v", i, errGot, errWant)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("body %d:\nscan %+v\njson %+v", i, got, want)
		}
	}
}

func TestScanRejects(t *testing.T) {
	for _, b := range []string{
		``, `{`, `{"ErrorCode":0`, `{"ErrorCode":0}x`, `{"ErrorCode":0,}`, `{"ErrorCode":01}`, `{"ErrorCode":-}`,
		`{"ErrorCode":1.}`, `{"ErrorCode":1e}`, `{"a":"\x"}`, `{"a":"\u12"}`, "{\"a\":\"\x01\"}", `{"a":tru}`,
		`{"ErrorCode":0,"OfficialAccountInfoList":[1]}`, `{"ErrorCode":0,"OfficialAccountInfoList":[{},]}`,
		`{"ErrorCode":0,"OfficialAccountInfoList":[],"OfficialAccountInfoList":[]}`, `[]`, `null`,
		`{"ErrorCode":"0"}`, `{"ErrorInfo":5}`, `{"a":[` + string(make([]byte, 0)) + `}`,
	} {
		var env envelope
		if err := scanAnswer([]byte(b), &env); err == nil {
			t.Errorf("accepted %q", b)
		}
	}
}

func TestScanDeepNesting(t *testing.T) {
	deep := make([]byte, 0, 40010)
	deep = append(deep, `{"x":`...)
	for range 20000 {
		deep = append(deep, '[')
	}
	var env envelope
	if err := scanAnswer(deep, &env); err == nil {
		t.Fatal("accepted 20000 levels")
	}
}

// FuzzScanDifferential holds the scanner to encoding/json: whatever it
// accepts, encoding/json accepts too and decodes to the same envelope.
// (It may refuse more: a repeated list, which encoding/json merges.)
func FuzzScanDifferential(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, file := range files {
		b, _ := os.ReadFile(file)
		f.Add(b)
	}
	f.Add(answer50())
	f.Add([]byte(`{"errorcode":7,"officialaccountinfolist":[{"errorcode":1,"Name":"\ud83d\ude00\ud800"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var got, want envelope
		if err := scanAnswer(body, &got); err != nil {
			return
		}
		if err := jsonAnswer(body, &want); err != nil {
			t.Fatalf("scanner accepted what encoding/json refuses (%v): %q", err, body)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("differ on %q:\nscan %+v\njson %+v", body, got, want)
		}
	})
}
