package main

import (
	"context"
	"fmt"
	"io"

	"github.com/rogpeppe/go-internal/diff"

	"github.com/patwatch/patwatch/internal/cli"
	"github.com/patwatch/patwatch/spec"
)

// runFmt rewrites the spec and its decisions file in canonical form,
// listing the files it changed (with --check, those it would).
func runFmt(_ context.Context, e env, args []string) error {
	flags := flagSet(e, "fmt")
	specPath := flags.String("f", defaultSpec, "the `SPEC` to format; - formats standard input to standard output")
	check := flags.Bool("check", false, "change nothing: list the files not in canonical form, and exit 1 if there are any")
	showDiff := flags.Bool("diff", false, "print the changes as a unified diff")
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	var files []spec.Formatted
	var err error
	if *specPath == "-" {
		f := spec.Formatted{Path: stdinName}
		if f.Before, err = io.ReadAll(io.LimitReader(e.stdin, spec.MaxFileSize+1)); err == nil {
			f.After, err = spec.Format(f.Before)
		}
		if err == nil && !*check && !*showDiff {
			_, err = e.stdout.Write(f.After)
			return err
		}
		files = []spec.Formatted{f}
	} else {
		files, err = spec.FormatFiles(*specPath)
	}
	if err != nil {
		return specError(e.stderr, *specPath, err)
	}
	changed := false
	for _, f := range files {
		if !f.Changed() {
			continue
		}
		changed = true
		switch {
		case *showDiff:
			e.stdout.Write(diff.Diff(f.Path, f.Before, f.Path+" (fmt)", f.After))
		default:
			fmt.Fprintln(e.stdout, f.Path)
		}
		if !*check && *specPath != "-" {
			if err := spec.Rewrite(f.Path, f.After); err != nil {
				return err
			}
		}
	}
	if *check && changed {
		return cli.ExitCode(exitError)
	}
	return nil
}
