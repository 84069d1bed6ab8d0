package report

import (
	"errors"
	"fmt"
	"strings"

	"github.com/patwatch/patwatch/internal/hint"
)

// Failure is the error line of a failed run: how many searches and reports
// failed, and what of the run was saved ("1 of 2 searches failed; what
// succeeded was saved"). It is "" when nothing failed.
func (c *ChangeReport) Failure() string {
	if !c.Failed() {
		return ""
	}
	var parts []string
	var n int
	for _, s := range c.Searches {
		if s.Status == StatusError {
			n++
		}
	}
	if n > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d %s", n, len(c.Searches), Plural(len(c.Searches), "search", "searches")))
	}
	n = 0
	for _, r := range c.Reports {
		if r.Status == ReportError || r.Status == ReportFailed {
			n++
		}
	}
	if n > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d %s", n, len(c.Reports), Plural(len(c.Reports), "report", "reports")))
	}
	what := "what succeeded was saved"
	switch {
	case c.Command == "plan":
		what = "plan changed nothing"
	case !c.anySucceeded() && c.StateChanged:
		// Saved: the messages that tell of the failure, in the outbox.
		what = "no entry changed in the state"
	case !c.anySucceeded():
		what = "nothing was saved"
	}
	return strings.Join(parts, " and ") + " failed; " + what
}

// anySucceeded reports whether anything in c was done: a search refreshed,
// a report job handled, an entry removed.
func (c *ChangeReport) anySucceeded() bool {
	for _, s := range c.Searches {
		switch s.Status {
		case StatusOK, StatusBaseline, StatusRebaseline, StatusRemoved:
			return true
		}
	}
	for _, r := range c.Reports {
		switch r.Status {
		case ReportSubmitted, ReportPending, ReportFinished, ReportReady, ReportRemoved:
			return true
		}
	}
	return false
}

// Err is the error a run that c reports ends with, in one line: its
// failure (see Failure), its stop at an account-wide error, or both, the
// stop first and what to check as its hint. It is nil for a run that
// neither failed nor stopped.
func (c *ChangeReport) Err() error {
	failure := c.Failure()
	switch {
	case c.Stopped == nil && failure == "":
		return nil
	case c.Stopped == nil:
		return errors.New(failure)
	}
	msg := "the run stopped at an account-wide error: " + c.Stopped.Error
	if failure != "" {
		msg += "; " + failure
	}
	return hint.Wrap(errors.New(msg), c.Stopped.Check)
}
