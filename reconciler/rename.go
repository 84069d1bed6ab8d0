package reconciler

import (
	"maps"
	"slices"

	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

// renames pairs each spec entry that the state does not know with a recorded
// entry that left the spec and asked for the very same thing: a search with
// the same query fingerprint, a report with the same request. Such a pair is
// a rename, and the new name takes over the old one's record, so that its
// hits keep their history and its report job or file is not asked for again.
// A match must be unambiguous: two candidates with the same fingerprint (or
// two new names wanting one) are left as a removal and an addition.
type renames struct {
	searches map[string]string // new name → old name
	reports  map[string]string
}

func findRenames(desired *spec.Spec, recorded *state.State) renames {
	r := renames{searches: map[string]string{}, reports: map[string]string{}}

	inSpec := map[string]bool{}
	for _, s := range desired.Searches {
		inSpec[s.Name] = true
	}
	byFingerprint := map[string][]string{} // of recorded searches gone from the spec
	for _, name := range slices.Sorted(maps.Keys(recorded.Searches)) {
		if !inSpec[name] {
			fp := recorded.Searches[name].Fingerprint
			byFingerprint[fp] = append(byFingerprint[fp], name)
		}
	}
	wanted := map[string][]string{}
	for _, s := range desired.Searches {
		if _, ok := recorded.Searches[s.Name]; !ok {
			wanted[s.Fingerprint] = append(wanted[s.Fingerprint], s.Name)
		}
	}
	for fp, news := range wanted {
		if olds := byFingerprint[fp]; len(olds) == 1 && len(news) == 1 {
			r.searches[news[0]] = olds[0]
		}
	}

	inSpec = map[string]bool{}
	for _, d := range desired.Reports {
		inSpec[d.Name] = true
	}
	type request struct {
		number, id, format string
		logo               bool
	}
	byRequest := map[request][]string{}
	for _, name := range slices.Sorted(maps.Keys(recorded.Reports)) {
		if !inSpec[name] {
			rec := recorded.Reports[name]
			k := request{rec.PatentNumber, rec.PatentID, rec.Format, rec.Logo}
			byRequest[k] = append(byRequest[k], name)
		}
	}
	wantedReports := map[request][]string{}
	for _, d := range desired.Reports {
		if _, ok := recorded.Reports[d.Name]; !ok {
			k := request{d.PatentNumber, d.PatentID, d.Format, d.Logo}
			wantedReports[k] = append(wantedReports[k], d.Name)
		}
	}
	for k, news := range wantedReports {
		if olds := byRequest[k]; len(olds) == 1 && len(news) == 1 {
			r.reports[news[0]] = olds[0]
		}
	}
	return r
}

// removed lists, in name order, the recorded searches and reports that are
// gone from the spec and were not renamed: apply forgets them.
func removed(desired *spec.Spec, recorded *state.State, rn renames) ([]report.SearchChange, []report.ReportChange) {
	keep := map[string]bool{}
	for _, s := range desired.Searches {
		keep[s.Name] = true
	}
	for _, old := range rn.searches {
		keep[old] = true
	}
	var searches []report.SearchChange
	for _, name := range slices.Sorted(maps.Keys(recorded.Searches)) {
		if !keep[name] {
			// Hits is what the removal retires: the hits recorded for it.
			searches = append(searches, report.SearchChange{Name: name, Status: report.StatusRemoved, Hits: len(recorded.Searches[name].Hits)})
		}
	}
	keep = map[string]bool{}
	for _, r := range desired.Reports {
		keep[r.Name] = true
	}
	for _, old := range rn.reports {
		keep[old] = true
	}
	var reports []report.ReportChange
	for _, name := range slices.Sorted(maps.Keys(recorded.Reports)) {
		if !keep[name] {
			old := recorded.Reports[name]
			patent := old.PatentNumber
			if patent == "" {
				patent = old.PatentID
			}
			reports = append(reports, report.ReportChange{Name: name, Patent: patent, Status: report.ReportRemoved, JobID: old.JobID, File: old.File})
		}
	}
	return searches, reports
}

// Removals counts the entries (searches and reports) recorded in the state
// that desired would remove, renames aside, and the entries recorded. Watch
// mode holds a spec change that would remove most of them.
func Removals(desired *spec.Spec, recorded *state.State) (n, total int) {
	total = len(recorded.Searches) + len(recorded.Reports)
	// The automatic reports still asked for are the spec's too.
	desired, recorded = withAutos(desired, recorded, standingAutos(desired, recorded))
	gone, goneReports := removed(desired, recorded, findRenames(desired, recorded))
	return len(gone) + len(goneReports), total
}
