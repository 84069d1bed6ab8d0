package patsnap

import (
	"context"
	"errors"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// DefaultRateJitter is the allowance for how much later than its turn a
// request may reach the server: the time to hand it to a connection and
// carry it there varies, and a strict gateway counts arrivals, not turns.
const DefaultRateJitter = 30 * time.Millisecond

// The governor's response to rate-limit answers (AIMD): each one that
// answers a request sent at the current rate cuts the rate to slowDown of
// itself; each success below the rate of the last cut (the ceiling) closes
// 1/recoverShare of the gap, and beyond it adds probeStep of the rate, up to
// the configured QPS. The rate never falls below minRateShare of it.
const (
	slowDown     = 0.7
	recoverShare = 8
	probeStep    = 0.01
	minRateShare = 1.0 / 32
	nearCeiling  = 0.98
)

// governor decides when each request of a Client may start, for all its
// calls at once. It holds the limit as a strict gateway counts it: with a
// rate r, turns are (1 s + jitter)/r apart, so that no more than r requests
// arrive in any sliding second even when each reaches the server up to
// jitter late. Callers wait for their turn one at a time, first come first
// served, with an urgent lane ahead (token exchanges, and calls already
// answered once: a retry or a call whose token went stale in the queue).
// Rate-limit answers slow the shared rate down rather than the one request
// (see slowDown): every caller behind them waits longer, and retries take
// their turn like any request.
type governor struct {
	now    func() time.Time
	sleep  func(ctx context.Context, d time.Duration) error
	window float64 // 1 s + jitter, in seconds

	lim *rate.Limiter // burst 1 at rate/window: one turn per spacing

	mu     sync.Mutex
	busy   bool // a caller holds the turn
	urgent []chan struct{}
	normal []chan struct{}

	max     float64   // the configured QPS: never exceeded
	rate    float64   // the current rate
	ceiling float64   // the rate at the last cut; 0: none yet
	cutAt   time.Time // answers to turns before it were sent at an older rate
	cuts    int
}

func newGovernor(qps float64, jitter time.Duration, now func() time.Time, sleep func(context.Context, time.Duration) error) *governor {
	g := &governor{now: now, sleep: sleep, window: 1 + jitter.Seconds(), max: qps, rate: qps}
	g.lim = rate.NewLimiter(rate.Limit(qps/g.window), 1)
	return g
}

// errNoTurn is the failure of a wait whose turn would come after the
// caller's deadline.
var errNoTurn = errors.New("no turn under the rate cap before the deadline")

// wait blocks until the caller's turn and returns its time. Time comes from
// the injected clock and waiting from the injected Sleep, so tests can count
// the schedule without sleeping. A turn that would come after ctx's deadline
// is not waited for.
func (g *governor) wait(ctx context.Context, urgent bool) (time.Time, error) {
	if err := g.acquire(ctx, urgent); err != nil {
		return time.Time{}, err
	}
	defer g.release()
	now := g.now()
	r := g.lim.ReserveN(now, 1)
	if !r.OK() {
		return time.Time{}, errors.New("rate limiter cannot grant a request")
	}
	d := r.DelayFrom(now)
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		r.CancelAt(now)
		return time.Time{}, errNoTurn
	}
	if d > 0 {
		if err := g.sleep(ctx, d); err != nil {
			r.CancelAt(g.now())
			return time.Time{}, err
		}
	}
	return now.Add(d), nil
}

// acquire takes the turn, queueing behind earlier callers of the same lane
// and behind every urgent one.
func (g *governor) acquire(ctx context.Context, urgent bool) error {
	g.mu.Lock()
	if !g.busy {
		g.busy = true
		g.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	if urgent {
		g.urgent = append(g.urgent, ch)
	} else {
		g.normal = append(g.normal, ch)
	}
	g.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
	}
	g.mu.Lock()
	for _, q := range []*[]chan struct{}{&g.urgent, &g.normal} {
		for i, c := range *q {
			if c == ch {
				*q = append((*q)[:i], (*q)[i+1:]...)
				g.mu.Unlock()
				return ctx.Err()
			}
		}
	}
	g.mu.Unlock()
	// The turn was handed over as ctx ended: pass it on.
	g.release()
	return ctx.Err()
}

// release hands the turn to the next caller, urgent ones first.
func (g *governor) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, q := range []*[]chan struct{}{&g.urgent, &g.normal} {
		if len(*q) > 0 {
			ch := (*q)[0]
			*q = (*q)[1:]
			close(ch)
			return
		}
	}
	g.busy = false
}

// slowDown cuts the rate after a rate-limit answer to the request of the
// turn at turn. It returns whether the rate changed: answers to requests
// sent before the last cut change nothing, they were sent too fast for a
// rate already left behind.
func (g *governor) slowDown(turn time.Time) (bool, float64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if turn.Before(g.cutAt) {
		return false, g.rate
	}
	g.ceiling = g.rate
	g.rate = max(g.rate*slowDown, g.max*minRateShare)
	now := g.now()
	g.cutAt = now
	g.cuts++
	g.lim.SetLimitAt(now, rate.Limit(g.rate/g.window))
	return true, g.rate
}

// speedUp lets the rate creep back up after a success of the request of
// the turn at turn.
func (g *governor) speedUp(turn time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.rate >= g.max || turn.Before(g.cutAt) {
		return
	}
	if g.rate < g.ceiling*nearCeiling {
		g.rate += (g.ceiling - g.rate) / recoverShare
	} else {
		g.rate += g.rate * probeStep
	}
	g.rate = min(g.rate, g.max)
	g.lim.SetLimitAt(g.now(), rate.Limit(g.rate/g.window))
}

// current returns the rate in requests per second.
func (g *governor) current() float64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.rate
}
