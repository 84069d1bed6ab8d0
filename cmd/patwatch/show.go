package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/state"
)

// runShow prints what the state file holds. It needs no spec: -f only
// locates the default state file beside it.
func runShow(_ context.Context, e env, args []string) int {
	flags := flagSet(e, "show", "show [--state FILE] [-f SPEC] [--format text|json]")
	specPath := flags.String("f", "patwatch.yaml", "the spec `file`; the state file defaults to patwatch.state.json beside it")
	statePath := flags.String("state", "", "the state `file` (default: patwatch.state.json beside the spec)")
	format := flags.String("format", "text", "output format: text or json")
	if code, ok := parseFlags(flags, args); !ok {
		return code
	}
	if *format != "text" && *format != "json" {
		printError(e.stderr, fmt.Errorf("--format: unknown format %q", *format), "use text or json")
		return exitError
	}
	path := *statePath
	if path == "" {
		path = filepath.Join(filepath.Dir(*specPath), "patwatch.state.json")
	}

	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(e.stdout, "No state yet: %s does not exist. 'patwatch apply' creates it.\n", path)
		return exitOK
	}
	st, err := state.Load(path)
	if err != nil {
		printError(e.stderr, err)
		return exitError
	}
	if *format == "json" {
		b, err := state.Marshal(st)
		if err != nil {
			printError(e.stderr, err)
			return exitError
		}
		e.stdout.Write(b)
		return exitOK
	}
	// One write per 64 KiB rather than one per cell: on a state of a
	// million hits the unbuffered writes were half the time (issue 11.4).
	out := bufio.NewWriterSize(e.stdout, 64<<10)
	err = showText(out, path, st)
	if ferr := out.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		printError(e.stderr, err)
		return exitError
	}
	return exitOK
}

// showText prints st for a person: a header, then each search with its
// hits and each report, in name order.
func showText(w io.Writer, path string, st *state.State) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "state file:\t%s\n", report.Printable(path))
	fmt.Fprintf(tw, "lineage:\t%s\n", report.Printable(st.Lineage))
	fmt.Fprintf(tw, "serial:\t%d\n", st.Serial)
	fmt.Fprintf(tw, "format:\t%d\n", st.FormatVersion)
	by := "unknown"
	if st.PatwatchVersion != "" {
		by = "patwatch " + report.Printable(st.PatwatchVersion)
	}
	fmt.Fprintf(tw, "written by:\t%s\n", by)
	fmt.Fprintf(tw, "searches:\t%d\n", len(st.Searches))
	fmt.Fprintf(tw, "reports:\t%d\n", len(st.Reports))
	if err := tw.Flush(); err != nil {
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
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "  fingerprint:\t%s\n", short(report.Printable(s.Fingerprint)))
		fmt.Fprintf(tw, "  baseline:\t%s\n", stamp(s.BaselineAt))
		hits := strconv.Itoa(len(s.Hits))
		if missing > 0 {
			hits += fmt.Sprintf(" (%d missing from recent runs)", missing)
		}
		fmt.Fprintf(tw, "  hits:\t%s\n", hits)
		if err := tw.Flush(); err != nil {
			return err
		}
		if len(s.Hits) == 0 {
			continue
		}
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "    PATENT\tFIRST SEEN\tMISSING\tTITLE\tASSIGNEE")
		for _, pn := range slices.Sorted(maps.Keys(s.Hits)) {
			h := s.Hits[pn]
			fmt.Fprintf(tw, "    %s\t%s\t%d\t%s\t%s\n", report.Printable(pn), stamp(h.FirstSeen), h.Missing, orDash(report.Printable(h.Title)), orDash(report.Printable(h.CurrentAssignee)))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}

	for _, name := range slices.Sorted(maps.Keys(st.Reports)) {
		r := st.Reports[name]
		fmt.Fprintf(w, "\nreport %s\n", report.Printable(name))
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		patent := r.PatentNumber
		if patent == "" {
			patent = "id " + r.PatentID
		}
		fmt.Fprintf(tw, "  patent:\t%s\n", report.Printable(patent))
		logo := "with logo"
		if !r.Logo {
			logo = "without logo"
		}
		fmt.Fprintf(tw, "  format:\t%s, %s\n", report.Printable(r.Format), logo)
		fmt.Fprintf(tw, "  status:\t%s\n", report.Printable(r.Status))
		fmt.Fprintf(tw, "  job id:\t%s\n", orDash(report.Printable(r.JobID)))
		fmt.Fprintf(tw, "  submitted:\t%s\n", stamp(r.SubmittedAt))
		fmt.Fprintf(tw, "  link expires:\t%s\n", stamp(r.LinkExpiresAt))
		fmt.Fprintf(tw, "  file:\t%s\n", orDash(report.Printable(r.File)))
		fmt.Fprintf(tw, "  sha256:\t%s\n", orDash(short(r.SHA256)))
		if r.LastError != "" {
			fmt.Fprintf(tw, "  last error:\t%s\n", report.Printable(r.LastError))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
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
