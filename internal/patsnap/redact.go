package patsnap

import (
	"encoding/base64"
	"errors"
	"regexp"
	"strings"
)

// Credential forms redacted from any text, known to the client or not: an
// Authorization value of either scheme ("Bearer <token>", "Basic <base64>"),
// and an sk- key anywhere.
var (
	authForm = regexp.MustCompile(`(?i)\b(bearer|basic)(?:\s+|%20|\+)([A-Za-z0-9._~+/=-]{8,})`)
	keyForm  = regexp.MustCompile(`\bsk-[A-Za-z0-9._-]{4,}`)
)

const redacted = "[REDACTED]"

// redact removes credentials from text that came from elsewhere (an error
// message the server wrote may echo what it was sent): the client's own
// secrets, tokens and the Base64 forms of the Basic credentials, and any
// bearer, basic or sk- form.
func (c *Client) redact(s string) string {
	s = authForm.ReplaceAllStringFunc(s, func(m string) string {
		sub := authForm.FindStringSubmatch(m)
		// A credential holds a digit or a symbol; "basic principles" does not.
		if !strings.ContainsAny(sub[2], "0123456789._~+/=-") {
			return m
		}
		return sub[1] + " " + redacted
	})
	s = keyForm.ReplaceAllString(s, "sk-"+redacted)
	for _, secret := range c.secrets() {
		if len(secret) >= 4 {
			s = strings.ReplaceAll(s, secret, redacted)
		}
	}
	return s
}

// secrets lists the values that must never be shown: the client id (half
// of a credential) and secret, the API key, recent tokens, and the Base64
// of "id:secret" as the Basic header carries it, with and without padding,
// in both alphabets. The longer forms come first, so that no part of one is
// left behind by the replacement of a shorter one.
func (c *Client) secrets() []string {
	var out []string
	if c.clientID != "" && c.secret != "" {
		basic := []byte(c.clientID + ":" + c.secret)
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
			out = append(out, enc.EncodeToString(basic))
		}
	}
	out = append(out, c.tokens.seen()...)
	out = append(out, c.secret, c.apiKey, c.clientID)
	return out
}

// redactErr returns err with its text redacted, keeping what errors.Is and
// errors.As find: an *APIError stays one (its message redacted, its cause
// wrapped), anything else is wrapped.
func (c *Client) redactErr(err error) error {
	if err == nil {
		return nil
	}
	var ae *APIError
	if errors.As(err, &ae) && ae == err {
		out := *ae
		out.Msg = c.redact(ae.Msg)
		if ae.Err != nil {
			out.Err = &redactedError{text: c.redact(ae.Err.Error()), err: ae.Err}
		}
		return &out
	}
	text := c.redact(err.Error())
	if text == err.Error() {
		return err
	}
	return &redactedError{text: text, err: err}
}

// redactedError shows a redacted text for err, and unwraps to it.
type redactedError struct {
	text string
	err  error
}

func (e *redactedError) Error() string { return e.text }
func (e *redactedError) Unwrap() error { return e.err }
