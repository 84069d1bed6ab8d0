package main

import (
	"context"
	"flag"
	"io"
	"strings"
	"time"

	"github.com/patwatch/patwatch/internal/patsnap"
	"github.com/patwatch/patwatch/internal/runner"
)

// env is the process environment as the commands see it: the streams, the
// environment variables, the clock and the signals. Nothing below run reads
// os.Args, os.Getenv or os.Stdout directly.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// now is the clock change reports are dated by; nil: time.Now. Tests
	// set it to the fake API's clock.
	now func() time.Time
	// reload, when set, subscribes to the signal that makes watch reload
	// the spec and run at once (SIGHUP); the returned function unsubscribes.
	reload func() (<-chan struct{}, func())
	// tuneClient, when set, adjusts the API client's configuration. Only
	// tests set it (to inject the clock and sleep of retries); run never does.
	tuneClient func(*patsnap.Config)
	// flagSink, when set, is given every FlagSet a command creates: help
	// and completion learn a command's flags by running it with -h.
	flagSink func(*flag.FlagSet)
	// tuneDrawings, when set, adjusts the drawings step of a run (its
	// timeouts, where image links go). Only tests set it.
	tuneDrawings func(*runner.Drawings)
}

// clock returns the time now.
func (e env) clock() time.Time {
	if e.now != nil {
		return e.now()
	}
	return time.Now()
}

// commands is the command table: help, the command list, completion and
// "did you mean" are all generated from it and from the flags each command
// registers.
func commands() []command {
	return []command{
		{name: "init", summary: "write a starter patwatch.yaml, .gitignore lines and, with --ci github, CI workflows", run: runInit,
			about: "init writes a starter spec (the schema line for editors, one commented search and report) and adds the " +
				"lines for patwatch's side files to .gitignore; with --ci github it also writes the GitHub Actions " +
				"workflows of examples/ci. It never overwrites a file: if one it would write exists, it writes nothing.",
			examples: []string{
				"patwatch init",
				"patwatch init --ci github          # also .github/workflows/patwatch-*.yml",
				"patwatch init -f watch/designs.yaml",
			}},
		{name: "validate", summary: "check a spec and report every problem in it", run: runValidate,
			exits: []exitMeaning{{exitOK, "the spec is valid"}, {exitError, "the spec has problems (each is listed), cannot be read, or a flag is wrong"}},
			about: "validate reads the spec and reports every problem at once, as FILE:LINE:COL: field: message, " +
				"with a hint where one helps. It calls no API and needs no credentials.",
			examples: []string{
				"patwatch validate",
				"patwatch validate -f examples/quickstart.yaml",
				"cat patwatch.yaml | patwatch validate -f -",
			}},
		{name: "plan", summary: "show what apply would change, reading the API but changing nothing", run: runPlan,
			about: "plan refreshes every search and reads every report job's status, then prints what apply would change. " +
				"It writes nothing: no state, no report job, no file. With --offline it calls no API at all and compares " +
				"the spec with the state only, which is what the review of a pull request needs.",
			examples: []string{
				"patwatch plan",
				"patwatch plan --offline --format markdown --out plan.md --detailed-exitcode",
				"patwatch plan --sandbox -f examples/quickstart.yaml",
			}},
		{name: "apply", summary: "reconcile once: refresh searches, handle report jobs, save the state", run: runApply,
			about: "apply refreshes every search, submits missing report jobs, polls pending ones, downloads finished ones " +
				"into --reports-dir, saves the state once and prints the change report. What succeeded is saved even " +
				"when something else failed.",
			examples: []string{
				"patwatch apply --sandbox -f examples/quickstart.yaml   # no credentials, no network",
				"patwatch apply --format markdown --out change.md --detailed-exitcode",
				"patwatch apply --format html --out changes.html   # the query images beside the new hits' drawings",
				"patwatch apply --lock-timeout 10m",
			}},
		{name: "watch", summary: "apply now, on a schedule, and whenever the spec changes", run: runWatch,
			about: "watch applies at once, again every --interval (else the spec's interval, else 1h), within about a second " +
				"of any save of the spec, and on SIGHUP (which also reloads the spec); pending report jobs are polled " +
				"every --poll-interval until they finish. It runs until SIGINT or SIGTERM, then exits 0 with the state " +
				"saved. Only one watch may use a state at a time.",
			examples: []string{
				"patwatch watch",
				"patwatch watch --format json >> changes.jsonl",
				"patwatch watch --format html --out latest.html   # rewritten after every run",
				"patwatch watch --interval 6h --sandbox -f examples/quickstart.yaml",
				"kill -HUP $(pgrep -f 'patwatch watch')   # reload the spec and run now",
			},
			exits: []exitMeaning{
				{exitOK, "stopped by SIGINT or SIGTERM; the state is saved"},
				{exitError, "could not start: invalid spec or flags, the state unreadable, or another watch on the same state"},
			}},
		{name: "show", summary: "print what the state holds", run: runShow,
			about: "show prints the state: each search with its recorded hits, each report with its job and file; " +
				"--format html draws a gallery of every hit each search holds, best score first, with the drawings " +
				"patwatch kept. It needs no spec; -f only locates the state beside it (and gives the gallery its links).",
			examples: []string{
				"patwatch show",
				"patwatch show --format json | jq '.searches | keys'",
				"patwatch show --format html --out gallery.html",
			}},
		{name: "schema", summary: "print the spec's JSON Schema", run: runSchema,
			about: "schema prints the JSON Schema (draft 2020-12) that editors check a spec against as it is typed; " +
				"the first line of a spec, # yaml-language-server: $schema=..., points an editor at it.",
			examples: []string{"patwatch schema > spec.schema.json"}},
		{name: "completion", summary: "print a shell completion script for bash, zsh or fish", args: "bash|zsh|fish", run: runCompletion,
			about: "completion prints a script that completes patwatch's commands, their flags and the flags' values " +
				"in the named shell.",
			examples: []string{
				"source <(patwatch completion bash)                       # add it to ~/.bashrc",
				"patwatch completion zsh > \"${fpath[1]}/_patwatch\"",
				"patwatch completion fish > ~/.config/fish/completions/patwatch.fish",
			}},
		{name: "version", summary: "print patwatch's version", run: runVersion,
			examples: []string{"patwatch version", "patwatch version --format json"}},
	}
}

// run is the whole program; main only wires it to the process.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runEnv(ctx, env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}, args)
}

// runEnv dispatches args to their command.
func runEnv(ctx context.Context, e env, args []string) int {
	if len(args) == 0 {
		overview(e.stderr)
		return exitError
	}
	switch args[0] {
	case "-h", "-help", "--help":
		overview(e.stdout)
		return exitOK
	case "help":
		return runHelp(ctx, e, args[1:])
	case "-version", "--version":
		args = append([]string{"version"}, args[1:]...)
	}
	if strings.HasPrefix(args[0], "-") {
		printError(e.stderr, flagBeforeCommand(args))
		return exitError
	}
	c, rest, err := findCommand(commands(), args)
	if err != nil {
		printError(e.stderr, err)
		return exitError
	}
	if c.run == nil { // a group such as "state": its help
		if len(rest) == 0 {
			groupHelp(e.stderr, c)
			return exitError
		}
		groupHelp(e.stdout, c)
		return exitOK
	}
	return c.run(ctx, e, rest)
}
