// Package config loads and validates the exporter's YAML configuration. It
// reads the secret keys and account files the configuration points at, so a
// loaded Config is complete and a reload picks up rotated keys. It imports
// no other package of this project.
package config

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Secret is a string that prints as <secret> however it is formatted or
// marshalled, so a key cannot reach a log or a dump by accident.
type Secret string

func (Secret) String() string                  { return "<secret>" }
func (Secret) GoString() string                { return "<secret>" }
func (Secret) MarshalYAML() (any, error)       { return "<secret>", nil }
func (Secret) MarshalText() ([]byte, error)    { return []byte("<secret>"), nil }
func (s Secret) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte("<secret>")) }

// Limits of the API and sane bounds for the knobs. MaxBatchSize is the one
// place the exporter knows the API's 50 accounts a call.
const (
	MaxBatchSize   = 50
	MaxAccountID   = 48
	AccountPrefix  = "@TOA#_"
	maxConcurrency = 64
	maxRetries     = 10
	minUserSigTTL  = 5 * time.Minute

	minAppStatisticsInterval = time.Minute
)

// Settings are the knobs that defaults give and each app may override. A
// new setting is a field here, its default in Defaults and its check in
// validate: the YAML keys come from the tags.
type Settings struct {
	Region      string        `yaml:"region"`
	Timeout     time.Duration `yaml:"timeout"`
	BatchSize   int           `yaml:"batch_size"`
	Concurrency int           `yaml:"concurrency"`
	RateLimit   float64       `yaml:"rate_limit"`
	Retries     int           `yaml:"retries"`
	UserSigTTL  time.Duration `yaml:"usersig_ttl"`
	CacheTTL    time.Duration `yaml:"cache_ttl"`

	// AppStatistics turns on getappinfo, refreshed every
	// AppStatisticsInterval (its data changes once a day).
	AppStatistics         bool          `yaml:"app_statistics"`
	AppStatisticsInterval time.Duration `yaml:"app_statistics_interval"`
}

// Defaults returns the settings a file's defaults section starts from, and
// those of configurations made in code (demo mode).
func Defaults() Settings {
	return Settings{
		Timeout:     5 * time.Second, // the API's backend gives up after about 3 s
		BatchSize:   MaxBatchSize,
		Concurrency: 4,
		RateLimit:   100,
		Retries:     2,
		UserSigTTL:  24 * time.Hour,

		AppStatisticsInterval: 30 * time.Minute,
	}
}

// regionDomains maps the region names users put in their configuration to
// the REST API domain of that region, as listed by Tencent's API pages.
var regionDomains = map[string]string{
	"china":          "console.tim.qq.com",
	"singapore":      "adminapisgp.im.qcloud.com",
	"seoul":          "adminapikr.im.qcloud.com",
	"tokyo":          "adminapijpn.im.qcloud.com",
	"frankfurt":      "adminapiger.im.qcloud.com",
	"silicon-valley": "adminapiusa.im.qcloud.com",
	"jakarta":        "adminapiidn.im.qcloud.com",
}

// Regions returns the valid region names, sorted.
func Regions() []string {
	names := make([]string, 0, len(regionDomains))
	for name := range regionDomains {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// App is one configured app, resolved: defaults applied, secret read,
// accounts merged.
type App struct {
	Name       string
	SDKAppID   uint64
	Identifier string
	SecretKey  Secret
	Endpoint   string // base URL that overrides Region's, normalised; "" to use Region
	Accounts   []string
	Settings
}

// BaseURL is where the app's API calls go: its endpoint, or its region's
// HTTPS domain. A loaded App always has one of the two.
func (a App) BaseURL() string {
	if a.Endpoint != "" {
		return a.Endpoint
	}
	return "https://" + regionDomains[a.Region]
}

// Config is a loaded, valid configuration.
type Config struct {
	Apps []App
	// Files are the files the configuration was read from: the
	// configuration file (when loaded from one), and every secret_key_file
	// and accounts_file, for a watcher to tell when it changed.
	Files []string
}

// Load reads, validates and resolves the file at path. Warnings are things
// worth a log line that do not stop the exporter (duplicate accounts).
// Every error names the file, and where it applies the app and the key.
func Load(path string) (*Config, []string, error) {
	raw, err := readLimited(path, maxConfigFile)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, unwrapPath(err))
	}
	cfg, warnings, err := Parse(raw, path)
	if err != nil {
		return nil, warnings, err
	}
	cfg.Files = append([]string{path}, cfg.Files...)
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
	Name          string   `yaml:"name"`
	SDKAppID      uint64   `yaml:"sdkappid"`
	Identifier    string   `yaml:"identifier"`
	SecretKeyFile string   `yaml:"secret_key_file"`
	SecretKeyEnv  string   `yaml:"secret_key_env"`
	SecretKey     string   `yaml:"secret_key"`
	Endpoint      string   `yaml:"endpoint"`
	Accounts      []string `yaml:"accounts"`
	AccountsFile  string   `yaml:"accounts_file"`

	Settings `yaml:",inline"`
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
// relative secret_key_file and accounts_file paths.
func Parse(raw []byte, file string) (*Config, []string, error) {
	fail := func(format string, args ...any) (*Config, []string, error) {
		return nil, nil, fmt.Errorf("%s: "+format, append([]any{file}, args...)...)
	}
	var root yaml.Node
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
	dir := dirOf(file)
	cfg := &Config{}
	var warnings []string
	names, ids := map[string]bool{}, map[uint64]bool{}
	for i, node := range appNodes {
		where := fmt.Sprintf("apps[%d]", i)
		a := appFile{Settings: defaults}
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
		if !ok {
			return fmt.Errorf("line %d: unknown key %q (known: %s)", k.Line, k.Value, strings.Join(known, ", "))
		}
		if seen[k.Value] {
			return fmt.Errorf("line %d: key %q given twice", k.Line, k.Value)
		}
		seen[k.Value] = true
	}
	return nil
}

// validate checks the settings' values.
func (s Settings) validate() error {
	_, known := regionDomains[s.Region]
	switch {
	case s.Region != "" && !known:
		return fmt.Errorf("region: unknown region %q (valid: %s)", s.Region, strings.Join(Regions(), ", "))
	case s.Timeout <= 0:
		return fmt.Errorf("timeout: must be positive, got %s", s.Timeout)
	case s.BatchSize < 1 || s.BatchSize > MaxBatchSize:
		return fmt.Errorf("batch_size: must be 1 to %d, got %d", MaxBatchSize, s.BatchSize)
	case s.Concurrency < 1 || s.Concurrency > maxConcurrency:
		return fmt.Errorf("concurrency: must be 1 to %d, got %d", maxConcurrency, s.Concurrency)
	case s.RateLimit < 0:
		return fmt.Errorf("rate_limit: must be 0 (unlimited) or more, got %g", s.RateLimit)
	case s.Retries < 0 || s.Retries > maxRetries:
		return fmt.Errorf("retries: must be 0 to %d, got %d", maxRetries, s.Retries)
	case s.UserSigTTL < minUserSigTTL:
		return fmt.Errorf("usersig_ttl: must be at least %s, got %s", minUserSigTTL, s.UserSigTTL)
	case s.CacheTTL < 0:
		return fmt.Errorf("cache_ttl: must be 0 (off) or more, got %s", s.CacheTTL)
	case s.AppStatisticsInterval < minAppStatisticsInterval:
		return fmt.Errorf("app_statistics_interval: must be at least %s, got %s", minAppStatisticsInterval, s.AppStatisticsInterval)
	}
	return nil
}

func (a appFile) resolve(dir string) (App, []string, error) {
	var warnings []string
	if err := a.validate(); err != nil {
		return App{}, nil, err
	}
	app := App{Name: a.Name, SDKAppID: a.SDKAppID, Identifier: a.Identifier, Settings: a.Settings}
	switch {
	case a.Name == "":
		return App{}, nil, errors.New("name: missing")
	case len(a.Name) > 128:
		return App{}, nil, errors.New("name: longer than 128 bytes")
	case a.SDKAppID == 0:
		return App{}, nil, errors.New("sdkappid: missing")
	case a.Identifier == "":
		return App{}, nil, errors.New("identifier: missing (an App admin account)")
	}
	key, err := a.secret(dir)
	if err != nil {
		return App{}, nil, err
	}
	app.SecretKey = key

	if a.Endpoint != "" {
		if app.Endpoint, err = checkEndpoint(a.Endpoint); err != nil {
			return App{}, nil, fmt.Errorf("endpoint: %w", err)
		}
	} else if a.Region == "" {
		return App{}, nil, fmt.Errorf("region: missing: set region (%s) or endpoint", strings.Join(Regions(), ", "))
	}

	for i, id := range a.Accounts {
		if err := CheckAccountID(id); err != nil {
			return App{}, nil, fmt.Errorf("accounts[%d]: %w", i, err)
		}
	}
	ids := append([]string(nil), a.Accounts...)
	if a.AccountsFile != "" {
		fromFile, err := readAccounts(resolvePath(dir, a.AccountsFile))
		if err != nil {
			return App{}, nil, fmt.Errorf("accounts_file: %w", err)
		}
		ids = append(ids, fromFile...)
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			warnings = append(warnings, fmt.Sprintf("account %q listed more than once; using it once", id))
			continue
		}
		seen[id] = true
		app.Accounts = append(app.Accounts, id)
	}
	if len(app.Accounts) == 0 {
		return App{}, nil, errors.New("accounts: none configured (set accounts or accounts_file)")
	}
	return app, warnings, nil
}

// CheckAccountID checks the documented shape of an official account ID:
// the prefix, at most 48 bytes, and printable ASCII (Tencent's rule for
// custom IDs), so every ID is a valid label value.
func CheckAccountID(id string) error {
	switch {
	case !strings.HasPrefix(id, AccountPrefix) || len(id) == len(AccountPrefix):
		return fmt.Errorf("account %q: must start with %q", id, AccountPrefix)
	case len(id) > MaxAccountID:
		return fmt.Errorf("account %q: longer than %d bytes", id, MaxAccountID)
	case strings.IndexFunc(id, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0:
		return fmt.Errorf("account %q: must be printable ASCII without spaces", id)
	}
	return nil
}

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
		raw, err := readLimited(resolvePath(dir, a.SecretKeyFile), maxSecretFile)
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

// checkEndpoint accepts http and https base URLs without query or user info.
// Its errors show the URL without user info or query values: a proxy URL
// with a password must not reach --config.check, the log or /-/reload.
func checkEndpoint(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("invalid URL %q", RedactURL(raw))
	}
	shown := RedactURL(raw)
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("%q: scheme must be http or https", shown)
	case u.Host == "":
		return "", fmt.Errorf("%q: no host", shown)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return "", fmt.Errorf("%q: must not carry user info, a query or a fragment", shown)
	}
	return strings.TrimRight(u.Scheme+"://"+u.Host+u.EscapedPath(), "/"), nil
}

// userinfo matches the user info of a URL, even one url.Parse refuses.
var userinfo = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@`)

// RedactURL returns raw with its user info replaced and its query and
// fragment values dropped, for printing an endpoint.
func RedactURL(raw string) string {
	out := userinfo.ReplaceAllString(raw, "${1}<redacted>@")
	if i := strings.IndexAny(out, "?#"); i >= 0 {
		out = out[:i+1] + "<redacted>"
	}
	return out
}

func readAccounts(path string) ([]string, error) {
	raw, err := readLimited(path, maxAccountsFile)
	if err != nil {
		return nil, unwrapPathErr(path, err)
	}
	var ids []string
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
		if err := CheckAccountID(line); err != nil {
			return nil, fmt.Errorf("%s: line %d: %w", path, n, err)
		}
		ids = append(ids, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ids, nil
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
// is refused before it is opened: a FIFO would block the load (and every
// reload after it) forever, a device could be endless.
func readLimited(path string, limit int64) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file (%s)", fileKind(st.Mode()))
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
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

func dirOf(file string) string {
	if i := strings.LastIndexByte(file, '/'); i >= 0 {
		return file[:i+1]
	}
	return ""
}

func resolvePath(dir, p string) string {
	if p == "" || strings.HasPrefix(p, "/") {
		return p
	}
	return dir + p
}
