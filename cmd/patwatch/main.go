// Command patwatch reconciles a YAML watch list of PatSnap image searches and
// patent value reports with the live API, and reports what changed.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"

	"github.com/patwatch/patwatch/internal/flagvalue"
	"github.com/patwatch/patwatch/internal/hint"
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

// notifyHangup subscribes to SIGHUP, which makes watch reload its spec and
// run at once. Only watch subscribes: every other command keeps SIGHUP's
// default action, ending the process when its terminal goes away.
func notifyHangup() (<-chan struct{}, func()) {
	sig := make(chan os.Signal, 1)
	out := make(chan struct{}, 1)
	done := make(chan struct{})
	signal.Notify(sig, syscall.SIGHUP)
	go func() {
		for {
			select {
			case <-sig:
				select {
				case out <- struct{}{}:
				default: // one pending reload is enough
				}
			case <-done:
				return
			}
		}
	}()
	return out, func() {
		signal.Stop(sig)
		close(done)
	}
}

// Exit codes, as fixed by the user-facing contract.
const (
	exitOK      = 0
	exitError   = 1
	exitChanged = 2 // only with --detailed-exitcode
)

// exitCode is an error that sets the exit status and prints nothing:
// exitError after a failure told in another form (patwatch without a
// command, or a group without its subcommand, prints its help), exitChanged
// for --detailed-exitcode, or, last in failures, exitOK for a run that did
// not fail but has errors to tell.
type exitCode int

func (c exitCode) Error() string { return "exit status " + strconv.Itoa(int(c)) }

// failures are errors told one after the other, each with its hints; the
// last one sets the exit status.
type failures []error

func (f failures) Error() string {
	var msgs []string
	for _, err := range f {
		if _, ok := err.(exitCode); !ok {
			msgs = append(msgs, err.Error())
		}
	}
	return strings.Join(msgs, "\n")
}

func (f failures) Unwrap() []error { return f }

// joinFailures returns the errors of errs that are not nil, in order: nil,
// the one, or failures (never nested).
func joinFailures(errs ...error) error {
	var f failures
	for _, err := range errs {
		if more, ok := err.(failures); ok {
			f = append(f, more...)
		} else if err != nil {
			f = append(f, err)
		}
	}
	switch len(f) {
	case 0:
		return nil
	case 1:
		return f[0]
	}
	return f
}

// exit prints the error a command returned and returns the exit status it
// means.
func exit(w io.Writer, err error) int {
	if err != nil {
		printError(w, err)
	}
	return status(err)
}

// status is the exit status err means: 0 for none and for flag.ErrHelp
// (-h printed the help), an exitCode's own, the last one's of failures, 1
// for any other error.
func status(err error) int {
	switch err := err.(type) {
	case nil:
		return exitOK
	case exitCode:
		return int(err)
	case failures:
		return status(err[len(err)-1])
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	return exitError
}

// printError prints err as "patwatch: error: …" lines followed by its
// hints as "patwatch: hint: …" lines; failures one after the other. It
// prints nothing for an exitCode or flag.ErrHelp.
func printError(w io.Writer, err error) {
	switch err := err.(type) {
	case exitCode:
		return
	case failures:
		for _, e := range err {
			printError(w, e)
		}
		return
	}
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(w, "patwatch: error: %s\n", line)
	}
	for _, h := range hint.Of(err) {
		fmt.Fprintf(w, "patwatch: hint: %s\n", h)
	}
}

// buildInfo is what 'patwatch version' reports.
type buildInfo struct {
	Version  string `json:"version"`
	Commit   string `json:"commit"`             // the VCS revision, "" when the build did not record one
	Modified bool   `json:"modified,omitempty"` // the working tree had changes
	Go       string `json:"go"`
}

func currentBuild() buildInfo {
	b := buildInfo{Version: version, Go: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				b.Commit = s.Value
			case "vcs.modified":
				b.Modified = s.Value == "true"
			}
		}
	}
	return b
}

func runVersion(_ context.Context, e env, args []string) error {
	fs := flagSet(e, "version")
	var format string
	flagvalue.ChoiceVar(fs, &format, "format", "text", "format", []string{"text", "json"}, "output format: text or json")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	b := currentBuild()
	if format == "json" {
		out, err := json.MarshalIndent(b, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s\n", out)
		return nil
	}
	line := "patwatch " + b.Version
	var extra []string
	if b.Commit != "" {
		c := b.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		if b.Modified {
			c += "+modified"
		}
		extra = append(extra, "commit "+c)
	}
	extra = append(extra, b.Go)
	fmt.Fprintf(e.stdout, "%s (%s)\n", line, strings.Join(extra, ", "))
	return nil
}
