package patsnap

import (
	"context"
	"errors"
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
// requests go one at a time, the first probeFirstWait after the refusal
// and each after twice the wait before it, up to probeMaxWait (one request
// a minute). Its first success ends the probation for the client's life.
// Once it has refused requests for probeGiveUp without a single success,
// its calls fail with an account-wide error matching ErrAlwaysRateLimited,
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
// has answered successfully, and the probation of those that have not
// and were refused.
type probations struct {
	mu     sync.Mutex
	proven map[string]bool
	on     map[string]*probation
}

// probation is the record of one endpoint on probation.
type probation struct {
	since time.Time     // its first rate-limit answer
	next  time.Time     // when its next request may go
	wait  time.Duration // the wait after the next refusal
	// slot holds a value while one of its requests is let go and not yet
	// settled: requests go one at a time.
	slot    chan struct{}
	verdict *APIError // set once it refused for probeGiveUp
}

// probe is a request an endpoint's probation let go: it holds the slot
// until freed, and at is when its probation allowed it to go.
type probe struct {
	p  *probation
	at time.Time
}

// free gives up pr's slot; it may be called more than once, and on nil.
func (pr *probe) free() {
	if pr != nil && pr.p != nil {
		<-pr.p.slot
		pr.p = nil
	}
}

// onProbation returns the probation of endpoint, or nil.
func (g *governor) onProbation(endpoint string) *probation {
	g.probes.mu.Lock()
	defer g.probes.mu.Unlock()
	return g.probes.on[endpoint]
}

// admit lets a request to endpoint go: at once (a nil probe) when the
// endpoint is not on probation, else when its probation allows, as its one
// request in flight (the probe, to be freed once settled). It fails with
// the probation's verdict while that stands, with errProbeLate when the
// wait would outlast ctx's deadline, and when ctx ends.
func (g *governor) admit(ctx context.Context, endpoint string) (*probe, error) {
	p := g.onProbation(endpoint)
	if p == nil {
		return nil, nil
	}
	select {
	case p.slot <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	pr := &probe{p: p}
	g.probes.mu.Lock()
	now := g.now()
	if g.probes.on[endpoint] != p {
		// It answered successfully while this request waited.
		g.probes.mu.Unlock()
		pr.free()
		return nil, nil
	}
	if v := p.verdict; v != nil && now.Before(p.next) {
		g.probes.mu.Unlock()
		pr.free()
		out := *v
		return nil, &out
	}
	pr.at = later(now, p.next)
	g.probes.mu.Unlock()
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
	if !g.probes.proven[endpoint] {
		g.probes.proven[endpoint] = true
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
		g.probes.on[endpoint] = &probation{since: now, next: now.Add(probeFirstWait), wait: 2 * probeFirstWait, slot: make(chan struct{}, 1)}
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
