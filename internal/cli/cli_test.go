package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/patwatch/patwatch/internal/flagvalue"
)

// testEnv is the environment of the test program: its two streams and the
// sink of the FlagSets its commands create.
type testEnv struct {
	stdout, stderr io.Writer
	sink           func(*flag.FlagSet)
}

// testApp is a tiny program, prog: show (flags, positional names), state
// (a group: pull, push FILE), completion (a choice of words), and the
// program flag -C.
func testApp() *App[testEnv] {
	a := &App[testEnv]{
		Name:     "prog",
		Intro:    "prog: a test program\n\nusage: prog COMMAND [flags]",
		Outro:    "Run 'prog help COMMAND'.",
		Output:   func(e testEnv) (io.Writer, io.Writer) { return e.stdout, e.stderr },
		FlagSink: func(e testEnv) func(*flag.FlagSet) { return e.sink },
		Quiet: func(sink func(*flag.FlagSet)) testEnv {
			return testEnv{stdout: io.Discard, stderr: io.Discard, sink: sink}
		},
		Exits: func(name string, fs *flag.FlagSet) []Exit {
			return []Exit{{Code: 0, Meaning: "success"}, {Code: 1, Meaning: name + " failed"}}
		},
		Global: func(e testEnv, args []string) ([]string, bool, error) {
			if args[0] != "-C" {
				return args, false, nil
			}
			if len(args) < 2 {
				return nil, true, errors.New("-C needs a directory")
			}
			fmt.Fprintf(e.stdout, "in %s\n", args[1])
			return args[2:], true, nil
		},
		CommandHint: func(name string) string {
			if strings.HasSuffix(name, ".yaml") {
				return "name the spec with -f " + name
			}
			return ""
		},
		ArgumentHint: func(arg string) string {
			if arg == "-" {
				return "standard input is read with -f -"
			}
			return ""
		},
		FlagHint: func(fs *flag.FlagSet, name string) string {
			if name == "json" {
				return "prog writes JSON with --format json"
			}
			return ""
		},
		FilePlaceholders: []string{"SPEC"},
	}
	run := func(name string, define func(fs *flag.FlagSet), positional bool) func(context.Context, testEnv, []string) error {
		return func(_ context.Context, e testEnv, args []string) error {
			fs := a.FlagSet(e, name)
			define(fs)
			if !positional {
				if err := a.ParseFlags(fs, args); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "ran %s\n", name)
				return nil
			}
			pos, err := a.ParseArgs(fs, args)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "ran %s %v\n", name, pos)
			return nil
		}
	}
	a.Commands = []Command[testEnv]{
		{Name: "show", Summary: "print the state", Args: "[NAME...]", About: "show prints the state.",
			Examples: []string{"prog show", "prog show a   # that one only"},
			Run: run("show", func(fs *flag.FlagSet) {
				fs.String("f", "", "read the `SPEC`")
				var format string
				flagvalue.ChoiceVar(fs, &format, "format", "text", "format", []string{"text", "json"}, "output format")
				fs.String("out", "", "write to `DIR`")
			}, true)},
		{Name: "state", Summary: "work with the state", About: "state's subcommands move a state.", Sub: []Command[testEnv]{
			{Name: "pull", Summary: "print the state", Run: run("state pull", func(fs *flag.FlagSet) {}, false)},
			{Name: "push", Summary: "replace the state", Args: "FILE", Exits: []Exit{{Code: 0, Meaning: "pushed"}},
				Run: run("state push", func(fs *flag.FlagSet) { fs.Bool("force", false, "push an older state") }, true)},
		}},
		{Name: "completion", Summary: "print a completion script", Args: "bash|zsh|fish",
			Run: run("completion", func(fs *flag.FlagSet) { fs.String("o", "", "write the script to `FILE`") }, true)},
	}
	return a
}

// runTest runs prog with args and returns its exit status and output.
func runTest(args ...string) (code int, stdout, stderr string) {
	var out, errOut strings.Builder
	code = testApp().Main(context.Background(), testEnv{stdout: &out, stderr: &errOut}, args)
	return code, out.String(), errOut.String()
}

// TestMainDispatch pins dispatch, and how every mistake on the command line is
// explained: one error line, then hints, and exit 1.
func TestMainDispatch(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // a prefix of standard output
		stderr string // all of standard error
	}{
		{"command", []string{"show", "a", "--format", "json", "b"}, 0, "ran show [a b]\n", ""},
		{"subcommand", []string{"state", "push", "x.json", "--force"}, 0, "ran state push [x.json]\n", ""},
		{"global flag", []string{"-C", "dir", "state", "pull"}, 0, "in dir\nran state pull\n", ""},
		{"global flag fails", []string{"-C"}, 1, "", "prog: error: -C needs a directory\n"},
		{"no command", nil, 1, "", "prog: a test program\n\nusage: prog COMMAND [flags]\n\ncommands:\n" +
			"  show        print the state\n  state pull  print the state\n  state push  replace the state\n" +
			"  completion  print a completion script\n\nRun 'prog help COMMAND'.\n"},
		{"overview", []string{"--help"}, 0, "prog: a test program\n", ""},
		{"help", []string{"help"}, 0, "prog: a test program\n", ""},
		{"group alone", []string{"state"}, 1, "", "prog state: work with the state\n\nstate's subcommands move a state.\n\n" +
			"usage: prog state COMMAND [flags]\n\ncommands:\n  pull  print the state\n  push  replace the state\n\n" +
			"Run 'prog help state COMMAND' for a command's flags.\n"},
		{"group help", []string{"state", "-h"}, 0, "prog state: work with the state\n", ""},
		{"help of a group", []string{"help", "state"}, 0, "prog state: work with the state\n", ""},
		{"help of a subcommand", []string{"help", "state", "push"}, 0, "prog state push: replace the state\n", ""},
		{"unknown command", []string{"shw"}, 1, "", "prog: error: unknown command \"shw\"\n" +
			"prog: hint: did you mean prog show?\nprog: hint: run 'prog help' for the list of commands\n"},
		{"unknown command far", []string{"frobnicate"}, 1, "", "prog: error: unknown command \"frobnicate\"\n" +
			"prog: hint: run 'prog help' for the list of commands\n"},
		{"command hint", []string{"watch.yaml"}, 1, "", "prog: error: unknown command \"watch.yaml\"\n" +
			"prog: hint: name the spec with -f watch.yaml\nprog: hint: run 'prog help' for the list of commands\n"},
		{"unknown subcommand", []string{"state", "pul"}, 1, "", "prog: error: unknown command \"state pul\"\n" +
			"prog: hint: did you mean prog state pull?\nprog: hint: run 'prog help state' for its subcommands\n"},
		{"help of no command", []string{"help", "shw"}, 1, "", "prog: error: unknown command \"shw\"\n" +
			"prog: hint: did you mean prog show?\nprog: hint: run 'prog help' for the list of commands\n"},
		{"mistyped flag", []string{"show", "--formt", "json"}, 1, "", "prog: error: show has no flag --formt\n" +
			"prog: hint: did you mean --format?\nprog: hint: run 'prog show -h' for its flags\n"},
		{"flag of another command", []string{"show", "--force"}, 1, "", "prog: error: show has no flag --force\n" +
			"prog: hint: --force is a flag of state push\nprog: hint: run 'prog show -h' for its flags\n"},
		{"flag hint", []string{"show", "-json"}, 1, "", "prog: error: show has no flag --json\n" +
			"prog: hint: prog writes JSON with --format json\nprog: hint: run 'prog show -h' for its flags\n"},
		{"unexpected argument", []string{"state", "pull", "x"}, 1, "", "prog: error: unexpected argument \"x\"\n" +
			"prog: hint: run 'prog state pull -h' for its flags\n"},
		{"argument hint", []string{"state", "pull", "-"}, 1, "", "prog: error: unexpected argument \"-\"\n" +
			"prog: hint: standard input is read with -f -\n"},
		{"flag before command", []string{"--format", "json", "show", "a"}, 1, "", "prog: error: --format json comes before the command\n" +
			"prog: hint: flags go after the command they belong to: prog show --format json a\n"},
		{"flag the command lacks before it", []string{"--force", "show"}, 1, "", "prog: error: --force comes before the command\n" +
			"prog: hint: show has no flag --force\nprog: hint: --force is a flag of state push\nprog: hint: run 'prog show -h' for its flags\n"},
		{"flag before a group", []string{"--force", "state", "push"}, 1, "", "prog: error: --force comes before the command\n" +
			"prog: hint: run 'prog help state' for its subcommands and their flags\n"},
		{"flag without command", []string{"--force"}, 1, "", "prog: error: unknown flag --force: a command comes first\n" +
			"prog: hint: run 'prog help' for the list of commands\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runTest(tt.args...)
			if code != tt.code || !strings.HasPrefix(stdout, tt.stdout) || stderr != tt.stderr {
				t.Errorf("prog %s: exit %d, want %d\nstdout:\n%s\nwant it to start with:\n%s\nstderr:\n%s\nwant:\n%s",
					strings.Join(tt.args, " "), code, tt.code, stdout, tt.stdout, stderr, tt.stderr)
			}
		})
	}
}

// TestHelp pins a command's help, generated from its entry and the flags
// it registers: -h and 'prog help' print the same, and exit 0.
func TestHelp(t *testing.T) {
	want := `prog show: print the state

show prints the state.

usage:
  prog show [-f SPEC] [--format text|json] [--out DIR] [NAME...]

flags:
  -f SPEC             read the SPEC
  --format text|json  output format (default text)
  --out DIR           write to DIR

examples:
  prog show
  prog show a   # that one only

exit codes:
  0  success
  1  show failed
`
	for _, args := range [][]string{{"show", "-h"}, {"help", "show"}, {"show", "--help", "--format", "yaml"}} {
		code, stdout, stderr := runTest(args...)
		if code != 0 || stdout != want || stderr != "" {
			t.Errorf("prog %s: exit %d\n%s\nwant:\n%s\nstderr: %s", strings.Join(args, " "), code, stdout, want, stderr)
		}
	}
	// An entry's own exit codes replace those of App.Exits.
	_, stdout, _ := runTest("state", "push", "-h")
	if !strings.HasSuffix(stdout, "\nexit codes:\n  0  pushed\n") || !strings.Contains(stdout, "\n  prog state push [--force] FILE\n") {
		t.Errorf("state push -h:\n%s", stdout)
	}
}

// TestSynopsisWraps: a synopsis longer than the help's width breaks under
// the command's name, never inside a flag.
func TestSynopsisWraps(t *testing.T) {
	fs := flag.NewFlagSet("apply", flag.ContinueOnError)
	for _, name := range []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliett"} {
		fs.String(name, "", "the `VALUE` of "+name)
	}
	got := synopsis("prog apply", fs, "[FILE]")
	want := "  prog apply [--alpha VALUE] [--bravo VALUE] [--charlie VALUE] [--delta VALUE] [--echo VALUE]\n" +
		"             [--foxtrot VALUE] [--golf VALUE] [--hotel VALUE] [--india VALUE] [--juliett VALUE]\n" +
		"             [FILE]"
	if got != want {
		t.Errorf("synopsis:\n%s\nwant:\n%s", got, want)
	}
	for _, l := range strings.Split(got, "\n") {
		if len(l) > helpWidth {
			t.Errorf("a line of %d columns: %q", len(l), l)
		}
	}
}

func TestWrap(t *testing.T) {
	tests := []struct {
		text   string
		width  int
		indent string
		want   string
	}{
		{"", 10, "", ""},
		{"one two three", 20, "", "one two three"},
		{"one two three four", 10, "", "one two\nthree four"},
		{"one two three four", 12, "  ", "one two\n  three four"},
		{"first para\n\nsecond  one", 40, "> ", "first para\n\n> second one"},
		{"averyveryverylongword x", 5, "", "averyveryverylongword\nx"},
	}
	for _, tt := range tests {
		if got := wrap(tt.text, tt.width, tt.indent); got != tt.want {
			t.Errorf("wrap(%q, %d, %q) = %q, want %q", tt.text, tt.width, tt.indent, got, tt.want)
		}
	}
}

// TestFind: a command line resolves to a command, with its full path as
// name, and the arguments left; a group alone, or asked for help, to the
// group.
func TestFind(t *testing.T) {
	a := testApp()
	tests := []struct {
		args  []string
		name  string
		rest  string
		group bool
	}{
		{[]string{"show", "a", "-f", "x"}, "show", "a -f x", false},
		{[]string{"state", "push", "x.json", "--force"}, "state push", "x.json --force", false},
		{[]string{"state"}, "state", "", true},
		{[]string{"state", "help"}, "state", "help", true},
		{[]string{"state", "-h"}, "state", "-h", true},
	}
	for _, tt := range tests {
		c, rest, err := a.find(a.Commands, tt.args)
		if err != nil || c.Name != tt.name || strings.Join(rest, " ") != tt.rest || (c.Run == nil) != tt.group {
			t.Errorf("find(%v) = %q %v (group %v), %v; want %q %q (group %v)", tt.args, c.Name, rest, c.Run == nil, err, tt.name, tt.rest, tt.group)
		}
	}
	if c := a.lookup("state push"); c == nil || c.Name != "push" {
		t.Errorf("lookup(state push) = %v", c)
	}
	if c := a.lookup("state pul"); c != nil {
		t.Errorf("lookup(state pul) = %v, want nil", c)
	}
}
