package config

import (
	"path/filepath"
	"runtime"
	"testing"
)

// TestResolvePath: a path in the configuration is taken relative to the
// configuration file's directory unless it is absolute on this platform.
// The release ships a Windows build, where C:\keys\k is absolute and a
// slash-only check took it for relative. The Windows table runs where
// filepath has Windows semantics.
func TestResolvePath(t *testing.T) {
	type tc struct{ config, p, want string }
	cases := map[string][]tc{
		"windows": {
			{`C:\etc\tce\config.yml`, `C:\keys\k`, `C:\keys\k`},
			{`C:\etc\tce\config.yml`, `keys\k`, `C:\etc\tce\keys\k`},
			{`C:\etc\tce\config.yml`, `..\k`, `C:\etc\k`},
			{`config.yml`, `keys\k`, `keys\k`},
			{`\\server\share\config.yml`, `k`, `\\server\share\k`},
		},
		"other": {
			{"/etc/tce/config.yml", "/keys/k", "/keys/k"},
			{"/etc/tce/config.yml", "keys/k", "/etc/tce/keys/k"},
			{"/etc/tce/config.yml", "../k", "/etc/k"},
			{"config.yml", "keys/k", "keys/k"},
			{"./config.yml", "k", "k"},
		},
	}
	table := cases["other"]
	if runtime.GOOS == "windows" {
		table = cases["windows"]
	}
	for _, c := range table {
		if got := resolvePath(filepath.Dir(c.config), c.p); got != c.want {
			t.Errorf("%s in %s resolved to %s, want %s", c.p, c.config, got, c.want)
		}
	}
	if resolvePath("/etc", "") != "" {
		t.Error("an unset path resolved to something")
	}
}
