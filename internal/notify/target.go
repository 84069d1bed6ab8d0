package notify

import (
	"cmp"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/patwatch/patwatch/spec"
)

// target is where a channel's messages go, resolved from the spec and the
// environment. Its URL is never printed: errors name the channel and the
// variable, and whatever a library says is scrubbed of the URL's parts.
type target struct {
	channel string
	url     string
	sender  sender // how its messages are sent (sender.go)
	secret  []byte // the webhook's HMAC key; nil: unsigned
	secrets []string
}

// UnsetError is a channel whose URL (or webhook key) comes from an
// environment variable that is not set: its messages stay in the outbox.
type UnsetError struct {
	Channel  string
	Variable string
	What     string // "URL" or "signing key"
}

func (e *UnsetError) Error() string {
	return fmt.Sprintf("%s is not set: it holds the %s of channel %s", e.Variable, e.What, e.Channel)
}

// Hint says what to do about it.
func (e *UnsetError) Hint() string {
	return fmt.Sprintf("set %s in the environment patwatch runs in (a CI secret, say); until then apply keeps the channel's messages in the state", e.Variable)
}

// resolve finds ch's URL and key in the environment, checks the URL with
// spec.CheckChannelURL, the rule validate and the spec's loader apply (a
// URL that fails it is never tried), and picks the sender of its scheme.
func resolve(ch spec.Channel, getenv func(string) string) (*target, error) {
	raw := ch.URL
	if ch.URLEnv != "" {
		raw = strings.TrimSpace(getenv(ch.URLEnv))
		if raw == "" {
			return nil, &UnsetError{Channel: ch.Name, Variable: ch.URLEnv, What: "URL"}
		}
	}
	where := "its url"
	if ch.URLEnv != "" {
		where = "the URL in " + ch.URLEnv
	}
	t := &target{channel: ch.Name, url: raw, secrets: secretsOf(raw)}
	webhook, err := spec.CheckChannelURL(raw)
	if err != nil {
		return nil, fmt.Errorf("channel %s: %s %w", ch.Name, where, err)
	}
	u, _ := url.Parse(raw) // CheckChannelURL has parsed it
	t.sender = senderOf(u.Scheme)
	if webhook && ch.SecretEnv != "" {
		key := getenv(ch.SecretEnv)
		if key == "" {
			return nil, &UnsetError{Channel: ch.Name, Variable: ch.SecretEnv, What: "signing key"}
		}
		t.secret = []byte(key)
		t.secrets = append(t.secrets, key)
	}
	return t, nil
}

// WebhookWarning says when an https:// URL is a chat service's own webhook:
// such a URL receives patwatch's JSON, which the service refuses; written
// in shoutrrr's form it gets the digest. It is "" otherwise.
func WebhookWarning(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || !strings.EqualFold(u.Scheme, "https") {
		return ""
	}
	host := strings.ToLower(u.Hostname())
	switch {
	case host == "hooks.slack.com":
		return "this is a Slack webhook: write it as slack://hook:TOKEN-A-TOKEN-B-TOKEN-C@webhook so that Slack gets a message it accepts"
	case strings.HasSuffix(host, ".webhook.office.com"):
		return "this is a Teams webhook: write it as teams://GROUP@TENANT/ALTID/GROUPOWNER/EXTRAID?host=" + host + " so that Teams gets a message it accepts"
	case (host == "discord.com" || host == "discordapp.com") && strings.HasPrefix(u.Path, "/api/webhooks/"):
		return "this is a Discord webhook: write it as discord://TOKEN@WEBHOOK-ID so that Discord gets a message it accepts"
	}
	return ""
}

// secretsOf lists the parts of a channel URL that may grant access: the
// URL itself, its user and password, its path segments, query values and
// fragment, as written and escaped. Errors of libraries (a failed request
// quotes its URL) are scrubbed of each before they reach a log, the state
// or the terminal.
func secretsOf(raw string) []string {
	// Whole parts (the URL, its user information, password, query and
	// fragment) are secrets from 3 bytes on; a single path segment, query
	// value or user name only from 8, the length of a token: a path such
	// as /hook is a word that messages also use ("webhook").
	parts := []string{raw}
	var pieces []string
	if _, rest, ok := strings.Cut(raw, "://"); ok {
		parts = append(parts, rest)
	}
	if u, err := url.Parse(raw); err == nil {
		parts = append(parts, u.String(), u.Opaque, u.Fragment, u.RawQuery)
		if u.User != nil {
			pw, _ := u.User.Password()
			parts = append(parts, u.User.String(), pw)
			pieces = append(pieces, u.User.Username())
			// A service's token written as one (slack://hook:T-B-X@webhook)
			// comes back in its errors as a path (/services/T/B/X).
			pieces = append(pieces, strings.FieldsFunc(pw, func(r rune) bool { return r == '-' || r == '/' || r == ':' })...)
		}
		pieces = append(pieces, strings.Split(u.Path, "/")...)
		pieces = append(pieces, strings.Split(u.EscapedPath(), "/")...)
		for _, vs := range u.Query() {
			pieces = append(pieces, vs...)
		}
	}
	var out []string
	add := func(p string, least int) {
		for _, v := range []string{p, url.QueryEscape(p), url.PathEscape(p)} {
			if len(v) >= least && !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	for _, p := range parts {
		add(p, 3)
	}
	for _, p := range pieces {
		add(p, 8)
	}
	// Longest first, so that a part of a longer secret does not leave the
	// rest of it behind.
	slices.SortFunc(out, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	return out
}

// scrub replaces every secret in s with ***.
func scrub(s string, secrets []string) string {
	for _, sec := range secrets {
		s = strings.ReplaceAll(s, sec, "***")
	}
	return s
}
