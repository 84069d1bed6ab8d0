package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/patwatch/patwatch/internal/patsnap/fake"
)

// writeDecisions writes the harness spec's decisions file.
func (h *harness) writeDecisions(yaml string) {
	h.t.Helper()
	if err := os.WriteFile(h.path("patwatch.decisions.yaml"), []byte(strings.TrimLeft(yaml, "\n")), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

// TestInvalidDecisionsFileLocatedByLine: validate lists the decisions
// file's problems as FILE:LINE:COL with hints, and plan and apply refuse
// to start, calling nothing.
func TestInvalidDecisionsFileLocatedByLine(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.writeSpec(twoSearches)
	h.writeDecisions(`
version: 1
decisions:
  CN305104902S:
    verdict: not_relevent
  CN305104903S:
    verdict: relevant
    searches: [alpah]
`)
	code, out, errOut := h.run(context.Background(), "validate", "-f", h.path("patwatch.yaml"))
	decisions := h.path("patwatch.decisions.yaml")
	for _, want := range []string{
		decisions + `:4:14: decisions.CN305104902S.verdict: must be one of "not_relevant", "relevant", "report", not "not_relevent"`,
		"patwatch: hint: did you mean not_relevant?",
		decisions + `:7:16: decisions.CN305104903S.searches[0]: the spec has no search named "alpah"`,
		"patwatch: hint: did you mean alpha?",
		"patwatch: error: 2 problems in " + h.path("patwatch.yaml"),
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("validate: missing %q in:\n%s", want, errOut)
		}
	}
	if code != exitError || out != "" {
		t.Errorf("validate: exit %d, stdout %q; want 1 and nothing", code, out)
	}
	for _, cmd := range []string{"plan", "apply"} {
		if code, _, errOut := h.run(context.Background(), cmd); code != exitError || !strings.Contains(errOut, decisions+":4:14:") {
			t.Errorf("%s: exit %d, stderr:\n%s\nwant 1 and the decisions file's problem", cmd, code, errOut)
		}
	}
	if n := len(h.api.Requests()); n != 0 {
		t.Errorf("%d API calls with an invalid decisions file, want none", n)
	}
}

func TestValidateCountsDecisions(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.writeSpec(twoSearches)
	h.writeDecisions("version: 1\ndecisions:\n  CN1S: {verdict: relevant}\n  CN2S: {verdict: not_relevant}\n")
	code, out, errOut := h.run(context.Background(), "validate", "-f", h.path("patwatch.yaml"))
	if code != exitOK || out != "ok: 2 searches, 0 reports, 2 decisions\n" {
		t.Errorf("validate: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestSchemaDecisions(t *testing.T) {
	h := newHarness(t, fake.Options{})
	code, out, _ := h.run(context.Background(), "schema", "--decisions")
	if code != exitOK || !strings.Contains(out, `"$id": "https://patwatch.invalid/schema/decisions.schema.json"`) {
		t.Errorf("schema --decisions: exit %d, %.200s", code, out)
	}
}

// TestWatchReactsToADecisionsSave: saving the decisions file makes watch
// run again at once, calling nothing; an invalid save is logged and the
// last good decisions stay in force.
func TestWatchReactsToADecisionsSave(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.api.SetResults(imgA, -1, fakeHits("CN0000001S")...)
	h.writeSpec(watchSpec)
	w := startWatch(t, h)
	w.waitRuns(1)
	calls := len(h.api.Requests())

	h.writeDecisions("version: 1\ndecisions:\n  CN0000001S: {verdict: relevant}\n")
	runs := w.waitRuns(2)
	if got := runs[1]; got.Trigger != "spec changed" || got.Calls.Made == nil || *got.Calls.Made != 0 {
		t.Errorf("the run after the decisions save: trigger %q, calls %+v; want spec changed and no call", got.Trigger, got.Calls)
	}
	h.writeDecisions("version: 1\ndecisions:\n  CN0000001S: {verdict: maybe}\n")
	waitFor(t, "the invalid decisions to be logged", func() bool {
		return strings.Contains(w.stderr.String(), "the last good spec stays in force")
	})
	if !strings.Contains(w.stderr.String(), "patwatch.decisions.yaml") {
		t.Errorf("the invalid decisions file is not named in the log:\n%s", w.stderr.String())
	}
	if n := len(h.api.Requests()); n != calls {
		t.Errorf("%d API calls after decisions saves, want none", n-calls)
	}
	if code := w.stop(); code != exitOK {
		t.Errorf("watch exit %d", code)
	}
}

// TestNotRelevantHitIsNeverReported: a hit decided not_relevant is recorded
// but never reported new, dropped, or new again when it returns, and each
// run counts it in suppressed; a relevant hit carries its decision.
func TestNotRelevantHitIsNeverReported(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.writeSpec(twoSearches)
	h.api.SetResults(imgA, -1, fakeHits("CN0000001S")...)
	h.api.SetResults(imgB, -1, fakeHits("CN0000009S")...)
	if code, _, stderr := h.apply(); code != exitOK {
		t.Fatalf("baseline: exit %d\n%s", code, stderr)
	}
	h.writeDecisions(`
version: 1
decisions:
  CN0000002S: {verdict: not_relevant, note: kitchen scale}
  CN0000003S: {verdict: relevant}
`)
	steps := []struct {
		hits             []string
		new, dropped     []string
		suppressed, held int
	}{
		{[]string{"CN0000001S", "CN0000002S", "CN0000003S"}, []string{"CN0000003S"}, nil, 1, 3}, // arrives
		{[]string{"CN0000001S", "CN0000003S"}, nil, nil, 1, 2},                                  // drops
		{[]string{"CN0000001S", "CN0000002S", "CN0000003S"}, nil, nil, 1, 3},                    // returns
	}
	for i, st := range steps {
		h.api.SetResults(imgA, -1, fakeHits(st.hits...)...)
		code, rep, stderr := h.apply()
		if code != exitOK {
			t.Fatalf("step %d: exit %d\n%s", i, code, stderr)
		}
		alpha := searchByName(t, rep, "alpha")
		if got := pns(alpha.New); strings.Join(got, ",") != strings.Join(st.new, ",") {
			t.Errorf("step %d: new %v, want %v", i, got, st.new)
		}
		if len(alpha.Dropped) != len(st.dropped) || alpha.Suppressed != st.suppressed || alpha.Hits != st.held {
			t.Errorf("step %d: dropped %v, suppressed %d, hits %d; want %v, %d, %d", i, pns(alpha.Dropped), alpha.Suppressed, alpha.Hits, st.dropped, st.suppressed, st.held)
		}
		for _, hit := range alpha.New {
			if hit.PatentPN == "CN0000003S" && hit.Decision != "relevant" {
				t.Errorf("step %d: the relevant hit's decision is %q", i, hit.Decision)
			}
		}
		if beta := searchByName(t, rep, "beta"); beta.Suppressed != 0 {
			t.Errorf("step %d: beta suppressed %d, want 0", i, beta.Suppressed)
		}
	}
	if _, ok := h.state().Searches["alpha"].Hits["CN0000002S"]; !ok {
		t.Error("the silenced hit is not recorded in the state")
	}
}

// TestDecisionScopedToSearches: a decision with searches holds in those
// searches only; the same patent elsewhere is reported as usual.
func TestDecisionScopedToSearches(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.writeSpec(twoSearches)
	h.api.SetResults(imgA, -1, fakeHits("CN0000001S")...)
	h.api.SetResults(imgB, -1, fakeHits("CN0000009S")...)
	if code, _, stderr := h.apply(); code != exitOK {
		t.Fatalf("baseline: exit %d\n%s", code, stderr)
	}
	h.writeDecisions("version: 1\ndecisions:\n  CN0000005S:\n    verdict: not_relevant\n    searches: [alpha]\n")
	h.api.SetResults(imgA, -1, fakeHits("CN0000001S", "CN0000005S")...)
	h.api.SetResults(imgB, -1, fakeHits("CN0000009S", "CN0000005S")...)
	code, rep, stderr := h.apply("--detailed-exitcode")
	if code != exitChanged {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	alpha, beta := searchByName(t, rep, "alpha"), searchByName(t, rep, "beta")
	if len(alpha.New) != 0 || alpha.Suppressed != 1 {
		t.Errorf("alpha: new %v, suppressed %d; want none and 1", pns(alpha.New), alpha.Suppressed)
	}
	if got := pns(beta.New); len(got) != 1 || got[0] != "CN0000005S" || beta.New[0].Decision != "" || beta.Suppressed != 0 {
		t.Errorf("beta: new %v (decision %+v), suppressed %d; want CN0000005S without a decision", got, beta.New, beta.Suppressed)
	}
}

// TestNotificationsLeaveSilencedHitsOut: a run whose only new hit is
// silenced sends nothing; a relevant one is sent.
func TestNotificationsLeaveSilencedHitsOut(t *testing.T) {
	h, rcv := notifyHarness(t) // after it: A4 new, A3 dropped
	h.writeDecisions("version: 1\ndecisions:\n  CN0000004S: {verdict: not_relevant}\n")
	h.api.SetResults(imgA, -1, fakeHits("A1", "A2", "A3")...) // back to the baseline: nothing new
	if code, _, stderr := h.apply(); code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	sent := len(rcv.accepted())
	h.api.SetResults(imgA, -1, fakeHits("A1", "A2", "A3", "CN0000004S")...)
	code, rep, stderr := h.apply()
	if code != exitOK || searchByName(t, rep, "alpha").Suppressed != 1 {
		t.Fatalf("exit %d, alpha %+v\n%s", code, searchByName(t, rep, "alpha"), stderr)
	}
	if n := len(rcv.accepted()); n != sent {
		t.Errorf("a run whose only new hit was silenced sent %d messages", n-sent)
	}
	h.api.SetResults(imgA, -1, fakeHits("A1", "A2", "A3", "CN0000004S", "CN0000006S")...)
	if code, _, stderr := h.apply(); code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	got := rcv.accepted()
	if len(got) != sent+1 {
		t.Fatalf("%d messages after a new hit, want %d", len(got), sent+1)
	}
	var pns []any
	for _, e := range got[len(got)-1].msg.Events {
		pns = append(pns, e["patent_pn"])
	}
	if len(pns) != 1 || pns[0] != "CN0000006S" {
		t.Errorf("the last message's hits: %v, want CN0000006S alone", pns)
	}
}

// TestMarkKeepsComments: mark edits the decisions file as a person would,
// and the next run follows it.
func TestMarkKeepsComments(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.clock.Set(fixedTime)
	h.writeSpec(twoSearches)
	h.writeDecisions(`
# Reviewed in PR 12.
version: 1
decisions:
  # The scale again.
  CN0000002S:
    verdict: relevant # for now
`)
	code, out, errOut := h.run(context.Background(), "mark", "-f", h.path("patwatch.yaml"), "CN0000002S", "CN0000007S",
		"--as", "not_relevant", "--note", "kitchen scale", "--by", "alice", "--search", "alpha")
	if code != exitOK {
		t.Fatalf("mark: exit %d\n%s", code, errOut)
	}
	wantOut := "CN0000002S: not_relevant (was relevant)\nCN0000007S: not_relevant\n" + h.path("patwatch.decisions.yaml") + " written\n"
	if out != wantOut {
		t.Errorf("mark printed:\n%s\nwant:\n%s", out, wantOut)
	}
	got, _ := os.ReadFile(h.path("patwatch.decisions.yaml"))
	want := `# Reviewed in PR 12.
version: 1
decisions:
  # The scale again.
  CN0000002S:
    verdict: not_relevant # for now
    note: kitchen scale
    by: alice
    at: 2026-12-01
    searches: [alpha]
  CN0000007S:
    verdict: not_relevant
    note: kitchen scale
    by: alice
    at: 2026-12-01
    searches: [alpha]
`
	if string(got) != want {
		t.Errorf("the decisions file:\n%s\nwant:\n%s", got, want)
	}
	if code, out, errOut := h.run(context.Background(), "mark", "-f", h.path("patwatch.yaml"), "CN0000007S", "--as", "none"); code != exitOK || !strings.Contains(out, "CN0000007S: decision removed (was not_relevant)") {
		t.Errorf("mark --as none: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := h.run(context.Background(), "validate", "-f", h.path("patwatch.yaml")); code != exitOK {
		t.Errorf("validate after mark: exit %d\n%s", code, errOut)
	}
}

// TestMarkRefusesBadInput: bad input is refused with every problem and the
// file untouched.
func TestMarkRefusesBadInput(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.writeSpec(twoSearches)
	const before = "version: 1\ndecisions:\n  CN0000002S: {verdict: relevant} # keep me\n"
	h.writeDecisions(before)
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"CN0000002S", "--as", "not-relevant"}, []string{`--as: unknown verdict "not-relevant"`, "hint: use not_relevant, relevant, report or none"}},
		{[]string{"cn0000002s", "CN0000003S", "--as", "report", "--search", "alpah"}, []string{
			`"cn0000002s" is not a publication number as the hits give it: write it in upper case`, "hint: write CN0000002S",
			`the spec has no search named "alpah"`, "hint: did you mean alpha?",
			"CN0000003S is a design patent; PatSnap's value reports do not cover design patents",
			"error: nothing was written"}},
		{[]string{"--as", "relevant"}, []string{"no patent number given"}},
		{[]string{"CN0000002S"}, []string{"--as is required"}},
	} {
		code, out, errOut := h.run(context.Background(), append([]string{"mark", "-f", h.path("patwatch.yaml")}, c.args...)...)
		if code != exitError || out != "" {
			t.Errorf("mark %v: exit %d, stdout %q; want 1 and nothing", c.args, code, out)
		}
		for _, w := range c.want {
			if !strings.Contains(errOut, w) {
				t.Errorf("mark %v: missing %q in:\n%s", c.args, w, errOut)
			}
		}
		if got, _ := os.ReadFile(h.path("patwatch.decisions.yaml")); string(got) != before {
			t.Errorf("mark %v changed the file:\n%s", c.args, got)
		}
	}
}

// inboxHarness has two searches through three applies: a baseline, then
// CN0000002S (decided relevant), CN0000003S (in both searches) and
// CN0000004S new, then CN0000005S new in beta.
func inboxHarness(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t, fake.Options{})
	h.clock.Set(fixedTime)
	h.writeSpec(twoSearches + "links:\n  patent: \"https://worldwide.espacenet.com/patent/search?q=pn%3D{patent_pn}\"\n")
	h.writeDecisions("version: 1\ndecisions:\n  CN0000002S: {verdict: relevant}\n")
	steps := [][2][]string{
		{{"CN0000001S"}, {"CN0000009S"}},
		{{"CN0000001S", "CN0000002S", "CN0000003S"}, {"CN0000009S", "CN0000003S", "CN0000004S"}},
		{{"CN0000001S", "CN0000002S", "CN0000003S"}, {"CN0000009S", "CN0000003S", "CN0000004S", "CN0000005S"}},
	}
	for i, st := range steps {
		h.api.SetResults(imgA, -1, fakeHits(st[0]...)...)
		h.api.SetResults(imgB, -1, fakeHits(st[1]...)...)
		if code, _, stderr := h.apply(); code != exitOK {
			t.Fatalf("apply %d: exit %d\n%s", i, code, stderr)
		}
		h.clock.Advance(6 * time.Hour)
	}
	return h
}

// TestInboxAcrossTwoSearches: one entry per undecided patent reported new,
// with each search that holds it and its score, newest first.
func TestInboxAcrossTwoSearches(t *testing.T) {
	h := inboxHarness(t)
	code, out, errOut := h.run(context.Background(), "inbox", "-f", h.path("patwatch.yaml"), "--format", "json")
	if code != exitOK {
		t.Fatalf("inbox: exit %d\n%s", code, errOut)
	}
	var in struct {
		FormatVersion string `json:"format_version"`
		Hits          []struct {
			PatentPN  string `json:"patent_pn"`
			Title     string `json:"title"`
			FirstSeen string `json:"first_seen"`
			Link      string `json:"link"`
			Searches  []struct {
				Name  string  `json:"name"`
				Score float64 `json:"score"`
			} `json:"searches"`
		} `json:"hits"`
	}
	if err := json.Unmarshal([]byte(out), &in); err != nil {
		t.Fatalf("inbox JSON: %v\n%s", err, out)
	}
	var got []string
	for _, e := range in.Hits {
		line := e.PatentPN + " " + e.FirstSeen
		for _, s := range e.Searches {
			line += fmt.Sprintf(" %s:%v", s.Name, s.Score > 0)
		}
		got = append(got, line)
	}
	want := []string{
		"CN0000005S 2026-12-01T20:00:00Z beta:true",
		"CN0000003S 2026-12-01T14:00:00Z beta:true alpha:true", // best score first
		"CN0000004S 2026-12-01T14:00:00Z beta:true",
	}
	if in.FormatVersion != "1" || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("inbox:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if e := in.Hits[0]; e.Title != "Design CN0000005S" || e.Link != "https://worldwide.espacenet.com/patent/search?q=pn%3DCN0000005S" {
		t.Errorf("an entry's facts: %+v", e)
	}

	code, out, _ = h.run(context.Background(), "inbox", "-f", h.path("patwatch.yaml"))
	for _, w := range []string{"Inbox: 3 patents awaiting a decision", "CN0000003S  Design CN0000003S", "in beta (score 0.940), alpha (score 0.930)", "patwatch mark PATENT_PN"} {
		if code != exitOK || !strings.Contains(out, w) {
			t.Errorf("inbox text: exit %d, missing %q in:\n%s", code, w, out)
		}
	}
	// Decided, a patent leaves the inbox; in one search only, it stays for the other.
	h.run(context.Background(), "mark", "-f", h.path("patwatch.yaml"), "CN0000005S", "--as", "not_relevant")
	h.run(context.Background(), "mark", "-f", h.path("patwatch.yaml"), "CN0000003S", "--as", "relevant", "--search", "alpha")
	_, out, _ = h.run(context.Background(), "inbox", "-f", h.path("patwatch.yaml"), "--format", "json")
	if err := json.Unmarshal([]byte(out), &in); err != nil || len(in.Hits) != 2 || in.Hits[0].PatentPN != "CN0000003S" ||
		len(in.Hits[0].Searches) != 1 || in.Hits[0].Searches[0].Name != "beta" {
		t.Errorf("after the decisions: %v %+v", err, in.Hits)
	}
	if n := len(h.api.Requests()); n == 0 {
		t.Fatal("no API call at all: the harness did not run")
	}
}

// TestInboxTellsTheSpecFirst: the inbox reads its spec while the state
// loads, but an invalid decisions file is still the error it tells, by
// file and line, and the only one, even when the state named is missing.
func TestInboxTellsTheSpecFirst(t *testing.T) {
	h := inboxHarness(t)
	h.writeDecisions("version: 1\ndecisions:\n  CN0000003S: {verdict: maybe}\n")
	for _, args := range [][]string{
		{"inbox", "-f", h.path("patwatch.yaml")},
		{"inbox", "-f", h.path("patwatch.yaml"), "--state", h.path("absent.state.json")},
	} {
		code, out, errOut := h.run(context.Background(), args...)
		if code != exitError || out != "" || !strings.Contains(errOut, "patwatch.decisions.yaml:3:") ||
			strings.Contains(errOut, "absent.state.json") {
			t.Errorf("%v: exit %d\nstdout:\n%s\nstderr:\n%s", args, code, out, errOut)
		}
	}
}
