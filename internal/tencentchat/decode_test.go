package tencentchat

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDecodeAnswer(t *testing.T) {
	cases := []struct {
		file    string
		code    int64
		items   int
		wantErr string
	}{
		{file: "seed_answer.json", items: 2},
		{file: "item_errors.json", items: 3},
		{file: "request_error.json", code: 131000},
		{file: "filtered.json", items: 1},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", c.file))
			if err != nil {
				t.Fatal(err)
			}
			var env envelope
			if err := decodeAnswer(body, &env); err != nil {
				t.Fatal(err)
			}
			if env.ErrorCode.V != c.code || len(env.OfficialAccountInfoList) != c.items {
				t.Fatalf("code %d, %d items", env.ErrorCode.V, len(env.OfficialAccountInfoList))
			}
		})
	}
}

func TestDecodeSeedValues(t *testing.T) {
	body, _ := os.ReadFile("testdata/seed_answer.json")
	var env envelope
	if err := decodeAnswer(body, &env); err != nil {
		t.Fatal(err)
	}
	got := env.OfficialAccountInfoList[0].AccountInfo
	want := AccountInfo{
		ErrorCode: OptInt{0, true}, Name: "test_modify_official_account3", OfficialAccount: "@TOA#_test_for_penn",
		CreateTime: OptInt{1696577604, true}, OwnerAccount: "107867", LastMsgTime: OptInt{1699501664, true},
		SubscriberNum: OptInt{780031, true},
	}
	if got != want {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	// A filtered answer leaves absent fields unset, not zero-and-set.
	body, _ = os.ReadFile("testdata/filtered.json")
	env = envelope{}
	if err := decodeAnswer(body, &env); err != nil {
		t.Fatal(err)
	}
	if a := env.OfficialAccountInfoList[0]; a.Err != nil || !a.SubscriberNum.Set || a.LastMsgTime.Set || a.CreateTime.Set {
		t.Fatalf("presence wrong: %+v", a)
	}
}

// TestDecodeAccepts pins the leniencies: what the service, or a proxy in
// front of it, may add or mangle without making the answer unusable.
func TestDecodeAccepts(t *testing.T) {
	cases := []struct {
		name, body string
		want       AccountInfo
	}{
		{"unknown fields and nesting", `{"ErrorCode":0,"RequestId":"r","ErrorDisplay":"","Extra":{"a":[1,{"b":null}],"c":-1.5e10},` +
			`"OfficialAccountInfoList":[{"ErrorCode":0,"Official_Account":"@TOA#_a","Nested":{"x":[true]},"SubscriberNum":7}]}`,
			AccountInfo{ErrorCode: OptInt{0, true}, OfficialAccount: "@TOA#_a", SubscriberNum: OptInt{7, true}}},
		{"escapes", `{"ErrorCode":0,"OfficialAccountInfoList":[{"ErrorCode":0,"Name":"caf\u00e9 \"q\" \ud83d\ude00"}]}`,
			AccountInfo{ErrorCode: OptInt{0, true}, Name: "café \"q\" 😀"}},
		{"invalid UTF-8 becomes U+FFFD", "{\"ErrorCode\":0,\"OfficialAccountInfoList\":[{\"ErrorCode\":0,\"Name\":\"a\xffb\"}]}",
			AccountInfo{ErrorCode: OptInt{0, true}, Name: "a\ufffdb"}},
		{"null values are absent", `{"ErrorCode":0,"OfficialAccountInfoList":[{"ErrorCode":0,"SubscriberNum":null,"Name":null}]}`,
			AccountInfo{ErrorCode: OptInt{0, true}}},
		{"white space", " {\n\t\"ErrorCode\" : 0 , \"OfficialAccountInfoList\" : [ { \"ErrorCode\" : -3 } ] }\r\n",
			AccountInfo{ErrorCode: OptInt{-3, true}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var env envelope
			if err := decodeAnswer([]byte(c.body), &env); err != nil {
				t.Fatal(err)
			}
			if len(env.OfficialAccountInfoList) != 1 || env.OfficialAccountInfoList[0].Err != nil || env.OfficialAccountInfoList[0].AccountInfo != c.want {
				t.Fatalf("got %+v, want %+v", env.OfficialAccountInfoList, c.want)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	cases := []struct{ name, body, want string }{
		{"empty", ``, "undecodable"},
		{"html", `<html>502</html>`, "undecodable"},
		{"truncated", `{"ActionStatus":"OK","ErrorCode":0,"OfficialAccountInfoList":[{"ErrorCode":0,`, "undecodable"},
		{"array", `[]`, "undecodable"},
		{"no ErrorCode", `{"ActionStatus":"OK","OfficialAccountInfoList":[]}`, "no ErrorCode"},
		{"null ErrorCode", `{"ErrorCode":null}`, "no ErrorCode"},
		{"string ErrorCode", `{"ErrorCode":"0"}`, "not an integer"},
		{"list not array", `{"ErrorCode":0,"OfficialAccountInfoList":{}}`, "not a list"},
		{"repeated key inside an item", `{"ErrorCode":0,"OfficialAccountInfoList":[{"ErrorCode":0,"SubscriberNum":1,"SubscriberNum":2}]}`, "duplicate"},
		{"syntax error inside an item", `{"ErrorCode":0,"OfficialAccountInfoList":[{"ErrorCode":0,"Name":"a}]}`, "undecodable"},
		{"trailing NUL", "{\"ErrorCode\":0}\x00", "undecodable"},
		{"trailing garbage", `{"ErrorCode":0}x`, "undecodable"},
		{"two objects", `{"ErrorCode":0}{"ErrorCode":0}`, "undecodable"},
		{"repeated list", `{"ErrorCode":0,"OfficialAccountInfoList":[],"OfficialAccountInfoList":[]}`, "undecodable"},
		{"trailing comma", `{"ErrorCode":0,}`, "undecodable"},
		{"leading zero", `{"ErrorCode":01}`, "undecodable"},
		{"exponent", `{"ErrorCode":1e3}`, "not an integer"},
		{"control char in string", "{\"ErrorCode\":0,\"ErrorInfo\":\"\x01\"}", "undecodable"},
		{"bad escape", `{"ErrorCode":0,"ErrorInfo":"\x"}`, "undecodable"},
		{"deep nesting", `{"ErrorCode":0,"x":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`, "undecodable"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var env envelope
			err := decodeAnswer([]byte(c.body), &env)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to say %q", err, c.want)
			}
		})
	}
}

// TestDecodeItemErrors: a list item that is valid JSON but not a usable
// item is marked with the field at fault, keeps its ID where it could be
// read, and leaves the other items alone.
func TestDecodeItemErrors(t *testing.T) {
	cases := []struct{ name, item, want string }{
		{"float count", `{"ErrorCode":0,"Official_Account":"@TOA#_x","SubscriberNum":1.5}`, "field SubscriberNum: not an integer"},
		{"string count", `{"ErrorCode":0,"Official_Account":"@TOA#_x","SubscriberNum":"7"}`, "field SubscriberNum: not an integer"},
		{"huge count", `{"ErrorCode":0,"Official_Account":"@TOA#_x","SubscriberNum":99999999999999999999}`, "field SubscriberNum: not an integer"},
		{"name not a string", `{"ErrorCode":0,"Official_Account":"@TOA#_x","Name":5}`, "field Name"},
		{"no ErrorCode", `{"Official_Account":"@TOA#_x","SubscriberNum":5}`, "no ErrorCode"},
		{"string ErrorCode", `{"ErrorCode":"0","Official_Account":"@TOA#_x"}`, "field ErrorCode: not an integer"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := `{"ErrorCode":0,"OfficialAccountInfoList":[` + c.item + `,{"ErrorCode":0,"Official_Account":"@TOA#_y","SubscriberNum":3}]}`
			var env envelope
			if err := decodeAnswer([]byte(body), &env); err != nil {
				t.Fatal(err)
			}
			bad, good := env.OfficialAccountInfoList[0], env.OfficialAccountInfoList[1]
			if bad.Err == nil || !strings.Contains(bad.Err.Error(), c.want) {
				t.Errorf("bad item err = %v, want it to say %q", bad.Err, c.want)
			}
			if bad.OfficialAccount != "@TOA#_x" || bad.SubscriberNum.Set || bad.ErrorCode.V != 0 {
				t.Errorf("bad item kept %+v", bad.AccountInfo)
			}
			if good.Err != nil || good.SubscriberNum != (OptInt{3, true}) {
				t.Errorf("good item %+v", good)
			}
		})
	}
}

// FuzzDecodeAnswer feeds the decoder arbitrary bodies: it must never panic,
// and whatever it accepts must carry an ErrorCode on the envelope and on
// every item, so no value is invented from a broken answer.
func FuzzDecodeAnswer(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, file := range files {
		b, _ := os.ReadFile(file)
		f.Add(b)
	}
	f.Add([]byte(`{"ErrorCode":0,"OfficialAccountInfoList":[{"ErrorCode":0,"SubscriberNum":null}]}`))
	f.Add([]byte(`{"ErrorCode":-1}`))
	f.Add([]byte(`{"ErrorCode":0,"OfficialAccountInfoList":[{"ErrorCode":0,"Official_Account":"@TOA#_c","SubscriberNum":3},{"ErrorCode":130004},{"ErrorCode":0,"Official_Account":"@TOA#_a","SubscriberNum":1.5}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var env envelope
		if err := decodeAnswer(body, &env); err != nil {
			return
		}
		if !env.ErrorCode.Set {
			t.Fatal("accepted an envelope without ErrorCode")
		}
		for _, it := range env.OfficialAccountInfoList {
			if it.Err == nil && !it.ErrorCode.Set {
				t.Fatal("accepted an item without ErrorCode")
			}
			if it.Err != nil && (it.ErrorCode.Set || it.SubscriberNum.Set || it.CreateTime.Set || it.LastMsgTime.Set || it.Name != "") {
				t.Fatalf("a malformed item kept values: %+v", it)
			}
		}
		// Whatever the answer, a result carries only values of an item
		// that named its account, or of the item at its position in a
		// full answer.
		ids := []string{"@TOA#_a", "@TOA#_b", "@TOA#_c"}
		results := make([]Result, len(ids))
		matchResults(ids, env.OfficialAccountInfoList, results)
		for i, r := range results {
			if r.Answered && r.Err == nil && r.Info.OfficialAccount != ids[i] &&
				(r.Info.OfficialAccount != "" || len(env.OfficialAccountInfoList) != len(ids)) {
				t.Fatalf("result %d took another account's item: %+v", i, r)
			}
		}
	})
}
