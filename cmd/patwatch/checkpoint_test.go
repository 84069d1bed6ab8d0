package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/patwatch/patwatch/internal/patsnap/fake"
	"github.com/patwatch/patwatch/internal/report"
)

// paced is a spec of n searches under api.qps 1, one call each: an apply
// of it takes n seconds, its searches completing one a second. Every image
// and hit link is on the harness's loopback image server.
func (h *harness) paced(n int) {
	var b strings.Builder
	b.WriteString("version: 1\napi:\n  qps: 1\nsearches:\n")
	for i := range n {
		img := fmt.Sprintf("%s/query/%02d.png", h.imagesURL, i)
		fmt.Fprintf(&b, "  - name: s%02d\n    image: %s\n    patent_type: D\n    model: 1\n    max_results: 10\n", i, img)
		hits := fakeHits(fmt.Sprintf("P%02d", i))
		hits[0].URL = fmt.Sprintf("%s/hit/%02d.png", h.imagesURL, i)
		h.api.SetResults(img, -1, hits...)
	}
	h.writeSpec(b.String())
}

// TestKilledApplyKeepsWhatItCompleted: an apply of 30 s killed with
// SIGKILL after 20 s has saved most of the searches it completed before
// its end, and the next apply takes them as recorded, not as new
// baselines.
func TestKilledApplyKeepsWhatItCompleted(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 20 s")
	}
	h := newHarness(t, fake.Options{})
	h.paced(30)
	cmd, stderr := h.startProcess("apply", "--baseline-drawings", "0")
	started := time.Now()
	var savedEarly bool
	for time.Since(started) < 20*time.Second {
		if _, err := os.Stat(h.path("patwatch.state.json")); err == nil && !savedEarly {
			savedEarly = true
			t.Logf("the state was first saved %v into the run", time.Since(started).Round(time.Second))
		}
		time.Sleep(100 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	answered := len(h.api.Requests())
	if !savedEarly {
		t.Fatalf("no state was saved in the first 20 s of the run\n%s", stderr.String())
	}
	st := h.state()
	t.Logf("killed after %d searches were answered; the state holds %d", answered, len(st.Searches))
	if saved := len(st.Searches); saved*2 < answered || answered >= 30 {
		t.Fatalf("killed after %d searches were answered, the state holds %d; want most of them, and the run not ended", answered, saved)
	}

	code, rep, errOut := h.apply("--baseline-drawings", "0")
	if code != exitOK {
		t.Fatalf("the next apply: exit %d\n%s", code, errOut)
	}
	for _, s := range rep.Searches {
		want := report.StatusBaseline
		if _, ok := st.Searches[s.Name]; ok {
			want = report.StatusOK
		}
		if s.Status != want {
			t.Errorf("search %s in the next apply: %s, want %s", s.Name, s.Status, want)
		}
	}
	h.assertUnlocked()
}

// TestFirstApplyThatFailsLeavesNoStateFile: a first apply whose every
// search failed says so and leaves no state file; the next one that
// succeeds takes baselines.
func TestFirstApplyThatFailsLeavesNoStateFile(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.writeSpec(twoSearches)
	h.api.SetResults(imgA, -1, fakeHits("A1")...)
	h.api.SetResults(imgB, -1, fakeHits("B1")...)
	h.api.AddFault(fake.Fault{Endpoint: fake.EndpointSearchSingle, Code: 68300004, Msg: "Invalid parameter!"})
	code, _, stderr := h.run(context.Background(), "apply")
	if code != exitError || !strings.Contains(stderr, "2 of 2 searches failed; nothing was saved") {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(h.path("patwatch.state.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a first apply that failed entirely left a state file: %v", err)
	}
}
