package config

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Limits of the API and sane bounds for the knobs. MaxBatchSize is the one
// place the exporter knows the API's 50 accounts a call.
const (
	MaxBatchSize   = 50
	MaxAccountID   = 48
	AccountPrefix  = "@TOA#_"
	maxConcurrency = 64
	maxRetries     = 10
	minUserSigTTL  = 5 * time.Minute

	// MinRefreshInterval is the shortest refresh_interval: a background
	// refresh more often than this only spends the app's API budget.
	MinRefreshInterval = 10 * time.Second

	minAppStatisticsInterval = time.Minute

	// minPublishingInterval is the shortest publishing_activity_interval:
	// a refresh costs one call per account.
	minPublishingInterval = time.Minute

	// DefaultMaxSubscribers is Tencent's documented default cap of an
	// official account's subscribers (MaxSubscriberNum).
	DefaultMaxSubscribers = 100000
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

	// RefreshInterval, when set, fetches the app in the background this
	// often; scrapes are answered from the last refresh and call nothing.
	RefreshInterval time.Duration `yaml:"refresh_interval"`

	// AppStatistics turns on getappinfo, refreshed every
	// AppStatisticsInterval (its data changes once a day).
	AppStatistics         bool          `yaml:"app_statistics"`
	AppStatisticsInterval time.Duration `yaml:"app_statistics_interval"`

	// PushStatistics turns on normal_push_statistics, the offline push
	// funnel of the same day, refreshed with the app statistics (every
	// AppStatisticsInterval, whether AppStatistics is on or not).
	PushStatistics bool `yaml:"push_statistics"`

	// MaxSubscribers is the accounts' cap (MaxSubscriberNum), which the
	// API does not return: the exporter must be told it. An entry of
	// accounts or a line of accounts_file may set its own.
	MaxSubscribers int64 `yaml:"max_subscribers"`

	// PublishingActivity turns on official_account_msg_get_simple, one
	// call per account every PublishingActivityInterval.
	PublishingActivity         bool          `yaml:"publishing_activity"`
	PublishingActivityInterval time.Duration `yaml:"publishing_activity_interval"`
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

		MaxSubscribers:             DefaultMaxSubscribers,
		PublishingActivityInterval: 15 * time.Minute,
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
	// Caps are the accounts whose max_subscribers was set on their own;
	// nil when none was.
	Caps map[string]int64
	Settings
}

// DailyStatistics tells whether the app has daily statistics to refresh:
// getappinfo's, the push funnel's, or both.
func (a App) DailyStatistics() bool { return a.AppStatistics || a.PushStatistics }

// Cap is an account's max_subscribers: its own, or the app's.
func (a App) Cap(id string) int64 {
	if c, ok := a.Caps[id]; ok {
		return c
	}
	return a.MaxSubscribers
}

// BaseURL is where the app's API calls go: its endpoint, or its region's
// HTTPS domain. A loaded App always has one of the two.
func (a App) BaseURL() string {
	if a.Endpoint != "" {
		return a.Endpoint
	}
	return "https://" + regionDomains[a.Region]
}

// Host is the host the app's calls go to.
func (a App) Host() string {
	if u, err := url.Parse(a.BaseURL()); err == nil {
		return u.Host
	}
	return ""
}

// Describe is the app's effective settings for a person to read: the
// secret as <secret>, the endpoint without user info or query.
// Batches is the number of API calls that fetch every account once.
func (a App) Batches() int { return (len(a.Accounts) + a.BatchSize - 1) / a.BatchSize }

// RefreshPace is how fast a background refresh calls the API: its calls,
// retries included, spread over half the interval, at most
// max(batches / (interval / 2), 1) a second and never above rate_limit;
// and how long its batches need at that pace. A refresh is cut at one
// interval, so when need exceeds it the last batches are never called.
func (a App) RefreshPace() (perSecond float64, need time.Duration) {
	if a.RefreshInterval <= 0 {
		return 0, 0
	}
	batches := a.Batches()
	perSecond = max(float64(batches)/(a.RefreshInterval.Seconds()/2), 1)
	if a.RateLimit > 0 {
		perSecond = min(perSecond, a.RateLimit)
	}
	return perSecond, time.Duration(float64(batches) / perSecond * float64(time.Second))
}

// PublishingPace is how fast a publishing_activity round calls the API,
// one call per account, retries included: spread over half the interval,
// at least one a second, and at most half the app's rate_limit (half of
// Tencent's 200 when unlimited), so the account fetches keep the rest.
func (a App) PublishingPace() float64 {
	perSecond := max(float64(len(a.Accounts))/(a.PublishingActivityInterval.Seconds()/2), 1)
	share := 100.0
	if a.RateLimit > 0 {
		share = a.RateLimit / 2
	}
	return min(perSecond, share)
}

// refreshWarning says when a background refresh cannot call every batch
// within its interval; "" when it can.
func (a App) refreshWarning() string {
	perSecond, need := a.RefreshPace()
	if need <= a.RefreshInterval {
		return ""
	}
	return fmt.Sprintf("%d batches at %g/s need %s, more than refresh_interval %s: the last batches would never be called; raise rate_limit or refresh_interval, or split the app's accounts",
		a.Batches(), perSecond, need.Round(time.Second), a.RefreshInterval)
}

func (a App) Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "App %q, SDKAppID %d\n\nSettings:\n", a.Name, a.SDKAppID)
	fmt.Fprintf(&b, "  identifier: %s\n  secret: %s\n", a.Identifier, a.SecretKey)
	if a.Endpoint != "" {
		fmt.Fprintf(&b, "  endpoint: %s\n", RedactURL(a.Endpoint))
	} else {
		fmt.Fprintf(&b, "  region: %s (%s)\n", a.Region, a.BaseURL())
	}
	fmt.Fprintf(&b, "  accounts: %d, batches: %d of up to %d\n", len(a.Accounts), a.Batches(), a.BatchSize)
	fmt.Fprintf(&b, "  concurrency: %d, timeout: %v, retries: %d, rate_limit: %g/s, usersig_ttl: %v, refresh_interval: %v\n",
		a.Concurrency, a.Timeout, a.Retries, a.RateLimit, a.UserSigTTL, a.RefreshInterval)
	fmt.Fprintf(&b, "  max_subscribers: %d (%d accounts with their own)\n", a.MaxSubscribers, len(a.Caps))
	if a.PublishingActivity {
		fmt.Fprintf(&b, "  publishing_activity: every %v, one call per account\n", a.PublishingActivityInterval)
	}
	if perSecond, need := a.RefreshPace(); perSecond > 0 {
		fmt.Fprintf(&b, "  refresh pace: %g calls/s (retries included), %s for every batch once\n", perSecond, need.Round(time.Millisecond))
		if w := a.refreshWarning(); w != "" {
			fmt.Fprintf(&b, "  WARNING: %s\n", w)
		}
	}
	return b.String()
}

// validate checks the settings' values.
func (s Settings) validate() error {
	_, known := regionDomains[s.Region]
	switch {
	case s.Region != "" && !known:
		return fmt.Errorf("region: unknown region %s (valid: %s)", Quote(s.Region), strings.Join(Regions(), ", "))
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
	case s.RefreshInterval != 0 && s.RefreshInterval < MinRefreshInterval:
		return fmt.Errorf("refresh_interval: must be 0s (fetch on every scrape) or at least %s, got %s", MinRefreshInterval, s.RefreshInterval)
	case s.AppStatisticsInterval < minAppStatisticsInterval:
		return fmt.Errorf("app_statistics_interval: must be at least %s, got %s", minAppStatisticsInterval, s.AppStatisticsInterval)
	case s.MaxSubscribers < 1:
		return fmt.Errorf("max_subscribers: must be at least 1, got %d", s.MaxSubscribers)
	case s.PublishingActivityInterval < minPublishingInterval:
		return fmt.Errorf("publishing_activity_interval: must be at least %s, got %s", minPublishingInterval, s.PublishingActivityInterval)
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

	entries := slices.Clone(a.Accounts)
	for i, e := range entries {
		if err := CheckAccountID(e.ID); err != nil {
			return App{}, nil, fmt.Errorf("accounts[%d]: %w", i, err)
		}
	}
	if a.AccountsFile != "" {
		fromFile, err := readAccounts(resolvePath(dir, a.AccountsFile), a.read)
		if err != nil {
			return App{}, nil, fmt.Errorf("accounts_file: %w", err)
		}
		entries = append(entries, fromFile...)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		if seen[e.ID] {
			warnings = append(warnings, fmt.Sprintf("account %s listed more than once; using it once", Quote(e.ID)))
			continue
		}
		seen[e.ID] = true
		app.Accounts = append(app.Accounts, e.ID)
		if e.MaxSubscribers != 0 {
			if app.Caps == nil {
				app.Caps = map[string]int64{}
			}
			app.Caps[e.ID] = e.MaxSubscribers
		}
	}
	if len(app.Accounts) == 0 {
		return App{}, nil, errors.New("accounts: none configured (set accounts or accounts_file)")
	}
	if w := app.refreshWarning(); w != "" {
		warnings = append(warnings, w)
	}
	return app, warnings, nil
}

// CheckAccountID checks the documented shape of an official account ID:
// the prefix, at most 48 bytes, and printable ASCII (Tencent's rule for
// custom IDs), so every ID is a valid label value.
func CheckAccountID(id string) error {
	switch {
	case !strings.HasPrefix(id, AccountPrefix) || len(id) == len(AccountPrefix):
		return fmt.Errorf("account %s: must start with %q", Quote(id), AccountPrefix)
	case len(id) > MaxAccountID:
		return fmt.Errorf("account %s: longer than %d bytes", Quote(id), MaxAccountID)
	case strings.IndexFunc(id, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0:
		return fmt.Errorf("account %s: must be printable ASCII without spaces", Quote(id))
	}
	return nil
}

// checkEndpoint accepts http and https base URLs without query or user info.
// Its errors show the URL without user info or query values: a proxy URL
// with a password must not reach --config.check, the log or /-/reload.
func checkEndpoint(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("invalid URL %s", Quote(RedactURL(raw)))
	}
	shown := RedactURL(raw)
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("%s: scheme must be http or https", Quote(shown))
	case u.Host == "":
		return "", fmt.Errorf("%s: no host", Quote(shown))
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return "", fmt.Errorf("%s: must not carry user info, a query or a fragment", Quote(shown))
	}
	return strings.TrimRight(u.Scheme+"://"+u.Host+u.EscapedPath(), "/"), nil
}

// RedactURL returns raw with its user info replaced and its query and
// fragment values dropped, for printing an endpoint; raw need not parse,
// nor have a scheme (user:pw@host/p and //user:pw@host/p are redacted too).
func RedactURL(raw string) string {
	prefix, rest := "", raw
	if i := strings.Index(raw, "//"); i >= 0 && !strings.ContainsAny(raw[:i], "/?#@") {
		prefix, rest = raw[:i+2], raw[i+2:]
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	if at := strings.LastIndexByte(rest[:end], '@'); at >= 0 {
		rest = "<redacted>@" + rest[at+1:]
	}
	out := prefix + rest
	if i := strings.IndexAny(out, "?#"); i >= 0 {
		out = out[:i+1] + "<redacted>"
	}
	return out
}
