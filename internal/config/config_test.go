package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestLoadGood(t *testing.T) {
	cfg, warnings, err := Load("testdata/good.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Apps) != 2 {
		t.Fatalf("%d apps", len(cfg.Apps))
	}
	prod, staging := cfg.Apps[0], cfg.Apps[1]
	if string(prod.SecretKey) != "test-secret-key-0123456789" || prod.Region != "china" || prod.Endpoint != "" {
		t.Errorf("prod: region %q endpoint %q", prod.Region, prod.Endpoint)
	}
	wantAccounts := "@TOA#_test_for_penn @TOA#_@TOA#dZDP @TOA#_shared @TOA#_from_file_1 @TOA#_from_file_2"
	if got := strings.Join(prod.Accounts, " "); got != wantAccounts {
		t.Errorf("accounts %s", got)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], `"@TOA#_shared"`) || !strings.Contains(warnings[0], `app "prod"`) {
		t.Errorf("warnings %q", warnings)
	}
	want := Settings{Region: "china", Timeout: 4 * time.Second, BatchSize: 40, Concurrency: 3, RateLimit: 50, Retries: 1, UserSigTTL: 12 * time.Hour,
		AppStatisticsInterval: 30 * time.Minute, MaxSubscribers: 100000, PublishingActivityInterval: 15 * time.Minute}
	if prod.Settings != want {
		t.Errorf("prod settings %+v", prod.Settings)
	}
	if staging.Endpoint != "http://127.0.0.1:9999" || staging.BatchSize != 10 || staging.Region != "singapore" || string(staging.SecretKey) != "inline-key" {
		t.Errorf("staging %+v", staging)
	}
}

func TestBuiltinDefaults(t *testing.T) {
	cfg, _, err := Parse([]byte(`
apps:
  - {name: a, sdkappid: 1, identifier: admin, secret_key: k, region: tokyo, accounts: ["@TOA#_x"]}
`), "c.yml")
	if err != nil {
		t.Fatal(err)
	}
	want := Defaults()
	want.Region = "tokyo"
	if cfg.Apps[0].Settings != want {
		t.Fatalf("%+v", cfg.Apps[0].Settings)
	}
}

func TestSecretNeverPrints(t *testing.T) {
	cfg, _, err := Load("testdata/good.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v %#v %s %q %v", cfg.Apps[0], cfg.Apps[0], cfg.Apps[0].SecretKey, cfg.Apps[0].SecretKey, *cfg)} {
		if strings.Contains(s, "test-secret-key") || strings.Contains(s, "inline-key") {
			t.Fatalf("secret printed: %s", s)
		}
	}
}

func TestRegionsAndBaseURL(t *testing.T) {
	want := []string{"china", "frankfurt", "jakarta", "seoul", "silicon-valley", "singapore", "tokyo"}
	if got := Regions(); !slices.Equal(got, want) {
		t.Fatalf("regions %v", got)
	}
	for _, r := range want {
		if u := (App{Settings: Settings{Region: r}}).BaseURL(); !strings.HasPrefix(u, "https://") || strings.HasSuffix(u, "//") {
			t.Errorf("%s: %q", r, u)
		}
	}
	a := App{Endpoint: "http://127.0.0.1:1", Settings: Settings{Region: "china"}}
	if a.BaseURL() != "http://127.0.0.1:1" {
		t.Errorf("endpoint not preferred: %q", a.BaseURL())
	}
}

// TestBroken: each broken config gives one line naming the file, the app
// where there is one, and the key.
// fileLine is how every error about the file's content begins.
var fileLine = regexp.MustCompile(`^c\.yml:[1-9][0-9]*: `)

// TestErrorsNameFileLineAppKey: a wrong value is told in one line that
// names the file and the line, the app (by name, or by index when it has
// none) and the key, and what the key takes.
func TestErrorsNameFileLineAppKey(t *testing.T) {
	const head = "defaults:\n  region: singapore\napps:\n"
	shop := head + "  - name: shop\n    sdkappid: 1400000001\n    identifier: admin\n    secret_key: k\n    accounts: ['@TOA#_a']\n"
	nameless := head + "  - sdkappid: 1400000001\n    identifier: admin\n    secret_key: k\n    accounts: ['@TOA#_a']\n"
	for _, c := range []struct{ name, yaml, want string }{
		{"a word for a whole number", shop + "    max_subscribers: lots\n",
			`c.yml:9: app "shop": max_subscribers: want a whole number, got "lots"`},
		{"a fraction for a whole number", shop + "    batch_size: 2.5\n",
			`c.yml:9: app "shop": batch_size: want a whole number, got "2.5"`},
		{"a negative sdkappid", strings.Replace(shop, "1400000001", "-1", 1),
			`c.yml:5: app "shop": sdkappid: want a whole number of 0 or more, got "-1"`},
		{"a word for a number", shop + "    rate_limit: fast\n",
			`c.yml:9: app "shop": rate_limit: want a number, got "fast"`},
		{"a word for a bool", shop + "    app_statistics: sometimes\n",
			`c.yml:9: app "shop": app_statistics: want true or false, got "sometimes"`},
		{"a bad duration", shop + "    timeout: 5 sec\n",
			`c.yml:9: app "shop": timeout: want a duration such as 30s, 5m or 1h, got "5 sec"`},
		{"a number for a duration", shop + "    refresh_interval: 60\n",
			`c.yml:9: app "shop": refresh_interval: want a duration such as 30s, 5m or 1h, got "60"`},
		{"a list for a string", shop + "    endpoint: [a, b]\n",
			`c.yml:9: app "shop": endpoint: want a string, got a list`},
		{"a mapping for a list", strings.Replace(shop, "accounts: ['@TOA#_a']", "accounts: {a: 1}", 1),
			`c.yml:8: app "shop": accounts: want a list, got a mapping`},
		{"a negative interval", shop + "    refresh_interval: -1m\n",
			`c.yml:9: app "shop": refresh_interval: must be 0s (fetch on every scrape) or at least 10s, got -1m0s`},
		{"an unknown key", shop + "    max_subscriber: 5\n",
			`c.yml:9: app "shop": unknown key "max_subscriber" (known: ` + strings.Join(appKeys, ", ") + `)`},
		{"an app without a name, by index", nameless + "    retries: many\n",
			`c.yml:8: apps[0]: retries: want a whole number, got "many"`},
		{"a wrong value in the defaults", strings.Replace(shop, "region: singapore", "region: singapore\n  timeout: soon", 1),
			`c.yml:3: defaults: timeout: want a duration such as 30s, 5m or 1h, got "soon"`},
		{"a bad value the app inherits", strings.Replace(shop, "region: singapore", "region: singapore\n  batch_size: 0", 1),
			`c.yml:3: defaults: batch_size: must be 1 to 50, got 0`},
		{"an account's max_subscribers", strings.Replace(shop, "['@TOA#_a']", "[{id: '@TOA#_a', max_subscribers: lots}]", 1),
			`c.yml:8: app "shop": accounts: max_subscribers: want a whole number, got "lots"`},
		{"an account's max_subscribers 0 on its own line", strings.Replace(shop, "['@TOA#_a']", "\n      - id: '@TOA#_a'\n        max_subscribers: 0", 1),
			`c.yml:10: app "shop": accounts: account "@TOA#_a": max_subscribers: must be at least 1, got 0`},
		{"a key given twice", shop + "    retries: 1\n    retries: 2\n",
			`c.yml:10: app "shop": key "retries" given twice`},
		{"a bad region at its line", strings.Replace(shop, "secret_key: k\n", "secret_key: k\n    region: mars\n", 1),
			`c.yml:8: app "shop": region: unknown region "mars" (valid: ` + strings.Join(Regions(), ", ") + `)`},
		{"a YAML syntax error", "apps: [\n",
			`c.yml:1: did not find expected node content`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := Parse([]byte(c.yaml), "c.yml")
			if err == nil {
				t.Fatal("accepted")
			}
			if err.Error() != c.want {
				t.Errorf("got  %s\nwant %s", err, c.want)
			}
		})
	}
}

func TestBroken(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	os.WriteFile(keyFile, []byte("k\n"), 0o600)
	// A directory cannot be read as a file, even by root (who reads 0o000).
	unreadable := filepath.Join(dir, "unreadable")
	os.Mkdir(unreadable, 0o700)
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	bigKey := filepath.Join(dir, "big-key")
	os.WriteFile(bigKey, []byte(strings.Repeat("k", 5000)), 0o600)
	badUTF8 := filepath.Join(dir, "bad-utf8.txt")
	os.WriteFile(badUTF8, []byte("@TOA#_ok\n# a comment\n\n@TOA#_caf\xe9\n"), 0o600)
	emptyCap := filepath.Join(dir, "empty-cap.txt")
	os.WriteFile(emptyCap, []byte("@TOA#_ok\n@TOA#_x max_subscribers=\n"), 0o600)
	otherSetting := filepath.Join(dir, "other-setting.txt")
	os.WriteFile(otherSetting, []byte("@TOA#_x colour=blue\n"), 0o600)
	spaced := filepath.Join(dir, "spaced.txt")
	os.WriteFile(spaced, []byte("@TOA#_ok\n@TOA#_two\x00words\n"), 0o600)
	t.Setenv("TCE_EMPTY", "")
	t.Setenv("TCE_KEY", "from-env")

	app := func(extra string) string {
		return "apps:\n  - name: prod\n    sdkappid: 1400000000\n    identifier: admin\n    region: china\n" + extra
	}
	withKey := func(extra string) string { return app("    secret_key: k\n" + extra) }
	ok := withKey("    accounts: ['@TOA#_a']\n")
	if _, _, err := Parse([]byte(ok), "c.yml"); err != nil {
		t.Fatalf("baseline config fails: %v", err)
	}
	cases := []struct {
		name string
		yaml string
		want []string // substrings of the one-line error
	}{
		{"empty file", "", []string{"c.yml", "no apps"}},
		{"not a mapping", "- a\n", []string{"c.yml", "top level"}},
		{"unknown top key", "defaults: {}\napps: []\nextra: 1\n", []string{"c.yml:3: ", `unknown key "extra"`}},
		{"unknown defaults key", "defaults:\n  regoin: china\n" + ok, []string{"defaults", `unknown key "regoin"`}},
		{"unknown app key", withKey("    accounts: ['@TOA#_a']\n    acounts_file: x\n"), []string{`app "prod"`, `unknown key "acounts_file"`}},
		{"duplicate key", withKey("    accounts: ['@TOA#_a']\n    accounts: ['@TOA#_b']\n"), []string{`app "prod"`, `"accounts" given twice`}},
		{"empty apps", "apps: []\n", []string{"c.yml", "no apps"}},
		{"apps not a list", "apps: {}\n", []string{"apps must be a list"}},
		{"wrong type sdkappid", strings.Replace(ok, "1400000000", "abc", 1), []string{`app "prod"`, `sdkappid: want a whole number of 0 or more, got "abc"`}},
		{"wrong type batch_size", withKey("    accounts: ['@TOA#_a']\n    batch_size: many\n"), []string{`app "prod"`, "many"}},
		{"wrong type timeout", "defaults:\n  timeout: soon\n" + ok, []string{"defaults", "soon"}},
		{"batch_size 0", withKey("    accounts: ['@TOA#_a']\n    batch_size: 0\n"), []string{`app "prod"`, "batch_size", "got 0"}},
		{"batch_size 51", "defaults:\n  batch_size: 51\n" + ok, []string{"defaults", "batch_size", "got 51"}},
		{"concurrency 0", withKey("    accounts: ['@TOA#_a']\n    concurrency: 0\n"), []string{`app "prod"`, "concurrency"}},
		{"negative rate", withKey("    accounts: ['@TOA#_a']\n    rate_limit: -1\n"), []string{`app "prod"`, "rate_limit"}},
		{"retries 11", withKey("    accounts: ['@TOA#_a']\n    retries: 11\n"), []string{`app "prod"`, "retries"}},
		{"short ttl", withKey("    accounts: ['@TOA#_a']\n    usersig_ttl: 1s\n"), []string{`app "prod"`, "usersig_ttl"}},
		{"zero timeout", withKey("    accounts: ['@TOA#_a']\n    timeout: 0s\n"), []string{`app "prod"`, "timeout"}},
		{"short app_statistics_interval", withKey("    accounts: ['@TOA#_a']\n    app_statistics: true\n    app_statistics_interval: 30s\n"), []string{`app "prod"`, "app_statistics_interval", "at least 1m"}},
		{"app_statistics not a bool", withKey("    accounts: ['@TOA#_a']\n    app_statistics: sometimes\n"), []string{`app "prod"`, "sometimes"}},
		{"cache_ttl is gone", withKey("    accounts: ['@TOA#_a']\n    cache_ttl: 30s\n"), []string{`app "prod"`, "cache_ttl was removed", "refresh_interval"}},
		{"refresh_interval too short", withKey("    accounts: ['@TOA#_a']\n    refresh_interval: 5s\n"), []string{`app "prod"`, "refresh_interval", "at least 10s"}},
		{"negative refresh_interval", withKey("    accounts: ['@TOA#_a']\n    refresh_interval: -1m\n"), []string{`app "prod"`, "refresh_interval"}},
		{"duplicate name", ok + "  - {name: prod, sdkappid: 2, identifier: a, secret_key: k, region: china, accounts: ['@TOA#_a']}\n", []string{`app "prod"`, "name", "duplicate"}},
		{"duplicate sdkappid", ok + "  - {name: other, sdkappid: 1400000000, identifier: a, secret_key: k, region: china, accounts: ['@TOA#_a']}\n", []string{`app "other"`, "sdkappid", "twice"}},
		{"missing name", "apps:\n  - {sdkappid: 2, identifier: a, secret_key: k, region: china, accounts: ['@TOA#_a']}\n", []string{"apps[0]", "name: missing"}},
		{"missing sdkappid", "apps:\n  - {name: x, identifier: a, secret_key: k, region: china, accounts: ['@TOA#_a']}\n", []string{`app "x"`, "sdkappid: missing"}},
		{"missing identifier", "apps:\n  - {name: x, sdkappid: 2, secret_key: k, region: china, accounts: ['@TOA#_a']}\n", []string{`app "x"`, "identifier: missing"}},
		{"missing secret", app("    accounts: ['@TOA#_a']\n"), []string{`app "prod"`, "secret_key_file, secret_key_env, secret_key", "exactly one"}},
		{"two secrets", app("    secret_key: k\n    secret_key_env: TCE_KEY\n    accounts: ['@TOA#_a']\n"), []string{`app "prod"`, "exactly one"}},
		{"missing secret file", app("    secret_key_file: /nonexistent/key\n    accounts: ['@TOA#_a']\n"), []string{`app "prod"`, "secret_key_file", "/nonexistent/key", "no such file"}},
		{"unreadable secret file", app("    secret_key_file: " + unreadable + "\n    accounts: ['@TOA#_a']\n"), []string{`app "prod"`, "secret_key_file", "not a regular file (a directory)"}},
		{"empty secret env", app("    secret_key_env: TCE_EMPTY\n    accounts: ['@TOA#_a']\n"), []string{`app "prod"`, "secret_key_env", "TCE_EMPTY"}},
		{"missing accounts file", withKey("    accounts_file: /nonexistent/accts\n"), []string{`app "prod"`, "accounts_file", "no such file"}},
		{"secret file is a device", app("    secret_key_file: /dev/zero\n    accounts: ['@TOA#_a']\n"), []string{`app "prod"`, "secret_key_file", "not a regular file (a device)"}},
		{"secret file is a FIFO", app("    secret_key_file: " + fifo + "\n    accounts: ['@TOA#_a']\n"), []string{`app "prod"`, "secret_key_file", "not a regular file (a named pipe)"}},
		{"secret file too large", app("    secret_key_file: " + bigKey + "\n    accounts: ['@TOA#_a']\n"), []string{`app "prod"`, "secret_key_file", "larger than 4096 bytes"}},
		{"accounts file is a device", withKey("    accounts_file: /dev/zero\n"), []string{`app "prod"`, "accounts_file", "not a regular file"}},
		{"endpoint with a password", withKey("    endpoint: 'http://user:hunter2@proxy.example/x?token=s3cr3t'\n    accounts: ['@TOA#_a']\n"), []string{`app "prod"`, "endpoint", "<redacted>@proxy.example", "user info"}},
		{"endpoint with a password, unparsable", withKey("    endpoint: 'http://user:hunter2@[::1/x?token=s3cr3t'\n    accounts: ['@TOA#_a']\n"), []string{`app "prod"`, "endpoint", "invalid URL"}},
		{"name is another app's SDKAppID", ok + "  - {name: '1400000000', sdkappid: 2, identifier: a, secret_key: k, region: china, accounts: ['@TOA#_a']}\n", []string{`app "1400000000"`, "ambiguous"}},
		{"no accounts", withKey(""), []string{`app "prod"`, "accounts: none"}},
		{"bad region", strings.Replace(ok, "region: china", "region: mars", 1), []string{`app "prod"`, "region", "mars", "singapore"}},
		{"no region", "apps:\n  - {name: x, sdkappid: 2, identifier: a, secret_key: k, accounts: ['@TOA#_a']}\n", []string{`app "x"`, "region: missing"}},
		{"bad endpoint scheme", withKey("    endpoint: ftp://h\n    accounts: ['@TOA#_a']\n"), []string{`app "prod"`, "endpoint", "scheme"}},
		{"bad endpoint url", withKey("    endpoint: 'http://[::1'\n    accounts: ['@TOA#_a']\n"), []string{`app "prod"`, "endpoint", "invalid URL"}},
		{"endpoint with query", withKey("    endpoint: 'https://h/?x=1'\n    accounts: ['@TOA#_a']\n"), []string{`app "prod"`, "endpoint"}},
		{"malformed account", withKey("    accounts: ['test_for_penn']\n"), []string{`app "prod"`, "accounts", "test_for_penn", "@TOA#_"}},
		{"bare prefix", withKey("    accounts: ['@TOA#_']\n"), []string{`app "prod"`, "accounts"}},
		{"overlong account", withKey("    accounts: ['@TOA#_" + strings.Repeat("x", 43) + "']\n"), []string{`app "prod"`, "accounts", "48 bytes"}},
		{"account with invalid UTF-8 in a file", withKey("    accounts_file: " + badUTF8 + "\n"), []string{`app "prod"`, "accounts_file", "bad-utf8.txt: line 4", "printable ASCII"}},
		{"account with a control character in a file", withKey("    accounts_file: " + spaced + "\n"), []string{`app "prod"`, "accounts_file", "line 2", "printable ASCII"}},
		{"account with a space", withKey("    accounts: ['@TOA#_ok', '@TOA#_a b']\n"), []string{`app "prod"`, "accounts[1]", "printable ASCII"}},
		{"account not ASCII", withKey("    accounts: ['@TOA#_café']\n"), []string{`app "prod"`, "accounts[0]", "printable ASCII"}},
		{"max_subscribers 0", withKey("    accounts: ['@TOA#_a']\n    max_subscribers: 0\n"), []string{`app "prod"`, "max_subscribers", "at least 1", "got 0"}},
		{"max_subscribers -5 in defaults", "defaults:\n  max_subscribers: -5\n" + ok, []string{"defaults", "max_subscribers", "got -5"}},
		{"max_subscribers lots", withKey("    accounts: ['@TOA#_a']\n    max_subscribers: lots\n"), []string{`app "prod"`, "lots"}},
		{"an account's max_subscribers 0", withKey("    accounts: ['@TOA#_a', {id: '@TOA#_b', max_subscribers: 0}]\n"), []string{`app "prod"`, `account "@TOA#_b"`, "max_subscribers", "got 0"}},
		{"an account's max_subscribers lots", withKey("    accounts: [{id: '@TOA#_b', max_subscribers: lots}]\n"), []string{`app "prod"`, "lots"}},
		{"an account entry with an unknown key", withKey("    accounts: [{id: '@TOA#_b', max_subscriber: 5}]\n"), []string{`app "prod"`, `unknown key "max_subscriber"`}},
		{"an account entry without id", withKey("    accounts: [{max_subscribers: 5}]\n"), []string{`app "prod"`, "accounts[0]", "@TOA#_"}},
		{"an accounts_file line with an empty max_subscribers", withKey("    accounts_file: " + emptyCap + "\n"), []string{`app "prod"`, "accounts_file", "empty-cap.txt: line 2", `account "@TOA#_x"`, "max_subscribers"}},
		{"an accounts_file line with another setting", withKey("    accounts_file: " + otherSetting + "\n"), []string{`app "prod"`, "line 1", "colour=blue", "only max_subscribers"}},
		{"short publishing_activity_interval", withKey("    accounts: ['@TOA#_a']\n    publishing_activity: true\n    publishing_activity_interval: 1s\n"), []string{`app "prod"`, "publishing_activity_interval", "at least 1m", "got 1s"}},
		{"bad yaml", "apps: [\n", []string{"c.yml:1: "}},
		{"tab indentation", "apps:\n\t- name: x\n", []string{"c.yml"}},
		{"app not mapping", "apps:\n  - prod\n", []string{"apps[0]", "mapping"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := Parse([]byte(c.yaml), "c.yml")
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			if strings.Contains(msg, "hunter2") || strings.Contains(msg, "s3cr3t") {
				t.Errorf("error shows a credential: %q", msg)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error spans lines: %q", msg)
			}
			if !fileLine.MatchString(msg) && msg != "c.yml: empty configuration: no apps" {
				t.Errorf("error does not start with the file and line (c.yml:N: ): %q", msg)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
		})
	}
}

func TestSecretFromEnvAndRotation(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "key")
	cfgFile := filepath.Join(dir, "c.yml")
	os.WriteFile(cfgFile, []byte("apps:\n  - {name: a, sdkappid: 1, identifier: x, secret_key_file: key, region: china, accounts: ['@TOA#_a']}\n  - {name: b, sdkappid: 2, identifier: x, secret_key_env: TCE_KEY_B, region: china, accounts: ['@TOA#_a']}\n"), 0o600)
	t.Setenv("TCE_KEY_B", "env-key")
	os.WriteFile(key, []byte("one\n"), 0o600)
	cfg, _, err := Load(cfgFile)
	if err != nil || cfg.Apps[0].SecretKey != "one" || cfg.Apps[1].SecretKey != "env-key" {
		t.Fatalf("%v", err)
	}
	// A relative secret_key_file is relative to the config file, and each
	// load reads it again, so rotating the key needs only a reload.
	os.WriteFile(key, []byte("two\n"), 0o600)
	cfg, _, err = Load(cfgFile)
	if err != nil || cfg.Apps[0].SecretKey != "two" {
		t.Fatalf("rotated key not read: %v", err)
	}
}

func TestMissingFile(t *testing.T) {
	_, _, err := Load("/nonexistent/config.yml")
	if err == nil || err.Error() != "/nonexistent/config.yml: no such file or directory" {
		t.Fatalf("err = %v", err)
	}
}

// FuzzParse: no input makes the loader panic, and whatever it accepts obeys
// the documented limits.
func FuzzParse(f *testing.F) {
	for _, file := range []string{"testdata/good.yml"} {
		b, _ := os.ReadFile(file)
		f.Add(b)
	}
	f.Add([]byte("apps:\n  - {name: a, sdkappid: 1, identifier: x, secret_key: k, region: china, accounts: ['@TOA#_a']}\n"))
	f.Add([]byte("defaults: {batch_size: 0}\napps: [{}]"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		cfg, _, err := Parse(raw, "testdata/fuzz.yml")
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		for _, a := range cfg.Apps {
			if a.Name == "" || a.SDKAppID == 0 || a.SecretKey == "" || len(a.Accounts) == 0 ||
				a.BatchSize < 1 || a.BatchSize > MaxBatchSize || a.Concurrency < 1 || a.Timeout <= 0 {
				t.Fatalf("accepted invalid app %+v", a)
			}
			for _, id := range a.Accounts {
				if CheckAccountID(id) != nil {
					t.Fatalf("accepted account %q", id)
				}
			}
		}
	})
}

// TestExampleConfig keeps config.example.yml loadable: only its secret
// file and environment variable are pointed at test values.
func TestExampleConfig(t *testing.T) {
	raw, err := os.ReadFile("../../config.example.yml")
	if err != nil {
		t.Fatal(err)
	}
	key, _ := filepath.Abs("testdata/key.txt")
	text := strings.Replace(string(raw), "/run/secrets/prod_key", key, 1)
	t.Setenv("TENCENTCHAT_STAGING_KEY", "staging-key")
	cfg, warnings, err := Parse([]byte(text), "config.example.yml")
	if err != nil || len(warnings) != 0 {
		t.Fatalf("%v %v", err, warnings)
	}
	if len(cfg.Apps) != 2 || cfg.Apps[1].Concurrency != 2 || cfg.Apps[1].RateLimit != 20 || cfg.Apps[0].Region != "china" {
		t.Fatalf("%+v", cfg.Apps)
	}
}

// TestPermissionHint: a file the exporter may not read gets a message that
// says what to do. (Root reads every file, so the error is made here.)
func TestPermissionHint(t *testing.T) {
	err := unwrapPath(&os.PathError{Op: "open", Path: "/run/secrets/k", Err: fs.ErrPermission})
	if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), "make the file readable") {
		t.Fatalf("err = %v", err)
	}
	if err := unwrapPath(&os.PathError{Op: "open", Path: "/x", Err: fs.ErrNotExist}); strings.Contains(err.Error(), "readable") {
		t.Fatalf("a missing file got the permission hint: %v", err)
	}
}

// TestRefreshThatCannotFitWarns: an app whose batches cannot all be called
// within refresh_interval at its pace is loaded with a warning that names
// the app and gives the numbers; one that fits, or fetches on scrape, is
// not.
func TestRefreshThatCannotFitWarns(t *testing.T) {
	ids := make([]string, 10000)
	for i := range ids {
		ids[i] = fmt.Sprintf("'@TOA#_%05d'", i)
	}
	accounts := "    accounts: [" + strings.Join(ids, ", ") + "]\n"
	for _, c := range []struct {
		name, settings, want string
	}{
		{"200 batches at 2/s in 60s", "    rate_limit: 2\n    refresh_interval: 60s\n",
			`app "prod": 200 batches at 2/s need 1m40s, more than refresh_interval 1m0s`},
		{"the defaults' 100/s fits 200 batches in 10s", "    refresh_interval: 10s\n", ""},
		{"fetched on scrape", "    rate_limit: 2\n", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			text := "apps:\n  - name: prod\n    sdkappid: 1400000000\n    identifier: admin\n    secret_key: k\n    region: china\n" + accounts + c.settings
			_, warnings, err := Parse([]byte(text), "config.yml")
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case c.want == "" && len(warnings) != 0:
				t.Errorf("warnings %q, want none", warnings)
			case c.want != "" && (len(warnings) != 1 || !strings.Contains(warnings[0], c.want) || !strings.HasPrefix(warnings[0], "config.yml: ")):
				t.Errorf("warnings %q, want one with %q", warnings, c.want)
			}
		})
	}
}

// TestMaxSubscribers: the cap comes from the app (or defaults, or
// Tencent's default of 100,000), and an entry of accounts or a line of
// accounts_file may set an account's own.
func TestMaxSubscribers(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "accounts.txt")
	os.WriteFile(file, []byte("@TOA#_f1\n@TOA#_f2 max_subscribers=780031 # raised at creation\n"), 0o600)
	text := "defaults:\n  max_subscribers: 200000\napps:\n" +
		"  - {name: a, sdkappid: 1, identifier: admin, secret_key: k, region: china, accounts: ['@TOA#_x', {id: '@TOA#_y', max_subscribers: 500000}], accounts_file: " + file + "}\n" +
		"  - {name: b, sdkappid: 2, identifier: admin, secret_key: k, region: china, max_subscribers: 50, accounts: ['@TOA#_x']}\n" +
		"  - {name: c, sdkappid: 3, identifier: admin, secret_key: k, region: china, accounts: ['@TOA#_x']}\n"
	cfg, warnings, err := Parse([]byte(text), filepath.Join(dir, "c.yml"))
	if err != nil || len(warnings) != 0 {
		t.Fatalf("%v %v", err, warnings)
	}
	a, b, c := cfg.Apps[0], cfg.Apps[1], cfg.Apps[2]
	for _, check := range []struct {
		app  App
		id   string
		want int64
	}{{a, "@TOA#_x", 200000}, {a, "@TOA#_y", 500000}, {a, "@TOA#_f1", 200000}, {a, "@TOA#_f2", 780031}, {b, "@TOA#_x", 50}, {c, "@TOA#_x", 200000}} {
		if got := check.app.Cap(check.id); got != check.want {
			t.Errorf("app %s, %s: cap %d, want %d", check.app.Name, check.id, got, check.want)
		}
	}
	if got := strings.Join(a.Accounts, " "); got != "@TOA#_x @TOA#_y @TOA#_f1 @TOA#_f2" {
		t.Errorf("accounts %q", got)
	}
	if Defaults().MaxSubscribers != 100000 {
		t.Errorf("the default cap is %d, want Tencent's 100000", Defaults().MaxSubscribers)
	}
}
