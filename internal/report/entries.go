package report

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

// EntryStatus is where an entry of the state stands (patwatch state list).
type EntryStatus string

// Entry statuses.
const (
	EntryActive    EntryStatus = "active"    // in the spec, reconciled by every run
	EntrySuspended EntryStatus = "suspended" // in the spec with suspend: true
	EntryRemoved   EntryStatus = "removed"   // gone from the spec; the next apply retires it
	EntryRetired   EntryStatus = "retired"   // gone from the spec; kept until RetiredUntil
)

// Entry is one entry the state holds, as patwatch state list shows it.
type Entry struct {
	Kind   string      `json:"kind"` // search or report
	Name   string      `json:"name"`
	Status EntryStatus `json:"status"`
	Hits   int         `json:"hits"`
	// LastRefresh is the last successful refresh of a search, where the
	// state records it (a search with its own interval, or every search
	// under a daily budget); nil otherwise, and for a report.
	LastRefresh *time.Time `json:"last_refresh"`
	// RetiredUntil is when a retired entry is forgotten; nil otherwise.
	RetiredUntil *time.Time `json:"retired_until"`
}

// Entries lists the entries st holds, searches then reports, each by name:
// the live ones and the retired ones. sp, when not nil, is the spec that
// says which are suspended and which are gone from it.
func Entries(st *state.State, sp *spec.Spec) []Entry {
	inSpec, suspended := map[string]bool{}, map[string]bool{}
	if sp != nil {
		for _, s := range sp.Searches {
			inSpec["search "+s.Name], suspended["search "+s.Name] = true, s.Suspend
		}
		for _, r := range sp.Reports {
			inSpec["report "+r.Name], suspended["report "+r.Name] = true, r.Suspend
		}
	}
	status := func(key string) EntryStatus {
		switch {
		case sp != nil && !inSpec[key]:
			return EntryRemoved
		case suspended[key]:
			return EntrySuspended
		}
		return EntryActive
	}
	var out []Entry
	for _, name := range sortedNames(st.Searches, st.RetiredSearches) {
		e := Entry{Kind: "search", Name: name}
		s := st.Searches[name]
		if s == nil {
			s = st.RetiredSearches[name]
			e.Status, e.RetiredUntil = EntryRetired, until(s.RetiredAt)
		} else {
			e.Status = status("search " + name)
		}
		e.Hits = len(s.Hits)
		if !s.RefreshedAt.IsZero() {
			t := s.RefreshedAt.UTC()
			e.LastRefresh = &t
		}
		out = append(out, e)
	}
	for _, name := range sortedNames(st.Reports, st.RetiredReports) {
		e := Entry{Kind: "report", Name: name, Status: status("report " + name)}
		if st.Reports[name] == nil {
			e.Status, e.RetiredUntil = EntryRetired, until(st.RetiredReports[name].RetiredAt)
		}
		out = append(out, e)
	}
	return out
}

// sortedNames is the names of live and retired, sorted; a name in both
// (not written by patwatch) once.
func sortedNames[T any](live, retired map[string]*T) []string {
	names := slices.Collect(maps.Keys(live))
	for n := range retired {
		if live[n] == nil {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

func until(retiredAt time.Time) *time.Time {
	t := retiredAt.Add(state.RetentionPeriod).UTC()
	return &t
}

// EntriesFormatVersion is the version of state list's JSON shape.
const EntriesFormatVersion = "1"

// RenderEntries writes entries as state list prints them: a table in text,
// or {"format_version": "1", "entries": […]} in JSON.
func RenderEntries(w io.Writer, entries []Entry, format string) error {
	if format == FormatJSON {
		if entries == nil {
			entries = []Entry{}
		}
		b, err := json.MarshalIndent(struct {
			FormatVersion string  `json:"format_version"`
			Entries       []Entry `json:"entries"`
		}{EntriesFormatVersion, entries}, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	if len(entries) == 0 {
		_, err := io.WriteString(w, "The state holds no entry.\n")
		return err
	}
	var t table
	t.row("KIND", "NAME", "STATUS", "HITS", "LAST REFRESH")
	for _, e := range entries {
		status := string(e.Status)
		if e.RetiredUntil != nil {
			status += " until " + e.RetiredUntil.Format(time.DateOnly)
		}
		hits, refreshed := "-", "-"
		if e.Kind == "search" {
			hits = strconv.Itoa(e.Hits)
		}
		if e.LastRefresh != nil {
			refreshed = e.LastRefresh.Format(time.RFC3339)
		}
		t.row(e.Kind, Printable(e.Name), status, hits, refreshed)
	}
	return t.write(w, "")
}
