package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInit: a starter spec that validates and runs in the sandbox, the
// .gitignore lines, and nothing overwritten on a second init.
func TestInit(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("..", "..", "internal", "starter", "files", "gitignore"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Chdir(dir)
	code, stdout, stderr := runCmd(t, "init")
	if code != 0 || stderr != "" {
		t.Fatalf("init: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"wrote patwatch.yaml\n", "added 6 lines to .gitignore\n", "patwatch apply --sandbox -f patwatch.yaml"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("init's output lacks %q:\n%s", want, stdout)
		}
	}
	spec, _ := os.ReadFile("patwatch.yaml")
	if !strings.HasPrefix(string(spec), "# yaml-language-server: $schema=https://") {
		t.Errorf("the starter spec has no schema line:\n%s", spec)
	}
	if code, stdout, stderr := runCmd(t, "validate"); code != 0 || stdout != "ok: 1 search, 1 report\n" {
		t.Fatalf("validate of the starter spec: exit %d, %q\n%s", code, stdout, stderr)
	}
	h := &harness{t: t, dir: dir, clock: &testClock{}, envs: map[string]string{"PATWATCH_CACHE_DIR": t.TempDir()}}
	h.clock.Set(fixedTime)
	if code, rep, stderr := h.report("apply", "--sandbox", "--state", "sandbox.state.json"); code != 0 || len(rep.Searches) != 1 || rep.Searches[0].Hits == 0 {
		t.Fatalf("apply --sandbox of the starter spec: exit %d, %+v\n%s", code, rep, stderr)
	}
	ignore, _ := os.ReadFile(".gitignore")
	if !bytes.Equal(ignore, want) {
		t.Errorf(".gitignore:\n%s\nwant:\n%s", ignore, want)
	}

	before := snapshotDir(t, dir)
	code, stdout, stderr = runCmd(t, "init", "--ci", "github")
	if code != 1 || stdout != "" || !strings.Contains(stderr, "patwatch.yaml already exists; init never overwrites a file, so it wrote nothing") {
		t.Errorf("a second init: exit %d, stdout %q\n%s", code, stdout, stderr)
	}
	if after := snapshotDir(t, dir); !equalMaps(before, after) {
		t.Error("a refused init changed files")
	}
}

// TestInitKeepsAnExistingGitignore adds only the lines it lacks.
func TestInitKeepsAnExistingGitignore(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	os.WriteFile(".gitignore", []byte("/bin\npatwatch.state.json.lock"), 0o644)
	code, stdout, stderr := runCmd(t, "init", "-f", "watch.yaml")
	if code != 0 || !strings.Contains(stdout, "added 5 lines to .gitignore") {
		t.Fatalf("exit %d, %q\n%s", code, stdout, stderr)
	}
	got, _ := os.ReadFile(".gitignore")
	if !strings.HasPrefix(string(got), "/bin\npatwatch.state.json.lock\n\n# patwatch:") || strings.Count(string(got), "patwatch.state.json.lock") != 1 {
		t.Errorf(".gitignore:\n%s", got)
	}
	os.Remove("watch.yaml")
	if code, stdout, _ := runCmd(t, "init", "-f", "watch.yaml"); code != 0 || strings.Contains(stdout, ".gitignore") {
		t.Errorf("with every line present: exit %d, %q", code, stdout)
	}
}

// TestInitCIGithub writes the workflows, with the spec's paths in them, and
// refuses before writing anything when one exists.
func TestInitCIGithub(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	os.Mkdir("watch", 0o755)
	code, stdout, stderr := runCmd(t, "init", "--ci", "github", "-f", "watch/designs.yaml")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	workflows := []struct{ template, target string }{
		{"scheduled.yml", "patwatch-scheduled.yml"},
		{"pull-request.yml", "patwatch-pull-request.yml"},
		{"pull-request-comment.yml", "patwatch-pull-request-comment.yml"},
	}
	for _, wf := range workflows {
		p := filepath.Join(".github", "workflows", wf.target)
		if !strings.Contains(stdout, "wrote "+p+"\n") {
			t.Errorf("output lacks %s:\n%s", p, stdout)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if wf.template != "pull-request-comment.yml" && !strings.Contains(string(b), "-f watch/designs.yaml") {
			t.Errorf("%s does not name the spec:\n%s", p, b)
		}
	}
	sched, _ := os.ReadFile(filepath.Join(".github", "workflows", "patwatch-scheduled.yml"))
	if !strings.Contains(string(sched), "for path in watch/patwatch.state.json watch/reports watch/changes; do") {
		t.Errorf("the scheduled workflow does not commit the state beside the spec:\n%s", sched)
	}
	if _, err := os.Stat(filepath.Join("watch", ".gitignore")); err != nil {
		t.Errorf("the .gitignore beside the spec: %v", err)
	}

	os.Remove("watch/designs.yaml")
	code, _, stderr = runCmd(t, "init", "--ci", "github", "-f", "watch/designs.yaml")
	if code != 1 || !strings.Contains(stderr, "patwatch-scheduled.yml") || !strings.Contains(stderr, "already exist") {
		t.Errorf("existing workflows: exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat("watch/designs.yaml"); err == nil {
		t.Error("a refused init wrote the spec")
	}
}

func snapshotDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			out[p] = string(b)
		}
		return err
	})
	return out
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
