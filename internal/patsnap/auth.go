package patsnap

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Token lifetime handling (NOTES §1): tokens live 30 minutes and are
// replaced about a minute before they expire.
const (
	defaultTokenTTL = 1799 * time.Second // when the answer gives none
	maxTokenTTL     = 24 * time.Hour     // a larger expires_in is not believed
	tokenMargin     = time.Minute
	pastTokensKept  = 4 // recent tokens remembered for redaction
)

// tokenSource caches the mode A bearer token. Concurrent callers that find
// no valid token share one exchange: the first becomes the leader and
// fetches; the others wait for its result.
type tokenSource struct {
	mu        sync.Mutex
	token     string
	refreshAt time.Time
	flight    *tokenFlight
	past      []string
	waiters   int // callers currently waiting for another's fetch; read by tests
}

type tokenFlight struct {
	done  chan struct{}
	token string
	err   error
}

// get returns a token valid for at least the refresh margin, fetching one
// when needed.
func (t *tokenSource) get(ctx context.Context, c *Client) (string, error) {
	for {
		t.mu.Lock()
		if t.token != "" && c.now().Before(t.refreshAt) {
			tok := t.token
			t.mu.Unlock()
			return tok, nil
		}
		f := t.flight
		leader := f == nil
		if leader {
			f = &tokenFlight{done: make(chan struct{})}
			t.flight = f
		}
		t.mu.Unlock()

		if leader {
			start := c.now()
			tok, ttl, err := c.fetchToken(ctx)
			t.mu.Lock()
			if err == nil {
				t.token = tok
				t.refreshAt = start.Add(ttl - min(tokenMargin, ttl/2))
			}
			f.token, f.err = tok, err
			t.flight = nil
			t.mu.Unlock()
			close(f.done)
			return tok, err
		}
		t.mu.Lock()
		t.waiters++
		t.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-f.done:
		}
		t.mu.Lock()
		t.waiters--
		t.mu.Unlock()
		if ctx.Err() != nil {
			return "", fmt.Errorf("patsnap %s: %w", EndpointToken, ctx.Err())
		}
		if f.err == nil {
			return f.token, nil
		}
		if (errors.Is(f.err, context.Canceled) || errors.Is(f.err, context.DeadlineExceeded)) && ctx.Err() == nil {
			continue // the leader's caller gave up, not the API: try again
		}
		return "", f.err
	}
}

// current returns the cached token if it is valid for at least the refresh
// margin; it never fetches.
func (t *tokenSource) current(now time.Time) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.token != "" && now.Before(t.refreshAt) {
		return t.token, true
	}
	return "", false
}

// invalidate drops tok if it is still the cached token, so that the next
// get fetches a new one. Callers holding an older token change nothing.
func (t *tokenSource) invalidate(tok string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.token == tok {
		t.token = ""
	}
}

// remember keeps tok among the values redacted from messages.
func (t *tokenSource) remember(tok string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, p := range t.past {
		if p == tok {
			return
		}
	}
	t.past = append(t.past, tok)
	if len(t.past) > pastTokensKept {
		t.past = t.past[len(t.past)-pastTokensKept:]
	}
}

// seen returns the tokens remembered for redaction.
func (t *tokenSource) seen() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.past...)
}

// fetchToken exchanges the client id and secret for a token (mode A).
func (c *Client) fetchToken(ctx context.Context) (string, time.Duration, error) {
	cl := &call{
		endpoint:    EndpointToken,
		method:      http.MethodPost,
		path:        pathToken,
		body:        []byte("grant_type=client_credentials"),
		contentType: "application/x-www-form-urlencoded",
		token:       true,
	}
	var tok string
	var ttl time.Duration
	err := c.do(ctx, cl, func(status int, body []byte) error {
		var ae *APIError
		tok, ttl, ae = decodeToken(status, body)
		if ae != nil {
			ae.Msg = c.redact(ae.Msg)
			return ae
		}
		c.tokens.remember(tok)
		return nil
	})
	if err != nil {
		return "", 0, err
	}
	return tok, ttl, nil
}

type tokenFields struct {
	Token       *string `json:"token"`
	AccessToken *string `json:"access_token"`
	ExpiresIn   flexInt `json:"expires_in"`
}

// decodeToken reads a token answer in any of the shapes seen (NOTES §1):
// the documented {"token", "expires_in", "status": "approved"}, the
// enveloped {"data": {"token", …}, "status": true, "error_code": 0}, and
// {"access_token", …}; expires_in as a number or a string. A rejection
// without a code this client knows, or with an auth code, is an
// account-wide error: the credentials are what the token endpoint judges.
func decodeToken(status int, body []byte) (string, time.Duration, *APIError) {
	env, envErr := decodeEnvelope(body)
	rejected := status < 200 || status > 299
	if envErr == nil && (env.Code != 0 || (env.Status != nil && !*env.Status)) {
		rejected = true
	}
	if rejected {
		ae := &APIError{Endpoint: EndpointToken, HTTPStatus: status}
		if envErr == nil {
			ae.Code, ae.Msg = env.Code, env.Msg
		}
		// The token endpoint judges the credentials themselves: what is
		// an auth error elsewhere is account-wide here.
		if c, known := codeClass(ae.Code); known && ae.Code != 0 {
			ae.Class = c
			if c == ClassAuth {
				ae.Class = ClassAccount
			}
		} else if status >= 500 || status == http.StatusTooManyRequests || status == http.StatusRequestTimeout {
			ae.Class = httpClass(status)
		} else {
			ae.Class = ClassAccount
		}
		if ae.Msg == "" {
			ae.Msg = "token request rejected"
		}
		return "", 0, ae
	}
	if envErr != nil {
		return "", 0, malformed(EndpointToken, status, envErr)
	}
	var top, inner tokenFields
	if err := json.Unmarshal(body, &top); err != nil {
		return "", 0, malformed(EndpointToken, status, err)
	}
	f := top
	if d := bytes.TrimSpace(env.Data); len(d) > 0 && d[0] == '{' {
		if err := json.Unmarshal(d, &inner); err != nil {
			return "", 0, malformed(EndpointToken, status, err)
		}
		if inner.Token != nil || inner.AccessToken != nil {
			f = inner
		}
	}
	var tok string
	switch {
	case f.Token != nil && *f.Token != "":
		tok = *f.Token
	case f.AccessToken != nil && *f.AccessToken != "":
		tok = *f.AccessToken
	default:
		return "", 0, malformed(EndpointToken, status, errors.New("no token in the answer"))
	}
	if checkCredential("token", tok) != nil {
		return "", 0, malformed(EndpointToken, status, errors.New("the token holds white space or control characters"))
	}
	ttl := defaultTokenTTL
	if f.ExpiresIn.set && f.ExpiresIn.v > 0 {
		ttl = maxTokenTTL
		if f.ExpiresIn.v < int64(maxTokenTTL/time.Second) {
			ttl = time.Duration(f.ExpiresIn.v) * time.Second
		}
	}
	return tok, ttl, nil
}
