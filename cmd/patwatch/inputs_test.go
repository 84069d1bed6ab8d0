package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patwatch/patwatch/internal/patsnap/fake"
)

// TestSpecFromStandardInput: -f - reads the spec from standard input;
// relative image paths are then relative to the working directory.
func TestSpecFromStandardInput(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.api.SetResults(imgA, -1, fakeHits("A1")...)
	h.api.SetResults(imgB, -1, fakeHits("B1")...)
	h.stdin = strings.TrimLeft(twoSearches, "\n")
	t.Chdir(h.dir)

	code, stdout, stderr := h.run(context.Background(), "validate", "-f", "-")
	if code != exitOK || stdout != "ok: 2 searches, 0 reports\n" {
		t.Fatalf("validate -f -: exit %d, %q\n%s", code, stdout, stderr)
	}
	code, rep, stderr := h.report("apply", "-f", "-")
	if code != exitOK || len(rep.Searches) != 2 || rep.Spec != "<stdin>" {
		t.Fatalf("apply -f -: exit %d, %+v\n%s", code, rep, stderr)
	}
	if _, err := os.Stat(filepath.Join(h.dir, "patwatch.state.json")); err != nil {
		t.Errorf("the state of a spec from standard input is not in the working directory: %v", err)
	}

	h.stdin = "version: 1\nsearches: 3\n"
	code, _, stderr = h.run(context.Background(), "validate", "-f", "-")
	if code != exitError || !strings.Contains(stderr, "<stdin>:2:11: searches: must be a list") || !strings.Contains(stderr, "1 problem in <stdin>") {
		t.Errorf("an invalid spec on standard input: exit %d\n%s", code, stderr)
	}
}

// TestStateInAMissingDirectory: a --state whose directory does not exist is
// an error before anything happens, not a silent new baseline.
func TestStateInAMissingDirectory(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.writeSpec(twoSearches)
	for _, cmd := range [][]string{{"apply"}, {"plan"}, {"plan", "--offline"}, {"watch"}} {
		args := append(cmd, "--state", h.path("no/such/dir/state.json"))
		code, stdout, stderr := h.run(context.Background(), args...)
		if code != exitError || stdout != "" || !strings.Contains(stderr, "directory "+h.path("no/such/dir")+" does not exist") || !strings.Contains(stderr, "patwatch: hint: create it") {
			t.Errorf("%v: exit %d, stdout %q\n%s", cmd, code, stdout, stderr)
		}
	}
	if n := len(h.api.Requests()); n != 0 {
		t.Errorf("%d API calls", n)
	}
}

// TestHalfOfModeACredentials names the variable that is missing.
func TestHalfOfModeACredentials(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.writeSpec(twoSearches)
	delete(h.envs, "PATSNAP_API_KEY")
	h.envs["PATSNAP_CLIENT_ID"] = "id"
	code, _, stderr := h.run(context.Background(), "apply")
	if code != exitError || !strings.Contains(stderr, "patwatch: error: PATSNAP_CLIENT_SECRET is not set") {
		t.Errorf("only the id: exit %d\n%s", code, stderr)
	}
	delete(h.envs, "PATSNAP_CLIENT_ID")
	h.envs["PATSNAP_CLIENT_SECRET"] = "secret"
	code, _, stderr = h.run(context.Background(), "apply")
	if code != exitError || !strings.Contains(stderr, "patwatch: error: PATSNAP_CLIENT_ID is not set") || strings.Contains(stderr, "secret\n") {
		t.Errorf("only the secret: exit %d\n%s", code, stderr)
	}
}
