package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/patwatch/patwatch/internal/patsnap/fake"
)

// TestQuietApplyWritesNothingToStderr: a successful apply with nothing to
// warn about, a baseline or one with changes, writes nothing to stderr:
// its change report is on stdout.
func TestQuietApplyWritesNothingToStderr(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.writeSpec(twoSearches)
	h.api.SetResults(imgA, -1, fakeHits("A1", "A2")...)
	h.api.SetResults(imgB, -1, fakeHits("B1")...)
	for _, run := range []string{"the baseline", "a run with changes"} {
		code, stdout, stderr := h.run(context.Background(), "apply")
		if code != exitOK || stderr != "" || !strings.Contains(stdout, "search alpha") {
			t.Errorf("%s: exit %d, stderr:\n%s\nstdout:\n%s", run, code, stderr, stdout)
		}
		h.api.SetResults(imgA, -1, fakeHits("A1", "A3")...)
	}
}

// TestLogLevelAndFormatFromTheEnvironment: PATWATCH_LOG sets the level
// and PATWATCH_LOG_FORMAT the format, as TF_LOG does; the flags win.
func TestLogLevelAndFormatFromTheEnvironment(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.writeSpec(twoSearches)
	h.api.SetResults(imgA, -1, fakeHits("A1")...)
	h.api.SetResults(imgB, -1, fakeHits("B1")...)

	h.envs["PATWATCH_LOG"] = "DEBUG"
	_, _, stderr := h.run(context.Background(), "apply")
	if !strings.Contains(stderr, "DBG") || !strings.Contains(stderr, "search refreshed") || strings.Contains(stderr, `"level"`) {
		t.Errorf("PATWATCH_LOG=DEBUG: want debug records as text:\n%s", stderr)
	}

	h.envs["PATWATCH_LOG_FORMAT"] = "json"
	_, _, stderr = h.run(context.Background(), "apply")
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	for _, line := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil || rec["level"] == nil {
			t.Fatalf("PATWATCH_LOG_FORMAT=json: a line is no JSON record: %q", line)
		}
	}

	_, _, stderr = h.run(context.Background(), "apply", "--log-level", "warn", "--log-format", "text")
	if stderr != "" {
		t.Errorf("the flags do not win over the environment:\n%s", stderr)
	}

	h.envs["PATWATCH_LOG"] = "loud"
	code, _, stderr := h.run(context.Background(), "apply")
	if code != exitError || !strings.Contains(stderr, `patwatch: error: PATWATCH_LOG: unknown log level "loud"`) || !strings.Contains(stderr, "hint: use trace, debug") {
		t.Errorf("a bad PATWATCH_LOG: exit %d\n%s", code, stderr)
	}
}

// TestHTMLOutPrintsTheText: with --format html --out FILE, the page goes
// to FILE only, and standard output gets the text: the change report of
// an apply, the state's listing for show.
func TestHTMLOutPrintsTheText(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.writeSpec(twoSearches)
	h.api.SetResults(imgA, -1, fakeHits("A1", "A2")...)
	h.api.SetResults(imgB, -1, fakeHits("B1")...)
	for _, args := range [][]string{{"apply"}, {"show"}} {
		code, stdout, stderr := h.run(context.Background(), append(args, "--format", "html", "--out", h.path("page.html"))...)
		page := h.read("page.html")
		if code != exitOK || !strings.Contains(page, "<html") || strings.Contains(stdout, "<") || !strings.Contains(stdout, "alpha") {
			t.Errorf("%s: exit %d, %d bytes of page, standard output:\n%.300s\n%s", args[0], code, len(page), stdout, stderr)
		}
	}
}
