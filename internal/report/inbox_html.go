package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// InboxPage is what the inbox's HTML page shows: each patent awaiting a
// decision as a card of the report page, with its drawing, the searches it
// awaits a decision in, and the command that decides it.
type InboxPage struct {
	Spec, State     string // as given
	PatwatchVersion string // of the patwatch drawing the page
	GeneratedAt     time.Time
	Simulated       bool // the state was written by --sandbox runs
	Hits            []InboxHit
}

// InboxHit is one patent awaiting a decision.
type InboxHit struct {
	PatentPN, Title, CurrentAssignee string
	FirstSeen                        time.Time
	Link                             string
	Searches                         []InboxSearch // best score first
	Drawing                          Picture
}

// InboxSearch is a search a patent awaits a decision in, with its score
// there (0: unknown).
type InboxSearch struct {
	Name  string
	Score float64
}

// RenderInbox writes p as one self-contained HTML page, with the same
// guarantees as RenderHTML.
func RenderInbox(w io.Writer, p *InboxPage) error {
	v := pageView{
		shell:   newShell(p.Simulated, p.PatwatchVersion),
		Heading: "patwatch inbox",
		Tally:   count(len(p.Hits), "patent awaits a decision", "patents await a decision"),
	}
	var meta []string
	if p.Spec != "" {
		meta = append(meta, "spec "+p.Spec)
	}
	if p.State != "" {
		meta = append(meta, "state "+p.State)
	}
	if !p.GeneratedAt.IsZero() {
		meta = append(meta, p.GeneratedAt.UTC().Format(time.RFC3339))
	}
	v.Meta = strings.Join(meta, " · ")
	v.Title = titleOf(v.Heading, p.Spec, p.GeneratedAt)
	sv := searchView{ID: "inbox", Name: "Awaiting a decision", Class: "new", Badge: count(len(p.Hits), "patent", "patents")}
	for _, h := range p.Hits {
		hv := hitView(HitChange{PatentPN: h.PatentPN, Title: h.Title, CurrentAssignee: h.CurrentAssignee, Link: h.Link}, h.Drawing, "new")
		hv.Seen = "first seen " + h.FirstSeen.UTC().Format(time.DateOnly) + " · in " + inboxSearches(h.Searches)
		hv.Mark = MarkCommand(h.PatentPN)
		sv.New = append(sv.New, hv)
	}
	v.Searches = []searchView{sv}
	return execute(w, "inbox", v)
}

// inboxSearches writes the searches a patent awaits a decision in, with
// their scores.
func inboxSearches(ss []InboxSearch) string {
	var parts []string
	for _, s := range ss {
		if s.Score > 0 {
			parts = append(parts, fmt.Sprintf("%s (score %s)", s.Name, strconv.FormatFloat(min(s.Score, 1), 'f', 3, 64)))
		} else {
			parts = append(parts, s.Name)
		}
	}
	return strings.Join(parts, ", ")
}

// MarkCommand is the command that records a decision on the patent pn, as
// the pages show it for the reader to copy.
func MarkCommand(pn string) string {
	return "patwatch mark " + pn + " --as not_relevant"
}
