package main

import (
	"context"
	"os"
	"strings"
	"testing"

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
