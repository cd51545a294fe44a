package main

import (
	"context"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/config"
)

// autoReload checks every interval whether the configuration file or a
// file it names (a refused configuration's too) differs, by content, from
// what the running configuration was loaded from (running: the
// fingerprint, config.Config.Fingerprint, of the configuration applied
// last); a Kubernetes ConfigMap
// or Secret changes by swapping a symlink, which may keep the mtime. It
// reloads as SIGHUP does once the files have stayed the same for one
// interval, so a file caught half-written by an in-place editor is not
// loaded. A change made while a load ran is seen at the next check, since
// the comparison is with what was loaded, not with the files after it. A
// change that does not load is not tried again until the files change
// again. Whenever the files are what is running, current is called: a
// refused edit that was reverted leaves nothing to reload, yet the reload
// status must say that the files on disk are what runs.
func autoReload(ctx context.Context, interval time.Duration, configFile string, running func() string,
	reload func() error, current func(), logger log.Logger) {
	var pending, refused string
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		fp := config.Fingerprint(configFile)
		if fp == running() {
			pending, refused = "", ""
			current()
			continue
		}
		if fp == refused {
			pending = ""
			continue
		}
		if fp != pending {
			pending = fp // changed: wait until it stays so for an interval
			continue
		}
		pending = ""
		level.Info(logger).Log("msg", "configuration files changed; reloading", "interval", interval)
		if err := reload(); err != nil {
			refused = fp
		} else {
			refused = ""
		}
	}
}
