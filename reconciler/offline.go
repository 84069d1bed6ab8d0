package reconciler

import (
	"fmt"
	"strings"
	"time"

	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

// PlanOffline carries out sc, an offline scope (ModeOffline): it compares
// the part of the spec sc runs with the state alone, without calling the
// API: searches and reports added (baseline, submit), removed, or whose
// query or request changed (rebaseline, submit); the entries sc holds are
// listed as it says. It is what a pull request's reviewer needs, and it
// runs with no credentials. The change report states the worst case of the
// apply it previews (sc.Estimate).
//
// What a reviewer needs to know of each change is said: a search whose
// query changed says how, field by field, when before holds the query its
// record was made with (see Queries); a removal says until when the
// retired record is kept for taking back.
func PlanOffline(sc *Scope, before Queries) *report.ChangeReport {
	rep := reviewOffline(sc.toRun.desired, sc.toRun.recorded, before)
	sc.merge(rep)
	setOrigins(rep, sc.origins)
	rep.Calls.Estimated = sc.estimate
	rep.Calls.PerDay = perDay(sc.desired, sc.recorded, before, rep)
	until := sc.started.Add(state.RetentionPeriod)
	for i := range rep.Searches {
		if rep.Searches[i].Status == report.StatusRemoved {
			rep.Searches[i].RetiredUntil = &until
		}
	}
	for i := range rep.Reports {
		if rep.Reports[i].Status == report.ReportRemoved {
			rep.Reports[i].RetiredUntil = &until
		}
	}
	return rep
}

// Queries are queries the state's records were made with, by their
// fingerprint (spec.Search.Fingerprint): the searches of earlier versions
// of the spec, where they are known.
type Queries map[string]spec.Search

// reviewOffline is PlanOffline's review of desired against recorded. An
// entry added back under a retired entry's name, with its query or request,
// is planned from the retired record (restored), as apply would take it
// back; with no clock, the retention is not checked.
func reviewOffline(desired *spec.Spec, recorded *state.State, before Queries) *report.ChangeReport {
	rep := &report.ChangeReport{Command: ModeOffline.Command(), Offline: true}
	rn := findRenames(desired, recorded)
	prior := priorRecords(desired, recorded, rn, time.Time{})
	for i, s := range desired.Searches {
		rec := prior.searches[i]
		ch := report.SearchChange{Name: s.Name, Status: report.StatusOK, RenamedFrom: rn.searches[s.Name], Restored: prior.restoredSearch[i]}
		switch {
		case s.Suspend:
			ch.Status = report.StatusSuspended
		case rec == nil:
			ch.Status = report.StatusBaseline
		case rec.Fingerprint != s.Fingerprint:
			ch.Status = report.StatusRebaseline
			if old, ok := before[rec.Fingerprint]; ok {
				ch.QueryChanges = spec.QueryChanges(old, s)
			}
		}
		if rec != nil {
			ch.Hits = len(rec.Hits)
		}
		rep.Searches = append(rep.Searches, ch)
	}
	for i, d := range desired.Reports {
		rec := prior.reports[i]
		ch := report.ReportChange{Name: d.Name, Patent: d.Patent(), RenamedFrom: rn.reports[d.Name], Restored: prior.restoredReport[i]}
		if rec != nil {
			ch.JobID, ch.File = rec.JobID, rec.File
		}
		step := nextReportStep(reportFacts{Desired: d, Rec: rec, RenamedFrom: ch.RenamedFrom}, time.Time{})
		ch.Status = offlineStatus(step.Step)
		if ch.Status == report.ReportError {
			ch.Error = step.Err
		}
		if ch.Status == report.ReportSubmit {
			ch.Reason = resubmitReason(d, rec)
		}
		rep.Reports = append(rep.Reports, ch)
	}
	gone, goneReports := removed(desired, recorded, rn)
	rep.Searches = append(rep.Searches, gone...)
	rep.Reports = append(rep.Reports, goneReports...)
	rep.Finish()
	return rep
}

// resubmitReason says why a report that had a job needs another: what
// changed in its request, or that its last job failed. It is empty for a
// report that never had a job.
func resubmitReason(desired spec.Report, rec *state.Report) string {
	if rec == nil || rec.JobID == "" {
		return ""
	}
	var changed []string
	if rec.PatentNumber != desired.PatentNumber || rec.PatentID != desired.PatentID {
		changed = append(changed, fmt.Sprintf("its patent changed from %s to %s", recordedPatent(rec), desired.Patent()))
	}
	if rec.Format != desired.Format {
		changed = append(changed, fmt.Sprintf("its format changed from %s to %s", rec.Format, desired.Format))
	}
	if rec.Logo != desired.Logo {
		if desired.Logo {
			changed = append(changed, "it now asks for the PatSnap logo")
		} else {
			changed = append(changed, "it now asks for no PatSnap logo")
		}
	}
	switch {
	case len(changed) > 0:
		return strings.Join(changed, ", ")
	case rec.Status == state.ReportFailed:
		return "its last job failed"
	}
	return ""
}

func recordedPatent(rec *state.Report) string {
	if rec.PatentNumber != "" {
		return rec.PatentNumber
	}
	return rec.PatentID
}

// offlineStatus is what a report's first step means when nothing can be
// asked: with no clock, no file check and no status call, a recorded report
// is taken as it was recorded.
func offlineStatus(step reportStep) report.ReportStatus {
	switch step {
	case stepSuspended:
		return report.ReportSuspended
	case stepSubmit:
		return report.ReportSubmit
	case stepCheckFile:
		return report.ReportReady // a downloaded file
	case stepError:
		return report.ReportError // a submission held by the cap
	}
	return report.ReportPending // stepPoll: a pending job
}
