package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/rogpeppe/go-internal/diff"

	"github.com/patwatch/patwatch/spec"
)

// runFmt rewrites the spec and its decisions file in canonical form.
func runFmt(_ context.Context, e env, args []string) error {
	flags := flagSet(e, "fmt")
	specPath := flags.String("f", defaultSpec, "the `SPEC` to format; - formats standard input to standard output")
	check := flags.Bool("check", false, "change nothing: list the files not in canonical form, and exit 1 if there are any")
	showDiff := flags.Bool("diff", false, "print the changes as a unified diff")
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	if *specPath == "-" {
		return fmtStdin(e, *check)
	}
	files := []fmtFile{{path: *specPath, format: spec.Format}}
	if d := spec.DecisionsPath(*specPath); exists(d) {
		files = append(files, fmtFile{path: d, format: spec.FormatDecisions})
	}
	var changed []string
	for _, f := range files {
		before, after, err := f.formatted()
		if err != nil {
			return err
		}
		if bytes.Equal(before, after) {
			continue
		}
		changed = append(changed, f.path)
		if *showDiff {
			e.stdout.Write(diff.Diff(f.path, before, f.path+" (fmt)", after))
		}
		if !*check {
			if err := spec.Rewrite(f.path, after); err != nil {
				return err
			}
		}
	}
	if !*showDiff {
		for _, c := range changed {
			fmt.Fprintln(e.stdout, c)
		}
	}
	if *check && len(changed) > 0 {
		return exitCode(exitError)
	}
	return nil
}

// fmtFile is a file fmt formats, and how.
type fmtFile struct {
	path   string
	format func([]byte) ([]byte, error)
}

// formatted reads the file and returns its bytes and its canonical form.
func (f fmtFile) formatted() (before, after []byte, err error) {
	before, err = os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, specError(io.Discard, f.path, err)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("fmt: %w", err)
	}
	after, err = f.format(before)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", f.path, err)
	}
	return before, after, nil
}

// fmtStdin formats the spec on standard input to standard output; with
// check, it prints nothing and exits 1 if the spec is not canonical.
func fmtStdin(e env, check bool) error {
	before, err := io.ReadAll(io.LimitReader(e.stdin, spec.MaxFileSize+1))
	if err != nil {
		return fmt.Errorf("fmt: read standard input: %w", err)
	}
	after, err := spec.Format(before)
	if err != nil {
		return fmt.Errorf("%s: %w", stdinName, err)
	}
	if check {
		if !bytes.Equal(before, after) {
			return exitCode(exitError)
		}
		return nil
	}
	_, err = e.stdout.Write(after)
	return err
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
