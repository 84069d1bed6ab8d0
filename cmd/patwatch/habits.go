package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"strings"

	"github.com/patwatch/patwatch/internal/hint"
)

// Terraform's command-line habits, met where a Terraform user's hands go
// first: -chdir before the command, and the hints for Terraform's
// spellings of what patwatch calls otherwise.

// global runs patwatch's own flags, which go before the command: -chdir,
// and --version for the version command.
func global(e env, args []string) (rest []string, ok bool, err error) {
	switch args[0] {
	case "-version", "--version":
		return append([]string{"version"}, args[1:]...), true, nil
	}
	return chdir(e, args)
}

// chdir runs a leading -chdir=DIR (or -chdir DIR, --chdir…) of args: the
// command runs as if started in DIR. It returns the arguments after it,
// and ok false when args do not start with one.
func chdir(e env, args []string) (rest []string, ok bool, err error) {
	name, dir, hasValue := strings.Cut(strings.TrimLeft(args[0], "-"), "=")
	if !strings.HasPrefix(args[0], "-") || name != "chdir" {
		return args, false, nil
	}
	rest = args[1:]
	if !hasValue && len(rest) > 0 {
		dir, rest = rest[0], rest[1:]
	}
	if dir == "" || e.chdir == nil {
		return nil, true, hint.Wrap(errors.New("-chdir needs a directory"), "for example: patwatch -chdir=watch/designs plan")
	}
	if err := e.chdir(dir); err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, true, hint.Wrap(fmt.Errorf("-chdir=%s: %w", dir, err), "name a directory that exists; relative paths are from the working directory")
	}
	return rest, true, nil
}

// terraformHint says what patwatch calls the Terraform flag name that fs
// (a command's flags) does not take; "" when it is none of Terraform's.
func terraformHint(fs *flag.FlagSet, name string) string {
	switch cmd := fs.Name(); {
	case name == "json" && fs.Lookup("format") != nil:
		return fmt.Sprintf("patwatch writes JSON with --format json: patwatch %s --format json", cmd)
	case name == "auto-approve" && cmd == "apply":
		return "apply never asks for approval: leave -auto-approve out; to review first, " +
			"patwatch plan --save FILE, then patwatch apply FILE applies exactly that plan"
	case name == "no-color":
		return "patwatch colours only the logs, and only on a terminal: set NO_COLOR=1, or --log-format json"
	case name == "lock" && cmd == "plan":
		return "plan takes no lock: leave -lock out"
	case name == "lock":
		return cmd + " always locks the state, so that two runs never write it at once; a lock a dead run left is " +
			"freed with it, and --lock-timeout DURATION waits for a live one"
	case name == "chdir":
		return "-chdir goes before the command: patwatch -chdir=DIR " + cmd
	}
	return ""
}
