package collector

import (
	"strings"
	"testing"

	"github.com/go-kit/log"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/tencentchat"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/testutil"
)

// TestCountersBookEachAPIUnderItsName: a call and a code of each known API
// are counted under that API; a call of an API the counters do not know
// is counted nowhere (never under get_official_account_info) and logged.
func TestCountersBookEachAPIUnderItsName(t *testing.T) {
	var logs testutil.Buffer
	apis := New(log.NewNopLogger()).apis
	if len(apis) != 4 {
		t.Fatalf("the table's APIs are %q, want the four the exporter calls", apis)
	}
	c := newCounters(log.NewLogfmtLogger(&logs), "1400000000", "main", apis)
	for i, api := range apis {
		c.Attempt(tencentchat.Attempt{API: api, Code: 70001})
		c.Code(api, 130004)
		if n := c.api[i].requests.Load(); n != 1 {
			t.Errorf("%s: %d requests, want 1", api, n)
		}
		for _, code := range []int{70001, 130004} {
			slot, _ := codeSlot(code)
			if n := c.api[i].codes[slot].Load(); n != 1 {
				t.Errorf("%s: code %d counted %d times, want 1", api, code, n)
			}
		}
	}
	c.Attempt(tencentchat.Attempt{API: "official_account_push_stats", Code: 70001})
	c.Code("official_account_push_stats", 130004)
	for i, api := range apis {
		if n := c.api[i].requests.Load(); n != 1 {
			t.Errorf("an unknown API's call was booked under %s (%d requests)", api, n)
		}
	}
	if !strings.Contains(logs.String(), `api=official_account_push_stats`) {
		t.Errorf("an unknown API was not logged:\n%s", logs.String())
	}
}
