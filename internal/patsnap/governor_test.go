package patsnap

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patwatch/patwatch/internal/patsnap/fake"
)

// TestGovernorSpacesTurnsForJitter: with a jitter allowance j, turns are
// (1 s + j)/qps apart, so that any qps+1 consecutive requests span more
// than a second even when each reaches the server up to j late.
func TestGovernorSpacesTurnsForJitter(t *testing.T) {
	clk := newFakeClock()
	g := newGovernor(4, 40*time.Millisecond, clk.Now, clk.Sleep)
	var turns []time.Time
	for range 9 {
		tr, err := g.wait(context.Background(), false, nil)
		if err != nil {
			t.Fatal(err)
		}
		turns = append(turns, tr.at)
	}
	for i := 4; i < len(turns); i++ {
		if span := turns[i].Sub(turns[i-4]); span != 1040*time.Millisecond {
			t.Errorf("turns %d..%d span %v, want 1.04 s", i-4, i, span)
		}
	}
}

// TestGovernorAIMD: a rate-limit answer to a request sent at the current
// rate cuts it once; answers to requests sent before the cut change
// nothing; successes bring it back to the rate of the cut quickly, then
// probe beyond it slowly, never past the configured QPS; it never falls
// below a floor.
func TestGovernorAIMD(t *testing.T) {
	clk := newFakeClock()
	g := newGovernor(10, 0, clk.Now, clk.Sleep)
	at := func(t time.Time) *turn { return &turn{at: t, sent: t} }
	before := at(clk.Now())
	clk.Advance(time.Second)
	if cut, r := g.slowDown(at(clk.Now())); !cut || r != 8 {
		t.Fatalf("first cut: %v, rate %v; want 8", cut, r)
	}
	if cut, _ := g.slowDown(before); cut {
		t.Error("an answer to a request sent before the cut cut again")
	}
	g.speedUp(before)
	if r := g.current(); r != 8 {
		t.Errorf("a success sent before the cut moved the rate to %v", r)
	}
	clk.Advance(time.Second)
	if cut, r := g.slowDown(at(clk.Now())); !cut || math.Abs(r-6.4) > 1e-9 {
		t.Fatalf("second cut: %v, rate %v; want 6.4", cut, r)
	}
	// Back towards the ceiling of 8: 1/8 of the gap per success.
	n := 0
	for g.current() < 8*nearCeiling {
		clk.Advance(100 * time.Millisecond)
		g.speedUp(at(clk.Now()))
		n++
	}
	if n < 10 || n > 30 {
		t.Errorf("%d successes to come back near the ceiling", n)
	}
	for range 1000 {
		g.speedUp(at(clk.Now()))
	}
	if r := g.current(); r != 10 {
		t.Errorf("after many successes the rate is %v, want the configured 10", r)
	}
	for range 100 {
		clk.Advance(time.Second)
		g.slowDown(at(clk.Now()))
	}
	if r := g.current(); r != 10*minRateShare {
		t.Errorf("after many cuts the rate is %v, want the floor %v", r, 10*minRateShare)
	}
}

// TestGovernorDrainsTheWindowAfterACut: a refusal after the client's own
// turns filled the window sets the ceiling to what the window held, and the
// next turn waits until the window holds fewer than the server let through: a
// gateway that counts refused requests stays full while they keep coming.
func TestGovernorDrainsTheWindowAfterACut(t *testing.T) {
	clk := newFakeClock()
	g := newGovernor(20, 0, clk.Now, clk.Sleep)
	start := clk.Now()
	var turns []*turn
	for range 11 {
		tr, err := g.wait(context.Background(), false, nil)
		if err != nil {
			t.Fatal(err)
		}
		turns = append(turns, tr)
	}
	// 11 turns 50 ms apart; the 11th is refused: 10 came in the second before.
	if cut, r := g.slowDown(turns[10]); !cut || r != 8 {
		t.Fatalf("cut %v to %v, want 8 (0.8 of the 10 the server let through)", cut, r)
	}
	next, err := g.wait(context.Background(), false, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The server let 10 through: the window may hold 9 before the next
	// request, which waits for the one of turns[1] to leave it.
	if got, want := next.at.Sub(start), turns[1].at.Sub(start)+time.Second; got != want {
		t.Errorf("next turn at %v, want %v", got, want)
	}

	// The same, with the request of turns[1] gone out 120 ms after its
	// turn (after those of turns[2] and [3]): the window is counted by when
	// the requests left, and the next turn waits for turns[2]'s to leave it.
	clk = newFakeClock()
	g = newGovernor(20, 0, clk.Now, clk.Sleep)
	start = clk.Now()
	turns = turns[:0]
	for range 11 {
		tr, err := g.wait(context.Background(), false, nil)
		if err != nil {
			t.Fatal(err)
		}
		turns = append(turns, tr)
	}
	g.sent(turns[1], turns[1].at.Add(120*time.Millisecond))
	g.slowDown(turns[10])
	if next, err = g.wait(context.Background(), false, nil); err != nil {
		t.Fatal(err)
	}
	if got, want := next.at.Sub(start), turns[2].at.Sub(start)+time.Second; got != want {
		t.Errorf("with a late request, next turn at %v, want %v", got, want)
	}
}

// TestGovernorUrgentFirst: while one caller holds the turn, urgent callers
// go before the others, each lane in arrival order.
func TestGovernorUrgentFirst(t *testing.T) {
	clk := newFakeClock()
	clk.frozen = true
	g := newGovernor(1000, 0, clk.Now, clk.Sleep)
	if err := g.acquire(context.Background(), false, nil); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var order []string
	var wg sync.WaitGroup
	enqueue := func(name string, urgent bool) {
		wg.Go(func() {
			if err := g.acquire(context.Background(), urgent, nil); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
			g.release()
		})
		waitFor(t, func() bool {
			g.mu.Lock()
			defer g.mu.Unlock()
			return len(g.urgent)+len(g.normal) == len(name)
		})
	}
	// Names grow by one letter so that the queue length tells they queued.
	enqueue("n", false)
	enqueue("nn", false)
	enqueue("uuu", true)
	enqueue("uuuu", true)
	g.release()
	wg.Wait()
	if want := []string{"uuu", "uuuu", "n", "nn"}; !slices.Equal(order, want) {
		t.Errorf("order %v, want %v", order, want)
	}
}

// TestGovernorPlaces: in the normal lane, callers that share a place (the
// pages of one search) are served at the place the first of them took,
// before callers of later places, however late they got in line.
func TestGovernorPlaces(t *testing.T) {
	clk := newFakeClock()
	clk.frozen = true
	g := newGovernor(1000, 0, clk.Now, clk.Sleep)
	var a, b place
	if err := g.acquire(context.Background(), false, &a); err != nil { // a's first page holds the turn
		t.Fatal(err)
	}
	var mu sync.Mutex
	var order []string
	var wg sync.WaitGroup
	queued := 0
	enqueue := func(name string, pl *place) {
		queued++
		wg.Go(func() {
			if err := g.acquire(context.Background(), false, pl); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
			g.release()
		})
		waitFor(t, func() bool {
			g.mu.Lock()
			defer g.mu.Unlock()
			return len(g.normal) == queued
		})
	}
	enqueue("b1", &b)
	enqueue("other", nil)
	enqueue("a2", &a)
	enqueue("b2", &b)
	enqueue("a3", &a)
	g.release()
	wg.Wait()
	if want := []string{"a2", "a3", "b1", "b2", "other"}; !slices.Equal(order, want) {
		t.Errorf("order %v, want %v", order, want)
	}
}

// TestGovernorCancelledWaiterLeavesTheQueue: a caller whose context ends
// while queued gives up its place without taking the turn from others.
func TestGovernorCancelledWaiterLeavesTheQueue(t *testing.T) {
	clk := newFakeClock()
	g := newGovernor(1000, 0, clk.Now, clk.Sleep)
	if err := g.acquire(context.Background(), false, nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- g.acquire(ctx, false, nil) }()
	waitFor(t, func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		return len(g.normal) == 1
	})
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("acquire: %v", err)
	}
	g.release()
	if err := g.acquire(context.Background(), false, nil); err != nil {
		t.Fatalf("the turn was lost: %v", err)
	}
}

// TestRateLimitSlowsTheSharedRate: a rate-limit answer from a server that
// is merely busy (the endpoint answered successfully before) is not
// followed by a backoff of the one request: the rate is cut, and the retry
// waits for a turn at the cut rate, like every other request.
func TestRateLimitSlowsTheSharedRate(t *testing.T) {
	s := newStubAPI(t)
	var n atomic.Int32
	good := pageHandler(t, func(int) []Hit { return rankedHits(5) })
	s.handle(singlePath, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) <= 2 {
			apiErr(w, 200, 67200002, "The current call rate is too fast")
			return
		}
		good(w, r)
	})
	c, clk := s.client(func(cfg *Config) { cfg.QPS = 10; cfg.MaxRetries = 1 })
	c.gov.proven(EndpointSearchSingle)
	if _, err := c.Search(context.Background(), limited(simpleSearch, 5)); err != nil {
		t.Fatalf("a search failed for rate limiting, with MaxRetries 1: %v", err)
	}
	// The token's turn comes at once; then 1/10 s, then 1/8 s at 8 QPS,
	// then 1/6.4 s.
	sec := float64(time.Second)
	want := []time.Duration{100 * time.Millisecond, time.Duration(sec / 8), time.Duration(sec / 6.4)}
	got := clk.Sleeps()
	if len(got) != len(want) {
		t.Fatalf("sleeps %v, want %v", got, want)
	}
	for i := range want {
		if d := got[i] - want[i]; d < -time.Microsecond || d > time.Microsecond {
			t.Fatalf("sleeps %v, want %v", got, want)
		}
	}
	st := c.Stats()
	if st.RateLimited != 2 || st.Retries != 2 || math.Abs(st.Rate-(6.4+(8-6.4)/8)) > 1e-9 {
		t.Errorf("stats %+v", st)
	}
}

// TestRateLimitedUntilTheDeadline: with a deadline, a call rate-limited by
// a server that is merely busy is retried for as long as it allows, far
// beyond MaxRetries; a turn that would come after the deadline is not
// waited for.
func TestRateLimitedUntilTheDeadline(t *testing.T) {
	s := newStubAPI(t)
	var n atomic.Int32
	good := pageHandler(t, func(int) []Hit { return rankedHits(5) })
	s.handle(singlePath, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) <= 2*maxRateLimited {
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		good(w, r)
	})
	c, _ := s.client(func(cfg *Config) { cfg.QPS = 50 })
	c.gov.proven(EndpointSearchSingle)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := c.Search(ctx, limited(simpleSearch, 5)); err != nil {
		t.Fatalf("search: %v", err)
	}
	if got := s.count(singlePath); got != 2*maxRateLimited+1 {
		t.Errorf("%d attempts, want %d", got, 2*maxRateLimited+1)
	}

	// At the floor rate a turn is 1/(50/32) s away: more than a short
	// deadline allows.
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	n.Store(0)
	_, err := c.Search(short, limited(simpleSearch, 5))
	mustClass(t, err, ClassRateLimit)
}

// TestTokenTakenAfterTheTurn: 24 searches at 16 QPS (1.5 s of queue) with
// tokens that live 1 s, in real time. Each request takes the token when its
// turn comes, so that none goes out with a token that expired in the queue
// (issue 10.6: the API answers 67200009 and searches fail).
func TestTokenTakenAfterTheTurn(t *testing.T) {
	api := fake.New(fake.Options{ClientID: testClientID, ClientSecret: testSecret, TokenTTL: time.Second})
	s := newStubAPI(t)
	s.srv.Config.Handler = api
	c, err := New(Config{
		BaseURL: s.srv.URL, HTTPClient: s.srv.Client(),
		ClientID: testClientID, ClientSecret: testSecret,
		QPS: 16, MaxRetries: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 24 {
		wg.Go(func() {
			req := SearchRequest{URLs: []string{fmt.Sprintf("https://img.example/%d.png", i)}, PatentType: "D", Model: 1, MaxResults: 10}
			if _, err := c.Search(context.Background(), req); err != nil {
				t.Errorf("search %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	tokens := 0
	for _, r := range api.Requests() {
		if r.Code != 0 {
			t.Errorf("%s answered %d", r.Endpoint, r.Code)
		}
		if r.Endpoint == fake.EndpointToken {
			tokens++
		}
	}
	// A token is taken for at most half its life: a few in 2 s, not one
	// per search.
	if tokens < 2 || tokens > 8 {
		t.Errorf("%d token exchanges", tokens)
	}
}
