package config

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
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

// TestErrorsNeverQuoteAKey: a 64-character key that ends up where another
// value belongs (accounts, an accounts_file pointed at the key file, the
// region, the endpoint, a stray key) is never quoted whole in the error,
// which reaches the log, --config.check and POST /-/reload; the error
// still names the file, app and key, and quotes a short value whole.
func TestErrorsNeverQuoteAKey(t *testing.T) {
	const key = "8f2b6c1e9d0a4b7c3e5f6a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f"
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "key.txt"), []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	app := func(extra string) string {
		return "apps:\n  - name: prod\n    sdkappid: 1400000000\n    identifier: admin\n    secret_key_file: key.txt\n" + extra
	}
	cases := []struct{ name, yaml, want string }{
		{"accounts_file is the key file", app("    region: china\n    accounts_file: key.txt\n"), "must start with"},
		{"key pasted into accounts", app("    region: china\n    accounts: ['" + key + "']\n"), "must start with"},
		{"key pasted into region", app("    region: " + key + "\n    accounts: ['@TOA#_a']\n"), "unknown region"},
		{"key pasted into endpoint", app("    endpoint: " + key + "\n    accounts: ['@TOA#_a']\n"), "endpoint"},
		{"key as a stray key", app("    region: china\n    " + key + ": x\n    accounts: ['@TOA#_a']\n"), "unknown key"},
		{"inline key in accounts", "apps:\n  - {name: p, sdkappid: 1, identifier: a, secret_key: '" + key + "', region: china, accounts: ['" + key + "']}\n", "must start with"},
		{"a long value is cut", app("    region: china\n    accounts: ['" + strings.Repeat("ab ", 40) + "']\n"), "(120 bytes)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := Parse([]byte(c.yaml), filepath.Join(dir, "config.yml"))
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			if strings.Contains(msg, key[:30]) || strings.Contains(msg, key[34:]) {
				t.Errorf("the key is in the error: %s", msg)
			}
			if !strings.Contains(msg, c.want) || !strings.Contains(msg, "config.yml") {
				t.Errorf("error %q lacks %q or the file", msg, c.want)
			}
		})
	}
	// A short wrong value is still quoted whole, so it can be found.
	_, _, err := Parse([]byte(app("    region: tokio\n    accounts: ['@TOA#_a']\n")), filepath.Join(dir, "config.yml"))
	if err == nil || !strings.Contains(err.Error(), `"tokio"`) {
		t.Errorf("short value not quoted: %v", err)
	}
}

// TestRedactURL: user info is hidden with or without a scheme, and query
// and fragment values are dropped.
func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:pw@proxy.example/p?token=x": "https://<redacted>@proxy.example/p?<redacted>",
		"user:pw@proxy.example/p":                 "<redacted>@proxy.example/p",
		"//user:pw@proxy.example/p":               "//<redacted>@proxy.example/p",
		"http://proxy.example/a@b":                "http://proxy.example/a@b",
		"proxy.example#frag":                      "proxy.example#<redacted>",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSymlinkSwapToFIFONeverBlocks: a symlink that is repointed between a
// regular file and a FIFO while the file is read (a check, then an open,
// raced) must never block the read: each one answers, with the content or
// with "not a regular file".
func TestSymlinkSwapToFIFONeverBlocks(t *testing.T) {
	dir := t.TempDir()
	regular, fifo, link := filepath.Join(dir, "key"), filepath.Join(dir, "fifo"), filepath.Join(dir, "link")
	if err := os.WriteFile(regular, []byte("k"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(regular, link); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	swapped := make(chan struct{})
	go func() {
		defer close(swapped)
		tmp := filepath.Join(dir, "tmp")
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			target := regular
			if i%2 == 1 {
				target = fifo
			}
			_ = os.Remove(tmp)
			if os.Symlink(target, tmp) == nil {
				_ = os.Rename(tmp, link)
			}
		}
	}()
	defer func() { close(stop); <-swapped }()
	done := make(chan error)
	go func() {
		for range 20000 {
			if _, err := readLimited(link, 16); err != nil && !strings.Contains(err.Error(), "not a regular file") &&
				!errors.Is(err, os.ErrNotExist) {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		t.Fatal("a read blocked on the FIFO the symlink was swapped to")
	}
}
