package runner

import (
	"fmt"
	"time"

	"github.com/patwatch/patwatch/internal/hint"
	"github.com/patwatch/patwatch/internal/patsnap"
	"github.com/patwatch/patwatch/reconciler"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

// billed are the client's endpoints that are calls of the PatSnap API, and
// count against api.max_calls and api.max_calls_per_day: the token exchange
// and the download of a report's file from its presigned link are not.
var billed = []string{
	patsnap.EndpointSearchSingle, patsnap.EndpointSearchMultiple, patsnap.EndpointUpload,
	patsnap.EndpointReportCreate, patsnap.EndpointReportCreateNoLogo, patsnap.EndpointReportStatus,
}

// callCounter is what the runner needs of the API client to count calls
// (*patsnap.Client).
type callCounter interface {
	Stats() patsnap.Stats
}

// callsSent is how many calls api has sent so far: every attempt, a retried
// one too, since each reaches the API and may count against its limits.
// It is -1 for a client that does not count.
func callsSent(api reconciler.API) int {
	c, ok := api.(callCounter)
	if !ok {
		return -1
	}
	st := c.Stats()
	n := 0
	for _, ep := range billed {
		n += st.Requests[ep]
	}
	return n
}

// day is the UTC day of t, as the state's budget counter records it.
func day(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// scope is the run's scope: the entries opts selects, resolved against
// sp and recorded now, with the day's budget when the spec caps it (started
// says which day). With opts.CheckNames, a name that is no entry of the
// spec and no record of the state is an error. An offline plan previews
// the apply without the budget.
func (r *Runner) scope(sp *spec.Spec, recorded *state.State, opts Options, started time.Time) (*reconciler.Scope, error) {
	sel := opts.Select
	sel.ReportsOnly = opts.ReportsOnly
	if opts.CheckNames {
		if err := sel.Check(sp, recorded); err != nil {
			return nil, err
		}
	}
	if limit := sp.API.MaxCallsPerDay; limit > 0 && r.Mode != reconciler.ModeOffline {
		used := 0
		if b := recorded.Budget; b != nil && b.Day == day(started) {
			used = b.Calls
		}
		sel.Budget = &reconciler.Budget{Limit: limit, Used: used}
	}
	return reconciler.NewScope(r.Mode, sp, recorded, sel, r.now(), r.FilesDir), nil
}

// checkMaxCalls refuses, before any call, a run whose worst case passes the
// spec's api.max_calls.
func (r *Runner) checkMaxCalls(sp *spec.Spec, sc *reconciler.Scope) error {
	limit, est := sp.API.MaxCalls, sc.Estimate()
	if limit <= 0 || est <= limit {
		return nil
	}
	return hint.Wrap(
		fmt.Errorf("the run could make up to %d API calls, more than api.max_calls allows (%d); it was not started, and nothing was called", est, limit),
		"run part of the watch list with --target NAME or --exclude NAME (repeatable), "+
			"or raise api.max_calls in the spec; plan --offline shows a run's worst case")
}

// countCalls puts the calls the run made into its change report and, for
// an apply under api.max_calls_per_day, adds them to the day's count in the
// state, with planned, the calls of the saved plan it carries out (which
// the plan, writing nothing, did not count). A run that made no call leaves
// the count as it was, even from an earlier day: it means nothing then, and
// the state stays unwritten.
func (r *Runner) countCalls(sp *spec.Spec, recorded *state.State, out *reconciler.Outcome, api reconciler.API, before int, started time.Time, planned int) {
	made := 0
	if before >= 0 {
		made = callsSent(api) - before
	}
	out.Report.Calls.Made = &made
	if r.Mode != reconciler.ModeApply {
		return
	}
	spent := made + planned
	b := recorded.Budget
	switch {
	case sp.API.MaxCallsPerDay <= 0:
		b = nil
	case spent > 0:
		today, used := day(started), 0
		if b != nil && b.Day == today {
			used = b.Calls
		}
		b = &state.Budget{Day: today, Calls: used + spent}
	}
	out.State.Budget = b
	if made > 0 {
		r.Log.Debug().Int("calls", made).Int("estimated", out.Report.Calls.Estimated).Msg("API calls made")
	}
}

// interface check: the live client counts its calls.
var _ callCounter = (*patsnap.Client)(nil)
