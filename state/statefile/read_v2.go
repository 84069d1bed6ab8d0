package statefile

import (
	"fmt"
	"strconv"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/patwatch/patwatch/state"
)

// Format 2 is format 1 with members that record more than hits and jobs,
// each left out when unused, after format 1's searches and reports, which
// are read and written as in format 1:
//
//	"refreshed":       {"search": time}   the last refresh of a search with its own interval
//	"report_attempts": {"report": {...}}  resubmissions and creations of unknown outcome
//	"retired":         {"searches": {...}, "reports": {...}, "since": {"searches": {...}, "reports": {...}}}
//	"budget":          {"day": "2026-12-01", "calls": 123}
//	"outbox":          [message, ...]
//
// It is the newest format, whose layout the writer writes (write.go). Its
// strings but those of searches and reports are plain strings, which the
// JSON library writes.

// fileV2 is a format 2 file.
type fileV2 struct {
	FormatVersion   int                     `json:"format_version"`
	Serial          uint64                  `json:"serial"`
	Lineage         text                    `json:"lineage"`
	PatwatchVersion text                    `json:"patwatch_version"`
	Searches        searchMap               `json:"searches"`
	Reports         reportMap               `json:"reports"`
	Refreshed       map[string]timestamp    `json:"refreshed,omitzero"`
	ReportAttempts  map[string]attemptsJSON `json:"report_attempts,omitzero"`
	Retired         *retiredJSON            `json:"retired,omitzero"`
	Budget          *budgetJSON             `json:"budget,omitzero"`
	Outbox          []messageJSON           `json:"outbox,omitzero"`
}

type attemptsJSON struct {
	Submissions      int       `json:"submissions,omitzero"`
	OutcomeUnknownAt timestamp `json:"outcome_unknown_at,omitzero"`
}

type retiredJSON struct {
	Searches searchMap `json:"searches"`
	Reports  reportMap `json:"reports"`
	Since    sinceJSON `json:"since"`
}

// sinceJSON holds when each retired entry left the spec.
type sinceJSON struct {
	Searches map[string]timestamp `json:"searches"`
	Reports  map[string]timestamp `json:"reports"`
}

type budgetJSON struct {
	Day   string `json:"day"`
	Calls int    `json:"calls"`
}

type messageJSON struct {
	ID          string      `json:"id"`
	Channel     string      `json:"channel"`
	GeneratedAt timestamp   `json:"generated_at"`
	Spec        string      `json:"spec"`
	Simulated   bool        `json:"simulated,omitzero"`
	Events      []eventJSON `json:"events"`
	Attempts    int         `json:"attempts,omitzero"`
	FirstFailed timestamp   `json:"first_failed,omitzero"`
	LastError   string      `json:"last_error,omitzero"`
}

type eventJSON struct {
	Kind            string  `json:"kind"`
	Search          string  `json:"search,omitzero"`
	Report          string  `json:"report,omitzero"`
	PatentPN        string  `json:"patent_pn,omitzero"`
	Title           string  `json:"title,omitzero"`
	Score           float64 `json:"score,omitzero"`
	CurrentAssignee string  `json:"current_assignee,omitzero"`
	Apdt            int     `json:"apdt,omitzero"`
	Pbdt            int     `json:"pbdt,omitzero"`
	Link            string  `json:"link,omitzero"`
	Decision        string  `json:"decision,omitzero"`
	Patent          string  `json:"patent,omitzero"`
	File            string  `json:"file,omitzero"`
	Error           string  `json:"error,omitzero"`
}

// readV2 reads a format 2 file.
func readV2(in *input, p pass) (*state.State, Header, error) {
	r := &reader{in: in, pass: p}
	// The retired entries are read as searches and reports are, by a
	// reader of their own, which keeps them even in a check: their names
	// may repeat those of live entries, and the check compares them with
	// retired.since.
	rin := *in
	rin.before = nil
	rr := &reader{in: &rin, pass: loading}
	retired := &retiredJSON{Searches: searchMap{r: rr}, Reports: reportMap{r: rr}}
	v := fileV2{Searches: searchMap{r: r}, Reports: reportMap{r: r}, Retired: retired}
	err := readTop(in, &v)
	h := Header{FormatVersion: v.FormatVersion, Serial: v.Serial, Lineage: string(v.Lineage), PatwatchVersion: string(v.PatwatchVersion)}
	switch {
	case err != nil:
		return nil, h, err
	case r.problem != nil:
		return nil, h, r.problem
	case rr.problem != nil:
		return nil, h, rr.problem
	}
	st := newState(h, v.Searches.m, v.Reports.m)
	if err := v.apply(st, retired, p); err != nil {
		return nil, h, in.contentAt(0, "%v", err)
	}
	if p == checking {
		return nil, h, nil
	}
	return st, h, nil
}

// apply moves the format 2 members onto st and checks that they agree with
// the rest. retired is what was read of the retired member, if the file
// has one. A check keeps no searches, so it does not check the names of
// refresh times against them.
func (v *fileV2) apply(st *state.State, retired *retiredJSON, p pass) error {
	for name, t := range v.Refreshed {
		if time.Time(t).IsZero() {
			return fmt.Errorf("refreshed[%q]: the zero time", name)
		}
		if s, ok := st.Searches[name]; ok {
			s.RefreshedAt = time.Time(t)
		} else if p == loading {
			return fmt.Errorf("refreshed[%q]: no search of that name", name)
		}
	}
	for name, a := range v.ReportAttempts {
		r, ok := st.Reports[name]
		if !ok {
			return fmt.Errorf("report_attempts[%q]: no report of that name", name)
		}
		if a.Submissions < 0 || a.Submissions > state.MaxCount {
			return fmt.Errorf("report_attempts[%q].submissions: %d is out of range", name, a.Submissions)
		}
		if a.Submissions == 0 && time.Time(a.OutcomeUnknownAt).IsZero() {
			return fmt.Errorf("report_attempts[%q]: empty; leave it out", name)
		}
		r.Submissions, r.OutcomeUnknownAt = a.Submissions, time.Time(a.OutcomeUnknownAt)
	}
	if retired.Searches.m != nil || retired.Reports.m != nil { // the member is there
		if err := applyRetired(st, retired); err != nil {
			return err
		}
	}
	if v.Budget != nil {
		st.Budget = &state.Budget{Day: v.Budget.Day, Calls: v.Budget.Calls}
	}
	for _, m := range v.Outbox {
		msg := &state.Message{ID: m.ID, Channel: m.Channel, GeneratedAt: time.Time(m.GeneratedAt), Spec: m.Spec, Simulated: m.Simulated,
			Attempts: m.Attempts, FirstFailed: time.Time(m.FirstFailed), LastError: m.LastError}
		for _, e := range m.Events {
			msg.Events = append(msg.Events, state.Event(e))
		}
		st.Outbox = append(st.Outbox, msg)
	}
	return state.ValidateFormat2(st)
}

// applyRetired moves the retired entries onto st with their times.
func applyRetired(st *state.State, retired *retiredJSON) error {
	st.RetiredSearches, st.RetiredReports = retired.Searches.m, retired.Reports.m
	if err := matchSince("searches", st.RetiredSearches, retired.Since.Searches, func(s *state.Search, t time.Time) { s.RetiredAt = t }); err != nil {
		return err
	}
	if err := matchSince("reports", st.RetiredReports, retired.Since.Reports, func(r *state.Report, t time.Time) { r.RetiredAt = t }); err != nil {
		return err
	}
	if len(st.RetiredSearches) == 0 {
		st.RetiredSearches = nil
	}
	if len(st.RetiredReports) == 0 {
		st.RetiredReports = nil
	}
	if st.RetiredSearches == nil && st.RetiredReports == nil {
		return fmt.Errorf("retired: empty; leave it out")
	}
	return nil
}

func matchSince[T any](what string, m map[string]*T, since map[string]timestamp, set func(*T, time.Time)) error {
	for name, e := range m {
		t, ok := since[name]
		if !ok || time.Time(t).IsZero() {
			return fmt.Errorf("retired.%s[%q]: no time in retired.since.%s", what, name, what)
		}
		set(e, time.Time(t))
	}
	for name := range since {
		if _, ok := m[name]; !ok {
			return fmt.Errorf("retired.since.%s[%q]: no retired entry of that name", what, name)
		}
	}
	return nil
}

// pathV2 renders a JSON pointer into a format 2 file as the path in error
// messages: retired.searches["name"].hits["CN1234S"], outbox[0].events[2].
func pathV2(ptr jsontext.Pointer) string {
	var toks []string
	for tok := range ptr.Tokens() {
		toks = append(toks, tok)
	}
	var b []byte
	for i, tok := range toks {
		parent, grand := "", ""
		if i > 0 {
			parent = toks[i-1]
		}
		if i > 1 {
			grand = toks[i-2]
		}
		isKey := false
		switch parent {
		case "searches", "reports":
			isKey = i == 1 || grand == "retired" || grand == "since"
		case "hits":
			isKey = true
		case "refreshed", "report_attempts":
			isKey = i == 1
		case "outbox", "events":
			if _, err := strconv.Atoi(tok); err == nil {
				b = append(b, '[')
				b = append(b, tok...)
				b = append(b, ']')
				continue
			}
		}
		switch {
		case isKey:
			b = append(b, '[')
			b = strconv.AppendQuote(b, tok)
			b = append(b, ']')
		case i > 0:
			b = append(b, '.')
			b = append(b, tok...)
		default:
			b = append(b, tok...)
		}
	}
	return string(b)
}
