package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"

	"github.com/patwatch/patwatch/internal/cli"
	"github.com/patwatch/patwatch/internal/flagvalue"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/internal/runner"
	"github.com/patwatch/patwatch/internal/store"
	"github.com/patwatch/patwatch/spec"
)

// runShow prints what the state holds. It needs no spec: -f only locates
// the default state file beside it, and a database state's drawings.
func runShow(ctx context.Context, e env, args []string) error {
	flags := flagSet(e, "show")
	specPath := flags.String("f", defaultSpec, "the `SPEC` the state belongs to; the state defaults to patwatch.state.json beside it")
	statePath := flags.String("state", "", "the state `FILE`, or a postgres:// URL (default: $PATWATCH_STATE, else patwatch.state.json beside the spec)")
	format := new(string)
	flagvalue.ChoiceVar(flags, format, "format", "text", "format", []string{"text", "json", "html"},
		"output format; html is a gallery of every hit with its drawing, in one self-contained page")
	out := flags.String("out", "", "also write the output to `FILE` (html: only there, and the text to standard output)")
	drawingsDir := new(string)
	drawingsDirVar(flags, drawingsDir)
	names, err := parseArgs(flags, args)
	if err != nil {
		return err
	}
	if *drawingsDir == "" {
		*drawingsDir = e.getenv("PATWATCH_DRAWINGS_DIR")
	}
	if *out != "" {
		if err := checkParentDir("--out", *out); err != nil {
			return err
		}
	}
	s, err := openState(ctx, resolveState(e, *statePath, *specPath), *specPath)
	if err != nil {
		return err
	}
	defer s.Close()
	// show downloads no report: --out is refused as plan's and apply's is,
	// but for the reports.
	st := newStateStore(s, "", *drawingsDir)
	if err := runner.CheckOut(*out, &spec.Spec{Path: *specPath}, st.kept()); err != nil {
		return err
	}
	sp := showSpec(e, *specPath)
	if *out == "" {
		// One write per 64 KiB rather than one per cell: on a state of a
		// million hits the unbuffered writes were half the time (issue 11.4).
		bw := bufio.NewWriterSize(e.stdout, 64<<10)
		err := show(ctx, e, bw, st, sp, *format, names)
		return cli.Join(err, bw.Flush())
	}
	var buf bytes.Buffer
	err = show(ctx, e, &buf, st, sp, *format, names)
	shown := &buf
	if *format == "html" && err == nil {
		// The page goes to --out only: the terminal gets the text.
		shown = &bytes.Buffer{}
		err = show(ctx, e, shown, st, sp, "text", names)
	}
	if _, werr := e.stdout.Write(shown.Bytes()); werr != nil {
		return cli.Join(err, werr)
	}
	if err != nil {
		return err
	}
	if err := report.WriteFile(*out, buf.Bytes()); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	return nil
}

// show writes what the state st holds to w in format: the entries named
// names, or all when none is named. sp gives the hits' durable links and
// decisions (showSpec).
func show(ctx context.Context, e env, w io.Writer, st *stateStore, sp *spec.Spec, format string, names []string) error {
	exists, err := st.Exists(ctx)
	if err != nil {
		return err
	}
	switch {
	case format == "json" && !exists && len(names) == 0:
		// Always JSON, for the scripts that read it: the empty state.
		_, err := io.WriteString(w, emptyStateJSON)
		return err
	case format == "json" && len(names) == 0 && sp.Decisions.Len() == 0:
		return store.Pull(ctx, st, w) // streamed: nothing to mark
	case format == "json":
		return markedPull(ctx, w, st, names, sp.Decisions)
	case format == "text" && !exists && len(names) == 0:
		fmt.Fprintf(w, "No state yet: %s. 'patwatch apply' creates it.\n", st.Missing())
		return nil
	}
	recorded, err := st.Load(ctx) // empty when there is none
	if err != nil {
		return err
	}
	if len(names) > 0 {
		if recorded, err = store.Only(recorded, names); err != nil {
			return err
		}
	}
	sandbox := false
	if exists {
		sandbox, _ = store.Simulated(ctx, st)
	}
	if format == "html" {
		page := report.Gallery{State: st.String(), PatwatchVersion: version, GeneratedAt: e.clock().UTC().Truncate(time.Second), Simulated: sandbox}
		return report.RenderGallery(w, runner.Gallery(ctx, page, st.drawingsDir, recorded, &sp.Links, sp.Decisions))
	}
	return report.RenderStateText(w, report.StateSource{Kind: st.Kind(), Where: st.String(), Simulated: sandbox}, recorded, sp.Decisions)
}

// showSpec is what show reads of the spec at specPath, which it does not
// need: the durable links and the decisions file that mark the hits, when
// the spec loads; else the default links and no decision, with a warning
// when the spec is there but does not load (a missing spec is show's
// usual case).
func showSpec(e env, specPath string) *spec.Spec {
	sp, err := loadSpec(e, specPath)
	if err == nil {
		return sp
	}
	if !errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(e.stderr, "patwatch: warning: %s does not load, so show marks no decision and gives the default links (run 'patwatch validate -f %s'): %v\n",
			specPath, specPath, err)
	}
	return &spec.Spec{Links: spec.Links{Patent: spec.DefaultPatentLink}}
}

// markedPull writes the state's JSON (the entries named names, or all of
// it) to w with each decided hit marked, as the store streams it: a state
// of any size is never held whole. A failed pull is the error, not what
// the marking made of its cut-off JSON.
func markedPull(ctx context.Context, w io.Writer, st *stateStore, names []string, ds *spec.Decisions) error {
	pr, pw := io.Pipe()
	pulled := make(chan error, 1)
	go func() {
		err := pullShown(ctx, st, names, pw)
		pw.CloseWithError(err)
		pulled <- err
	}()
	err := report.MarkStateJSON(w, pr, ds)
	if err == nil {
		_, err = io.Copy(io.Discard, pr) // what follows the JSON: its newline
	}
	pr.CloseWithError(err) // a pull still writing stops
	if perr := <-pulled; perr != nil && !errors.Is(perr, io.ErrClosedPipe) {
		return perr
	}
	return err
}

// pullShown writes the state file's JSON of the entries named names of
// st, or of all of it when none is named, to w.
func pullShown(ctx context.Context, st *stateStore, names []string, w io.Writer) error {
	if len(names) == 0 {
		return store.Pull(ctx, st, w)
	}
	b, err := store.PullOnly(ctx, st, names)
	if err == nil {
		_, err = w.Write(b)
	}
	return err
}

// emptyStateJSON is what show --format json prints when there is no state:
// a state file's JSON with nothing in it (and no lineage yet).
const emptyStateJSON = `{
  "format_version": 1,
  "serial": 0,
  "lineage": "",
  "searches": {},
  "reports": {}
}
`
