package reconciler

import (
	"hash/fnv"
	"time"

	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

// A search with its own interval (spec.Search.Interval) is refreshed on
// that period, counted from its last successful refresh, which the state
// records (state.Search.RefreshedAt). Two rules use it: Due decides whether
// a run with Selection.DueOnly refreshes the search (apply --due-only, and
// watch's scheduled runs), and NextRefresh is when watch refreshes it next.

// DueTolerance is the part of its interval by which a search counts as due
// early: a scheduler that starts a run a little early, or that started the
// last one a little late (cron, a CI schedule delayed by minutes), does not
// make it wait a whole further period.
const DueTolerance = 0.05

// Due reports whether a --due-only run at now refreshes s, whose record is
// rec (nil: none yet). A search without its own interval is always due, as
// is one with no baseline for its current query or no recorded refresh.
func Due(s spec.Search, rec *state.Search, now time.Time) bool {
	if s.Interval <= 0 || rec == nil || rec.Fingerprint != s.Fingerprint || rec.RefreshedAt.IsZero() {
		return true
	}
	return !now.Before(DueAt(s, rec.RefreshedAt))
}

// DueAt is when a search refreshed last at last counts as due.
func DueAt(s spec.Search, last time.Time) time.Time {
	return last.Add(s.Interval - time.Duration(float64(s.Interval)*DueTolerance))
}

// staggerSlots are how many slots a search's interval may be cut into, of
// which its name picks one: the first that divides the interval exactly, so
// that the slots repeat with the period.
var staggerSlots = []time.Duration{12, 10, 8, 6, 5, 4, 3, 2}

// NextRefresh is when watch mode refreshes the search name, of its own
// interval, next after a refresh at last: the first of the search's slots
// once the interval has passed (less half a slot, so that a refresh a
// moment after its slot keeps the next one). The slots are spaced by
// interval ÷ 12 (as a rule) from the Unix epoch, shifted by a hash of the
// name, so searches refreshed together (a first run, a spec loaded at
// once) spread over a twelfth of their interval instead of calling the API
// all at the same moment, and each keeps its place, and its period, from
// one refresh to the next.
func NextRefresh(name string, interval time.Duration, last time.Time) time.Time {
	if interval <= 0 {
		return last
	}
	step := interval
	for _, n := range staggerSlots {
		if interval%n == 0 {
			step = interval / n
			break
		}
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(name))
	phase := int64(h.Sum64() % uint64(step))
	slack := min(step/2, time.Duration(float64(interval)*DueTolerance))
	earliest := last.Add(interval - slack).UnixNano()
	k := (earliest - phase) / int64(step)
	at := phase + k*int64(step)
	if at < earliest {
		at += int64(step)
	}
	return time.Unix(0, at).UTC()
}
