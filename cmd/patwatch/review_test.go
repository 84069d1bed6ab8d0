package main

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/patwatch/patwatch/internal/patsnap/fake"
)

// git runs git in the harness's directory, failing the test on an error.
func (h *harness) git(args ...string) {
	h.t.Helper()
	cmd := exec.Command("git", append([]string{"-C", h.dir, "-c", "user.name=test", "-c", "user.email=test@example.com",
		"-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		h.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// TestPlanOfflineSaysWhatChanged: for a pull request's reviewer, an offline
// plan says how each query changed (from the spec's history in git, which
// holds the query the state's record was made with), what was renamed,
// and until when a removal is kept.
func TestPlanOfflineSaysWhatChanged(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	h := newHarness(t, fake.Options{})
	h.clock.Set(fixedTime)
	h.writeSpec(`
version: 1
searches:
  - name: alpha
    image: https://images.test/a.png
    patent_type: D
    model: 2
    filters:
      country: [US, EU]
  - name: beta
    image: https://images.test/b.png
    patent_type: D
    model: 1
  - name: gamma
    image: https://images.test/c.png
    patent_type: D
    model: 1
`)
	h.git("init", "-q")
	h.git("add", "patwatch.yaml")
	h.git("commit", "-q", "-m", "the watch list")
	if code, _, errOut := h.apply(); code != exitOK {
		t.Fatalf("apply: exit %d\n%s", code, errOut)
	}
	h.writeSpec(`
version: 1
searches:
  - name: alpha
    image: https://images.test/a.png
    patent_type: D
    model: 1
    filters:
      country: [US, EU, JP]
  - name: beta-renamed
    image: https://images.test/b.png
    patent_type: D
    model: 1
`)
	code, out, errOut := h.run(context.Background(), "plan", "--offline")
	if code != exitOK {
		t.Fatalf("plan --offline: exit %d\n%s", code, errOut)
	}
	until := fixedTime.Add(30 * 24 * time.Hour).Format(time.DateOnly)
	for _, want := range []string{
		"~ search alpha: query changed (model 2 → 1, filters.country +JP), apply rebaselines it",
		"~ search beta-renamed (renamed from beta): its 100 hits carried over",
		"- search gamma: removed from the spec, apply retires its 100 recorded hits, kept until " + until + " for taking back",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the offline plan lacks %q:\n%s", want, out)
		}
	}
	_, rep, _ := h.report("plan", "--offline")
	if alpha := searchByName(t, rep, "alpha"); strings.Join(alpha.QueryChanges, "; ") != "model 2 → 1; filters.country +JP" {
		t.Errorf("the JSON report's query_changes: %q", alpha.QueryChanges)
	}
}

// TestPlanLineCallsPerDay: the markdown plan's first line, on a spec with
// mixed intervals, worked by hand. Before: keep (1 page, every 6h: 4 a
// day) and gone (3 pages every 12h: 6 a day). After: keep as it was, new-a
// (3 pages every 2h: 36 a day) and new-b (1 page a day: 1), gone removed.
// The change is 36 + 1 − 6 = +31 calls a day; the total 4 + 36 + 1 = 41.
func TestPlanLineCallsPerDay(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	h := newHarness(t, fake.Options{})
	search := func(name, extra string) string {
		return "  - name: " + name + "\n    image: https://images.test/" + name + ".png\n    patent_type: D\n    model: 1\n" + extra
	}
	before := "version: 1\ninterval: 6h\napi:\n  max_calls_per_day: 100\nsearches:\n" +
		search("keep", "    max_results: 100\n") + search("gone", "    max_results: 250\n    interval: 12h\n")
	h.writeSpec(before)
	h.git("init", "-q")
	h.git("add", "patwatch.yaml")
	h.git("commit", "-q", "-m", "the watch list")
	if code, _, errOut := h.apply(); code != exitOK {
		t.Fatalf("apply: exit %d\n%s", code, errOut)
	}
	after := func(budget string) string {
		return "version: 1\ninterval: 6h\napi:\n  max_calls_per_day: " + budget + "\nsearches:\n" +
			search("keep", "    max_results: 100\n") + search("new-a", "    max_results: 300\n    interval: 2h\n") +
			search("new-b", "    max_results: 50\n    interval: 1d\n")
	}
	for budget, want := range map[string]string{
		"100": "**+2 searches · −1 search · ≈ +31 calls/day · within budget**\n",
		"40":  "**+2 searches · −1 search · ≈ +31 calls/day · over budget: ≈ 41 of 40 calls/day**\n",
	} {
		h.writeSpec(after(budget))
		code, out, errOut := h.run(context.Background(), "plan", "--offline", "--format", "markdown")
		if code != exitOK {
			t.Fatalf("plan --offline: exit %d\n%s", code, errOut)
		}
		if first, _, _ := strings.Cut(out, "\n"); first+"\n" != want {
			t.Errorf("budget %s: the plan's first line is\n%s\nwant\n%s", budget, first, want)
		}
		if !strings.Contains(out, "<details><summary>Plan: ") || !strings.HasSuffix(out, "</details>\n") {
			t.Errorf("the detail is not in a <details> section:\n%s", out)
		}
	}
}
