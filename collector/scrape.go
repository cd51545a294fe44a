package collector

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/tencentchat"
)

// appResult is what one scrape learnt of one app.
type appResult struct {
	accounts []accountResult // one per configured account, in config order
	ok       bool            // every call answered with ErrorCode 0
	duration time.Duration
}

type accountResult struct {
	up   bool
	info tencentchat.AccountInfo // valid when up
}

// fetch queries every batch of the app, concurrency at a time. A batch that
// fails, or that the deadline leaves unstarted, marks its accounts down;
// the other batches' accounts are still served.
func (e *Exporter) fetch(ctx context.Context, a *app) *appResult {
	start := time.Now()
	res := &appResult{accounts: make([]accountResult, len(a.cfg.Accounts)), ok: true}
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex // guards res.ok
		sem = make(chan struct{}, a.cfg.Concurrency)
	)
	offset := 0
	for i, batch := range a.batches {
		out := res.accounts[offset : offset+len(batch)]
		offset += len(batch)
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			// No time left to start this batch: its accounts stay down.
			mu.Lock()
			res.ok = false
			mu.Unlock()
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if !e.fetchBatch(ctx, a, i, batch, out) {
				mu.Lock()
				res.ok = false
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	res.duration = time.Since(start)
	return res
}

// fetchBatch fills out for one batch and reports whether the call was
// answered with ErrorCode 0.
func (e *Exporter) fetchBatch(ctx context.Context, a *app, i int, batch []string, out []accountResult) bool {
	results, err := a.client.GetOfficialAccountInfo(ctx, batch, fields)
	if err != nil {
		level.Warn(e.logger).Log("msg", "API call failed", "app", a.cfg.Name, "sdkappid", a.sdkappid,
			"batch", i, "accounts", len(batch), "err", err)
		return false
	}
	for j, r := range results {
		switch {
		case !r.Answered:
			level.Debug(e.logger).Log("msg", "answer left an account out", "app", a.cfg.Name, "account", r.ID)
		case r.Info.ErrorCode.V != 0:
			a.counters.addCode(int(r.Info.ErrorCode.V))
			level.Debug(e.logger).Log("msg", "account error", "app", a.cfg.Name, "account", r.ID,
				"code", r.Info.ErrorCode.V, "info", r.Info.ErrorInfo)
		default:
			out[j] = accountResult{up: true, info: r.Info}
		}
	}
	return true
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
	results := make([]*appResult, len(s.apps))
	var wg sync.WaitGroup
	for i, a := range s.apps {
		wg.Go(func() { results[i] = s.e.result(s.ctx, a) })
	}
	wg.Wait()
	for i, a := range s.apps {
		emit(ch, a, results[i])
	}
}

func emit(ch chan<- prometheus.Metric, a *app, r *appResult) {
	name, id := a.cfg.Name, a.sdkappid
	for i := range r.accounts {
		acct := &r.accounts[i]
		info := &acct.info
		s := newAccountSeries(&a.sdkappid, &a.cfg.Name, &a.cfg.Accounts[i], &info.Name, &info.OwnerAccount)
		up := 0.0
		if acct.up {
			up = 1
			if info.SubscriberNum.Set {
				ch <- s.add(0, subscribersDesc, float64(info.SubscriberNum.V), true)
			}
			if info.LastMsgTime.Set && info.LastMsgTime.V > 0 {
				ch <- s.add(1, lastMessageDesc, float64(info.LastMsgTime.V), true)
			}
			if info.CreateTime.Set {
				ch <- s.add(2, creationDesc, float64(info.CreateTime.V), true)
			}
		}
		ch <- s.add(3, accountUpDesc, up, false)
	}
	up := 0.0
	if r.ok {
		up = 1
	}
	ch <- prometheus.MustNewConstMetric(upDesc, prometheus.GaugeValue, up, id, name)
	ch <- prometheus.MustNewConstMetric(scrapeDurationDesc, prometheus.GaugeValue, r.duration.Seconds(), id, name)
	ch <- prometheus.MustNewConstMetric(requestsDesc, prometheus.CounterValue, float64(a.counters.requests.Load()), id, name)
	codes, counts := a.counters.snapshot()
	for i, code := range codes {
		ch <- prometheus.MustNewConstMetric(errorsDesc, prometheus.CounterValue, float64(counts[i]), id, name, strconv.Itoa(code))
	}
	for i, reason := range reasons {
		ch <- prometheus.MustNewConstMetric(failuresDesc, prometheus.CounterValue,
			float64(a.counters.failures[i].Load()), id, name, string(reason))
	}
}
