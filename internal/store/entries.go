package store

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/patwatch/patwatch/internal/suggest"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
	"github.com/patwatch/patwatch/state/statefile"
)

// What commands do with single entries of a state (patwatch show NAME,
// state rm NAME): an entry is a search or report the state holds by name,
// live or retired.

// UnknownEntryError is a name that is no entry the state holds.
type UnknownEntryError struct {
	Name       string
	Suggestion string // the closest name the state holds; empty when none is close
	// Retired is set when the name is a retired entry, for a command that
	// works with live ones only.
	Retired bool
}

func (e *UnknownEntryError) Error() string {
	if e.Retired {
		return fmt.Sprintf("%s is retired: it left the spec, and the state keeps it only for taking it back", e.Name)
	}
	return fmt.Sprintf("the state holds no search or report %s", e.Name)
}

// Hint says which name was meant, or where names are listed.
func (e *UnknownEntryError) Hint() string {
	switch {
	case e.Retired:
		return "patwatch state list shows it with the day it goes; patwatch state rm " + e.Name + " forgets it now"
	case e.Suggestion != "":
		return "did you mean " + e.Suggestion + "?"
	}
	return "patwatch state list lists the entries the state holds"
}

// Only is the part of st that holds the live entries named names (a search
// and a report of one name both), for a command that shows them: the
// other fields as they are, no retired entry. A name that is no live
// entry is an *UnknownEntryError.
func Only(st *state.State, names []string) (*state.State, error) {
	out := *st
	out.Searches, out.Reports = map[string]*state.Search{}, map[string]*state.Report{}
	out.RetiredSearches, out.RetiredReports = nil, nil
	for _, n := range names {
		s, r := st.Searches[n], st.Reports[n]
		if s == nil && r == nil {
			return nil, unknownEntry(st, n)
		}
		if s != nil {
			out.Searches[n] = s
		}
		if r != nil {
			out.Reports[n] = r
		}
	}
	return &out, nil
}

// PullOnly is Pull of the live entries named names (see Only).
func PullOnly(ctx context.Context, s Store, names []string) ([]byte, error) {
	st, err := s.Load(ctx)
	if err != nil {
		return nil, err
	}
	only, err := Only(st, names)
	if err != nil {
		return nil, err
	}
	return statefile.Marshal(only)
}

func unknownEntry(st *state.State, name string) error {
	if st.RetiredSearches[name] != nil || st.RetiredReports[name] != nil {
		return &UnknownEntryError{Name: name, Retired: true}
	}
	return &UnknownEntryError{Name: name, Suggestion: suggest.Closest(name, entryNames(st))}
}

// entryNames is every name st holds, live or retired, sorted.
func entryNames(st *state.State) []string {
	set := map[string]bool{}
	for _, m := range []map[string]bool{keys(st.Searches), keys(st.Reports), keys(st.RetiredSearches), keys(st.RetiredReports)} {
		maps.Copy(set, m)
	}
	return slices.Sorted(maps.Keys(set))
}

func keys[T any](m map[string]*T) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

// InSpecError is an entry Forget refuses: the spec still has it.
type InSpecError struct {
	Name string
	Kind string // search or report
}

func (e *InSpecError) Error() string {
	return fmt.Sprintf("%s %s is still in the spec: state rm forgets only entries that left it", e.Kind, e.Name)
}

// Hint says how such an entry goes.
func (e *InSpecError) Hint() string {
	return fmt.Sprintf("remove %s from the spec first (the next apply retires it), or rebaseline it with patwatch apply --rebaseline %s", e.Name, e.Name)
}

// Forget removes from the state s holds, under its lock, the entries
// named names that are no longer in the spec sp: retired ones, and live
// ones the next apply would retire, at once rather than after
// state.RetentionPeriod. Downloaded report files stay. A name still in
// the spec is an *InSpecError, one the state does not hold an
// *UnknownEntryError; either refuses the whole removal. It returns the
// entries forgotten, each as "search NAME" or "report NAME".
func Forget(ctx context.Context, s Store, sp *spec.Spec, names []string, lockTimeout time.Duration) ([]string, error) {
	unlock, err := s.Lock(ctx, "state rm", lockTimeout)
	if err != nil {
		return nil, err
	}
	defer unlock()
	st, err := loadExisting(ctx, s)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if err := checkForget(st, sp, n); err != nil {
			return nil, err
		}
	}
	var gone []string
	for _, n := range names {
		gone = append(gone, forget(st, n)...)
	}
	if _, err := s.Save(ctx, st); err != nil {
		return nil, fmt.Errorf("state %s: %w", s, err)
	}
	return gone, nil
}

// checkForget refuses to forget name: an entry of the spec, or none of the
// state's.
func checkForget(st *state.State, sp *spec.Spec, name string) error {
	for _, sr := range sp.Searches {
		if sr.Name == name {
			return &InSpecError{Name: name, Kind: "search"}
		}
	}
	for _, r := range sp.Reports {
		if r.Name == name {
			return &InSpecError{Name: name, Kind: "report"}
		}
	}
	if !slices.Contains(entryNames(st), name) {
		return &UnknownEntryError{Name: name, Suggestion: suggest.Closest(name, entryNames(st))}
	}
	return nil
}

// forget deletes every entry named name from st, live or retired, and
// says which.
func forget(st *state.State, name string) []string {
	var gone []string
	if st.Searches[name] != nil || st.RetiredSearches[name] != nil {
		delete(st.Searches, name)
		delete(st.RetiredSearches, name)
		gone = append(gone, "search "+name)
	}
	if st.Reports[name] != nil || st.RetiredReports[name] != nil {
		delete(st.Reports, name)
		delete(st.RetiredReports, name)
		gone = append(gone, "report "+name)
	}
	return gone
}
