package patsnap

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// neverAnsweredAttempts is how many requests a call sends to an endpoint
// that refuses every one as too fast and never answered: the first, then
// probes 1, 3, 7, 15, 31, 63, 123, 183 and 243 s after it, and the one at
// 303 s, past probeGiveUp, whose refusal gives the verdict.
const neverAnsweredAttempts = 11

// timedHandler records the time of each request on clk and answers with
// write.
type timedHandler struct {
	clk   *fakeClock
	mu    sync.Mutex
	at    []time.Time
	write func(w http.ResponseWriter, r *http.Request)
}

func (h *timedHandler) serve(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.at = append(h.at, h.clk.Now())
	write := h.write
	h.mu.Unlock()
	write(w, r)
}

func (h *timedHandler) set(write func(w http.ResponseWriter, r *http.Request)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.write = write
}

// times returns the request times and forgets them.
func (h *timedHandler) times() []time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.at
	h.at = nil
	return out
}

// TestProbationOfAnEndpointThatNeverAnswered: an endpoint that answers
// every request as too fast and never once successfully is tried with waits
// that double up to a minute, and after 5 minutes the call fails with an
// account-wide error that says what to check. While that verdict stands,
// calls fail without a request; then one request tries again; a success
// ends the probation for good.
func TestProbationOfAnEndpointThatNeverAnswered(t *testing.T) {
	s := newStubAPI(t)
	c, clk := s.client(nil)
	h := &timedHandler{clk: clk, write: errAnswer(200, 67200002)}
	s.handle(singlePath, h.serve)

	_, err := c.Search(context.Background(), limited(simpleSearch, 10))
	mustClass(t, err, ClassAccount)
	if !errors.Is(err, ErrAlwaysRateLimited) || !strings.Contains(Hint(err), "QPS") {
		t.Errorf("error %v, hint %q; want ErrAlwaysRateLimited and what to check", err, Hint(err))
	}
	at := h.times()
	if len(at) != neverAnsweredAttempts {
		t.Fatalf("%d requests, want %d", len(at), neverAnsweredAttempts)
	}
	// The governor's own turns (a few ms at 1000 QPS, less after its cuts)
	// come on top of each wait.
	wants := []time.Duration{1, 2, 4, 8, 16, 32, 60, 60, 60, 60}
	for i, want := range wants {
		gap := at[i+1].Sub(at[i])
		if gap < want*time.Second || gap > want*time.Second+100*time.Millisecond {
			t.Errorf("request %d came %v after the one before; want %v s", i+1, gap, want)
		}
	}

	// The verdict stands for a minute: no request.
	clk.Advance(30 * time.Second)
	if _, err := c.Search(context.Background(), limited(simpleSearch, 10)); !errors.Is(err, ErrAlwaysRateLimited) {
		t.Errorf("while the verdict stands: %v", err)
	}
	if n := len(h.times()); n != 0 {
		t.Errorf("%d requests while the verdict stands", n)
	}
	// A minute after it: one request, refused, and the verdict again.
	clk.Advance(30 * time.Second)
	if _, err := c.Search(context.Background(), limited(simpleSearch, 10)); !errors.Is(err, ErrAlwaysRateLimited) {
		t.Errorf("a minute after the verdict: %v", err)
	}
	if n := len(h.times()); n != 1 {
		t.Errorf("%d requests a minute after the verdict, want 1", n)
	}

	// The account is fixed: a minute on, a search succeeds; a later
	// refusal is a busy server's, retried at once through the governor.
	clk.Advance(time.Minute)
	good := pageHandler(t, func(int) []Hit { return rankedHits(5) })
	h.set(good)
	if _, err := c.Search(context.Background(), limited(simpleSearch, 5)); err != nil {
		t.Fatalf("after the account was fixed: %v", err)
	}
	var n atomic.Int32
	h.set(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			errAnswer(200, 67200002)(w, r)
			return
		}
		good(w, r)
	})
	h.times()
	if _, err := c.Search(context.Background(), limited(simpleSearch, 5)); err != nil {
		t.Fatalf("a busy server's refusal: %v", err)
	}
	if at := h.times(); len(at) != 2 || at[1].Sub(at[0]) >= probeFirstWait {
		t.Errorf("requests at %v; want a retry at the governor's pace", at)
	}
}

// TestProbationRefusalsBeforeItBeganTellNothing: requests that went before
// the endpoint's probation began are refused without lengthening its wait,
// and the ones that wait for it go one at a time.
func TestProbationRefusalsBeforeItBeganTellNothing(t *testing.T) {
	clk := newFakeClock()
	g := newGovernor(1000, 0, clk.Now, clk.Sleep)
	ae := &APIError{Endpoint: EndpointSearchSingle, Code: 67200002, Class: ClassRateLimit}
	for range 5 {
		if v := g.refused(EndpointSearchSingle, nil, ae); v != nil {
			t.Fatalf("verdict %v", v)
		}
	}
	start := clk.Now()
	pr, err := g.admit(context.Background(), EndpointSearchSingle)
	if err != nil || pr == nil {
		t.Fatalf("admit: %v %v", pr, err)
	}
	if waited := clk.Now().Sub(start); waited != probeFirstWait {
		t.Errorf("the first probe waited %v, want %v", waited, probeFirstWait)
	}
	// A second caller waits for the first probe's slot, until it gives up.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := g.admit(ctx, EndpointSearchSingle); !errors.Is(err, context.Canceled) {
		t.Errorf("a second probe while one is in flight: %v", err)
	}
	g.refused(EndpointSearchSingle, pr, ae)
	pr.free()
	pr, err = g.admit(context.Background(), EndpointSearchSingle)
	if err != nil || pr == nil {
		t.Fatalf("admit: %v %v", pr, err)
	}
	if waited := clk.Now().Sub(start); waited != probeFirstWait+2*probeFirstWait {
		t.Errorf("the second probe went %v after the first, want %v", waited-probeFirstWait, 2*probeFirstWait)
	}
	g.proven(EndpointSearchSingle)
	pr.free()
	if pr, err := g.admit(context.Background(), EndpointSearchSingle); pr != nil || err != nil {
		t.Errorf("after a success: %v %v; want no probation", pr, err)
	}
}

// TestProbationWaitPastTheDeadline: a probe that would go after the
// caller's deadline is not waited for; the call fails as rate-limited.
func TestProbationWaitPastTheDeadline(t *testing.T) {
	s := newStubAPI(t)
	s.handle(singlePath, errAnswer(200, 67200002))
	c, _ := s.client(nil)
	// The deadline is less than the first probe's wait of 1 s, and never
	// passes, however long the test takes.
	ctx := deadlineOnly{context.Background(), time.Now().Add(500 * time.Millisecond)}
	_, err := c.Search(ctx, limited(simpleSearch, 10))
	mustClass(t, err, ClassRateLimit)
	if n := s.count(singlePath); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

// deadlineOnly is a context with a deadline that never ends it.
type deadlineOnly struct {
	context.Context
	dl time.Time
}

func (d deadlineOnly) Deadline() (time.Time, bool) { return d.dl, true }

// TestProbationLetsEarlierRequestsGoFirst: when an endpoint is put on
// probation, no probe goes while a request let go before is on its way,
// and a request let go before the refusal but sent only after it goes
// before the refused request's retry, which came later; its success ends
// the probation for the retry.
func TestProbationLetsEarlierRequestsGoFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGovernor(1000, 0, time.Now, sleepCtx)
		ctx := context.Background()
		ae := &APIError{Endpoint: EndpointSearchSingle, Code: 67200002, Class: ClassRateLimit}
		admit := func() *probe {
			pr, err := g.admit(ctx, EndpointSearchSingle)
			if err != nil || pr == nil || pr.p != nil {
				t.Fatalf("admit: %+v %v; want a request without probation", pr, err)
			}
			return pr
		}
		onItsWay, notYetSent, refused := admit(), admit(), admit()
		start := time.Now()
		if v := g.refused(EndpointSearchSingle, refused, ae); v != nil {
			t.Fatalf("verdict %v", v)
		}
		refused.free()

		// The retry, then the request not yet sent, wait for the one on
		// its way.
		type admitted struct {
			pr  *probe
			err error
		}
		retried, sent := make(chan admitted, 1), make(chan admitted, 1)
		go func() {
			pr, err := g.admit(ctx, EndpointSearchSingle)
			retried <- admitted{pr, err}
		}()
		synctest.Wait()
		go func() {
			pr, err := g.enter(ctx, notYetSent)
			sent <- admitted{pr, err}
		}()
		synctest.Wait()
		if len(retried)+len(sent) != 0 {
			t.Fatal("a request went while one let go before the refusal was on its way")
		}
		// That one is refused too: the request let go before the refusal
		// goes first, as a probe, when the probation allows.
		g.refused(EndpointSearchSingle, onItsWay, ae)
		onItsWay.free()
		first := <-sent
		if first.err != nil || first.pr == nil || first.pr.p == nil {
			t.Fatalf("the request let go before the refusal: %+v; want a probe", first)
		}
		if went := first.pr.at.Sub(start); went != probeFirstWait {
			t.Errorf("it went %v after the refusal, want %v", went, probeFirstWait)
		}
		synctest.Wait()
		if len(retried) != 0 {
			t.Fatal("the retry went while the probe was on its way")
		}
		// The probe succeeds: the retry goes at once, without a probation.
		g.proven(EndpointSearchSingle)
		first.pr.free()
		if r := <-retried; r.pr != nil || r.err != nil {
			t.Errorf("the retry after a success: %+v; want no probation", r)
		}
	})
}
