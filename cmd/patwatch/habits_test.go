package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patwatch/patwatch/internal/buftest"
	"github.com/patwatch/patwatch/internal/patsnap/fake"
	"github.com/patwatch/patwatch/state/filestore"
)

func TestChdir(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.writeSpec(twoSearches)
	t.Chdir(t.TempDir()) // restored after the test; -chdir changes the process's
	for _, args := range [][]string{
		{"-chdir=" + h.dir, "validate"},
		{"--chdir", h.dir, "validate"},
		{"-chdir=" + h.dir, "plan", "--offline", "--format", "json", "--out", "plan.json"},
	} {
		var stdout, stderr buftest.Buffer
		e := env{getenv: func(string) string { return "" }, stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, chdir: os.Chdir}
		if code := runEnv(context.Background(), e, args); code != exitOK {
			t.Errorf("%v: exit %d\n%s", args, code, stderr.String())
		}
	}
	// The second -chdir was relative to the first's directory, and the
	// plan's --out is in it.
	if _, err := os.Stat(filepath.Join(h.dir, "plan.json")); err != nil {
		t.Errorf("plan --out under -chdir: %v", err)
	}
	var stderr buftest.Buffer
	e := env{getenv: func(string) string { return "" }, stdin: strings.NewReader(""), stdout: &buftest.Buffer{}, stderr: &stderr, chdir: os.Chdir}
	if code := runEnv(context.Background(), e, []string{"-chdir=" + filepath.Join(h.dir, "missing"), "validate"}); code != exitError ||
		!strings.Contains(stderr.String(), "-chdir="+filepath.Join(h.dir, "missing")+": no such file or directory") {
		t.Errorf("-chdir to a missing directory: exit %d\n%s", code, stderr.String())
	}
}

func TestValidateJSON(t *testing.T) {
	h := newHarness(t, fake.Options{})
	type doc struct {
		FormatVersion string `json:"format_version"`
		Valid         bool   `json:"valid"`
		Problems      []struct {
			File, Path, Message, Hint string
			Line, Column              int
		} `json:"problems"`
	}
	run := func(args ...string) (int, doc) {
		t.Helper()
		code, out, errOut := h.run(context.Background(), append([]string{"validate", "--format", "json"}, args...)...)
		var d doc
		if err := json.Unmarshal([]byte(out), &d); err != nil || d.FormatVersion != "1" {
			t.Fatalf("validate --format json: %v\n%s%s", err, out, errOut)
		}
		return code, d
	}
	h.writeSpec(twoSearches)
	if code, d := run("-f", h.path("patwatch.yaml")); code != exitOK || !d.Valid || len(d.Problems) != 0 || d.Problems == nil {
		t.Errorf("a valid spec: exit %d, %+v", code, d)
	}
	h.writeSpec(strings.Replace(twoSearches, "model: 1\n    max_results", "model: 7\n    max_results", 1))
	code, d := run("-f", h.path("patwatch.yaml"))
	if code != exitError || d.Valid || len(d.Problems) != 1 {
		t.Fatalf("an invalid spec: exit %d, %+v", code, d)
	}
	if p := d.Problems[0]; p.File != h.path("patwatch.yaml") || p.Line != 6 || p.Column != 12 || p.Path != "searches[0].model" || p.Message == "" {
		t.Errorf("the problem: %+v", p)
	}
	if code, d := run("-f", h.path("missing.yaml")); code != exitError || d.Valid || len(d.Problems) != 1 || d.Problems[0].Hint == "" {
		t.Errorf("a missing spec: exit %d, %+v", code, d)
	}
}

// TestTerraformSpellings: Terraform's flags get the hint that says what
// patwatch calls them, and a flag before the command gets a command line
// that works, or says whose flag it is.
func TestTerraformSpellings(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"plan", "-json"}, "patwatch plan --format json"},
		{[]string{"version", "-json"}, "patwatch version --format json"},
		{[]string{"apply", "-auto-approve"}, "apply never asks for approval"},
		{[]string{"plan", "-no-color"}, "NO_COLOR=1"},
		{[]string{"plan", "-lock=false"}, "plan takes no lock"},
		{[]string{"apply", "-lock=false"}, "apply always locks the state"},
		{[]string{"plan", "-chdir=x"}, "patwatch -chdir=DIR plan"},
		{[]string{"--sandbox", "apply"}, "hint: flags go after the command they belong to: patwatch apply --sandbox"},
		{[]string{"--offline", "apply"}, "hint: --offline is a flag of plan"},
	} {
		code, _, errOut := runCmd(t, c.args...)
		if code != exitError || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d\n%s\nwant %q", c.args, code, errOut, c.want)
		}
		if strings.Contains(errOut, "patwatch apply --offline") {
			t.Errorf("%v suggests a command that fails:\n%s", c.args, errOut)
		}
	}
}

// TestLockTimeoutHintAfterAWait: once --lock-timeout was waited out, the
// hint no longer says to pass it.
func TestLockTimeoutHintAfterAWait(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.writeSpec(twoSearches)
	lock, err := filestore.Lock(context.Background(), h.path("patwatch.state.json"), "apply", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Unlock()
	_, _, now := h.run(context.Background(), "apply", "--lock-timeout", "0s")
	if !strings.Contains(now, "pass --lock-timeout") {
		t.Errorf("a lock tried once:\n%s", now)
	}
	code, _, waited := h.run(context.Background(), "apply", "--lock-timeout", "1s")
	if code != exitError || strings.Contains(waited, "pass --lock-timeout") || !strings.Contains(waited, "hint: waited 1s (--lock-timeout) and that run still holds the lock") {
		t.Errorf("a lock waited for: exit %d\n%s", code, waited)
	}
}
