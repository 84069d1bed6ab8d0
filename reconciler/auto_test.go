package reconciler

import (
	"reflect"
	"testing"
	"time"

	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

func TestStandingAutos(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	hinges := spec.Search{Name: "hinges", Fingerprint: "fp", AutoReport: &spec.AutoReport{MinScore: 0.9, Format: "pdf", MaxPerRun: 3}}
	desired := &spec.Spec{
		Searches: []spec.Search{hinges},
		Reports:  []spec.Report{{Name: "declared", PatentNumber: "CN5U", Format: "pdf"}},
		Decisions: &spec.Decisions{ByPatent: map[string]spec.Decision{
			"CN1U": {Verdict: spec.VerdictReport},
			"CN5U": {Verdict: spec.VerdictReport}, // declared already
			"CN3U": {Verdict: spec.VerdictNotRelevant},
		}},
	}
	recorded := &state.State{
		Searches: map[string]*state.Search{"hinges": {Fingerprint: "fp", BaselineAt: t0, Hits: map[string]*state.Hit{
			"CN2U": {FirstSeen: t0.Add(time.Hour)}, "CN3U": {FirstSeen: t0.Add(time.Hour)}, "CN6U": {FirstSeen: t0.Add(time.Hour)},
		}}},
		Reports: map[string]*state.Report{
			"auto-cn2u": {PatentNumber: "CN2U", Format: "pdf", JobID: "1", Status: state.ReportPending}, // still held: asked for
			"auto-cn3u": {PatentNumber: "CN3U", Format: "pdf", JobID: "2", Status: state.ReportPending}, // silenced: leaves
			"auto-cn4u": {PatentNumber: "CN4U", Format: "pdf", JobID: "3", Status: state.ReportPending}, // no longer held: leaves
			"auto-cn6u": {PatentNumber: "CN6U", Format: "pdf", Status: state.ReportFailed, LastError: "refused: x"},
			"declared":  {PatentNumber: "CN5U", Format: "pdf", JobID: "4", Status: state.ReportPending},
		},
	}
	a := standingAutos(desired, recorded)
	var names []string
	for _, r := range a.reports {
		names = append(names, r.Name)
	}
	if want := []string{"auto-cn1u", "auto-cn2u"}; !reflect.DeepEqual(names, want) {
		t.Errorf("standing: %v, want %v", names, want)
	}
	if o := a.origins["auto-cn1u"]; o.kind != report.OriginDecision {
		t.Errorf("auto-cn1u's origin: %+v", o)
	}
	if o := a.origins["auto-cn2u"]; o.kind != report.OriginAuto || o.search != "hinges" {
		t.Errorf("auto-cn2u's origin: %+v", o)
	}
	if len(a.refused) != 1 || a.refused["auto-cn6u"] == nil {
		t.Errorf("refused: %v", a.refused)
	}
	// Watch counts neither the standing ones nor the refused one as removed.
	if n, total := Removals(desired, recorded); n != 2 || total != 6 {
		t.Errorf("Removals = %d of %d, want 2 (auto-cn3u, auto-cn4u) of 6", n, total)
	}
}
