package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/config"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/testutil"
	"github.com/tencentchat-exporter/tencentchat_exporter/simulator"
)

// TestAutoReloadSeesChangesMadeDuringALoad: the accounts file changes
// again right after a reload read it (a big file written while it was
// loaded). The watcher compares the files with what was loaded, so it
// reloads once more and serves the latest accounts; comparing with the
// files as they were after the reload recorded the change as seen, and the
// old accounts stayed.
func TestAutoReloadSeesChangesMadeDuringALoad(t *testing.T) {
	dir := t.TempDir()
	accounts := filepath.Join(dir, "accounts.txt")
	write := func(n int) {
		var b strings.Builder
		for i := range n {
			b.WriteString(simulator.AccountID(i) + "\n")
		}
		if err := os.WriteFile(accounts, []byte(b.String()), 0o600); err != nil {
			t.Error(err)
		}
	}
	write(1)
	os.WriteFile(filepath.Join(dir, "key.txt"), []byte("k"), 0o600)
	cfgFile := filepath.Join(dir, "config.yml")
	os.WriteFile(cfgFile, []byte("apps:\n  - {name: prod, sdkappid: 1400000000, identifier: admin, secret_key_file: key.txt, region: china, accounts_file: accounts.txt}\n"), 0o600)

	var (
		loaded atomic.Value
		mu     sync.Mutex
		served int
		loads  int
	)
	load := func() error {
		cfg, _, err := config.Load(cfgFile)
		if err != nil {
			return err
		}
		loaded.Store(cfg.Fingerprint)
		mu.Lock()
		defer mu.Unlock()
		served, loads = len(cfg.Apps[0].Accounts), loads+1
		if loads == 2 {
			write(3) // changed while this load ran, after it read the file
		}
		return nil
	}
	if err := load(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		autoReload(ctx, 50*time.Millisecond, cfgFile, func() string { return loaded.Load().(string) }, load, func() {}, log.NewNopLogger())
		close(done)
	}()
	defer func() { cancel(); <-done }()

	write(2)
	testutil.WaitFor(t, 10*time.Second, "for the accounts written during a load", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return served == 3
	})
}
