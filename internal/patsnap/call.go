package patsnap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxJSONBody caps every API answer read into memory. The largest real
// answer (100 search hits with presigned image URLs) is well under 1 MiB.
const maxJSONBody = 8 << 20

// Backoff between retries: base·2^(n-1), at most maxBackoff, of which the
// upper half is jittered. 67200002 ("calling too fast" or quota) and HTTP 429
// start from the longer rateBackoff.
const (
	baseBackoff = 500 * time.Millisecond
	rateBackoff = 2 * time.Second
	maxBackoff  = 30 * time.Second
)

// call describes one logical API request, which may take several attempts.
type call struct {
	endpoint    string
	method      string
	path        string
	query       url.Values // besides apikey, which do adds
	body        []byte
	contentType string
	// token marks the token exchange: Basic auth, no apikey, no refresh.
	token bool
	// unsafe marks a call that must not be repeated once the request may
	// have reached the server without an answer (report creation: a repeat
	// would create a second job). Such calls retry only on errors the API
	// answered with, or when no connection was made at all.
	unsafe bool
}

// do runs cl until it succeeds, fails for good, or ctx ends, and hands the
// successful answer to check. check returns nil, or the *APIError the answer
// amounts to. do shares the limiter, retries retryable failures with
// backoff, and in mode A replaces the token once after an auth failure.
func (c *Client) do(ctx context.Context, cl *call, check func(status int, body []byte) error) error {
	refreshed := false
	retries := 0
	for attempt := 1; ; attempt++ {
		var cred string
		if !cl.token {
			var err error
			if cred, err = c.credential(ctx); err != nil {
				return err
			}
		}
		if err := c.wait(ctx); err != nil {
			return fmt.Errorf("patsnap %s: %w", cl.endpoint, err)
		}
		start := c.now()
		status, body, err := c.attempt(ctx, cl, cred)
		if err == nil {
			err = check(status, body)
		}
		c.logAttempt(cl.endpoint, attempt, status, c.now().Sub(start), err)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("patsnap %s: %w", cl.endpoint, ctx.Err())
		}
		var ae *APIError
		if !errors.As(err, &ae) {
			return err
		}
		if !cl.token && c.apiKey == "" && !refreshed && refreshable(ae) {
			refreshed = true
			c.stats.refresh()
			c.tokens.invalidate(cred)
			continue
		}
		if retries >= c.maxRetries || !retryable(ae, cl) {
			return err
		}
		retries++
		c.stats.retry()
		if err := c.sleep(ctx, c.backoff(retries, ae)); err != nil {
			return fmt.Errorf("patsnap %s: %w (after %v)", cl.endpoint, err, ae)
		}
	}
}

// refreshable reports whether an answer says the token is no longer good.
func refreshable(ae *APIError) bool {
	return ae.Code == 67200003 || ae.Code == 67200009 || ae.HTTPStatus == http.StatusUnauthorized
}

// retryable reports whether cl should be attempted again after ae.
func retryable(ae *APIError, cl *call) bool {
	if !(ae.Class == ClassRetryable || rateLimited(ae)) {
		return false
	}
	if cl.unsafe && ae.HTTPStatus == 0 {
		// No answer: the server may have acted on the request. Only a
		// connection that was never made is safe to repeat.
		var op *net.OpError
		return errors.As(ae.Err, &op) && op.Op == "dial"
	}
	return true
}

// rateLimited reports whether ae asks the client to slow down and try again.
func rateLimited(ae *APIError) bool {
	return ae.Code == 67200002 || (ae.Code == 0 && ae.HTTPStatus == http.StatusTooManyRequests)
}

// backoff returns the wait before retry n (1-based).
func (c *Client) backoff(n int, ae *APIError) time.Duration {
	d := baseBackoff
	if rateLimited(ae) {
		d = rateBackoff
	}
	for i := 1; i < n && d < maxBackoff; i++ {
		d *= 2
	}
	d = min(d, maxBackoff)
	half := d / 2
	return half + time.Duration(c.rand()*float64(d-half))
}

// wait blocks until the shared limiter grants one request. Time comes from
// the injected clock and waiting from the injected Sleep, so tests can
// count the schedule without sleeping.
func (c *Client) wait(ctx context.Context) error {
	now := c.now()
	r := c.limiter.ReserveN(now, 1)
	if !r.OK() {
		return errors.New("rate limiter cannot grant a request")
	}
	d := r.DelayFrom(now)
	if d <= 0 {
		return ctx.Err()
	}
	if err := c.sleep(ctx, d); err != nil {
		r.CancelAt(c.now())
		return err
	}
	return nil
}

// credential returns the bearer credential of a business call.
func (c *Client) credential(ctx context.Context) (string, error) {
	if c.apiKey != "" {
		return c.apiKey, nil
	}
	return c.tokens.get(ctx, c)
}

// endpointURL is the URL of an API path with its query.
func (c *Client) endpointURL(path string, q url.Values) string {
	u := c.base.JoinPath(path)
	u.RawQuery = q.Encode()
	return u.String()
}

// attempt sends cl once with its own deadline and reads the answer. Its
// errors are *APIError values for transport failures, redacted.
func (c *Client) attempt(ctx context.Context, cl *call, cred string) (int, []byte, error) {
	actx, cancel := context.WithTimeout(ctx, c.attemptTTL)
	defer cancel()
	q := url.Values{}
	for k, v := range cl.query {
		q[k] = v
	}
	if !cl.token {
		if c.apiKey != "" {
			q.Set("apikey", c.apiKey)
		} else {
			q.Set("apikey", c.clientID)
		}
	}
	var body io.Reader
	if cl.body != nil {
		body = bytes.NewReader(cl.body)
	}
	req, err := http.NewRequestWithContext(actx, cl.method, c.endpointURL(cl.path, q), body)
	if err != nil {
		return 0, nil, &APIError{Endpoint: cl.endpoint, Class: ClassPermanent, Msg: "cannot build request", Err: redactURLError(err)}
	}
	if cl.contentType != "" {
		req.Header.Set("Content-Type", cl.contentType)
	}
	req.Header.Set("Accept", "application/json")
	if cl.token {
		req.SetBasicAuth(c.clientID, c.secret)
	} else {
		req.Header.Set("Authorization", "Bearer "+cred)
	}
	c.stats.request(cl.endpoint)
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, c.transportError(ctx, actx, cl.endpoint, 0, err)
	}
	defer resp.Body.Close()
	data, err := readCapped(resp.Body, maxJSONBody)
	if err != nil {
		if errors.Is(err, errTooLarge) {
			return resp.StatusCode, nil, &APIError{Endpoint: cl.endpoint, HTTPStatus: resp.StatusCode, Class: ClassPermanent,
				Msg: fmt.Sprintf("answer larger than %d bytes", maxJSONBody)}
		}
		return resp.StatusCode, nil, c.transportError(ctx, actx, cl.endpoint, resp.StatusCode, err)
	}
	return resp.StatusCode, data, nil
}

// transportError turns a failure to send or to read into an *APIError.
// A deadline of the attempt alone is retryable; the caller's own context
// ending is reported by do.
func (c *Client) transportError(ctx, actx context.Context, endpoint string, status int, err error) error {
	err = redactURLError(err)
	if ctx.Err() == nil && actx.Err() != nil {
		return &APIError{Endpoint: endpoint, HTTPStatus: status, Class: ClassRetryable,
			Msg: fmt.Sprintf("no complete answer within %v", c.attemptTTL), Err: err}
	}
	msg := "request failed"
	if status != 0 {
		msg = "reading the answer failed"
	}
	return &APIError{Endpoint: endpoint, HTTPStatus: status, Class: transportClass(err), Msg: msg, Err: err}
}

var errTooLarge = errors.New("body too large")

// readCapped reads r to its end, failing with errTooLarge past limit bytes.
func readCapped(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, errTooLarge
	}
	return b, nil
}

// redactURLError replaces the URL inside a *url.Error, which net/http fills
// with the full request URL, by the URL without its query: the query holds
// the apikey, and presigned links hold their signatures there.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: stripQuery(ue.URL), Err: ue.Err}
	}
	return err
}

// stripQuery returns raw without user info, query and fragment.
func stripQuery(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if i := strings.IndexAny(raw, "?#"); i >= 0 {
			return raw[:i]
		}
		return "(unparsable URL)"
	}
	u.User = nil
	u.RawQuery = ""
	u.ForceQuery = false
	u.Fragment = ""
	u.RawFragment = ""
	return u.String()
}

// redact removes the client's secrets from text that came from elsewhere
// (an error message the server wrote may echo what it was sent).
func (c *Client) redact(s string) string {
	for _, secret := range c.secrets() {
		if len(secret) >= 4 {
			s = strings.ReplaceAll(s, secret, "[REDACTED]")
		}
	}
	return s
}

// secrets lists the values that must never be shown. The client id is
// half of a credential and is treated like the rest.
func (c *Client) secrets() []string {
	return append([]string{c.secret, c.apiKey, c.clientID}, c.tokens.seen()...)
}

// logAttempt writes one debug line per attempt. It carries no URL, header
// or body, so no secret can reach the log.
func (c *Client) logAttempt(endpoint string, attempt, status int, took time.Duration, err error) {
	ev := c.log.Debug()
	if ev == nil {
		return
	}
	ev = ev.Str("endpoint", endpoint).Int("attempt", attempt).Int("http_status", status).Str("duration", took.Round(time.Millisecond).String())
	var ae *APIError
	if errors.As(err, &ae) {
		ev = ev.Int("code", ae.Code).Str("class", ae.Class.String())
	}
	if err != nil {
		ev = ev.Str("error", c.redact(err.Error()))
	}
	ev.Msg("patsnap request")
}
