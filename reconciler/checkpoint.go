package reconciler

import (
	"context"

	"github.com/patwatch/patwatch/state"
)

// Checkpointer keeps an apply's outcome while the run goes on, so that a
// run killed midway (SIGKILL, a lost node) loses little of what it paid
// for. Run calls it from the goroutine that runs Run, never concurrently,
// each time a search or a report settles but the last: Save when Due says
// so, and at once, whatever Due says, after a report's job was submitted
// (a job may be charged, and its id is what a later run fetches it by).
// The searches still running go on while Save runs.
//
// The outcome Save is given is the run's so far: its state is the one an
// interrupt at that moment would save (the entries settled with their new
// records, every other one as it was), its change report holds the changes
// of the entries settled, and both have what the scope held merged in.
// Save may keep them; Run builds a new outcome for each call.
type Checkpointer interface {
	Due() bool
	Save(out *Outcome)
}

// checkpoint hands the outcome so far to r.Checkpoints when it is due.
func (r *Reconciler) checkpoint(ctx context.Context, p *pass) {
	if r.keeps(p) && r.Checkpoints.Due() {
		r.Checkpoints.Save(p.outcome(ctx, r.Credentials))
	}
}

// saveNow hands the outcome so far to r.Checkpoints, due or not.
func (r *Reconciler) saveNow(ctx context.Context, p *pass) {
	if r.keeps(p) {
		r.Checkpoints.Save(p.outcome(ctx, r.Credentials))
	}
}

// keeps reports whether the run of p has checkpoints: an apply's, while
// an entry is still to settle. A plan writes nothing, and a run's outcome
// once the last entry settled is the caller's to save.
func (r *Reconciler) keeps(p *pass) bool {
	return r.Checkpoints != nil && p.mode == ModeApply &&
		(p.prog.SearchesDone < p.prog.SearchesTotal || len(p.reports) < len(p.desired.Reports))
}

// submitted reports whether next, a report's record after its run, records
// a job creation that prior, its record before, does not: a new job id, or
// a creation whose answer was lost.
func submitted(prior, next *state.Report) bool {
	switch {
	case next == nil || next == prior:
		return false
	case prior == nil:
		return true // a record is made by a submission only
	}
	return next.JobID != prior.JobID || !next.OutcomeUnknownAt.Equal(prior.OutcomeUnknownAt)
}
