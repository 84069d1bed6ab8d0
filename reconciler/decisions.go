package reconciler

import (
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/spec"
)

// applyDecisions makes a search's change follow the decisions file: a hit
// whose decision in the search is not_relevant leaves New and Dropped (the
// state records it all the same) and is counted in Suppressed; every other
// hit carries its decision. It is pure, and a nil ds changes nothing but
// the count.
func applyDecisions(ch *report.SearchChange, ds *spec.Decisions) {
	ch.New = followDecisions(ch, ch.New, ds)
	ch.Dropped = followDecisions(ch, ch.Dropped, ds)
}

func followDecisions(ch *report.SearchChange, hits []report.HitChange, ds *spec.Decisions) []report.HitChange {
	if ds.Len() == 0 {
		return hits
	}
	kept := hits[:0]
	for _, h := range hits {
		v := ds.For(ch.Name, h.PatentPN)
		if v == spec.VerdictNotRelevant {
			ch.Suppressed++
			continue
		}
		h.Decision = string(v)
		kept = append(kept, h)
	}
	return kept
}
