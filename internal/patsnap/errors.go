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
	ClassRateLimit              // 67200000, 67200001, 67200002, 67200005, 67200007, HTTP 429: rate or quota
	ClassAuth                   // 67200003, 67200006, 67200008, 67200009, HTTP 401/403, 67200004
	ClassInvalid                // 68300004, 68300007, 68300010, 67200012, 67200101, other HTTP 4xx: the request is wrong
	ClassNotFound               // 68300013 (report does not exist), HTTP 404; a download link answering 403/404/410
	// ClassInconsistent is an answer that contradicts itself: an empty or
	// short page while the total says more results exist, a total that
	// collapses between pages. It is never read as "no hits".
	ClassInconsistent
	// ClassAccount is an error about the account rather than the call
	// (balance, expired client, daily limit, credentials refused after a
	// fresh token): every further call would fail the same way, so the run
	// stops at the first one.
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
	case 67200000, 67200001, 67200002, 67200005, 67200007:
		return ClassRateLimit, true
	case 67200003, 67200004, 67200006, 67200008, 67200009:
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
