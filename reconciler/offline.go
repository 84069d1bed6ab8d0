package reconciler

import (
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

// PlanOffline compares the spec with the state alone, without calling the
// API: searches and reports added (baseline, submit), removed, or whose
// query or request changed (rebaseline, submit). It is what a pull request's
// reviewer needs, and it runs with no credentials.
func PlanOffline(desired *spec.Spec, recorded *state.State) *report.ChangeReport {
	rep := &report.ChangeReport{Command: "plan", Offline: true}
	rn := findRenames(desired, recorded)
	for _, s := range desired.Searches {
		rec := recorded.Searches[s.Name]
		ch := report.SearchChange{Name: s.Name, Status: report.StatusOK, RenamedFrom: rn.searches[s.Name]}
		if ch.RenamedFrom != "" {
			rec = recorded.Searches[ch.RenamedFrom]
		}
		switch {
		case s.Suspend:
			ch.Status = report.StatusSuspended
		case rec == nil:
			ch.Status = report.StatusBaseline
		case rec.Fingerprint != s.Fingerprint:
			ch.Status = report.StatusRebaseline
		}
		if rec != nil {
			ch.Hits = len(rec.Hits)
		}
		rep.Searches = append(rep.Searches, ch)
	}
	for _, d := range desired.Reports {
		rec := recorded.Reports[d.Name]
		ch := report.ReportChange{Name: d.Name, Patent: d.Patent(), RenamedFrom: rn.reports[d.Name]}
		if ch.RenamedFrom != "" {
			rec = recorded.Reports[ch.RenamedFrom]
		}
		if rec != nil {
			ch.JobID, ch.File = rec.JobID, rec.File
		}
		switch {
		case d.Suspend:
			ch.Status = report.ReportSuspended
		case rec == nil || rec.JobID == "" || !sameRequest(d, rec) || rec.Status == state.ReportFailed:
			ch.Status = report.ReportSubmit
		case rec.Status == state.ReportDownloaded:
			// Offline there is no file check and no clock: a recorded
			// report is taken as it was recorded.
			ch.Status = report.ReportReady
		default:
			ch.Status = report.ReportPending
		}
		rep.Reports = append(rep.Reports, ch)
	}
	gone, goneReports := removed(desired, recorded, rn)
	rep.Searches = append(rep.Searches, gone...)
	rep.Reports = append(rep.Reports, goneReports...)
	rep.Finish()
	return rep
}
