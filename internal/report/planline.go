package report

import (
	"bytes"
	"fmt"
	"strings"
)

// A markdown plan is made for a pull request's comment, where reviewers ask
// above all for one line they can read without expanding anything: it
// starts with PlanLine, keeps the rest in a <details> section, and stays
// under GitHub's limit on a comment's length.

// MaxCommentChars is GitHub's limit on the length of a comment. A markdown
// plan stays under it, with room for a marker a workflow adds to find its
// comment again.
const MaxCommentChars = 65536

// markdownPlanRoom is what a markdown plan leaves of MaxCommentChars to
// the workflow that posts it.
const markdownPlanRoom = 512

// PlanLine is a plan's change in one line: the searches and reports it
// adds (+), changes (~) and removes (−), the new and dropped hits it saw,
// how it moves the calls per day
// and whether the watch list stays within its daily budget; "no change"
// for none. "+2 searches · −1 report · ≈ +38 calls/day · within budget".
func PlanLine(c *ChangeReport) string {
	var add, change, remove [2]int // searches, reports
	newHits, dropped := 0, 0
	for _, s := range c.Searches {
		newHits += len(s.New)
		dropped += len(s.Dropped)
		switch {
		case s.Status == StatusBaseline && !s.Restored:
			add[0]++
		case s.Status == StatusRemoved:
			remove[0]++
		case s.Status == StatusRebaseline, s.RenamedFrom != "", s.Restored:
			change[0]++
		}
	}
	for _, r := range c.Reports {
		switch {
		case r.Status == ReportSubmit && r.Reason == "" && r.RenamedFrom == "" && !r.Restored:
			add[1]++ // a first job; one with a reason replaces a job
		case r.Status == ReportRemoved:
			remove[1]++
		case r.Status == ReportSubmit, r.RenamedFrom != "", r.Restored:
			change[1]++
		}
	}
	var parts []string
	for _, p := range []struct {
		sign string
		n    [2]int
	}{{"+", add}, {"~", change}, {"−", remove}} {
		if p.n[0] > 0 {
			parts = append(parts, p.sign+tally(p.n[0], "search", "searches"))
		}
		if p.n[1] > 0 {
			parts = append(parts, p.sign+tally(p.n[1], "report", "reports"))
		}
	}
	if newHits > 0 {
		parts = append(parts, tally(newHits, "new hit", "new hits"))
	}
	if dropped > 0 {
		parts = append(parts, tally(dropped, "dropped hit", "dropped hits"))
	}
	if len(parts) == 0 {
		parts = append(parts, "no change")
	}
	return strings.Join(append(parts, perDayParts(c.Calls.PerDay)...), " · ")
}

// perDayParts are PlanLine's parts on calls per day.
func perDayParts(p *PerDay) []string {
	if p == nil {
		return nil
	}
	var parts []string
	switch {
	case p.Change > 0:
		parts = append(parts, fmt.Sprintf("≈ +%s calls/day", thousands(p.Change)))
	case p.Change < 0:
		parts = append(parts, fmt.Sprintf("≈ −%s calls/day", thousands(-p.Change)))
	}
	if p.Unknown > 0 {
		parts = append(parts, count(p.Unknown, "earlier query", "earlier queries")+" unknown")
	}
	switch {
	case p.OverBudget():
		parts = append(parts, fmt.Sprintf("over budget: ≈ %s of %s calls/day", thousands(p.Total), thousands(p.Budget)))
	case p.Budget > 0:
		parts = append(parts, "within budget")
	}
	return parts
}

// tally is count with commas between thousands: "1,200 new hits".
func tally(n int, one, many string) string {
	return thousands(n) + " " + Plural(n, one, many)
}

// thousands writes n with commas between thousands: 12,345.
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// renderMarkdownPlan writes a plan in markdown: PlanLine first, the change
// report in a <details> section, the whole cut to stay under
// MaxCommentChars (with a note saying so).
func renderMarkdownPlan(w *bytes.Buffer, c *ChangeReport) {
	var body bytes.Buffer
	renderMarkdown(&body, c)
	head := fmt.Sprintf("**%s**\n\n<details><summary>%s</summary>\n\n", mdEscape(PlanLine(c)), mdEscape(capitalize(c.Command)+": "+Summary(c)))
	const tail = "</details>\n"
	limit := MaxCommentChars - markdownPlanRoom - len(head) - len(tail)
	w.WriteString(head)
	w.Write(cutMarkdown(body.Bytes(), limit))
	w.WriteString(tail)
}

// cutMarkdown returns md whole when it is at most limit bytes, else its
// lines up to where the rest would pass limit, the <details> sections it
// opened closed, and a note of what was cut.
func cutMarkdown(md []byte, limit int) []byte {
	if len(md) <= limit {
		return md
	}
	lines := bytes.SplitAfter(md, []byte("\n"))
	const closing = "\n</details>\n"
	var out bytes.Buffer
	open, kept := 0, 0
	for _, l := range lines {
		// room for the note and a closing tag for each section still open
		if out.Len()+len(l)+200+(open+1)*len(closing) > limit {
			break
		}
		out.Write(l)
		open += bytes.Count(l, []byte("<details>")) - bytes.Count(l, []byte("</details>"))
		kept++
	}
	for ; open > 0; open-- {
		out.WriteString(closing)
	}
	fmt.Fprintf(&out, "\n_%s more lines cut to stay under GitHub's %s characters a comment: the whole plan is "+
		"`patwatch plan --offline --format markdown`, or its JSON._\n\n", thousands(len(lines)-kept), thousands(MaxCommentChars))
	return out.Bytes()
}
