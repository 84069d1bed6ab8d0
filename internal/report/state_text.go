package report

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/width"

	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

// StateSource says which state RenderStateText shows.
type StateSource struct {
	// Kind is what the state is called, the label of the first line:
	// "state file", or "state" (one of many in a database).
	Kind string
	// Where is its path, or its URL without the password.
	Where string
	// Simulated marks a state that --sandbox runs wrote.
	Simulated bool
}

// RenderStateText writes st for a person (patwatch show): a header, then
// each search with its hits and each report, in name order, in columns
// aligned by display width. A hit that ds (the spec's decisions file; nil:
// none) decides in its search is marked with its verdict after its
// columns, as the change report marks it ("[relevant]"). Text from the
// state is escaped (Printable).
func RenderStateText(w io.Writer, src StateSource, st *state.State, ds *spec.Decisions) error {
	if err := stateHeader(src, st).write(w, ""); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(st.Searches)) {
		if err := searchText(w, name, st.Searches[name], ds); err != nil {
			return err
		}
	}
	for _, name := range slices.Sorted(maps.Keys(st.Reports)) {
		fmt.Fprintf(w, "\nreport %s\n", Printable(name))
		if err := reportRows(st.Reports[name]).write(w, "  "); err != nil {
			return err
		}
	}
	return nil
}

// stateHeader is the table that says what the state is.
func stateHeader(src StateSource, st *state.State) *table {
	var t table
	t.row(src.Kind+":", Printable(src.Where))
	t.row("lineage:", Printable(st.Lineage))
	t.row("serial:", strconv.FormatUint(st.Serial, 10))
	t.row("format:", strconv.Itoa(st.FormatVersion))
	by := "unknown"
	if st.PatwatchVersion != "" {
		by = "patwatch " + Printable(st.PatwatchVersion)
	}
	if src.Simulated {
		by += ", with --sandbox: its hits and reports are simulated"
	}
	t.row("written by:", by)
	t.row("searches:", strconv.Itoa(len(st.Searches)))
	t.row("reports:", strconv.Itoa(len(st.Reports)))
	return &t
}

// searchText writes a search: what it recorded, then its hits.
func searchText(w io.Writer, name string, s *state.Search, ds *spec.Decisions) error {
	missing := 0
	for _, h := range s.Hits {
		if h.Missing > 0 {
			missing++
		}
	}
	fmt.Fprintf(w, "\nsearch %s\n", Printable(name))
	var t table
	t.row("fingerprint:", short(Printable(s.Fingerprint)))
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
		return nil
	}
	var ht table
	ht.row("PATENT", "FIRST SEEN", "MISSING", "TITLE", "ASSIGNEE")
	for _, pn := range slices.Sorted(maps.Keys(s.Hits)) {
		h := s.Hits[pn]
		cells := []string{Printable(pn), stamp(h.FirstSeen), strconv.Itoa(h.Missing), orDash(Printable(h.Title)), orDash(Printable(h.CurrentAssignee))}
		if v := ds.For(name, pn); v != "" {
			cells = append(cells, "["+Printable(string(v))+"]")
		}
		ht.row(cells...)
	}
	return ht.write(w, "    ")
}

// reportRows is the table of a recorded report.
func reportRows(r *state.Report) *table {
	var t table
	patent := r.PatentNumber
	if patent == "" {
		patent = "id " + r.PatentID
	}
	t.row("patent:", Printable(patent))
	logo := "with logo"
	if !r.Logo {
		logo = "without logo"
	}
	t.row("format:", Printable(r.Format)+", "+logo)
	t.row("status:", recordedStatus(r.Status))
	t.row("job id:", orDash(Printable(r.JobID)))
	t.row("submitted:", stamp(r.SubmittedAt))
	t.row("link expires:", stamp(r.LinkExpiresAt))
	t.row("file:", orDash(Printable(r.File)))
	t.row("sha256:", orDash(short(r.SHA256)))
	if r.LastError != "" {
		t.row("last error:", Printable(r.LastError))
	}
	return &t
}

// recordedStatus is a recorded report's status in the words change
// reports use: a downloaded file is ready.
func recordedStatus(s string) string {
	switch s {
	case state.ReportDownloaded:
		return string(ReportReady)
	case state.ReportPending:
		return string(ReportPending)
	case state.ReportFailed:
		return string(ReportFailed)
	}
	return Printable(s)
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
			widths[i] = max(widths[i], DisplayWidth(c))
		}
	}
	var b strings.Builder
	for _, r := range t.rows {
		b.WriteString(indent)
		for i, c := range r {
			b.WriteString(c)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-DisplayWidth(c)+2))
			}
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// DisplayWidth is how many terminal cells s takes: East Asian wide and
// fullwidth characters take two, combining marks and other zero-width
// characters none.
func DisplayWidth(s string) int {
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
