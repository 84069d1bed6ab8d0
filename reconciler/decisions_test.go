package reconciler

import (
	"reflect"
	"testing"

	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/spec"
)

func TestApplyDecisions(t *testing.T) {
	ds := &spec.Decisions{ByPatent: map[string]spec.Decision{
		"CN1S": {PatentPN: "CN1S", Verdict: spec.VerdictNotRelevant},
		"CN2S": {PatentPN: "CN2S", Verdict: spec.VerdictRelevant},
		"CN3S": {PatentPN: "CN3S", Verdict: spec.VerdictNotRelevant, Searches: []string{"other"}},
		"CN4U": {PatentPN: "CN4U", Verdict: spec.VerdictReport},
	}}
	hits := func(pns ...string) []report.HitChange {
		var out []report.HitChange
		for _, pn := range pns {
			out = append(out, report.HitChange{PatentPN: pn})
		}
		return out
	}
	ch := report.SearchChange{Name: "phones", New: hits("CN1S", "CN2S", "CN3S", "CN5S"), Dropped: hits("CN1S", "CN4U")}
	applyDecisions(&ch, ds)
	got := map[string][]string{}
	for _, h := range ch.New {
		got["new"] = append(got["new"], h.PatentPN+"="+h.Decision)
	}
	for _, h := range ch.Dropped {
		got["dropped"] = append(got["dropped"], h.PatentPN+"="+h.Decision)
	}
	want := map[string][]string{
		"new":     {"CN2S=relevant", "CN3S=", "CN5S="}, // CN3S's decision holds in another search only
		"dropped": {"CN4U=report"},
	}
	if !reflect.DeepEqual(got, want) || ch.Suppressed != 2 {
		t.Errorf("got %v, suppressed %d; want %v, suppressed 2", got, ch.Suppressed, want)
	}

	none := report.SearchChange{Name: "phones", New: hits("CN1S")}
	applyDecisions(&none, nil)
	if len(none.New) != 1 || none.Suppressed != 0 {
		t.Errorf("without decisions: %+v", none)
	}
}
