package reconciler

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/patwatch/patwatch/internal/patsnap"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

// MassDropMin is the fewest hits whose loss at once holds a search's
// answer as an error (see DiffSearch).
const MassDropMin = 10

// SearchObservation is what the API answered for one search in this run.
// Exactly one of Result and Err is set.
type SearchObservation struct {
	Result *patsnap.SearchResult
	Err    error
}

// DiffSearch reconciles one search: desired is the spec's search, recorded
// what the state holds for it (nil for a search seen for the first time),
// observed the API's answer. It returns the search's new recorded value and
// its part of the change report. It does no I/O and does not modify recorded.
//
// A failed observation leaves the recorded value as it was and reports
// nothing new or dropped: an error is never read as "all hits gone". The
// observed hits are taken as the API client chose them (patsnap.Search):
// each identified by a distinct patent_pn, none below min_score, at most
// max_results.
//
// An answer that would lose more than half of the recorded hits at once
// (hits present last run and absent now, at least MassDropMin) is held as an
// error too, unless the query changed (a rebaseline) or desired allows it
// (allow_mass_drop, --allow-mass-drop): an index or account that answers
// "nothing" with success must not be read as every patent gone, nor make the
// next run report them all new again.
func DiffSearch(desired spec.Search, recorded *state.Search, observed SearchObservation, now time.Time) (*state.Search, report.SearchChange) {
	ch := report.SearchChange{Name: desired.Name}
	if observed.Err != nil {
		ch.Status = report.StatusError
		ch.Error = observed.Err.Error()
		if recorded != nil {
			ch.Hits = len(recorded.Hits)
		}
		return recorded, ch
	}
	now = now.UTC().Truncate(time.Second)
	hits := observed.Result.Hits
	ch.Total = observed.Result.Total

	if recorded == nil || recorded.Fingerprint != desired.Fingerprint {
		ch.Status = report.StatusBaseline
		if recorded != nil {
			ch.Status = report.StatusRebaseline
		}
		next := &state.Search{Fingerprint: desired.Fingerprint, BaselineAt: now, Hits: make(map[string]*state.Hit, len(hits))}
		for _, h := range hits {
			next.Hits[h.PatentPN] = recordHit(h, now)
		}
		ch.Hits = len(next.Hits)
		return next, ch
	}

	ch.Status = report.StatusOK
	if unchanged(recorded, hits) {
		// The common case of a scheduled run: the recorded value is the
		// answer, shared rather than copied hit by hit.
		ch.Hits = len(recorded.Hits)
		return recorded, ch
	}
	seen := make(map[string]bool, len(hits))
	for _, h := range hits {
		seen[h.PatentPN] = true
	}
	if lost := lostHits(recorded, seen); !desired.AllowMassDrop && lost >= MassDropMin && 2*lost > len(recorded.Hits) {
		ch.Status = report.StatusError
		ch.Error = fmt.Sprintf("held: this answer would drop %d of the %d recorded hits at once (it has %d hits, %d matches in all); "+
			"nothing was changed. If the results really changed, run again with --allow-mass-drop, or set allow_mass_drop: true on the search",
			lost, len(recorded.Hits), len(hits), observed.Result.Total)
		ch.Hits = len(recorded.Hits)
		return recorded, ch
	}
	next := &state.Search{Fingerprint: recorded.Fingerprint, BaselineAt: recorded.BaselineAt, Hits: make(map[string]*state.Hit, len(hits))}
	for _, h := range hits {
		old, ok := recorded.Hits[h.PatentPN]
		if !ok {
			ch.New = append(ch.New, newHit(h))
			next.Hits[h.PatentPN] = recordHit(h, now)
			continue
		}
		next.Hits[h.PatentPN] = keepFacts(old, h)
	}
	dropAfter := max(desired.DropAfter, 1)
	for _, pn := range slices.Sorted(maps.Keys(recorded.Hits)) {
		if seen[pn] {
			continue
		}
		old := recorded.Hits[pn]
		if old.Missing+1 >= dropAfter {
			ch.Dropped = append(ch.Dropped, droppedHit(pn, old))
			continue
		}
		kept := *old
		kept.Missing++
		next.Hits[pn] = &kept
		ch.Missing++
	}
	ch.Hits = len(next.Hits)
	return next, ch
}

// lostHits counts the recorded hits that were present in the last run and
// are not among seen.
func lostHits(recorded *state.Search, seen map[string]bool) int {
	n := 0
	for pn, h := range recorded.Hits {
		if h.Missing == 0 && !seen[pn] {
			n++
		}
	}
	return n
}

// unchanged reports whether hits would leave recorded exactly as it is: the
// same patents, none of them missing before, no fact left to fill in.
func unchanged(recorded *state.Search, hits []patsnap.Hit) bool {
	if len(hits) != len(recorded.Hits) {
		return false
	}
	for _, h := range hits {
		old, ok := recorded.Hits[h.PatentPN]
		if !ok || seenAgain(old, h) != *old {
			return false
		}
	}
	return true
}

// recordHit keeps a hit's stable facts; the presigned image URL and the score
// change on every call and are not recorded.
func recordHit(h patsnap.Hit, now time.Time) *state.Hit {
	return &state.Hit{
		FirstSeen:       now,
		PatentID:        h.PatentID,
		Title:           h.Title,
		CurrentAssignee: h.CurrentAssignee,
		Apno:            h.Apno,
		Apdt:            h.Apdt,
		Pbdt:            h.Pbdt,
	}
}

// keepFacts is the recorded hit seen again: present (Missing 0), with the
// facts it was first recorded with. Only facts missing then are filled in,
// so that a title or assignee the API words differently from one call to
// the next does not rewrite the state when nothing is reported.
func keepFacts(old *state.Hit, h patsnap.Hit) *state.Hit {
	rec := seenAgain(old, h)
	return &rec
}

// seenAgain is keepFacts by value, which allocates nothing.
func seenAgain(old *state.Hit, h patsnap.Hit) state.Hit {
	rec := *old
	rec.Missing = 0
	fill := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	fill(&rec.PatentID, h.PatentID)
	fill(&rec.Title, h.Title)
	fill(&rec.CurrentAssignee, h.CurrentAssignee)
	fill(&rec.Apno, h.Apno)
	if rec.Apdt == 0 {
		rec.Apdt = h.Apdt
	}
	if rec.Pbdt == 0 {
		rec.Pbdt = h.Pbdt
	}
	return rec
}

func newHit(h patsnap.Hit) report.HitChange {
	return report.HitChange{
		PatentPN:        h.PatentPN,
		Title:           h.Title,
		Score:           h.Score,
		CurrentAssignee: h.CurrentAssignee,
		Apdt:            h.Apdt,
		Pbdt:            h.Pbdt,
		ImageURL:        h.URL,
		PatentID:        h.PatentID,
	}
}

func droppedHit(pn string, h *state.Hit) report.HitChange {
	return report.HitChange{
		PatentPN:        pn,
		Title:           h.Title,
		CurrentAssignee: h.CurrentAssignee,
		Apdt:            h.Apdt,
		Pbdt:            h.Pbdt,
		PatentID:        h.PatentID,
	}
}
