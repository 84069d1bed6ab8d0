package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/patwatch/patwatch/internal/cli"
	"github.com/patwatch/patwatch/internal/flagvalue"
	"github.com/patwatch/patwatch/internal/hint"
	"github.com/patwatch/patwatch/internal/notify"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/schema"
	"github.com/patwatch/patwatch/spec"
	"github.com/rs/zerolog"
)

// defaultSpec is the spec file -f names when not given.
const defaultSpec = "patwatch.yaml"

// runValidate implements 'patwatch validate': load the spec, print
// "ok: N searches, M reports", or every problem with its hint and exit 1.
func runValidate(_ context.Context, e env, args []string) error {
	fs := flagSet(e, "validate")
	file := fs.String("f", defaultSpec, "check the spec in `SPEC`; - reads it from standard input")
	var format string
	flagvalue.ChoiceVar(fs, &format, "format", "text", "format", []string{"text", "json"},
		"output format: text, or json (every problem with its file, line, column, field and hint)")
	lf := addLogFlags(fs, zerolog.WarnLevel)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log, err := lf.logger(e)
	if err != nil {
		return err
	}
	s, err := loadSpec(e, *file)
	if err != nil {
		if se := (*spec.Error)(nil); format == "json" {
			if !errors.As(err, &se) {
				err = specError(io.Discard, *file, err) // with its hint
			}
			return validationJSON(e, spec.ProblemsOf(specName(*file), err))
		}
		return specError(e.stderr, *file, err)
	}
	problems, notes := notify.CheckChannels(e.getenv, s, specName(*file))
	for _, n := range notes {
		fmt.Fprintf(e.stderr, "patwatch: note: %s\n", n)
	}
	if format == "json" {
		return validationJSON(e, problems)
	}
	if len(problems) > 0 {
		return specError(e.stderr, *file, &spec.Error{Problems: problems})
	}
	for _, se := range s.Searches {
		log.Debug().Str("search", se.Name).Str("fingerprint", se.Fingerprint).Int("line", se.Line).Msg("search")
	}
	log.Debug().Str("spec", s.Path).Int("searches", len(s.Searches)).Int("reports", len(s.Reports)).Msg("spec is valid")
	decisions := ""
	if n := s.Decisions.Len(); n > 0 {
		decisions = ", " + plural(n, "decision", "decisions")
	}
	fmt.Fprintf(e.stdout, "ok: %s, %s%s\n", plural(len(s.Searches), "search", "searches"), plural(len(s.Reports), "report", "reports"), decisions)
	return nil
}

// validationJSON prints validate's JSON of problems, and returns the exit
// status: 1 when there is one.
func validationJSON(e env, problems []spec.Problem) error {
	if err := report.RenderValidation(e.stdout, problems); err != nil {
		return err
	}
	if len(problems) > 0 {
		return cli.ExitCode(exitError)
	}
	return nil
}

// stdinName is how problems of a spec read from standard input name it.
const stdinName = "<stdin>"

// specName is how reports name the spec -f gave: as given, or <stdin>.
func specName(path string) string {
	if path == "-" {
		return stdinName
	}
	return path
}

// loadSpec loads the spec at path; "-" reads it from standard input, and
// its relative image paths are then looked up in the working directory.
func loadSpec(e env, path string) (*spec.Spec, error) {
	if path != "-" {
		return spec.Load(path)
	}
	data, err := io.ReadAll(io.LimitReader(e.stdin, spec.MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read spec from standard input: %w", err)
	}
	return spec.Parse(stdinName, data)
}

// specError is the error of a spec that could not be loaded from file. An
// invalid spec's problems are printed to w first, as plain
// FILE:LINE:COL: path: message lines each followed by its hint, and the
// error is their count; a missing file gets a hint on naming another.
func specError(w io.Writer, file string, err error) error {
	var se *spec.Error
	switch {
	case errors.As(err, &se):
		for _, p := range se.Problems {
			fmt.Fprintln(w, p.String())
			if p.Hint != "" {
				fmt.Fprintf(w, "patwatch: hint: %s\n", p.Hint)
			}
		}
		return fmt.Errorf("%s in %s", plural(len(se.Problems), "problem", "problems"), specName(file))
	case errors.Is(err, fs.ErrNotExist):
		return hint.Wrap(err, "name the spec with -f FILE; it defaults to "+defaultSpec+" in the working directory")
	}
	return err
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// runSchema implements 'patwatch schema': print the spec's JSON Schema, or
// with --decisions the decisions file's.
func runSchema(_ context.Context, e env, args []string) error {
	fs := flagSet(e, "schema")
	decisions := fs.Bool("decisions", false, "print the decisions file's schema instead of the spec's")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	doc := schema.JSON()
	if *decisions {
		doc = schema.DecisionsJSON()
	}
	if _, err := e.stdout.Write(doc); err != nil {
		return fmt.Errorf("write schema: %w", err)
	}
	return nil
}
