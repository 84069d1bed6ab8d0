package main

import (
	"bytes"
	"context"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/patwatch/patwatch/internal/patsnap/fake"
	"github.com/patwatch/patwatch/internal/report"
)

// searchesAndReport is twoSearches with a report.
const searchesAndReport = twoSearches + `
reports:
  - name: cn1
    patent_number: CN108977442B
    format: pdf
`

// savedPlanHarness is a harness whose state holds the baselines of alpha
// and beta (not the report's job), and whose API now answers alpha with one
// hit more: a plan sees A4 new and a job to submit.
func savedPlanHarness(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t, fake.Options{})
	h.writeSpec(searchesAndReport)
	h.api.SetResults(imgA, -1, fakeHits("A1", "A2")...)
	h.api.SetResults(imgB, -1, fakeHits("B1")...)
	if code, _, errOut := h.apply("--target", "alpha", "--target", "beta"); code != exitOK {
		t.Fatalf("baseline: exit %d\n%s", code, errOut)
	}
	h.api.SetResults(imgA, -1, fakeHits("A1", "A4", "A2")...)
	return h
}

// savePlan runs plan --save and returns its change report.
func (h *harness) savePlan(args ...string) *report.ChangeReport {
	h.t.Helper()
	code, rep, errOut := h.report("plan", append([]string{"--save", h.path("p.plan")}, args...)...)
	if code != exitOK {
		h.t.Fatalf("plan --save: exit %d\n%s", code, errOut)
	}
	if !strings.Contains(errOut, "the plan is saved in "+h.path("p.plan")) {
		h.t.Errorf("plan --save does not say where the plan is:\n%s", errOut)
	}
	return rep
}

func TestSavedPlanAppliedWithoutSearchCalls(t *testing.T) {
	h := savedPlanHarness(t)
	planned := h.savePlan()
	if alpha := searchByName(t, planned, "alpha"); !reflect.DeepEqual(pns(alpha.New), []string{"A4"}) {
		t.Fatalf("the plan's alpha: %+v, want A4 new", alpha)
	}
	if got := reportByName(t, planned, "cn1").Status; got != report.ReportSubmit {
		t.Fatalf("the plan's report: %s, want submit", got)
	}
	fi, err := os.Stat(h.path("p.plan"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("the plan file has mode %v, want 0600", fi.Mode().Perm())
	}
	if b, _ := os.ReadFile(h.path("p.plan")); bytes.Contains(b, []byte(testAPIKey)) {
		t.Error("the plan file holds the API key")
	}

	// The API's answers move on; the apply records what the plan saw.
	h.api.SetResults(imgA, -1, fakeHits("A9")...)
	h.api.ResetRequests()
	code, rep, errOut := h.report("apply", h.path("p.plan"))
	if code != exitOK {
		t.Fatalf("apply FILE: exit %d\n%s", code, errOut)
	}
	for _, ep := range h.endpoints() {
		switch ep {
		case fake.EndpointSearchSingle, fake.EndpointSearchMultiple, fake.EndpointUpload:
			t.Errorf("apply FILE called %s: the plan's answers are applied without asking again", ep)
		}
	}
	if got := h.count(fake.EndpointReportCreate); got != 1 {
		t.Errorf("apply FILE created %d jobs, want the one the plan listed", got)
	}
	if rep.Command != "apply" {
		t.Errorf("the change report's command is %q, want apply", rep.Command)
	}
	if alpha := searchByName(t, rep, "alpha"); !reflect.DeepEqual(pns(alpha.New), []string{"A4"}) || alpha.Hits != 3 {
		t.Errorf("apply FILE's alpha: %+v; want A4 new, 3 hits, as planned", alpha)
	}
	if got := reportByName(t, rep, "cn1").Status; got != report.ReportSubmitted {
		t.Errorf("the report is %s, want submitted", got)
	}
	if _, ok := h.state().Searches["alpha"].Hits["A4"]; !ok {
		t.Error("the state does not record the hit the plan saw")
	}

	// Applied once: the state moved, and the plan with it is spent.
	code, _, errOut = h.run(context.Background(), "apply", h.path("p.plan"))
	if code != exitError || !strings.Contains(errOut, "the state moved") {
		t.Errorf("a second apply of the plan: exit %d\n%s", code, errOut)
	}
}

// TestSavedPlanRefusals: each way a plan stops applying leaves the state
// byte-identical and calls nothing.
func TestSavedPlanRefusals(t *testing.T) {
	cases := []struct {
		name   string
		before func(h *harness)
		args   []string
		want   string
	}{
		{"moved state", func(h *harness) {
			if code, _, errOut := h.apply("--target", "alpha"); code != exitOK {
				t.Fatalf("apply: exit %d\n%s", code, errOut)
			}
		}, nil, "the state moved: it is at serial 2, the plan was made on serial 1"},
		{"edited spec", func(h *harness) {
			h.writeSpec(searchesAndReport + "# reviewed\n")
		}, nil, "the spec " + "%SPEC%" + " changed since the plan"},
		{"decisions file", func(h *harness) {
			if err := os.WriteFile(h.path("patwatch.decisions.yaml"), []byte("version: 1\ndecisions: {}\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, nil, "the decisions file %DIR%/patwatch.decisions.yaml was created since the plan"},
		{"old plan", func(h *harness) { h.clock.Advance(25 * time.Hour) }, nil,
			"it was made 1d1h ago, more than --max-plan-age allows (1d)"},
		{"younger than asked", func(h *harness) { h.clock.Advance(3 * time.Hour) }, []string{"--max-plan-age", "2h"},
			"it was made 3h ago, more than --max-plan-age allows (2h)"},
		{"another state", nil, []string{"--state", "%DIR%/other.state.json"}, "it was made on the state %DIR%/patwatch.state.json, not %DIR%/other.state.json"},
		{"a selection", nil, []string{"--target", "alpha"}, "--target cannot be given with a saved plan"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := savedPlanHarness(t)
			h.savePlan()
			if c.before != nil {
				c.before(h)
			}
			stateBefore := h.stateBytes()
			h.api.ResetRequests()
			args := []string{"apply", h.path("p.plan")}
			for _, a := range c.args {
				args = append(args, strings.ReplaceAll(a, "%DIR%", h.dir))
			}
			code, _, errOut := h.run(context.Background(), args...)
			want := strings.NewReplacer("%DIR%", h.dir, "%SPEC%", h.path("patwatch.yaml")).Replace(c.want)
			if code != exitError || !strings.Contains(errOut, want) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 1 and %q", code, errOut, want)
			}
			if got := h.stateBytes(); !bytes.Equal(got, stateBefore) {
				t.Error("a refused plan changed the state")
			}
			if reqs := h.api.Requests(); len(reqs) > 0 {
				t.Errorf("a refused plan called the API: %v", h.endpoints())
			}
		})
	}
}

func TestApplyOfAFileThatIsNoPlan(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.writeSpec(twoSearches)
	h.api.SetResults(imgA, -1, fakeHits("A1")...)
	h.api.SetResults(imgB, -1, fakeHits("B1")...)
	if code, _, errOut := h.run(context.Background(), "plan", "--format", "json", "--out", h.path("plan.json")); code != exitOK {
		t.Fatalf("plan: exit %d\n%s", code, errOut)
	}
	if code, _, errOut := h.run(context.Background(), "plan", "--format", "markdown", "--out", h.path("plan.md")); code != exitOK {
		t.Fatalf("plan: exit %d\n%s", code, errOut)
	}
	if code, _, errOut := h.run(context.Background(), "apply"); code != exitOK {
		t.Fatalf("apply: exit %d\n%s", code, errOut)
	}
	stateBefore := h.stateBytes()
	for file, what := range map[string]string{
		"plan.json":           "a change report, not a saved plan: write one with plan --save",
		"plan.md":             "a change report, not a saved plan: write one with plan --save",
		"patwatch.state.json": "a state file, not a saved plan: write one with plan --save",
	} {
		h.api.ResetRequests()
		code, _, errOut := h.run(context.Background(), "apply", h.path(file))
		if code != exitError || !strings.Contains(errOut, h.path(file)+" is "+what) {
			t.Errorf("apply %s: exit %d\n%s\nwant %q", file, code, errOut, what)
		}
		if len(h.api.Requests()) > 0 {
			t.Errorf("apply %s called the API", file)
		}
	}
	if !bytes.Equal(h.stateBytes(), stateBefore) {
		t.Error("the state changed")
	}
}

// TestSavedPlanCallsCountAgainstTheBudget: the plan writes nothing, so the
// apply of it counts the plan's calls against the day's budget with its own.
func TestSavedPlanCallsCountAgainstTheBudget(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.writeSpec(strings.Replace(searchesAndReport, "version: 1\n", "version: 1\napi:\n  max_calls_per_day: 100\n", 1))
	h.api.SetResults(imgA, -1, fakeHits("A1")...)
	h.api.SetResults(imgB, -1, fakeHits("B1")...)
	if code, _, errOut := h.apply("--target", "alpha"); code != exitOK {
		t.Fatalf("apply: exit %d\n%s", code, errOut)
	}
	before := h.state().Budget.Calls
	planned := h.savePlan()
	code, applied, errOut := h.report("apply", h.path("p.plan"))
	if code != exitOK {
		t.Fatalf("apply FILE: exit %d\n%s", code, errOut)
	}
	want := before + *planned.Calls.Made + *applied.Calls.Made
	if got := h.state().Budget.Calls; got != want || *applied.Calls.Made != 1 {
		t.Errorf("the day's count is %d after apply FILE made %d calls, want %d: %d before, %d by the plan, the apply's own",
			got, *applied.Calls.Made, want, before, *planned.Calls.Made)
	}
}

// TestSavedPlanOnEveryKindOfState: a plan saved on a database state holds
// its URL without the password, and applies with $PATWATCH_STATE (which
// holds it); refused once the state moved.
func TestSavedPlanOnEveryKindOfState(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			h := newHarness(t, fake.Options{})
			h.useStore(kind)
			h.writeSpec(searchesAndReport)
			h.api.SetResults(imgA, -1, fakeHits("A1")...)
			h.api.SetResults(imgB, -1, fakeHits("B1")...)
			if code, _, errOut := h.apply("--target", "alpha", "--target", "beta"); code != exitOK {
				t.Fatalf("apply: exit %d\n%s", code, errOut)
			}
			h.api.SetResults(imgA, -1, fakeHits("A1", "A2")...)
			h.savePlan()
			plan, _ := os.ReadFile(h.path("p.plan"))
			h.checkNoPassword(string(plan))
			h.api.ResetRequests()
			code, rep, errOut := h.report("apply", h.path("p.plan"))
			if code != exitOK || !reflect.DeepEqual(pns(searchByName(t, rep, "alpha").New), []string{"A2"}) {
				t.Fatalf("apply FILE: exit %d, %+v\n%s", code, rep.Searches, errOut)
			}
			if h.count(fake.EndpointSearchSingle) != 0 {
				t.Error("apply FILE searched again")
			}
			h.checkNoPassword(errOut)
			code, _, errOut = h.run(context.Background(), "apply", h.path("p.plan"))
			if code != exitError || !strings.Contains(errOut, "the state moved") {
				t.Errorf("the plan applied twice: exit %d\n%s", code, errOut)
			}
		})
	}
}
