package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"path/filepath"
	"slices"

	"go.yaml.in/yaml/v3"
)

// readFunc reads a file the configuration names, of at most limit bytes.
type readFunc func(path string, limit int64) ([]byte, error)

// snapshot is a configuration file and every file it names, as read at one
// moment: Load builds the configuration from it, and its fingerprint is
// then that of exactly what was loaded.
type snapshot struct {
	path  string
	raw   []byte
	err   error // reading the configuration file
	files map[string]fileRead
}

type fileRead struct {
	data []byte
	err  error
}

// takeSnapshot reads the configuration file at path and the
// secret_key_file and accounts_file of every app it names, whether or not
// the configuration is otherwise valid (a refused one's files are watched
// too: a key file that appears after its app was added is a change).
func takeSnapshot(path string) *snapshot {
	s := &snapshot{path: path, files: map[string]fileRead{}}
	if s.raw, s.err = readLimited(path, maxConfigFile); s.err != nil {
		return s
	}
	var loose struct {
		Apps []struct {
			SecretKeyFile string `yaml:"secret_key_file"`
			AccountsFile  string `yaml:"accounts_file"`
		} `yaml:"apps"`
	}
	_ = yaml.Unmarshal(s.raw, &loose) // a broken file names no file
	dir := filepath.Dir(path)
	for _, a := range loose.Apps {
		for f, limit := range map[string]int64{a.SecretKeyFile: maxSecretFile, a.AccountsFile: maxAccountsFile} {
			if f == "" {
				continue
			}
			p := resolvePath(dir, f)
			if _, seen := s.files[p]; !seen {
				data, err := readLimited(p, limit)
				s.files[p] = fileRead{data, err}
			}
		}
	}
	return s
}

// read serves a file from the snapshot, as readLimited would; a file the
// snapshot does not hold is read now.
func (s *snapshot) read(path string, limit int64) ([]byte, error) {
	f, ok := s.files[path]
	switch {
	case !ok:
		return readLimited(path, limit)
	case f.err != nil:
		return nil, f.err
	case int64(len(f.data)) > limit:
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return f.data, nil
}

// fingerprint hashes the names and contents (or read errors) of the
// snapshot's files.
func (s *snapshot) fingerprint() string {
	h := sha256.New()
	write := func(name string, data []byte, err error) {
		fmt.Fprintf(h, "%s\x00%d\x00", name, len(data))
		if err != nil {
			fmt.Fprintf(h, "unreadable: %v\x00", err)
		}
		_, _ = h.Write(data)
	}
	write(s.path, s.raw, s.err)
	for _, name := range slices.Sorted(maps.Keys(s.files)) {
		write(name, s.files[name].data, s.files[name].err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Fingerprint is that of the configuration file at path and every file it
// names, as they are now: equal to a Config's Fingerprint when nothing
// changed since it was loaded.
func Fingerprint(path string) string {
	return takeSnapshot(path).fingerprint()
}
