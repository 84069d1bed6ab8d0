package spec

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/patwatch/patwatch/internal/hint"
	"github.com/patwatch/patwatch/internal/suggest"
)

// patentNumberRE is a publication number as the hits carry it and the
// decisions schema writes it: an upper-case office code, then digits and
// kind code.
var patentNumberRE = regexp.MustCompile(`^[A-Z]{2}[A-Z0-9]*[0-9][A-Z0-9]*$`)

// maxPatentNumber is the longest publication number accepted.
const maxPatentNumber = 40

// patentNumberProblem says what is wrong with pn as a publication number,
// and what to write instead; "" when nothing is.
func patentNumberProblem(pn string) (msg, advice string) {
	switch {
	case patentNumberRE.MatchString(pn) && len(pn) <= maxPatentNumber:
		return "", ""
	case len(pn) > maxPatentNumber:
		return fmt.Sprintf("%s is longer than %d characters: no publication number is", quoteShort(pn), maxPatentNumber), ""
	case strings.TrimSpace(pn) != pn || strings.ContainsAny(pn, " \t"):
		return fmt.Sprintf("%s is not a publication number: it holds spaces", quoteShort(pn)),
			"write it as the hits give it, without spaces: " + strings.Join(strings.Fields(strings.ToUpper(pn)), "")
	case patentNumberRE.MatchString(strings.ToUpper(pn)):
		return fmt.Sprintf("%s is not a publication number as the hits give it: write it in upper case", quoteShort(pn)),
			"write " + strings.ToUpper(pn)
	}
	return fmt.Sprintf("%s is not a publication number such as CN305104902S: upper-case office code, then digits and kind code", quoteShort(pn)),
		"write the patent_pn of the hit, as the change report gives it"
}

// ParseVerdict reads a verdict as a decisions file writes it; an unknown
// one is an error with the verdict probably meant.
func ParseVerdict(s string) (Verdict, error) {
	if slices.Contains(Verdicts, Verdict(s)) {
		return Verdict(s), nil
	}
	words := make([]string, len(Verdicts))
	for i, v := range Verdicts {
		words[i] = string(v)
	}
	err := fmt.Errorf("unknown verdict %s: a verdict is %s", quoteShort(s), strings.Join(words, ", "))
	if best := suggest.Closest(strings.ReplaceAll(s, "-", "_"), words); best != "" {
		return "", hint.Wrap(err, "did you mean "+best+"?")
	}
	return "", err
}

// reportProblem says why a report verdict cannot hold for pn: PatSnap's
// value reports do not cover design patents. "" when it can.
func reportProblem(pn string) (msg, advice string) {
	if !IsDesignNumber(pn) {
		return "", ""
	}
	return fmt.Sprintf("%s is a design patent; PatSnap's value reports do not cover design patents", pn),
		"decide relevant or not_relevant for it instead"
}

// searchProblem says why a decision cannot name the search name: the spec
// has no search of that name. "" when it has.
func searchProblem(name string, searches []Search) (msg, advice string) {
	var names []string
	for _, s := range searches {
		if s.Name == name {
			return "", ""
		}
		names = append(names, s.Name)
	}
	msg = fmt.Sprintf("the spec has no search named %q", name)
	if best := suggest.Closest(name, names); best != "" {
		return msg, "did you mean " + best + "?"
	}
	if len(names) == 0 {
		return msg, "the spec has no searches"
	}
	return msg, "the spec's searches: " + strings.Join(names, ", ")
}

// CheckDecision returns every reason why the spec s cannot hold d, each an
// error with its hint: a malformed patent number, an unknown verdict, a
// search the spec does not have, a report ordered for a design patent.
// 'patwatch mark' refuses such a decision before it touches the file.
func (s *Spec) CheckDecision(d Decision) []error {
	var errs []error
	add := func(msg, advice string) {
		if msg != "" {
			errs = append(errs, hint.Wrap(errors.New(msg), advice))
		}
	}
	add(patentNumberProblem(d.PatentPN))
	if _, err := ParseVerdict(string(d.Verdict)); err != nil {
		errs = append(errs, err)
	}
	for _, name := range d.Searches {
		add(searchProblem(name, s.Searches))
	}
	if d.Verdict == VerdictReport {
		add(reportProblem(d.PatentPN))
	}
	return errs
}

// buildDecisions checks each decision of the decoded file v beyond what
// the schema says (numbers, dates, names of searches, reports ordered for
// design patents) and fills ds.
func (l *loader) buildDecisions(v any, ds *Decisions, searches []Search) {
	top, ok := v.(map[string]any)
	if !ok {
		return
	}
	entries, _ := top["decisions"].(map[string]any)
	for pn, e := range entries {
		ptr := []string{"decisions", pn}
		if msg, advice := patentNumberProblem(pn); msg != "" {
			l.addKey(ptr, msg, advice)
			continue
		}
		m, ok := e.(map[string]any)
		if !ok {
			continue // the schema said what it should be
		}
		d := Decision{PatentPN: pn}
		if _, key, _ := l.resolve(ptr); key != nil {
			d.Line = key.Line
		}
		if s, ok := m["verdict"].(string); ok && slices.Contains(Verdicts, Verdict(s)) {
			d.Verdict = Verdict(s)
		}
		if d.Verdict == VerdictReport {
			if msg, advice := reportProblem(pn); msg != "" {
				l.add(with(ptr, "verdict"), msg, advice)
			}
		}
		d.Note, _ = m["note"].(string)
		d.By, _ = m["by"].(string)
		d.At = l.decisionDate(with(ptr, "at"), m["at"])
		for j, name := range stringList(m["searches"]) {
			d.Searches = append(d.Searches, name)
			if msg, advice := searchProblem(name, searches); msg != "" {
				l.add(with(ptr, "searches", strconv.Itoa(j)), msg, advice)
			}
		}
		ds.ByPatent[pn] = d
	}
}

// decisionDate reads a decision's at: a date the schema found well formed
// must also exist.
func (l *loader) decisionDate(ptr []string, v any) string {
	s, ok := v.(string)
	if !ok || !decisionDateRE.MatchString(s) {
		return ""
	}
	if _, err := time.Parse(time.DateOnly, s); err != nil {
		l.add(ptr, fmt.Sprintf("%s is not a calendar date", quoteShort(s)), "write the date as yyyy-mm-dd, e.g. 2026-12-07")
		return ""
	}
	return s
}

var decisionDateRE = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)
