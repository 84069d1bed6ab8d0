package report

import (
	"bytes"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Summary is the one-line tally of a change report.
func Summary(c *ChangeReport) string {
	var n struct {
		newHits, dropped, silenced, baseline, rebaseline, renamed, restored, removed, searchErr, submitted, finished, failed, pending, reportErr int
	}
	for _, s := range c.Searches {
		n.silenced += s.Suppressed
		if s.RenamedFrom != "" {
			n.renamed++
		}
		if s.Restored {
			n.restored++
		}
		n.newHits += len(s.New)
		n.dropped += len(s.Dropped)
		switch s.Status {
		case StatusBaseline:
			n.baseline++
		case StatusRebaseline:
			n.rebaseline++
		case StatusRemoved:
			n.removed++
		case StatusError:
			n.searchErr++
		}
	}
	for _, r := range c.Reports {
		if r.RenamedFrom != "" {
			n.renamed++
		}
		if r.Restored {
			n.restored++
		}
		switch r.Status {
		case ReportSubmitted, ReportSubmit:
			n.submitted++
		case ReportFinished, ReportDownload:
			n.finished++
		case ReportFailed:
			n.failed++
		case ReportPending:
			n.pending++
		case ReportRemoved:
			n.removed++
		case ReportError:
			n.reportErr++
		}
	}
	plan := c.Command == "plan"
	var parts []string
	add := func(k int, what string) {
		if k > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", k, what))
		}
	}
	add(n.newHits, "new")
	add(n.dropped, "dropped")
	add(n.silenced, "silenced by decisions")
	add(n.baseline, Plural(n.baseline, "baseline", "baselines"))
	add(n.rebaseline, Plural(n.rebaseline, "rebaseline", "rebaselines"))
	add(n.renamed, "renamed")
	add(n.restored, "restored")
	add(n.removed, "removed")
	if plan {
		add(n.submitted, Plural(n.submitted, "report to submit", "reports to submit"))
		add(n.finished, Plural(n.finished, "report to download", "reports to download"))
	} else {
		add(n.submitted, Plural(n.submitted, "report submitted", "reports submitted"))
		add(n.finished, Plural(n.finished, "report finished", "reports finished"))
	}
	add(n.failed, Plural(n.failed, "report failed", "reports failed"))
	add(n.pending, Plural(n.pending, "report pending", "reports pending"))
	add(n.searchErr+n.reportErr, Plural(n.searchErr+n.reportErr, "error", "errors"))
	// The head counts the entries of the spec, as validate does; removed
	// ones are no longer in it and are counted among the changes.
	searches, reports := 0, 0
	for _, s := range c.Searches {
		if s.Status != StatusRemoved {
			searches++
		}
	}
	for _, r := range c.Reports {
		if r.Status != ReportRemoved {
			reports++
		}
	}
	head := fmt.Sprintf("%s, %s", count(searches, "search", "searches"), count(reports, "report", "reports"))
	if c.ReportsOnly {
		head = "report poll, " + count(reports, "report", "reports")
	}
	changes := "no changes"
	if len(parts) > 0 {
		changes = strings.Join(parts, ", ")
	}
	if n := skipped(c); n > 0 {
		changes += fmt.Sprintf(", %d skipped", n)
	}
	return head + ": " + changes
}

// skipped counts the searches and reports a run left out.
func skipped(c *ChangeReport) int {
	n := 0
	for _, s := range c.Searches {
		if s.Status == StatusSkipped {
			n++
		}
	}
	for _, r := range c.Reports {
		if r.Status == ReportSkipped {
			n++
		}
	}
	return n
}

// CallsLine says what the run spent of the API: the calls made and the
// worst case, or for an offline plan the worst case of the next apply. It
// is empty for a report whose calls were not counted.
func CallsLine(c *ChangeReport) string {
	switch {
	case c.Calls.Made == nil && c.Offline:
		return fmt.Sprintf("API calls: none (offline); worst case of the apply: %d", c.Calls.Estimated)
	case c.Calls.Made == nil:
		return ""
	case *c.Calls.Made == 0 && c.Calls.Estimated == 0:
		return "API calls: none"
	}
	return fmt.Sprintf("API calls: %d made, worst case %d", *c.Calls.Made, c.Calls.Estimated)
}

// defaultSkipReason is why an entry is skipped when the report says no more.
const defaultSkipReason = "not selected by --target or --exclude"

func skipReason(reason string) string {
	if reason == "" {
		return defaultSkipReason
	}
	return reason
}

// Plural is one when n is 1, many otherwise.
func Plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// Header is the line that says which run made the report: command, spec,
// time, version, and whether the API was simulated or what started a watch
// run. It is empty for a report that carries none of these.
func Header(c *ChangeReport) string {
	var b strings.Builder
	b.WriteString(c.Command)
	if c.Spec != "" {
		b.WriteString(" of " + Printable(c.Spec))
	}
	if !c.GeneratedAt.IsZero() {
		b.WriteString(" at " + c.GeneratedAt.UTC().Format(time.RFC3339))
	}
	if c.PatwatchVersion != "" {
		b.WriteString(" by patwatch " + Printable(c.PatwatchVersion))
	}
	if c.Simulated {
		b.WriteString(", simulated (--sandbox)")
	}
	if c.Trigger != "" {
		b.WriteString(", watch trigger: " + c.Trigger)
	}
	if b.Len() == len(c.Command) {
		return ""
	}
	return b.String()
}

// renderText draws a Terraform-like listing: + added, - removed or dropped,
// ~ changed, ! failed, a blank for what is unchanged.
func renderText(w *bytes.Buffer, c *ChangeReport) {
	if h := Header(c); h != "" {
		fmt.Fprintf(w, "%s\n\n", capitalize(h))
	}
	plan := c.Command == "plan"
	for _, s := range c.Searches {
		renderTextSearch(w, c, plan, s)
	}
	for _, r := range c.Reports {
		name, sym := r.Name, reportSymbol(r.Status)
		text := reportText(r)
		if r.Restored {
			if sym == " " {
				sym = "~"
			}
			if r.Status == ReportReady || r.Status == ReportPending {
				text += ", its retired job and file restored"
			}
			fmt.Fprintf(w, "%s report %s (%s, back in the spec): %s\n", sym, name, reportSubject(r), Printable(text))
			continue
		}
		if r.RenamedFrom != "" {
			if sym == " " {
				sym = "~"
			}
			if r.Status == ReportReady || r.Status == ReportPending {
				text += ", its job and file carried over"
			}
			fmt.Fprintf(w, "%s report %s (%s, renamed from %s): %s\n", sym, name, reportSubject(r), r.RenamedFrom, Printable(text))
			continue
		}
		fmt.Fprintf(w, "%s report %s (%s): %s\n", sym, name, reportSubject(r), Printable(text))
	}
	if c.Stopped != nil {
		fmt.Fprintf(w, "\n! the run stopped at an account-wide error: %s\n  check: %s\n", Printable(c.Stopped.Error), Printable(c.Stopped.Check))
	}
	fmt.Fprintf(w, "\n%s: %s\n", capitalize(c.Command), Summary(c))
	if l := CallsLine(c); l != "" {
		fmt.Fprintf(w, "%s\n", l)
	}
}

// renderTextSearch writes a search's line, and its new and dropped hits. A
// renamed search says so on the same line.
func renderTextSearch(w *bytes.Buffer, c *ChangeReport, plan bool, s SearchChange) {
	name := s.Name
	if s.RenamedFrom != "" {
		name += " (renamed from " + s.RenamedFrom + ")"
	}
	if s.Restored {
		name += " (back in the spec)"
	}
	line := func(sym, format string, args ...any) {
		fmt.Fprintf(w, "%s search %s: %s\n", sym, name, fmt.Sprintf(format, args...))
	}
	hits := count(s.Hits, "hit", "hits")
	switch s.Status {
	case StatusBaseline:
		switch {
		case c.Offline:
			line("+", "new, apply records its baseline")
		case plan:
			line("+", "new, apply records a baseline of %s%s", hits, totalNote(s))
		default:
			line("+", "baseline, %s recorded%s", hits, totalNote(s))
		}
	case StatusRebaseline:
		switch {
		case c.Offline:
			line("~", "query changed%s, apply rebaselines it (%s recorded now)", queryNote(s), hits)
		case plan:
			line("~", "query changed, apply rebaselines it with %s%s", hits, totalNote(s))
		default:
			line("~", "query changed, rebaselined with %s%s", hits, totalNote(s))
		}
	case StatusError:
		line("!", "error: %s (recorded hits kept)", Printable(s.Error))
	case StatusRemoved:
		switch {
		case s.Hits == 0:
			line("-", "removed from the spec")
		case plan:
			line("-", "removed from the spec, apply retires its %s%s", count(s.Hits, "recorded hit", "recorded hits"), untilNote(s.RetiredUntil))
		default:
			line("-", "removed from the spec, its %s retired", count(s.Hits, "recorded hit", "recorded hits"))
		}
	case StatusSuspended:
		line(" ", "suspended")
	case StatusSkipped:
		line(" ", "skipped, %s", Printable(skipReason(s.Reason)))
	default:
		switch {
		case len(s.New) > 0 || len(s.Dropped) > 0:
			line("~", "%d new, %d dropped, %s%s%s%s", len(s.New), len(s.Dropped), hits, missingNote(s), suppressedNote(s), totalNote(s))
			for _, h := range s.New {
				writeTextHit(w, "+", h)
			}
			for _, h := range s.Dropped {
				writeTextHit(w, "-", h)
			}
		case s.RenamedFrom != "":
			line("~", "its %s carried over%s%s%s", hits, missingNote(s), suppressedNote(s), totalNote(s))
		case s.Restored:
			line("~", "its retired %s restored%s%s%s", hits, missingNote(s), suppressedNote(s), totalNote(s))
		default:
			line(" ", "no change, %s%s%s%s", hits, missingNote(s), suppressedNote(s), totalNote(s))
		}
	}
}

// count is n with the noun that fits it: "1 hit", "2 hits".
func count(n int, one, many string) string {
	return fmt.Sprintf("%d %s", n, Plural(n, one, many))
}

func writeTextHit(w *bytes.Buffer, sym string, h HitChange) {
	fmt.Fprintf(w, "    %s %s  %s%s\n", sym, Printable(h.PatentPN), orDash(Printable(h.Title)), DecisionMark(h.Decision))
	var facts []string
	if h.CurrentAssignee != "" {
		facts = append(facts, Printable(h.CurrentAssignee))
	}
	if h.Score != 0 {
		facts = append(facts, "score "+strconv.FormatFloat(h.Score, 'f', 3, 64))
	}
	if h.Apdt != 0 {
		facts = append(facts, "filed "+ymd(h.Apdt))
	}
	if h.Pbdt != 0 {
		facts = append(facts, "published "+ymd(h.Pbdt))
	}
	if len(facts) > 0 {
		fmt.Fprintf(w, "        %s\n", strings.Join(facts, " · "))
	}
}

// queryNote says how a search's query changed, where that is known:
// " (model 2 → 1, filters.country +JP)".
func queryNote(s SearchChange) string {
	if len(s.QueryChanges) == 0 {
		return ""
	}
	return " (" + Printable(strings.Join(s.QueryChanges, ", ")) + ")"
}

// untilNote says until when a removed entry's record is kept, where that
// is known: ", kept until 2027-01-06 for taking back".
func untilNote(until *time.Time) string {
	if until == nil {
		return ""
	}
	return ", kept until " + until.UTC().Format(time.DateOnly) + " for taking back"
}

func totalNote(s SearchChange) string {
	if s.Total == 0 {
		return ""
	}
	return fmt.Sprintf(" (%s in all)", count(s.Total, "match", "matches"))
}

func missingNote(s SearchChange) string {
	if s.Missing == 0 {
		return ""
	}
	return fmt.Sprintf(", %d missing this run but not yet dropped", s.Missing)
}

func reportSymbol(status ReportStatus) string {
	switch status {
	case ReportSubmitted, ReportFinished, ReportSubmit, ReportDownload:
		return "+"
	case ReportRemoved:
		return "-"
	case ReportFailed, ReportError:
		return "!"
	}
	return " "
}

func reportText(r ReportChange) string {
	switch r.Status {
	case ReportSubmitted:
		return "job " + r.JobID + " submitted"
	case ReportPending:
		if r.QueueNum > 0 {
			return fmt.Sprintf("job %s pending, %d in the queue", r.JobID, r.QueueNum)
		}
		return "job " + r.JobID + " pending"
	case ReportFinished:
		return "finished, downloaded to " + r.File
	case ReportReady:
		return "ready at " + r.File
	case ReportFailed:
		return "job " + r.JobID + " failed: " + r.Error + " (the next apply submits it again)"
	case ReportRemoved:
		if r.File != "" {
			return "removed from the spec, its job retired (the file stays at " + r.File + ")" + untilNote(r.RetiredUntil)
		}
		return "removed from the spec, its job retired" + untilNote(r.RetiredUntil)
	case ReportError:
		return "error: " + r.Error
	case ReportSubmit:
		if r.Reason != "" {
			return "a job would be submitted: " + r.Reason
		}
		return "a job would be submitted"
	case ReportDownload:
		return "job " + r.JobID + " finished; apply would download it"
	case ReportSkipped:
		return "skipped, " + skipReason(r.Reason)
	}
	return string(r.Status)
}

func ymd(d int) string {
	s := strconv.Itoa(d)
	if len(s) != 8 {
		return s
	}
	return s[:4] + "-" + s[4:6] + "-" + s[6:]
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// collapseAfter is how many rows a markdown table shows before it is folded
// into a <details> section.
const collapseAfter = 10

func renderMarkdown(w *bytes.Buffer, c *ChangeReport) {
	fmt.Fprintf(w, "### patwatch %s\n\n", c.Command)
	if h := Header(c); h != "" {
		fmt.Fprintf(w, "<sub>%s</sub>\n\n", mdEscape(capitalize(h)))
	}
	fmt.Fprintf(w, "**%s**\n\n", mdEscape(Summary(c)))
	if c.Stopped != nil {
		fmt.Fprintf(w, "> **The run stopped at an account-wide error:** %s  \n> check: %s\n\n", mdEscape(c.Stopped.Error), mdEscape(c.Stopped.Check))
	}
	if l := CallsLine(c); l != "" {
		fmt.Fprintf(w, "%s\n\n", mdEscape(l))
	}
	if len(c.Searches) > 0 && c.Offline {
		// Offline, nothing was asked of the API: no new, dropped or total.
		fmt.Fprintf(w, "| search | status | recorded hits |\n|---|---|---:|\n")
		for _, s := range c.Searches {
			status := string(s.Status)
			if s.Status == StatusSkipped {
				status += " (" + skipReason(s.Reason) + ")"
			}
			if s.RenamedFrom != "" {
				status += " (renamed from " + s.RenamedFrom + ")"
			}
			if s.Restored {
				status += " (restored)"
			}
			status += queryNote(s) + untilNote(s.RetiredUntil)
			fmt.Fprintf(w, "| %s | %s | %d |\n", mdEscape(s.Name), mdEscape(status), s.Hits)
		}
		w.WriteString("\n")
	} else if len(c.Searches) > 0 {
		fmt.Fprintf(w, "| search | status | new | dropped | hits | total |\n|---|---|---:|---:|---:|---:|\n")
		for _, s := range c.Searches {
			status := string(s.Status)
			switch s.Status {
			case StatusError:
				status = "error: " + s.Error
			case StatusSkipped:
				status += " (" + skipReason(s.Reason) + ")"
			}
			if s.RenamedFrom != "" {
				status += " (renamed from " + s.RenamedFrom + ")"
			}
			if s.Restored {
				status += " (restored)"
			}
			if s.Suppressed > 0 {
				status += fmt.Sprintf(" (%d silenced by decisions)", s.Suppressed)
			}
			fmt.Fprintf(w, "| %s | %s | %d | %d | %d | %d |\n", mdEscape(s.Name), mdEscape(status), len(s.New), len(s.Dropped), s.Hits, s.Total)
		}
		w.WriteString("\n")
	}
	for _, s := range c.Searches {
		if len(s.New) == 0 && len(s.Dropped) == 0 {
			continue
		}
		fmt.Fprintf(w, "#### %s\n\n", mdEscape(s.Name))
		rows := len(s.New) + len(s.Dropped)
		if rows > collapseAfter {
			fmt.Fprintf(w, "<details><summary>%d new, %d dropped</summary>\n\n", len(s.New), len(s.Dropped))
		}
		w.WriteString("| | patent | title | assignee | score | filed | published |\n|---|---|---|---|---:|---|---|\n")
		for _, h := range s.New {
			writeMarkdownHit(w, "new", h)
		}
		for _, h := range s.Dropped {
			writeMarkdownHit(w, "dropped", h)
		}
		if rows > collapseAfter {
			w.WriteString("\n</details>\n")
		}
		w.WriteString("\n")
	}
	if len(c.Reports) > 0 {
		w.WriteString("| report | patent | status | job | file |\n|---|---|---|---|---|\n")
		for _, r := range c.Reports {
			status := string(r.Status)
			if r.Error != "" {
				status += ": " + r.Error
			}
			if r.Reason != "" {
				status += " (" + r.Reason + ")"
			}
			if r.RenamedFrom != "" {
				status += " (renamed from " + r.RenamedFrom + ")"
			}
			if r.Restored {
				status += " (restored)"
			}
			if o := originNote(r); o != "" {
				status += " (" + o + ")"
			}
			status += untilNote(r.RetiredUntil)
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", mdEscape(r.Name), mdEscape(r.Patent), mdEscape(status), r.JobID, mdEscape(r.File))
		}
		w.WriteString("\n")
	}
}

// writeMarkdownHit writes a hit's row. Its patent number links to the
// durable link (links.patent); the drawing is linked only when its URL
// holds no query: a presigned link expires within days, and its signature
// must not be committed with a change report. Without a durable link, an
// unsigned drawing link is the patent number's link.
func writeMarkdownHit(w *bytes.Buffer, kind string, h HitChange) {
	if h.Decision != "" {
		kind += " (" + h.Decision + ")"
	}
	pn := mdEscape(h.PatentPN)
	drawing, unsigned := markdownURL(h.ImageURL)
	unsigned = unsigned && !strings.Contains(h.ImageURL, "?")
	if link, ok := markdownURL(h.Link); ok {
		pn = fmt.Sprintf("[%s](%s)", pn, link)
		if unsigned {
			pn += fmt.Sprintf(" ([drawing](%s))", drawing)
		}
	} else if unsigned {
		pn = fmt.Sprintf("[%s](%s)", pn, drawing)
	}
	score := ""
	if h.Score != 0 {
		score = strconv.FormatFloat(h.Score, 'f', 3, 64)
	}
	dates := func(d int) string {
		if d == 0 {
			return ""
		}
		return ymd(d)
	}
	fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", mdEscape(kind), pn, mdEscape(h.Title), mdEscape(h.CurrentAssignee), score, dates(h.Apdt), dates(h.Pbdt))
}

// Printable makes text that came from the API or a file safe to print on a
// terminal: control characters (escape sequences, carriage returns, tabs,
// newlines that would break a layout) are shown escaped, as in a Go string.
func Printable(s string) string {
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if isControl(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// isControl reports whether r must be shown escaped: a control character, a
// line or paragraph separator, or a bidirectional control (U+202A–U+202E,
// U+2066–U+2069 and the marks U+061C, U+200E, U+200F), which can make text
// read otherwise than it is ("Trojan Source").
func isControl(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Bidi_Control, r)
}

// markdownURL returns raw as a markdown link destination, if it is an
// absolute http or https URL with a host and no user name: every byte
// that could end the link, break a table or start markup is
// percent-encoded. Anything else (javascript:, data:, a relative path) is
// not linked at all.
func markdownURL(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil {
		return "", false
	}
	if sc := strings.ToLower(u.Scheme); sc != "http" && sc != "https" {
		return "", false
	}
	u.Scheme = strings.ToLower(u.Scheme)
	s := u.String()
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteByte(c)
		case c < 0x80 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~:/?#@!$&'+,;=", c) >= 0):
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String(), true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// mdEscape keeps text from breaking a table or being read as markup.
func mdEscape(s string) string {
	s = Printable(strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s))
	r := strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;", "*", `\*`, "_", `\_`, "`", "\\`", "[", `\[`, "]", `\]`)
	return r.Replace(s)
}
