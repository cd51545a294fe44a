package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/config"
	"github.com/tencentchat-exporter/tencentchat_exporter/simulator"
)

// Demo app: the first 50 simulated accounts of one app. Among them are
// accounts that never sent a message and one that was terminated, so every
// metric and the account-down case show up.
const (
	demoSDKAppID   = 1400000000
	demoIdentifier = "administrator"
	demoAccounts   = 50
)

// startDemo serves a simulated API on a loopback port and returns a
// configuration that points at it. The secret key is random and lives only
// in this process.
func startDemo(logger log.Logger) (*config.Config, func(), error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, nil, err
	}
	key := hex.EncodeToString(raw)
	sim := simulator.New()
	sim.AddApp(simulator.AppConfig{SDKAppID: demoSDKAppID, Identifier: demoIdentifier, SecretKey: key,
		Accounts: demoAccounts, Seed: uint64(time.Now().UnixNano()), DriftInterval: 10 * time.Second}).
		SetFaults(simulator.Faults{Latency: 20 * time.Millisecond, LatencyJitter: 30 * time.Millisecond})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	srv := &http.Server{Handler: sim.Mux(true), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			level.Error(logger).Log("msg", "demo simulator stopped", "err", err)
		}
	}()
	endpoint := "http://" + ln.Addr().String()
	level.Info(logger).Log("msg", "demo mode: serving a simulated Tencent Cloud Chat API", "endpoint", endpoint,
		"app", "demo", "sdkappid", demoSDKAppID, "accounts", demoAccounts, "control_api", endpoint+"/simulator/")

	accounts := make([]string, demoAccounts)
	for i := range accounts {
		accounts[i] = simulator.AccountID(i)
	}
	cfg := &config.Config{Apps: []config.App{{
		Name:       "demo",
		SDKAppID:   demoSDKAppID,
		Identifier: demoIdentifier,
		SecretKey:  config.Secret(key),
		Endpoint:   endpoint,
		Accounts:   accounts,
		// The simulator raised every 50th account's cap at creation.
		Caps:     map[string]int64{simulator.AccountID(0): 500000},
		Settings: demoSettings(),
	}}}
	stop := func() {
		sim.Close()
		_ = srv.Close()
	}
	return cfg, stop, nil
}

// demoSettings are the defaults with app and push statistics, publishing activity
// (every minute, the shortest interval) and background refresh on, so the
// demo shows them too: scrapes are answered from a refresh every 10 s, as
// the simulated data drifts.
func demoSettings() config.Settings {
	s := config.Defaults()
	s.AppStatistics, s.PushStatistics = true, true
	s.PublishingActivity, s.PublishingActivityInterval = true, time.Minute
	s.RefreshInterval = config.MinRefreshInterval
	return s
}
