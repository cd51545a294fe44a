package tencentchat

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// APIPushStatistics is normal_push_statistics, the app's offline push
// funnel; PushStatisticsPath is its path. Tencent allows one call a second
// per app.
const (
	APIPushStatistics  = "normal_push_statistics"
	PushStatisticsPath = "/v4/timpush/normal_push_statistics"
)

// MaxPushPlatforms bounds the platforms kept from one answer: Tencent
// knows nine.
const MaxPushPlatforms = 16

// PushCounts are a push funnel's stages; each is set only when the answer
// gave a non-negative integer (a number or a numeric string).
type PushCounts struct {
	Eligible, Sent, Delivered, Clicked OptInt
}

// PushPlatform is one entry of PlatformStatistics with a usable code
// (0 to 999), each code once.
type PushPlatform struct {
	Code int // PushPlatform
	PushCounts
}

// PushDay is one window's push funnel: the totals and by platform (at most
// MaxPushPlatforms, in the answer's order). Dropped counts the platforms
// beyond the bound; Invalid the values left out, and the platforms without
// a usable code or whose code came twice.
type PushDay struct {
	Total     PushCounts
	Platforms []PushPlatform
	Dropped   int
	Invalid   int
}

// pushNumber is a count sent as a JSON integer or as a string of one, as
// getappinfo sends its numbers; anything else, or a negative, is not set.
type pushNumber struct {
	OptInt
	bad bool
}

func (n *pushNumber) UnmarshalJSONFrom(d *jsontext.Decoder) error {
	raw, err := d.ReadValue()
	if err != nil {
		return err
	}
	*n = pushNumber{}
	text := string(raw)
	switch raw.Kind() {
	case 'n':
		n.bad = true
		return nil
	case '"':
		var s string
		if jsonv2.Unmarshal(raw, &s) != nil {
			n.bad = true
			return nil
		}
		text = s
	case '0':
	default:
		n.bad = true
		return nil
	}
	v, err := strconv.ParseInt(text, 10, 64)
	if err != nil || v < 0 {
		n.bad = true
		return nil
	}
	n.OptInt = OptInt{V: v, Set: true}
	return nil
}

type pushCountsJSON struct {
	Total     *pushNumber `json:"TotalCount"`
	Sent      *pushNumber `json:"SentCount"`
	Delivered *pushNumber `json:"DeliveredCount"`
	Clicked   *pushNumber `json:"ClickCount"`
}

// counts takes the set values and counts the ones present but unusable
// and the ones missing.
func (c pushCountsJSON) counts(invalid *int) PushCounts {
	take := func(n *pushNumber) OptInt {
		if n == nil || n.bad {
			*invalid++
			return OptInt{}
		}
		return n.OptInt
	}
	return PushCounts{Eligible: take(c.Total), Sent: take(c.Sent), Delivered: take(c.Delivered), Clicked: take(c.Clicked)}
}

type pushAnswer struct {
	ErrorCode      OptInt `json:"ErrorCode"`
	ErrorInfo      string `json:"ErrorInfo"`
	pushCountsJSON `json:",inline"`
	Platforms      []struct {
		Code           *pushNumber `json:"PushPlatform"`
		pushCountsJSON `json:",inline"`
	} `json:"PlatformStatistics"`
}

func (a *pushAnswer) decode(body []byte) error {
	*a = pushAnswer{}
	return decodeWithCode(body, a, &a.ErrorCode)
}

func (a *pushAnswer) status() (int, string)       { return int(a.ErrorCode.V), a.ErrorInfo }
func (a *pushAnswer) usable() error               { return nil }
func (a *pushAnswer) clean(f func(string) string) { a.ErrorInfo = f(a.ErrorInfo) }
func (a *pushAnswer) requested() int              { return 0 }

// PushStatistics calls normal_push_statistics for the window [start, end]
// (Unix seconds, inclusive). spacing, if not nil, is waited on before every
// HTTP call (the app's one call a second); observe is told of each once it
// is over.
func (c *Client) PushStatistics(ctx context.Context, start, end time.Time, spacing Waiter, observe func(Attempt)) (PushDay, error) {
	body, err := json.Marshal(struct {
		Start int64 `json:"StartTime"`
		End   int64 `json:"EndTime"`
	}{start.Unix(), end.Unix()})
	if err != nil {
		return PushDay{}, err
	}
	var ans pushAnswer
	if err := c.do(ctx, APIPushStatistics, PushStatisticsPath, body, &ans, spacing, observe); err != nil {
		return PushDay{}, err
	}
	return ans.day(), nil
}

// day is what the answer says, bounded and judged.
func (a *pushAnswer) day() PushDay {
	var day PushDay
	day.Total = a.counts(&day.Invalid)
	seen := map[int]bool{}
	for _, p := range a.Platforms {
		switch {
		case p.Code == nil || p.Code.bad || !p.Code.Set || p.Code.V >= 1000 || seen[int(p.Code.V)]:
			day.Invalid++ // no usable code, or one given twice: whose numbers these are is unknown
		case len(day.Platforms) == MaxPushPlatforms:
			day.Dropped++
		default:
			seen[int(p.Code.V)] = true
			day.Platforms = append(day.Platforms, PushPlatform{Code: int(p.Code.V), PushCounts: p.counts(&day.Invalid)})
		}
	}
	return day
}
