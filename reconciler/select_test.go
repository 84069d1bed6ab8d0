package reconciler

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patwatch/patwatch/internal/patsnap"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

// runSelected runs r over sel and checks that the recorded state was left
// as it was.
func runSelected(t *testing.T, r *Reconciler, mode Mode, desired *spec.Spec, recorded *state.State, sel Selection) *Outcome {
	t.Helper()
	before := snapshotState(t, recorded)
	out := r.Run(context.Background(), NewScope(mode, desired, recorded, sel, r.now(), r.StateDir))
	if after := snapshotState(t, recorded); after != before {
		t.Errorf("Run modified the recorded state:\nbefore %s\nafter  %s", before, after)
	}
	return out
}

func snapshotState(t *testing.T, st *state.State) string {
	t.Helper()
	b, err := json.Marshal(st) // the format 1 fields
	if err != nil {
		t.Fatal(err)
	}
	out := string(b)
	for _, name := range slices.Sorted(maps.Keys(st.Searches)) {
		out += " " + name + "@" + st.Searches[name].RefreshedAt.String()
	}
	return out
}

func recordedSearch(fp string, pns ...string) *state.Search {
	s := &state.Search{Fingerprint: fp, BaselineAt: runNow.Add(-48 * time.Hour).Truncate(time.Second), Hits: map[string]*state.Hit{}}
	for _, pn := range pns {
		s.Hits[pn] = &state.Hit{FirstSeen: s.BaselineAt, Title: "t " + pn}
	}
	return s
}

func reportChangeByName(t *testing.T, rep *report.ChangeReport, name string) report.ReportChange {
	t.Helper()
	for _, r := range rep.Reports {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no report %q in the change report: %+v", name, rep.Reports)
	return report.ReportChange{}
}

// TestRunSelectedLeavesWhatIsNotSelected: entries outside --target or inside
// --exclude make no call, keep their very records, and are reported skipped;
// a removed entry is retired only when its name is selected.
func TestRunSelectedLeavesWhatIsNotSelected(t *testing.T) {
	recorded := newState(map[string]*state.Search{
		"a":    recordedSearch("fp-a", "A1"),
		"b":    recordedSearch("fp-b", "B1", "B2"),
		"gone": recordedSearch("fp-gone", "G1"),
	}, map[string]*state.Report{
		"r": {PatentNumber: "CN1B", Format: "pdf", Logo: true, JobID: "7", Status: state.ReportPending, SubmittedAt: runNow.Add(-time.Hour).Truncate(time.Second)},
	})
	desired := &spec.Spec{
		Searches: []spec.Search{urlSearch("a"), urlSearch("b")},
		Reports:  []spec.Report{{Name: "r", PatentNumber: "CN1B", Format: "pdf", Logo: true}},
	}
	cases := []struct {
		name        string
		sel         Selection
		calls       []string
		skipped     []string // searches and reports, in report order
		removedGone bool
	}{
		{"target one search", Selection{Target: []string{"b"}}, []string{"search [http://img/b]"}, []string{"a", "gone", "r"}, false},
		{"target a report", Selection{Target: []string{"r"}}, []string{"status 7"}, []string{"a", "b", "gone"}, false},
		{"target a removal", Selection{Target: []string{"gone"}}, nil, []string{"a", "b", "r"}, true},
		{"exclude", Selection{Exclude: []string{"a", "r"}}, []string{"search [http://img/b]"}, []string{"a", "r"}, true},
		{"targeted, nothing", Selection{Targeted: true, Reason: "untouched"}, nil, []string{"a", "b", "gone", "r"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			api := &fakeAPI{
				search: answers(map[string][]string{"a": {"A1", "A9"}, "b": {"B1"}}),
				status: func(string) (*patsnap.ReportStatus, error) {
					return &patsnap.ReportStatus{JobStatus: patsnap.JobExporting}, nil
				},
			}
			r := newTestReconciler(t, api)
			out := runSelected(t, r, ModeApply, desired, recorded, c.sel)
			if got := api.Calls(); !reflect.DeepEqual(got, c.calls) {
				t.Errorf("calls %q, want %q", got, c.calls)
			}
			var skipped []string
			for _, s := range out.Report.Searches {
				if s.Status == report.StatusSkipped {
					skipped = append(skipped, s.Name)
					if c.sel.Reason != "" && s.Reason != c.sel.Reason {
						t.Errorf("search %s skipped for %q, want %q", s.Name, s.Reason, c.sel.Reason)
					}
					if want := len(recorded.Searches[s.Name].Hits); s.Hits != want {
						t.Errorf("skipped search %s reports %d hits, want the %d recorded", s.Name, s.Hits, want)
					}
				}
			}
			for _, rc := range out.Report.Reports {
				if rc.Status == report.ReportSkipped {
					skipped = append(skipped, rc.Name)
					if rc.JobID != "7" {
						t.Errorf("skipped report %+v does not show its recorded job", rc)
					}
				}
			}
			if !reflect.DeepEqual(skipped, c.skipped) {
				t.Errorf("skipped %q, want %q", skipped, c.skipped)
			}
			for _, name := range c.skipped {
				if rec, ok := recorded.Searches[name]; ok && out.State.Searches[name] != rec {
					t.Errorf("the record of skipped search %s was not carried over as it was", name)
				}
				if rec, ok := recorded.Reports[name]; ok && out.State.Reports[name] != rec {
					t.Errorf("the record of skipped report %s was not carried over as it was", name)
				}
			}
			_, kept := out.State.Searches["gone"]
			if kept == c.removedGone {
				t.Errorf("removed search kept in the live state: %v, want %v", kept, !c.removedGone)
			}
			if c.removedGone && searchByName(t, out.Report, "gone").Status != report.StatusRemoved {
				t.Errorf("the selected removal was not reported removed: %+v", out.Report.Searches)
			}
			// The change report keeps the spec's order, removals last.
			var order []string
			for _, s := range out.Report.Searches {
				order = append(order, s.Name)
			}
			if want := []string{"a", "b", "gone"}; !reflect.DeepEqual(order, want) {
				t.Errorf("searches in the report %q, want %q", order, want)
			}
		})
	}
}

// TestRunSelectedKeepsARenameTogether: a rename pairs a new name with one
// gone from the spec; selecting either selects both, leaving either out
// leaves out both, so that a targeted run never splits a rename into a
// removal and a new baseline.
func TestRunSelectedKeepsARenameTogether(t *testing.T) {
	recorded := newState(map[string]*state.Search{
		"old":   recordedSearch("fp-new", "A1"),
		"other": recordedSearch("fp-other", "O1"),
	}, nil)
	renamed := urlSearch("new")
	desired := &spec.Spec{Searches: []spec.Search{renamed, urlSearch("other")}}
	api := &fakeAPI{search: answers(map[string][]string{"new": {"A1"}, "other": {"O1"}})}

	for _, target := range []string{"new", "old"} {
		out := runSelected(t, newTestReconciler(t, api), ModeApply, desired, recorded, Selection{Target: []string{target}})
		ch := searchByName(t, out.Report, "new")
		if ch.RenamedFrom != "old" || ch.Status != report.StatusOK {
			t.Errorf("--target %s: %+v; want the rename from old carried out", target, ch)
		}
		if _, ok := out.State.Searches["old"]; ok {
			t.Errorf("--target %s: the old name is still recorded", target)
		}
		if out.State.Searches["other"] != recorded.Searches["other"] {
			t.Errorf("--target %s: the untargeted search's record changed", target)
		}
	}

	out := runSelected(t, newTestReconciler(t, api), ModeApply, desired, recorded, Selection{Target: []string{"other"}})
	if out.State.Searches["old"] != recorded.Searches["old"] || out.State.Searches["new"] != nil {
		t.Errorf("a rename left out was split: %v", out.State.Searches)
	}
	if ch := searchByName(t, out.Report, "old"); ch.Status != report.StatusSkipped {
		t.Errorf("the old name of a rename left out: %+v, want skipped", ch)
	}
}

// TestRunSelectedDueOnly: with DueOnly, a search with its own interval is
// refreshed once the interval (less the tolerance) has passed since its
// recorded refresh, and the refresh is recorded; a search without one is
// always refreshed, and gets no refresh recorded.
func TestRunSelectedDueOnly(t *testing.T) {
	weekly := urlSearch("weekly")
	weekly.Interval = 7 * 24 * time.Hour
	plain := urlSearch("plain")
	desired := &spec.Spec{Searches: []spec.Search{weekly, plain}}
	rec := func(refreshedAgo time.Duration) *state.State {
		w := recordedSearch("fp-weekly", "W1")
		w.RefreshedAt = runNow.Add(-refreshedAgo).Truncate(time.Second)
		return newState(map[string]*state.Search{"weekly": w, "plain": recordedSearch("fp-plain", "P1")}, nil)
	}
	api := &fakeAPI{search: answers(map[string][]string{"weekly": {"W1"}, "plain": {"P1"}})}
	cases := []struct {
		ago     time.Duration
		dueOnly bool
		due     bool
	}{
		{24 * time.Hour, true, false},
		{6*24*time.Hour + 15*time.Hour, true, false}, // 95 % of the week is 6 d 15.6 h
		{6*24*time.Hour + 16*time.Hour, true, true},
		{8 * 24 * time.Hour, true, true},
		{24 * time.Hour, false, true}, // without --due-only every search runs
	}
	for _, c := range cases {
		recorded := rec(c.ago)
		out := runSelected(t, newTestReconciler(t, api), ModeApply, desired, recorded, Selection{DueOnly: c.dueOnly})
		ch := searchByName(t, out.Report, "weekly")
		if got := ch.Status != report.StatusSkipped; got != c.due {
			t.Errorf("refreshed %v ago, due-only %v: %+v; refreshed: %v, want %v", c.ago, c.dueOnly, ch, got, c.due)
		}
		w := out.State.Searches["weekly"]
		switch {
		case c.due && !w.RefreshedAt.Equal(runNow.Truncate(time.Second)):
			t.Errorf("refreshed %v ago: refreshed_at %v, want the run's start", c.ago, w.RefreshedAt)
		case !c.due && w != recorded.Searches["weekly"]:
			t.Errorf("refreshed %v ago: a search not due changed its record", c.ago)
		case !c.due && !strings.Contains(ch.Reason, "not due"):
			t.Errorf("skipped for %q; want it to say it is not due", ch.Reason)
		}
		if p := out.State.Searches["plain"]; p != recorded.Searches["plain"] || searchByName(t, out.Report, "plain").Status != report.StatusOK {
			t.Errorf("the search without its own interval: %+v; want refreshed, its record unchanged (no refresh time)", p)
		}
	}
}

// TestRunSelectedRefreshedAtOnlyWithAnInterval: refreshed_at is written for
// searches with their own interval, and cleared from one that lost it, so
// that a no-change run of an ordinary spec shares every record.
func TestRunSelectedRefreshedAtOnlyWithAnInterval(t *testing.T) {
	lost := recordedSearch("fp-s", "A1")
	lost.RefreshedAt = runNow.Add(-time.Hour).Truncate(time.Second)
	recorded := newState(map[string]*state.Search{"s": lost}, nil)
	api := &fakeAPI{search: answers(map[string][]string{"s": {"A1"}})}
	out := runSelected(t, newTestReconciler(t, api), ModeApply, &spec.Spec{Searches: []spec.Search{urlSearch("s")}}, recorded, Selection{})
	if got := out.State.Searches["s"]; !got.RefreshedAt.IsZero() {
		t.Errorf("refreshed_at %v kept for a search that has no interval any more", got.RefreshedAt)
	}
	again := runSelected(t, newTestReconciler(t, api), ModeApply, &spec.Spec{Searches: []spec.Search{urlSearch("s")}}, out.State, Selection{})
	if again.State.Searches["s"] != out.State.Searches["s"] {
		t.Error("a no-change run of an ordinary search did not share its record")
	}
}

// TestRunSelectedBudget: under a daily budget the entries whose worst case
// no longer fits are errors that say so, keep their records and make no
// call; reports go first, and once one entry does not fit none after it
// runs. Removals cost nothing and happen.
func TestRunSelectedBudget(t *testing.T) {
	recorded := newState(map[string]*state.Search{
		"a":    recordedSearch("fp-a", "A1"),
		"b":    recordedSearch("fp-b", "B1"),
		"c":    recordedSearch("fp-c", "C1"),
		"gone": recordedSearch("fp-gone", "G1"),
	}, nil)
	big := urlSearch("b")
	big.MaxResults = 300 // three pages
	desired := &spec.Spec{
		Searches: []spec.Search{urlSearch("a"), big, urlSearch("c")},
		Reports:  []spec.Report{{Name: "r", PatentNumber: "CN1B", Format: "pdf", Logo: true}},
	}
	api := &fakeAPI{
		search: answers(map[string][]string{"a": {"A1"}, "b": {"B1"}, "c": {"C1"}}),
		create: func(patsnap.ReportRequest) (string, error) { return "42", nil },
	}
	// 10 a day, 7 made: 3 left, the report's job (1) and a (1) fit, b (3) does not, nor c after it.
	out := runSelected(t, newTestReconciler(t, api), ModeApply, desired, recorded, Selection{Budget: &Budget{Limit: 10, Used: 7}})
	if got, want := api.Calls(), []string{"create CN1B pdf logo=true", "search [http://img/a]"}; !reflect.DeepEqual(got, want) {
		t.Errorf("calls %q, want %q", got, want)
	}
	for _, name := range []string{"b", "c"} {
		ch := searchByName(t, out.Report, name)
		if ch.Status != report.StatusError || !strings.Contains(ch.Error, "daily budget reached") || ch.Hits != 1 {
			t.Errorf("search %s: %+v; want an error saying the daily budget is reached, its hit kept", name, ch)
		}
		if out.State.Searches[name] != recorded.Searches[name] {
			t.Errorf("search %s left out by the budget changed its record", name)
		}
	}
	if ch := searchByName(t, out.Report, "gone"); ch.Status != report.StatusRemoved {
		t.Errorf("a removal under a spent budget: %+v, want removed", ch)
	}
	if out.Report.Calls.Estimated != 2 {
		t.Errorf("estimated %d calls, want the 2 of what fits", out.Report.Calls.Estimated)
	}

	// None left: everything that calls waits.
	api = &fakeAPI{}
	out = runSelected(t, newTestReconciler(t, api), ModeApply, desired, recorded, Selection{Budget: &Budget{Limit: 10, Used: 10}})
	if len(api.Calls()) != 0 {
		t.Errorf("calls with the budget spent: %q", api.Calls())
	}
	if rc := reportChangeByName(t, out.Report, "r"); rc.Status != report.ReportError || !strings.Contains(rc.Error, "daily budget reached") {
		t.Errorf("report with the budget spent: %+v", rc)
	}
}

func TestSelectionCheckSuggests(t *testing.T) {
	desired := &spec.Spec{Searches: []spec.Search{urlSearch("phone-designs")}, Reports: []spec.Report{{Name: "cn108977442b"}}}
	recorded := newState(map[string]*state.Search{"retired-one": recordedSearch("x")}, nil)
	for _, c := range []struct {
		sel     Selection
		err     string
		suggest string
	}{
		{Selection{Target: []string{"phone-designs", "cn108977442b", "retired-one"}}, "", ""},
		{Selection{Target: []string{"phone-desings"}}, "--target phone-desings", "phone-designs"},
		{Selection{Exclude: []string{"cn108977442"}}, "--exclude cn108977442", "cn108977442b"},
		{Selection{Target: []string{"zzz"}}, "--target zzz", ""},
	} {
		err := c.sel.Check(desired, recorded)
		var ue *UnknownNameError
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%+v: %v", c.sel, err)
		case c.err == "":
		case !errors.As(err, &ue) || !strings.HasPrefix(err.Error(), c.err) || ue.Suggestion != c.suggest:
			t.Errorf("%+v: %v (suggestion %q); want %q… suggesting %q", c.sel, err, ue.Suggestion, c.err, c.suggest)
		case c.suggest != "" && !strings.Contains(ue.Hint(), "did you mean "+strings.Fields(c.err)[0]+" "+c.suggest):
			t.Errorf("hint %q", ue.Hint())
		}
	}
}

// TestSelectionCheckKnowsStandingAutos: the automatic report a report
// decision orders is a known name before any run records it; an auto-
// name nothing orders is not.
func TestSelectionCheckKnowsStandingAutos(t *testing.T) {
	desired := &spec.Spec{Searches: []spec.Search{urlSearch("hinges")},
		Decisions: &spec.Decisions{ByPatent: map[string]spec.Decision{"CN215812345U": {Verdict: spec.VerdictReport}}}}
	recorded := newState(nil, nil)
	if err := (Selection{Target: []string{"auto-cn215812345u"}}).Check(desired, recorded); err != nil {
		t.Errorf("the ordered report: %v", err)
	}
	var ue *UnknownNameError
	if err := (Selection{Exclude: []string{"auto-cn999u"}}).Check(desired, recorded); !errors.As(err, &ue) {
		t.Errorf("a report nothing orders: %v, want an *UnknownNameError", err)
	}
}
