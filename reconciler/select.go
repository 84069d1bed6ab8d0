package reconciler

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

// Selection chooses the entries a run reconciles. The entries it leaves out
// make no API call and keep their records exactly as they are (the same
// values, so the same bytes in the state file); the change report lists
// them as skipped, or, when the daily budget leaves them out, as errors.
// The zero Selection selects every entry.
//
// Entries are independent of one another, with one exception that the
// selection keeps together: a search (or report) renamed in the spec takes
// over the record of the name it replaces, so the entries that could pair
// up as a rename (a name new to the state and one gone from the spec, with
// the same query or request) are selected, left out or deferred as one.
type Selection struct {
	// Target names the only entries to reconcile: searches and reports of
	// the spec, or entries the state records that left the spec (whose
	// removal then happens). Empty: every entry, unless Targeted.
	Target []string
	// Targeted makes an empty Target select no entry at all (watch mode
	// after a spec change that touched none).
	Targeted bool
	// Exclude names entries left out.
	Exclude []string
	// Reason says why the entries left out by Target or Exclude are
	// skipped; empty: not selected by --target or --exclude.
	Reason string
	// DueOnly refreshes a search that has its own interval only when it
	// is due (see Due); the rest is selected as without it.
	DueOnly bool
	// Budget, when set, is the daily cap on calls and what was spent of it
	// today: entries whose worst case no longer fits are left out and
	// reported as errors ("daily budget reached"). Reports go first, in
	// spec order, then searches, those refreshed longest ago first; every
	// search's refresh is recorded for that order. A removal costs nothing.
	Budget *Budget
}

// Budget is a cap on calls and how many of them were made already.
type Budget struct {
	Limit, Used int
}

// UnknownNameError is a Target or Exclude name that is no entry of the
// spec and no record of the state.
type UnknownNameError struct {
	Flag       string // --target or --exclude
	Name       string
	Suggestion string // the closest known name; empty when none is close
}

func (e *UnknownNameError) Error() string {
	return fmt.Sprintf("%s %s: no search or report of that name in the spec or the state", e.Flag, e.Name)
}

// Hint says which name was meant, or where names come from.
func (e *UnknownNameError) Hint() string {
	if e.Suggestion != "" {
		return fmt.Sprintf("did you mean %s %s?", e.Flag, e.Suggestion)
	}
	return "name a search or report of the spec (patwatch show lists what the state holds)"
}

// Check returns an *UnknownNameError for the first name of Target or
// Exclude that names neither an entry of desired nor a record of recorded.
func (sel Selection) Check(desired *spec.Spec, recorded *state.State) error {
	known := map[string]bool{}
	for _, s := range desired.Searches {
		known[s.Name] = true
	}
	for _, r := range desired.Reports {
		known[r.Name] = true
	}
	for name := range recorded.Searches {
		known[name] = true
	}
	for name := range recorded.Reports {
		known[name] = true
	}
	names := slices.Sorted(maps.Keys(known))
	for _, l := range []struct {
		flag  string
		names []string
	}{{"--target", sel.Target}, {"--exclude", sel.Exclude}} {
		for _, n := range l.names {
			if !known[n] {
				return &UnknownNameError{Flag: l.flag, Name: n, Suggestion: spec.Suggest(n, names)}
			}
		}
	}
	return nil
}

// RunSelected is Run over the entries sel selects: it reconciles those, and
// carries every other record over untouched. It also keeps the last
// refresh of each search with its own interval (state.Search.RefreshedAt),
// which Due reads, and states the run's worst case in the change report
// (the calls made are the API client's to count).
func (r *Reconciler) RunSelected(ctx context.Context, mode Mode, desired *spec.Spec, recorded *state.State, sel Selection) *Outcome {
	started := r.now().UTC().Truncate(time.Second)
	sc := r.scope(mode, desired, recorded, sel, started)
	r.files = sc.files
	out := r.Run(ctx, mode, sc.desired, sc.recorded)
	sc.stampRefreshes(out)
	sc.merge(out.Report, desired, r.ReportsOnly)
	for name, rec := range sc.heldSearches {
		out.State.Searches[name] = rec
	}
	for name, rec := range sc.heldReports {
		out.State.Reports[name] = rec
	}
	out.Report.Calls.Estimated = sc.estimate
	return out
}

// Estimate is the worst case of RunSelected's calls: what Calls.Estimated
// of its change report says, known before any call.
func (r *Reconciler) Estimate(mode Mode, desired *spec.Spec, recorded *state.State, sel Selection) int {
	return r.scope(mode, desired, recorded, sel, r.now().UTC().Truncate(time.Second)).estimate
}

// PlanOfflineSelected is PlanOffline over the entries sel selects, with the
// worst case of the apply it previews.
func (r *Reconciler) PlanOfflineSelected(desired *spec.Spec, recorded *state.State, sel Selection) *report.ChangeReport {
	sc := r.scope(ModeApply, desired, recorded, sel, r.now().UTC().Truncate(time.Second))
	rep := PlanOffline(sc.desired, sc.recorded)
	sc.merge(rep, desired, false)
	rep.Calls.Estimated = sc.estimate
	return rep
}

// scope is a selection resolved against a spec and a state: the part of
// each that the run reconciles, and what it leaves as it is.
type scope struct {
	desired  *spec.Spec   // the selected entries, in spec order
	recorded *state.State // recorded without the records held
	started  time.Time

	// The records of the entries left out, kept as they are, and their
	// part of the change report, by name.
	heldSearches   map[string]*state.Search
	heldReports    map[string]*state.Report
	searchChanges  map[string]report.SearchChange
	reportChanges  map[string]report.ReportChange
	estimate       int
	refreshEntries map[string]spec.Search // selected searches, by name
	// files holds the report files the estimate checked, for the run.
	files fileChecks
	// budgeted records every search's refresh, for the order in which a
	// daily budget admits them.
	budgeted bool
}

// group is the entries of one kind that a run selects together: a name, or
// the names that could pair up as a rename (see Selection).
type group struct {
	desired []int    // indexes of spec entries
	gone    []string // recorded names no longer in the spec
}

func (g *group) names(desiredName func(int) string) []string {
	out := slices.Clone(g.gone)
	for _, i := range g.desired {
		out = append(out, desiredName(i))
	}
	return out
}

// groupsOf puts the spec's entries (names[i]) and the recorded names gone
// from the spec into groups: an entry the state records under its name is
// a group of its own; the others are grouped by key (a search's query
// fingerprint, a report's request), which is what a rename pairs by. The
// groups are in the order of their first spec entry, then those with none.
func groupsOf(names []string, keys []string, recorded map[string]string) []*group {
	inSpec := make(map[string]bool, len(names))
	for _, n := range names {
		inSpec[n] = true
	}
	byKey := map[string]*group{}
	var out []*group
	at := func(key string) *group {
		g, ok := byKey[key]
		if !ok {
			g = &group{}
			byKey[key] = g
			out = append(out, g)
		}
		return g
	}
	for i, n := range names {
		key := "=" + n
		if _, ok := recorded[n]; !ok {
			key = "~" + keys[i]
		}
		g := at(key)
		g.desired = append(g.desired, i)
	}
	for _, n := range slices.Sorted(maps.Keys(recorded)) {
		if !inSpec[n] {
			g := at("~" + recorded[n])
			g.gone = append(g.gone, n)
		}
	}
	return out
}

// scope resolves sel: which groups are selected and due, and which of
// those fit in the budget.
func (r *Reconciler) scope(mode Mode, desired *spec.Spec, recorded *state.State, sel Selection, now time.Time) *scope {
	sc := &scope{
		started:        now,
		heldSearches:   map[string]*state.Search{},
		heldReports:    map[string]*state.Report{},
		searchChanges:  map[string]report.SearchChange{},
		reportChanges:  map[string]report.ReportChange{},
		refreshEntries: map[string]spec.Search{},
		files:          fileChecks{},
	}
	targeted := sel.Targeted || len(sel.Target) > 0
	selected := func(names []string) bool {
		in := !targeted
		for _, n := range names {
			if slices.Contains(sel.Exclude, n) {
				return false
			}
			in = in || slices.Contains(sel.Target, n)
		}
		return in
	}
	reason := sel.Reason
	if reason == "" {
		reason = "not selected by --target or --exclude"
	}

	searchNames, searchKeys := make([]string, len(desired.Searches)), make([]string, len(desired.Searches))
	for i, s := range desired.Searches {
		searchNames[i], searchKeys[i] = s.Name, s.Fingerprint
	}
	recordedSearches := make(map[string]string, len(recorded.Searches))
	for n, rec := range recorded.Searches {
		recordedSearches[n] = rec.Fingerprint
	}
	reportNames, reportKeys := make([]string, len(desired.Reports)), make([]string, len(desired.Reports))
	for i, d := range desired.Reports {
		reportNames[i], reportKeys[i] = d.Name, requestKey(d.PatentNumber, d.PatentID, d.Format, d.Logo)
	}
	recordedReports := make(map[string]string, len(recorded.Reports))
	for n, rec := range recorded.Reports {
		recordedReports[n] = requestKey(rec.PatentNumber, rec.PatentID, rec.Format, rec.Logo)
	}
	searchGroups := groupsOf(searchNames, searchKeys, recordedSearches)
	reportGroups := groupsOf(reportNames, reportKeys, recordedReports)

	// Selected and due, in the budget's order: reports, then searches.
	type candidate struct {
		g      *group
		search bool
		calls  int
		images []string
	}
	var run []candidate
	// holdSearches and holdReports leave g's entries as recorded: skipped
	// for why, or, with errText (only the daily budget gives one), an
	// error deferred to the next day.
	holdSearches := func(g *group, why, errText string) {
		for _, i := range g.desired {
			s := desired.Searches[i]
			ch := report.SearchChange{Name: s.Name, Status: report.StatusSkipped, Reason: why}
			if errText != "" {
				ch.Status, ch.Reason, ch.Error, ch.Deferred = report.StatusError, "", errText, true
			}
			if rec := recorded.Searches[s.Name]; rec != nil {
				ch.Hits = len(rec.Hits)
				sc.heldSearches[s.Name] = rec
			}
			sc.searchChanges[s.Name] = ch
		}
		for _, n := range g.gone {
			rec := recorded.Searches[n]
			sc.heldSearches[n] = rec
			if why == "" {
				why = errText
			}
			sc.searchChanges[n] = report.SearchChange{Name: n, Status: report.StatusSkipped, Reason: why, Hits: len(rec.Hits)}
		}
	}
	holdReports := func(g *group, why, errText string) {
		for _, i := range g.desired {
			d := desired.Reports[i]
			ch := report.ReportChange{Name: d.Name, Patent: d.Patent(), Status: report.ReportSkipped, Reason: why}
			if errText != "" {
				ch.Status, ch.Reason, ch.Error, ch.Deferred = report.ReportError, "", errText, true
			}
			if rec := recorded.Reports[d.Name]; rec != nil {
				ch.JobID, ch.File = rec.JobID, rec.File
				sc.heldReports[d.Name] = rec
			}
			sc.reportChanges[d.Name] = ch
		}
		for _, n := range g.gone {
			rec := recorded.Reports[n]
			sc.heldReports[n] = rec
			if why == "" {
				why = errText
			}
			sc.reportChanges[n] = report.ReportChange{Name: n, Patent: recordedPatent(rec), Status: report.ReportSkipped,
				Reason: why, JobID: rec.JobID, File: rec.File}
		}
	}

	for _, g := range reportGroups {
		if !selected(g.names(func(i int) string { return reportNames[i] })) {
			holdReports(g, reason, "")
			continue
		}
		calls := 0
		for _, i := range g.desired {
			calls += r.reportCalls(mode, desired.Reports[i], recorded, now, sc.files)
		}
		run = append(run, candidate{g: g, calls: calls})
	}
	for _, g := range searchGroups {
		if !selected(g.names(func(i int) string { return searchNames[i] })) {
			holdSearches(g, reason, "")
			continue
		}
		if sel.DueOnly && !r.ReportsOnly && len(g.desired) > 0 {
			due, next := false, time.Time{}
			for _, i := range g.desired {
				s := desired.Searches[i]
				if s.Suspend || Due(s, recorded.Searches[s.Name], now) {
					due = true
					break
				}
				if at := DueAt(s, recorded.Searches[s.Name].RefreshedAt); next.IsZero() || at.Before(next) {
					next = at
				}
			}
			if !due {
				holdSearches(g, "not due: its interval has not passed since its last refresh (due at "+next.Format(time.RFC3339)+")", "")
				continue
			}
		}
		c := candidate{g: g, search: true}
		if !r.ReportsOnly {
			for _, i := range g.desired {
				s := desired.Searches[i]
				c.calls += searchCalls(s)
				if !s.Suspend {
					for _, img := range s.Images {
						if img.Local() {
							c.images = append(c.images, img.SHA256)
						}
					}
				}
			}
		}
		run = append(run, c)
	}

	if sel.Budget != nil {
		// The searches refreshed longest ago go first (never: first of
		// all), so that those a spent budget left out yesterday run first
		// today rather than wait behind the same others every day.
		sc.budgeted = true
		last := func(c candidate) time.Time {
			var oldest time.Time
			for i, di := range c.g.desired {
				rec := recorded.Searches[desired.Searches[di].Name]
				if rec == nil {
					return time.Time{}
				}
				if i == 0 || rec.RefreshedAt.Before(oldest) {
					oldest = rec.RefreshedAt
				}
			}
			return oldest
		}
		slices.SortStableFunc(run, func(a, b candidate) int {
			switch {
			case a.search != b.search && !a.search:
				return -1 // reports first
			case a.search != b.search:
				return 1
			case !a.search:
				return 0
			}
			return last(a).Compare(last(b))
		})
	}
	uploaded := map[string]bool{}
	budgetDone := false
	for _, c := range run {
		calls := c.calls
		for _, d := range c.images {
			if !uploaded[d] {
				calls++
			}
		}
		if b := sel.Budget; b != nil && calls > 0 && (budgetDone || b.Used+sc.estimate+calls > b.Limit) {
			// Once one entry does not fit, none after it runs: the
			// budget is spent in order, not on whatever still fits.
			budgetDone = true
			msg := fmt.Sprintf("daily budget reached: api.max_calls_per_day allows %d calls a day (UTC), %d were made today and the entries before this one "+
				"in the run's order may make %d; this needs up to %d more, so it and every entry after it wait for the next day", b.Limit, b.Used, sc.estimate, calls)
			if c.search {
				holdSearches(c.g, "", msg)
			} else {
				holdReports(c.g, "", msg)
			}
			continue
		}
		for _, d := range c.images {
			uploaded[d] = true
		}
		sc.estimate += calls
	}

	// The spec and state the run sees: what is not held.
	sub := *desired
	sub.Searches, sub.Reports = nil, nil
	for _, s := range desired.Searches {
		if _, held := sc.searchChanges[s.Name]; !held {
			sub.Searches = append(sub.Searches, s)
			sc.refreshEntries[s.Name] = s
		}
	}
	for _, d := range desired.Reports {
		if _, held := sc.reportChanges[d.Name]; !held {
			sub.Reports = append(sub.Reports, d)
		}
	}
	rec := *recorded
	rec.Searches = make(map[string]*state.Search, len(recorded.Searches))
	for n, s := range recorded.Searches {
		if _, held := sc.heldSearches[n]; !held {
			rec.Searches[n] = s
		}
	}
	rec.Reports = make(map[string]*state.Report, len(recorded.Reports))
	for n, rp := range recorded.Reports {
		if _, held := sc.heldReports[n]; !held {
			rec.Reports[n] = rp
		}
	}
	sc.desired, sc.recorded = &sub, &rec
	return sc
}

func requestKey(number, id, format string, logo bool) string {
	return fmt.Sprintf("%q %q %q %t", number, id, format, logo)
}

// stampRefreshes records, for each search the run refreshed, when it did:
// the run's start for a search with its own interval or under a daily
// budget, nothing for the others (so that a run of an ordinary spec that
// found nothing new writes nothing).
func (sc *scope) stampRefreshes(out *Outcome) {
	for _, ch := range out.Report.Searches {
		s, ok := sc.refreshEntries[ch.Name]
		rec := out.State.Searches[ch.Name]
		if !ok || rec == nil {
			continue
		}
		switch ch.Status {
		case report.StatusOK, report.StatusBaseline, report.StatusRebaseline:
		default:
			continue
		}
		var at time.Time
		if s.Interval > 0 || sc.budgeted {
			at = sc.started
		}
		if !rec.RefreshedAt.Equal(at) {
			next := *rec // rec may be the recorded value itself, never modified
			next.RefreshedAt = at
			out.State.Searches[ch.Name] = &next
		}
	}
}

// merge puts the changes of the entries held into rep: a spec entry at its
// place in the spec, a recorded one gone from the spec among the removals,
// by name.
func (sc *scope) merge(rep *report.ChangeReport, desired *spec.Spec, reportsOnly bool) {
	if !reportsOnly {
		rep.Searches = mergeChanges(rep.Searches, sc.searchChanges, desired.Searches,
			func(s spec.Search) string { return s.Name }, func(c report.SearchChange) string { return c.Name })
	}
	rep.Reports = mergeChanges(rep.Reports, sc.reportChanges, desired.Reports,
		func(d spec.Report) string { return d.Name }, func(c report.ReportChange) string { return c.Name })
	rep.Finish()
}

func mergeChanges[E, C any](ran []C, held map[string]C, entries []E, entryName func(E) string, changeName func(C) string) []C {
	if len(held) == 0 {
		return ran
	}
	byName := make(map[string]C, len(ran))
	for _, c := range ran {
		byName[changeName(c)] = c
	}
	out := make([]C, 0, len(ran)+len(held))
	inSpec := map[string]bool{}
	for _, e := range entries {
		n := entryName(e)
		inSpec[n] = true
		if c, ok := held[n]; ok {
			out = append(out, c)
		} else if c, ok := byName[n]; ok {
			out = append(out, c)
		}
	}
	var rest []C
	for _, c := range ran {
		if !inSpec[changeName(c)] {
			rest = append(rest, c)
		}
	}
	for n, c := range held {
		if !inSpec[n] {
			rest = append(rest, c)
		}
	}
	sort.SliceStable(rest, func(i, j int) bool { return strings.Compare(changeName(rest[i]), changeName(rest[j])) < 0 })
	return append(out, rest...)
}
