package reconciler

import (
	"maps"
	"slices"

	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

// PlanOffline compares the spec with the state alone, without calling the
// API: searches and reports added (baseline, submit), removed, or whose
// query or request changed (rebaseline, submit). It is what a pull request's
// reviewer needs, and it runs with no credentials.
func PlanOffline(desired *spec.Spec, recorded *state.State) *ChangeReport {
	rep := &ChangeReport{Command: "plan", Offline: true}
	rn := findRenames(desired, recorded)
	for _, s := range desired.Searches {
		rec := recorded.Searches[s.Name]
		ch := SearchChange{Name: s.Name, Status: StatusOK, RenamedFrom: rn.searches[s.Name]}
		if ch.RenamedFrom != "" {
			rec = recorded.Searches[ch.RenamedFrom]
		}
		switch {
		case s.Suspend:
			ch.Status = StatusSuspended
		case rec == nil:
			ch.Status = StatusBaseline
		case rec.Fingerprint != s.Fingerprint:
			ch.Status = StatusRebaseline
		}
		if rec != nil {
			ch.Hits = len(rec.Hits)
		}
		rep.Searches = append(rep.Searches, ch)
	}
	for _, name := range slices.Sorted(maps.Keys(recorded.Searches)) {
		if !inSpecSearches(desired, name) && !renamedFrom(rn.searches, name) {
			rep.Searches = append(rep.Searches, SearchChange{Name: name, Status: StatusRemoved})
		}
	}
	for _, d := range desired.Reports {
		rec := recorded.Reports[d.Name]
		ch := ReportChange{Name: d.Name, Patent: d.Patent(), RenamedFrom: rn.reports[d.Name]}
		if ch.RenamedFrom != "" {
			rec = recorded.Reports[ch.RenamedFrom]
		}
		if rec != nil {
			ch.JobID, ch.File = rec.JobID, rec.File
		}
		switch {
		case d.Suspend:
			ch.Status = ReportSuspended
		case rec == nil || rec.JobID == "":
			ch.Status = ReportSubmit
		default:
			// No file check and no clock: offline, a recorded report is
			// taken as it was recorded, except what must be resubmitted.
			step, _ := decideReport(d, rec, rec.Status == state.ReportDownloaded, rec.SubmittedAt)
			switch {
			case step == stepSubmit:
				ch.Status = ReportSubmit
			case rec.Status == state.ReportDownloaded:
				ch.Status = ReportReady
			default:
				ch.Status = ReportPending
			}
		}
		rep.Reports = append(rep.Reports, ch)
	}
	for _, name := range slices.Sorted(maps.Keys(recorded.Reports)) {
		if !inSpecReports(desired, name) && !renamedFrom(rn.reports, name) {
			old := recorded.Reports[name]
			rep.Reports = append(rep.Reports, ReportChange{Name: name, Patent: patentOf(old), Status: ReportRemoved, JobID: old.JobID, File: old.File})
		}
	}
	rep.finish()
	return rep
}
