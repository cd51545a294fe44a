package tencentchat

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// AppDay is one day of getappinfo's Result. Tencent sends every value as a
// string, numbers included; Values holds each field as text (a JSON
// number is taken as its text too). A field whose value was neither
// (null, an object...) is left out, as if it had not been sent.
type AppDay struct {
	Start  time.Time // 00:00 UTC+8 of its Date; zero when Date is missing or malformed
	Values map[string]string
}

// Beijing is the time zone of getappinfo's days.
var Beijing = time.FixedZone("UTC+8", 8*3600)

// ErrNoCompleteDay is a getappinfo answer without a day before today.
var ErrNoCompleteDay = errors.New("getappinfo answered no complete day")

// LatestCompleteDay picks the most recent day before now's (Beijing time)
// from a getappinfo answer: today's numbers are still growing, and Tencent
// does not say whether it sends them.
func LatestCompleteDay(days []AppDay, now time.Time) (AppDay, error) {
	y, m, d := now.In(Beijing).Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, Beijing)
	var best AppDay
	for _, day := range days {
		if !day.Start.IsZero() && day.Start.Before(today) && day.Start.After(best.Start) {
			best = day
		}
	}
	if best.Start.IsZero() {
		return AppDay{}, ErrNoCompleteDay
	}
	return best, nil
}

// Int returns field as an integer, and whether it was one.
func (d AppDay) Int(field string) (int64, bool) {
	v, err := strconv.ParseInt(d.Values[field], 10, 64)
	return v, err == nil
}

// decodeWithCode decodes an answer body into ans, whose ErrorCode code
// points at: every Tencent answer must carry one.
func decodeWithCode(body []byte, ans any, code *OptInt) error {
	if err := jsonv2.Unmarshal(body, ans, decodeOptions); err != nil {
		return fmt.Errorf("undecodable answer: %w", err)
	}
	if !code.Set {
		return errNoErrorCode
	}
	return nil
}

// appInfoAnswer is getappinfo's answer. Like the other Tencent answers it
// needs only ErrorCode; ActionStatus is absent from Tencent's sample.
type appInfoAnswer struct {
	ErrorCode OptInt                      `json:"ErrorCode"`
	ErrorInfo string                      `json:"ErrorInfo"`
	Result    []map[string]jsontext.Value `json:"Result"`
}

func (a *appInfoAnswer) decode(body []byte) error {
	*a = appInfoAnswer{}
	return decodeWithCode(body, a, &a.ErrorCode)
}

func (a *appInfoAnswer) status() (int, string) { return int(a.ErrorCode.V), a.ErrorInfo }

func (a *appInfoAnswer) usable() error {
	if len(a.Result) == 0 {
		return errors.New("ErrorCode 0 but no Result days")
	}
	return nil
}

func (a *appInfoAnswer) clean(f func(string) string) { a.ErrorInfo = f(a.ErrorInfo) }

func (a *appInfoAnswer) requested() int { return 0 }

// GetAppInfo calls getappinfo for every field and returns its days, in the
// order of the answer. observe, if not nil, is told of every HTTP call.
func (c *Client) GetAppInfo(ctx context.Context, observe func(Attempt)) ([]AppDay, error) {
	var ans appInfoAnswer
	if err := c.do(ctx, APIAppInfo, AppInfoPath, []byte("{}"), &ans, nil, observe); err != nil {
		return nil, err
	}
	days := make([]AppDay, 0, len(ans.Result))
	for _, raw := range ans.Result {
		d := AppDay{Values: make(map[string]string, len(raw))}
		for k, v := range raw {
			switch v.Kind() {
			case '"':
				var s string
				if jsonv2.Unmarshal(v, &s, decodeOptions) == nil {
					d.Values[k] = s
				}
			case '0':
				d.Values[k] = string(v)
			}
		}
		if start, err := time.ParseInLocation("20060102", d.Values["Date"], Beijing); err == nil {
			d.Start = start
		}
		days = append(days, d)
	}
	return days, nil
}
