package config

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Secret is a string that prints as <secret> however it is formatted or
// marshalled, so a key cannot reach a log or a dump by accident.
type Secret string

func (Secret) String() string                  { return "<secret>" }
func (Secret) GoString() string                { return "<secret>" }
func (Secret) MarshalYAML() (any, error)       { return "<secret>", nil }
func (Secret) MarshalText() ([]byte, error)    { return []byte("<secret>"), nil }
func (s Secret) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte("<secret>")) }

func (a appFile) secret(dir string) (Secret, error) {
	set := 0
	for _, s := range []string{a.SecretKeyFile, a.SecretKeyEnv, a.SecretKey} {
		if s != "" {
			set++
		}
	}
	if set != 1 {
		return "", errors.New("secret_key_file, secret_key_env, secret_key: set exactly one")
	}
	switch {
	case a.SecretKeyFile != "":
		raw, err := a.read(resolvePath(dir, a.SecretKeyFile), maxSecretFile)
		if err != nil {
			return "", fmt.Errorf("secret_key_file: %w", unwrapPathErr(a.SecretKeyFile, err))
		}
		key := strings.TrimSpace(string(raw))
		if key == "" {
			return "", fmt.Errorf("secret_key_file: %s is empty", a.SecretKeyFile)
		}
		return Secret(key), nil
	case a.SecretKeyEnv != "":
		key := strings.TrimSpace(os.Getenv(a.SecretKeyEnv))
		if key == "" {
			return "", fmt.Errorf("secret_key_env: environment variable %s is unset or empty", a.SecretKeyEnv)
		}
		return Secret(key), nil
	}
	return Secret(strings.TrimSpace(a.SecretKey)), nil
}

func unwrapPathErr(name string, err error) error {
	return fmt.Errorf("%s: %w", name, unwrapPath(err))
}

func readAccounts(path string, read readFunc) ([]accountEntry, error) {
	raw, err := read(path, maxAccountsFile)
	if err != nil {
		return nil, unwrapPathErr(path, err)
	}
	var entries []accountEntry
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.Index(line, " #"); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		e, err := accountLine(line)
		if err != nil {
			return nil, fmt.Errorf("%s: line %d: %w", path, n, err)
		}
		entries = append(entries, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return entries, nil
}

// accountLine is a line of an accounts file: an ID, then optionally
// max_subscribers=N.
func accountLine(line string) (accountEntry, error) {
	fields := strings.Fields(line)
	e := accountEntry{ID: fields[0]}
	if err := CheckAccountID(e.ID); err != nil {
		return e, err
	}
	for _, f := range fields[1:] {
		k, v, _ := strings.Cut(f, "=")
		if k != "max_subscribers" {
			return e, fmt.Errorf("account %s: unknown setting %s (only max_subscribers=N)", Quote(e.ID), Quote(f))
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return e, fmt.Errorf("account %s: max_subscribers: must be a whole number of at least 1, got %s", Quote(e.ID), Quote(v))
		}
		e.MaxSubscribers = n
	}
	return e, nil
}

// Bounds on files the configuration points at: a Tencent secret key is 64
// characters, and 16 MiB holds some 300,000 account IDs. A path pointed at
// a device or a huge file by mistake must not eat the exporter's memory.
const (
	maxConfigFile   = 16 << 20
	maxSecretFile   = 4 << 10
	maxAccountsFile = 16 << 20
)

// readLimited reads a regular file of at most limit bytes. Anything else
// is refused: a FIFO would block the load (and every reload after it)
// forever, a device could be endless. The file is opened without blocking
// and the opened file is checked, so a symlink repointed at a FIFO between
// a check and the open cannot block either.
func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|openNonBlocking, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file (%s)", fileKind(st.Mode()))
	}
	raw, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(raw)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return raw, nil
}

// permissionHint says what to do about a file the exporter may not read:
// in a container it runs as nobody, and a key file mounted with mode 0600
// is someone else's.
func permissionHint(err error) error {
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("%w: the exporter runs as uid %d; make the file readable by it (mode 0444, a group it is in, or a Kubernetes Secret's defaultMode)",
			err, os.Getuid())
	}
	return err
}

func fileKind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a named pipe"
	case m&os.ModeDevice != 0:
		return "a device"
	case m&os.ModeSocket != 0:
		return "a socket"
	}
	return m.Type().String()
}

// resolvePath resolves p against dir, the directory of the file that named
// it; an absolute p stays as it is. filepath understands the platform's own
// paths: on Windows C:\keys\k is absolute and a\b relative.
func resolvePath(dir, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}
