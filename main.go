// Command tencentchat_exporter is a Prometheus exporter for Tencent Cloud
// Chat official accounts. This file holds flags, logging and wiring only;
// the metrics are born in collector/.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
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
)

const program = "tencentchat_exporter"

func main() {
	if version.Version == "" {
		version.Version = "dev" // release builds set it with -ldflags
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	app := kingpin.New(program, "Prometheus exporter for Tencent Cloud Chat official accounts.")
	app.UsageWriter(stdout)
	app.ErrorWriter(stderr)
	var (
		configFile    = app.Flag("config.file", "Path to the configuration file.").Default("config.yml").String()
		configCheck   = app.Flag("config.check", "Validate the configuration file, print the result and exit (0 valid, 1 not).").Bool()
		metricsPath   = app.Flag("web.telemetry-path", "Path under which to expose metrics.").Default("/metrics").String()
		timeoutOffset = app.Flag("timeout-offset", "Seconds to subtract from Prometheus' scrape timeout, so the answer arrives in time.").Default("0.5").Float64()
		logLevel      = app.Flag("log.level", "Only log messages with the given severity or above: debug, info, warn, error.").Default("info").String()
		logFormat     = app.Flag("log.format", "Output format of log messages: logfmt or json.").Default("logfmt").String()
		demo          = app.Flag("demo", "Run on an embedded simulated API with a demo app of 50 living accounts; needs no configuration or credentials.").Bool()
		webFlags      = kingpinflag.AddFlags(app, ":9882")
	)
	app.Version(version.Print(program))
	app.HelpFlag.Short('h')
	if _, err := app.Parse(args); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", program, err)
		return 1
	}
	// Checked by hand rather than with kingpin's Enum, whose message does
	// not name the flag.
	switch {
	case *timeoutOffset < 0:
		fmt.Fprintf(stderr, "%s: --timeout-offset must not be negative\n", program)
		return 1
	case !slices.Contains([]string{"debug", "info", "warn", "error"}, *logLevel):
		fmt.Fprintf(stderr, "%s: --log.level must be debug, info, warn or error, got %q\n", program, *logLevel)
		return 1
	case *logFormat != "logfmt" && *logFormat != "json":
		fmt.Fprintf(stderr, "%s: --log.format must be logfmt or json, got %q\n", program, *logFormat)
		return 1
	}
	logger, slogger := newLoggers(stderr, *logLevel, *logFormat)

	load := func() (*config.Config, error) {
		cfg, warnings, err := config.Load(*configFile)
		for _, w := range warnings {
			level.Warn(logger).Log("msg", "configuration", "warning", w)
		}
		return cfg, err
	}
	if *configCheck {
		cfg, err := load()
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		accounts := 0
		for _, a := range cfg.Apps {
			accounts += len(a.Accounts)
		}
		fmt.Fprintf(stdout, "%s: valid: %d apps, %d accounts\n", *configFile, len(cfg.Apps), accounts)
		return 0
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *demo {
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
	cfg, err := load()
	if err != nil {
		level.Error(logger).Log("msg", "cannot start: configuration not loaded", "err", err)
		return 1
	}
	if err := exporter.Reload(func() (*config.Config, error) { return cfg, nil }); err != nil {
		return 1
	}

	opts := collector.HandlerOpts{
		TimeoutOffset: time.Duration(*timeoutOffset * float64(time.Second)),
		Static: []prometheus.Collector{
			collectors.NewGoCollector(),
			collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
			versioncollector.NewCollector(program),
			exporter.ConfigCollector(),
		},
	}

	mux := http.NewServeMux()
	mux.Handle(*metricsPath, exporter.MetricsHandler(opts))
	mux.Handle("/probe", exporter.ProbeHandler(opts))
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "Healthy") })
	mux.HandleFunc("/-/reload", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "only POST reloads the configuration", http.StatusMethodNotAllowed)
			return
		}
		if err := exporter.Reload(load); err != nil {
			http.Error(w, "configuration not loaded; the previous one keeps serving: "+err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintln(w, "configuration loaded")
	})
	if *metricsPath != "/" {
		landing, err := web.NewLandingPage(web.LandingConfig{
			Name:        "Tencent Cloud Chat Exporter",
			Description: "Prometheus exporter for Tencent Cloud Chat official accounts",
			Version:     version.Info(),
			Links: []web.LandingLinks{
				{Address: *metricsPath, Text: "Metrics"},
				{Address: "/probe?target=", Text: "Probe one app (give its name or SDKAppID)"},
				{Address: "/-/healthy", Text: "Health"},
			},
		})
		if err != nil {
			level.Error(logger).Log("msg", "landing page", "err", err)
			return 1
		}
		mux.Handle("/", landing)
	}

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			_ = exporter.Reload(load)
		}
	}()

	// Requests live in ctx, so SIGTERM cancels in-flight scrapes at once:
	// they answer with what they have and the process exits promptly.
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx }}
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
	exporter.Close()
	return 0
}

// newLoggers returns the go-kit logger the exporter logs with, and the
// slog bridge to it that exporter-toolkit takes.
func newLoggers(w io.Writer, lvl, format string) (log.Logger, *slog.Logger) {
	var logger log.Logger
	if format == "json" {
		logger = log.NewJSONLogger(log.NewSyncWriter(w))
	} else {
		logger = log.NewLogfmtLogger(log.NewSyncWriter(w))
	}
	// Caller(5) skips go-kit's level and filter wrappers to the real caller.
	logger = log.With(logger, "ts", log.DefaultTimestampUTC, "caller", log.Caller(5))
	allow := map[string]level.Option{"debug": level.AllowDebug(), "info": level.AllowInfo(),
		"warn": level.AllowWarn(), "error": level.AllowError()}[lvl]
	slogLevel := map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo,
		"warn": slog.LevelWarn, "error": slog.LevelError}[lvl]
	logger = level.NewFilter(logger, allow)
	return logger, slog.New(sloggokit.NewGoKitHandler(logger, slogLevel))
}
