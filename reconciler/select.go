package reconciler

import (
	"fmt"
	"maps"
	"slices"

	"github.com/patwatch/patwatch/internal/suggest"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

// Selection chooses the entries a run reconciles. The entries it leaves out
// make no API call and keep their records exactly as they are (the same
// values, so the same bytes in the state file); the change report lists
// them as skipped, or, when the daily budget leaves them out, as errors.
// The zero Selection selects every entry. NewScope resolves a Selection
// against a spec and a state.
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
	// Replay, when set, is a saved plan's recording, which the run carries
	// out: the entries the plan's scope held are held as it reported them,
	// every other entry runs (Target, Exclude and DueOnly are not read),
	// and a search whose answer the recording holds costs no call.
	Replay *Recording
	// ReportsOnly runs the reports alone: the searches' records are carried
	// over untouched, and the change report lists no search. Watch mode
	// polls pending report jobs this way between full runs.
	ReportsOnly bool
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
// The automatic reports known before any call (those report decisions
// order, and those recorded that are still asked for) are entries of
// desired: a run that targets one runs it alone, before the run that
// records it.
func (sel Selection) Check(desired *spec.Spec, recorded *state.State) error {
	known := map[string]bool{}
	for _, s := range desired.Searches {
		known[s.Name] = true
	}
	for _, r := range desired.Reports {
		known[r.Name] = true
	}
	for name := range standingAutos(desired, recorded).origins {
		known[name] = true
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
				return &UnknownNameError{Flag: l.flag, Name: n, Suggestion: suggest.Closest(n, names)}
			}
		}
	}
	return nil
}
