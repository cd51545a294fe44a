package simulator

import (
	"encoding/json"
	"io"
	"math"
	"math/rand/v2"
	"time"
)

// PushPath is the path of normal_push_statistics, the offline push funnel,
// written from the reference (third research pass).
const PushPath = "/v4/timpush/normal_push_statistics"

// pushWindow is how far back StartTime may reach.
const pushWindow = 30 * 24 * time.Hour

// PushPlatforms are the push platform codes the simulated apps report:
// APNs, Xiaomi, Huawei, FCM, OPPO, vivo, Honor (Meizu and 0, unknown, do
// not occur).
var PushPlatforms = []int{1, 2, 3, 4, 6, 7, 8}

// PushCounts are one platform's (or the total's) funnel.
type PushCounts struct {
	Total, Sent, Delivered, Click int64
}

// PushDay is the funnel of the Beijing day starting at start: by platform
// code, and the total (their sum). The numbers follow from the app's seed
// and the day alone.
func (a *App) PushDay(start time.Time) (total PushCounts, byPlatform map[int]PushCounts) {
	n := start.Unix() / 86400
	rng := rand.New(rand.NewPCG(a.cfg.Seed^a.cfg.SDKAppID^0x9e37, uint64(n)))
	byPlatform = map[int]PushCounts{}
	for _, p := range PushPlatforms {
		eligible := float64(500 + rng.IntN(5000))
		c := PushCounts{Total: int64(eligible)}
		c.Sent = int64(math.Round(eligible * (0.6 + 0.3*rng.Float64())))
		c.Delivered = int64(math.Round(float64(c.Sent) * (0.7 + 0.25*rng.Float64())))
		c.Click = int64(math.Round(float64(c.Delivered) * (0.01 + 0.05*rng.Float64())))
		byPlatform[p] = c
		total.Total, total.Sent, total.Delivered, total.Click = total.Total+c.Total, total.Sent+c.Sent, total.Delivered+c.Delivered, total.Click+c.Click
	}
	return total, byPlatform
}

// pushStatistics answers normal_push_statistics: at most one call a second
// per app (60007 beyond), StartTime at most 30 days back and before
// EndTime (6017 otherwise), 60017 for an app without Push. The window's
// funnel is that of the Beijing day StartTime falls in (the exporter asks
// for one day at a time).
func (a *App) pushStatistics(body io.Reader, now time.Time) ([]byte, int) {
	a.mu.Lock()
	calls := a.pushCalls
	a.mu.Unlock()
	if n := len(calls); n >= 2 && calls[n-1].Sub(calls[n-2]) < time.Second {
		return nil, 60007
	}
	if a.cfg.NoPush {
		return nil, 60017
	}
	raw, err := io.ReadAll(io.LimitReader(body, maxRequestBody))
	if err != nil {
		return nil, 60002
	}
	var req struct {
		Start *int64 `json:"StartTime"`
		End   *int64 `json:"EndTime"`
	}
	if err := json.Unmarshal(raw, &req); err != nil {
		return nil, 60003
	}
	if req.Start == nil || req.End == nil {
		return nil, 20001
	}
	if *req.Start >= *req.End || time.Unix(*req.Start, 0).Before(now.Add(-pushWindow)) || *req.Start > now.Unix() {
		return nil, 6017
	}
	s := time.Unix(*req.Start, 0).In(beijing)
	day := time.Date(s.Year(), s.Month(), s.Day(), 0, 0, 0, 0, beijing)
	total, byPlatform := a.PushDay(day)
	type counts struct {
		PushPlatform   *int `json:",omitempty"`
		TotalCount     int64
		SentCount      int64
		DeliveredCount int64
		ClickCount     int64
	}
	var platforms []counts
	for _, p := range PushPlatforms {
		c := byPlatform[p]
		platforms = append(platforms, counts{&p, c.Total, c.Sent, c.Delivered, c.Click})
	}
	out, _ := json.Marshal(map[string]any{"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": "sucess", //nolint:misspell // as Tencent's sample answers
		"TotalCount": total.Total, "SentCount": total.Sent, "DeliveredCount": total.Delivered, "ClickCount": total.Click,
		"PlatformStatistics": platforms})
	return out, 0
}
