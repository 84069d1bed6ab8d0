package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/patwatch/patwatch/internal/flagvalue"
	"github.com/patwatch/patwatch/internal/hint"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/internal/starter"
)

// runInit implements 'patwatch init': a starter spec, the .gitignore lines
// for patwatch's side files, and with --ci github the CI workflows. It
// writes nothing if any file it would create exists.
func runInit(_ context.Context, e env, args []string) error {
	fl := flagSet(e, "init")
	specPath := fl.String("f", defaultSpec, "write the starter spec to `SPEC`")
	var ci string
	flagvalue.ChoiceVar(fl, &ci, "ci", "", "CI system", []string{starter.CIGitHub}, "also write the CI workflows of `CI`: github (GitHub Actions)")
	if err := parseFlags(fl, args); err != nil {
		return err
	}
	if *specPath == "-" {
		return hint.Wrap(errors.New("-f -: init writes a file; name it"), "for example -f patwatch.yaml")
	}
	done, err := starter.Write(*specPath, ci)
	for _, f := range done.Files {
		fmt.Fprintf(e.stdout, "wrote %s\n", f)
	}
	if done.Added > 0 {
		fmt.Fprintf(e.stdout, "added %d %s to %s\n", done.Added, report.Plural(done.Added, "line", "lines"), done.Gitignore)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\nNext: edit %s, then try it without credentials:\n  patwatch apply --sandbox -f %s --state sandbox.state.json\n", *specPath, *specPath)
	if ci == starter.CIGitHub {
		fmt.Fprintln(e.stdout, "Set the repository secret PATSNAP_API_KEY (or PATSNAP_CLIENT_ID and PATSNAP_CLIENT_SECRET) for the scheduled workflow.")
	}
	return nil
}
