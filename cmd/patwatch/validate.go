package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/patwatch/patwatch/schema"
	"github.com/patwatch/patwatch/spec"
)

// defaultSpec is the spec file -f names when not given.
const defaultSpec = "patwatch.yaml"

// runValidate implements 'patwatch validate': load the spec, print
// "ok: N searches, M reports", or every problem with its hint and exit 1.
func runValidate(_ context.Context, e env, args []string) int {
	fs := flagSet(e, "validate")
	file := fs.String("f", defaultSpec, "check the spec in `SPEC`; - reads it from standard input")
	lf := addLogFlags(fs)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	log, err := lf.logger(e)
	if err != nil {
		printError(e.stderr, err)
		return exitError
	}
	s, err := loadSpec(e, *file)
	if err != nil {
		printSpecError(e.stderr, *file, err)
		return exitError
	}
	problems, notes := checkChannels(e, s, *file)
	for _, n := range notes {
		fmt.Fprintf(e.stderr, "patwatch: note: %s\n", n)
	}
	if len(problems) > 0 {
		printSpecError(e.stderr, *file, &spec.Error{Problems: problems})
		return exitError
	}
	for _, se := range s.Searches {
		log.Debug().Str("search", se.Name).Str("fingerprint", se.Fingerprint).Int("line", se.Line).Msg("search")
	}
	log.Debug().Str("spec", s.Path).Int("searches", len(s.Searches)).Int("reports", len(s.Reports)).Msg("spec is valid")
	fmt.Fprintf(e.stdout, "ok: %s, %s\n", plural(len(s.Searches), "search", "searches"), plural(len(s.Reports), "report", "reports"))
	return exitOK
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

// printSpecError prints why the spec at file could not be loaded. An
// invalid spec's problems come as plain FILE:LINE:COL: path: message lines,
// each followed by its hint, then a count; a missing file gets a hint on
// naming another; anything else is printed the usual way.
func printSpecError(w io.Writer, file string, err error) {
	var se *spec.Error
	switch {
	case errors.As(err, &se):
		for _, p := range se.Problems {
			fmt.Fprintln(w, p.String())
			if p.Hint != "" {
				fmt.Fprintf(w, "patwatch: hint: %s\n", p.Hint)
			}
		}
		file = specName(file)
		fmt.Fprintf(w, "patwatch: error: %s in %s\n", plural(len(se.Problems), "problem", "problems"), file)
	case errors.Is(err, fs.ErrNotExist):
		printError(w, err, "name the spec with -f FILE; it defaults to "+defaultSpec+" in the working directory")
	default:
		printError(w, err)
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// runSchema implements 'patwatch schema': print the spec's JSON Schema.
func runSchema(_ context.Context, e env, args []string) int {
	fs := flagSet(e, "schema")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if _, err := e.stdout.Write(schema.JSON()); err != nil {
		printError(e.stderr, fmt.Errorf("write schema: %w", err))
		return exitError
	}
	return exitOK
}
