//go:build e2e

package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/testutil"
	"github.com/tencentchat-exporter/tencentchat_exporter/mixin"
)

// TestDailyReportSurvivesPrometheusRestart: the daily report's base (the
// subscribers at the last Beijing midnight) is carried by the rules from
// their own last value, so a Prometheus that restarts during the day,
// down for longer than the catch-up window after midnight, still reports
// the day's net change, and the next day yesterday's. The day is 60 s long
// here (midnight at every multiple of 60 s), the catch-up 10 s; the
// target serves one account's subscriber gauge, which the test sets.
func TestDailyReportSurvivesPrometheusRestart(t *testing.T) {
	t.Parallel()
	prometheus := need(t, "prometheus")
	const day = 60
	var subscribers atomic.Int64
	subscribers.Store(100)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "tencentchat_official_account_subscribers{app_name=\"prod\",sdkappid=\"1\",account=\"a\",name=\"A\",owner_account=\"u\"} %d\n", subscribers.Load())
	}))
	t.Cleanup(target.Close)

	m, err := mixin.Evaluate(map[string]any{"daily_report_day_seconds": day, "daily_report_utc_offset_seconds": 0,
		"daily_report_interval": "1s", "daily_report_step": "1s", "daily_report_catch_up": "10s"})
	if err != nil {
		t.Fatal(err)
	}
	var report mixin.RuleFile
	for _, g := range m.Rules.Groups {
		if g.Name == "tencentchat-daily-report" {
			report.Groups = append(report.Groups, g)
		}
	}
	rules, err := report.YAML("rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "rules.yml"), rules, 0o644)
	args, base := prometheusArgs(t, dir, map[string]any{
		"global":     map[string]any{"scrape_interval": "1s", "evaluation_interval": "1s"},
		"rule_files": []string{filepath.Join(dir, "rules.yml")},
		"scrape_configs": []any{map[string]any{"job_name": "tencentchat",
			"static_configs": []any{map[string]any{"targets": []string{target.Listener.Addr().String()}}}}},
	})
	prom := promClient{t: t, base: base}
	value := func(q string) string {
		got := prom.query(q)
		if len(got) != 1 {
			return fmt.Sprintf("%d samples", len(got))
		}
		return got[0].Value[1].(string)
	}

	// The first Prometheus, from before a midnight (at least 5 s ahead).
	first := startProc(t, base+"/-/ready", prometheus, args...)
	midnight := time.Unix((time.Now().Unix()+5)/day*day+day, 0)
	time.Sleep(time.Until(midnight.Add(2 * time.Second)))
	subscribers.Store(150) // 50 gained on the new day
	const today = `account:tencentchat_official_account_subscribers:net_change_beijing_today`
	testutil.WaitFor(t, 5*time.Second, "for today's change", func() bool { return value(today) == "50" })

	// Restarted: down from 5 s after midnight to 18 s after, longer than
	// the 10 s in which the base could be read again from the raw series.
	time.Sleep(time.Until(midnight.Add(5 * time.Second)))
	first.Process.Signal(syscall.SIGTERM)
	first.Wait()
	time.Sleep(time.Until(midnight.Add(18 * time.Second)))
	startProc(t, base+"/-/ready", prometheus, args...)
	if after := time.Since(midnight); after > 55*time.Second {
		t.Fatalf("Prometheus took until %v after midnight to come back: the day is nearly over", after)
	}
	if got := value(today); got != "50" {
		t.Errorf("after the restart, today's change is %s, want 50", got)
	}

	// The next day: yesterday was +50, and today starts at 0.
	next := midnight.Add(day * time.Second)
	time.Sleep(time.Until(next.Add(3 * time.Second)))
	const yesterday = `account:tencentchat_official_account_subscribers:net_change_beijing_yesterday`
	testutil.WaitFor(t, 5*time.Second, "for yesterday's change", func() bool { return value(yesterday) == "50" })
	if got := value(today); got != "0" {
		t.Errorf("on the next day, today's change is %s, want 0", got)
	}
}
