package simulator

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"
)

// AppInfoPath is the path of getappinfo, the app statistics API.
const AppInfoPath = "/v4/openconfigsvr/getappinfo"

// AppInfoFields are getappinfo's fields, as the reference lists them.
var AppInfoFields = []string{"AppName", "AppId", "Company", "ActiveUserNum", "RegistUserNumOneDay", "RegistUserNumTotal",
	"LoginTimes", "LoginUserNum", "UpMsgNum", "SendMsgUserNum", "APNSMsgNum", "C2CUpMsgNum", "C2CDownMsgNum",
	"C2CSendMsgUserNum", "C2CAPNSMsgNum", "MaxOnlineNum", "DownMsgNum", "ChainIncrease", "ChainDecrease",
	"GroupUpMsgNum", "GroupDownMsgNum", "GroupSendMsgUserNum", "GroupAPNSMsgNum", "GroupSendMsgGroupNum",
	"GroupJoinGroupTimes", "GroupQuitGroupTimes", "GroupNewGroupNum", "GroupAllGroupNum", "GroupDestroyGroupNum",
	"CallBackReq", "CallBackRsp", "Date"}

// beijing is the time zone of getappinfo's days.
var beijing = time.FixedZone("UTC+8", 8*3600)

// appInfoDays is how many days an answer holds.
const appInfoDays = 30

// AppDay returns one Beijing day's statistics (date "YYYYMMDD") as the API
// sends them, every value a string. The numbers follow from the app's seed
// and the date alone: a weekly rhythm, a slow trend and some noise, so a
// test can ask for the values the simulator will answer. A day that is
// still running (today in Beijing) has only the share of it that passed.
func (a *App) AppDay(date string, now time.Time) map[string]string {
	day, err := time.ParseInLocation("20060102", date, beijing)
	if err != nil {
		return nil
	}
	n := day.Unix() / 86400
	rng := rand.New(rand.NewPCG(a.cfg.Seed^a.cfg.SDKAppID, uint64(n)))
	share := 1.0
	if today := now.In(beijing).Format("20060102"); date == today {
		share = float64(now.In(beijing).Sub(day)) / float64(24*time.Hour)
	} else if date > today {
		return nil
	}
	week := []float64{0.82, 1, 1.02, 1.03, 1.01, 0.98, 0.85}[day.Weekday()]
	base := 800 + float64(a.cfg.SDKAppID%1000) + 0.5*float64(n%365)
	dau := base * week * (0.97 + 0.06*rng.Float64())
	f := func(x float64) string { return strconv.FormatInt(int64(math.Round(x*share)), 10) }
	newUsers := dau * (0.02 + 0.01*rng.Float64())
	c2cUp, groupUp := dau*(10+4*rng.Float64()), dau*(25+10*rng.Float64())
	callbacks := dau * (4 + rng.Float64())
	groups := 300 + float64(n%1000)
	return map[string]string{
		"AppName": "sim-" + strconv.FormatUint(a.cfg.SDKAppID, 10), "AppId": strconv.FormatUint(a.cfg.SDKAppID, 10),
		"Company": "Simulator", "Date": date,
		"ActiveUserNum": f(dau), "RegistUserNumOneDay": f(newUsers),
		"RegistUserNumTotal": strconv.FormatInt(int64(50000+30*float64(n%10000)+math.Round(newUsers*share)), 10),
		"LoginTimes":         f(dau * 2.4), "LoginUserNum": f(dau * 0.93),
		"UpMsgNum": f(c2cUp + groupUp), "SendMsgUserNum": f(dau * 0.6), "APNSMsgNum": f(c2cUp * 0.3),
		"C2CUpMsgNum": f(c2cUp), "C2CDownMsgNum": f(c2cUp * 1.01), "C2CSendMsgUserNum": f(dau * 0.45),
		"C2CAPNSMsgNum": f(c2cUp * 0.2), "MaxOnlineNum": f(dau * 0.31), "DownMsgNum": f(c2cUp*1.01 + groupUp*7),
		"ChainIncrease": f(3), "ChainDecrease": f(1),
		"GroupUpMsgNum": f(groupUp), "GroupDownMsgNum": f(groupUp * 7), "GroupSendMsgUserNum": f(dau * 0.3),
		"GroupAPNSMsgNum": f(groupUp * 0.1), "GroupSendMsgGroupNum": f(groups * 0.4),
		"GroupJoinGroupTimes": f(dau * 0.05), "GroupQuitGroupTimes": f(dau * 0.02),
		"GroupNewGroupNum": f(4), "GroupAllGroupNum": strconv.FormatInt(int64(groups), 10), "GroupDestroyGroupNum": f(1),
		"CallBackReq": f(callbacks), "CallBackRsp": f(callbacks * (0.995 + 0.005*rng.Float64())),
	}
}

// SetAppInfoOverride makes every day of getappinfo's answers send field
// with raw as its JSON value (`"n/a"`, `null`, `12`), or, with raw "", leave
// the field out.
func (a *App) SetAppInfoOverride(field, raw string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.appInfoOverride == nil {
		a.appInfoOverride = map[string]string{}
	}
	a.appInfoOverride[field] = raw
}

// appInfo answers getappinfo: the last 30 Beijing days, oldest first,
// today's running day too when the app is configured to include it.
func (a *App) appInfo(body io.Reader, now time.Time) ([]byte, int) {
	raw, err := io.ReadAll(io.LimitReader(body, maxRequestBody))
	if err != nil {
		return nil, 60002
	}
	var req struct {
		RequestField []string
	}
	if len(bytes.TrimSpace(raw)) > 0 && json.Unmarshal(raw, &req) != nil {
		return nil, 60003
	}
	a.mu.Lock()
	override := a.appInfoOverride
	a.mu.Unlock()
	today := now.In(beijing)
	last := today.AddDate(0, 0, -1)
	if a.cfg.AppInfoIncludesToday {
		last = today
	}
	var b bytes.Buffer
	b.WriteString(`{"ErrorCode":0,"ErrorInfo":"OK","Result":[`)
	for i := appInfoDays - 1; i >= 0; i-- {
		date := last.AddDate(0, 0, -i).Format("20060102")
		day := a.AppDay(date, now)
		b.WriteByte('{')
		first := true
		for _, field := range AppInfoFields {
			if len(req.RequestField) > 0 && !slices.Contains(req.RequestField, field) && field != "Date" {
				continue
			}
			v := jsonString(day[field])
			if o, ok := override[field]; ok {
				if o == "" {
					continue
				}
				v = o
			}
			if !first {
				b.WriteByte(',')
			}
			first = false
			b.WriteString(jsonString(field) + ":" + v)
		}
		b.WriteByte('}')
		if i > 0 {
			b.WriteByte(',')
		}
	}
	b.WriteString(`]}`)
	return b.Bytes(), 0
}
