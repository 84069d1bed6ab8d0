package main

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"

	"github.com/patwatch/patwatch/internal/inbox"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/internal/runner"
	"github.com/patwatch/patwatch/internal/store"
)

// runInbox implements 'patwatch inbox': the hits reported new that await
// a decision.
func runInbox(ctx context.Context, e env, args []string) error {
	fs := flagSet(e, "inbox")
	specPath := fs.String("f", defaultSpec, "the `SPEC` whose decisions file and state to read")
	statePath := fs.String("state", "", "the state `FILE`, or a postgres:// URL (default: $PATWATCH_STATE, else patwatch.state.json beside the spec)")
	var format string
	choiceVar(fs, &format, "format", "text", "format", []string{"text", "json", "html"},
		"output format; html is one self-contained page of cards with the drawings, each with the command that decides it")
	out := fs.String("out", "", "also write the inbox to `FILE` (with --format html: the page goes there, the text to stdout)")
	drawingsDir := new(string)
	drawingsDirVar(fs, drawingsDir)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out != "" {
		if err := checkParentDir("--out", *out); err != nil {
			return err
		}
	}
	sp, err := loadSpec(e, *specPath)
	if err != nil {
		return specError(e.stderr, *specPath, err)
	}
	s, err := openState(ctx, resolveState(e, *statePath, *specPath), *specPath)
	if err != nil {
		return err
	}
	defer s.Close()
	st := newStateStore(s, "", cmp.Or(*drawingsDir, e.getenv("PATWATCH_DRAWINGS_DIR")))
	if err := runner.CheckOut(*out, sp, st.kept()); err != nil {
		return err
	}
	recorded, err := st.Load(ctx)
	if err != nil {
		return err
	}
	in, complete := runner.Inbox(ctx, st.drawingsDir, recorded, sp)
	page := func(w io.Writer) error {
		sandbox, _ := store.Simulated(ctx, st)
		return report.RenderInbox(w, complete(report.InboxPage{Spec: specName(*specPath), State: st.String(), PatwatchVersion: version,
			GeneratedAt: e.clock(), Simulated: sandbox}))
	}
	return writeInbox(e, in, format, *out, page)
}

// writeInbox prints in in format and writes --out; an HTML page goes to
// --out alone when there is one, the text to stdout.
func writeInbox(e env, in *inbox.Inbox, format, out string, page func(io.Writer) error) error {
	render := func(w io.Writer, format string) error {
		switch format {
		case "json":
			return inbox.RenderJSON(w, in)
		case "html":
			return page(w)
		}
		return inbox.RenderText(w, in)
	}
	var buf bytes.Buffer
	if err := render(&buf, format); err != nil {
		return err
	}
	if out != "" {
		if err := report.WriteFile(out, buf.Bytes()); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
		if format == "html" {
			buf.Reset()
			if err := render(&buf, "text"); err != nil {
				return err
			}
		}
	}
	_, err := e.stdout.Write(buf.Bytes())
	return err
}
