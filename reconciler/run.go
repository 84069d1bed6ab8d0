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
//
// With Checkpoints set, Run hands over the outcome so far while it runs
// (see Checkpointer): the searches and reports settled by then, every other
// entry as an interrupt at that moment would leave it.
func (r *Reconciler) Run(ctx context.Context, sc *Scope) *Outcome {
	r.files, r.replay = sc.files, sc.replay
	defer func() { r.replay = nil }()
	if r.Record != nil {
		*r.Record = *newRecording()
	}
	out := r.reconcile(ctx, sc)
	if r.Record != nil {
		maps.Copy(r.Record.HeldSearches, sc.held.searchChanges)
		maps.Copy(r.Record.HeldReports, sc.held.reportChanges)
	}
	return out
}

// pass is a run in progress over the part of the spec and the state that
// its scope runs: what it has settled so far.
type pass struct {
	sc          *Scope
	mode        Mode
	reportsOnly bool
	desired     *spec.Spec
	recorded    *state.State
	now         time.Time // to the second
	rn          renames
	prior       priors

	// searches holds each search's outcome, by spec index, once settled
	// says it is; reports the outcomes of the reports settled so far,
	// which settle in spec order.
	searches []searchOutcome
	settled  []bool
	reports  []reportOutcome
	prog     Progress

	// sel is the scope's selection; origins says why each automatic
	// report of desired is asked for, those the run adds included.
	sel     Selection
	origins map[string]autoOrigin
	// unreportable says why the hits reported new whose numbers PatSnap
	// cannot report on get no automatic report; listed after the reports.
	unreportable []report.ReportChange
}

// reportOutcome is a settled report's new record and change.
type reportOutcome struct {
	rec    *state.Report
	change report.ReportChange
}

func newPass(sc *Scope, now time.Time) *pass {
	desired, recorded := sc.toRun.desired, sc.toRun.recorded
	rn := findRenames(desired, recorded)
	p := &pass{
		sc:          sc,
		mode:        sc.mode,
		reportsOnly: sc.reportsOnly,
		desired:     desired,
		recorded:    recorded,
		now:         now,
		rn:          rn,
		prior:       priorRecords(desired, recorded, rn, now),
		searches:    make([]searchOutcome, len(desired.Searches)),
		settled:     make([]bool, len(desired.Searches)),
		prog:        Progress{SearchesTotal: len(desired.Searches), ReportsTotal: len(desired.Reports)},
		sel:         sc.sel,
		origins:     maps.Clone(sc.origins),
	}
	if p.reportsOnly {
		p.prog.SearchesTotal = 0
	}
	return p
}

// reconcile reconciles the part of the spec and the state that sc runs.
func (r *Reconciler) reconcile(ctx context.Context, sc *Scope) *Outcome {
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	r.stop = stop
	defer func() { r.files = nil }()

	p := newPass(sc, r.now().UTC().Truncate(time.Second))
	r.tell(p.prog)
	if !p.reportsOnly {
		r.runSearches(ctx, p.desired, p.prior.searches, func(i int, o searchOutcome) {
			p.searches[i], p.settled[i] = o, true
			if o.answer != nil {
				r.Record.Searches[p.desired.Searches[i].Name] = *o.answer
			}
			p.prog.SearchesDone++
			r.tell(p.prog)
			r.checkpoint(ctx, p)
		})
		p.addAutos(p.autoCandidates(), p.sel)
	}
	r.reconcileReports(ctx, p)
	return p.outcome(ctx, r.Credentials)
}

// outcome is the outcome of the run as far as p has come: the searches and
// reports settled so far with their new records and changes, every other
// entry of the spec with its prior record and no change (as an interrupt
// leaves it), the entries gone from the spec retired, and what sc held
// merged in. Once every entry has settled, it is the run's outcome.
func (p *pass) outcome(ctx context.Context, credentials string) *Outcome {
	out := &Outcome{
		Report: &report.ChangeReport{Command: p.mode.Command()},
		State: &state.State{
			FormatVersion:   p.recorded.FormatVersion,
			Serial:          p.recorded.Serial,
			Lineage:         p.recorded.Lineage,
			PatwatchVersion: p.recorded.PatwatchVersion,
			Searches:        make(map[string]*state.Search, len(p.desired.Searches)),
			Reports:         make(map[string]*state.Report, len(p.desired.Reports)),
			Budget:          p.recorded.Budget,
			Outbox:          p.recorded.Outbox,
		},
		Observed: map[string][]ObservedHit{},
	}
	if p.reportsOnly {
		p.carrySearches(out.State)
	} else {
		p.putSearches(out)
	}
	p.putReports(out)
	out.Report.Reports = append(out.Report.Reports, p.unreportable...)
	p.retireRemoved(out)
	if as := accountStopOf(ctx); as != nil {
		out.Report.Stopped = &report.Stop{Error: as.err.Error(), Check: accountAdvice(as.err, credentials)}
	}
	addLinks(out.Report, p.desired.Links)
	out.Report.Finish()
	out.origins = p.origins
	p.sc.complete(out)
	setOrigins(out.Report, out.origins)
	return out
}

// autoCandidates are the hits of the settled searches that meet their
// search's auto_report, by search.
func (p *pass) autoCandidates() map[string][]autoCandidate {
	cands := map[string][]autoCandidate{}
	for i, s := range p.desired.Searches {
		if c := p.searches[i].autos; p.settled[i] && len(c) > 0 {
			cands[s.Name] = c
		}
	}
	return cands
}

// carrySearches carries every search's record over untouched, for a
// reports-only run.
func (p *pass) carrySearches(next *state.State) {
	for name, rec := range p.recorded.Searches {
		next.Searches[name] = rec
	}
	next.RetiredSearches = p.recorded.RetiredSearches
}

// putSearches puts the searches into out, and keeps the retired ones
// within their retention.
func (p *pass) putSearches(out *Outcome) {
	for i, s := range p.desired.Searches {
		o := p.searches[i]
		if !p.settled[i] {
			o = searchOutcome{rec: p.prior.searches[i]}
		}
		if o.rec != nil {
			out.State.Searches[s.Name] = o.rec
		}
		if !p.settled[i] {
			continue
		}
		if o.observed != nil {
			out.Observed[s.Name] = o.observed
		}
		ch := o.change
		ch.RenamedFrom = p.rn.searches[s.Name]
		ch.Restored = p.prior.restoredSearch[i] && o.rec != nil
		out.Report.Searches = append(out.Report.Searches, ch)
	}
	out.State.RetiredSearches = keptRetired(p.recorded.RetiredSearches, desiredSearchNames(p.desired), p.now, func(s *state.Search) time.Time { return s.RetiredAt })
}

// putReports puts the reports into out, and keeps the retired ones within
// their retention.
func (p *pass) putReports(out *Outcome) {
	for i, d := range p.desired.Reports {
		rec := p.prior.reports[i]
		if i < len(p.reports) {
			rec = p.reports[i].rec
			out.Report.Reports = append(out.Report.Reports, p.reports[i].change)
		}
		if rec != nil {
			out.State.Reports[d.Name] = rec
		}
	}
	out.State.RetiredReports = keptRetired(p.recorded.RetiredReports, desiredReportNames(p.desired), p.now, func(r *state.Report) time.Time { return r.RetiredAt })
}

// reconcileReports takes each report through its steps, one after the
// other. The save of a job it submits is not left to the next checkpoint:
// a job may be charged, and its id is what a later run fetches it by.
func (r *Reconciler) reconcileReports(ctx context.Context, p *pass) {
	for i, d := range p.desired.Reports {
		prior := p.prior.reports[i]
		rec := prior
		var ch report.ReportChange
		if ctx.Err() != nil {
			ch = errorChange(report.ReportChange{Name: d.Name, Patent: d.Patent()}, notDone(ctx))
			if rec != nil {
				ch.JobID, ch.File = rec.JobID, rec.File
			}
		} else {
			rec, ch = r.reconcileReport(ctx, p.mode, d, rec, p.rn.reports[d.Name])
		}
		if r.Record != nil {
			r.Record.Reports[d.Name] = ch.Status
		}
		ch.RenamedFrom = p.rn.reports[d.Name]
		ch.Restored = p.prior.restoredReport[i] && rec != nil
		p.reports = append(p.reports, reportOutcome{rec: rec, change: ch})
		p.prog.ReportsDone++
		if ch.Status == report.ReportPending {
			p.prog.Queue = append(p.prog.Queue, ch.QueueNum)
		}
		r.tell(p.prog)
		if submitted(prior, rec) {
			r.saveNow(ctx, p)
		} else {
			r.checkpoint(ctx, p)
		}
	}
}

// retireRemoved reports the records gone from the spec (and not renamed)
// as removed, and retires them; a reports-only run leaves the searches'.
func (p *pass) retireRemoved(out *Outcome) {
	next, rep := out.State, out.Report
	gone, goneReports := removed(p.desired, p.recorded, p.rn)
	if !p.reportsOnly {
		rep.Searches = append(rep.Searches, gone...)
		for _, g := range gone {
			next.RetiredSearches = retire(next.RetiredSearches, g.Name, p.recorded.Searches[g.Name], p.now, func(s *state.Search, t time.Time) { s.RetiredAt = t })
		}
	}
	rep.Reports = append(rep.Reports, goneReports...)
	for _, g := range goneReports {
		next.RetiredReports = retire(next.RetiredReports, g.Name, p.recorded.Reports[g.Name], p.now, func(r *state.Report, t time.Time) { r.RetiredAt = t })
	}
}
