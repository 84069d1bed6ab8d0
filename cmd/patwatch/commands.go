package main

import (
	"context"
	"flag"
	"io"
	"os"
	"strings"
	"time"

	"github.com/patwatch/patwatch/internal/cli"
	"github.com/patwatch/patwatch/internal/notify"
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
	// tuneNotifier, when set, adjusts the notifier of a run (tests: the
	// waits between delivery attempts).
	tuneNotifier func(*notify.Notifier)
	// flagSink, when set, is given every FlagSet a command creates: help
	// and completion learn a command's flags by running it with -h.
	flagSink func(*flag.FlagSet)
	// chdir changes the working directory for -chdir (os.Chdir).
	chdir func(dir string) error
	// tuneDrawings, when set, adjusts the drawings step of a run (its
	// timeouts, where image links go). Only tests set it.
	tuneDrawings func(runner.Drawings)
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
		{Name: "init", Summary: "write a starter patwatch.yaml, .gitignore lines and, with --ci github, CI workflows", Run: runInit,
			About: "init writes a starter spec (the schema line for editors, one commented search and report) and adds the " +
				"lines for patwatch's side files to .gitignore; with --ci github it also writes the GitHub Actions " +
				"workflows of examples/ci. It never overwrites a file: if one it would write exists, it writes nothing.",
			Examples: []string{
				"patwatch init",
				"patwatch init --ci github          # also .github/workflows/patwatch-*.yml",
				"patwatch init -f watch/designs.yaml",
			}},
		{Name: "validate", Summary: "check a spec and its decisions file and report every problem in them", Run: runValidate,
			Exits: []cli.Exit{{Code: exitOK, Meaning: "the spec and its decisions file are valid"}, {Code: exitError, Meaning: "the spec or its decisions file has problems (each is listed), cannot be read, or a flag is wrong"}},
			About: "validate reads the spec and its decisions file (patwatch.decisions.yaml beside patwatch.yaml, or the " +
				"spec's decisions field) and reports every problem at once, as FILE:LINE:COL: field: message, " +
				"with a hint where one helps. It calls no API and needs no credentials.",
			Examples: []string{
				"patwatch validate",
				"patwatch validate -f examples/quickstart.yaml",
				"cat patwatch.yaml | patwatch validate -f -",
			}},
		{Name: "fmt", Summary: "rewrite the spec and its decisions file in canonical form", Run: runFmt,
			Exits: []cli.Exit{{Code: exitOK, Meaning: "done; with --check: every file is in canonical form"},
				{Code: exitError, Meaning: "with --check: a file is not in canonical form (each is listed); or a file is not YAML"}},
			About: "fmt rewrites the spec, and its decisions file when there is one, in canonical form: two-space " +
				"indentation, keys in the schema's order, comments and blank lines kept, the meaning unchanged (fmt " +
				"checks that the file decodes to the same data, and refuses otherwise). It lists the files it changed. " +
				"The spec need not be valid, only YAML.",
			Examples: []string{
				"patwatch fmt",
				"patwatch fmt --check --diff   # in CI: show what is not canonical, and fail",
				"patwatch fmt -f - < patwatch.yaml",
			}},
		{Name: "plan", Summary: "show what apply would change, reading the API but changing nothing", Run: runPlan,
			About: "plan refreshes every search and reads every report job's status, then prints what apply would change. " +
				"It takes no lock and writes nothing: no state, no report job, no file (--out and --save write the files " +
				"they name). With --offline it calls no API at all and compares the spec with the state only, which is " +
				"what the review of a pull request needs. With --save FILE, 'patwatch apply FILE' later carries out " +
				"exactly this plan.",
			Examples: []string{
				"patwatch plan",
				"patwatch plan --offline --format markdown --out plan.md --detailed-exitcode",
				"patwatch plan --sandbox -f examples/quickstart.yaml",
				"patwatch plan --offline --format json | jq .calls   # the worst case of the next apply",
				"patwatch plan --save p.plan   # then 'patwatch apply p.plan' carries out exactly this plan",
			}},
		{Name: "apply", Summary: "reconcile once: refresh searches, handle report jobs, save the state", Args: "[FILE]", Run: runApply,
			About: "apply refreshes every search, submits missing report jobs, polls pending ones, downloads finished ones " +
				"into --reports-dir, saves the state once and prints the change report. What succeeded is saved even " +
				"when something else failed. With a notify list in the spec, the run's notifications are saved with its " +
				"changes and then delivered; one that is not delivered stays in the state, is sent again by the next run, " +
				"and makes this one exit 1. Given a plan saved by plan --save FILE, it applies exactly that plan: the hits the " +
				"plan saw, without searching again, and only the report jobs it listed; it refuses a plan whose state, spec " +
				"or decisions file changed since, or that is older than --max-plan-age.",
			Examples: []string{
				"patwatch apply p.plan   # exactly the plan 'patwatch plan --save p.plan' saved",
				"patwatch apply --sandbox -f examples/quickstart.yaml   # no credentials, no network",
				"patwatch apply --format markdown --out change.md --detailed-exitcode",
				"patwatch apply --format html --out changes.html   # the query images beside the new hits' drawings",
				"patwatch apply --lock-timeout 10m",
				"patwatch apply --target phone-designs   # that search only; every other entry stays as it is",
				"patwatch apply --due-only               # from cron: searches with their own interval once it has passed",
			}},
		{Name: "watch", Summary: "apply now, on a schedule, and whenever the spec changes", Run: runWatch,
			About: "watch applies at once, again every --interval (else the spec's interval, else 1h), within about a second " +
				"of any save of the spec, and on SIGHUP (which also reloads the spec); pending report jobs are polled " +
				"every --poll-interval until they finish. It runs until SIGINT or SIGTERM, then exits 0 with the state " +
				"saved. Only one watch may use a state at a time.",
			Examples: []string{
				"patwatch watch",
				"patwatch watch --format json >> changes.jsonl",
				"patwatch watch --format html --out latest.html   # rewritten after every run",
				"patwatch watch --interval 6h --sandbox -f examples/quickstart.yaml",
				"kill -HUP $(pgrep -f 'patwatch watch')   # reload the spec and run now",
			},
			Exits: []cli.Exit{
				{Code: exitOK, Meaning: "stopped by SIGINT or SIGTERM; the state is saved"},
				{Code: exitError, Meaning: "could not start: invalid spec or flags, the state unreadable, or another watch on the same state"},
			}},
		{Name: "notify", Summary: "work with the spec's notification channels",
			About: "Each channel of the spec's notify list gets one message per apply or watch run that has events for it; " +
				"notify's subcommands work with the channels directly.",
			Sub: notifyCommands()},
		{Name: "mark", Summary: "record the analyst's decision on hits in the decisions file", Args: "PATENT_PN...", Run: runMark,
			About: "mark writes the decision on each patent named into the spec's decisions file (docs/decisions.md), " +
				"keeping its comments and order, and dated today; none removes it. Bad input is refused, the file untouched.",
			Examples: []string{"patwatch mark CN305104902S --as not_relevant --note \"kitchen scale\" --by alice", "patwatch mark CN305104902S --as none"}},
		{Name: "inbox", Summary: "list the hits reported new that await a decision", Run: runInbox,
			About: "inbox lists the hits reported new (not by a baseline) that no decision covers, one entry per patent " +
				"across searches, newest first; --format html is the review page, each card with its mark command.",
			Examples: []string{"patwatch inbox --format html --out inbox.html"}},
		{Name: "show", Summary: "print what the state holds", Args: "[NAME...]", Run: runShow,
			About: "show prints the state (only the searches and reports named, when NAME is given): each search with its recorded hits, each report with its job and file; " +
				"--format html draws a gallery of every hit each search holds, best score first, with the drawings " +
				"patwatch kept. It needs no spec; -f only locates the state beside it (and gives the gallery its links).",
			Examples: []string{
				"patwatch show",
				"patwatch show --format json | jq '.searches | keys'",
				"patwatch show --format html --out gallery.html",
				"patwatch show phone-designs      # that search only",
			}},
		{Name: "state", Summary: "list or forget the state's entries; pull or push the state between files and databases",
			About: "state list lists the entries a state holds; state rm forgets those that left the spec. " +
				"state pull prints a state as the state file's JSON; state push replaces a state with a state file. " +
				"All work for every kind of state (a file, or a postgres:// URL), so pulling from one and pushing to " +
				"another moves a state.",
			Sub: stateCommands()},
		{Name: "schema", Summary: "print the spec's JSON Schema (or the decisions file's)", Run: runSchema,
			About: "schema prints the JSON Schema (draft 2020-12) that editors check a spec against as it is typed; " +
				"the first line of a spec, # yaml-language-server: $schema=..., points an editor at it. With --decisions " +
				"it prints the decisions file's.",
			Examples: []string{"patwatch schema > spec.schema.json", "patwatch schema --decisions > decisions.schema.json"}},
		{Name: "completion", Summary: "print a shell completion script for bash, zsh or fish", Args: "bash|zsh|fish", Run: runCompletion,
			About: "completion prints a script that completes patwatch's commands, their flags and the flags' values " +
				"in the named shell.",
			Examples: []string{
				"source <(patwatch completion bash)                       # add it to ~/.bashrc",
				"patwatch completion zsh > \"${fpath[1]}/_patwatch\"",
				"patwatch completion fish > ~/.config/fish/completions/patwatch.fish",
			}},
		{Name: "version", Summary: "print patwatch's version", Run: runVersion,
			Examples: []string{"patwatch version", "patwatch version --format json"}},
	}
}

// notifyCommands are the subcommands of notify.
func notifyCommands() []command {
	return []command{
		{Name: "test", Summary: "send a test message to each channel (all when none is named)", Args: "[NAME...]", Run: runNotifyTest,
			About: "notify test sends a message whose only event is {\"kind\": \"test\"} to each named channel of the spec, " +
				"or to all of them, and prints one line per channel. It reads the channels' URLs and keys from the " +
				"environment as apply does, and needs no state and no PatSnap credentials.",
			Examples: []string{
				"patwatch notify test",
				"patwatch notify test ip-team -f watch/designs.yaml",
			},
			Exits: []cli.Exit{{Code: exitOK, Meaning: "every channel accepted its test message"}, {Code: exitError, Meaning: "a delivery failed (each is listed), the spec is invalid, or a name is not a channel"}}},
	}
}

// stateCommands are the subcommands of state.
func stateCommands() []command {
	return []command{
		{Name: "list", Summary: "list the searches and reports the state holds", Run: runStateList,
			About: "list prints one line per entry of the state: its kind (search or report), name, status (active, " +
				"suspended, removed from the spec, or retired until the day it goes), hits, and the last successful " +
				"refresh where the state records it (searches with their own interval, or under a daily budget). " +
				"The spec, when there is one, says which are suspended or removed. It takes no lock.",
			Examples: []string{
				"patwatch state list",
				"patwatch state list --format json | jq -r '.entries[] | select(.status == \"retired\") | .name'",
			}},
		{Name: "rm", Summary: "forget entries that left the spec, now rather than after 30 days", Args: "NAME...", Run: runStateRm,
			About: "rm forgets each named search or report that is no longer in the spec (retired, or removed and not " +
				"yet retired by an apply), under the state's lock: an entry added back later starts with a new baseline " +
				"or a new report job. Downloaded report files stay. An entry still in the spec is refused.",
			Examples: []string{
				"patwatch state rm old-designs",
			}},
		{Name: "pull", Summary: "print the state as the state file's JSON", Run: runStatePull,
			About: "pull prints the state (by default $PATWATCH_STATE, else patwatch.state.json beside the spec) as " +
				"the state file's JSON, exactly the bytes a state file holding it has. --serial prints an earlier " +
				"serial: a database keeps every one, a state file its backup's. It takes no lock.",
			Examples: []string{
				"patwatch state pull > backup.json",
				"patwatch state pull --state 'postgres://db/ip?state=team-a' --serial 41",
			}},
		{Name: "push", Summary: "replace the state with a state file", Args: "FILE", Run: runStatePush,
			About: "push replaces the state with FILE (- reads standard input), under the state's lock. It refuses " +
				"a state of another lineage, or one older than the current (a lower serial, or the same serial " +
				"with other content), unless --force; a forced push gets the serial after the current one, so " +
				"that serials never go back.",
			Examples: []string{
				"patwatch state push patwatch.state.json --state 'postgres://db/ip?state=team-a'",
				"patwatch state pull --state 'postgres://db/ip' | patwatch state push - --state patwatch.state.json",
			}},
	}
}

// run is the whole program; main only wires it to the process, whose
// SIGHUP makes watch reload its spec.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runEnv(ctx, env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr, reload: notifyHangup, chdir: os.Chdir}, args)
}

// runEnv runs the command args name and returns its exit status, having
// printed the error it ended with.
func runEnv(ctx context.Context, e env, args []string) int {
	return app().Main(ctx, e, args)
}

// command is an entry of patwatch's command table.
type command = cli.Command[env]

// app is patwatch's command line: the command table, the overview's texts,
// and patwatch's hints and exit codes.
func app() *cli.App[env] {
	return &cli.App[env]{
		Name:     "patwatch",
		Commands: commands(),
		Intro: "patwatch: reconcile a watch list of PatSnap image searches and patent value reports\n\n" +
			"usage: patwatch COMMAND [flags]\n" +
			"       patwatch -chdir=DIR COMMAND [flags]   # as if started in DIR",
		Outro: "Run 'patwatch help COMMAND' (or 'patwatch COMMAND -h') for a command's flags, examples and exit codes.\n" +
			"New here? 'patwatch init' writes a starter spec; 'patwatch apply --sandbox' runs one without credentials.",
		Output:   func(e env) (io.Writer, io.Writer) { return e.stdout, e.stderr },
		FlagSink: func(e env) func(*flag.FlagSet) { return e.flagSink },
		Quiet: func(sink func(*flag.FlagSet)) env {
			return env{getenv: func(string) string { return "" }, stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, flagSink: sink}
		},
		Exits:            exitCodes,
		Global:           global,
		CommandHint:      specAsCommand,
		ArgumentHint:     specAsArgument,
		FlagHint:         terraformHint,
		FilePlaceholders: []string{"SPEC"},
	}
}

// exitCodes are the exit codes help lists for a command that sets none:
// those of --detailed-exitcode when it takes that flag.
func exitCodes(name string, fs *flag.FlagSet) []cli.Exit {
	if fs.Lookup("detailed-exitcode") == nil {
		return []cli.Exit{{Code: exitOK, Meaning: "success"}, {Code: exitError, Meaning: "error: invalid spec, flags or arguments, or the command failed"}}
	}
	// plan takes no lock, saves nothing and sends nothing.
	failed := "error: invalid spec or flags, state unreadable, or a search or report that failed (plan changes nothing either way)"
	if name != "plan" {
		failed = "error: invalid spec or flags, state unreadable or locked, or a search or report that failed, " +
			"or a notification not delivered (what succeeded is still saved)"
	}
	return []cli.Exit{
		{Code: exitOK, Meaning: "success; with --detailed-exitcode: success and nothing changed"},
		{Code: exitError, Meaning: failed},
		{Code: exitChanged, Meaning: "only with --detailed-exitcode: success, and the change report is not empty"},
	}
}

// specAsCommand is the hint for a spec named where a command goes.
func specAsCommand(name string) string {
	if strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml") {
		return "name the spec after the command: patwatch apply -f " + name
	}
	return ""
}

// specAsArgument is the hint for a spec named as a positional argument.
func specAsArgument(arg string) string {
	if looksLikeSpec(arg) {
		return "name the spec with -f " + arg
	}
	return ""
}

// looksLikeSpec reports whether the argument arg names a spec: a YAML
// file, or standard input.
func looksLikeSpec(arg string) bool {
	return strings.HasSuffix(arg, ".yaml") || strings.HasSuffix(arg, ".yml") || arg == "-"
}

// flagSet returns the FlagSet of the command named name (its full path,
// such as "apply" or "state push"), whose -h prints the command's help.
func flagSet(e env, name string) *flag.FlagSet { return app().FlagSet(e, name) }

// parseFlags parses args, which must hold flags only; an error ends the
// command (cli.App.ParseFlags).
func parseFlags(fs *flag.FlagSet, args []string) error { return app().ParseFlags(fs, args) }

// parseArgs parses args, flags and positional arguments in any order, and
// returns the positional ones; an error ends the command (cli.App.ParseArgs).
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) { return app().ParseArgs(fs, args) }

// unexpectedArgument is the error of the positional argument arg, which
// the command of fs does not take.
func unexpectedArgument(fs *flag.FlagSet, arg string) error {
	return app().UnexpectedArgument(fs, arg)
}
