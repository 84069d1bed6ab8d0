package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/patwatch/patwatch/internal/hint"
)

// Terraform's command-line habits, met where a Terraform user's hands go
// first: -chdir before the command, and the hints for Terraform's
// spellings of what patwatch calls otherwise.

// chdirArg reads a leading -chdir=DIR (or -chdir DIR, --chdir…) from args:
// the directory and the arguments after it; ok is false when args do not
// start with one.
func chdirArg(args []string) (dir string, rest []string, ok bool, err error) {
	name, value, hasValue := strings.Cut(strings.TrimLeft(args[0], "-"), "=")
	if !strings.HasPrefix(args[0], "-") || name != "chdir" {
		return "", args, false, nil
	}
	rest = args[1:]
	if !hasValue {
		if len(rest) == 0 {
			return "", nil, true, hint.Wrap(errors.New("-chdir needs a directory"), "for example: patwatch -chdir=watch/designs plan")
		}
		value, rest = rest[0], rest[1:]
	}
	if value == "" {
		return "", nil, true, hint.Wrap(errors.New("-chdir needs a directory"), "for example: patwatch -chdir=watch/designs plan")
	}
	return value, rest, true, nil
}

// changeDir is -chdir: the command runs as if started in dir.
func changeDir(e env, dir string) error {
	if e.chdir == nil {
		return errors.New("-chdir is not available here")
	}
	if err := e.chdir(dir); err != nil {
		return hint.Wrap(fmt.Errorf("-chdir=%s: %w", dir, unwrapPathErr(err)), "name a directory that exists; relative paths are from the working directory")
	}
	return nil
}

// unwrapPathErr drops the operation and path of an *fs.PathError, which
// the message already names.
func unwrapPathErr(err error) error {
	var pe interface{ Unwrap() error }
	if errors.As(err, &pe) {
		if inner := pe.Unwrap(); inner != nil {
			return inner
		}
	}
	return err
}

// terraformHint says what patwatch calls the Terraform flag name that fs
// (the command's flags) does not take; "" when it is none of Terraform's.
func terraformHint(fs *flag.FlagSet, name string) string {
	cmd := fs.Name()
	switch name {
	case "json":
		if fs.Lookup("format") != nil {
			return fmt.Sprintf("patwatch writes JSON with --format json: patwatch %s --format json", cmd)
		}
	case "auto-approve":
		if cmd == "apply" {
			return "apply never asks for approval: leave -auto-approve out; to review first, " +
				"patwatch plan --save FILE, then patwatch apply FILE applies exactly that plan"
		}
	case "no-color":
		return "patwatch colours only the logs, and only on a terminal: set NO_COLOR=1, or --log-format json"
	case "lock":
		if cmd == "plan" {
			return "plan takes no lock: leave -lock out"
		}
		return cmd + " always locks the state, so that two runs never write it at once; a lock a dead run left is " +
			"freed with it, and --lock-timeout DURATION waits for a live one"
	case "chdir":
		return fmt.Sprintf("-chdir goes before the command: patwatch -chdir=DIR %s", cmd)
	}
	return ""
}

// flagBeforeCommand explains a command line that starts with a flag:
// patwatch's flags (but -chdir) belong to its commands. It suggests the
// command line with the flags moved after the command when the command
// takes every one of them, and says whose flags they are otherwise.
func flagBeforeCommand(args []string) error {
	for i, a := range args {
		c := lookupCommand(a)
		if c == nil || strings.HasPrefix(a, "-") {
			continue
		}
		err := fmt.Errorf("%s comes before the command", strings.Join(args[:i], " "))
		fs := describe(*c)
		if fs == nil {
			return hint.Wrap(err, "run 'patwatch help "+a+"' for its subcommands and their flags")
		}
		for _, f := range args[:i] {
			name, _, _ := strings.Cut(strings.TrimLeft(f, "-"), "=")
			if strings.HasPrefix(f, "-") && fs.Lookup(name) == nil {
				return hint.Wrap(err, append([]string{fmt.Sprintf("%s has no flag %s", fs.Name(), flagName(name))}, flagHints(fs, name)...)...)
			}
		}
		fixed := append(append([]string{a}, args[:i]...), args[i+1:]...)
		return hint.Wrap(err, "flags go after the command they belong to: patwatch "+strings.Join(fixed, " "))
	}
	return hint.Wrap(fmt.Errorf("unknown flag %s: a command comes first", args[0]),
		"run 'patwatch help' for the list of commands")
}
