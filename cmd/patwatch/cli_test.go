package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/patwatch/patwatch/internal/completion"
	"github.com/patwatch/patwatch/internal/flagvalue"
)

// TestHelpGolden pins every command's help: -h prints it on stdout and
// exits 0, 'patwatch help CMD' prints the same, and it lists every flag the
// command registers, in the synopsis and in the flags section.
func TestHelpGolden(t *testing.T) {
	for _, c := range app().Completion().Commands {
		name := strings.Join(c.Path, " ")
		t.Run(name, func(t *testing.T) {
			args := append(slices.Clone(c.Path), "-h")
			code, stdout, stderr := runCmd(t, args...)
			if code != 0 || stderr != "" {
				t.Fatalf("%s: exit %d, stderr %q", strings.Join(args, " "), code, stderr)
			}
			golden(t, filepath.Join("testdata", "help", strings.Join(c.Path, "-")+".golden"), stdout)

			code, viaHelp, _ := runCmd(t, append([]string{"help"}, c.Path...)...)
			if code != 0 || viaHelp != stdout {
				t.Errorf("patwatch help %s differs from -h (exit %d):\n%s", name, code, viaHelp)
			}
			synopsis, _, _ := strings.Cut(stdout, "\n\nflags:")
			for _, f := range c.Flags {
				if !strings.Contains(synopsis, "["+flagvalue.Name(f.Name)) {
					t.Errorf("the synopsis lacks %s", flagvalue.Name(f.Name))
				}
				if !strings.Contains(stdout, "\n  "+flagvalue.Name(f.Name)) {
					t.Errorf("the flags section lacks %s", flagvalue.Name(f.Name))
				}
			}
			if strings.Contains(stdout, "flags:\n\n") || strings.HasSuffix(stdout, "flags:\n") {
				t.Error("an empty flags: section")
			}
		})
	}
}

func TestOverview(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}} {
		code, stdout, stderr := runCmd(t, args...)
		if code != 0 || stderr != "" {
			t.Fatalf("%v: exit %d, stderr %q", args, code, stderr)
		}
		for _, c := range app().Completion().Commands {
			if name := strings.Join(c.Path, " "); !strings.Contains(stdout, "\n  "+name+" ") {
				t.Errorf("%v does not list %s", args, name)
			}
		}
		golden(t, filepath.Join("testdata", "help", "overview.golden"), stdout)
	}
	if code, stdout, stderr := runCmd(t); code != 1 || stdout != "" || !strings.Contains(stderr, "usage: patwatch COMMAND") {
		t.Errorf("no arguments: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// TestErrorsGolden pins how a mistake on the command line is explained:
// patwatch: error: and patwatch: hint: lines, never Go's flag messages or
// a usage dump, and exit 1.
func TestErrorsGolden(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"unknown-command", []string{"aply", "--sandbox"}},
		{"unknown-command-far", []string{"frobnicate"}},
		{"spec-as-command", []string{"patwatch.yaml"}},
		{"flag-before-command", []string{"--sandbox", "apply", "-f", "examples/quickstart.yaml"}},
		{"flag-without-command", []string{"--sandbox"}},
		{"unknown-flag", []string{"apply", "--sandbx"}},
		{"flag-of-another-command", []string{"apply", "--offline"}},
		{"unknown-flag-far", []string{"plan", "--frobnicate"}},
		{"bad-log-level", []string{"apply", "--log-level", "loud"}},
		{"bad-log-format", []string{"validate", "--log-format", "pretty"}},
		{"bad-format", []string{"plan", "--format", "yaml"}},
		{"format-case", []string{"plan", "--format", "JSON"}},
		{"bad-duration", []string{"apply", "--lock-timeout", "ten"}},
		{"duration-without-unit", []string{"watch", "--interval", "3600"}},
		{"interval-below-floor", []string{"watch", "--interval", "1ms"}},
		{"interval-zero", []string{"watch", "--interval", "0"}},
		{"negative-duration", []string{"watch", "--retry-after", "-5s"}},
		{"missing-value", []string{"apply", "--state"}},
		{"value-is-a-flag", []string{"apply", "--state", "--sandbox"}},
		{"bad-bool", []string{"apply", "--sandbox=maybe"}},
		{"bad-syntax", []string{"apply", "---sandbox"}},
		{"positional", []string{"apply", "patwatch.yaml"}},
		{"completion-shell", []string{"completion", "powershell"}},
		{"completion-none", []string{"completion"}},
		{"help-unknown", []string{"help", "aply"}},
		{"version-format", []string{"version", "--format", "yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, tt.args...)
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			for _, l := range strings.Split(strings.TrimSuffix(stderr, "\n"), "\n") {
				if !strings.HasPrefix(l, "patwatch: error: ") && !strings.HasPrefix(l, "patwatch: hint: ") {
					t.Errorf("stderr line %q is not an error or a hint", l)
				}
			}
			got := fmt.Sprintf("$ patwatch %s\nexit %d\n--- stdout\n%s--- stderr\n%s", strings.Join(tt.args, " "), code, stdout, stderr)
			golden(t, filepath.Join("testdata", "errors", tt.name+".golden"), got)
		})
	}
}

// TestFlagsAnywhere: flags take one or two dashes, and come before or after
// positional arguments.
func TestFlagsAnywhere(t *testing.T) {
	for _, args := range [][]string{
		{"validate", "-f", "../../examples/quickstart.yaml"},
		{"validate", "--f", "../../examples/quickstart.yaml"},
		{"validate", "-f=../../examples/quickstart.yaml", "--log-level=debug", "-log-format", "json"},
	} {
		if code, _, stderr := runCmd(t, args...); code != 0 {
			t.Errorf("%v: exit %d\n%s", args, code, stderr)
		}
	}
	_, a, _ := runCmd(t, "completion", "bash")
	if code, b, stderr := runCmd(t, "completion", "--log-level", "debug", "bash"); code == 0 || b != "" {
		// completion takes no --log-level: refused, whatever its place.
		t.Errorf("completion --log-level: exit %d, %q", code, stderr)
	}
	if a == "" {
		t.Error("completion bash printed nothing")
	}
}

func TestVersion(t *testing.T) {
	code, stdout, _ := runCmd(t, "version")
	if code != 0 || !strings.HasPrefix(stdout, "patwatch "+version+" (") {
		t.Errorf("version: exit %d, %q", code, stdout)
	}
	code, stdout, _ = runCmd(t, "--version")
	if code != 0 || !strings.HasPrefix(stdout, "patwatch ") {
		t.Errorf("--version: exit %d, %q", code, stdout)
	}
	code, stdout, _ = runCmd(t, "version", "--format", "json")
	var got struct {
		Version, Commit, Go string
	}
	if code != 0 || jsonUnmarshal(stdout, &got) != nil || got.Version != version || !strings.HasPrefix(got.Go, "go1.") || !strings.Contains(stdout, `"commit":`) {
		t.Errorf("version --format json: exit %d, %q", code, stdout)
	}
}

func TestCompletionGolden(t *testing.T) {
	for _, sh := range completion.Shells {
		t.Run(sh, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, "completion", sh)
			if code != 0 || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			golden(t, filepath.Join("testdata", "completion", sh+".golden"), stdout)
			if path, err := exec.LookPath(sh); err == nil {
				// The shell itself checks the script's syntax.
				f := filepath.Join(t.TempDir(), "patwatch."+sh)
				os.WriteFile(f, []byte(stdout), 0o644)
				if out, err := exec.Command(path, "-n", f).CombinedOutput(); err != nil {
					t.Errorf("%s -n: %v\n%s", sh, err, out)
				}
			}
			if sc, err := exec.LookPath("shellcheck"); err == nil && sh == "bash" {
				f := filepath.Join(t.TempDir(), "patwatch.bash")
				os.WriteFile(f, []byte(stdout), 0o644)
				if out, err := exec.Command(sc, "-s", "bash", f).CombinedOutput(); err != nil {
					t.Errorf("shellcheck: %v\n%s", err, out)
				}
			}
		})
	}
}

// TestBashCompletes runs the bash script in bash and asks it what it offers.
func TestBashCompletes(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	_, script, _ := runCmd(t, "completion", "bash")
	f := filepath.Join(t.TempDir(), "patwatch.bash")
	os.WriteFile(f, []byte(script), 0o644)
	tests := []struct {
		line string // the words typed; the last is being completed
		want []string
		not  []string
	}{
		{"patwatch ap", []string{"apply"}, []string{"plan"}},
		{"patwatch ", []string{"init", "validate", "plan", "apply", "watch", "show", "schema", "completion", "version", "help"}, nil},
		{"patwatch apply --", []string{"--sandbox", "--state", "--format", "--lock-timeout", "--log-level"}, []string{"--offline", "--interval"}},
		{"patwatch watch --int", []string{"--interval"}, nil},
		{"patwatch plan --format ", []string{"text", "json", "markdown"}, nil},
		{"patwatch apply --log-level d", []string{"debug"}, nil},
		{"patwatch completion ", []string{"bash", "zsh", "fish"}, nil},
		{"patwatch help wa", []string{"watch"}, nil},
		{"patwatch help state ", []string{"pull", "push"}, []string{"apply"}},
		{"patwatch help notify t", []string{"test"}, nil},
	}
	for _, tt := range tests {
		words := strings.Split(tt.line, " ")
		var quoted []string
		for _, w := range words {
			quoted = append(quoted, shQuote(w))
		}
		prog := fmt.Sprintf("source %s; COMP_WORDS=(%s); COMP_CWORD=%d; _patwatch; printf '%%s\\n' \"${COMPREPLY[@]}\"",
			shQuote(f), strings.Join(quoted, " "), len(words)-1)
		out, err := exec.Command(bash, "--norc", "-c", prog).CombinedOutput()
		if err != nil {
			t.Fatalf("%q: %v\n%s", tt.line, err, out)
		}
		got := strings.Fields(string(out))
		for _, w := range tt.want {
			if !contains(got, w) {
				t.Errorf("%q: offers %v, lacks %s", tt.line, got, w)
			}
		}
		for _, w := range tt.not {
			if contains(got, w) {
				t.Errorf("%q: offers %s, which the command does not take", tt.line, w)
			}
		}
	}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

// TestConsoleLogsArePlainOffATerminal: --log-format console colours only a
// terminal; a file or a pipe gets no escape codes.
func TestConsoleLogsArePlainOffATerminal(t *testing.T) {
	var stdout, stderr strings.Builder
	code := run(t.Context(), []string{"validate", "-f", "../../examples/quickstart.yaml", "--log-level", "debug", "--log-format", "console"},
		func(string) string { return "" }, strings.NewReader(""), &stdout, &stderr)
	if code != 0 || !strings.Contains(stderr.String(), "spec is valid") || strings.Contains(stderr.String(), "\x1b[") {
		t.Errorf("exit %d; console log off a terminal:\n%q", code, stderr.String())
	}
}

// TestFishCompletes asks fish itself what the fish script offers.
func TestFishCompletes(t *testing.T) {
	fish, err := exec.LookPath("fish")
	if err != nil {
		t.Skip("no fish")
	}
	_, script, _ := runCmd(t, "completion", "fish")
	f := filepath.Join(t.TempDir(), "patwatch.fish")
	os.WriteFile(f, []byte(script), 0o644)
	for line, want := range map[string][]string{
		"patwatch ap":                 {"apply"},
		"patwatch apply --fo":         {"--format"},
		"patwatch plan --format ":     {"text", "json", "markdown"},
		"patwatch watch --log-level ": {"debug", "warn"},
		"patwatch completion ":        {"bash", "zsh", "fish"},
	} {
		out, err := exec.Command(fish, "--no-config", "-c", "source "+shQuote(f)+"; complete -C "+shQuote(line)).CombinedOutput()
		if err != nil {
			t.Fatalf("%q: %v\n%s", line, err, out)
		}
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			w, _, _ := strings.Cut(l, "\t")
			got = append(got, w)
		}
		for _, w := range want {
			if !contains(got, w) {
				t.Errorf("%q: offers %v, lacks %s", line, got, w)
			}
		}
	}
}
