package report

import (
	"strings"
	"testing"

	"github.com/patwatch/patwatch/internal/hint"
)

// TestFailureSaysWhatWasSaved: "what succeeded was saved" only when
// something succeeded.
func TestFailureSaysWhatWasSaved(t *testing.T) {
	all := &ChangeReport{Command: "apply", Searches: []SearchChange{{Name: "a", Status: StatusError}, {Name: "b", Status: StatusError}}}
	if got, want := all.Failure(), "2 of 2 searches failed; nothing was saved"; got != want {
		t.Errorf("all failed: %q, want %q", got, want)
	}
	all.StateChanged = true // the outbox of messages telling of it
	if got, want := all.Failure(), "2 of 2 searches failed; no entry changed in the state"; got != want {
		t.Errorf("all failed, messages saved: %q, want %q", got, want)
	}
	some := &ChangeReport{Command: "apply", Searches: []SearchChange{{Name: "a", Status: StatusError}, {Name: "b", Status: StatusOK}}}
	if got, want := some.Failure(), "1 of 2 searches failed; what succeeded was saved"; got != want {
		t.Errorf("one failed: %q, want %q", got, want)
	}
	both := &ChangeReport{Command: "plan", Searches: []SearchChange{{Name: "a", Status: StatusError}},
		Reports: []ReportChange{{Name: "r", Status: ReportFailed}, {Name: "s", Status: ReportPending}}}
	if got, want := both.Failure(), "1 of 1 search and 1 of 2 reports failed; plan changed nothing"; got != want {
		t.Errorf("a plan: %q, want %q", got, want)
	}
	if got := (&ChangeReport{Searches: []SearchChange{{Name: "a", Status: StatusOK}}}).Failure(); got != "" {
		t.Errorf("nothing failed: %q", got)
	}
}

// TestErrSaysTheStopOnce: a run stopped at an account-wide error ends
// with one error that says the stop and what of the run was saved, with
// what to check as its hint; a failure alone is its failure line.
func TestErrSaysTheStopOnce(t *testing.T) {
	stopped := &ChangeReport{Command: "apply", Stopped: &Stop{Error: "PatSnap 67200002: balance", Check: "top it up"}}
	err := stopped.Err()
	if got := err.Error(); got != "the run stopped at an account-wide error: PatSnap 67200002: balance" {
		t.Errorf("Err() = %q", got)
	}
	if h := hint.Of(err); len(h) != 1 || !strings.Contains(h[0], "top it up") {
		t.Errorf("hints %q", h)
	}
	stopped.Searches = []SearchChange{{Name: "a", Status: StatusError}, {Name: "b", Status: StatusError}}
	if got, want := stopped.Err().Error(), "the run stopped at an account-wide error: PatSnap 67200002: balance; 2 of 2 searches failed; nothing was saved"; got != want {
		t.Errorf("Err() = %q, want %q", got, want)
	}
	failed := &ChangeReport{Command: "apply", Searches: []SearchChange{{Name: "a", Status: StatusError}, {Name: "b", Status: StatusOK}}}
	if got := failed.Err().Error(); got != failed.Failure() || len(hint.Of(failed.Err())) != 0 {
		t.Errorf("a failure alone: %q, want %q", got, failed.Failure())
	}
	if err := (&ChangeReport{Command: "apply"}).Err(); err != nil {
		t.Errorf("a run that neither failed nor stopped: %v", err)
	}
}
