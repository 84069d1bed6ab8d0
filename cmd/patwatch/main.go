// Command patwatch reconciles a YAML watch list of PatSnap image searches and
// patent value reports with the live API, and reports what changed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"strings"
	"syscall"

	"github.com/patwatch/patwatch/internal/patsnap"
)

// version is set at build time with -ldflags "-X main.version=…"; without
// it, a binary installed with go install reports its module version.
var version = "dev"

func init() {
	if version != "dev" {
		return
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		version = bi.Main.Version
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// The first signal cancels the run, which saves what it completed;
		// a second one gets the default action and ends the process at once.
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes, as fixed by the user-facing contract.
const (
	exitOK      = 0
	exitError   = 1
	exitChanged = 2 // only with --detailed-exitcode
)

// env is the process environment as the commands see it: the streams, the
// environment variables and the working directory. Nothing below run reads
// os.Args, os.Getenv or os.Stdout directly.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// tuneClient, when set, adjusts the API client's configuration. Only
	// tests set it (to inject the clock and sleep of retries); run never does.
	tuneClient func(*patsnap.Config)
}

// command is one subcommand. run returns the exit code; errors are printed by
// the caller through report.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e env, args []string) int
}

func commands() []command {
	return []command{
		{"validate", "check a spec and report every problem in it", runValidate},
		{"plan", "show what apply would change, reading the API but changing nothing", runPlan},
		{"apply", "reconcile once: refresh searches, handle report jobs, save the state", runApply},
		{"watch", "apply now, on a schedule, and whenever the spec changes", runWatch},
		{"show", "print what the state file holds", runShow},
		{"state", "pull or push the state: move it between files and databases", runState},
		{"schema", "print the spec's JSON Schema", runSchema},
		{"version", "print patwatch's version", runVersion},
	}
}

// run is the whole program; main only wires it to the process.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runEnv(ctx, env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}, args)
}

func runEnv(ctx context.Context, e env, args []string) int {
	if len(args) == 0 {
		usage(e.stderr)
		return exitError
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help", "help":
		usage(e.stdout)
		return exitOK
	case "-version", "--version":
		name = "version"
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, e, args[1:])
		}
	}
	printError(e.stderr, fmt.Errorf("unknown command %q", name), "run 'patwatch help' for the list of commands")
	return exitError
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "patwatch: reconcile a watch list of PatSnap image searches and patent value reports")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "usage: patwatch COMMAND [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	cs := commands()
	sort.Slice(cs, func(i, j int) bool { return cs[i].name < cs[j].name })
	for _, c := range cs {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'patwatch COMMAND -h' for a command's flags.")
}

// hinted is an error that carries hint lines for the user.
type hinted struct {
	err   error
	hints []string
}

func (h *hinted) Error() string { return h.err.Error() }
func (h *hinted) Unwrap() error { return h.err }

// withHint attaches hints to err, printed as "patwatch: hint: …" lines.
func withHint(err error, hints ...string) error {
	if err == nil {
		return nil
	}
	return &hinted{err: err, hints: hints}
}

// printError prints err as "patwatch: error: …" and its hints, plus extra ones.
func printError(w io.Writer, err error, extra ...string) {
	msg := err.Error()
	for _, line := range strings.Split(msg, "\n") {
		fmt.Fprintf(w, "patwatch: error: %s\n", line)
	}
	var hints []string
	var h *hinted
	if errors.As(err, &h) {
		hints = append(hints, h.hints...)
	}
	// Errors of other packages that know what to do next say so with Hint
	// (a damaged or locked state file, say).
	var hh interface{ Hint() string }
	if errors.As(err, &hh) && hh.Hint() != "" {
		hints = append(hints, hh.Hint())
	}
	hints = append(hints, extra...)
	for _, hint := range hints {
		fmt.Fprintf(w, "patwatch: hint: %s\n", hint)
	}
}

// flagSet returns a FlagSet for a command that reports parse errors on
// stderr and never exits the process.
func flagSet(e env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: patwatch %s\n\nflags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args and rejects positional arguments. It returns
// (exit code, false) when the command must stop: -h prints usage and exits
// 0, anything else wrong exits 1, as the contract's exit codes say.
func parseFlags(fs *flag.FlagSet, args []string) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitError, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "patwatch: error: unexpected argument %q\n", fs.Arg(0))
		if strings.HasSuffix(fs.Arg(0), ".yaml") || strings.HasSuffix(fs.Arg(0), ".yml") {
			fmt.Fprintf(fs.Output(), "patwatch: hint: name the spec with -f %s\n", fs.Arg(0))
		}
		return exitError, false
	}
	return exitOK, true
}

func runVersion(_ context.Context, e env, args []string) int {
	fs := flagSet(e, "version", "version")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	fmt.Fprintf(e.stdout, "patwatch %s\n", version)
	return exitOK
}
