package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/patwatch/patwatch/internal/hint"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/spec"
)

// ErrInterrupted is matched by errors.Is for the error of an apply that
// ended before it was done, at an interrupt or at its deadline (--timeout).
// The error says how much of the run was done, all of which was saved: it
// is the one thing to say of the run besides its change report, which is
// returned with it.
var ErrInterrupted = errors.New("interrupted")

// interruptedError is the error of an apply that ended before it was done.
type interruptedError struct {
	deadline *deadlineError // nil: an interrupt
	done     string         // how much was done: "3 of 20 searches and 1 of 2 reports"; "" for nothing
}

func (e *interruptedError) Error() string {
	what := "interrupted"
	if e.deadline != nil {
		what = e.deadline.Error()
	}
	if e.done == "" {
		return what + " before any search or report was done"
	}
	return what + ": " + e.done + " were done, and saved"
}

func (e *interruptedError) Is(target error) bool { return target == ErrInterrupted }

func (e *interruptedError) Hint() string {
	if e.deadline != nil {
		return e.deadline.hint()
	}
	return "run apply again to do the rest"
}

// applyEnded is the error of an apply whose context ended before it was
// done, nil for one that finished; rep is its change report.
func applyEnded(ctx context.Context, rep *report.ChangeReport) error {
	if ctx.Err() == nil {
		return nil
	}
	var lost *lockLost
	if errors.As(context.Cause(ctx), &lost) {
		return lockLostError(lost)
	}
	var de *deadlineError
	errors.As(context.Cause(ctx), &de)
	return &interruptedError{deadline: de, done: doneOf(rep)}
}

// planEnded is the error of a plan whose context ended before it was done:
// nil for an interrupt (its change report says what it did not do), the
// deadline's for a plan that passed it.
func planEnded(ctx context.Context) error {
	var de *deadlineError
	if ctx.Err() == nil || !errors.As(context.Cause(ctx), &de) {
		return nil
	}
	return hint.Wrap(fmt.Errorf("%w; the plan is incomplete", de), de.hint())
}

// doneOf says how much of the run rep reports was done: of the searches and
// the reports it had to do (neither skipped, deferred nor removed), those
// that it did, "" when it did none.
func doneOf(rep *report.ChangeReport) string {
	var searches, searchesDone, reports, reportsDone int
	for _, s := range rep.Searches {
		switch {
		case s.Status == report.StatusSkipped || s.Status == report.StatusRemoved || s.Deferred:
			continue
		case s.Status != report.StatusError:
			searchesDone++
		}
		searches++
	}
	for _, r := range rep.Reports {
		switch {
		case r.Status == report.ReportSkipped || r.Status == report.ReportRemoved || r.Deferred:
			continue
		case r.Status != report.ReportError:
			reportsDone++
		}
		reports++
	}
	if searchesDone+reportsDone == 0 {
		return ""
	}
	var parts []string
	if searches > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d searches", searchesDone, searches))
	}
	if reports > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d reports", reportsDone, reports))
	}
	return strings.Join(parts, " and ")
}

// deadlineError is the cause of a run that passed its deadline.
type deadlineError struct{ timeout time.Duration }

func (e *deadlineError) Error() string {
	return fmt.Sprintf("the run's deadline of %s passed (--timeout)", spec.FormatDuration(e.timeout))
}

func (e *deadlineError) hint() string {
	return fmt.Sprintf("give the run more time with --timeout (now %s), or see which calls are slow with --log-level debug",
		spec.FormatDuration(e.timeout))
}
