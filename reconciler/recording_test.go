package reconciler

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/patwatch/patwatch/internal/patsnap"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

// recordPlan runs a plan of desired against recorded through api with a
// recording, and returns both.
func recordPlan(t *testing.T, api *fakeAPI, desired *spec.Spec, recorded *state.State, sel Selection) (*Outcome, *Recording) {
	t.Helper()
	r := newTestReconciler(t, api)
	rc := &Recording{}
	r.Record = rc
	out := r.Run(context.Background(), NewScope(ModePlan, desired, recorded, sel, r.now(), r.StateDir))
	return out, rc
}

// replay applies rc to desired and recorded through api.
func replay(t *testing.T, api *fakeAPI, desired *spec.Spec, recorded *state.State, rc *Recording) *Outcome {
	t.Helper()
	r := newTestReconciler(t, api)
	return r.Run(context.Background(), NewScope(ModeApply, desired, recorded, Selection{Replay: rc}, r.now(), r.StateDir))
}

func TestReplayAppliesWhatThePlanSawWithoutSearching(t *testing.T) {
	desired := &spec.Spec{Searches: []spec.Search{urlSearch("changed"), urlSearch("same"), urlSearch("fresh")},
		Reports: []spec.Report{wantedReport}}
	recorded := newState(map[string]*state.Search{
		"changed": {Fingerprint: "fp-changed", BaselineAt: t0, Hits: recordHits("A", "B")},
		"same":    {Fingerprint: "fp-same", BaselineAt: t0, Hits: recordHits("X", "Y")},
	}, nil)
	answersNow := answers(map[string][]string{"changed": {"B", "C"}, "same": {"Y", "X"}, "fresh": {"F"}})

	planned, rc := recordPlan(t, &fakeAPI{search: answersNow}, desired, recorded, Selection{})
	if got := reportStatus(planned.Report, "r"); got != report.ReportSubmit {
		t.Fatalf("the plan says %s for the new report, want submit", got)
	}
	if same := rc.Searches["same"]; !same.Unchanged || same.Recorded != 2 || same.Hits != nil {
		t.Errorf("an unchanged answer is recorded as %+v; want Unchanged with 2 recorded hits and no hit", same)
	}
	if got := len(rc.Searches["changed"].Hits); got != 2 {
		t.Errorf("the changed answer keeps %d hits, want 2", got)
	}

	// The apply asks for nothing but the job the plan listed.
	api := &fakeAPI{create: createJob}
	applied := replay(t, api, desired, recorded, rc)
	if got := api.Calls(); !reflect.DeepEqual(got, []string{"create CN1 pdf logo=true"}) {
		t.Errorf("the apply of the recording called %q; want only the job the plan listed", got)
	}
	// … and comes to what an apply asking the API the same would.
	live := run(t, context.Background(), newTestReconciler(t, &fakeAPI{search: answersNow, create: createJob}), ModeApply, desired, recorded)
	if a, b := mustJSON(t, applied.State), mustJSON(t, live.State); a != b {
		t.Errorf("the replayed apply records\n%s\nan apply of the same answers\n%s", a, b)
	}
	if calls := applied.Report.Calls.Estimated; calls != 1 {
		t.Errorf("the replayed apply's worst case is %d calls, want 1 (the job; the searches were answered)", calls)
	}
	live.Report.Calls = applied.Report.Calls
	if a, b := mustJSON(t, applied.Report), mustJSON(t, live.Report); a != b {
		t.Errorf("the replayed apply reports\n%s\nan apply of the same answers\n%s", a, b)
	}
}

func TestReplaySubmitsOnlyTheJobsThePlanListed(t *testing.T) {
	desired := &spec.Spec{Reports: []spec.Report{wantedReport}}
	recorded := newState(nil, map[string]*state.Report{"r": recordedReport(nil)})
	_, rc := recordPlan(t, &fakeAPI{status: statusAnswer(&patsnap.ReportStatus{JobID: "100", JobStatus: patsnap.JobWaiting}, nil)}, desired, recorded, Selection{})
	if rc.Reports["r"] != report.ReportPending {
		t.Fatalf("the plan recorded %q for the pending job, want pending", rc.Reports["r"])
	}

	// By the apply, the API has forgotten the job: an apply would submit
	// another, which the plan did not list.
	api := &fakeAPI{status: jobForgot}
	out := replay(t, api, desired, recorded, rc)
	ch := out.Report.Reports[0]
	if ch.Status != report.ReportError || !strings.Contains(ch.Error, "the saved plan listed no new job for it (it found it pending)") {
		t.Errorf("the report is %s %q; want an error saying the plan listed no job", ch.Status, ch.Error)
	}
	for _, c := range api.Calls() {
		if strings.HasPrefix(c, "create") {
			t.Errorf("a job the plan did not list was submitted: %s", c)
		}
	}
	if out.State.Reports["r"] != recorded.Reports["r"] {
		t.Error("the report's record changed")
	}
}

func TestReplayHoldsWhatThePlanHeld(t *testing.T) {
	desired := &spec.Spec{Searches: []spec.Search{urlSearch("a"), urlSearch("b")}}
	recorded := newState(map[string]*state.Search{"b": {Fingerprint: "fp-b", BaselineAt: t0, Hits: recordHits("X")}}, nil)
	planned, rc := recordPlan(t, &fakeAPI{search: answers(map[string][]string{"a": {"A"}})}, desired, recorded, Selection{Target: []string{"a"}})
	held := searchByName(t, planned.Report, "b")
	if held.Status != report.StatusSkipped {
		t.Fatalf("the plan's b is %s, want skipped", held.Status)
	}

	out := replay(t, &fakeAPI{}, desired, recorded, rc)
	if got := searchByName(t, out.Report, "b"); !reflect.DeepEqual(got, held) {
		t.Errorf("the apply reports b as %+v; the plan held it as %+v", got, held)
	}
	if out.State.Searches["b"] != recorded.Searches["b"] {
		t.Error("the held search's record changed")
	}
	if got := searchByName(t, out.Report, "a"); got.Status != report.StatusBaseline {
		t.Errorf("a is %s, want baseline", got.Status)
	}
}

func TestReplayRefusesAnAnswerToAnotherRecord(t *testing.T) {
	s := urlSearch("s")
	rs := RecordedSearch{Fingerprint: s.Fingerprint, Unchanged: true, Recorded: 2}
	for name, rec := range map[string]*state.Search{
		"no record":      nil,
		"another query":  {Fingerprint: "fp-other", Hits: recordHits("A", "B")},
		"other hits":     {Fingerprint: s.Fingerprint, Hits: recordHits("A")},
		"the same query": {Fingerprint: s.Fingerprint, Hits: recordHits("A", "B")},
	} {
		obs := rs.observation(s, rec)
		if ok := obs.Err == nil; ok != (name == "the same query") {
			t.Errorf("%s: error %v", name, obs.Err)
		}
	}
	other := s
	other.Fingerprint = "fp-changed"
	if obs := rs.observation(other, nil); obs.Err == nil {
		t.Error("an answer to another query was replayed")
	}
}

func recordHits(pns ...string) map[string]*state.Hit {
	out := map[string]*state.Hit{}
	for _, h := range hits(pns...) {
		out[h.PatentPN] = recordHit(h, t0)
	}
	return out
}

func reportStatus(rep *report.ChangeReport, name string) report.ReportStatus {
	for _, r := range rep.Reports {
		if r.Name == name {
			return r.Status
		}
	}
	return ""
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
