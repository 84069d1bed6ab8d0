package watch

import (
	"context"
	"slices"
	"time"

	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/reconciler"
	"github.com/patwatch/patwatch/spec"
)

// What a run reconciles in watch mode:
//
//   - the start, scheduled and reload runs refresh every search that is due
//     (a search with its own interval only once that interval has passed,
//     see reconciler.Due; after the start, one whose own refresh the loop
//     has scheduled is left to it) and handle every report;
//   - a spec change runs only the entries it touched (Touched): a change
//     that touched nothing runs with nothing selected, and calls nothing;
//   - a search with its own interval is refreshed at its own time
//     (reconciler.NextRefresh) by a run of it alone, and an entry a
//     targeted run failed for is tried again after the retry delay.

// triggerDue is the trigger of a run of searches due on their own
// interval, or of entries a targeted run failed for.
const triggerDue = "search due"

// runFor is what the run r asks for reconciles, by its trigger.
func (l *Loop) runFor(r Run) Run {
	defer func() { l.applied = r.Spec }()
	switch {
	case r.ReportsOnly:
	case r.Trigger == "spec changed" && l.applied != nil:
		r.Targeted, r.Targets = true, Touched(l.applied, r.Spec)
		r.Reason = "untouched by the spec change; it runs on its schedule"
	case r.Trigger == triggerDue:
		r.Targeted = true
		r.Targets, _ = l.due(time.Now())
		r.Reason = "not due now; it runs on its schedule"
	default:
		r.DueOnly = true
		if r.Trigger != "start" {
			// The searches the loop refreshes on their own schedule
			// keep it: a scheduled run does not take them early.
			r.Exclude = l.scheduled(time.Now())
			r.Reason = "not due now; it runs on its schedule"
		}
	}
	return r
}

// scheduled names the searches with their own interval whose next refresh
// the loop has set, and which are not due at now.
func (l *Loop) scheduled(now time.Time) []string {
	if l.Refreshed == nil || l.spec == nil {
		return nil
	}
	var out []string
	for _, s := range l.spec.Searches {
		last, ok := l.refreshed[s.Name]
		if s.Interval > 0 && ok && reconciler.NextRefresh(s.Name, s.Interval, last).After(now) {
			out = append(out, s.Name)
		}
	}
	return out
}

// schedule notes what the run did for the entries' own schedules, reads
// their last refreshes, and sets the timer of the next one due.
func (l *Loop) schedule(ctx context.Context, run Run, rep *report.ChangeReport, own *time.Timer) {
	if run.ReportsOnly {
		return
	}
	if l.retry == nil {
		l.retry = map[string]time.Time{}
	}
	failed := map[string]bool{}
	done := map[string]bool{}
	if rep == nil {
		for _, n := range run.Targets {
			failed[n] = true
		}
	} else {
		for _, s := range rep.Searches {
			switch s.Status {
			case report.StatusError:
				failed[s.Name] = true
			case report.StatusSkipped:
			default:
				done[s.Name] = true
			}
		}
		for _, r := range rep.Reports {
			switch r.Status {
			case report.ReportError:
				failed[r.Name] = true
			case report.ReportSkipped:
			default:
				done[r.Name] = true
			}
		}
	}
	if run.Targeted {
		again := time.Now().Add(l.retryDelay())
		for _, n := range run.Targets {
			if failed[n] {
				l.retry[n] = again
			}
		}
	}
	for n := range done {
		delete(l.retry, n)
	}
	if l.ownIntervals() {
		l.readRefreshed(ctx)
	} else {
		// Nothing reads them: the state is read for them (a whole Load)
		// only once a spec gives a search its own interval.
		l.refreshedStale = l.Refreshed != nil
	}
	l.resetOwn(own)
}

// ownIntervals says whether the spec has a search with its own interval
// whose refreshes the loop schedules (Refreshed set).
func (l *Loop) ownIntervals() bool {
	if l.Refreshed == nil || l.spec == nil {
		return false
	}
	return slices.ContainsFunc(l.spec.Searches, func(s spec.Search) bool { return s.Interval > 0 })
}

// readRefreshed reads the last refreshes of the searches with their own
// interval from the state; on an error their schedule stays as it was.
func (l *Loop) readRefreshed(ctx context.Context) {
	m, err := l.Refreshed(ctx)
	if err != nil {
		l.Log.Warn().Err(err).Msg("could not read when the searches with their own interval were refreshed; their schedule stays as it was")
		return
	}
	l.refreshed, l.refreshedStale = m, false
}

// resetOwn sets the timer of the next run of entries due on their own.
func (l *Loop) resetOwn(own *time.Timer) {
	now := time.Now()
	due, next := l.due(now)
	switch {
	case len(due) > 0:
		resetTimer(own, 0)
	case next.IsZero():
		own.Stop()
	default:
		resetTimer(own, next.Sub(now))
	}
}

// due returns the entries due at now on their own (searches with their own
// interval, entries to try again), and when the next of the others is.
func (l *Loop) due(now time.Time) (names []string, next time.Time) {
	consider := func(name string, at time.Time) {
		switch {
		case !at.After(now):
			names = append(names, name)
		case next.IsZero() || at.Before(next):
			next = at
		}
	}
	for name, at := range l.retry {
		consider(name, at)
	}
	if l.Refreshed != nil && l.spec != nil {
		for _, s := range l.spec.Searches {
			if _, retrying := l.retry[s.Name]; retrying || s.Interval <= 0 || s.Suspend {
				continue
			}
			var at time.Time // never refreshed on its interval: due now
			if last, ok := l.refreshed[s.Name]; ok {
				at = reconciler.NextRefresh(s.Name, s.Interval, last)
			}
			consider(s.Name, at)
		}
	}
	slices.Sort(names)
	return names, next
}
