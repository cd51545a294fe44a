package collector

import (
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/tencentchat"
)

// counters are an app's cumulative counts. They live for the process and
// are carried over a reload for an app that keeps its name and SDKAppID.
// Their label sets are fixed: one series per documented code plus "other",
// so an API that sends fresh codes cannot grow the exposition.
type counters struct {
	apis    []string      // the api label values, in api's order: the families' APIs
	api     []apiCounters // by apis' index
	invalid atomic.Uint64
	missing atomic.Uint64 // accounts an answer with ErrorCode 0 left out

	// duration is every call's duration by api; limiterWait the time calls
	// waited for the app's rate limiter. Both are the API budget's.
	duration    *prometheus.HistogramVec
	limiterWait atomic.Int64 // nanoseconds

	logger       log.Logger // with the app's labels
	unknownCodes rate.Sometimes
}

// apiCounters are the counts of one API's calls.
type apiCounters struct {
	requests atomic.Uint64
	failures [len(reasons)]atomic.Uint64
	codes    [len(codeLabels)]atomic.Uint64 // by codeSlot; the last is "other"
}

// apiIndex is the index of an api in c.apis. An API not in apis has none:
// its calls are logged as a bug and counted nowhere, never booked under
// another API's name.
func (c *counters) apiIndex(name string) (int, bool) {
	i := slices.Index(c.apis, name)
	return i, i >= 0
}

var reasons = [...]tencentchat.Reason{tencentchat.ReasonTimeout, tencentchat.ReasonNetwork,
	tencentchat.ReasonHTTPStatus, tencentchat.ReasonDecode}

// sortedCodes are the documented codes in order; codeLabels their label
// values, then "other". Both are read-only.
var (
	sortedCodes = func() [len(tencentchat.DocumentedCodes)]int {
		out := tencentchat.DocumentedCodes
		slices.Sort(out[:])
		return out
	}()
	codeLabels = func() [len(sortedCodes) + 1]string {
		var out [len(sortedCodes) + 1]string
		for i, c := range sortedCodes {
			out[i] = strconv.Itoa(c)
		}
		out[len(out)-1] = "other"
		return out
	}()
)

// codeSlot is the index of a code's counter, and whether it is documented.
func codeSlot(code int) (int, bool) {
	if i, ok := slices.BinarySearch(sortedCodes[:], code); ok {
		return i, true
	}
	return len(codeLabels) - 1, false
}

// newCounters are an app's counters, with a slot for each of apis.
func newCounters(logger log.Logger, sdkappid, name string, apis []string) *counters {
	c := &counters{apis: apis, api: make([]apiCounters, len(apis)), logger: logger, unknownCodes: rate.Sometimes{First: 1, Interval: time.Minute},
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: durationName, Help: durationHelp, Buckets: durationBuckets,
			ConstLabels: prometheus.Labels{"sdkappid": sdkappid, "app_name": name},
			// A native histogram too, served when Prometheus negotiates
			// protobuf; the text formats carry the classic buckets.
			NativeHistogramBucketFactor: 1.1, NativeHistogramMaxBucketNumber: 100, NativeHistogramMinResetDuration: time.Hour,
		}, []string{"api"})}
	c.duration.WithLabelValues(tencentchat.APIOfficialAccountInfo)
	return c
}

// Code counts a non-zero ErrorCode of an API; one not documented is
// counted as "other" and logged with its number, at most once a minute per
// app.
func (c *counters) Code(apiName string, code int) {
	if api, ok := c.apiOf(apiName); ok {
		c.addCode(api, code)
	}
}

// apiOf is apiIndex, logging an API it does not know.
func (c *counters) apiOf(name string) (int, bool) {
	i, ok := c.apiIndex(name)
	if !ok {
		level.Error(c.logger).Log("msg", "bug: a call of an API the counters do not know; add it to its family's row (families.go)", "api", name)
	}
	return i, ok
}

// Invalid counts a value that could not be used.
func (c *counters) Invalid() { c.invalid.Add(1) }

// Missing counts an account an answer with ErrorCode 0 left out.
func (c *counters) Missing() { c.missing.Add(1) }

func (c *counters) addCode(api, code int) {
	i, known := codeSlot(code)
	c.api[api].codes[i].Add(1)
	if !known {
		c.unknownCodes.Do(func() {
			level.Warn(c.logger).Log("msg", "undocumented ErrorCode from the API, counted as code=\"other\" (logged at most once a minute)", "code", code)
		})
	}
}

// Attempt counts a call the client reports: the call, its request-level
// code and its failure reason. A call the caller cut short (a hang-up, a
// shutdown) has reason "canceled", which is not the API's failure and is
// not counted as one.
func (c *counters) Attempt(a tencentchat.Attempt) {
	api, ok := c.apiOf(a.API)
	if !ok {
		return
	}
	c.api[api].requests.Add(1)
	c.duration.WithLabelValues(a.API).Observe(a.Duration.Seconds())
	c.limiterWait.Add(int64(a.LimiterWait))
	if a.Code != 0 {
		c.addCode(api, a.Code)
	}
	for i, r := range reasons {
		if a.Reason == r {
			c.api[api].failures[i].Add(1)
		}
	}
}
