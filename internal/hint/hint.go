// Package hint carries what the user should do next on an error. A package
// that knows the remedy for an error it returns wraps it with Wrap; the
// command line prints the error and then, with Of, its hints as
// "patwatch: hint: …" lines.
package hint

import "errors"

// hinted is an error with hint lines.
type hinted struct {
	err   error
	hints []string
}

func (h *hinted) Error() string { return h.err.Error() }
func (h *hinted) Unwrap() error { return h.err }

// Wrap returns err with hints, each one line that says what to do next.
// Empty hints are dropped; Wrap of nil is nil, and of no hints is err.
func Wrap(err error, hints ...string) error {
	var kept []string
	for _, h := range hints {
		if h != "" {
			kept = append(kept, h)
		}
	}
	if err == nil || len(kept) == 0 {
		return err
	}
	return &hinted{err: err, hints: kept}
}

// Of returns err's hints: those of every Wrap in its chain, outer ones
// first, then the hint of the first error in the chain with a method
// Hint() string (the typed errors of other packages, which compute theirs),
// if that is not empty.
func Of(err error) []string {
	var hints []string
	for e := err; ; {
		var h *hinted
		if !errors.As(e, &h) {
			break
		}
		hints = append(hints, h.hints...)
		e = h.err
	}
	var typed interface{ Hint() string }
	if errors.As(err, &typed) && typed.Hint() != "" {
		hints = append(hints, typed.Hint())
	}
	return hints
}
