// Package config loads and validates the exporter's YAML configuration. It
// reads the secret keys and account files the configuration points at, so a
// loaded Config is complete and a reload picks up rotated keys. It imports
// no other package of this project.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Config is a loaded, valid configuration.
type Config struct {
	Apps []App
	// Files are the files the configuration was read from: the
	// configuration file (when loaded from one), and every secret_key_file
	// and accounts_file.
	Files []string
	// Fingerprint is that of exactly the bytes this configuration was
	// loaded from (see Fingerprint): a watcher that compares it with the
	// files as they are now misses no change made during a load.
	Fingerprint string
}

// Load reads, validates and resolves the file at path. Warnings are things
// worth a log line that do not stop the exporter (duplicate accounts).
// Every error names the file, and where it applies the app and the key.
// The configuration file and every file it names are read first, once, and
// the configuration is built from those bytes.
func Load(path string) (*Config, []string, error) {
	snap := takeSnapshot(path)
	if snap.err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, unwrapPath(snap.err))
	}
	cfg, warnings, err := parse(snap.raw, path, snap.read)
	if err != nil {
		return nil, warnings, err
	}
	cfg.Files = append([]string{path}, cfg.Files...)
	cfg.Fingerprint = snap.fingerprint()
	return cfg, warnings, nil
}

// unwrapPath drops the path an *os.PathError repeats (the message names
// the file already), keeping the hint for a file the exporter may not
// read.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return permissionHint(pe.Err)
	}
	return err
}

// appFile is one app as the YAML gives it. Decoding starts from a value
// whose Settings are the file's defaults, so keys the app leaves out keep
// them.
type appFile struct {
	Name          string         `yaml:"name"`
	SDKAppID      uint64         `yaml:"sdkappid"`
	Identifier    string         `yaml:"identifier"`
	SecretKeyFile string         `yaml:"secret_key_file"`
	SecretKeyEnv  string         `yaml:"secret_key_env"`
	SecretKey     string         `yaml:"secret_key"`
	Endpoint      string         `yaml:"endpoint"`
	Accounts      []accountEntry `yaml:"accounts"`
	AccountsFile  string         `yaml:"accounts_file"`

	Settings `yaml:",inline"`

	read readFunc // reads the files it names
}

// accountEntry is an entry of accounts: an ID, or a mapping of the ID and
// the account's own max_subscribers ({id: "@TOA#_x", max_subscribers:
// 500000}). MaxSubscribers is 0 when not set.
type accountEntry struct {
	ID             string
	MaxSubscribers int64
}

func (e *accountEntry) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		return n.Decode(&e.ID)
	case yaml.MappingNode:
		if err := checkKeys(n, []string{"id", "max_subscribers"}); err != nil {
			return err
		}
		var m struct {
			ID             string `yaml:"id"`
			MaxSubscribers *int64 `yaml:"max_subscribers"`
		}
		if err := n.Decode(&m); err != nil {
			return err
		}
		e.ID = m.ID
		if m.MaxSubscribers != nil {
			if *m.MaxSubscribers < 1 {
				return fmt.Errorf("line %d: account %s: max_subscribers: must be at least 1, got %d", n.Line, Quote(m.ID), *m.MaxSubscribers)
			}
			e.MaxSubscribers = *m.MaxSubscribers
		}
		return nil
	}
	return fmt.Errorf("line %d: an account must be an ID or a mapping of id and max_subscribers", n.Line)
}

var (
	topKeys      = []string{"defaults", "apps"}
	settingsKeys = yamlKeys(reflect.TypeFor[Settings]())
	appKeys      = yamlKeys(reflect.TypeFor[appFile]())
)

// yamlKeys lists the keys a struct decodes, from its yaml tags, so the
// strict key check never falls out of step with the structs.
func yamlKeys(t reflect.Type) []string {
	var keys []string
	for f := range t.Fields() {
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if opts == "inline" {
			keys = append(keys, yamlKeys(f.Type)...)
		} else if name != "" {
			keys = append(keys, name)
		}
	}
	return keys
}

// Parse validates raw YAML; file names the source in errors and anchors
// relative secret_key_file and accounts_file paths. Its errors never carry
// a secret key: every key configured anywhere in the file, inline or in a
// file, is replaced by <secret> (a key pasted into the wrong field, or an
// accounts_file that points at a key file, would otherwise be quoted).
func Parse(raw []byte, file string) (*Config, []string, error) {
	return parse(raw, file, readLimited)
}

func parse(raw []byte, file string, read readFunc) (cfg *Config, warnings []string, err error) {
	var root yaml.Node
	defer func() {
		if err != nil {
			err = redactSecrets(err, secretsIn(&root, filepath.Dir(file), read))
		}
	}()
	fail := func(format string, args ...any) (*Config, []string, error) {
		return nil, nil, fmt.Errorf("%s: "+format, append([]any{file}, args...)...)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return fail("empty configuration: no apps")
		}
		return fail("%s", yamlMessage(err))
	}
	doc := &root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	if doc.Kind != yaml.MappingNode {
		return fail("line %d: the top level must be a mapping with defaults and apps", doc.Line)
	}
	if err := checkKeys(doc, topKeys); err != nil {
		return fail("%v", err)
	}
	defaults := Defaults()
	var appNodes []*yaml.Node
	for i := 0; i+1 < len(doc.Content); i += 2 {
		key, val := doc.Content[i].Value, doc.Content[i+1]
		switch key {
		case "defaults":
			if err := checkKeys(val, settingsKeys); err != nil {
				return fail("defaults: %v", err)
			}
			if err := val.Decode(&defaults); err != nil {
				return fail("defaults: %s", yamlMessage(err))
			}
		case "apps":
			if val.Kind != yaml.SequenceNode {
				return fail("line %d: apps must be a list", val.Line)
			}
			appNodes = val.Content
		}
	}
	if len(appNodes) == 0 {
		return fail("no apps configured")
	}
	if err := defaults.validate(); err != nil {
		return fail("defaults: %v", err)
	}
	dir := filepath.Dir(file)
	cfg = &Config{}
	names, ids := map[string]bool{}, map[uint64]bool{}
	for i, node := range appNodes {
		where := fmt.Sprintf("apps[%d]", i)
		a := appFile{Settings: defaults, read: read}
		if node.Kind != yaml.MappingNode {
			return fail("%s (line %d): an app must be a mapping", where, node.Line)
		}
		if n := findKey(node, "name"); n != nil && n.Value != "" {
			where = fmt.Sprintf("app %q", n.Value)
		}
		if err := checkKeys(node, appKeys); err != nil {
			return fail("%s: %v", where, err)
		}
		if err := node.Decode(&a); err != nil {
			return fail("%s: %s", where, yamlMessage(err))
		}
		app, warns, err := a.resolve(dir)
		for _, f := range []string{a.SecretKeyFile, a.AccountsFile} {
			if f != "" {
				cfg.Files = append(cfg.Files, resolvePath(dir, f))
			}
		}
		if err != nil {
			return fail("%s: %v", where, err)
		}
		if names[app.Name] {
			return fail("%s: name: duplicate app name", where)
		}
		if ids[app.SDKAppID] {
			return fail("%s: sdkappid: %d is configured twice", where, app.SDKAppID)
		}
		names[app.Name], ids[app.SDKAppID] = true, true
		cfg.Apps = append(cfg.Apps, app)
		for _, w := range warns {
			warnings = append(warnings, fmt.Sprintf("%s: %s: %s", file, where, w))
		}
	}
	// /probe?target= takes a name or an SDKAppID: an app named like
	// another app's SDKAppID would make the target ambiguous.
	for _, a := range cfg.Apps {
		for _, b := range cfg.Apps {
			if a.SDKAppID != b.SDKAppID && a.Name == strconv.FormatUint(b.SDKAppID, 10) {
				return fail("app %q: name: is the SDKAppID of app %q, so /probe?target=%s would be ambiguous", a.Name, b.Name, a.Name)
			}
		}
	}
	return cfg, warnings, nil
}

// yamlMessage strips the "yaml: " prefix and folds multi-line type errors.
func yamlMessage(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.ReplaceAll(msg, "unmarshal errors:\n  ", "")
	msg = strings.ReplaceAll(msg, "\n  ", "; ")
	return msg
}

func findKey(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// removedKeys are keys of earlier releases, with what replaces them.
var removedKeys = map[string]string{
	"cache_ttl": "set refresh_interval (for example 60s) instead: the app is then fetched in the background that often, and every scrape is answered from the last refresh without an API call",
}

// checkKeys refuses unknown and repeated keys, naming them and their line.
func checkKeys(m *yaml.Node, known []string) error {
	if m.Kind != yaml.MappingNode {
		if m.Kind == yaml.ScalarNode && m.Tag == "!!null" {
			return nil
		}
		return fmt.Errorf("line %d: expected a mapping", m.Line)
	}
	seen := map[string]bool{}
	for i := 0; i < len(m.Content); i += 2 {
		k := m.Content[i]
		ok := false
		for _, name := range known {
			ok = ok || k.Value == name
		}
		if why, gone := removedKeys[k.Value]; gone && !ok {
			return fmt.Errorf("line %d: %s was removed: %s", k.Line, k.Value, why)
		}
		if !ok {
			return fmt.Errorf("line %d: unknown key %s (known: %s)", k.Line, Quote(k.Value), strings.Join(known, ", "))
		}
		if seen[k.Value] {
			return fmt.Errorf("line %d: key %s given twice", k.Line, Quote(k.Value))
		}
		seen[k.Value] = true
	}
	return nil
}
