package reconciler

import (
	"cmp"
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

// Scope is what one run touches, decided before it calls anything: the
// entries a Selection chooses from a spec and a state, of those the ones
// that are due, admitted in the order a daily budget spends its calls, and
// the worst case of their calls. NewScope computes it; Run and PlanOffline
// carry it out, and Estimate states its cost. A Scope serves one run.
//
// The entries a scope leaves out are held: the run makes no call for them,
// carries their records over as they are (the same values, so the same
// bytes in the state file), and reports them as the scope says (skipped,
// or an error deferred to the next day).
type Scope struct {
	mode        Mode
	started     time.Time // the run's start, to the second
	desired     *spec.Spec
	recorded    *state.State
	stateDir    string // recorded report files are relative to it
	reportsOnly bool
	// budgeted records every search's refresh, for the order in which a
	// daily budget admits them.
	budgeted bool
	// replay is the saved plan's recording the run carries out, if any.
	replay *Recording

	// toRun is the part of desired and recorded the run reconciles: the
	// spec's entries not held, in spec order, and the records not held.
	toRun struct {
		desired  *spec.Spec
		recorded *state.State
	}
	held     held
	estimate int
	// files holds the report files the estimate checked, for the run.
	files fileChecks
	// sel is the selection the scope resolved: a run adds the automatic
	// reports it selects.
	sel Selection
	// origins says why each automatic report known before the run is
	// asked for (see standingAutos).
	origins map[string]autoOrigin
}

// held is what a scope leaves as it is: the records of the entries left
// out, and their part of the change report, by name.
type held struct {
	searches      map[string]*state.Search
	reports       map[string]*state.Report
	searchChanges map[string]report.SearchChange
	reportChanges map[string]report.ReportChange
}

// NewScope resolves sel against desired and recorded for a run of mode
// that starts at now: which groups of entries are selected (see Selection),
// the automatic reports known before any call (standingAutos) among the
// reports, which of those are due, and which fit in the budget, reports
// first. It
// calls nothing; it reads the recorded report files whose state decides a
// report's worst case (stateDir is the directory they are recorded
// relative to), and keeps those checks for the run. An offline scope
// (ModeOffline) costs what the apply it previews would.
func NewScope(mode Mode, desired *spec.Spec, recorded *state.State, sel Selection, now time.Time, stateDir string) *Scope {
	a := standingAutos(desired, recorded)
	desired, recorded = withAutos(desired, recorded, a)
	sc := &Scope{
		mode:        mode,
		started:     now.UTC().Truncate(time.Second),
		desired:     desired,
		recorded:    recorded,
		stateDir:    stateDir,
		reportsOnly: sel.ReportsOnly,
		budgeted:    sel.Budget != nil,
		replay:      sel.Replay,
		held: held{
			searches:      map[string]*state.Search{},
			reports:       map[string]*state.Report{},
			searchChanges: map[string]report.SearchChange{},
			reportChanges: map[string]report.ReportChange{},
		},
		files:   fileChecks{},
		sel:     sel,
		origins: a.origins,
	}
	maps.Copy(sc.held.reports, a.refused)
	run := sc.candidates(sel)
	if sel.Budget != nil {
		sc.budgetOrder(run)
	}
	sc.admit(run, sel.Budget)
	sc.toRun.desired, sc.toRun.recorded = sc.notHeld()
	return sc
}

// Estimate is the worst case of the run's calls, known before any call:
// what Calls.Estimated of its change report says.
func (sc *Scope) Estimate() int { return sc.estimate }

// kind is the kind of a spec entry.
type kind int

const (
	searchKind kind = iota
	reportKind
)

// group is the entries of one kind that a run selects together: a name, or
// the names that could pair up as a rename (see Selection).
type group struct {
	kind    kind
	desired []int    // indexes of spec entries
	gone    []string // recorded names no longer in the spec
}

// names is the group's names; desired holds the names of the spec's
// entries of its kind.
func (g *group) names(desired []string) []string {
	out := slices.Clone(g.gone)
	for _, i := range g.desired {
		out = append(out, desired[i])
	}
	return out
}

// candidate is a group selected and due, with the worst case of its calls
// before the uploads of its local images, which the budget's order decides.
type candidate struct {
	g      *group
	calls  int
	images []string // the digests of the local images its searches upload
}

// candidates is the groups sel selects and that are due, reports first, in
// spec order; it holds the others as skipped.
func (sc *Scope) candidates(sel Selection) []candidate {
	reason := cmp.Or(sel.Reason, "not selected by --target or --exclude")
	searchNames, reportNames := sc.entryNames()
	var run []candidate
	for _, g := range sc.reportGroups(reportNames) {
		if sc.leftOut(sel, g, reportNames, reason) {
			continue
		}
		c := candidate{g: g}
		for _, i := range g.desired {
			c.calls += sc.reportCalls(sc.desired.Reports[i])
		}
		run = append(run, c)
	}
	for _, g := range sc.searchGroups(searchNames) {
		if sc.leftOut(sel, g, searchNames, reason) {
			continue
		}
		if sel.DueOnly && !sc.reportsOnly {
			if why := sc.notDue(g); why != "" {
				sc.leave(g, why, "")
				continue
			}
		}
		run = append(run, sc.searchCandidate(g))
	}
	return run
}

// leftOut holds g, whose entries' names are among names, when sel leaves
// it out: as the saved plan sel replays held it, or as not selected (for
// reason). It reports whether it did.
func (sc *Scope) leftOut(sel Selection, g *group, names []string, reason string) bool {
	if sel.Replay == nil {
		if sel.selects(g.names(names)) {
			return false
		}
		sc.leave(g, reason, "")
		return true
	}
	all := g.names(names)
	if !slices.ContainsFunc(all, func(n string) bool { return sel.Replay.holds(g.kind, n) }) {
		return false
	}
	for _, n := range all {
		sc.holdAsRecorded(g.kind, n, sel.Replay)
	}
	return true
}

// holdAsRecorded holds the entry name of kind k with the change the
// recording rc gives it (skipped, when it gives none).
func (sc *Scope) holdAsRecorded(k kind, name string, rc *Recording) {
	const notPlanned = "not in the saved plan"
	if k == searchKind {
		if rec := sc.recorded.Searches[name]; rec != nil {
			sc.held.searches[name] = rec
		}
		ch, ok := rc.HeldSearches[name]
		if !ok {
			ch = report.SearchChange{Name: name, Status: report.StatusSkipped, Reason: notPlanned}
		}
		sc.held.searchChanges[name] = ch
		return
	}
	if rec := sc.recorded.Reports[name]; rec != nil {
		sc.held.reports[name] = rec
	}
	ch, ok := rc.HeldReports[name]
	if !ok {
		ch = report.ReportChange{Name: name, Status: report.ReportSkipped, Reason: notPlanned}
	}
	sc.held.reportChanges[name] = ch
}

// selects reports whether sel selects a group of entries named names.
func (sel Selection) selects(names []string) bool {
	in := !sel.Targeted && len(sel.Target) == 0
	for _, n := range names {
		if slices.Contains(sel.Exclude, n) {
			return false
		}
		in = in || slices.Contains(sel.Target, n)
	}
	return in
}

func (sc *Scope) entryNames() (searches, reports []string) {
	for _, s := range sc.desired.Searches {
		searches = append(searches, s.Name)
	}
	for _, d := range sc.desired.Reports {
		reports = append(reports, d.Name)
	}
	return searches, reports
}

// searchGroups groups the searches by their query fingerprint.
func (sc *Scope) searchGroups(names []string) []*group {
	keys := make([]string, len(sc.desired.Searches))
	for i, s := range sc.desired.Searches {
		keys[i] = s.Fingerprint
	}
	recorded := make(map[string]string, len(sc.recorded.Searches))
	for n, rec := range sc.recorded.Searches {
		recorded[n] = rec.Fingerprint
	}
	return groupsOf(searchKind, names, keys, recorded)
}

// reportGroups groups the reports by their request.
func (sc *Scope) reportGroups(names []string) []*group {
	keys := make([]string, len(sc.desired.Reports))
	for i, d := range sc.desired.Reports {
		keys[i] = requestKey(d.PatentNumber, d.PatentID, d.Format, d.Logo)
	}
	recorded := make(map[string]string, len(sc.recorded.Reports))
	for n, rec := range sc.recorded.Reports {
		recorded[n] = requestKey(rec.PatentNumber, rec.PatentID, rec.Format, rec.Logo)
	}
	return groupsOf(reportKind, names, keys, recorded)
}

func requestKey(number, id, format string, logo bool) string {
	return fmt.Sprintf("%q %q %q %t", number, id, format, logo)
}

// groupsOf puts the spec's entries of kind k (names[i]) and the recorded
// names gone from the spec into groups: an entry the state records under
// its name is a group of its own; the others are grouped by key (a search's
// query fingerprint, a report's request), which is what a rename pairs by.
// The groups are in the order of their first spec entry, then those with
// none.
func groupsOf(k kind, names []string, keys []string, recorded map[string]string) []*group {
	inSpec := make(map[string]bool, len(names))
	for _, n := range names {
		inSpec[n] = true
	}
	byKey := map[string]*group{}
	var out []*group
	at := func(key string) *group {
		g, ok := byKey[key]
		if !ok {
			g = &group{kind: k}
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

// notDue says why g's searches wait for their interval under
// Selection.DueOnly: none of them is due (a suspended one counts as due,
// and so does a group of names gone from the spec). It is "" for a group
// that runs.
func (sc *Scope) notDue(g *group) string {
	if len(g.desired) == 0 {
		return ""
	}
	var next time.Time
	for _, i := range g.desired {
		s := sc.desired.Searches[i]
		rec := sc.recorded.Searches[s.Name]
		if s.Suspend || Due(s, rec, sc.started) {
			return ""
		}
		if at := DueAt(s, rec.RefreshedAt); next.IsZero() || at.Before(next) {
			next = at
		}
	}
	return "not due: its interval has not passed since its last refresh (due at " + next.Format(time.RFC3339) + ")"
}

// searchCandidate is g's searches with their pages and local images; a
// reports-only run calls nothing for them.
func (sc *Scope) searchCandidate(g *group) candidate {
	c := candidate{g: g}
	if sc.reportsOnly {
		return c
	}
	for _, i := range g.desired {
		s := sc.desired.Searches[i]
		if sc.replay != nil && sc.replay.answers(s.Name) {
			continue // answered by the saved plan: no call, no upload
		}
		c.calls += searchCalls(s)
		if s.Suspend {
			continue
		}
		if s.AutoReport != nil && sc.mode != ModePlan {
			c.calls += s.AutoReport.MaxPerRun * callsSubmit // the new automatic reports it may order
		}
		for _, img := range s.Images {
			if img.Local() {
				c.images = append(c.images, img.SHA256)
			}
		}
	}
	return c
}

// budgetOrder puts the candidates in the order a daily budget admits them:
// reports first, in spec order, then the searches refreshed longest ago
// (never: first of all), so that those a spent budget left out yesterday
// run first today rather than wait behind the same others every day.
func (sc *Scope) budgetOrder(run []candidate) {
	slices.SortStableFunc(run, func(a, b candidate) int {
		switch {
		case a.g.kind != b.g.kind && a.g.kind == reportKind:
			return -1
		case a.g.kind != b.g.kind:
			return 1
		case a.g.kind == reportKind:
			return 0
		}
		return sc.lastRefresh(a.g).Compare(sc.lastRefresh(b.g))
	})
}

// lastRefresh is the oldest recorded refresh of g's searches: zero when one
// has no record.
func (sc *Scope) lastRefresh(g *group) time.Time {
	var oldest time.Time
	for i, di := range g.desired {
		rec := sc.recorded.Searches[sc.desired.Searches[di].Name]
		if rec == nil {
			return time.Time{}
		}
		if i == 0 || rec.RefreshedAt.Before(oldest) {
			oldest = rec.RefreshedAt
		}
	}
	return oldest
}

// admit adds the candidates' calls to the estimate in order, a local image
// once, by the first candidate that uploads it. Under a daily budget b,
// once one candidate does not fit in what is left today, it and every one
// after it that calls at all are deferred to the next day: the budget is
// spent in order, not on whatever still fits. A removal costs nothing.
func (sc *Scope) admit(run []candidate, b *Budget) {
	uploaded := map[string]bool{}
	spent := false
	for _, c := range run {
		calls := c.calls
		for _, d := range c.images {
			if !uploaded[d] {
				calls++
			}
		}
		if b != nil && calls > 0 && (spent || b.Used+sc.estimate+calls > b.Limit) {
			spent = true
			sc.leave(c.g, "", fmt.Sprintf("daily budget reached: api.max_calls_per_day allows %d calls a day (UTC), %d were made today and the entries before this one "+
				"in the run's order may make %d; this needs up to %d more, so it and every entry after it wait for the next day", b.Limit, b.Used, sc.estimate, calls))
			continue
		}
		for _, d := range c.images {
			uploaded[d] = true
		}
		sc.estimate += calls
	}
}

// leave holds g's entries as recorded: skipped for why, or, with errText
// (only the daily budget gives one), an error deferred to the next day. A
// recorded name gone from the spec is skipped either way.
func (sc *Scope) leave(g *group, why, errText string) {
	if g.kind == searchKind {
		sc.leaveSearches(g, why, errText)
	} else {
		sc.leaveReports(g, why, errText)
	}
}

func (sc *Scope) leaveSearches(g *group, why, errText string) {
	for _, i := range g.desired {
		s := sc.desired.Searches[i]
		ch := report.SearchChange{Name: s.Name, Status: report.StatusSkipped, Reason: why}
		if errText != "" {
			ch.Status, ch.Reason, ch.Error, ch.Deferred = report.StatusError, "", errText, true
		}
		if rec := sc.recorded.Searches[s.Name]; rec != nil {
			ch.Hits = len(rec.Hits)
			sc.held.searches[s.Name] = rec
		}
		sc.held.searchChanges[s.Name] = ch
	}
	for _, n := range g.gone {
		rec := sc.recorded.Searches[n]
		sc.held.searches[n] = rec
		sc.held.searchChanges[n] = report.SearchChange{Name: n, Status: report.StatusSkipped, Reason: cmp.Or(why, errText), Hits: len(rec.Hits)}
	}
}

func (sc *Scope) leaveReports(g *group, why, errText string) {
	for _, i := range g.desired {
		d := sc.desired.Reports[i]
		ch := report.ReportChange{Name: d.Name, Patent: d.Patent(), Status: report.ReportSkipped, Reason: why}
		if errText != "" {
			ch.Status, ch.Reason, ch.Error, ch.Deferred = report.ReportError, "", errText, true
		}
		if rec := sc.recorded.Reports[d.Name]; rec != nil {
			ch.JobID, ch.File = rec.JobID, rec.File
			sc.held.reports[d.Name] = rec
		}
		sc.held.reportChanges[d.Name] = ch
	}
	for _, n := range g.gone {
		rec := sc.recorded.Reports[n]
		sc.held.reports[n] = rec
		sc.held.reportChanges[n] = report.ReportChange{Name: n, Patent: recordedPatent(rec), Status: report.ReportSkipped,
			Reason: cmp.Or(why, errText), JobID: rec.JobID, File: rec.File}
	}
}

// notHeld is the spec and the state the run sees: what is not held.
func (sc *Scope) notHeld() (*spec.Spec, *state.State) {
	sub := *sc.desired
	sub.Searches, sub.Reports = nil, nil
	for _, s := range sc.desired.Searches {
		if _, held := sc.held.searchChanges[s.Name]; !held {
			sub.Searches = append(sub.Searches, s)
		}
	}
	for _, d := range sc.desired.Reports {
		if _, held := sc.held.reportChanges[d.Name]; !held {
			sub.Reports = append(sub.Reports, d)
		}
	}
	rec := *sc.recorded
	rec.Searches = make(map[string]*state.Search, len(sc.recorded.Searches))
	for n, s := range sc.recorded.Searches {
		if _, held := sc.held.searches[n]; !held {
			rec.Searches[n] = s
		}
	}
	rec.Reports = make(map[string]*state.Report, len(sc.recorded.Reports))
	for n, rp := range sc.recorded.Reports {
		if _, held := sc.held.reports[n]; !held {
			rec.Reports[n] = rp
		}
	}
	return &sub, &rec
}

// complete puts what sc held into the outcome of the run of its part: the
// held records into the state, their changes into the change report at
// their place, and the estimate; it records the refreshes that Due and the
// budget's order read.
func (sc *Scope) complete(out *Outcome) {
	sc.stampRefreshes(out)
	sc.merge(out.Report)
	for name, rec := range sc.held.searches {
		out.State.Searches[name] = rec
	}
	for name, rec := range sc.held.reports {
		out.State.Reports[name] = rec
	}
	out.Report.Calls.Estimated = sc.estimate
}

// stampRefreshes records, for each search the run refreshed, when it did:
// the run's start for a search with its own interval or under a daily
// budget, nothing for the others (so that a run of an ordinary spec that
// found nothing new writes nothing).
func (sc *Scope) stampRefreshes(out *Outcome) {
	ran := make(map[string]spec.Search, len(sc.toRun.desired.Searches))
	for _, s := range sc.toRun.desired.Searches {
		ran[s.Name] = s
	}
	for _, ch := range out.Report.Searches {
		s, ok := ran[ch.Name]
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
// by name. A reports-only run lists no search.
func (sc *Scope) merge(rep *report.ChangeReport) {
	if !sc.reportsOnly {
		rep.Searches = mergeChanges(rep.Searches, sc.held.searchChanges, sc.desired.Searches,
			func(s spec.Search) string { return s.Name }, func(c report.SearchChange) string { return c.Name })
	}
	rep.Reports = mergeChanges(rep.Reports, sc.held.reportChanges, sc.desired.Reports,
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

// withAutos is desired with the standing automatic reports a added to its
// reports, and recorded without the records of the refused ones, which the
// scope holds as they are.
func withAutos(desired *spec.Spec, recorded *state.State, a autos) (*spec.Spec, *state.State) {
	if len(a.reports) > 0 {
		d := *desired
		d.Reports = append(slices.Clip(d.Reports), a.reports...)
		desired = &d
	}
	if len(a.refused) > 0 {
		r := *recorded
		r.Reports = maps.Clone(r.Reports)
		for name := range a.refused {
			delete(r.Reports, name)
		}
		recorded = &r
	}
	return desired, recorded
}
