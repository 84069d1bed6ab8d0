package watch

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/reconciler"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

func TestTouched(t *testing.T) {
	s := func(name, fp string) spec.Search {
		return spec.Search{Name: name, Fingerprint: fp, DropAfter: 1, Line: 3}
	}
	r := func(name, pn string) spec.Report {
		return spec.Report{Name: name, PatentNumber: pn, Format: "pdf", Logo: true, Line: 9}
	}
	old := &spec.Spec{Interval: time.Hour, Searches: []spec.Search{s("a", "1"), s("b", "2"), s("c", "3")}, Reports: []spec.Report{r("r", "CN1"), r("q", "CN2")}}
	edit := func(f func(*spec.Spec)) *spec.Spec {
		n := *old
		n.Searches = slices.Clone(old.Searches)
		n.Reports = slices.Clone(old.Reports)
		f(&n)
		return &n
	}
	for _, c := range []struct {
		name string
		new  *spec.Spec
		want []string
	}{
		{"nothing (lines moved, spec interval)", edit(func(n *spec.Spec) {
			n.Interval = 6 * time.Hour
			n.API.QPS = 2
			for i := range n.Searches {
				n.Searches[i].Line += 5
			}
			n.Reports[0].Line = 1
		}), nil},
		{"entries reordered", edit(func(n *spec.Spec) { slices.Reverse(n.Searches); slices.Reverse(n.Reports) }), nil},
		{"a search's own interval", edit(func(n *spec.Spec) { n.Searches[1].Interval = 7 * 24 * time.Hour }), nil},
		{"a query", edit(func(n *spec.Spec) { n.Searches[1].Fingerprint = "2b" }), []string{"b"}},
		{"drop_after and suspend", edit(func(n *spec.Spec) { n.Searches[0].DropAfter = 2; n.Searches[2].Suspend = true }), []string{"a", "c"}},
		{"added and removed", edit(func(n *spec.Spec) { n.Searches = append(n.Searches[1:], s("d", "4")) }), []string{"a", "d"}},
		{"a rename", edit(func(n *spec.Spec) { n.Searches[2].Name = "c2" }), []string{"c", "c2"}},
		{"a report's request", edit(func(n *spec.Spec) { n.Reports[1].Format = "word"; n.Reports[0].Suspend = true }), []string{"q", "r"}},
		{"a report removed", edit(func(n *spec.Spec) { n.Reports = n.Reports[:1] }), []string{"q"}},
	} {
		if got := Touched(old, c.new); !slices.Equal(got, c.want) {
			t.Errorf("%s: touched %q, want %q", c.name, got, c.want)
		}
	}
}

func TestNextRefreshStaggersAndKeepsThePeriod(t *testing.T) {
	week := 7 * 24 * time.Hour
	base := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	seen := map[time.Time]bool{}
	for _, name := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		first := reconciler.NextRefresh(name, week, base)
		if slot := week / 12; first.Before(base.Add(week-slot/2)) || !first.Before(base.Add(week+slot/2)) {
			t.Errorf("%s: first refresh at %v, want within half a twelfth of the week of %v", name, first, base.Add(week))
		}
		if !reconciler.Due(spec.Search{Interval: week}, &state.Search{RefreshedAt: base}, first) {
			t.Errorf("%s: at its first refresh it is not due for --due-only", name)
		}
		if again := reconciler.NextRefresh(name, week, first.Add(3*time.Second)); !again.Equal(first.Add(week)) {
			t.Errorf("%s: refreshed at its slot, next at %v, want exactly a week later (%v)", name, again, first.Add(week))
		}
		if got := reconciler.NextRefresh(name, week, base); !got.Equal(first) {
			t.Errorf("%s: not deterministic: %v then %v", name, first, got)
		}
		seen[first] = true
	}
	if len(seen) < 6 {
		t.Errorf("8 searches refreshed together are due at only %d distinct times", len(seen))
	}
}

// scheduleHarness simulates the runner for a Loop of searches with their
// own intervals: a due-only run refreshes what reconciler.Due says is due,
// a targeted run its targets, and each refresh is recorded as the state
// would record it.
type scheduleHarness struct {
	*loopHarness
	sp *spec.Spec

	smu       sync.Mutex
	refreshed map[string]time.Time
	searched  map[string][]time.Time // each search's refreshes
	failing   map[string]bool
}

func newScheduleHarness(t *testing.T, sp *spec.Spec) *scheduleHarness {
	h := &scheduleHarness{loopHarness: newLoopHarness(t, "version: 1\n"), sp: sp,
		refreshed: map[string]time.Time{}, searched: map[string][]time.Time{}, failing: map[string]bool{}}
	h.loop.Load = func(string) (*spec.Spec, error) { return sp, nil }
	h.loop.Refreshed = func(context.Context) (map[string]time.Time, error) {
		h.smu.Lock()
		defer h.smu.Unlock()
		out := map[string]time.Time{}
		for k, v := range h.refreshed {
			out[k] = v
		}
		return out, nil
	}
	h.outcome = h.simulate
	return h
}

func (h *scheduleHarness) simulate(r Run) (*report.ChangeReport, error) {
	h.smu.Lock()
	defer h.smu.Unlock()
	now := time.Now()
	rep := &report.ChangeReport{}
	for _, s := range r.Spec.Searches {
		var rec *state.Search
		if at, ok := h.refreshed[s.Name]; ok {
			rec = &state.Search{Fingerprint: s.Fingerprint, RefreshedAt: at}
		}
		run := !r.ReportsOnly && (!r.Targeted || slices.Contains(r.Targets, s.Name)) && !slices.Contains(r.Exclude, s.Name) &&
			(!r.DueOnly || reconciler.Due(s, rec, now))
		ch := report.SearchChange{Name: s.Name, Status: report.StatusSkipped}
		switch {
		case run && h.failing[s.Name]:
			ch.Status = report.StatusError
		case run:
			ch.Status = report.StatusOK
			h.searched[s.Name] = append(h.searched[s.Name], now)
			if s.Interval > 0 {
				h.refreshed[s.Name] = now.Truncate(time.Second)
			}
		}
		rep.Searches = append(rep.Searches, ch)
	}
	return rep, nil
}

func (h *scheduleHarness) refreshes(name string) []time.Time {
	h.smu.Lock()
	defer h.smu.Unlock()
	return slices.Clone(h.searched[name])
}

// TestLoopRefreshesEachSearchOnItsOwnInterval: in watch mode a search with
// its own interval is refreshed on that period, at a time of its own (its
// name's slot), by a run of it alone; the searches without one follow the
// loop's interval; no run bunches them.
func TestLoopRefreshesEachSearchOnItsOwnInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sp := &spec.Spec{Interval: 6 * time.Hour, Searches: []spec.Search{
			{Name: "hourly-a", Interval: time.Hour, Fingerprint: "a"},
			{Name: "hourly-b", Interval: time.Hour, Fingerprint: "b"},
			{Name: "daily", Interval: 24 * time.Hour, Fingerprint: "d"},
			{Name: "plain", Fingerprint: "p"},
		}}
		h := newScheduleHarness(t, sp)
		start := time.Now()
		h.start()
		h.sleep(49 * time.Hour)
		h.stop()

		for _, c := range []struct {
			name     string
			interval time.Duration
		}{{"hourly-a", time.Hour}, {"hourly-b", time.Hour}, {"daily", 24 * time.Hour}} {
			got := h.refreshes(c.name)
			if len(got) < 2 || !got[0].Equal(start) {
				t.Fatalf("%s refreshed at %v; want at the start, then on its interval", c.name, got)
			}
			want := reconciler.NextRefresh(c.name, c.interval, start)
			for i, at := range got[1:] {
				if !at.Equal(want) {
					t.Fatalf("%s: refresh %d at %v, want %v (its slot)", c.name, i+1, at.Sub(start), want.Sub(start))
				}
				want = at.Add(c.interval)
			}
			if n, max := len(got), int(49*time.Hour/c.interval)+1; n < max-1 || n > max {
				t.Errorf("%s: %d refreshes in 49 h, want about %d", c.name, n, max)
			}
		}
		if a, b := h.refreshes("hourly-a"), h.refreshes("hourly-b"); a[1].Equal(b[1]) {
			t.Errorf("two hourly searches refreshed together at the same moment %v: not staggered", a[1].Sub(start))
		}
		plain := h.refreshes("plain")
		for i, at := range plain {
			if want := start.Add(time.Duration(i) * 6 * time.Hour); !at.Equal(want) {
				t.Errorf("plain refresh %d at %v, want %v (the loop's interval)", i, at.Sub(start), want.Sub(start))
			}
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, r := range h.runs {
			if r.Trigger == triggerDue && (!r.Targeted || len(r.Targets) != 1) {
				t.Errorf("a run for searches due on their own: %+v; want one search, targeted", r)
			}
		}
	})
}

// TestLoopRetriesASearchDueOnItsOwnAfterAFailure: a search whose own run
// failed is tried again after the retry delay, not at once and not only a
// whole interval later.
func TestLoopRetriesASearchDueOnItsOwnAfterAFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sp := &spec.Spec{Interval: 24 * time.Hour, Searches: []spec.Search{{Name: "hourly", Interval: time.Hour, Fingerprint: "h"}}}
		h := newScheduleHarness(t, sp)
		start := time.Now()
		h.start()
		slot := reconciler.NextRefresh("hourly", time.Hour, start)
		h.smu.Lock()
		h.failing["hourly"] = true
		h.smu.Unlock()
		h.sleep(slot.Sub(start) + time.Second)
		h.sleep(20 * time.Second)
		n := len(h.triggers())
		h.sleep(10 * time.Second) // the retry delay is 30 s
		if got := len(h.triggers()); got != n+1 {
			t.Fatalf("%d runs 30 s after a failed run of its own, want %d", got, n+1)
		}
		h.smu.Lock()
		h.failing["hourly"] = false
		h.smu.Unlock()
		h.sleep(time.Minute) // the second retry, 60 s later, succeeds
		got := h.refreshes("hourly")
		if len(got) != 2 {
			t.Fatalf("refreshes %v; want the start and the successful retry", got)
		}
		h.sleep(2 * time.Hour)
		if got := h.refreshes("hourly"); len(got) < 3 {
			t.Errorf("after a success the search did not go back to its interval: %v", got)
		}
		if err := h.stop(); err != nil && !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
	})
}

// TestLoopReadsRefreshesOnlyForOwnIntervals: without a search with its own
// interval nothing needs the last refreshes, so no run is followed by a
// read of the state for them; once a reloaded spec gives a search one, the
// loop reads them before its next run, which leaves a search refreshed
// just now to its own schedule.
func TestLoopReadsRefreshesOnlyForOwnIntervals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		plain := &spec.Spec{Interval: time.Hour, Searches: []spec.Search{{Name: "plain", Fingerprint: "p"}}}
		withOwn := &spec.Spec{Interval: time.Hour, Searches: []spec.Search{
			{Name: "plain", Fingerprint: "p"},
			{Name: "daily", Interval: 24 * time.Hour, Fingerprint: "d"},
		}}
		h := newLoopHarness(t, "version: 1\n")
		var mu sync.Mutex
		current, reads := plain, 0
		h.loop.Load = func(string) (*spec.Spec, error) {
			mu.Lock()
			defer mu.Unlock()
			return current, nil
		}
		h.loop.Refreshed = func(context.Context) (map[string]time.Time, error) {
			mu.Lock()
			defer mu.Unlock()
			reads++
			return map[string]time.Time{"daily": time.Now().Truncate(time.Second)}, nil
		}
		readCount := func() int {
			mu.Lock()
			defer mu.Unlock()
			return reads
		}
		h.start()
		h.sleep(3 * time.Hour)
		h.want("start", "schedule", "schedule", "schedule")
		if n := readCount(); n != 0 {
			t.Fatalf("the last refreshes were read %d times for a spec without own intervals, want none", n)
		}

		mu.Lock()
		current = withOwn
		mu.Unlock()
		h.write("version: 1\n# daily has its own interval\n") // read at the next scheduled run
		h.sleep(time.Hour)
		h.want("start", "schedule", "schedule", "schedule", "schedule")
		if n := readCount(); n == 0 {
			t.Fatal("the last refreshes were never read after the spec gave a search its own interval")
		}
		h.mu.Lock()
		last := h.runs[len(h.runs)-1]
		h.mu.Unlock()
		if !slices.Contains(last.Exclude, "daily") {
			t.Errorf("the scheduled run after the change excluded %q, want daily (refreshed just now) left to its own schedule", last.Exclude)
		}
		if err := h.stop(); err != nil {
			t.Fatal(err)
		}
	})
}
