package main

import (
	"cmp"
	"context"
	"io"
	"sync"

	"github.com/patwatch/patwatch/internal/cli"
	"github.com/patwatch/patwatch/internal/flagvalue"
	"github.com/patwatch/patwatch/internal/inbox"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/internal/runner"
	"github.com/patwatch/patwatch/internal/store"
	"github.com/patwatch/patwatch/spec"
)

// runInbox implements 'patwatch inbox': the hits reported new that await
// a decision (package inbox).
func runInbox(ctx context.Context, e env, args []string) error {
	fs := flagSet(e, "inbox")
	specPath := fs.String("f", defaultSpec, "the `SPEC` whose decisions file and state to read")
	statePath := fs.String("state", "", "the state `FILE`, or a postgres:// URL (default: $PATWATCH_STATE, else patwatch.state.json beside the spec)")
	var format string
	flagvalue.ChoiceVar(fs, &format, "format", "text", "format", []string{"text", "json", "html"}, "output format; html is a page of cards with the drawings")
	out := fs.String("out", "", "also write the inbox to `FILE` (with --format html: the page goes there, the text to stdout)")
	drawingsDir := new(string)
	drawingsDirVar(fs, drawingsDir)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	// The spec with its decisions file is read while the state loads: on
	// two cores a large decisions file then costs the inbox little beside a
	// large state. An invalid spec is still the error told first.
	var sp *spec.Spec
	loaded := make(chan error, 1)
	go func() {
		var err error
		sp, err = loadSpec(e, *specPath)
		loaded <- err
	}()
	specErr := sync.OnceValue(func() error {
		if err := <-loaded; err != nil {
			return specError(e.stderr, *specPath, err)
		}
		return nil
	})
	s, err := openState(ctx, resolveState(e, *statePath, *specPath), *specPath)
	if err != nil {
		return cmp.Or(specErr(), err)
	}
	defer s.Close()
	st := newStateStore(s, "", cmp.Or(*drawingsDir, e.getenv("PATWATCH_DRAWINGS_DIR")))
	recorded, err := st.Load(ctx)
	if err := cmp.Or(specErr(), err); err != nil {
		return err
	}
	if err := cli.Join(checkParentDir("--out", *out), runner.CheckOut(*out, sp, st.kept())); *out != "" && err != nil {
		return err
	}
	in, complete := runner.Inbox(ctx, st.drawingsDir, recorded, sp)
	return inbox.Write(e.stdout, in, format, *out, func(w io.Writer) error {
		sandbox, _ := store.Simulated(ctx, st)
		return report.RenderInbox(w, complete(report.InboxPage{Spec: specName(*specPath), State: st.String(), PatwatchVersion: version,
			GeneratedAt: e.clock(), Simulated: sandbox}))
	})
}
