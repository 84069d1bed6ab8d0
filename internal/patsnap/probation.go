package patsnap

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"time"
)

// A rate-limit answer from an endpoint that has answered successfully
// before comes from a server that is merely busy: the governor slows the
// shared rate down, and the call is retried for as long as its deadline
// allows. One from an endpoint that has never answered successfully says
// nothing of the kind: the gateway may refuse the account every request
// (no quota for that API, a limit of 0), and retrying at the governor's
// rate until the run's deadline would send thousands of requests while the
// run holds the state lock. Such an endpoint is put on probation: its
// requests go one at a time, in the order they came, each once no other
// request to it awaits its answer, the first probeFirstWait after the
// refusal and each after twice the wait before it, up to probeMaxWait (one
// request a minute). Its first success ends the probation for the
// client's life. Once it has refused requests for probeGiveUp without a
// single success (so every request sent in that time was refused), its
// calls fail with an account-wide error matching ErrAlwaysRateLimited,
// and while that verdict stands (probeMaxWait after the refusal that gave
// it) they fail at once, sending nothing: watch mode keeps its client from
// run to run, and each later run tries the endpoint again once.
const (
	probeFirstWait = time.Second
	probeMaxWait   = time.Minute
	probeGiveUp    = 5 * time.Minute
)

// ErrAlwaysRateLimited is matched by errors.Is for the account-wide error
// (ClassAccount) of an endpoint that refused every request as too fast for
// minutes, without a single success, even as they slowed to one a minute.
var ErrAlwaysRateLimited = errors.New("every request was refused as too fast for 5 minutes, the last ones a minute apart, and none has succeeded")

// errProbeLate is the failure of a wait for an endpoint on probation whose
// next request would go after the caller's deadline.
var errProbeLate = errors.New("the endpoint has refused every request as too fast so far, and its next try would come after the deadline")

// probations holds what the governor knows of each endpoint: whether it
// has answered successfully, the requests let go to each that has not and
// not yet settled, and the probation of those that were refused.
type probations struct {
	mu     sync.Mutex
	proven map[string]bool
	on     map[string]*probation
	out    map[string]int // requests let go and not yet settled, by endpoint not proven
	seq    uint64         // the arrival of the latest request admitted
}

// probation is the record of one endpoint on probation. Its requests go one
// at a time, in the order they arrived, and only while no other request to
// the endpoint is on its way: each is the only one whose answer is awaited,
// so a verdict comes only once every request sent since the probation
// began was refused, and a request that was already on its way, or that
// came before the refused one's retry, goes before that retry does.
type probation struct {
	since   time.Time     // its first rate-limit answer
	next    time.Time     // when its next request may go
	wait    time.Duration // the wait after the next refusal
	queue   []*waiter     // requests waiting to go, in arrival order
	verdict *APIError     // set once it refused for probeGiveUp
}

// waiter is a request waiting for its probation to let it go: ready is
// closed when it may, or when the probation ended.
type waiter struct {
	seq   uint64
	ready chan struct{}
}

// probe is a request admitted to an endpoint that has not answered
// successfully yet. Until freed, it counts as on its way: the endpoint's
// probation, if any, lets no other request go. p is the probation that let
// it go (nil: it went without one), and at when that probation allowed it.
type probe struct {
	g        *governor
	endpoint string
	seq      uint64 // its arrival
	p        *probation
	at       time.Time
	out      bool // counted among the endpoint's requests on their way
}

// free settles pr's request, letting the next waiting one go; it may be
// called more than once, and on nil.
func (pr *probe) free() {
	if pr == nil {
		return
	}
	ps := &pr.g.probes
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.settle(pr) {
		ps.next(pr.endpoint)
	}
}

// settle stops counting pr among its endpoint's requests on their way, and
// reports whether it was. ps.mu is held.
func (ps *probations) settle(pr *probe) bool {
	if !pr.out {
		return false
	}
	pr.out = false
	if !ps.proven[pr.endpoint] {
		ps.out[pr.endpoint]--
	}
	return true
}

// next lets the first request waiting for endpoint's probation go, if no
// other is on its way: it counts as on its way from then. ps.mu is held.
func (ps *probations) next(endpoint string) {
	p := ps.on[endpoint]
	if p == nil || len(p.queue) == 0 || ps.out[endpoint] > 0 {
		return
	}
	w := p.queue[0]
	p.queue = p.queue[1:]
	ps.out[endpoint]++
	close(w.ready)
}

// onProbation returns the probation of endpoint, or nil.
func (g *governor) onProbation(endpoint string) *probation {
	g.probes.mu.Lock()
	defer g.probes.mu.Unlock()
	return g.probes.on[endpoint]
}

// admit lets a request to endpoint go: at once when the endpoint is not on
// probation, else when its probation allows (see probation). It returns the
// request's probe, to be freed once the request settled, or nil for an
// endpoint that answered successfully. It fails with the probation's
// verdict while that stands, with errProbeLate when the wait would outlast
// ctx's deadline, and when ctx ends.
func (g *governor) admit(ctx context.Context, endpoint string) (*probe, error) {
	g.probes.mu.Lock()
	if g.probes.proven[endpoint] {
		g.probes.mu.Unlock()
		return nil, nil
	}
	g.probes.seq++
	pr := &probe{g: g, endpoint: endpoint, seq: g.probes.seq}
	g.probes.mu.Unlock()
	return g.enter(ctx, pr)
}

// enter lets the request of pr, admitted, go as admit says. The call of a
// request let go without a probation calls it again when the endpoint was
// put on probation before the request was sent: it stops counting as on
// its way, and waits as one of the probation's requests, in the place its
// arrival gives it (before the retries of requests refused meanwhile).
func (g *governor) enter(ctx context.Context, pr *probe) (*probe, error) {
	ps := &g.probes
	ps.mu.Lock()
	ps.settle(pr)
	if ps.proven[pr.endpoint] {
		ps.mu.Unlock()
		return nil, nil
	}
	p := ps.on[pr.endpoint]
	if p == nil {
		pr.out = true
		ps.out[pr.endpoint]++
		ps.mu.Unlock()
		return pr, nil
	}
	w := &waiter{seq: pr.seq, ready: make(chan struct{})}
	i, _ := slices.BinarySearchFunc(p.queue, w.seq, func(o *waiter, seq uint64) int { return cmp.Compare(o.seq, seq) })
	p.queue = slices.Insert(p.queue, i, w)
	ps.next(pr.endpoint)
	ps.mu.Unlock()
	select {
	case <-w.ready:
	case <-ctx.Done():
		ps.mu.Lock()
		if i := slices.Index(p.queue, w); i >= 0 {
			p.queue = slices.Delete(p.queue, i, i+1)
			ps.mu.Unlock()
			return nil, ctx.Err()
		}
		ps.mu.Unlock()
		// It was let go as ctx ended: let the next one go.
	}
	return g.probeAt(ctx, pr, p)
}

// probeAt is the rest of enter for the request of pr, let go by (or
// waiting for) the probation p: it waits until p allows it.
func (g *governor) probeAt(ctx context.Context, pr *probe, p *probation) (*probe, error) {
	ps := &g.probes
	ps.mu.Lock()
	if ps.on[pr.endpoint] != p {
		// It answered successfully while this request waited.
		ps.mu.Unlock()
		return nil, nil
	}
	pr.p, pr.out = p, true
	now := g.now()
	if err := ctx.Err(); err != nil {
		ps.mu.Unlock()
		pr.free()
		return nil, err
	}
	if v := p.verdict; v != nil && now.Before(p.next) {
		ps.mu.Unlock()
		pr.free()
		out := *v
		return nil, &out
	}
	pr.at = later(now, p.next)
	ps.mu.Unlock()
	d := pr.at.Sub(now)
	if d <= 0 {
		return pr, nil
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		pr.free()
		return nil, errProbeLate
	}
	if err := g.sleep(ctx, d); err != nil {
		pr.free()
		return nil, err
	}
	return pr, nil
}

// proven records that endpoint answered a request successfully: it is not
// on probation, and will not be.
func (g *governor) proven(endpoint string) {
	g.probes.mu.Lock()
	defer g.probes.mu.Unlock()
	if g.probes.proven[endpoint] {
		return
	}
	g.probes.proven[endpoint] = true
	delete(g.probes.out, endpoint)
	if p := g.probes.on[endpoint]; p != nil {
		// Its waiting requests go without it.
		for _, w := range p.queue {
			close(w.ready)
		}
		p.queue = nil
		delete(g.probes.on, endpoint)
	}
}

// refused records that endpoint answered the request of pr (nil: one that
// went without a probation) with the rate limit ae. For an endpoint that
// has never answered successfully, the first refusal starts its probation,
// and each of its probes refused lengthens the wait, or, after probeGiveUp,
// gives the verdict, which it returns. Refusals of requests that went
// before the probation began tell nothing new.
func (g *governor) refused(endpoint string, pr *probe, ae *APIError) *APIError {
	g.probes.mu.Lock()
	defer g.probes.mu.Unlock()
	if g.probes.proven[endpoint] {
		return nil
	}
	now := g.now()
	p := g.probes.on[endpoint]
	switch {
	case p == nil:
		g.probes.on[endpoint] = &probation{since: now, next: now.Add(probeFirstWait), wait: 2 * probeFirstWait}
		return nil
	case pr == nil || pr.p != p:
		return nil
	}
	// The clock may stand still while requests go (an injected one): the
	// time a probe was let go counts, so that the probation still ends.
	at := later(now, pr.at)
	if at.Sub(p.since) < probeGiveUp {
		p.next = at.Add(p.wait)
		p.wait = min(2*p.wait, probeMaxWait)
		return nil
	}
	v := *ae
	v.Class = ClassAccount
	v.Err = ErrAlwaysRateLimited
	p.verdict = &v
	p.next = at.Add(probeMaxWait)
	out := v
	return &out
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
