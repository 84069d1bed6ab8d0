package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patwatch/patwatch/internal/patsnap/fake"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/internal/runner"
	"github.com/patwatch/patwatch/state/filestore"
)

// TestSandboxQuickstart is the README's first command, run as a newcomer
// would: twice on examples/quickstart.yaml, with no credentials at all.
func TestSandboxQuickstart(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.envs = map[string]string{"PATWATCH_CACHE_DIR": t.TempDir()}
	b, err := os.ReadFile(filepath.Join("..", "..", "examples", "quickstart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	h.writeSpec(string(b))

	code, rep, stderr := h.apply("--sandbox", "--detailed-exitcode")
	if code != exitChanged {
		t.Fatalf("first run: exit %d\n%s", code, stderr)
	}
	for _, s := range rep.Searches {
		if s.Status != report.StatusBaseline || s.Hits == 0 {
			t.Errorf("first run: %+v; want a baseline with hits", s)
		}
	}
	if r := rep.Reports[0]; r.Status != report.ReportSubmitted {
		t.Errorf("first run: report %+v; want submitted", r)
	}

	code, rep, stderr = h.apply("--sandbox", "--detailed-exitcode")
	if code != exitChanged {
		t.Fatalf("second run: exit %d\n%s", code, stderr)
	}
	moved := 0
	for _, s := range rep.Searches {
		moved += len(s.New) + len(s.Dropped)
	}
	if moved == 0 {
		t.Errorf("the second sandbox run shows no new or dropped hit: %+v", rep.Searches)
	}
	if r := rep.Reports[0]; r.Status != report.ReportFinished {
		t.Errorf("second run: report %+v; want finished", r)
	}
	if _, err := os.Stat(h.path("reports/cn108977442b.pdf")); err != nil {
		t.Error(err)
	}
	if _, rep, _ = h.apply("--sandbox"); rep.Reports[0].Status != report.ReportReady {
		t.Errorf("third run: report %+v; want ready", rep.Reports[0])
	}

	// The simulated state is refused by a live run, and the other way round.
	h.envs["PATSNAP_API_KEY"] = testAPIKey
	h.envs["PATSNAP_BASE_URL"] = h.srv.URL
	code, _, stderr = h.run(t.Context(), "apply")
	if code != exitError || !strings.Contains(stderr, "written by --sandbox") {
		t.Errorf("a live run on the sandbox's state: exit %d\n%s", code, stderr)
	}
	os.Remove(filestore.AuxPath(h.path("patwatch.state.json"), runner.SandboxAux))
	code, _, stderr = h.run(t.Context(), "apply", "--sandbox")
	if code != exitError || !strings.Contains(stderr, "real watch list") {
		t.Errorf("a sandbox run on a real state: exit %d\n%s", code, stderr)
	}
}

// TestSandboxPlanWritesNothing checks that plan --sandbox neither advances
// the simulation nor writes anything.
func TestSandboxPlanWritesNothing(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.envs = map[string]string{"PATWATCH_CACHE_DIR": t.TempDir()}
	h.writeSpec(twoSearches)
	h.apply("--sandbox")
	before := h.files()
	_, first, _ := h.report("plan", "--sandbox")
	_, second, _ := h.report("plan", "--sandbox")
	if after := h.files(); len(after) != len(before) {
		t.Errorf("plan --sandbox wrote files: %v → %v", keys(before), keys(after))
	}
	for k, v := range before {
		if h.files()[k] != v {
			t.Errorf("plan --sandbox changed %s", k)
		}
	}
	if pns(first.Searches[0].New) == nil || strings.Join(pns(first.Searches[0].New), ",") != strings.Join(pns(second.Searches[0].New), ",") {
		t.Errorf("two plans disagree: %v vs %v", pns(first.Searches[0].New), pns(second.Searches[0].New))
	}
}
