package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/patwatch/patwatch/internal/hint"
	"github.com/patwatch/patwatch/spec"
)

// verdictNone is mark's --as that removes decisions.
const verdictNone = "none"

// runMark implements 'patwatch mark': write the analyst's decision on
// patents into the spec's decisions file.
func runMark(_ context.Context, e env, args []string) error {
	fs := flagSet(e, "mark")
	file := fs.String("f", defaultSpec, "the spec `SPEC` whose decisions file to edit")
	var as string
	var searches []string
	fs.Var(&verdictValue{p: &as}, "as", "the decision: not_relevant, relevant, report, or none to remove the decisions (required)")
	namesVar(fs, &searches, "search", "phone-designs", "the decision holds only in the search `NAME` (repeatable; default: every search)")
	note := fs.String("note", "", "why, as `TEXT` for the reviewers")
	by := fs.String("by", "", "the `NAME` of who decided")
	patents, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	m, err := markRequest(e, patents, as, searches, *note, *by)
	if err != nil {
		return err
	}
	if *file == "-" {
		return hint.Wrap(errors.New("-f -: mark edits the decisions file beside a spec file"), "name the spec: -f "+defaultSpec)
	}
	sp, err := spec.Load(*file)
	if err != nil {
		return specError(e.stderr, *file, err)
	}
	if err := checkMarks(sp, m); err != nil {
		return err
	}
	done, err := sp.Mark(m)
	if err != nil {
		return err
	}
	for _, d := range done {
		fmt.Fprintln(e.stdout, markedLine(d))
	}
	fmt.Fprintf(e.stdout, "%s written\n", sp.Decisions.Name)
	return nil
}

// markRequest checks mark's arguments and makes its Marks, dated today.
func markRequest(e env, patents []string, as string, searches []string, note, by string) (spec.Marks, error) {
	switch {
	case len(patents) == 0:
		return spec.Marks{}, hint.Wrap(errors.New("no patent number given"),
			"name one or more, as the change report gives them: patwatch mark CN305104902S --as not_relevant")
	case as == "":
		return spec.Marks{}, hint.Wrap(errors.New("--as is required"), "say the decision: --as not_relevant, relevant, report, or none to remove it")
	}
	m := spec.Marks{Patents: slices.Compact(slices.Clone(patents)), Verdict: spec.Verdict(as), Searches: searches, Note: note, By: by,
		At: e.clock().UTC().Format(time.DateOnly)}
	if as == verdictNone {
		if len(searches) > 0 || note != "" || by != "" {
			return spec.Marks{}, errors.New("--as none removes decisions: --search, --note and --by have nothing to go with")
		}
		m.Verdict, m.At = "", ""
	}
	return m, nil
}

// checkMarks refuses marks the spec cannot hold, naming every problem
// once: a malformed number, a search the spec lacks, a report ordered for
// a design patent.
func checkMarks(sp *spec.Spec, m spec.Marks) error {
	var errs []error
	seen := map[string]bool{}
	for _, pn := range m.Patents {
		d := spec.Decision{PatentPN: pn, Verdict: m.Verdict, Searches: m.Searches}
		if m.Verdict == "" {
			d.Verdict = spec.VerdictRelevant // a removal: only the number counts
		}
		for _, err := range sp.CheckDecision(d) {
			if !seen[err.Error()] {
				seen[err.Error()] = true
				errs = append(errs, err)
			}
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return joinFailures(append(errs, errors.New("nothing was written"))...)
}

func markedLine(d spec.Marked) string {
	switch {
	case d.Now == "" && d.Was == "":
		return d.PatentPN + ": had no decision"
	case d.Now == "":
		return fmt.Sprintf("%s: decision removed (was %s)", d.PatentPN, d.Was)
	case d.Was == "":
		return fmt.Sprintf("%s: %s", d.PatentPN, d.Now)
	}
	return fmt.Sprintf("%s: %s (was %s)", d.PatentPN, d.Now, d.Was)
}

// verdictValue is mark's --as: a verdict, or none; a mistyped one gets the
// verdict probably meant.
type verdictValue struct{ p *string }

func (v *verdictValue) String() string {
	if v == nil || v.p == nil {
		return ""
	}
	return *v.p
}

func (v *verdictValue) Set(s string) error {
	if s != verdictNone {
		if _, err := spec.ParseVerdict(s); err != nil {
			return err
		}
	}
	*v.p = s
	return nil
}

func (v *verdictValue) values() []string {
	return []string{string(spec.VerdictNotRelevant), string(spec.VerdictRelevant), string(spec.VerdictReport), verdictNone}
}

func (v *verdictValue) example() string { return string(spec.VerdictNotRelevant) }
