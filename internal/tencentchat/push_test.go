package tencentchat

import (
	"fmt"
	"testing"
)

// TestPushAnswer: the reference's sample decodes; numbers sent as strings
// are read, as getappinfo's are; negative, fractional, null or missing
// values are left out and counted, never invented; platforms beyond the
// bound are dropped and counted; a platform without a code is marked.
func TestPushAnswer(t *testing.T) {
	decode := func(t *testing.T, body string) PushDay {
		t.Helper()
		var a pushAnswer
		if err := a.decode([]byte(body)); err != nil {
			t.Fatal(err)
		}
		return a.day()
	}
	set := func(v int64) OptInt { return OptInt{V: v, Set: true} }
	sample := decode(t, `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"sucess","TotalCount":933478,"SentCount":637076,"DeliveredCount":7616,"ClickCount":421,"PlatformStatistics":[{"PushPlatform":8,"TotalCount":293,"SentCount":0,"DeliveredCount":0,"ClickCount":0}]}`) //nolint:misspell // Tencent's sample, verbatim
	if want := (PushCounts{set(933478), set(637076), set(7616), set(421)}); sample.Total != want || sample.Invalid != 0 {
		t.Errorf("sample totals %+v (%d invalid)", sample.Total, sample.Invalid)
	}
	if len(sample.Platforms) != 1 || sample.Platforms[0].Code != 8 || sample.Platforms[0].Sent != set(0) {
		t.Errorf("sample platforms %+v", sample.Platforms)
	}
	strs := decode(t, `{"ErrorCode":0,"TotalCount":"12","SentCount":"-3","DeliveredCount":1.5,"PlatformStatistics":[{"TotalCount":1,"SentCount":1,"DeliveredCount":1,"ClickCount":null}]}`)
	if strs.Total.Eligible != set(12) || strs.Total.Sent.Set || strs.Total.Delivered.Set || strs.Total.Clicked.Set {
		t.Errorf("totals %+v", strs.Total)
	}
	// SentCount negative, DeliveredCount a fraction, ClickCount missing,
	// and a platform without a code: 4 left out.
	if strs.Invalid != 4 || len(strs.Platforms) != 0 {
		t.Errorf("%d invalid, platforms %+v", strs.Invalid, strs.Platforms)
	}
	twice := decode(t, `{"ErrorCode":0,"TotalCount":1,"SentCount":1,"DeliveredCount":1,"ClickCount":1,"PlatformStatistics":[{"PushPlatform":3,"TotalCount":1,"SentCount":1,"DeliveredCount":1,"ClickCount":1},{"PushPlatform":3,"TotalCount":9,"SentCount":9,"DeliveredCount":9,"ClickCount":9},{"PushPlatform":42,"TotalCount":2,"SentCount":2,"DeliveredCount":2,"ClickCount":2}]}`)
	if twice.Invalid != 1 || len(twice.Platforms) != 2 || twice.Platforms[0].Eligible != set(1) || twice.Platforms[1].Code != 42 {
		t.Errorf("a code given twice: %d invalid, platforms %+v", twice.Invalid, twice.Platforms)
	}
	var a pushAnswer
	if err := a.decode([]byte(`{"TotalCount":1}`)); err == nil {
		t.Error("an answer without ErrorCode decoded")
	}
	// A list longer than the bound: the rest dropped and counted.
	long := `{"ErrorCode":0,"PlatformStatistics":[`
	for i := range MaxPushPlatforms + 3 {
		if i > 0 {
			long += ","
		}
		long += fmt.Sprintf(`{"PushPlatform":%d,"TotalCount":1,"SentCount":1,"DeliveredCount":1,"ClickCount":1}`, i)
	}
	if d := decode(t, long+`]}`); len(d.Platforms) != MaxPushPlatforms || d.Dropped != 3 {
		t.Errorf("%d platforms kept, %d dropped", len(d.Platforms), d.Dropped)
	}
}
