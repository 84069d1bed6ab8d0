package patsnap

import (
	"cmp"
	"context"
	"errors"
	"math"
	"slices"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// DefaultRateJitter is the allowance for how much later than its turn a
// request may reach the server: the time to hand it to a connection and
// carry it there varies, and a strict gateway counts arrivals, not turns.
const DefaultRateJitter = 30 * time.Millisecond

// The governor's response to rate-limit answers (AIMD): each one that
// answers a request sent at the current rate sets the ceiling to the rate
// the server evidently allows (the current rate, or fewer: the requests sent
// in the window before the refused one) and cuts the rate to slowDown of
// it; each success below the ceiling closes 1/recoverShare of the gap, and
// beyond nearCeiling of it a window of successes adds probeStep of the
// rate, up to the configured QPS. The rate never falls below minRateShare
// of it.
const (
	slowDown     = 0.8
	recoverShare = 8
	probeStep    = 0.01
	minRateShare = 1.0 / 32
	nearCeiling  = 0.98
)

// governor decides when each request of a Client may start, for all its
// calls at once. It holds the limit as a strict gateway counts it: with a
// rate r, turns are (1 s + jitter)/r apart, and no window of 1 s + jitter
// holds more than ceil(r) turns, refused requests included, so that no more
// than r requests arrive in any sliding second even when each reaches the
// server up to jitter late. The window rule matters after a cut: a gateway
// that counts the requests it refuses stays full for as long as requests
// keep coming, and the next turn waits until it has drained. Callers wait
// for their turn one at a time, first come first served, with an urgent
// lane ahead (token exchanges, and calls already answered once: a retry or
// a call whose token went stale in the queue). The calls of one search
// wait at the place in line its first call took (see place), so that a
// search once started takes its pages before the searches behind it start,
// and searches complete one after the other rather than all at the end. Rate-limit answers slow the
// shared rate down rather than the one request (see slowDown): every caller
// behind them waits longer, and retries take their turn like any request.
// Before its turn, a request to an endpoint that has been refused without
// ever answering successfully waits for that endpoint's probation (see
// probeFirstWait).
type governor struct {
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
	lim   *rate.Limiter // burst 1 at rate/span: one turn per spacing

	mu     sync.Mutex
	busy   bool // a caller holds the turn
	urgent []queued
	normal []queued // by place, then arrival
	places uint64   // the places given so far

	span  time.Duration // the window: 1 s + jitter
	turns []*turn       // the latest turns, in the order given: at most ceil(max)+1

	max     float64   // the configured QPS: never exceeded
	rate    float64   // the current rate
	ceiling float64   // the rate the server allowed at the last cut; 0: none yet
	cutAt   time.Time // answers to turns before it were sent at an older rate

	probes probations
}

// place is a caller's place in the normal lane: callers are served in the
// order their places were taken. A caller without one takes a place when
// it gets in line; the calls of one search share one, taken by the first
// of them to get in line, so that the later pages of a search started
// earlier go before the first page of a search started later.
type place struct {
	n uint64 // 0 until taken
}

// queued is a caller in line for a turn: its channel is closed when the turn is its.
type queued struct {
	ch chan struct{}
	n  uint64 // its place; 0 in the urgent lane
}

func newGovernor(qps float64, jitter time.Duration, now func() time.Time, sleep func(context.Context, time.Duration) error) *governor {
	g := &governor{now: now, sleep: sleep, span: time.Second + jitter, max: qps, rate: qps}
	g.probes.proven = make(map[string]bool)
	g.probes.on = make(map[string]*probation)
	g.probes.out = make(map[string]int)
	g.lim = rate.NewLimiter(rate.Limit(qps/g.span.Seconds()), 1)
	return g
}

// turn is one request's turn: when it was given, and when the request went
// out. A request can go out well after its turn (a new connection's TLS
// handshake, a busy machine); the window rule counts it from when it left.
type turn struct {
	at   time.Time // the turn
	sent time.Time // when the request was written out; the turn until known
}

// windowCap is how many requests a window may hold: as many as the current
// rate makes, or as the server let through when it last refused one (after
// a cut, the rate is below that, and the window need only drain to it).
// g.mu is held.
func (g *governor) windowCap() int {
	c := max(int(math.Ceil(g.rate-1e-9)), int(math.Floor(g.ceiling+1e-9)))
	return max(1, min(c, int(math.Ceil(g.max-1e-9))))
}

// windowFree returns the earliest time from t on at which the window
// before it holds fewer requests than windowCap. g.mu is held.
func (g *governor) windowFree(t time.Time) time.Time {
	c := g.windowCap()
	if len(g.turns) < c {
		return t
	}
	sent := make([]time.Time, len(g.turns))
	for i, tr := range g.turns {
		sent[i] = tr.sent
	}
	slices.SortFunc(sent, func(a, b time.Time) int { return b.Compare(a) })
	if free := sent[c-1].Add(g.span); free.After(t) {
		return free
	}
	return t
}

// record adds a turn to the log. g.mu is held.
func (g *governor) record(tr *turn) {
	g.turns = append(g.turns, tr)
	if keep := int(math.Ceil(g.max)) + 1; len(g.turns) > keep {
		g.turns = append(g.turns[:0], g.turns[len(g.turns)-keep:]...)
	}
}

// unrecord drops tr from the log.
func (g *governor) unrecord(tr *turn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if i := slices.Index(g.turns, tr); i >= 0 {
		g.turns = slices.Delete(g.turns, i, i+1)
	}
}

// sent records that the request of tr was written out at t.
func (g *governor) sent(tr *turn, t time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if t.After(tr.sent) {
		tr.sent = t
	}
}

// errNoTurn is the failure of a wait whose turn would come after the
// caller's deadline.
var errNoTurn = errors.New("no turn under the rate cap before the deadline")

// wait blocks until the caller's turn and returns its time. Time comes from
// the injected clock and waiting from the injected Sleep, so tests can count
// the schedule without sleeping. A turn that would come after ctx's deadline
// is not waited for. A caller of the normal lane waits at pl (nil: a place
// of its own).
func (g *governor) wait(ctx context.Context, urgent bool, pl *place) (*turn, error) {
	if err := g.acquire(ctx, urgent, pl); err != nil {
		return nil, err
	}
	defer g.release()
	now := g.now()
	g.mu.Lock()
	// The limiter spaces turns; the window rule can only push one later.
	r := g.lim.ReserveN(g.windowFree(now), 1)
	if !r.OK() {
		g.mu.Unlock()
		return nil, errors.New("rate limiter cannot grant a request")
	}
	d := r.DelayFrom(now)
	tr := &turn{at: now.Add(d), sent: now.Add(d)}
	g.record(tr)
	g.mu.Unlock()
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		r.CancelAt(now)
		g.unrecord(tr)
		return nil, errNoTurn
	}
	if d > 0 {
		if err := g.sleep(ctx, d); err != nil {
			r.CancelAt(g.now())
			g.unrecord(tr)
			return nil, err
		}
	}
	return tr, nil
}

// acquire takes the turn, queueing behind earlier callers of the same lane
// (in the normal lane, behind every caller of an earlier place) and behind
// every urgent one.
func (g *governor) acquire(ctx context.Context, urgent bool, pl *place) error {
	g.mu.Lock()
	if !g.busy {
		g.busy = true
		g.takePlace(urgent, pl)
		g.mu.Unlock()
		return nil
	}
	w := queued{ch: make(chan struct{}), n: g.takePlace(urgent, pl)}
	if urgent {
		g.urgent = append(g.urgent, w)
	} else {
		i, _ := slices.BinarySearchFunc(g.normal, w.n+1, func(o queued, n uint64) int { return cmp.Compare(o.n, n) })
		g.normal = slices.Insert(g.normal, i, w)
	}
	g.mu.Unlock()
	select {
	case <-w.ch:
		return nil
	case <-ctx.Done():
	}
	g.mu.Lock()
	for _, q := range []*[]queued{&g.urgent, &g.normal} {
		if i := slices.IndexFunc(*q, func(o queued) bool { return o.ch == w.ch }); i >= 0 {
			*q = slices.Delete(*q, i, i+1)
			g.mu.Unlock()
			return ctx.Err()
		}
	}
	g.mu.Unlock()
	// The turn was handed over as ctx ended: pass it on.
	g.release()
	return ctx.Err()
}

// takePlace returns the place of a caller of the normal lane, pl's or a
// new one, taking it for pl if it has none yet; 0 for an urgent caller.
// g.mu is held.
func (g *governor) takePlace(urgent bool, pl *place) uint64 {
	if urgent {
		return 0
	}
	if pl == nil {
		pl = &place{}
	}
	if pl.n == 0 {
		g.places++
		pl.n = g.places
	}
	return pl.n
}

// release hands the turn to the next caller, urgent ones first.
func (g *governor) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, q := range []*[]queued{&g.urgent, &g.normal} {
		if len(*q) > 0 {
			w := (*q)[0]
			*q = (*q)[1:]
			close(w.ch)
			return
		}
	}
	g.busy = false
}

// slowDown cuts the rate after a rate-limit answer to the request of tr.
// It returns whether the rate changed: answers to requests given their turn
// before the last cut change nothing, they were sent too fast for a rate
// already left behind.
func (g *governor) slowDown(tr *turn) (bool, float64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if tr.at.Before(g.cutAt) {
		return false, g.rate
	}
	// When this client's own turns fill much of the window before the
	// refused one, they are what the server let through (or counted): it
	// allows no more. (Fewer say that others share the account's limit, or
	// that the window began with a burst: they tell nothing.)
	allowed := g.rate
	if n := float64(g.sentBefore(tr)); n >= g.rate/2 {
		allowed = min(allowed, n)
	}
	g.ceiling = allowed
	g.rate = max(allowed*slowDown, g.max*minRateShare)
	now := g.now()
	g.cutAt = now
	g.lim.SetLimitAt(now, rate.Limit(g.rate/g.span.Seconds()))
	return true, g.rate
}

// sentBefore counts the other requests sent in the window before tr's.
// g.mu is held.
func (g *governor) sentBefore(tr *turn) int {
	n := 0
	from := tr.sent.Add(-g.span)
	for _, o := range g.turns {
		if o != tr && o.sent.After(from) && !o.sent.After(tr.sent) {
			n++
		}
	}
	return n
}

// speedUp lets the rate creep back up after a success of the request of
// tr.
func (g *governor) speedUp(tr *turn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.rate >= g.max || tr.at.Before(g.cutAt) {
		return
	}
	if g.rate < g.ceiling*nearCeiling {
		g.rate += (g.ceiling - g.rate) / recoverShare
	} else {
		g.rate += g.rate * probeStep / float64(g.windowCap())
	}
	g.rate = min(g.rate, g.max)
	g.lim.SetLimitAt(g.now(), rate.Limit(g.rate/g.span.Seconds()))
}

// current returns the rate in requests per second.
func (g *governor) current() float64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.rate
}
