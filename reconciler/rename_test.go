package reconciler

import (
	"reflect"
	"testing"

	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

func TestFindRenames(t *testing.T) {
	rec := func(fps map[string]string) *state.State {
		st := state.New()
		for name, fp := range fps {
			st.Searches[name] = &state.Search{Fingerprint: fp}
		}
		return st
	}
	sp := func(fps ...string) *spec.Spec { // name=fp pairs
		s := &spec.Spec{}
		for i := 0; i < len(fps); i += 2 {
			s.Searches = append(s.Searches, spec.Search{Name: fps[i], Fingerprint: fps[i+1]})
		}
		return s
	}
	tests := []struct {
		name     string
		desired  *spec.Spec
		recorded *state.State
		want     map[string]string
	}{
		{"same query under a new name", sp("new", "f1"), rec(map[string]string{"old": "f1"}), map[string]string{"new": "old"}},
		{"a different query is not a rename", sp("new", "f2"), rec(map[string]string{"old": "f1"}), map[string]string{}},
		{"an old name still in the spec is not a candidate", sp("old", "f9", "new", "f1"), rec(map[string]string{"old": "f1"}), map[string]string{}},
		{"a name the state knows is not renamed", sp("new", "f1"), rec(map[string]string{"new": "f0", "old": "f1"}), map[string]string{}},
		{"two candidates: ambiguous", sp("new", "f1"), rec(map[string]string{"a": "f1", "b": "f1"}), map[string]string{}},
		{"two new names for one: ambiguous", sp("n1", "f1", "n2", "f1"), rec(map[string]string{"old": "f1"}), map[string]string{}},
		{"two renames at once", sp("n1", "f1", "n2", "f2"), rec(map[string]string{"o1": "f1", "o2": "f2"}), map[string]string{"n1": "o1", "n2": "o2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := findRenames(tt.desired, tt.recorded).searches; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("renames = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFindReportRenames(t *testing.T) {
	st := state.New()
	st.Reports["old"] = &state.Report{PatentNumber: "CN1", Format: "pdf", Logo: true, JobID: "1"}
	st.Reports["other"] = &state.Report{PatentNumber: "CN2", Format: "pdf", Logo: true, JobID: "2"}
	desired := &spec.Spec{Reports: []spec.Report{
		{Name: "new", PatentNumber: "CN1", Format: "pdf", Logo: true},
		{Name: "word", PatentNumber: "CN2", Format: "word", Logo: true}, // another request: a new report
	}}
	if got, want := findRenames(desired, st).reports, map[string]string{"new": "old"}; !reflect.DeepEqual(got, want) {
		t.Errorf("renames = %v, want %v", got, want)
	}
}

func TestRemovalsCountsNoRename(t *testing.T) {
	st := state.New()
	st.Searches["a"] = &state.Search{Fingerprint: "fa"}
	st.Searches["b"] = &state.Search{Fingerprint: "fb"}
	st.Reports["r"] = &state.Report{PatentNumber: "CN1", Format: "pdf"}
	desired := &spec.Spec{Searches: []spec.Search{{Name: "b2", Fingerprint: "fb"}}} // b renamed; a and r removed
	if n, total := Removals(desired, st); n != 2 || total != 3 {
		t.Errorf("Removals = %d of %d, want 2 of 3", n, total)
	}
}
