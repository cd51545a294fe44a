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
	"time"

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
		return decodeValue(n, "id", &e.ID)
	case yaml.MappingNode:
		if err := checkKeys(n, []string{"id", "max_subscribers"}); err != nil {
			return err
		}
		var m struct {
			ID             string `yaml:"id"`
			MaxSubscribers *int64 `yaml:"max_subscribers"`
		}
		if err := decodeKeys(n, &m); err != nil {
			return err
		}
		e.ID = m.ID
		if m.MaxSubscribers != nil {
			if *m.MaxSubscribers < 1 {
				line := n.Line
				if v := findKey(n, "max_subscribers"); v != nil {
					line = v.Line
				}
				return &located{line, fmt.Sprintf("account %s: max_subscribers: must be at least 1, got %d", Quote(m.ID), *m.MaxSubscribers)}
			}
			e.MaxSubscribers = *m.MaxSubscribers
		}
		return nil
	}
	return &located{n.Line, "an account must be an ID or a mapping of id and max_subscribers"}
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
	for _, f := range yamlFields(t, nil) {
		keys = append(keys, f.name)
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
	// failAt names the file and line first, as compilers do, then the
	// app and the key: file:line: app "shop": max_subscribers: ... A
	// located error brings its own line; one that names a key is put at
	// the line that sets the key, in the app or else in the defaults.
	var defaultsNode *yaml.Node
	failAt := func(node *yaml.Node, where string, err error) (*Config, []string, error) {
		line, msg := 0, err.Error()
		var l *located
		if errors.As(err, &l) {
			line, msg = l.line, l.msg
		} else if node != nil {
			line = keyLine(node, defaultsNode, msg)
		}
		prefix := file
		if line > 0 {
			prefix = fmt.Sprintf("%s:%d", file, line)
		}
		if where != "" {
			prefix += ": " + where
		}
		if l != nil {
			return nil, nil, fmt.Errorf("%s: %s", prefix, msg)
		}
		return nil, nil, fmt.Errorf("%s: %w", prefix, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return failAt(nil, "", errors.New("empty configuration: no apps"))
		}
		msg := yamlMessage(err)
		var line int
		if _, err := fmt.Sscanf(msg, "line %d: ", &line); err == nil {
			_, rest, _ := strings.Cut(msg, ": ")
			return failAt(nil, "", &located{line, rest})
		}
		return failAt(nil, "", errors.New(msg))
	}
	doc := &root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	if doc.Kind != yaml.MappingNode {
		return failAt(nil, "", &located{doc.Line, "the top level must be a mapping with defaults and apps"})
	}
	if err := checkKeys(doc, topKeys); err != nil {
		return failAt(nil, "", err)
	}
	defaults := Defaults()
	var appNodes []*yaml.Node
	for i := 0; i+1 < len(doc.Content); i += 2 {
		key, val := doc.Content[i].Value, doc.Content[i+1]
		switch key {
		case "defaults":
			defaultsNode = val
			if err := checkKeys(val, settingsKeys); err != nil {
				return failAt(nil, "defaults", err)
			}
			if err := decodeKeys(val, &defaults); err != nil {
				return failAt(nil, "defaults", err)
			}
		case "apps":
			if val.Kind != yaml.SequenceNode {
				return failAt(nil, "", &located{val.Line, "apps must be a list"})
			}
			appNodes = val.Content
		}
	}
	if len(appNodes) == 0 {
		if apps := findKeyNode(doc, "apps"); apps != nil {
			return failAt(nil, "", &located{apps.Line, "apps: no apps configured"})
		}
		return failAt(nil, "", errors.New("no apps configured"))
	}
	if err := defaults.validate(); err != nil {
		return failAt(defaultsNode, "defaults", err)
	}
	dir := filepath.Dir(file)
	cfg = &Config{}
	names, ids := map[string]bool{}, map[uint64]bool{}
	for i, node := range appNodes {
		where := fmt.Sprintf("apps[%d]", i)
		a := appFile{Settings: defaults, read: read}
		if node.Kind != yaml.MappingNode {
			return failAt(nil, where, &located{node.Line, "an app must be a mapping"})
		}
		if n := findKey(node, "name"); n != nil && n.Value != "" {
			where = fmt.Sprintf("app %q", n.Value)
		}
		if err := checkKeys(node, appKeys); err != nil {
			return failAt(nil, where, err)
		}
		if err := decodeKeys(node, &a); err != nil {
			return failAt(nil, where, err)
		}
		app, warns, err := a.resolve(dir)
		for _, f := range []string{a.SecretKeyFile, a.AccountsFile} {
			if f != "" {
				cfg.Files = append(cfg.Files, resolvePath(dir, f))
			}
		}
		if err != nil {
			return failAt(node, where, err)
		}
		if names[app.Name] {
			return failAt(node, where, errors.New("name: duplicate app name"))
		}
		if ids[app.SDKAppID] {
			return failAt(node, where, fmt.Errorf("sdkappid: %d is configured twice", app.SDKAppID))
		}
		names[app.Name], ids[app.SDKAppID] = true, true
		cfg.Apps = append(cfg.Apps, app)
		for _, w := range warns {
			warnings = append(warnings, fmt.Sprintf("%s: %s: %s", file, where, w))
		}
	}
	// /probe?target= takes a name or an SDKAppID: an app named like
	// another app's SDKAppID would make the target ambiguous.
	for i, a := range cfg.Apps {
		for _, b := range cfg.Apps {
			if a.SDKAppID != b.SDKAppID && a.Name == strconv.FormatUint(b.SDKAppID, 10) {
				return failAt(appNodes[i], fmt.Sprintf("app %q", a.Name),
					fmt.Errorf("name: is the SDKAppID of app %q, so /probe?target=%s would be ambiguous", b.Name, a.Name))
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

// keyIndex is the index in m.Content of key's node in mapping m, or -1;
// its value follows it.
func keyIndex(m *yaml.Node, key string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return i
		}
	}
	return -1
}

// findKey is the value of key in mapping m, or nil.
func findKey(m *yaml.Node, key string) *yaml.Node {
	if i := keyIndex(m, key); i >= 0 {
		return m.Content[i+1]
	}
	return nil
}

// findKeyNode is the node of key itself in mapping m, for its line, or nil.
func findKeyNode(m *yaml.Node, key string) *yaml.Node {
	if i := keyIndex(m, key); i >= 0 {
		return m.Content[i]
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
		return &located{m.Line, "expected a mapping"}
	}
	seen := map[string]bool{}
	for i := 0; i < len(m.Content); i += 2 {
		k := m.Content[i]
		ok := false
		for _, name := range known {
			ok = ok || k.Value == name
		}
		if why, gone := removedKeys[k.Value]; gone && !ok {
			return &located{k.Line, fmt.Sprintf("%s was removed: %s", k.Value, why)}
		}
		if !ok {
			return &located{k.Line, fmt.Sprintf("unknown key %s (known: %s)", Quote(k.Value), strings.Join(known, ", "))}
		}
		if seen[k.Value] {
			return &located{k.Line, fmt.Sprintf("key %s given twice", Quote(k.Value))}
		}
		seen[k.Value] = true
	}
	return nil
}

// located is an error at a line of the configuration file.
type located struct {
	line int
	msg  string
}

func (e *located) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

// keyLine is the line that sets the key an error message begins with
// ("batch_size: ...", "accounts[1]: ..."): in the app's mapping, else in
// the defaults it inherited the value from, else the app's own line.
func keyLine(app, defaults *yaml.Node, msg string) int {
	key, _, _ := strings.Cut(msg, ":")
	key, _, _ = strings.Cut(key, "[")
	for _, m := range []*yaml.Node{app, defaults} {
		if m == nil {
			continue
		}
		if k := findKeyNode(m, key); k != nil {
			return k.Line
		}
	}
	return app.Line
}

// decodeKeys decodes a mapping into the struct dst points at one key at a
// time, so a value of the wrong type is reported with its key, its line
// and what the key takes, rather than as yaml's "cannot unmarshal !!str
// into int64". Keys are checked by checkKeys first; one without a field
// here is left alone.
func decodeKeys(m *yaml.Node, dst any) error {
	if m.Kind != yaml.MappingNode {
		return m.Decode(dst)
	}
	v := reflect.ValueOf(dst).Elem()
	for _, f := range yamlFields(v.Type(), nil) {
		if i := keyIndex(m, f.name); i >= 0 {
			if err := decodeValue(m.Content[i+1], f.name, v.FieldByIndex(f.index).Addr().Interface()); err != nil {
				return err
			}
		}
	}
	return nil
}

// decodeValue decodes one value of key into dst, naming the key and what
// it takes when the value is of the wrong type.
func decodeValue(val *yaml.Node, key string, dst any) error {
	if k := reflect.TypeOf(dst).Elem().Kind(); k >= reflect.Int && k <= reflect.Uint64 && val.Kind == yaml.ScalarNode && val.ShortTag() == "!!float" {
		// yaml.v3 would truncate 2.5 into 2: a value nobody wrote.
		return &located{val.Line, fmt.Sprintf("%s: want %s, got %s", key, describe(reflect.TypeOf(dst).Elem()), Quote(val.Value))}
	}
	err := val.Decode(dst)
	if err == nil {
		return nil
	}
	var l *located
	if errors.As(err, &l) {
		return &located{l.line, key + ": " + l.msg}
	}
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return &located{val.Line, key + ": " + yamlMessage(err)}
	}
	got := "a list"
	switch val.Kind {
	case yaml.ScalarNode:
		got = Quote(val.Value)
	case yaml.MappingNode:
		got = "a mapping"
	case yaml.AliasNode:
		got = "an alias"
	}
	want := describe(reflect.TypeOf(dst).Elem())
	if val.Kind == yaml.SequenceNode && strings.HasPrefix(want, "a list") {
		// The list is right; an element of it is not.
		return &located{val.Line, key + ": " + yamlMessage(err)}
	}
	return &located{val.Line, fmt.Sprintf("%s: want %s, got %s", key, want, got)}
}

// describe says in words what a value of type t is written as.
func describe(t reflect.Type) string {
	if t == reflect.TypeFor[time.Duration]() {
		return "a duration such as 30s, 5m or 1h"
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number of 0 or more"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Slice:
		return "a list"
	case reflect.Pointer:
		return describe(t.Elem())
	}
	return "a mapping"
}

// yamlField is a key a struct decodes and the index path of its field.
type yamlField struct {
	name  string
	index []int
}

// yamlFields lists the keys of struct t in field order with their fields,
// following inline structs.
func yamlFields(t reflect.Type, prefix []int) []yamlField {
	var out []yamlField
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		idx := append(append([]int{}, prefix...), i)
		switch {
		case opts == "inline":
			out = append(out, yamlFields(f.Type, idx)...)
		case name != "" && name != "-":
			out = append(out, yamlField{name, idx})
		}
	}
	return out
}
