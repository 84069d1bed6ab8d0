package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/width"

	"github.com/patwatch/patwatch/internal/atomicfile"
	"github.com/patwatch/patwatch/internal/drawings"
	"github.com/patwatch/patwatch/internal/pgstore"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/internal/runner"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

// runShow prints what the state file holds. It needs no spec: -f only
// locates the default state file beside it.
func runShow(ctx context.Context, e env, args []string) int {
	flags := flagSet(e, "show")
	specPath := flags.String("f", defaultSpec, "the `SPEC` the state belongs to; the state defaults to patwatch.state.json beside it")
	statePath := flags.String("state", "", "the state `FILE`, or a postgres:// URL (default: $PATWATCH_STATE, else patwatch.state.json beside the spec)")
	format := new(string)
	choiceVar(flags, format, "format", "text", "format", []string{"text", "json", "html"},
		"output format; html is a gallery of every hit with its drawing, in one self-contained page")
	out := flags.String("out", "", "also write the output to `FILE`")
	drawingsDir := new(string)
	drawingsDirVar(flags, drawingsDir)
	if code, ok := parseFlags(flags, args); !ok {
		return code
	}
	path := resolveState(e, *statePath, *specPath)
	if *drawingsDir == "" {
		*drawingsDir = e.getenv("PATWATCH_DRAWINGS_DIR")
	}
	if *out != "" {
		if err := checkParentDir("--out", *out); err != nil {
			printError(e.stderr, err)
			return exitError
		}
		if err := checkShowOut(*out, *specPath, path, *drawingsDir); err != nil {
			printError(e.stderr, err)
			return exitError
		}
	}
	if *out == "" {
		// One write per 64 KiB rather than one per cell: on a state of a
		// million hits the unbuffered writes were half the time (issue 11.4).
		bw := bufio.NewWriterSize(e.stdout, 64<<10)
		code := show(ctx, e, bw, *specPath, path, *format, *drawingsDir)
		if err := bw.Flush(); err != nil {
			printError(e.stderr, err)
			return exitError
		}
		return code
	}
	var buf bytes.Buffer
	code := show(ctx, e, &buf, *specPath, path, *format, *drawingsDir)
	if _, err := e.stdout.Write(buf.Bytes()); err != nil {
		printError(e.stderr, err)
		return exitError
	}
	if code == exitOK {
		if err := atomicfile.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
			printError(e.stderr, fmt.Errorf("--out: %w", err))
			return exitError
		}
	}
	return code
}

// checkShowOut refuses a --out of show that names the spec, the state file
// or a file kept beside it, or the drawings (as plan and apply refuse).
func checkShowOut(out, specPath, statePath, drawingsDir string) error {
	st := &stateStore{}
	if pgstore.IsURL(statePath) {
		pg, err := openPGState(statePath)
		if err != nil {
			return err
		}
		defer pg.Close()
		st.drawings = drawingsIn(drawingsDir, pgDrawings(specPath, pg))
	} else {
		fs, err := state.NewFileStore(statePath)
		if err != nil {
			return err
		}
		st.Store, st.drawings = fs, drawingsIn(drawingsDir, drawings.ForStateFile(fs.Path))
	}
	return checkOut(out, &spec.Spec{Path: specPath}, st)
}

// show writes what the state at path (a file, or a postgres:// URL) holds
// to w in format. specPath locates a database state's drawings and the
// spec's durable links; drawingsDir, when set, holds the drawings.
func show(ctx context.Context, e env, w io.Writer, specPath, path, format, drawingsDir string) int {
	label := "state file:"
	var st *state.State
	var sandbox bool
	cache := drawingsIn(drawingsDir, drawings.ForStateFile(path))
	noState := func(what string) int {
		switch format {
		case "html":
			if err := report.RenderGallery(w, gallery(ctx, path, &state.State{}, cache, nil, false, e.clock())); err != nil {
				printError(e.stderr, err)
				return exitError
			}
			return exitOK
		case "json":
			// Always JSON, for the scripts that read it: the empty state.
			io.WriteString(w, emptyStateJSON)
			return exitOK
		}
		fmt.Fprintf(w, "No state yet: %s. 'patwatch apply' creates it.\n", what)
		return exitOK
	}
	if pgstore.IsURL(path) {
		label = "state:"
		pg, err := openPGState(path)
		if err != nil {
			printError(e.stderr, err)
			return exitError
		}
		defer pg.Close()
		exists, err := pg.Exists(ctx)
		if err != nil {
			printError(e.stderr, err)
			return exitError
		}
		if !exists {
			return noState(fmt.Sprintf("%s holds no state named %s", pg, pg.StateName()))
		}
		if st, err = pg.Load(ctx); err != nil {
			printError(e.stderr, err)
			return exitError
		}
		_, err = pg.ReadAux(ctx, runner.SandboxAux)
		sandbox = err == nil
		path = pg.String()
		cache = drawingsIn(drawingsDir, pgDrawings(specPath, pg))
	} else {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return noState(path + " does not exist")
		}
		var err error
		if st, err = state.Load(path); err != nil {
			printError(e.stderr, err)
			return exitError
		}
		_, err = os.Stat(state.AuxPath(path, runner.SandboxAux))
		sandbox = err == nil
	}
	if format == "json" {
		b, err := state.Marshal(st)
		if err != nil {
			printError(e.stderr, err)
			return exitError
		}
		w.Write(b)
		return exitOK
	}
	if format == "html" {
		var links *spec.Links
		if sp, err := spec.Load(specPath); err == nil { // for the durable links; show needs no spec
			links = &sp.Links
		}
		if err := report.RenderGallery(w, gallery(ctx, path, st, cache, links, sandbox, e.clock())); err != nil {
			printError(e.stderr, err)
			return exitError
		}
		return exitOK
	}
	if err := showText(w, label, path, st, sandbox); err != nil {
		printError(e.stderr, err)
		return exitError
	}
	return exitOK
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

// showText prints st for a person: a header, then each search with its
// hits and each report, in name order. sandbox marks a state that
// --sandbox runs wrote.
func showText(w io.Writer, label, path string, st *state.State, sandbox bool) error {
	var t table
	t.row(label, report.Printable(path))
	t.row("lineage:", report.Printable(st.Lineage))
	t.row("serial:", strconv.FormatUint(st.Serial, 10))
	t.row("format:", strconv.Itoa(st.FormatVersion))
	by := "unknown"
	if st.PatwatchVersion != "" {
		by = "patwatch " + report.Printable(st.PatwatchVersion)
	}
	if sandbox {
		by += ", with --sandbox: its hits and reports are simulated"
	}
	t.row("written by:", by)
	t.row("searches:", strconv.Itoa(len(st.Searches)))
	t.row("reports:", strconv.Itoa(len(st.Reports)))
	if err := t.write(w, ""); err != nil {
		return err
	}

	for _, name := range slices.Sorted(maps.Keys(st.Searches)) {
		s := st.Searches[name]
		missing := 0
		for _, h := range s.Hits {
			if h.Missing > 0 {
				missing++
			}
		}
		fmt.Fprintf(w, "\nsearch %s\n", report.Printable(name))
		var t table
		t.row("fingerprint:", short(report.Printable(s.Fingerprint)))
		t.row("baseline:", stamp(s.BaselineAt))
		hits := strconv.Itoa(len(s.Hits))
		if missing > 0 {
			hits += fmt.Sprintf(" (%d missing from recent runs)", missing)
		}
		t.row("hits:", hits)
		if err := t.write(w, "  "); err != nil {
			return err
		}
		if len(s.Hits) == 0 {
			continue
		}
		var ht table
		ht.row("PATENT", "FIRST SEEN", "MISSING", "TITLE", "ASSIGNEE")
		for _, pn := range slices.Sorted(maps.Keys(s.Hits)) {
			h := s.Hits[pn]
			ht.row(report.Printable(pn), stamp(h.FirstSeen), strconv.Itoa(h.Missing), orDash(report.Printable(h.Title)), orDash(report.Printable(h.CurrentAssignee)))
		}
		if err := ht.write(w, "    "); err != nil {
			return err
		}
	}

	for _, name := range slices.Sorted(maps.Keys(st.Reports)) {
		r := st.Reports[name]
		fmt.Fprintf(w, "\nreport %s\n", report.Printable(name))
		var t table
		patent := r.PatentNumber
		if patent == "" {
			patent = "id " + r.PatentID
		}
		t.row("patent:", report.Printable(patent))
		logo := "with logo"
		if !r.Logo {
			logo = "without logo"
		}
		t.row("format:", report.Printable(r.Format)+", "+logo)
		t.row("status:", reportStatusWord(r.Status))
		t.row("job id:", orDash(report.Printable(r.JobID)))
		t.row("submitted:", stamp(r.SubmittedAt))
		t.row("link expires:", stamp(r.LinkExpiresAt))
		t.row("file:", orDash(report.Printable(r.File)))
		t.row("sha256:", orDash(short(r.SHA256)))
		if r.LastError != "" {
			t.row("last error:", report.Printable(r.LastError))
		}
		if err := t.write(w, "  "); err != nil {
			return err
		}
	}
	return nil
}

// reportStatusWord is a recorded report's status in the words change
// reports use: a downloaded file is ready.
func reportStatusWord(s string) string {
	switch s {
	case state.ReportDownloaded:
		return string(report.ReportReady)
	case state.ReportPending:
		return string(report.ReportPending)
	case state.ReportFailed:
		return string(report.ReportFailed)
	}
	return report.Printable(s)
}

// table lays out rows of cells in columns aligned by display width, so
// that a CJK title (two cells a character) does not push the columns after
// it out of line.
type table struct{ rows [][]string }

func (t *table) row(cells ...string) { t.rows = append(t.rows, cells) }

// write writes the rows, each after indent, with two spaces between
// columns and no padding after the last.
func (t *table) write(w io.Writer, indent string) error {
	var widths []int
	for _, r := range t.rows {
		for i, c := range r {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], displayWidth(c))
		}
	}
	var b strings.Builder
	for _, r := range t.rows {
		b.WriteString(indent)
		for i, c := range r {
			b.WriteString(c)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-displayWidth(c)+2))
			}
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// displayWidth is how many terminal cells s takes: East Asian wide and
// fullwidth characters take two, combining marks and other zero-width
// characters none.
func displayWidth(s string) int {
	n := 0
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r) || unicode.Is(unicode.Cf, r):
		default:
			switch width.LookupRune(r).Kind() {
			case width.EastAsianWide, width.EastAsianFullwidth:
				n += 2
			default:
				n++
			}
		}
	}
	return n
}

// stamp formats a recorded time; the zero time is "-".
func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// short abbreviates a hash to its first 12 digits, keeping an "algo:"
// prefix.
func short(s string) string {
	prefix, digits, ok := strings.Cut(s, ":")
	if !ok {
		prefix, digits = "", s
	} else {
		prefix += ":"
	}
	if len(digits) > 12 {
		digits = digits[:12] + "…"
	}
	return prefix + digits
}
