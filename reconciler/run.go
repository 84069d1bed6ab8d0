package reconciler

import (
	"context"
	"maps"
	"time"

	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

// Run carries out sc, a scope of ModeApply or ModePlan (PlanOffline carries
// out an offline one): it reconciles the entries sc runs and carries every
// other record over as it is. Failures of single searches and reports are
// part of the outcome (status error), never a reason to drop what
// succeeded. When ctx ends, the items not yet done are reported as errors
// and left as they were. An account-wide error (patsnap.IsAccountWide) ends
// the run the same way at once: every further call would fail alike, and
// the change report says once what to check.
//
// Entries removed from the spec are retired (state.RetentionPeriod) rather
// than forgotten, and one added back with the same query or request takes
// its retired record back. Run records the last refresh of each search with
// its own interval, or of every search under a daily budget
// (state.Search.RefreshedAt, which Due and the budget's order read), and
// states the run's worst case (sc.Estimate) in the change report; the calls
// made are the API client's to count.
//
// A scope that replays a saved plan's recording (Selection.Replay) takes
// each search's answer from it instead of calling, and submits a job only
// for a report the plan listed as submit. A plan with Record set fills it.
func (r *Reconciler) Run(ctx context.Context, sc *Scope) *Outcome {
	r.files, r.replay = sc.files, sc.replay
	defer func() { r.replay = nil }()
	if r.Record != nil {
		*r.Record = *newRecording()
	}
	out := r.reconcile(ctx, sc)
	sc.complete(out)
	setOrigins(out.Report, out.origins)
	if r.Record != nil {
		maps.Copy(r.Record.HeldSearches, sc.held.searchChanges)
		maps.Copy(r.Record.HeldReports, sc.held.reportChanges)
	}
	return out
}

// pass is a run in progress over the part of the spec and the state that
// its scope runs.
type pass struct {
	mode        Mode
	reportsOnly bool
	desired     *spec.Spec
	recorded    *state.State
	now         time.Time // to the second
	rn          renames
	prior       priors

	next     *state.State
	rep      *report.ChangeReport
	observed map[string][]ObservedHit
	prog     Progress

	// sel is the scope's selection; origins says why each automatic
	// report of desired is asked for, those the run adds included.
	sel     Selection
	origins map[string]autoOrigin
	// unreportable says why the hits reported new whose numbers PatSnap
	// cannot report on get no automatic report; listed after the reports.
	unreportable []report.ReportChange
}

func newPass(sc *Scope, now time.Time) *pass {
	desired, recorded := sc.toRun.desired, sc.toRun.recorded
	rn := findRenames(desired, recorded)
	return &pass{
		mode:        sc.mode,
		reportsOnly: sc.reportsOnly,
		desired:     desired,
		recorded:    recorded,
		now:         now,
		rn:          rn,
		prior:       priorRecords(desired, recorded, rn, now),
		next: &state.State{
			FormatVersion:   recorded.FormatVersion,
			Serial:          recorded.Serial,
			Lineage:         recorded.Lineage,
			PatwatchVersion: recorded.PatwatchVersion,
			Searches:        make(map[string]*state.Search, len(desired.Searches)),
			Reports:         make(map[string]*state.Report, len(desired.Reports)),
			Budget:          recorded.Budget,
			Outbox:          recorded.Outbox,
		},
		rep:      &report.ChangeReport{Command: sc.mode.Command()},
		observed: map[string][]ObservedHit{},
		prog:     Progress{SearchesTotal: len(desired.Searches), ReportsTotal: len(desired.Reports)},
		sel:      sc.sel,
		origins:  maps.Clone(sc.origins),
	}
}

// reconcile reconciles the part of the spec and the state that sc runs.
func (r *Reconciler) reconcile(ctx context.Context, sc *Scope) *Outcome {
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	r.stop = stop
	defer func() { r.files = nil }()

	p := newPass(sc, r.now().UTC().Truncate(time.Second))
	r.tell(p.prog)
	if p.reportsOnly {
		p.carrySearches()
	} else {
		r.reconcileSearches(ctx, p)
	}
	r.reconcileReports(ctx, p)
	p.rep.Reports = append(p.rep.Reports, p.unreportable...)
	p.retireRemoved()
	if as := accountStopOf(ctx); as != nil {
		p.rep.Stopped = &report.Stop{Error: as.err.Error(), Check: accountAdvice(as.err, r.Credentials)}
	}
	addLinks(p.rep, p.desired.Links)
	p.rep.Finish()
	return &Outcome{Report: p.rep, State: p.next, Observed: p.observed, origins: p.origins}
}

// carrySearches carries every search's record over untouched, for a
// reports-only run.
func (p *pass) carrySearches() {
	p.prog.SearchesTotal = 0
	for name, rec := range p.recorded.Searches {
		p.next.Searches[name] = rec
	}
	p.next.RetiredSearches = p.recorded.RetiredSearches
}

// reconcileSearches refreshes the searches and keeps the retired ones
// within their retention.
func (r *Reconciler) reconcileSearches(ctx context.Context, p *pass) {
	searches := r.runSearches(ctx, p.desired, p.prior.searches, &p.prog)
	cands := map[string][]autoCandidate{}
	for i, s := range p.desired.Searches {
		if c := searches[i].autos; len(c) > 0 {
			cands[s.Name] = c
		}
		if rec := searches[i].rec; rec != nil {
			p.next.Searches[s.Name] = rec
		}
		if searches[i].observed != nil {
			p.observed[s.Name] = searches[i].observed
		}
		if searches[i].answer != nil {
			r.Record.Searches[s.Name] = *searches[i].answer
		}
		ch := searches[i].change
		ch.RenamedFrom = p.rn.searches[s.Name]
		ch.Restored = p.prior.restoredSearch[i] && searches[i].rec != nil
		p.rep.Searches = append(p.rep.Searches, ch)
	}
	p.next.RetiredSearches = keptRetired(p.recorded.RetiredSearches, desiredSearchNames(p.desired), p.now, func(s *state.Search) time.Time { return s.RetiredAt })
	p.addAutos(cands, p.sel)
}

// reconcileReports takes each report through its steps, one after the
// other, and keeps the retired ones within their retention.
func (r *Reconciler) reconcileReports(ctx context.Context, p *pass) {
	for i, d := range p.desired.Reports {
		rec := p.prior.reports[i]
		var ch report.ReportChange
		if ctx.Err() != nil {
			ch = errorChange(report.ReportChange{Name: d.Name, Patent: d.Patent()}, notDone(ctx))
			if rec != nil {
				ch.JobID, ch.File = rec.JobID, rec.File
			}
		} else {
			rec, ch = r.reconcileReport(ctx, p.mode, d, rec, p.rn.reports[d.Name])
		}
		if rec != nil {
			p.next.Reports[d.Name] = rec
		}
		if r.Record != nil {
			r.Record.Reports[d.Name] = ch.Status
		}
		ch.RenamedFrom = p.rn.reports[d.Name]
		ch.Restored = p.prior.restoredReport[i] && rec != nil
		p.rep.Reports = append(p.rep.Reports, ch)
		p.prog.ReportsDone++
		if ch.Status == report.ReportPending {
			p.prog.Queue = append(p.prog.Queue, ch.QueueNum)
		}
		r.tell(p.prog)
	}
	p.next.RetiredReports = keptRetired(p.recorded.RetiredReports, desiredReportNames(p.desired), p.now, func(r *state.Report) time.Time { return r.RetiredAt })
}

// retireRemoved reports the records gone from the spec (and not renamed)
// as removed, and retires them; a reports-only run leaves the searches'.
func (p *pass) retireRemoved() {
	gone, goneReports := removed(p.desired, p.recorded, p.rn)
	if !p.reportsOnly {
		p.rep.Searches = append(p.rep.Searches, gone...)
		for _, g := range gone {
			p.next.RetiredSearches = retire(p.next.RetiredSearches, g.Name, p.recorded.Searches[g.Name], p.now, func(s *state.Search, t time.Time) { s.RetiredAt = t })
		}
	}
	p.rep.Reports = append(p.rep.Reports, goneReports...)
	for _, g := range goneReports {
		p.next.RetiredReports = retire(p.next.RetiredReports, g.Name, p.recorded.Reports[g.Name], p.now, func(r *state.Report, t time.Time) { r.RetiredAt = t })
	}
}
