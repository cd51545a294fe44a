// Command benchscale measures the built exporter as a process against the
// tencentchat-simulator command: scrape wall time against the network floor,
// CPU time per scrape and peak RSS, for several account counts, beside the
// same API calls made by the exporter's client alone. Run it with
// `make bench-scale`; it prints a Markdown table for docs/performance.md. Memory
// across many scrapes is TestSoak's (`make soak`); per-account costs in
// process are the Go benchmarks' (`make bench`).
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

var (
	parallel = flag.Int("parallel", 1, "scrapes sent at once in each measured round (an HA pair is 2); CPU is per scrape, wall per round")
	encoding = flag.String("accept-encoding", "identity", "Accept-Encoding of the scrapes: identity, or gzip as Prometheus sends")
	format   = flag.String("format", "text", "the scrapes' format: text, or protobuf as Prometheus asks for it with native histograms")
)

// protobufAccept is the Accept header of a Prometheus 3 that scrapes native
// histograms.
const protobufAccept = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.8,application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.1"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "benchscale:", err)
		os.Exit(1)
	}
}

type size struct{ accounts, apps int }

func run() error {
	var (
		latency     = flag.Duration("latency", 50*time.Millisecond, "simulated API latency L")
		concurrency = flag.Int("concurrency", 8, "exporter concurrency per app")
		scrapes     = flag.Int("scrapes", 5, "measured scrapes per size")
		sizesFlag   = flag.String("sizes", "1000/1,10000/1,100000/10", "accounts/apps, comma separated")
	)
	flag.Parse()
	var sizes []size
	for _, s := range strings.Split(*sizesFlag, ",") {
		var z size
		if _, err := fmt.Sscanf(s, "%d/%d", &z.accounts, &z.apps); err != nil || z.apps < 1 || z.accounts%z.apps != 0 {
			return fmt.Errorf("bad size %q: want accounts/apps with apps dividing accounts", s)
		}
		sizes = append(sizes, z)
	}

	dir, err := os.MkdirTemp("", "benchscale")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	exporter, simulator := filepath.Join(dir, "tencentchat_exporter"), filepath.Join(dir, "tencentchat-simulator")
	for bin, pkg := range map[string]string{exporter: ".", simulator: "./cmd/tencentchat-simulator"} {
		if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
			return fmt.Errorf("build %s: %w\n%s", pkg, err, out)
		}
	}

	fmt.Printf("Machine: %s, %d cores (%s); %s. L = %v, concurrency %d, no rate limit, %d scrapes per row.\n\n",
		cpuModel(), runtime.NumCPU(), runtime.GOARCH, runtime.Version(), *latency, *concurrency, *scrapes)
	fmt.Printf("Accept-Encoding: %s; format: %s; %d scrapes at once; GOMEMLIMIT=%q.\n\n", *encoding, *format, *parallel, os.Getenv("GOMEMLIMIT"))
	fmt.Println("| accounts | apps | floor ceil(N/apps/50/concurrency) × L | client alone, same calls | scrape wall (median) | wall / floor | wall / client alone | client alone CPU | exporter CPU per scrape | CPU / client alone | CPU per account | peak RSS |")
	fmt.Println("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, z := range sizes {
		r, err := measure(dir, exporter, simulator, z, *latency, *concurrency, *scrapes)
		if err != nil {
			return fmt.Errorf("%d accounts: %w", z.accounts, err)
		}
		perApp := z.accounts / z.apps
		floor := time.Duration(math.Ceil(float64(perApp)/50/float64(*concurrency))) * *latency
		fmt.Printf("| %d | %d | %v | %v | %v | %.3f | %.3f | %v | %v | %.2f | %v | %.1f MiB |\n", z.accounts, z.apps, floor,
			r.bare.Round(time.Millisecond), r.wall.Round(time.Millisecond), float64(r.wall)/float64(floor),
			float64(r.wall)/float64(r.bare), r.bareCPU.Round(time.Millisecond), r.cpu.Round(time.Millisecond),
			float64(r.cpu)/float64(r.bareCPU),
			(r.cpu / time.Duration(z.accounts)).Round(10*time.Nanosecond), float64(r.peakRSS)/(1<<20))
	}
	return nil
}

type result struct {
	bare      time.Duration // the same API calls from the client alone
	bareCPU   time.Duration // this process's CPU time for them, per round
	wall, cpu time.Duration
	peakRSS   int64
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func measure(dir, exporterBin, simBin string, z size, latency time.Duration, concurrency, scrapes int) (*result, error) {
	const key = "benchscale-key"
	keyFile := filepath.Join(dir, "key")
	if err := os.WriteFile(keyFile, []byte(key), 0o600); err != nil {
		return nil, err
	}
	simAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	perApp := z.accounts / z.apps
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sim := exec.CommandContext(ctx, simBin, "--listen-address", simAddr, "--apps", strconv.Itoa(z.apps),
		"--accounts", strconv.Itoa(perApp), "--secret-key-file", keyFile, "--latency", latency.String(), "--drift-interval", "0")
	if err := sim.Start(); err != nil {
		return nil, err
	}
	// Deferred calls run last-first: cancel (kill) must come before Wait.
	defer func() { _ = sim.Wait() }()
	defer cancel()

	bare, bareCPU, err := bareClient("http://"+simAddr, key, z, concurrency, scrapes)
	if err != nil {
		return nil, fmt.Errorf("bare client: %w", err)
	}

	var cfg bytes.Buffer
	fmt.Fprintf(&cfg, "defaults:\n  concurrency: %d\n  rate_limit: 0\n  timeout: 10s\napps:\n", concurrency)
	accountsFile := filepath.Join(dir, "accounts.txt")
	var ids bytes.Buffer
	for i := range perApp {
		fmt.Fprintf(&ids, "@TOA#_sim%05d\n", i)
	}
	if err := os.WriteFile(accountsFile, ids.Bytes(), 0o600); err != nil {
		return nil, err
	}
	for a := range z.apps {
		fmt.Fprintf(&cfg, "  - {name: app%d, sdkappid: %d, identifier: administrator, secret_key_file: key, endpoint: \"http://%s\", accounts_file: accounts.txt}\n",
			a, 1400000000+a, simAddr)
	}
	cfgFile := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgFile, cfg.Bytes(), 0o600); err != nil {
		return nil, err
	}
	expAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	exp := exec.CommandContext(ctx, exporterBin, "--config.file="+cfgFile, "--web.listen-address="+expAddr, "--log.level=warn")
	exp.Stderr = os.Stderr
	if err := exp.Start(); err != nil {
		return nil, err
	}
	defer func() { _ = exp.Wait() }()
	defer cancel()

	base := "http://" + expAddr
	deadline := time.Now().Add(20 * time.Second)
	for {
		if resp, err := http.Get(base + "/-/healthy"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			return nil, errors.New("exporter did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The simulator must be up too; one warm-up scrape signs the UserSigs
	// and opens the connections.
	for {
		up, _, err := scrape(base, z)
		if err == nil && up == z.apps {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("warm-up scrape incomplete: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	r := &result{bare: bare, bareCPU: bareCPU}
	walls := make([]time.Duration, 0, scrapes)
	cpu0, err := cpuTime(exp.Process.Pid)
	if err != nil {
		return nil, err
	}
	for i := 1; i <= scrapes; i++ {
		start := time.Now()
		type outcome struct {
			up, served int
			err        error
		}
		outcomes := make(chan outcome, *parallel)
		for range *parallel {
			go func() {
				up, served, err := scrape(base, z)
				outcomes <- outcome{up, served, err}
			}()
		}
		for range *parallel {
			o := <-outcomes
			if o.err != nil {
				return nil, o.err
			}
			if o.up != z.apps {
				return nil, fmt.Errorf("scrape %d: %d of %d apps up", i, o.up, z.apps)
			}
			if o.served != z.accounts {
				return nil, fmt.Errorf("scrape %d: %d of %d accounts served", i, o.served, z.accounts)
			}
		}
		walls = append(walls, time.Since(start))
	}
	cpu1, err := cpuTime(exp.Process.Pid)
	if err != nil {
		return nil, err
	}
	r.cpu = (cpu1 - cpu0) / time.Duration(scrapes**parallel)
	r.wall = median(walls)
	r.peakRSS, err = procStatus(exp.Process.Pid, "VmHWM")
	return r, err
}

// scrape fetches /metrics and counts the apps whose tencentchat_up is 1
// and the accounts served (with an up series).
func scrape(base string, z size) (up, served int, err error) {
	req, _ := http.NewRequest(http.MethodGet, base+"/metrics", nil)
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "120")
	// Like the client_golang baseline, without gzip; Prometheus asks for
	// gzip, which costs the exporter some more CPU (see docs/performance.md).
	req.Header.Set("Accept-Encoding", *encoding)
	if *format == "protobuf" {
		req.Header.Set("Accept", protobufAccept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("scrape answered %s", resp.Status)
	}
	var r io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		if r, err = gzip.NewReader(resp.Body); err != nil {
			return 0, 0, err
		}
	}
	if *format == "protobuf" {
		return countProtobuf(resp.Header.Get("Content-Type"), r)
	}
	body, err := io.ReadAll(r)
	if err != nil {
		return 0, 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "tencentchat_up{") && strings.HasSuffix(line, " 1") {
			up++
		}
		if strings.HasPrefix(line, "tencentchat_official_account_up{") {
			served++
		}
	}
	return up, served, sc.Err()
}

// countProtobuf counts the apps up and the accounts served in a protobuf
// answer, which must be one.
func countProtobuf(contentType string, r io.Reader) (up, served int, err error) {
	if expfmt.Format(contentType).FormatType() != expfmt.TypeProtoDelim {
		return 0, 0, fmt.Errorf("asked for protobuf, got %q", contentType)
	}
	dec := expfmt.NewDecoder(r, expfmt.Format(contentType))
	for {
		var mf dto.MetricFamily
		if err := dec.Decode(&mf); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return 0, 0, err
		}
		switch mf.GetName() {
		case "tencentchat_up":
			for _, m := range mf.GetMetric() {
				if m.GetGauge().GetValue() == 1 {
					up++
				}
			}
		case "tencentchat_official_account_up":
			served += len(mf.GetMetric())
		}
	}
	return up, served, nil
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s[len(s)/2]
}

// cpuTime is the user plus system time of a process, from /proc.
func cpuTime(pid int) (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses.
	fields := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+2:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	const clkTck = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / clkTck, nil
}

// procStatus reads a kB field of /proc/PID/status, in bytes.
func procStatus(pid int, field string) (int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

func cpuModel() string {
	raw, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return "unknown CPU"
}
