// Package inbox is where an analyst's triage starts: the hits a state holds
// that were reported new and have no decision yet, one entry per patent
// across searches, newest first. Build computes it, a pure function of the
// state, the decisions file and the scores patwatch kept; the renderers
// write it as text, as JSON (the contract in README.md and docs/decisions.md)
// and as an HTML page of the report page's cards, with the drawings.
package inbox

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

// FormatVersion is the version of the JSON inbox's shape.
const FormatVersion = "1"

// Inbox is the hits awaiting a decision.
type Inbox struct {
	FormatVersion string  `json:"format_version"`
	Hits          []Entry `json:"hits"`
}

// Entry is one patent awaiting a decision, with the searches that hold it
// as a hit reported new and undecided there.
type Entry struct {
	PatentPN        string `json:"patent_pn"`
	Title           string `json:"title"`
	CurrentAssignee string `json:"current_assignee"`
	// FirstSeen is when the first of its searches reported it new.
	FirstSeen time.Time `json:"first_seen"`
	Link      string    `json:"link"`
	Searches  []Search  `json:"searches"` // best score first
}

// Search is one search an entry's patent awaits a decision in.
type Search struct {
	Name  string  `json:"name"`
	Score float64 `json:"score"` // as last seen; 0 when patwatch kept none
}

// Kept is what the inbox reads of what patwatch kept of each hit beside
// the state (the drawings step's index): its last score, and its drawing
// for the HTML page.
type Kept interface {
	Score(search, pn string) float64
	Drawing(ctx context.Context, search, pn string) report.Picture
}

// Build lists the hits of st that were reported new (first seen after their
// search's baseline: not recorded by a baseline or rebaseline) and that
// have no decision in ds in a search that holds them, one entry per patent,
// newest first, then by number. links gives each its durable link; kept,
// when not nil, the searches' scores.
func Build(st *state.State, ds *spec.Decisions, links spec.Links, kept Kept) *Inbox {
	byPN := map[string]*Entry{}
	for _, name := range slices.Sorted(maps.Keys(st.Searches)) {
		s := st.Searches[name]
		for pn, h := range s.Hits {
			if !h.FirstSeen.After(s.BaselineAt) || ds.For(name, pn) != "" {
				continue
			}
			e := byPN[pn]
			if e == nil {
				e = &Entry{PatentPN: pn, Title: h.Title, CurrentAssignee: h.CurrentAssignee, FirstSeen: h.FirstSeen,
					Link: links.PatentURL(pn, h.PatentID)}
				byPN[pn] = e
			}
			if h.FirstSeen.Before(e.FirstSeen) {
				e.FirstSeen = h.FirstSeen
			}
			sc := Search{Name: name}
			if kept != nil {
				sc.Score = kept.Score(name, pn)
			}
			e.Searches = append(e.Searches, sc)
		}
	}
	in := &Inbox{FormatVersion: FormatVersion, Hits: make([]Entry, 0, len(byPN))}
	for _, e := range byPN {
		slices.SortStableFunc(e.Searches, func(a, b Search) int { return cmp.Compare(b.Score, a.Score) })
		in.Hits = append(in.Hits, *e)
	}
	slices.SortFunc(in.Hits, func(a, b Entry) int {
		return cmp.Or(b.FirstSeen.Compare(a.FirstSeen), cmp.Compare(a.PatentPN, b.PatentPN))
	})
	return in
}

// RenderJSON writes in as one indented JSON object.
func RenderJSON(w io.Writer, in *Inbox) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(in)
}

// RenderText writes in for a terminal: one block per patent, the command
// that decides it last.
func RenderText(w io.Writer, in *Inbox) error {
	var b strings.Builder
	if len(in.Hits) == 0 {
		b.WriteString("Inbox empty: every hit reported new has a decision.\n")
		_, err := io.WriteString(w, b.String())
		return err
	}
	fmt.Fprintf(&b, "Inbox: %s awaiting a decision, newest first\n\n", count(len(in.Hits), "patent", "patents"))
	for i, e := range in.Hits {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%s  %s\n", report.Printable(e.PatentPN), orDash(report.Printable(e.Title)))
		var facts []string
		if e.CurrentAssignee != "" {
			facts = append(facts, report.Printable(e.CurrentAssignee))
		}
		facts = append(facts, "first seen "+e.FirstSeen.UTC().Format(time.RFC3339))
		fmt.Fprintf(&b, "    %s\n", strings.Join(facts, " · "))
		var in []string
		for _, s := range e.Searches {
			in = append(in, s.Name+scoreText(s.Score))
		}
		fmt.Fprintf(&b, "    in %s\n", strings.Join(in, ", "))
		if e.Link != "" {
			fmt.Fprintf(&b, "    %s\n", report.Printable(e.Link))
		}
	}
	fmt.Fprintf(&b, "\nDecide with: patwatch mark PATENT_PN... --as not_relevant|relevant|report\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func scoreText(s float64) string {
	if s <= 0 {
		return ""
	}
	return " (score " + strconv.FormatFloat(s, 'f', 3, 64) + ")"
}

func count(n int, one, many string) string {
	return fmt.Sprintf("%d %s", n, report.Plural(n, one, many))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Page is in as the HTML page shows it: each patent's card with the
// drawing of the first of its searches that kept one.
func Page(ctx context.Context, in *Inbox, kept Kept) []report.InboxHit {
	out := make([]report.InboxHit, 0, len(in.Hits))
	for _, e := range in.Hits {
		h := report.InboxHit{PatentPN: e.PatentPN, Title: e.Title, CurrentAssignee: e.CurrentAssignee, FirstSeen: e.FirstSeen, Link: e.Link}
		for _, s := range e.Searches {
			h.Searches = append(h.Searches, report.InboxSearch{Name: s.Name, Score: s.Score})
			if h.Drawing.Image == nil && kept != nil {
				if pic := kept.Drawing(ctx, s.Name, e.PatentPN); pic.Image != nil || h.Drawing.Missing == "" {
					h.Drawing = pic
				}
			}
		}
		out = append(out, h)
	}
	return out
}

// Write prints in to stdout in format (text, json or html, page rendering
// the HTML page) and, when out is set, writes it to the file out as well;
// an HTML page then goes to out alone, the text to stdout.
func Write(stdout io.Writer, in *Inbox, format, out string, page func(io.Writer) error) error {
	render := func(w io.Writer, format string) error {
		switch format {
		case "json":
			return RenderJSON(w, in)
		case "html":
			return page(w)
		}
		return RenderText(w, in)
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
	_, err := stdout.Write(buf.Bytes())
	return err
}
