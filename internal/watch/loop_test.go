package watch

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"

	"github.com/patwatch/patwatch/internal/buftest"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/spec"
)

// fakeSignals is a signaller the test fires by hand.
type fakeSignals struct {
	c chan struct{}
}

func (f *fakeSignals) Watch(...string) error { return nil }
func (f *fakeSignals) C() <-chan struct{}    { return f.c }

// loopHarness runs a Loop inside a synctest bubble: its timers run on the
// bubble's fake clock, so a test of an hour's schedule takes no time.
type loopHarness struct {
	t    *testing.T
	path string
	sig  *fakeSignals
	loop *Loop

	mu      sync.Mutex
	runs    []Run
	at      []time.Time
	outcome func(Run) (*report.ChangeReport, error) // nil: success, nothing pending
	cancel  context.CancelFunc
	done    chan error
}

func newLoopHarness(t *testing.T, content string) *loopHarness {
	h := &loopHarness{t: t, path: filepath.Join(t.TempDir(), "patwatch.yaml"), sig: &fakeSignals{c: make(chan struct{}, 1)}}
	h.write(content)
	h.loop = &Loop{
		SpecPath: h.path,
		Load: func(path string) (*spec.Spec, error) {
			b, err := os.ReadFile(path)
			if err != nil {
				return nil, err
			}
			if strings.Contains(string(b), "invalid") {
				return nil, errors.New("invalid spec")
			}
			return &spec.Spec{Path: path, Interval: time.Hour}, nil
		},
		Apply: func(ctx context.Context, r Run) (*report.ChangeReport, error) {
			h.mu.Lock()
			h.runs = append(h.runs, r)
			h.at = append(h.at, time.Now())
			out := h.outcome
			h.mu.Unlock()
			if out != nil {
				return out(r)
			}
			return &report.ChangeReport{}, nil
		},
		RetryAfter:   30 * time.Second,
		PollInterval: 15 * time.Second,
		signals:      h.sig,
		jitter:       func() float64 { return 0.5 }, // no jitter
	}
	return h
}

func (h *loopHarness) write(content string) {
	if err := os.WriteFile(h.path, []byte(content), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

func (h *loopHarness) start() {
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.done = make(chan error, 1)
	go func() { h.done <- h.loop.Run(ctx) }()
	synctest.Wait()
}

func (h *loopHarness) stop() error {
	h.cancel()
	return <-h.done
}

func (h *loopHarness) triggers() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, r := range h.runs {
		out = append(out, r.Trigger)
	}
	return out
}

func (h *loopHarness) want(want ...string) {
	h.t.Helper()
	if got := h.triggers(); strings.Join(got, ",") != strings.Join(want, ",") {
		h.t.Fatalf("runs %q, want %q", got, want)
	}
}

func (h *loopHarness) sleep(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

func TestLoopRunsAtStartThenOnTheSpecsInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newLoopHarness(t, "version: 1\n")
		h.start()
		h.want("start")
		h.sleep(59 * time.Minute)
		h.want("start")
		h.sleep(time.Minute)
		h.want("start", "schedule")
		if err := h.stop(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestLoopRunsOnceForAChangeAndNotForTheSameContent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newLoopHarness(t, "version: 1\n")
		h.start()
		h.sig.c <- struct{}{} // a signal without new content: no run
		synctest.Wait()
		h.want("start")
		h.write("version: 1\n# edited\n")
		h.sig.c <- struct{}{}
		synctest.Wait()
		h.want("start", "spec changed")
		h.stop()
	})
}

func TestLoopKeepsTheLastGoodSpecOnAnInvalidEdit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newLoopHarness(t, "version: 1\n")
		h.start()
		good := h.loop.spec
		h.write("invalid")
		h.sig.c <- struct{}{}
		synctest.Wait()
		h.want("start")
		if h.loop.spec != good {
			t.Error("an invalid edit replaced the last good spec")
		}
		h.sleep(time.Hour)
		h.want("start", "schedule") // scheduled runs go on with the last good spec
		h.mu.Lock()
		if h.runs[1].Spec != good {
			t.Error("the scheduled run did not use the last good spec")
		}
		h.mu.Unlock()
		h.stop()
	})
}

func TestLoopRetriesAFailedRunSoonerDoublingUpToTheInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newLoopHarness(t, "version: 1\n")
		h.outcome = func(Run) (*report.ChangeReport, error) { return nil, errors.New("API outage") }
		h.start()
		for _, wait := range []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute} {
			n := len(h.triggers())
			h.sleep(wait - time.Second)
			if len(h.triggers()) != n {
				t.Fatalf("retried before %v", wait)
			}
			h.sleep(time.Second)
			if len(h.triggers()) != n+1 {
				t.Fatalf("not retried after %v", wait)
			}
		}
		h.mu.Lock()
		h.outcome = nil // the API is back
		h.mu.Unlock()
		h.sleep(8 * time.Minute)
		n := len(h.triggers())
		h.sleep(59 * time.Minute)
		if len(h.triggers()) != n {
			t.Fatal("after a success the loop kept retrying instead of going back to the interval")
		}
		h.stop()
	})
}

func TestLoopPollsPendingReportsUntilTheyFinish(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newLoopHarness(t, "version: 1\n")
		polls := 0
		h.outcome = func(r Run) (*report.ChangeReport, error) {
			if r.ReportsOnly {
				polls++
			}
			var st report.ReportStatus = report.ReportPending
			if polls >= 3 {
				st = report.ReportFinished
			}
			return &report.ChangeReport{Reports: []report.ReportChange{{Name: "r", Status: st}}}, nil
		}
		h.start()
		h.sleep(15 * time.Second)
		h.sleep(15 * time.Second)
		h.sleep(15 * time.Second)
		h.want("start", "report poll", "report poll", "report poll")
		h.sleep(30 * time.Minute)
		h.want("start", "report poll", "report poll", "report poll") // finished: no more polls
		h.mu.Lock()
		if !h.runs[1].ReportsOnly || h.runs[0].ReportsOnly {
			t.Error("report polls must be reports-only runs, the start run a full one")
		}
		h.mu.Unlock()
		h.stop()
	})
}

func TestLoopStartErrorNamesTheSpec(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newLoopHarness(t, "invalid")
		err := h.loop.Run(context.Background())
		var se *StartError
		if !errors.As(err, &se) || se.Path != h.path {
			t.Fatalf("err = %v, want a *StartError for %s", err, h.path)
		}
		h.want()
	})
}

// TestLoopReloadsAndRunsOnSignal: a reload (SIGHUP) reads the spec again and
// runs at once, whether the spec changed or not; an invalid spec is kept
// out and the run uses the last good one. The schedule goes on from there.
func TestLoopReloadsAndRunsOnSignal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newLoopHarness(t, "version: 1\n")
		reload := make(chan struct{}, 1)
		h.loop.Reload = reload
		h.start()
		h.sleep(10 * time.Minute)
		reload <- struct{}{} // unchanged content: still a run
		synctest.Wait()
		h.want("start", "reload")

		h.write("version: 1\n# edited, but no file event seen\n")
		first := h.loop.spec
		reload <- struct{}{}
		synctest.Wait()
		h.want("start", "reload", "reload")
		if h.loop.spec == first {
			t.Error("the reload did not read the edited spec")
		}

		good := h.loop.spec
		h.write("invalid")
		reload <- struct{}{}
		synctest.Wait()
		h.want("start", "reload", "reload", "reload")
		h.mu.Lock()
		if h.runs[3].Spec != good {
			t.Error("a reload of an invalid spec did not run with the last good one")
		}
		h.mu.Unlock()

		h.sleep(59 * time.Minute)
		h.want("start", "reload", "reload", "reload")
		h.sleep(time.Minute)
		h.want("start", "reload", "reload", "reload", "schedule") // an interval after the last run
		h.stop()
	})
}

// TestLoopFirstRunIsTheStart: a reload asked for before the first run does
// not make that run anything but the start (it may cause one more run).
func TestLoopFirstRunIsTheStart(t *testing.T) {
	for range 20 { // the loop's select picks at random between the two
		synctest.Test(t, func(t *testing.T) {
			h := newLoopHarness(t, "version: 1\n")
			reload := make(chan struct{}, 1)
			reload <- struct{}{}
			h.loop.Reload = reload
			h.start()
			got := h.triggers()
			if len(got) == 0 || got[0] != "start" || slices.Contains(got, "schedule") {
				t.Fatalf("runs %q, want start first and no scheduled run", got)
			}
			h.stop()
		})
	}
}

// holdHarness is a loop over a spec of the form "entries: a,b,c" against a
// state that records the names in recorded.
type holdHarness struct {
	*loopHarness
	recorded []string
	logs     *buftest.Buffer
}

func newHoldHarness(t *testing.T, content string, recorded ...string) *holdHarness {
	h := &holdHarness{loopHarness: newLoopHarness(t, content), recorded: recorded, logs: &buftest.Buffer{}}
	h.loop.Log = zerolog.New(h.logs)
	h.loop.Load = func(path string) (*spec.Spec, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		sp := &spec.Spec{Path: path, Interval: time.Hour}
		list := strings.TrimSpace(strings.TrimPrefix(string(b), "entries:"))
		for _, name := range strings.Split(list, ",") {
			if name != "" {
				sp.Searches = append(sp.Searches, spec.Search{Name: name})
			}
		}
		return sp, nil
	}
	h.loop.Removal = func(_ context.Context, sp *spec.Spec) (int, int, error) {
		h.mu.Lock()
		defer h.mu.Unlock()
		n := 0
		for _, name := range h.recorded {
			if !slices.ContainsFunc(sp.Searches, func(s spec.Search) bool { return s.Name == name }) {
				n++
			}
		}
		return n, len(h.recorded), nil
	}
	return h
}

func (h *holdHarness) record(names ...string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recorded = names
}

// entries lists the names of the spec each run used.
func (h *holdHarness) entries() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, r := range h.runs {
		var names []string
		for _, s := range r.Spec.Searches {
			names = append(names, s.Name)
		}
		out = append(out, strings.Join(names, "+"))
	}
	return out
}

func (h *holdHarness) wantEntries(want ...string) {
	h.t.Helper()
	if got := h.entries(); strings.Join(got, ",") != strings.Join(want, ",") {
		h.t.Fatalf("runs used specs %q, want %q", got, want)
	}
}

// TestLoopHoldsAMassRemoval: a change that would remove most of what the
// state records is held, with the spec before it in force, until an apply
// of it leaves the state without those entries.
func TestLoopHoldsAMassRemoval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHoldHarness(t, "entries: a,b,c", "a", "b", "c")
		h.start()
		h.wantEntries("a+b+c")

		h.write("entries: a") // removes b and c: two of three
		h.sig.c <- struct{}{}
		synctest.Wait()
		h.wantEntries("a+b+c") // no run for a held change
		if !strings.Contains(h.logs.String(), "is held") || !strings.Contains(h.logs.String(), `"removed":2`) {
			t.Errorf("the hold is not logged with its numbers:\n%s", h.logs)
		}
		h.sleep(time.Hour)
		h.wantEntries("a+b+c", "a+b+c") // the schedule keeps the spec in force

		h.record("a") // patwatch apply applied the change
		h.sleep(time.Hour)
		h.wantEntries("a+b+c", "a+b+c", "a")
		if !strings.Contains(h.logs.String(), "in force now") {
			t.Errorf("the end of the hold is not logged:\n%s", h.logs)
		}
		if strings.Count(h.logs.String(), "is held") != 1 {
			t.Errorf("the hold is logged more than once:\n%s", h.logs)
		}
		h.stop()
	})
}

func TestLoopAppliesASmallRemovalAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHoldHarness(t, "entries: a,b,c", "a", "b", "c")
		h.start()
		h.write("entries: a,b") // one of three
		h.sig.c <- struct{}{}
		synctest.Wait()
		h.wantEntries("a+b+c", "a+b")
		h.stop()
	})
}

func TestLoopAllowsAMassRemoval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHoldHarness(t, "entries: a,b,c", "a", "b", "c")
		h.loop.AllowMassRemoval = true
		h.start()
		h.write("entries:")
		h.sig.c <- struct{}{}
		synctest.Wait()
		h.wantEntries("a+b+c", "")
		h.stop()
	})
}

// TestLoopHoldsAMassRemovalAtStart: started on a spec that would remove
// most of the state, watch runs nothing, and starts once an apply made the
// state agree.
func TestLoopHoldsAMassRemovalAtStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHoldHarness(t, "entries:", "a", "b")
		h.start()
		h.wantEntries()
		if !strings.Contains(h.logs.String(), "nothing runs until") {
			t.Errorf("the hold at start is not logged:\n%s", h.logs)
		}
		h.sleep(time.Minute)
		h.wantEntries()
		h.record()
		h.sleep(5 * time.Minute)
		h.want("start")
		h.stop()
	})
}
