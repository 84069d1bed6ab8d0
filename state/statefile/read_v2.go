package statefile

import (
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/patwatch/patwatch/state"
)

// Format 2 is format 1 with members that record more than hits and jobs,
// each left out when unused, after format 1's searches and reports, which
// it reads and writes exactly as format 1 does:
//
//	"refreshed":       {"search": time}   the last refresh of a search with its own interval
//	"report_attempts": {"report": {...}}  resubmissions and creations of unknown outcome
//	"retired":         {"searches": {...}, "reports": {...}, "since": {"searches": {...}, "reports": {...}}}
//	"budget":          {"day": "2026-12-01", "calls": 123}
//	"outbox":          [message, ...]
//
// Save writes format 2 only when one of them is in use (see formatOf).

func init() { formats[2] = format{read: readV2, path: pathV2} }

type stateV2 struct {
	FormatVersion   int                   `json:"format_version"`
	Serial          uint64                `json:"serial"`
	Lineage         textV1                `json:"lineage"`
	PatwatchVersion textV1                `json:"patwatch_version"`
	Searches        searchesV1            `json:"searches"`
	Reports         reportsV1             `json:"reports"`
	Refreshed       map[string]timeV1     `json:"refreshed,omitzero"`
	ReportAttempts  map[string]attemptsV2 `json:"report_attempts,omitzero"`
	Retired         *retiredV2            `json:"retired,omitzero"`
	Budget          *budgetV2             `json:"budget,omitzero"`
	Outbox          []messageV2           `json:"outbox,omitzero"`
}

type attemptsV2 struct {
	Submissions      int    `json:"submissions,omitzero"`
	OutcomeUnknownAt timeV1 `json:"outcome_unknown_at,omitzero"`
}

type retiredV2 struct {
	Searches searchesV1 `json:"searches"`
	Reports  reportsV1  `json:"reports"`
	Since    sinceV2    `json:"since"`
}

// sinceV2 holds when each retired entry left the spec.
type sinceV2 struct {
	Searches map[string]timeV1 `json:"searches"`
	Reports  map[string]timeV1 `json:"reports"`
}

type budgetV2 struct {
	Day   string `json:"day"`
	Calls int    `json:"calls"`
}

type messageV2 struct {
	ID          string    `json:"id"`
	Channel     string    `json:"channel"`
	GeneratedAt timeV1    `json:"generated_at"`
	Spec        string    `json:"spec"`
	Simulated   bool      `json:"simulated,omitzero"`
	Events      []eventV2 `json:"events"`
	Attempts    int       `json:"attempts,omitzero"`
	FirstFailed timeV1    `json:"first_failed,omitzero"`
	LastError   string    `json:"last_error,omitzero"`
}

type eventV2 struct {
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
	Patent          string  `json:"patent,omitzero"`
	File            string  `json:"file,omitzero"`
	Error           string  `json:"error,omitzero"`
}

// readV2 reads a format 2 file.
func readV2(in *input, keep bool) (*state.State, Header, error) {
	c := &codecV1{in: in, keep: keep}
	// The retired entries are read as searches and reports are, by a codec
	// of their own: their names may repeat those of live entries.
	rin := *in
	rin.before = nil
	rc := &codecV1{in: &rin, keep: true}
	v := stateV2{
		Searches: searchesV1{c: c}, Reports: reportsV1{c: c},
		Retired: &retiredV2{Searches: searchesV1{c: rc}, Reports: reportsV1{c: rc}},
	}
	retired := v.Retired
	dec := in.decoder()
	err := json.UnmarshalDecode(dec, &v)
	if err == nil {
		err = finish(in, dec)
	}
	h := Header{FormatVersion: v.FormatVersion, Serial: v.Serial, Lineage: string(v.Lineage), PatwatchVersion: string(v.PatwatchVersion)}
	if err != nil {
		return nil, h, readError(in, err)
	}
	if c.problem != nil {
		return nil, h, c.problem
	}
	if rc.problem != nil {
		return nil, h, rc.problem
	}
	st := &state.State{
		FormatVersion: v.FormatVersion, Serial: v.Serial, Lineage: h.Lineage, PatwatchVersion: h.PatwatchVersion,
		Searches: v.Searches.m, Reports: v.Reports.m,
	}
	if st.Searches == nil {
		st.Searches = map[string]*state.Search{}
	}
	if st.Reports == nil {
		st.Reports = map[string]*state.Report{}
	}
	if err := v.apply(st, retired, keep); err != nil {
		return nil, h, in.contentAt(0, "%v", err)
	}
	if !keep {
		return nil, h, nil
	}
	return st, h, nil
}

// apply moves the format 2 members onto st and checks that they agree with
// the rest. Without checkNames (a check, which keeps no searches) the
// names of refresh times are not checked against the searches.
func (v *stateV2) apply(st *state.State, retired *retiredV2, checkNames bool) error {
	for name, t := range v.Refreshed {
		if time.Time(t).IsZero() {
			return fmt.Errorf("refreshed[%q]: the zero time", name)
		}
		if s, ok := st.Searches[name]; ok {
			s.RefreshedAt = time.Time(t)
		} else if checkNames {
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
		st.RetiredSearches, st.RetiredReports = retired.Searches.m, retired.Reports.m
		if err := matchSince("searches", st.RetiredSearches, v.Retired.Since.Searches, func(s *state.Search, t time.Time) { s.RetiredAt = t }); err != nil {
			return err
		}
		if err := matchSince("reports", st.RetiredReports, v.Retired.Since.Reports, func(r *state.Report, t time.Time) { r.RetiredAt = t }); err != nil {
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

func matchSince[T any](what string, m map[string]*T, since map[string]timeV1, set func(*T, time.Time)) error {
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

// writeV2 writes st in format 2, as writeV1 does format 1.
func writeV2(w io.Writer, st *state.State, serial uint64, version string, e *Layout) error {
	c := &codecV1{out: e}
	v := stateV2{
		FormatVersion: 2, Serial: serial, Lineage: textV1(st.Lineage), PatwatchVersion: textV1(version),
		Searches: searchesV1{c: c, m: st.Searches}, Reports: reportsV1{c: c, m: st.Reports},
	}
	for name, s := range st.Searches {
		if !s.RefreshedAt.IsZero() {
			if v.Refreshed == nil {
				v.Refreshed = map[string]timeV1{}
			}
			v.Refreshed[name] = timeV1(normTime(s.RefreshedAt))
		}
	}
	for name, r := range st.Reports {
		if r.Submissions != 0 || !r.OutcomeUnknownAt.IsZero() {
			if v.ReportAttempts == nil {
				v.ReportAttempts = map[string]attemptsV2{}
			}
			v.ReportAttempts[name] = attemptsV2{Submissions: r.Submissions, OutcomeUnknownAt: timeV1(normTime(r.OutcomeUnknownAt))}
		}
	}
	var rc *codecV1
	if len(st.RetiredSearches) > 0 || len(st.RetiredReports) > 0 {
		rc = &codecV1{out: &Layout{}}
		rc.out.alone.Store(e.alone.Load())
		v.Retired = &retiredV2{
			Searches: searchesV1{c: rc, m: orEmpty(st.RetiredSearches)}, Reports: reportsV1{c: rc, m: orEmpty(st.RetiredReports)},
			Since: sinceV2{Searches: map[string]timeV1{}, Reports: map[string]timeV1{}},
		}
		for name, s := range st.RetiredSearches {
			v.Retired.Since.Searches[name] = timeV1(normTime(s.RetiredAt))
		}
		for name, r := range st.RetiredReports {
			v.Retired.Since.Reports[name] = timeV1(normTime(r.RetiredAt))
		}
	}
	if st.Budget != nil {
		v.Budget = &budgetV2{Day: st.Budget.Day, Calls: st.Budget.Calls}
	}
	for _, m := range st.Outbox {
		mv := messageV2{ID: m.ID, Channel: m.Channel, GeneratedAt: timeV1(normTime(m.GeneratedAt)), Spec: m.Spec, Simulated: m.Simulated,
			Attempts: m.Attempts, FirstFailed: timeV1(normTime(m.FirstFailed)), LastError: m.LastError, Events: []eventV2{}}
		for _, ev := range m.Events {
			mv.Events = append(mv.Events, eventV2(ev))
		}
		v.Outbox = append(v.Outbox, mv)
	}
	enc := jsontext.NewEncoder(w,
		jsontext.WithIndent("  "),
		jsontext.PreserveRawStrings(true),
		jsontext.AllowDuplicateNames(true),
	)
	if err := json.MarshalEncode(enc, &v, json.Deterministic(true)); err != nil {
		if c.invalid != nil {
			return c.invalid
		}
		if rc != nil && rc.invalid != nil {
			return fmt.Errorf("retired.%w", rc.invalid)
		}
		return err
	}
	return nil
}

func orEmpty[T any](m map[string]*T) map[string]*T {
	if m == nil {
		return map[string]*T{}
	}
	return m
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
