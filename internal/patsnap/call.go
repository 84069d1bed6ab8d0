package patsnap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// maxJSONBody caps every API answer read into memory. The largest real
// answer (100 search hits with presigned image URLs) is well under 1 MiB.
const maxJSONBody = 8 << 20

// Backoff between retries of failures other than rate limits:
// base·2^(n-1), at most maxBackoff, of which the upper half is jittered.
// Rate-limit answers (67200002, HTTP 429 in any form) are not backed off
// per request: they slow the shared governor down, and the retry waits for
// its turn there (and, for an endpoint that has never answered
// successfully, for its probation: see probeFirstWait).
const (
	baseBackoff = 500 * time.Millisecond
	maxBackoff  = 30 * time.Second
)

// maxRateLimited bounds the rate-limited answers one call accepts when its
// context has no deadline; with a deadline, the deadline bounds them.
const maxRateLimited = 30

// staleTurnsMax bounds how often a call gives up its turn because its token
// went stale while it waited; past it, the call goes with a fresh token
// fetched for it (a token that lives shorter than one turn would otherwise
// never be sent).
const staleTurnsMax = 2

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
	// have reached the server without an answer saying it failed (report
	// creation: a repeat would create a second job). Such a failure is
	// returned at once, matching ErrOutcomeUnknown.
	unsafe bool
	// place is where the call waits in line for its turn; nil: a place of
	// its own (see governor).
	place *place
}

// do runs cl until it succeeds, fails for good, or ctx ends, and hands the
// successful answer to check. check returns nil, or the *APIError the answer
// amounts to. Every attempt waits for its endpoint's probation, if any, and
// its turn in the shared governor, and only then takes the token, so that
// no token expires in the queue; in mode A a token the API refuses is
// replaced once. Rate-limit answers slow the governor down and are retried
// for as long as ctx allows, unless the endpoint has never answered
// successfully (see probeFirstWait); other retryable failures are retried
// up to MaxRetries times with backoff. The error returned is redacted.
func (c *Client) do(ctx context.Context, cl *call, check func(status int, body []byte) error) error {
	return c.redactErr(c.run(ctx, cl, check))
}

// callState is what the attempts of one call carry from one to the next.
type callState struct {
	urgent    bool // the next turn is taken in the urgent lane
	refreshed bool // a token was replaced after an auth answer
	retries   int  // retries after failures other than rate limits
	limited   int  // rate-limit answers
	stale     int  // turns given up because the token went stale
}

// pass is what lets one attempt go: its probe (nil once the endpoint has
// answered successfully), the governor's turn, and the credential to send.
type pass struct {
	probe *probe
	turn  *turn
	cred  string
}

func (c *Client) run(ctx context.Context, cl *call, check func(status int, body []byte) error) error {
	st := &callState{urgent: cl.token}
	for attempt := 1; ; attempt++ {
		p, err := c.ready(ctx, cl, st)
		if err != nil {
			return err
		}
		start := c.now()
		res := c.attempt(ctx, cl, p.cred, func() { c.gov.sent(p.turn, c.now()) })
		err = res.err
		if err == nil {
			err = check(res.status, res.body)
		}
		c.logAttempt(cl.endpoint, attempt, res.status, c.now().Sub(start), err)
		if err == nil {
			c.gov.speedUp(p.turn)
			c.gov.proven(cl.endpoint)
			p.probe.free()
			return nil
		}
		if err := c.retryAfter(ctx, cl, st, p, res.wrote, err); err != nil {
			return err
		}
	}
}

// ready waits until the next attempt of cl may go: for the endpoint's
// probation, the token (mode A) and a turn.
func (c *Client) ready(ctx context.Context, cl *call, st *callState) (*pass, error) {
	pr, err := c.gov.admit(ctx, cl.endpoint)
	if err != nil {
		return nil, waitError(cl, err)
	}
	for {
		modeA := !cl.token && c.apiKey == ""
		if modeA {
			// Fetch before queueing, so that no turn waits on an exchange
			// (get returns a fresh cached token at once).
			if _, err := c.tokens.get(ctx, c); err != nil {
				pr.free()
				return nil, err
			}
		}
		turn, err := c.gov.wait(ctx, st.urgent, cl.place)
		if err != nil {
			pr.free()
			return nil, waitError(cl, err)
		}
		if pr != nil && pr.p == nil && c.gov.onProbation(cl.endpoint) != nil {
			// The endpoint was put on probation while this call waited
			// for its turn: it goes as one of its probes, before those
			// that came after it. This turn sent nothing.
			c.gov.unrecord(turn)
			if pr, err = c.gov.enter(ctx, pr); err != nil {
				return nil, waitError(cl, err)
			}
			continue
		}
		if !modeA {
			return &pass{probe: pr, turn: turn, cred: c.apiKey}, nil
		}
		tok, ok := c.tokens.current(c.now())
		switch {
		case ok:
			return &pass{probe: pr, turn: turn, cred: tok}, nil
		case st.stale < staleTurnsMax:
			// The token went stale while this call waited: fetch a new
			// one and take the next urgent turn. This one sent nothing.
			c.gov.unrecord(turn)
			st.stale++
			st.urgent = true
			continue
		}
		if tok, err = c.tokens.get(ctx, c); err != nil {
			pr.free()
			return nil, err
		}
		return &pass{probe: pr, turn: turn, cred: tok}, nil
	}
}

// waitError is the error of a call whose wait for its next attempt
// failed: a rate-limit error when the attempt could not go before the
// deadline, the probation's verdict as it is.
func waitError(cl *call, err error) error {
	var ae *APIError
	switch {
	case errors.Is(err, errNoTurn), errors.Is(err, errProbeLate):
		return &APIError{Endpoint: cl.endpoint, Class: ClassRateLimit, Msg: err.Error()}
	case errors.As(err, &ae):
		return err
	}
	return fmt.Errorf("patsnap %s: %w", cl.endpoint, err)
}

// retryAfter decides, after the attempt of p failed with err, whether cl
// is tried again: it returns nil to try again (after waiting out any
// backoff), or the error that ends the call. It frees p's probe.
func (c *Client) retryAfter(ctx context.Context, cl *call, st *callState, p *pass, wrote bool, err error) error {
	defer p.probe.free()
	var ae *APIError
	errors.As(err, &ae)
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("patsnap %s: %w", cl.endpoint, ctx.Err())
	case ae == nil:
		return err
	case cl.unsafe && wrote && !outcomeKnown(ae):
		return outcomeUnknown(ae)
	case !cl.token && refreshable(ae):
		switch {
		case c.apiKey != "":
			return accountWide(ae, "the API key was refused")
		case st.refreshed:
			return accountWide(ae, "the credentials were refused with a fresh token")
		}
		st.refreshed = true
		c.stats.refresh()
		c.tokens.invalidate(p.cred)
		st.urgent = true
		return nil
	case rateLimited(ae):
		return c.retryRateLimited(ctx, cl, st, p, ae, err)
	case st.retries >= c.maxRetries || !retryable(ae, cl):
		return err
	}
	st.retries++
	c.stats.retry()
	st.urgent = true
	p.probe.free()
	if err := c.sleep(ctx, c.backoff(st.retries)); err != nil {
		return fmt.Errorf("patsnap %s: %w (after %v)", cl.endpoint, err, ae)
	}
	return nil
}

// retryRateLimited is retryAfter for the rate-limit answer ae (err): it
// slows the governor down and tells the endpoint's probation, whose
// verdict ends the call.
func (c *Client) retryRateLimited(ctx context.Context, cl *call, st *callState, p *pass, ae *APIError, err error) error {
	st.limited++
	c.stats.rateLimit()
	if cut, r := c.gov.slowDown(p.turn); cut {
		c.logSlowDown(cl.endpoint, r)
	}
	if v := c.gov.refused(cl.endpoint, p.probe, ae); v != nil {
		return v
	}
	if _, ok := ctx.Deadline(); c.maxRetries == 0 || (!ok && st.limited >= maxRateLimited) {
		return err
	}
	c.stats.retry()
	st.urgent = true
	return nil
}

// refreshable reports whether an answer says the token is no longer good.
func refreshable(ae *APIError) bool {
	return ae.Code == 67200003 || ae.Code == 67200009 || ae.HTTPStatus == http.StatusUnauthorized
}

// accountWide turns the refusal of credentials into the account-wide error
// it is: every further call would be refused the same way.
func accountWide(ae *APIError, why string) *APIError {
	out := *ae
	out.Class = ClassAccount
	out.Msg = why + ": " + ae.Msg
	return &out
}

// retryable reports whether cl should be attempted again after ae, a
// failure other than a rate limit.
func retryable(ae *APIError, cl *call) bool {
	if ae.Class != ClassRetryable && ae.Class != ClassInconsistent {
		return false
	}
	if cl.unsafe && ae.HTTPStatus == 0 {
		// No answer and, as do checked, the request was never written
		// completely; still, only a connection never made is sure.
		var op *net.OpError
		return errors.As(ae.Err, &op) && op.Op == "dial"
	}
	return true
}

// rateLimited reports whether ae asks the client to slow down and try
// again: 67200002, or HTTP 429 in any form (an envelope with or without a
// code, error_code 429, an HTML page).
func rateLimited(ae *APIError) bool {
	return ae.Code == 67200002 || ae.Code == http.StatusTooManyRequests || ae.HTTPStatus == http.StatusTooManyRequests
}

// outcomeKnown reports whether a failed answer to an unsafe call says the
// request was not carried out: an answer from the API itself (an envelope
// with an error code, a 4xx refusal) or a gateway that did not pass it on
// (429, 502, 503). A cut or unreadable answer, a timeout, a 504 or another
// 5xx without a code leave the outcome unknown.
func outcomeKnown(ae *APIError) bool {
	switch s := ae.HTTPStatus; {
	case ae.Code != 0 && !ae.unread:
		return true
	case ae.unread || s == 0:
		return false
	case s >= 400 && s < 500, s == http.StatusBadGateway, s == http.StatusServiceUnavailable:
		return true
	}
	return false
}

// outcomeUnknownError marks a failure after which the request may have been
// carried out.
type outcomeUnknownError struct{ cause error }

func (e *outcomeUnknownError) Error() string {
	msg := "the request may have reached the server, so it is not sent again in this run: the report job may exist on the account"
	if e.cause != nil {
		return e.cause.Error() + "; " + msg
	}
	return msg
}

func (e *outcomeUnknownError) Unwrap() []error { return []error{ErrOutcomeUnknown, e.cause} }

// outcomeUnknown is ae, marked as matching ErrOutcomeUnknown.
func outcomeUnknown(ae *APIError) *APIError {
	out := *ae
	out.Err = &outcomeUnknownError{cause: ae.Err}
	return &out
}

// backoff returns the wait before retry n (1-based) of a failure other than
// a rate limit.
func (c *Client) backoff(n int) time.Duration {
	d := baseBackoff
	for i := 1; i < n && d < maxBackoff; i++ {
		d *= 2
	}
	d = min(d, maxBackoff)
	half := d / 2
	return half + time.Duration(c.rand()*float64(d-half))
}

// endpointURL is the URL of an API path with its query.
func (c *Client) endpointURL(path string, q url.Values) string {
	u := c.base.JoinPath(path)
	u.RawQuery = q.Encode()
	return u.String()
}

// attemptResult is what one attempt got.
type attemptResult struct {
	status int
	body   []byte
	// wrote says the request was written out completely: from then on the
	// server may act on it whatever becomes of the answer.
	wrote bool
	err   error
}

// attempt sends cl once with its own deadline and reads the answer. Its
// errors are *APIError values for transport failures, redacted.
// wrote is called when the request has been written out.
func (c *Client) attempt(ctx context.Context, cl *call, cred string, wrote func()) attemptResult {
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
	var written atomic.Bool
	actx = httptrace.WithClientTrace(actx, &httptrace.ClientTrace{
		WroteRequest: func(i httptrace.WroteRequestInfo) {
			if i.Err == nil {
				written.Store(true)
				wrote()
			}
		},
	})
	req, err := http.NewRequestWithContext(actx, cl.method, c.endpointURL(cl.path, q), body)
	if err != nil {
		return attemptResult{err: &APIError{Endpoint: cl.endpoint, Class: ClassPermanent, Msg: "cannot build request", Err: redactURLError(err)}}
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
		return attemptResult{wrote: written.Load(), err: c.transportError(ctx, actx, cl.endpoint, 0, err)}
	}
	defer resp.Body.Close()
	data, err := readCapped(resp.Body, maxJSONBody)
	if err != nil {
		if errors.Is(err, errTooLarge) {
			return attemptResult{status: resp.StatusCode, wrote: true, err: &APIError{Endpoint: cl.endpoint, HTTPStatus: resp.StatusCode,
				Class: ClassPermanent, Msg: fmt.Sprintf("answer larger than %d bytes", maxJSONBody), unread: true}}
		}
		ae := c.transportError(ctx, actx, cl.endpoint, resp.StatusCode, err)
		ae.unread = true
		return attemptResult{status: resp.StatusCode, wrote: true, err: ae}
	}
	return attemptResult{status: resp.StatusCode, body: data, wrote: true}
}

// transportError turns a failure to send or to read into an *APIError.
// A deadline of the attempt alone is retryable; the caller's own context
// ending is reported by do.
func (c *Client) transportError(ctx, actx context.Context, endpoint string, status int, err error) *APIError {
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

// logSlowDown says that a rate-limit answer slowed the client down: the
// first time as a warning (api.qps may be above what the account allows),
// then at debug level.
func (c *Client) logSlowDown(endpoint string, rate float64) {
	first := false
	c.rateLog.Do(func() { first = true })
	ev := c.log.Debug()
	if first {
		ev = c.log.Warn()
	}
	ev.Str("endpoint", endpoint).Float64("rate", rate).Float64("qps", c.gov.max).
		Msg("the API answered that requests come too fast; slowing down")
}
