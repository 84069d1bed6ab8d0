package notify

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/state"
)

// DigestLimit is how many new hits, and how many dropped ones, a digest
// lists per search before it says "and N more".
const DigestLimit = 10

// Digest renders m for a chat or an e-mail: a subject line (the tally of
// what the message tells), then the spec's file name and the time of the
// run, then per search its new hits with title, assignee, score and
// durable link and its dropped hits, each marked with its decision as the
// text change report marks it ("  [relevant]"), at most limit of each
// ("and N more" past that), then the reports that finished or failed (a finished one with its file's
// name) and the entries whose call failed. No path of the machine that
// ran patwatch is in it: it means nothing where the message is read.
// The text is plain: it reads the same in Slack, Teams, a terminal and a
// mail client. The subject is also the text's first line.
func Digest(m *state.Message, limit int) (subject, text string) {
	if limit <= 0 {
		limit = DigestLimit
	}
	subject = "patwatch: " + tally(m.Events)
	if m.Simulated {
		subject += " (simulated: a --sandbox run)"
	}
	var b strings.Builder
	b.WriteString(subject + "\n")
	fmt.Fprintf(&b, "%s, run of %s\n", clean(report.FileName(m.Spec)), m.GeneratedAt.UTC().Format("2006-01-02 15:04 UTC"))

	type group struct {
		name         string
		news, drops  []state.Event
		searchErrors []state.Event
	}
	var groups []*group
	byName := map[string]*group{}
	var reports []state.Event
	for _, e := range m.Events {
		switch e.Kind {
		case KindNew, KindDropped:
		case KindError:
			if e.Search == "" {
				reports = append(reports, e)
				continue
			}
		case KindTest:
			fmt.Fprintf(&b, "\nThis is a test message from 'patwatch notify test': channel %s works.\n", clean(m.Channel))
			continue
		default:
			reports = append(reports, e)
			continue
		}
		g := byName[e.Search]
		if g == nil {
			g = &group{name: e.Search}
			byName[e.Search] = g
			groups = append(groups, g)
		}
		switch e.Kind {
		case KindNew:
			g.news = append(g.news, e)
		case KindDropped:
			g.drops = append(g.drops, e)
		default:
			g.searchErrors = append(g.searchErrors, e)
		}
	}
	for _, g := range groups {
		b.WriteString("\n")
		var counts []string
		if len(g.news) > 0 {
			counts = append(counts, strconv.Itoa(len(g.news))+" new")
		}
		if len(g.drops) > 0 {
			counts = append(counts, strconv.Itoa(len(g.drops))+" dropped")
		}
		if len(counts) > 0 {
			fmt.Fprintf(&b, "%s: %s\n", clean(g.name), strings.Join(counts, ", "))
		}
		for i, e := range g.news {
			if i == limit {
				fmt.Fprintf(&b, "  … and %d more new %s\n", len(g.news)-limit, report.Plural(len(g.news)-limit, "hit", "hits"))
				break
			}
			fmt.Fprintf(&b, "+ %s  %s%s\n", clean(e.PatentPN), clean(e.Title), report.DecisionMark(e.Decision))
			var facts []string
			if e.CurrentAssignee != "" {
				facts = append(facts, clean(e.CurrentAssignee))
			}
			facts = append(facts, "score "+strconv.FormatFloat(e.Score, 'f', 3, 64))
			fmt.Fprintf(&b, "  %s\n", strings.Join(facts, " · "))
			if e.Link != "" {
				fmt.Fprintf(&b, "  %s\n", clean(e.Link))
			}
		}
		for i, e := range g.drops {
			if i == limit {
				fmt.Fprintf(&b, "  … and %d more dropped\n", len(g.drops)-limit)
				break
			}
			fmt.Fprintf(&b, "- %s  %s%s\n", clean(e.PatentPN), clean(e.Title), report.DecisionMark(e.Decision))
		}
		for _, e := range g.searchErrors {
			fmt.Fprintf(&b, "! search %s failed: %s\n", clean(g.name), clean(e.Error))
		}
	}
	if len(reports) > 0 {
		b.WriteString("\n")
	}
	for _, e := range reports {
		switch e.Kind {
		case KindFinished:
			fmt.Fprintf(&b, "+ report %s (%s) finished: %s\n", clean(e.Report), clean(e.Patent), clean(report.FileName(e.File)))
		case KindFailed:
			fmt.Fprintf(&b, "! report %s (%s) failed: %s\n", clean(e.Report), clean(e.Patent), clean(e.Error))
		default:
			if e.Report == "" { // the run's own error, of no entry
				fmt.Fprintf(&b, "! %s\n", clean(e.Error))
				continue
			}
			fmt.Fprintf(&b, "! report %s: %s\n", clean(e.Report), clean(e.Error))
		}
	}
	return subject, b.String()
}

// tally counts the events of each kind: "3 new hits, 1 dropped, 1 report
// finished".
func tally(events []state.Event) string {
	n := map[string]int{}
	for _, e := range events {
		n[e.Kind]++
	}
	if n[KindTest] > 0 {
		return "test message"
	}
	var parts []string
	add := func(k int, one, many string) {
		if k > 0 {
			parts = append(parts, strconv.Itoa(k)+" "+report.Plural(k, one, many))
		}
	}
	add(n[KindNew], "new hit", "new hits")
	add(n[KindDropped], "dropped", "dropped")
	add(n[KindFinished], "report finished", "reports finished")
	add(n[KindFailed], "report failed", "reports failed")
	add(n[KindError], "error", "errors")
	if len(parts) == 0 {
		return "nothing to tell"
	}
	return strings.Join(parts, ", ")
}

// clean keeps text from the API on its line: control characters are
// written as escapes, as the change report does.
func clean(s string) string { return report.Printable(s) }
