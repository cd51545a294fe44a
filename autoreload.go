package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
)

// watchedFiles are the files of the configuration last loaded, which
// --config.auto-reload-interval watches.
type watchedFiles struct {
	mu    sync.Mutex
	files []string
}

func (w *watchedFiles) set(files []string) {
	w.mu.Lock()
	w.files = slices.Clone(files)
	w.mu.Unlock()
}

func (w *watchedFiles) get() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.files)
}

// autoReload checks every interval whether the configuration file or a
// file it points at changed, by content (a Kubernetes ConfigMap or Secret
// changes by swapping a symlink, which may keep the mtime), and reloads
// as SIGHUP does when one did. A change that does not load is not tried
// again until the files change again.
func autoReload(ctx context.Context, interval time.Duration, configFile string, watched *watchedFiles,
	reload func() error, logger log.Logger) {
	files := func() []string {
		f := watched.get()
		if !slices.Contains(f, configFile) {
			f = append([]string{configFile}, f...)
		}
		return f
	}
	last := fingerprint(files())
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		fp := fingerprint(files())
		if fp == last {
			continue
		}
		level.Info(logger).Log("msg", "configuration files changed; reloading", "interval", interval)
		if err := reload(); err == nil {
			fp = fingerprint(files()) // the new configuration may name other files
		}
		last = fp
	}
}

// fingerprint hashes the files' names and contents; a file that cannot
// be read counts as its error, so its appearing is a change too.
func fingerprint(files []string) string {
	h := sha256.New()
	for _, name := range files {
		io.WriteString(h, name+"\x00")
		if st, err := os.Stat(name); err != nil || !st.Mode().IsRegular() {
			io.WriteString(h, "unreadable\x00")
			continue
		}
		f, err := os.Open(name)
		if err != nil {
			io.WriteString(h, "unreadable\x00")
			continue
		}
		_, _ = io.Copy(h, io.LimitReader(f, 64<<20))
		f.Close()
		io.WriteString(h, "\x00")
	}
	return hex.EncodeToString(h.Sum(nil))
}
