// Command tencentchat-simulator serves a simulated Tencent Cloud Chat REST API
// (get_official_account_info) for trying the exporter out, for tests and for
// benchmarks. It never logs the secret key.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/tencentchat-exporter/tencentchat_exporter/simulator"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "tencentchat-simulator:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("tencentchat-simulator", flag.ContinueOnError)
	var (
		listen     = fs.String("listen-address", "127.0.0.1:9999", "address to listen on")
		sdkappid   = fs.Uint64("sdkappid", 1400000000, "SDKAppID of the (first) simulated app")
		apps       = fs.Int("apps", 1, "number of apps: SDKAppIDs sdkappid, sdkappid+1, ..., sharing identifier and key")
		identifier = fs.String("identifier", "administrator", "the App admin identifier")
		keyFile    = fs.String("secret-key-file", "", "file holding the apps' secret key (required)")
		accounts   = fs.Int("accounts", 100, "accounts per app: @TOA#_sim00000 onwards")
		seed       = fs.Uint64("seed", 1, "seed of the generated data")
		drift      = fs.Duration("drift-interval", 15*time.Second, "how often the data moves; 0 keeps it still")
		latency    = fs.Duration("latency", 0, "latency added to every call")
		jitter     = fs.Duration("latency-jitter", 0, "random extra latency, up to this")
		rateLimit  = fs.Int("rate-limit", 0, "answer 60007 beyond this many calls per second per app; 0 = none")
		disabled   = fs.Bool("service-disabled", false, "answer 131000 (official account service not enabled)")
		errorCode  = fs.Int("error-code", 0, "answer every authenticated call with this ErrorCode")
		control    = fs.Bool("control", true, "serve the control API under /simulator/ (loopback use only)")
	)
	rates := map[simulator.FaultKind]float64{}
	kinds := make([]string, len(simulator.FaultKinds))
	for i, k := range simulator.FaultKinds {
		kinds[i] = string(k)
	}
	fs.Func("fault", "fault=rate, repeatable; kinds: "+strings.Join(kinds, ", "), func(s string) error {
		k, r, err := simulator.ParseFault(s)
		if err == nil {
			rates[k] = r
		}
		return err
	})
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *keyFile == "" {
		return errors.New("--secret-key-file is required")
	}
	raw, err := os.ReadFile(*keyFile)
	if err != nil {
		return fmt.Errorf("reading secret key: %w", err)
	}
	key := strings.TrimSpace(string(raw))
	if key == "" {
		return fmt.Errorf("secret key file %s is empty", *keyFile)
	}
	if *apps < 1 || *accounts < 0 {
		return errors.New("--apps must be at least 1 and --accounts not negative")
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	sim := simulator.New()
	defer sim.Close()
	faults := simulator.Faults{Latency: *latency, LatencyJitter: *jitter, RateLimit: *rateLimit,
		ServiceDisabled: *disabled, ErrorCode: *errorCode, Rates: rates}
	for i := range *apps {
		id := *sdkappid + uint64(i)
		sim.AddApp(simulator.AppConfig{SDKAppID: id, Identifier: *identifier, SecretKey: key,
			Accounts: *accounts, Seed: *seed, DriftInterval: *drift}).SetFaults(faults)
	}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	logger.Info("simulating Tencent Cloud Chat get_official_account_info",
		"address", ln.Addr().String(), "path", simulator.Path,
		"sdkappids", fmt.Sprintf("%d..%d", *sdkappid, *sdkappid+uint64(*apps-1)),
		"identifier", *identifier, "accounts_per_app", *accounts,
		"first_account", simulator.AccountID(0), "drift_interval", *drift,
		"latency", *latency, "latency_jitter", *jitter, "rate_limit", *rateLimit,
		"service_disabled", *disabled, "error_code", *errorCode, "faults", fmt.Sprint(rates),
		"control_api", *control)

	srv := &http.Server{Handler: sim.Mux(*control), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sim.Close()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
