package patsnap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
)

// Class says how a caller should treat a failed call.
type Class int

// The classes of failure.
const (
	ClassPermanent Class = iota // anything not listed below: do not retry
	ClassRetryable              // network error, timeout, HTTP 5xx, 68300008, 67200100
	ClassRateLimit              // 67200002, HTTP 429 in any form: too fast; retried through the governor while the deadline allows (see probeFirstWait for an endpoint that never answered)
	ClassAuth                   // 67200003, 67200008, 67200009, HTTP 401/403, 67200004 (no permission for this API: the others may work)
	ClassInvalid                // 68300004, 68300007, 68300010, 67200012, 67200101, other HTTP 4xx: the request is wrong
	ClassNotFound               // 68300013 (report does not exist), HTTP 404; a download link answering 403/404/410
	// ClassInconsistent is an answer that contradicts itself: an empty or
	// short page while the total says more results exist, a total that
	// collapses between pages. It is never read as "no hits". It is
	// retried MaxRetries times, like a retryable failure.
	ClassInconsistent
	// ClassAccount is an error about the account rather than the call
	// (67200000 and 67200001 total limit, 67200005 balance, 67200006 expired
	// client, 67200007 daily limit, credentials refused at the token
	// exchange, after a fresh token, or as an API key, an endpoint that
	// refused every request as too fast for minutes without a single
	// success, matching ErrAlwaysRateLimited): every further call
	// would fail the same way, so the run stops at the first one. Hint says
	// what to check.
	ClassAccount
)

// ErrOutcomeUnknown is matched by errors.Is for a report creation that may
// have reached the server without an answer arriving: the job may exist on
// the account, and sending the request again could create a second one.
var ErrOutcomeUnknown = errors.New("the request may have reached the server; its outcome is unknown")

// IsAccountWide reports whether err is about the account, so that every
// other call of the run would fail the same way.
func IsAccountWide(err error) bool { return ClassOf(err) == ClassAccount }

func (c Class) String() string {
	switch c {
	case ClassRetryable:
		return "retryable"
	case ClassRateLimit:
		return "rate-limit"
	case ClassAuth:
		return "auth"
	case ClassInvalid:
		return "invalid-request"
	case ClassNotFound:
		return "not-found"
	case ClassInconsistent:
		return "inconsistent"
	case ClassAccount:
		return "account"
	}
	return "permanent"
}

// APIError is a failed call: an answer the API rejected, an answer that could
// not be read, or a transport failure. Its Error text never holds a secret or
// a presigned query string.
type APIError struct {
	Endpoint   string // one of the Endpoint… constants
	HTTPStatus int    // 0 when no answer arrived
	Code       int    // the envelope's error_code; 0 when absent
	Msg        string // the envelope's error_msg or the client's own description
	Class      Class
	Err        error // the underlying cause, already redacted; may be nil

	unread bool // an answer arrived but could not be read to its end
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("patsnap ")
	b.WriteString(e.Endpoint)
	b.WriteString(": ")
	sep := ""
	if e.HTTPStatus != 0 {
		fmt.Fprintf(&b, "HTTP %d", e.HTTPStatus)
		sep = ", "
	}
	if e.Code != 0 {
		fmt.Fprintf(&b, "%scode %d", sep, e.Code)
		sep = ", "
	}
	if e.Msg != "" {
		if sep != "" {
			sep = ": "
		}
		b.WriteString(sep)
		b.WriteString(e.Msg)
		sep = ": "
	}
	if e.Err != nil {
		b.WriteString(sep)
		b.WriteString(e.Err.Error())
	}
	fmt.Fprintf(&b, " (%s)", e.Class)
	return b.String()
}

// Unwrap returns the underlying cause.
func (e *APIError) Unwrap() error { return e.Err }

// ClassOf says how a caller should treat err. An *APIError anywhere in the
// chain gives its Class; a cancelled context is permanent (the caller gave
// up); a deadline, a network error or a cut answer is retryable; anything
// else, nil included, is permanent.
func ClassOf(err error) Class {
	if err == nil {
		return ClassPermanent
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Class
	}
	return transportClass(err)
}

// transportClass classifies an error that did not come from an answer.
func transportClass(err error) Class {
	// *url.Error is itself a net.Error; what it wraps decides.
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		err = ue.Err
	}
	switch {
	case errors.Is(err, context.Canceled):
		return ClassPermanent
	case errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, io.EOF),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.EPIPE):
		return ClassRetryable
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return ClassRetryable
	}
	return ClassPermanent
}

// codeClass maps a PatSnap error_code to its class; ok is false for codes
// this client does not know.
func codeClass(code int) (c Class, ok bool) {
	switch code {
	case 68300008, 67200100:
		return ClassRetryable, true
	case 67200002, http.StatusTooManyRequests:
		return ClassRateLimit, true
	case 67200000, 67200001, 67200005, 67200006, 67200007:
		return ClassAccount, true
	case 67200003, 67200004, 67200008, 67200009:
		return ClassAuth, true
	case 68300004, 68300007, 68300010, 67200012, 67200101:
		return ClassInvalid, true
	case 68300013:
		return ClassNotFound, true
	case 68300005, 68300006:
		return ClassPermanent, true
	}
	return ClassPermanent, false
}

// httpClass maps an HTTP status without a known error_code to a class.
func httpClass(status int) Class {
	switch {
	case status >= 500:
		return ClassRetryable
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		return ClassAuth
	case status == http.StatusNotFound:
		return ClassNotFound
	case status == http.StatusTooManyRequests:
		return ClassRateLimit
	case status == http.StatusRequestTimeout:
		return ClassRetryable
	case status >= 400:
		return ClassInvalid
	}
	return ClassPermanent
}

// classify decides the class of an answer from its HTTP status and its
// error_code: a known code is the more precise signal and wins; otherwise
// the HTTP status decides.
func classify(status, code int) Class {
	if c, ok := codeClass(code); ok {
		return c
	}
	return httpClass(status)
}

// Hint says what to check after an account-wide error (ClassAccount) found
// in err's chain, in words for the person running patwatch; "" for any
// other error.
func Hint(err error) string {
	var ae *APIError
	if !errors.As(err, &ae) {
		return ""
	}
	return ae.Hint()
}

// Hint says what to check after an account-wide error; "" for any other.
func (e *APIError) Hint() string {
	if e.Class != ClassAccount {
		return ""
	}
	if errors.Is(e.Err, ErrAlwaysRateLimited) {
		return "PatSnap refused every request to this API as too fast, even at one a minute: check on the PatSnap Open Platform that the client may call this API and what rate (QPS) it allows, " +
			"and whether another program uses the same credentials at the same time; api.qps in the spec caps patwatch's own rate"
	}
	switch e.Code {
	case 67200000, 67200001:
		return "the account has used up the total number of API calls the platform allows it: check its usage on the PatSnap Open Platform, or contact PatSnap"
	case 67200005:
		return "the account's balance or number of calls is used up: check it on the PatSnap Open Platform and top it up"
	case 67200006:
		return "the API client's validity period has ended: renew it on the PatSnap Open Platform, or use the credentials of a client that is still valid"
	case 67200007:
		return "the account has reached its configured daily limit of calls: the run can continue tomorrow; raise the limit on the PatSnap Open Platform if it is too low"
	}
	return "the API refused the credentials: check the client id and secret (or the API key) given to patwatch, that the client is enabled, and that it belongs to this API root"
}
