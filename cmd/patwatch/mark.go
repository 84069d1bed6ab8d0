package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/patwatch/patwatch/internal/cli"
	"github.com/patwatch/patwatch/internal/flagvalue"
	"github.com/patwatch/patwatch/internal/hint"
	"github.com/patwatch/patwatch/spec"
)

// runMark implements 'patwatch mark': the analyst's decision on patents,
// written into the spec's decisions file (spec.Spec.Mark).
func runMark(_ context.Context, e env, args []string) error {
	fs := flagSet(e, "mark")
	file := fs.String("f", defaultSpec, "the spec `SPEC` whose decisions file to edit")
	var as string
	var m spec.Marks
	flagvalue.ChoiceVar(fs, &as, "as", "", "verdict", []string{"not_relevant", "relevant", "report", "none"}, "the decision; none removes it (required)")
	flagvalue.NamesVar(fs, &m.Searches, "search", "phone-designs", "the decision holds only in the search `NAME` (repeatable; default: every search)")
	fs.StringVar(&m.Note, "note", "", "why, as `TEXT` for the reviewers")
	fs.StringVar(&m.By, "by", "", "the `NAME` of who decided")
	patents, err := parseArgs(fs, args)
	switch {
	case err != nil:
		return err
	case as == "":
		return hint.Wrap(errors.New("--as is required"), "say the decision: --as not_relevant, relevant, report, or none to remove it")
	case *file == "-":
		return hint.Wrap(errors.New("-f -: mark edits the decisions file beside a spec file"), "name the spec: -f "+defaultSpec)
	}
	m.Patents, m.Verdict, m.At = slices.Compact(patents), spec.Verdict(as), e.clock().UTC().Format(time.DateOnly)
	if as == "none" {
		m.Verdict, m.At = "", ""
	}
	sp, err := spec.Load(*file)
	if err != nil {
		return specError(e.stderr, *file, err)
	}
	if errs := sp.CheckMarks(m); len(errs) > 0 {
		return cli.Join(append(errs, errors.New("nothing was written"))...)
	}
	done, err := sp.Mark(m)
	if err != nil {
		return err
	}
	for _, d := range done {
		fmt.Fprintln(e.stdout, d)
	}
	fmt.Fprintf(e.stdout, "%s written\n", sp.Decisions.Name)
	return nil
}
