package reconciler

import (
	"github.com/patwatch/patwatch/internal/patsnap"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

// The worst case of a run's calls (Estimate) counts the calls the run makes
// when each is answered at its first attempt: the pages of every search,
// the upload of each local image, and for each report the status call, a
// second one for a fresh download link, and a new job. The token exchange
// and the download of a report's file, which is no call of the API, are
// not counted. Beyond the estimate go only calls repeated after a failure
// (a transient error retried, an upload URL the API refused uploaded
// again) and the pages a search asks for to make up for hits it leaves out
// (repeated across pages, without a patent_pn, or below min_score in an
// order other than the score's); the change report's calls.made shows them.

// searchCalls is the most pages a search asks for: max_results in pages of
// patsnap.MaxPageSize, up to the paging limit.
func searchCalls(s spec.Search) int {
	if s.Suspend {
		return 0
	}
	want := patsnap.WantedResults(s.MaxResults)
	return (want + patsnap.MaxPageSize - 1) / patsnap.MaxPageSize
}

// Calls of a report's steps in the worst case.
const (
	// callsSubmit: a job is created.
	callsSubmit = 1
	// callsPoll: the job's status; its status again for a fresh link
	// when the download is refused; a new job when that fails too or the
	// API no longer knows the job.
	callsPoll = 3
)

// reportCalls is the most calls report d makes in sc's run: from its
// record (a rename's, or a retired one it would take back, whichever costs
// more), as nextReportStep would take it. The files it checks are kept in
// sc.files for the run.
func (sc *Scope) reportCalls(d spec.Report) int {
	candidates := []*state.Report{sc.recorded.Reports[d.Name]}
	if candidates[0] == nil {
		candidates = append(candidates, sc.recorded.RetiredReports[d.Name])
		for _, rec := range sc.recorded.Reports {
			if sameRequest(d, rec) { // a rename takes over its record
				candidates = append(candidates, rec)
			}
		}
	}
	most := 0
	for _, rec := range candidates {
		most = max(most, sc.recordCalls(d, rec))
	}
	return most
}

// recordCalls is the most calls report d makes from the record rec. A
// plan reads a status and stops there; an apply, and the offline plan
// that previews one, may submit a job or poll, download and resubmit.
func (sc *Scope) recordCalls(d spec.Report, rec *state.Report) int {
	f := reportFacts{Desired: d, Rec: rec}
	for {
		switch nextReportStep(f, sc.started).Step {
		case stepCheckFile:
			f.File = sc.files.check(absPath(sc.stateDir, rec.File), rec.SHA256)
			continue
		case stepSubmit:
			if sc.mode == ModePlan {
				return 0
			}
			return callsSubmit
		case stepPoll:
			if sc.mode == ModePlan {
				return 1
			}
			return callsPoll
		}
		return 0
	}
}
