// Command tencentchat_exporter is a Prometheus exporter for Tencent Cloud
// Chat official accounts. This file holds flags, logging and wiring only;
// the metrics are born in collector/.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	stdlog "log"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"os"
	"os/signal"
	"path"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"
	sloggokit "github.com/tjhop/slog-gokit"

	"github.com/tencentchat-exporter/tencentchat_exporter/collector"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/config"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/scrape"
)

const program = "tencentchat_exporter"

func main() {
	if version.Version == "" {
		version.Version = "dev" // release builds set it with -ldflags
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// flags are the command line, parsed and checked.
type flags struct {
	configFile, metricsPath, logLevel, logFormat string
	configCheck, demo                            bool
	timeoutOffset, autoReload                    time.Duration
	maxRequests                                  int
	web                                          *web.FlagConfig
	externalURL                                  *url.URL // nil: /sd uses the request's host
}

func run(args []string, stdout, stderr io.Writer) int {
	f, err := parseFlags(args, stdout, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", program, err)
		return 1
	}
	logger, slogger := newLoggers(stderr, f.logLevel, f.logFormat)
	load := func() (*config.Config, error) { return loadConfig(f.configFile, logger) }
	if f.configCheck {
		return checkConfig(f.configFile, load, stdout, stderr)
	}

	// Signals are caught before anything is loaded, so a SIGHUP that
	// arrives during start-up is a reload, not the default exit.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	if f.demo {
		cfg, stopDemo, err := startDemo(logger)
		if err != nil {
			level.Error(logger).Log("msg", "demo mode failed to start", "err", err)
			return 1
		}
		defer stopDemo()
		load = func() (*config.Config, error) { return cfg, nil }
	}

	level.Info(logger).Log("msg", "starting "+program, "version", version.Info(), "build_context", version.BuildContext())
	exporter := collector.New(logger)
	defer exporter.Close()
	cfg, err := load()
	if err == nil {
		err = exporter.ApplyConfig(cfg)
	}
	if err != nil {
		level.Error(logger).Log("msg", "cannot start: configuration not loaded", "err", err)
		return 1
	}
	go func() {
		for range hup {
			_ = exporter.Reload(load)
		}
	}()
	if f.autoReload > 0 && !f.demo {
		go autoReload(ctx, f.autoReload, f.configFile, exporter.Fingerprint, func() error { return exporter.Reload(load) }, exporter.FilesCurrent, logger)
	}

	mux, err := newMux(f, exporter, load)
	if err != nil {
		level.Error(logger).Log("msg", "landing page", "err", err)
		return 1
	}
	return serve(ctx, mux, f.web, logger, slogger)
}

// parseFlags parses the command line. Enumerations are checked by hand
// rather than with kingpin's Enum, whose message does not name the flag.
func parseFlags(args []string, stdout, stderr io.Writer) (*flags, error) {
	app := kingpin.New(program, "Prometheus exporter for Tencent Cloud Chat official accounts.")
	app.UsageWriter(stdout)
	app.ErrorWriter(stderr)
	f := &flags{}
	app.Flag("config.file", "Path to the configuration file.").Default("config.yml").StringVar(&f.configFile)
	app.Flag("config.auto-reload-interval", "Check the configuration file and the files it points at this often, and reload when their content changed; 0s is off.").Default("0s").DurationVar(&f.autoReload)
	app.Flag("config.check", "Validate the configuration file, print the result and exit (0 valid, 1 not).").BoolVar(&f.configCheck)
	app.Flag("web.telemetry-path", "Path under which to expose metrics.").Default("/metrics").StringVar(&f.metricsPath)
	offset := app.Flag("timeout-offset", "Seconds to subtract from Prometheus' scrape timeout, so the answer arrives in time.").Default("0.5").Float64()
	app.Flag("web.max-requests", "Maximum number of scrapes served at once (/metrics and /probe together); more wait within their timeout, then get 503. 0 means no limit.").Default("10").IntVar(&f.maxRequests)
	external := app.Flag("web.external-url", "The URL under which Prometheus reaches the exporter (behind a reverse proxy, with its path prefix): /sd lists its targets there. Default: the address /sd was asked on.").String()
	app.Flag("log.level", "Only log messages with the given severity or above: debug, info, warn, error.").Default("info").StringVar(&f.logLevel)
	app.Flag("log.format", "Output format of log messages: logfmt or json.").Default("logfmt").StringVar(&f.logFormat)
	app.Flag("demo", "Run on an embedded simulated API with a demo app of 50 living accounts; needs no configuration or credentials.").BoolVar(&f.demo)
	f.web = kingpinflag.AddFlags(app, ":9882")
	app.Version(version.Print(program))
	app.HelpFlag.Short('h')
	if _, err := app.Parse(args); err != nil {
		return nil, err
	}
	f.timeoutOffset = time.Duration(*offset * float64(time.Second))
	switch {
	case *offset < 0:
		return nil, errors.New("--timeout-offset must not be negative")
	case f.autoReload < 0 || (f.autoReload > 0 && f.autoReload < minAutoReload):
		// Each check reads and hashes every file: at 1ms an idle exporter
		// with a 4 MB accounts file used a whole core.
		return nil, fmt.Errorf("--config.auto-reload-interval must be 0s (off) or at least %s, got %s", minAutoReload, f.autoReload)
	case f.maxRequests < 0:
		return nil, errors.New("--web.max-requests must not be negative")
	case !slices.Contains([]string{"debug", "info", "warn", "error"}, f.logLevel):
		return nil, fmt.Errorf("--log.level must be debug, info, warn or error, got %q", f.logLevel)
	case f.logFormat != "logfmt" && f.logFormat != "json":
		return nil, fmt.Errorf("--log.format must be logfmt or json, got %q", f.logFormat)
	}
	if err := checkTelemetryPath(f.metricsPath); err != nil {
		return nil, fmt.Errorf("--web.telemetry-path: %w", err)
	}
	if *external != "" {
		u, err := url.Parse(*external)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("--web.external-url must be an http or https URL with a host and at most a path, such as https://exporter.example.com/tencentchat, got %q", config.RedactURL(*external))
		}
		f.externalURL = u
	}
	return f, nil
}

// minAutoReload is the shortest --config.auto-reload-interval.
const minAutoReload = time.Second

// reservedPaths are served by the exporter itself; the metrics cannot live
// there.
var reservedPaths = []string{"/", "/probe", "/sd", "/-/healthy", "/-/ready", "/-/reload", "/debug/pprof/"}

// checkTelemetryPath refuses what http.ServeMux would panic on, or what
// would shadow another endpoint.
func checkTelemetryPath(p string) error {
	switch {
	case !strings.HasPrefix(p, "/"):
		return fmt.Errorf("%q must start with /", p)
	case strings.ContainsAny(p, " \t\r\n?#{}"):
		return fmt.Errorf("%q must not contain spaces, ?, #, { or }", p)
	case strings.HasPrefix(p, "//"):
		return fmt.Errorf("%q would be a link to another host (//host/...) on the landing page", p)
	case path.Clean(p) != p && path.Clean(p)+"/" != p:
		return fmt.Errorf("%q is not a clean path (%q)", p, path.Clean(p))
	case !validEscapes(p):
		return fmt.Errorf("%q has a %% that is not an escape (%%XX)", p)
	case slices.Contains(reservedPaths, p) || strings.HasPrefix(p, "/debug/pprof/"):
		return fmt.Errorf("%q is taken by another endpoint (%s)", p, strings.Join(reservedPaths, ", "))
	}
	return nil
}

// validEscapes tells whether every % in p starts a valid escape.
func validEscapes(p string) bool {
	_, err := url.PathUnescape(p)
	return err == nil
}

// loadConfig loads the file and logs its warnings.
func loadConfig(file string, logger log.Logger) (*config.Config, error) {
	cfg, warnings, err := config.Load(file)
	for _, w := range warnings {
		level.Warn(logger).Log("msg", "configuration", "warning", w)
	}
	return cfg, err
}

// checkConfig is --config.check: one line, and the exit status.
func checkConfig(file string, load func() (*config.Config, error), stdout, stderr io.Writer) int {
	cfg, err := load()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	accounts := 0
	for _, a := range cfg.Apps {
		accounts += len(a.Accounts)
	}
	fmt.Fprintf(stdout, "%s: valid: %d apps, %d accounts\n", file, len(cfg.Apps), accounts)
	return 0
}

// newMux routes the exporter's endpoints.
func newMux(f *flags, exporter *collector.Exporter, load func() (*config.Config, error)) (*http.ServeMux, error) {
	opts := collector.HandlerOpts{
		TimeoutOffset: f.timeoutOffset,
		Limit:         scrape.NewLimit(f.maxRequests),
		Static: append([]prometheus.Collector{
			collectors.NewGoCollector(),
			collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
			versioncollector.NewCollector(program),
		}, exporter.ReloadMetrics()...),
	}
	mux := http.NewServeMux()
	mux.Handle(f.metricsPath, exporter.MetricsHandler(opts))
	mux.Handle("/probe", exporter.ProbeHandler(opts))
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "Healthy") })
	mux.Handle("/-/ready", exporter.ReadyHandler())
	mux.Handle("/sd", exporter.SDHandler(f.externalURL))
	mux.HandleFunc("/-/reload", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "only POST reloads the configuration", http.StatusMethodNotAllowed)
			return
		}
		if err := exporter.Reload(load); err != nil {
			// 500, as Prometheus answers a refused reload.
			http.Error(w, "configuration not loaded; the previous one keeps serving: "+err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "configuration loaded")
	})
	// The landing page links to heap and CPU profiles, as node_exporter's
	// does; they are served here.
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	landing, err := web.NewLandingPage(web.LandingConfig{
		Name:        "Tencent Cloud Chat Exporter",
		Description: "Prometheus exporter for Tencent Cloud Chat official accounts",
		Version:     version.Info(),
		Links: []web.LandingLinks{
			{Address: f.metricsPath, Text: "Metrics"},
			{Address: "/-/healthy", Text: "Health"},
			{Address: "/-/ready", Text: "Readiness (every background refresh has run once)"},
			{Address: "/sd", Text: "HTTP service discovery of the apps as /probe targets"},
		},
		ExtraHTML: statusMarker,
		ExtraCSS:  statusCSS,
	})
	if err != nil {
		return nil, err
	}
	mux.Handle("/", withStatus(landing, exporter))
	return mux, nil
}

// Server timeouts. A scrape's own write deadline is Prometheus' timeout;
// the server's bounds whatever else it serves. Idle keep-alive connections
// are closed, so a client that opens thousands cannot exhaust the file
// descriptors for long.
const (
	readTimeout  = 30 * time.Second
	writeTimeout = scrape.MaxTimeout + 10*time.Second
	idleTimeout  = time.Minute
)

// newServer returns the exporter's HTTP server: requests live in ctx, and
// its own errors (accept failures, TLS handshakes) go to the logger.
func newServer(ctx context.Context, h http.Handler, logger log.Logger, idle time.Duration) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idle,
		ErrorLog:          stdlog.New(errorLogWriter{level.Error(log.With(logger, "component", "http"))}, "", 0),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
}

// errorLogWriter turns each line of the server's log into one log line of
// ours. (go-kit's stdlib adapter would read "accept tcp [::]:9882:" as a
// caller.)
type errorLogWriter struct{ l log.Logger }

func (w errorLogWriter) Write(p []byte) (int, error) {
	return len(p), w.l.Log("msg", strings.TrimSpace(string(p)))
}

// serve runs the server until ctx ends. Requests live in ctx, so SIGTERM
// cancels in-flight scrapes at once: they answer 503 and the process
// exits promptly.
func serve(ctx context.Context, mux http.Handler, webFlags *web.FlagConfig, logger log.Logger, slogger *slog.Logger) int {
	srv := newServer(ctx, mux, logger, idleTimeout)
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		level.Info(logger).Log("msg", "shutting down")
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := web.ListenAndServe(srv, webFlags, slogger); !errors.Is(err, http.ErrServerClosed) {
		level.Error(logger).Log("msg", "serving", "err", err)
		return 1
	}
	<-done
	return 0
}

// newLoggers returns the go-kit logger the exporter logs with, and the
// slog logger that exporter-toolkit takes. The slog bridge adds the level,
// the real caller and the time itself, so it writes to the bare go-kit
// logger, with its time key renamed to ours: every line carries each key
// once.
func newLoggers(w io.Writer, lvl, format string) (log.Logger, *slog.Logger) {
	var base log.Logger
	if format == "json" {
		base = log.NewJSONLogger(log.NewSyncWriter(w))
	} else {
		base = log.NewLogfmtLogger(log.NewSyncWriter(w))
	}
	// Caller(5) skips go-kit's level and filter wrappers to the real caller.
	logger := log.With(base, "ts", log.DefaultTimestampUTC, "caller", log.Caller(5))
	allow := map[string]level.Option{"debug": level.AllowDebug(), "info": level.AllowInfo(),
		"warn": level.AllowWarn(), "error": level.AllowError()}[lvl]
	slogLevel := map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo,
		"warn": slog.LevelWarn, "error": slog.LevelError}[lvl]
	return level.NewFilter(logger, allow), slog.New(sloggokit.NewGoKitHandler(slogOrder{base}, slogLevel))
}

// slogOrder puts the slog bridge's lines (exporter-toolkit's) in the key
// order of every other line: ts (renamed from slog's "time", in the same
// format), caller, level, msg, then the rest as they came.
type slogOrder struct{ next log.Logger }

// lineOrder is the order of the keys every line starts with.
var lineOrder = [...]string{"ts", "caller", "level", "msg"}

func (l slogOrder) Log(kv ...any) error {
	head := make([]any, 0, len(kv))
	var rest []any
	var first [len(lineOrder)][]any
	for i := 0; i+1 < len(kv); i += 2 {
		k, v := kv[i], kv[i+1]
		if t, ok := v.(time.Time); ok && k == slog.TimeKey {
			k, v = "ts", t.UTC().Format(time.RFC3339Nano)
		}
		if j := slices.Index(lineOrder[:], fmt.Sprint(k)); j >= 0 && first[j] == nil {
			first[j] = []any{k, v}
			continue
		}
		rest = append(rest, k, v)
	}
	for _, kv := range first {
		head = append(head, kv...)
	}
	return l.next.Log(append(head, rest...)...)
}
