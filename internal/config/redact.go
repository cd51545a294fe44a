package config

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// An error message quotes the value it is about, so a user can find it;
// but a value in the wrong place may be a key (pasted into accounts, a
// region or an endpoint, or an accounts_file pointed at a key file), and a
// file may be huge. Quote and redactSecrets keep both out of messages,
// which reach the log, --config.check and POST /-/reload's answer.

// maxQuoted bounds a quoted value.
const maxQuoted = 48

// credentialLike matches runs shaped like a secret key or a UserSig: far
// longer than any word, region or account name.
var credentialLike = regexp.MustCompile(`[A-Za-z0-9*_+/=-]{40,}`)

// Quote quotes v for an error message: anything shaped like a credential
// redacted, and cut to maxQuoted bytes with its full length said.
func Quote(v string) string {
	full := len(v)
	v = credentialLike.ReplaceAllString(v, "<redacted>")
	if len(v) <= maxQuoted {
		return fmt.Sprintf("%q", v)
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(v[cut]) {
		cut--
	}
	return fmt.Sprintf("%q... (%d bytes)", v[:cut], full)
}

// minSecret is the shortest secret that is looked for in messages: a
// shorter one would redact common words (test keys are one letter).
const minSecret = 8

// secretsIn returns every secret key the configuration names, inline or
// in a readable secret_key_file (read as the load reads it: from its
// snapshot), whether or not the rest is valid.
func secretsIn(root *yaml.Node, dir string, read readFunc) []string {
	doc := root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	apps := (*yaml.Node)(nil)
	if doc.Kind == yaml.MappingNode {
		apps = findKey(doc, "apps")
	}
	if apps == nil || apps.Kind != yaml.SequenceNode {
		return nil
	}
	var out []string
	for _, app := range apps.Content {
		if app.Kind != yaml.MappingNode {
			continue
		}
		if n := findKey(app, "secret_key"); n != nil && len(n.Value) >= minSecret {
			out = append(out, n.Value)
		}
		if n := findKey(app, "secret_key_file"); n != nil && n.Value != "" {
			if raw, err := read(resolvePath(dir, n.Value), maxSecretFile); err == nil {
				if key := strings.TrimSpace(string(raw)); len(key) >= minSecret {
					out = append(out, key)
				}
			}
		}
	}
	return out
}

// redactSecrets replaces every secret in err's message with <secret>.
func redactSecrets(err error, secrets []string) error {
	msg := err.Error()
	for _, s := range secrets {
		msg = strings.ReplaceAll(msg, s, "<secret>")
		msg = strings.ReplaceAll(msg, strings.Trim(fmt.Sprintf("%q", s), `"`), "<secret>")
	}
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

// redactedError keeps the cause for errors.Is and errors.As.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
