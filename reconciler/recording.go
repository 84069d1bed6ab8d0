package reconciler

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/patwatch/patwatch/internal/patsnap"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

// Recording is what a plan saw of the API and decided, kept so that an
// apply can carry out exactly that plan later (a saved plan): the answer of
// each search it refreshed, what it found apply would do with each report,
// and the changes of the entries its scope held. A plan fills one when
// Reconciler.Record is set; an apply carries one out when its Selection's
// Replay is set.
//
// A recording holds for the spec and the state it was made from, and for
// nothing else: the caller applies it only to a state of the same lineage
// and serial and a spec of the same bytes (the searches' answers are kept
// against the records they were compared with).
type Recording struct {
	// Searches holds, by name, the answer of each search the plan
	// refreshed.
	Searches map[string]RecordedSearch
	// Reports holds, by name, what the plan found apply would do with each
	// report it ran (report.ReportSubmit, report.ReportPending, …). An
	// apply of the recording submits a job only for a report listed here
	// as report.ReportSubmit.
	Reports map[string]report.ReportStatus
	// HeldSearches and HeldReports are the changes of the entries the
	// plan's scope held (skipped, or deferred by the daily budget), by
	// name: the apply holds them likewise.
	HeldSearches map[string]report.SearchChange
	HeldReports  map[string]report.ReportChange
}

// RecordedSearch is a search's answer in a Recording.
type RecordedSearch struct {
	// Fingerprint is the query that was answered (spec.Search.Fingerprint).
	Fingerprint string
	Total       int // the API's total_search_result_count
	Calls       int // the page requests the answer took
	// Unchanged marks an answer that held exactly the hits of the record
	// it was compared with, Recorded of them: Hits is then empty, and the
	// record stands for them. Only this keeps a recording small when
	// nothing changed.
	Unchanged bool
	Recorded  int
	// Hits is the answer, in rank order, when it is not Unchanged.
	Hits []patsnap.Hit
}

// newRecording is an empty recording.
func newRecording() *Recording {
	return &Recording{
		Searches:     map[string]RecordedSearch{},
		Reports:      map[string]report.ReportStatus{},
		HeldSearches: map[string]report.SearchChange{},
		HeldReports:  map[string]report.ReportChange{},
	}
}

// recordAnswer is what a recording keeps of a successful answer res to the
// search s, whose prior record was rec.
func recordAnswer(s spec.Search, rec *state.Search, res *patsnap.SearchResult) RecordedSearch {
	rs := RecordedSearch{Fingerprint: s.Fingerprint, Total: res.Total, Calls: res.Calls}
	if rec != nil && rec.Fingerprint == s.Fingerprint && unchanged(rec, res.Hits) {
		rs.Unchanged, rs.Recorded = true, len(rec.Hits)
		return rs
	}
	rs.Hits = res.Hits
	return rs
}

// observation is the answer rs gives the search s in the apply of its
// recording, rec being the search's prior record there. An unchanged
// answer is the record's hits (in patent number order, without scores or
// image links, which the record does not keep); it is an error when rec is
// no longer the record it was compared with (a retired record taken back
// by the plan that expired since).
func (rs RecordedSearch) observation(s spec.Search, rec *state.Search) SearchObservation {
	switch {
	case rs.Fingerprint != s.Fingerprint:
		return SearchObservation{Err: errors.New("the saved plan answered another query; run plan --save again")}
	case !rs.Unchanged:
		return SearchObservation{Result: &patsnap.SearchResult{Total: rs.Total, Hits: rs.Hits, Calls: rs.Calls}}
	case rec == nil || rec.Fingerprint != rs.Fingerprint || len(rec.Hits) != rs.Recorded:
		return SearchObservation{Err: errors.New("its record changed since the saved plan was made; run plan --save again")}
	}
	hits := make([]patsnap.Hit, 0, len(rec.Hits))
	for _, pn := range slices.Sorted(maps.Keys(rec.Hits)) {
		h := rec.Hits[pn]
		hits = append(hits, patsnap.Hit{PatentPN: pn, PatentID: h.PatentID, Title: h.Title, CurrentAssignee: h.CurrentAssignee,
			Apno: h.Apno, Apdt: h.Apdt, Pbdt: h.Pbdt})
	}
	return SearchObservation{Result: &patsnap.SearchResult{Total: rs.Total, Hits: hits, Calls: rs.Calls}}
}

// replayed is the answer the recording gives the search s, whose prior
// record is rec: an error when it holds none.
func (rc *Recording) replayed(s spec.Search, rec *state.Search) SearchObservation {
	rs, ok := rc.Searches[s.Name]
	if !ok {
		return SearchObservation{Err: errors.New("the saved plan holds no answer for it; run plan --save again")}
	}
	return rs.observation(s, rec)
}

// mayNotSubmit is the error of a job the apply of rc would submit for the
// report name although the plan did not list one; nil when it did, or when
// there is no recording (nil rc): an apply of no saved plan.
func (rc *Recording) mayNotSubmit(name string) error {
	if rc == nil {
		return nil
	}
	planned, ok := rc.Reports[name]
	if ok && planned == report.ReportSubmit {
		return nil
	}
	found := "it did not run it"
	if ok {
		found = "it found it " + string(planned)
	}
	return fmt.Errorf("not submitted: the saved plan listed no new job for it (%s); run plan --save again to review one", found)
}

// answers reports whether rc holds the answer of the search name, which
// the apply of rc then does not ask for.
func (rc *Recording) answers(name string) bool {
	_, ok := rc.Searches[name]
	return ok
}

// holds reports whether the plan's scope held the entry name of kind k.
func (rc *Recording) holds(k kind, name string) bool {
	if k == searchKind {
		_, ok := rc.HeldSearches[name]
		return ok
	}
	_, ok := rc.HeldReports[name]
	return ok
}
