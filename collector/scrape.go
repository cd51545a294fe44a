package collector

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/tencentchat"
)

// appResult is what one fetch learnt of one app. It is written by the
// fetch's batches as they complete; once the fetch is done it is read-only,
// and before that only partial reads it.
type appResult struct {
	accounts []accountResult // one per configured account, in config order
	duration time.Duration

	batchEnd []int // where each batch's accounts end

	mu        sync.Mutex
	ok        bool   // every call answered with ErrorCode 0; final once done
	batchDone []bool // which batches' accounts are final
	traces    []batchTrace
}

// batchTrace is one API call of a batch, for the debug probe.
type batchTrace struct {
	batch int
	tencentchat.AttemptTrace
}

// accountResult keeps only what is exported: at 100,000 accounts the whole
// AccountInfo would hold some 10 MiB more for the length of a scrape.
type accountResult struct {
	up                            bool  // the rest is valid only when up
	code                          int32 // its own ErrorCode; -1 for a malformed item
	name, owner                   string
	subscribers, lastMsg, created tencentchat.OptInt
}

func newResult(a *app) *appResult {
	r := &appResult{accounts: make([]accountResult, len(a.cfg.Accounts)), ok: true,
		batchEnd: make([]int, len(a.batches)), batchDone: make([]bool, len(a.batches))}
	end := 0
	for i, b := range a.batches {
		end += b.Len()
		r.batchEnd[i] = end
	}
	return r
}

// partial is a copy of what has arrived so far, for a scrape whose
// deadline comes before the fetch is done: the accounts of finished
// batches, the others down, and the app not up.
func (r *appResult) partial(took time.Duration) *appResult {
	out := &appResult{accounts: make([]accountResult, len(r.accounts)), duration: took}
	r.mu.Lock()
	defer r.mu.Unlock()
	lo := 0
	for i, done := range r.batchDone {
		if done {
			copy(out.accounts[lo:r.batchEnd[i]], r.accounts[lo:r.batchEnd[i]])
		}
		lo = r.batchEnd[i]
	}
	return out
}

// fetch queries every batch of the app into res, concurrency at a time. A
// batch that fails, or that the deadline leaves unstarted, keeps its
// accounts down; the other batches' accounts are still served.
func (e *Exporter) fetch(ctx context.Context, a *app, res *appResult) {
	start := time.Now()
	var (
		wg  sync.WaitGroup
		sem = make(chan struct{}, a.cfg.Concurrency)
	)
	finish := func(i int, ok bool) {
		res.mu.Lock()
		res.batchDone[i] = true
		res.ok = res.ok && ok
		res.mu.Unlock()
	}
	offset := 0
	for i, batch := range a.batches {
		lo, hi := offset, offset+batch.Len()
		offset = hi
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			finish(i, false) // no time left to start this batch: its accounts stay down
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			ctx := tencentchat.WithTrace(ctx, func(tr tencentchat.AttemptTrace) {
				res.mu.Lock()
				res.traces = append(res.traces, batchTrace{i, tr})
				res.mu.Unlock()
			})
			finish(i, e.fetchBatch(ctx, a, i, batch, res.accounts[lo:hi]))
		})
	}
	wg.Wait()
	res.duration = time.Since(start)
}

// fetchBatch fills out for one batch and reports whether the call was
// answered with ErrorCode 0.
func (e *Exporter) fetchBatch(ctx context.Context, a *app, i int, batch *tencentchat.Batch, out []accountResult) bool {
	ans, err := a.client.Fetch(ctx, batch)
	if err != nil {
		level.Warn(e.logger).Log("msg", "API call failed", "app", a.cfg.Name, "sdkappid", a.sdkappid,
			"batch", i, "accounts", batch.Len(), "err", err)
		return false
	}
	for _, code := range ans.OtherCodes {
		a.counters.addCode(apiOfficialAccounts, code)
	}
	for j, r := range ans.Results {
		switch {
		case !r.Answered:
			level.Debug(e.logger).Log("msg", "answer left an account out", "app", a.cfg.Name, "account", r.ID)
		case r.Err != nil:
			out[j].code = -1
			a.counters.invalid.Add(1)
			level.Debug(e.logger).Log("msg", "account's item unusable", "app", a.cfg.Name, "account", r.ID, "err", r.Err)
		case r.Info.ErrorCode.V != 0:
			out[j].code = int32(r.Info.ErrorCode.V)
			a.counters.addCode(apiOfficialAccounts, int(r.Info.ErrorCode.V))
			level.Debug(e.logger).Log("msg", "account error", "app", a.cfg.Name, "account", r.ID,
				"code", r.Info.ErrorCode.V, "info", r.Info.ErrorInfo)
		default:
			out[j] = accountResult{up: true, name: r.Info.Name, owner: r.Info.OwnerAccount,
				subscribers: e.plausible(a, r.ID, "SubscriberNum", r.Info.SubscriberNum, 0, math.MaxInt64),
				lastMsg:     e.plausible(a, r.ID, "LastMsgTime", r.Info.LastMsgTime, 0, maxTimestamp),
				created:     e.plausible(a, r.ID, "CreateTime", r.Info.CreateTime, 0, maxTimestamp)}
		}
	}
	return true
}

// maxTimestamp is 3000-01-01 in Unix seconds: a time beyond it is in
// milliseconds or broken.
const maxTimestamp = 32503680000

// plausible returns v, or an unset value when it lies outside [lo, hi]: a
// negative count or a time in milliseconds is left out, never exported.
func (e *Exporter) plausible(a *app, account, field string, v tencentchat.OptInt, lo, hi int64) tencentchat.OptInt {
	if !v.Set || (v.V >= lo && v.V <= hi) {
		return v
	}
	a.counters.invalid.Add(1)
	level.Debug(e.logger).Log("msg", "implausible value left out", "app", a.cfg.Name, "account", account, "field", field, "value", v.V)
	return tencentchat.OptInt{}
}

// scrape is a prometheus.Collector for one scrape of some apps, bound to
// the scrape's context so its deadline reaches every API call.
type scrape struct {
	e    *Exporter
	ctx  context.Context
	apps []*app
}

func (s scrape) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range scrapeDescs {
		ch <- d
	}
}

func (s scrape) Collect(ch chan<- prometheus.Metric) {
	var wg sync.WaitGroup
	for _, a := range s.apps {
		wg.Go(func() {
			// The statistics refresh, when due, runs beside the accounts'
			// fetch; the app's counters are emitted once both are done.
			var stats sync.WaitGroup
			if a.cfg.AppStatistics {
				stats.Go(func() { s.e.refreshStats(s.ctx, a) })
			}
			r := s.e.result(s.ctx, a)
			emitAccounts(ch, a, r, 0, len(r.accounts))
			stats.Wait()
			if a.cfg.AppStatistics {
				emitStats(ch, a)
			}
			emitApp(ch, a, r)
		})
	}
	wg.Wait()
}

// emitAccounts sends the series of accounts lo..hi-1 of a result.
func emitAccounts(ch chan<- prometheus.Metric, a *app, r *appResult, lo, hi int) {
	for i := lo; i < hi; i++ {
		acct := &r.accounts[i]
		if !acct.up {
			ch <- &gaugeSample{desc: accountUpDesc, labels: a.labels.short[i][:]}
			continue
		}
		s := newAccountSeries(a.labels, i, &acct.name, &acct.owner)
		if acct.subscribers.Set {
			ch <- s.add(slotSubscribers, subscribersDesc, float64(acct.subscribers.V))
		}
		if acct.lastMsg.Set && acct.lastMsg.V > 0 {
			ch <- s.add(slotLastMessage, lastMessageDesc, float64(acct.lastMsg.V))
		}
		if acct.created.Set {
			ch <- s.add(slotCreation, creationDesc, float64(acct.created.V))
		}
		up := &s.samples[slotUp]
		up.desc, up.value, up.labels = accountUpDesc, 1, a.labels.short[i][:]
		ch <- up
	}
}

// emitApp sends the app's own series, once all its accounts are done.
func emitApp(ch chan<- prometheus.Metric, a *app, r *appResult) {
	name, id := a.cfg.Name, a.sdkappid
	up := 0.0
	if r.ok {
		up = 1
	}
	ch <- prometheus.MustNewConstMetric(upDesc, prometheus.GaugeValue, up, id, name)
	ch <- prometheus.MustNewConstMetric(scrapeDurationDesc, prometheus.GaugeValue, r.duration.Seconds(), id, name)
	ch <- prometheus.MustNewConstMetric(invalidDesc, prometheus.CounterValue, float64(a.counters.invalid.Load()), id, name)
	for api, apiName := range apis {
		if api == apiAppInfo && !a.cfg.AppStatistics {
			continue
		}
		c := &a.counters.api[api]
		ch <- prometheus.MustNewConstMetric(requestsDesc, prometheus.CounterValue, float64(c.requests.Load()), id, name, apiName)
		for i, code := range codeLabels {
			ch <- prometheus.MustNewConstMetric(errorsDesc, prometheus.CounterValue, float64(c.codes[i].Load()), id, name, apiName, code)
		}
		for i, reason := range reasons {
			ch <- prometheus.MustNewConstMetric(failuresDesc, prometheus.CounterValue, float64(c.failures[i].Load()), id, name, apiName, string(reason))
		}
	}
}
