package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/patwatch/patwatch/internal/hint"
)

// The exit statuses Main returns for a command's error, but an ExitCode's.
const (
	StatusOK    = 0 // no error, or flag.ErrHelp: -h printed the help
	StatusError = 1 // any other error
)

// ExitCode is an error that sets the exit status and prints nothing:
// StatusError after a failure told in another form (the program without a
// command, or a group without its subcommand, prints its help), a status of
// the program's own, or, last in Failures, StatusOK for a run that did not
// fail but has errors to tell.
type ExitCode int

func (c ExitCode) Error() string { return "exit status " + strconv.Itoa(int(c)) }

// Failures are errors told one after the other, each with its hints; the
// last one sets the exit status.
type Failures []error

func (f Failures) Error() string {
	var msgs []string
	for _, err := range f {
		if _, ok := err.(ExitCode); !ok {
			msgs = append(msgs, err.Error())
		}
	}
	return strings.Join(msgs, "\n")
}

func (f Failures) Unwrap() []error { return f }

// Join returns the errors of errs that are not nil, in order: nil, the
// one, or Failures (never nested).
func Join(errs ...error) error {
	var f Failures
	for _, err := range errs {
		if more, ok := err.(Failures); ok {
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

// status is the exit status err means: StatusOK for none and for
// flag.ErrHelp (-h printed the help), an ExitCode's own, the last one's of
// Failures, StatusError for any other error.
func status(err error) int {
	switch err := err.(type) {
	case nil:
		return StatusOK
	case ExitCode:
		return int(err)
	case Failures:
		return status(err[len(err)-1])
	}
	if errors.Is(err, flag.ErrHelp) {
		return StatusOK
	}
	return StatusError
}

// printError prints err as "PROGRAM: error: …" lines followed by its hints
// as "PROGRAM: hint: …" lines; Failures one after the other. It prints
// nothing for an ExitCode or flag.ErrHelp.
func (a *App[E]) printError(w io.Writer, err error) {
	switch err := err.(type) {
	case ExitCode:
		return
	case Failures:
		for _, e := range err {
			a.printError(w, e)
		}
		return
	}
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(w, "%s: error: %s\n", a.Name, line)
	}
	for _, h := range hint.Of(err) {
		fmt.Fprintf(w, "%s: hint: %s\n", a.Name, h)
	}
}
