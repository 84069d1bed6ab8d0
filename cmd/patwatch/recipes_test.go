package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/patwatch/patwatch/internal/buftest"
	"gopkg.in/yaml.v3"
)

// The recipe tests run the command lines of examples/ as a new user would
// copy them: in a fresh home with the watch list in ~/watchlist, patwatch
// installed where 'go install' puts it (~/go/bin), and cron's or systemd's
// bare environment. patwatch there is this test binary, run as the command
// with --sandbox added after the subcommand: no credentials, no network.

// recipeHome is a fresh home for a recipe: ~/watchlist with the quickstart
// spec, ~/.config/patwatch/env with a (sandbox-ignored) key, and patwatch
// in ~/go/bin.
func recipeHome(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	spec, err := os.ReadFile(filepath.Join("..", "..", "examples", "quickstart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	writeFileAll(t, filepath.Join(home, "watchlist", "patwatch.yaml"), spec, 0o644)
	writeFileAll(t, filepath.Join(home, ".config", "patwatch", "env"), []byte("PATSNAP_API_KEY=sk-not-needed-by-the-sandbox\n"), 0o600)
	installSandboxPatwatch(t, filepath.Join(home, "go", "bin"))
	return home
}

// installSandboxPatwatch puts a patwatch into dir that is this test binary
// run as the command, with --sandbox after the subcommands that call the API.
func installSandboxPatwatch(t *testing.T, dir string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	script := `#!/bin/sh
cmd=$1
shift
case "$cmd" in
plan | apply | watch)
	case " $* " in
	*" --offline "*) ;; # an offline plan calls no API, simulated or not
	*) set -- --sandbox "$@" ;;
	esac ;;
esac
case "$cmd" in
apply | watch) set -- --baseline-drawings 3 "$@" ;; # thumbnails are slow under the race detector
esac
PATWATCH_TEST_BE_MAIN=1 exec ` + shQuote(self) + ` "$cmd" "$@"
`
	writeFileAll(t, filepath.Join(dir, "patwatch"), []byte(script), 0o755)
}

func writeFileAll(t *testing.T, path string, data []byte, perm os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, perm); err != nil {
		t.Fatal(err)
	}
}

// bareEnv is the environment cron and systemd give a job: a HOME and a
// PATH without ~/go/bin.
func bareEnv(home string) []string {
	return []string{"HOME=" + home, "PATH=/usr/bin:/bin", "LANG=C"}
}

// TestCronRecipe runs examples/cron/patwatch.cron's command as cron would.
func TestCronRecipe(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "examples", "cron", "patwatch.cron"))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(src), "\n") {
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			continue
		}
		f := regexp.MustCompile(`^(\S+\s+){5}`).FindString(l)
		if f == "" {
			t.Fatalf("not a crontab line: %q", l)
		}
		// cron turns \% into %; the rest is the shell's.
		lines = append(lines, strings.ReplaceAll(l[len(f):], `\%`, "%"))
	}
	if len(lines) != 1 {
		t.Fatalf("%d crontab lines, want 1", len(lines))
	}
	if sc, err := exec.LookPath("shellcheck"); err == nil {
		// SC1091: the credentials file it sources is the user's.
		cmd := exec.Command(sc, "-s", "sh", "-e", "SC1091", "-")
		cmd.Stdin = strings.NewReader(lines[0] + "\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("shellcheck: %v\n%s", err, out)
		}
	}
	home := recipeHome(t)
	runCron := func() (int, string) {
		cmd := exec.Command("/bin/sh", "-c", lines[0])
		cmd.Dir, cmd.Env = home, bareEnv(home)
		out, err := cmd.CombinedOutput()
		return exitStatus(t, err), string(out)
	}
	// First run: changes/ does not exist yet; the baseline is a change.
	if code, out := runCron(); code != 0 {
		t.Fatalf("first run: status %d\n%s", code, out)
	}
	dated, _ := filepath.Glob(filepath.Join(home, "watchlist", "changes", "20*.md"))
	if len(dated) != 1 {
		t.Fatalf("dated change reports after the first run: %v", dated)
	}
	if b, _ := os.ReadFile(dated[0]); !strings.Contains(string(b), "2 baselines") {
		t.Errorf("the dated change report:\n%s", b)
	}
	if _, err := os.Stat(filepath.Join(home, "watchlist", "patwatch.state.json")); err != nil {
		t.Error(err)
	}
	// A failure is the line's failure, and so is a patwatch that is not there.
	os.WriteFile(filepath.Join(home, "watchlist", "patwatch.yaml"), []byte("version: 1\nsearches: 3\n"), 0o644)
	if code, out := runCron(); code == 0 || !strings.Contains(out, "patwatch: error:") {
		t.Errorf("an invalid spec: status %d\n%s", code, out)
	}
	os.Remove(filepath.Join(home, "go", "bin", "patwatch"))
	if code, _ := runCron(); code == 0 {
		t.Error("a missing patwatch (127) reads as success")
	}
}

// unit is a parsed systemd unit: its [Service] settings, with %h expanded
// to home.
type unit struct {
	home string
	kv   map[string][]string
}

func readUnit(t *testing.T, name, home string) unit {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "..", "examples", "systemd", name))
	if err != nil {
		t.Fatal(err)
	}
	u := unit{home: home, kv: map[string][]string{}}
	section := ""
	for _, l := range strings.Split(string(src), "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == "" || strings.HasPrefix(l, "#"):
		case strings.HasPrefix(l, "["):
			section = l
		case section == "[Service]":
			k, v, _ := strings.Cut(l, "=")
			u.kv[k] = append(u.kv[k], strings.ReplaceAll(v, "%h", home))
		}
	}
	return u
}

// command splits an Exec line as systemd does for these units: words,
// single quotes, $MAINPID.
func (u unit) command(t *testing.T, key string, vars map[string]string) *exec.Cmd {
	t.Helper()
	if len(u.kv[key]) != 1 {
		t.Fatalf("%s: %d lines", key, len(u.kv[key]))
	}
	var words []string
	line := u.kv[key][0]
	for len(line) > 0 {
		line = strings.TrimLeft(line, " ")
		if line == "" {
			break
		}
		var w string
		if line[0] == '\'' {
			end := strings.IndexByte(line[1:], '\'')
			w, line = line[1:end+1], line[end+2:]
		} else {
			w, line, _ = strings.Cut(line, " ")
		}
		for k, v := range vars {
			w = strings.ReplaceAll(w, "$"+k, v)
		}
		words = append(words, w)
	}
	if !filepath.IsAbs(words[0]) {
		t.Fatalf("%s runs %s: not an absolute path", key, words[0])
	}
	cmd := exec.Command(words[0], words[1:]...)
	cmd.Dir = u.kv["WorkingDirectory"][0]
	cmd.Env = bareEnv(u.home)
	for _, f := range u.kv["EnvironmentFile"] {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("EnvironmentFile: %v", err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			if strings.Contains(l, "=") && !strings.HasPrefix(l, "#") {
				cmd.Env = append(cmd.Env, l)
			}
		}
	}
	return cmd
}

func (u unit) succeeded(code int) bool {
	if code == 0 {
		return true
	}
	for _, s := range u.kv["SuccessExitStatus"] {
		for _, f := range strings.Fields(s) {
			if n, err := strconv.Atoi(f); err == nil && n == code {
				return true
			}
		}
	}
	return false
}

// TestSystemdApplyRecipe runs patwatch-apply.service as its timer would.
func TestSystemdApplyRecipe(t *testing.T) {
	home := recipeHome(t)
	verifyUnits(t, home, "patwatch-apply.service", "patwatch-apply.timer")
	u := readUnit(t, "patwatch-apply.service", home)
	for run := 1; run <= 2; run++ {
		for _, key := range []string{"ExecStartPre", "ExecStart"} {
			out, err := u.command(t, key, nil).CombinedOutput()
			if code := exitStatus(t, err); !u.succeeded(code) {
				t.Fatalf("run %d, %s: status %d\n%s", run, key, code, out)
			}
		}
	}
	b, err := os.ReadFile(filepath.Join(home, "watchlist", "changes", "last.json"))
	if err != nil || !strings.Contains(string(b), `"status": "finished"`) {
		t.Errorf("the second run's change report: %v\n%s", err, b)
	}
}

// TestSystemdWatchRecipe runs patwatch-watch.service: it starts, appends a
// JSON report per run, reloads on systemctl reload, and stops cleanly.
func TestSystemdWatchRecipe(t *testing.T) {
	home := recipeHome(t)
	verifyUnits(t, home, "patwatch-watch.service")
	u := readUnit(t, "patwatch-watch.service", home)
	cmd := u.command(t, "ExecStart", nil)
	var stderr buftest.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	log := filepath.Join(home, "watchlist", "changes.jsonl")
	lines := func() int {
		b, _ := os.ReadFile(log)
		return bytes.Count(b, []byte("\n"))
	}
	waitFor(t, "the first run's report", func() bool { return lines() == 1 })
	reload := u.command(t, "ExecReload", map[string]string{"MAINPID": strconv.Itoa(cmd.Process.Pid)})
	if out, err := reload.CombinedOutput(); err != nil {
		t.Fatalf("ExecReload: %v\n%s", err, out)
	}
	waitFor(t, "the reload's report", func() bool { return lines() == 2 })
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if code := exitStatus(t, err); !u.succeeded(code) {
			t.Fatalf("stopped: status %d\n%s", code, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("watch did not stop on SIGTERM")
	}
	b, _ := os.ReadFile(log)
	if !strings.Contains(string(b), `"trigger":"reload"`) || !strings.Contains(string(b), `"simulated":true`) {
		t.Errorf("changes.jsonl:\n%s", b)
	}
}

// verifyUnits runs systemd-analyze verify on the units, with %h pointing at
// home, where it is installed and works without a running systemd.
func verifyUnits(t *testing.T, home string, names ...string) {
	t.Helper()
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		return
	}
	dir := t.TempDir()
	var paths []string
	for _, n := range names {
		src, err := os.ReadFile(filepath.Join("..", "..", "examples", "systemd", n))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, n)
		writeFileAll(t, p, bytes.ReplaceAll(src, []byte("%h"), []byte(home)), 0o644)
		paths = append(paths, p)
	}
	cmd := exec.Command(analyze, append([]string{"verify"}, paths...)...)
	out, err := cmd.CombinedOutput()
	if err != nil && strings.Contains(string(out), "Failed to initialize manager") {
		t.Logf("systemd-analyze cannot run here: %s", out)
		return
	}
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		// It exits 0 on what it only warns about (an unknown setting).
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

func exitStatus(t *testing.T, err error) int {
	t.Helper()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

// workflow is the part of a GitHub Actions workflow the recipe test runs:
// its jobs' run steps.
type workflow struct {
	Jobs map[string]struct {
		Steps []struct {
			Name string            `yaml:"name"`
			Uses string            `yaml:"uses"`
			Run  string            `yaml:"run"`
			Env  map[string]string `yaml:"env"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

// runWorkflow runs the run steps of examples/ci/name in dir, as a runner
// would (bash -e), with patwatch on PATH and the given env for ${{ }}
// expressions; the install step is skipped. It returns the steps' outputs.
func runWorkflow(t *testing.T, name, dir, bin string, env map[string]string) map[string]string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "..", "examples", "ci", name))
	if err != nil {
		t.Fatal(err)
	}
	var wf workflow
	if err := yaml.Unmarshal(src, &wf); err != nil {
		t.Fatal(err)
	}
	runner := t.TempDir()
	outputs := map[string]string{}
	for _, job := range wf.Jobs {
		for _, st := range job.Steps {
			if st.Run == "" || st.Name == "install patwatch" || st.Name == "fail on errors" {
				continue
			}
			if strings.Contains(st.Run, "${{") {
				t.Errorf("step %q puts an expression into the script; pass it through env:", st.Name)
			}
			script := filepath.Join(runner, "step.sh")
			writeFileAll(t, script, []byte(st.Run), 0o644)
			out := filepath.Join(runner, "output")
			os.WriteFile(out, nil, 0o644)
			cmd := exec.Command("bash", "--noprofile", "--norc", "-e", "-o", "pipefail", script)
			cmd.Dir = dir
			cmd.Env = []string{"HOME=" + runner, "PATH=" + bin + ":/usr/bin:/bin", "RUNNER_TEMP=" + runner,
				"GITHUB_OUTPUT=" + out, "GITHUB_STEP_SUMMARY=" + filepath.Join(runner, "summary"),
				"GIT_AUTHOR_DATE=2026-12-01T08:00:00Z", "GIT_COMMITTER_DATE=2026-12-01T08:00:00Z"}
			for k, v := range st.Env {
				if e, ok := env[k]; ok {
					v = e
				}
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			b, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("step %q: %v\n%s", st.Name, err, b)
			}
			o, _ := os.ReadFile(out)
			outputs[st.Name] += string(o)
		}
	}
	return outputs
}

// TestScheduledWorkflowRecipe runs the scheduled workflow's steps in a git
// checkout twice, the second time in a fresh clone as a runner would: the
// reports committed with the state are found, so a finished report is not
// reported finished again.
func TestScheduledWorkflowRecipe(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	root := t.TempDir()
	bin := filepath.Join(root, "bin")
	installSandboxPatwatch(t, bin)
	origin := filepath.Join(root, "origin.git")
	git(t, root, "init", "-q", "--bare", "-b", "main", origin)
	checkout := func(name string) string {
		dir := filepath.Join(root, name)
		git(t, root, "clone", "-q", origin, dir)
		git(t, dir, "config", "user.email", "t@example.com")
		git(t, dir, "config", "user.name", "t")
		return dir
	}
	first := checkout("first")
	spec, _ := os.ReadFile(filepath.Join("..", "..", "examples", "quickstart.yaml"))
	writeFileAll(t, filepath.Join(first, "patwatch.yaml"), spec, 0o644)
	git(t, first, "add", ".")
	git(t, first, "commit", "-qm", "watch list")
	git(t, first, "push", "-q", "origin", "HEAD:main")

	// Each run is a fresh checkout. The sandbox's memory stands for the
	// API's side of things; it is not committed, so it is carried over.
	memory := ""
	for run := 1; run <= 3; run++ {
		dir := checkout("run" + strconv.Itoa(run))
		if memory != "" {
			writeFileAll(t, filepath.Join(dir, "patwatch.state.json.sandbox"), []byte(memory), 0o600)
		}
		out := runWorkflow(t, "scheduled.yml", dir, bin, nil)
		if !strings.Contains(out["apply"], "code=2") {
			t.Fatalf("run %d: outputs %v", run, out)
		}
		b, _ := os.ReadFile(filepath.Join(dir, "patwatch.state.json.sandbox"))
		memory = string(b)
		switch run {
		case 2:
			if _, err := os.Stat(filepath.Join(dir, "reports", "cn108977442b.pdf")); err != nil {
				t.Fatalf("run 2 did not download the report: %v", err)
			}
		case 3:
			reports, _ := filepath.Glob(filepath.Join(dir, "changes", "*.md"))
			if len(reports) == 0 {
				t.Fatal("no dated change reports committed")
			}
			summary, _ := os.ReadFile(reports[len(reports)-1])
			if !strings.Contains(string(summary), "| cn108977442b | CN108977442B | ready |") {
				t.Errorf("run 3, in a fresh clone, does not find the committed report ready:\n%s", summary)
			}
		}
	}
	tracked := git(t, filepath.Join(root, "run3"), "ls-files")
	for _, want := range []string{"patwatch.state.json\n", "reports/cn108977442b.pdf\n", "changes/"} {
		if !strings.Contains(tracked, want) {
			t.Errorf("not committed: %s (tracked:\n%s)", want, tracked)
		}
	}
	for _, never := range []string{".lock", ".backup", ".sandbox"} {
		if strings.Contains(tracked, never) {
			t.Errorf("committed a %s file:\n%s", never, tracked)
		}
	}
}

// TestPullRequestWorkflowRecipe runs the plan workflow's steps in a
// checkout, then the comment workflow's with a gh that records its
// arguments.
func TestPullRequestWorkflowRecipe(t *testing.T) {
	root := t.TempDir()
	bin := filepath.Join(root, "bin")
	installSandboxPatwatch(t, bin)
	dir := filepath.Join(root, "pr")
	spec, _ := os.ReadFile(filepath.Join("..", "..", "examples", "quickstart.yaml"))
	writeFileAll(t, filepath.Join(dir, "patwatch.yaml"), spec, 0o644)
	runWorkflow(t, "pull-request.yml", dir, bin, map[string]string{"PR_NUMBER": "42"})
	plan, err := os.ReadFile(filepath.Join(dir, "patwatch-plan", "plan.md"))
	if err != nil || !strings.Contains(string(plan), "### patwatch plan") {
		t.Fatalf("the plan artifact: %v\n%s", err, plan)
	}

	if !strings.HasPrefix(string(plan), "**+2 searches · +1 report · ≈ +8 calls/day**\n\n<details>") {
		t.Errorf("the plan does not start with its one line:\n%s", plan)
	}

	// The comment workflow downloads the artifact into patwatch-plan/. The
	// first time there is no comment of its own: it posts one; after that,
	// the gh api call finds its id (echoed by this gh), and it edits that
	// one in place.
	ghLog := filepath.Join(root, "gh.log")
	for i, answer := range []string{"", "7"} {
		os.Remove(ghLog)
		gh := "#!/bin/sh\necho \"$GH_REPO $*\" >> " + shQuote(ghLog) + "\n"
		if answer != "" {
			gh += "case \"$*\" in *--paginate*) echo " + answer + " ;; esac\n"
		}
		writeFileAll(t, filepath.Join(bin, "gh"), []byte(gh), 0o755)
		comment := filepath.Join(root, "comment"+strconv.Itoa(i))
		if err := os.CopyFS(filepath.Join(comment, "patwatch-plan"), os.DirFS(filepath.Join(dir, "patwatch-plan"))); err != nil {
			t.Fatal(err)
		}
		runWorkflow(t, "pull-request-comment.yml", comment, bin, map[string]string{"GH_TOKEN": "t", "GH_REPO": "o/r"})
		b, _ := os.ReadFile(ghLog)
		want := "o/r pr comment 42 --body-file patwatch-plan/plan.md\n"
		if answer != "" {
			want = "o/r api -X PATCH repos/o/r/issues/comments/7 -F body=@patwatch-plan/plan.md --silent\n"
		}
		if !strings.HasPrefix(string(b), "o/r api repos/o/r/issues/42/comments --paginate --jq") || !strings.HasSuffix(string(b), want) {
			t.Errorf("gh was run as:\n%s\nwant the comments looked up, then %s", b, want)
		}
		if body, _ := os.ReadFile(filepath.Join(comment, "patwatch-plan", "plan.md")); !strings.HasSuffix(string(body), "\n<!-- patwatch plan -->\n") {
			t.Error("the comment has no marker to find it by")
		}
	}
	comment := filepath.Join(root, "comment0")

	// A change over the daily budget fails the check (after the upload).
	var pr workflow
	prSrc, _ := os.ReadFile(filepath.Join("..", "..", "examples", "ci", "pull-request.yml"))
	yaml.Unmarshal(prSrc, &pr)
	budget := ""
	for _, st := range pr.Jobs["plan"].Steps {
		if st.Name == "budget" {
			budget = st.Run
		}
	}
	over := filepath.Join(root, "over")
	writeFileAll(t, filepath.Join(over, "patwatch-plan", "plan.md"), []byte("**+1 search · ≈ +96 calls/day · over budget: ≈ 104 of 100 calls/day**\n"), 0o644)
	cmd := exec.Command("bash", "--noprofile", "--norc", "-e", "-c", budget)
	cmd.Dir, cmd.Env = over, []string{"PATH=/usr/bin:/bin"}
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "::error::this change would take the watch list over its daily budget") {
		t.Errorf("a change over the budget passed the check: %v\n%s", err, out)
	}

	// A number is all the artifact may bring.
	os.WriteFile(filepath.Join(comment, "patwatch-plan", "pr-number"), []byte("42; rm -rf /\n"), 0o644)
	src, _ := os.ReadFile(filepath.Join("..", "..", "examples", "ci", "pull-request-comment.yml"))
	var wf workflow
	yaml.Unmarshal(src, &wf)
	script := wf.Jobs["comment"].Steps[1].Run
	cmd = exec.Command("bash", "--noprofile", "--norc", "-e", "-c", script)
	cmd.Dir, cmd.Env = comment, []string{"PATH=" + bin + ":/usr/bin:/bin", "HOME=" + root}
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "no pull request number") {
		t.Errorf("a forged pull request number was used: %v\n%s", err, out)
	}
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}
