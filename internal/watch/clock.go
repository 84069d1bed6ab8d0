package watch

import "time"

// clock makes the timers the event loop waits on. Production uses the time package; tests use a
// manual clock so that "no signal" and "exactly one signal" are decided by the test, not by luck.
type clock interface {
	newTimer() timer // stopped until Reset
	newTicker(d time.Duration) ticker
}

// timer is the part of *time.Timer the loop uses. After Stop or Reset no stale value is received
// (the Go 1.23 timer semantics, which this module's go version selects).
type timer interface {
	C() <-chan time.Time
	Reset(d time.Duration)
	Stop()
}

// ticker is the part of *time.Ticker the loop uses.
type ticker interface {
	C() <-chan time.Time
	Stop()
}

type realClock struct{}

func (realClock) newTimer() timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return realTimer{t}
}

func (realClock) newTicker(d time.Duration) ticker { return realTicker{time.NewTicker(d)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time   { return r.t.C }
func (r realTimer) Reset(d time.Duration) { r.t.Reset(d) }
func (r realTimer) Stop()                 { r.t.Stop() }

type realTicker struct{ t *time.Ticker }

func (r realTicker) C() <-chan time.Time { return r.t.C }
func (r realTicker) Stop()               { r.t.Stop() }
