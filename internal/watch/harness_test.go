package watch

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
)

// waitLimit bounds every wait on a condition. It is a failure deadline, not a sleep: tests
// proceed as soon as the condition holds.
const waitLimit = 10 * time.Second

// manualClock hands out timers and tickers that fire only when the test says so.
type manualClock struct {
	timers  chan *manualTimer // each timer made, in order; buffered
	mu      sync.Mutex
	tickers []*manualTicker
}

func newManualClock() *manualClock { return &manualClock{timers: make(chan *manualTimer, 8)} }

func (c *manualClock) newTimer() timer {
	t := &manualTimer{c: make(chan time.Time), resets: make(chan struct{}, 1)}
	c.timers <- t
	return t
}

func (c *manualClock) madeTickers() []*manualTicker {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*manualTicker(nil), c.tickers...)
}

func (c *manualClock) newTicker(d time.Duration) ticker {
	t := &manualTicker{c: make(chan time.Time), period: d}
	c.mu.Lock()
	c.tickers = append(c.tickers, t)
	c.mu.Unlock()
	return t
}

// manualTimer models a Go 1.23+ timer: armed by Reset, disarmed by Stop or by firing.
type manualTimer struct {
	c      chan time.Time
	resets chan struct{} // gets a value (coalesced) on every Reset
	mu     sync.Mutex
	armed  bool
	last   time.Duration
}

func (t *manualTimer) C() <-chan time.Time { return t.c }

func (t *manualTimer) Reset(d time.Duration) {
	t.mu.Lock()
	t.armed, t.last = true, d
	t.mu.Unlock()
	select {
	case t.resets <- struct{}{}:
	default:
	}
}

func (t *manualTimer) Stop() {
	t.mu.Lock()
	t.armed = false
	t.mu.Unlock()
}

func (t *manualTimer) isArmed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.armed
}

// fire lets the quiet period elapse: if the timer is armed, the loop receives its tick. The send
// is synchronous, so when fire returns the loop has taken it.
func (t *manualTimer) fire(tb testing.TB) {
	tb.Helper()
	t.mu.Lock()
	armed := t.armed
	t.armed = false
	t.mu.Unlock()
	if !armed {
		tb.Fatal("debounce timer fired while not armed")
	}
	select {
	case t.c <- time.Now():
	case <-time.After(waitLimit):
		tb.Fatal("event loop did not take the debounce tick")
	}
}

type manualTicker struct {
	c      chan time.Time
	period time.Duration
}

func (t *manualTicker) C() <-chan time.Time { return t.c }
func (t *manualTicker) Stop()               {}

func (t *manualTicker) tick(tb testing.TB) {
	tb.Helper()
	select {
	case t.c <- time.Now():
	case <-time.After(waitLimit):
		tb.Fatal("event loop did not take the poll tick")
	}
}

// handled is one event as the loop decided on it.
type handled struct {
	ev    fsnotify.Event
	armed bool
}

// harness runs a Trigger on a manual clock and records every event the loop handles, so tests can
// wait until the consequences of a file operation have been decided before asserting on signals.
type harness struct {
	tb    testing.TB
	trig  *Trigger
	clk   *manualClock
	debnc *manualTimer // the loop's debounce timer

	mu     sync.Mutex
	seen   []handled
	notify chan struct{}
	syncN  int
}

func newHarness(tb testing.TB, o Options) *harness {
	tb.Helper()
	h := &harness{tb: tb, clk: newManualClock(), notify: make(chan struct{}, 1)}
	trig, err := newTrigger(o, h.clk)
	if err != nil {
		tb.Fatal(err)
	}
	trig.afterEvent = func(ev fsnotify.Event, armed bool) {
		h.mu.Lock()
		h.seen = append(h.seen, handled{ev, armed})
		h.mu.Unlock()
		select {
		case h.notify <- struct{}{}:
		default:
		}
	}
	h.trig = trig
	startRun(tb, trig)
	select {
	case h.debnc = <-h.clk.timers:
	case <-time.After(waitLimit):
		tb.Fatal("event loop never made its debounce timer")
	}
	return h
}

// startRun runs trig until the test ends and checks that Run returns nil.
func startRun(tb testing.TB, trig *Trigger) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- trig.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				tb.Errorf("Run returned %v, want nil", err)
			}
		case <-time.After(waitLimit):
			tb.Error("Run did not return after the context ended")
		}
		if err := trig.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
}

// timer returns the loop's debounce timer.
func (h *harness) timer() *manualTimer { return h.debnc }

// waitFor waits until the loop has handled an event satisfying ok and returns it.
func (h *harness) waitFor(what string, ok func(handled) bool) handled {
	h.tb.Helper()
	deadline := time.After(waitLimit)
	for {
		h.mu.Lock()
		for _, e := range h.seen {
			if ok(e) {
				h.mu.Unlock()
				return e
			}
		}
		h.mu.Unlock()
		select {
		case <-h.notify:
		case <-deadline:
			h.tb.Fatalf("no event handled for %s; handled: %v", what, h.events())
		}
	}
}

func (h *harness) events() []handled {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]handled(nil), h.seen...)
}

// settle returns once every event caused so far in dir (and any other watched directory) has been
// handled: it creates a sentinel directory in dir and waits for its event, which inotify queues
// after all earlier ones. The sentinel is unrelated to every watched file, so it must not arm.
func (h *harness) settle(dir string) {
	h.tb.Helper()
	h.syncN++
	name := filepath.Join(dir, fmt.Sprintf(".sync-%d", h.syncN))
	if err := os.Mkdir(name, 0o755); err != nil {
		h.tb.Fatal(err)
	}
	e := h.waitFor(name, func(e handled) bool { return e.ev.Name == name })
	if e.armed {
		h.tb.Fatalf("unrelated sentinel %s armed the debounce timer", name)
	}
}

// expectOne asserts that what the test did arms the debounce timer and, once the quiet period
// elapses, yields exactly one signal and nothing further.
func (h *harness) expectOne(dir string) {
	h.tb.Helper()
	h.settle(dir)
	t := h.timer()
	if !t.isArmed() {
		h.tb.Fatalf("no event armed the debounce timer; handled: %v", h.events())
	}
	if len(h.trig.C()) != 0 {
		h.tb.Fatal("signal sent before the quiet period elapsed")
	}
	t.fire(h.tb)
	select {
	case <-h.trig.C():
	case <-time.After(waitLimit):
		h.tb.Fatal("no signal after the quiet period")
	}
	h.expectQuiet()
}

// expectNone asserts that what the test did in dir caused no signal and none is coming.
func (h *harness) expectNone(dir string) {
	h.tb.Helper()
	h.settle(dir)
	h.expectQuiet()
}

func (h *harness) expectQuiet() {
	h.tb.Helper()
	if h.timer().isArmed() {
		h.tb.Fatalf("debounce timer armed, a signal would follow; handled: %v", h.events())
	}
	select {
	case <-h.trig.C():
		h.tb.Fatal("unexpected pending signal")
	default:
	}
}

func (e handled) String() string { return fmt.Sprintf("%s armed=%t", e.ev, e.armed) }

func writeFile(tb testing.TB, path, content string) {
	tb.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}
