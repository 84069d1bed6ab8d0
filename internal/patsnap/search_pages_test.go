package patsnap

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/patwatch/patwatch/internal/patsnap/fake"
)

// fakeSearchEnv is the fake API with a mode B client on a fake clock.
func fakeSearchEnv(t *testing.T) (*fake.Server, *Client) {
	t.Helper()
	clk := newFakeClock()
	api := fake.New(fake.Options{APIKeys: []string{testAPIKey}, Now: clk.Now})
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	c, err := New(Config{BaseURL: srv.URL, HTTPClient: srv.Client(), APIKey: testAPIKey, QPS: 1000, RateJitter: -1,
		MaxRetries: 3, Now: clk.Now, Sleep: clk.Sleep, Rand: func() float64 { return 0.5 }})
	if err != nil {
		t.Fatal(err)
	}
	return api, c
}

// fakePages returns the (offset, limit) of the search requests in the fake's
// log, in offset order.
func fakePages(t *testing.T, api *fake.Server) [][2]int {
	t.Helper()
	var out [][2]int
	for _, r := range api.Requests() {
		if r.Endpoint != fake.EndpointSearchSingle {
			continue
		}
		var b struct{ Offset, Limit int }
		if err := json.Unmarshal(r.Body, &b); err != nil {
			t.Fatal(err)
		}
		out = append(out, [2]int{b.Offset, b.Limit})
	}
	slices.SortStableFunc(out, func(a, b [2]int) int { return a[0] - b[0] })
	return out
}

func fakeHits(n int) []fake.Hit {
	hits := make([]fake.Hit, n)
	for i := range hits {
		hits[i] = fake.Hit{PatentPN: fmt.Sprintf("CN%07dS", i), Score: 1 - float64(i)/2000}
	}
	return hits
}

const pagesImage = "https://img.example/pages.png"

// TestSearchAsksOnlyForWhatExists counts the pages in the fake's request
// log (issue 13.5): no page past the total, none past the last reachable
// offset, none after a page that ends the results.
func TestSearchAsksOnlyForWhatExists(t *testing.T) {
	tests := []struct {
		name   string
		total  int // < 0: the number of hits
		hits   int
		want   int
		ranked int // hits in the result
		pages  [][2]int
	}{
		{"total ends the pages", -1, 250, 1100, 250, [][2]int{{0, 100}, {100, 100}, {200, 50}}},
		{"total on a page boundary", -1, 300, 1100, 300, [][2]int{{0, 100}, {100, 100}, {200, 100}}},
		{"total below the hits served", 150, 300, 1100, 150, [][2]int{{0, 100}, {100, 50}}},
		{"fewer than one page", -1, 7, 1100, 7, [][2]int{{0, 100}}},
		{"no result", -1, 0, 1100, 0, [][2]int{{0, 100}}},
		{"more than reachable", 5000, 2000, 5000, MaxReachable, [][2]int{{0, 100}, {100, 100}, {200, 100}, {300, 100},
			{400, 100}, {500, 100}, {600, 100}, {700, 100}, {800, 100}, {900, 100}, {1000, 100}}},
		{"max results within a page", -1, 500, 30, 30, [][2]int{{0, 30}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api, c := fakeSearchEnv(t)
			api.SetResults(pagesImage, tt.total, fakeHits(tt.hits)...)
			res, err := c.Search(context.Background(), SearchRequest{URLs: []string{pagesImage}, PatentType: "D", Model: 1, MaxResults: tt.want})
			if err != nil {
				t.Fatal(err)
			}
			if got := fakePages(t, api); !slices.Equal(got, tt.pages) {
				t.Errorf("pages %v, want %v", got, tt.pages)
			}
			if len(res.Hits) != tt.ranked || res.Calls != len(tt.pages) {
				t.Errorf("%d hits in %d calls", len(res.Hits), res.Calls)
			}
		})
	}
}

// TestSearchInconsistentPages: answers that contradict themselves fail the
// search (after the retries), never making a result of what they hold;
// one that contradicts itself once is asked again (issue 10.2).
func TestSearchInconsistentPages(t *testing.T) {
	tests := []struct {
		name  string
		fault fake.Fault
		ok    bool
	}{
		{"status true, no hits, total 1000", fake.Fault{EmptyPage: true, Total: 1000}, false},
		{"empty page 2 of 3", fake.Fault{FromOffset: 100, EmptyPage: true}, false},
		{"short page 2 of 3", fake.Fault{FromOffset: 100, MaxHits: 30}, false},
		{"short page 1: the end of the results", fake.Fault{MaxHits: 30}, true},
		{"total collapses on page 3", fake.Fault{FromOffset: 200, Total: 20}, false},
		{"empty page 2 once", fake.Fault{FromOffset: 100, EmptyPage: true, Times: 1}, true},
		{"a total that shrinks a little", fake.Fault{FromOffset: 200, Total: 280}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api, c := fakeSearchEnv(t)
			api.SetResults(pagesImage, -1, fakeHits(300)...)
			tt.fault.Endpoint = fake.EndpointSearchSingle
			api.AddFault(tt.fault)
			res, err := c.Search(context.Background(), SearchRequest{URLs: []string{pagesImage}, PatentType: "D", Model: 1, MaxResults: 300})
			if tt.ok {
				if err != nil || len(res.Hits) < min(280, max(30, tt.fault.MaxHits)) {
					t.Fatalf("result %v, err %v", res, err)
				}
				return
			}
			if res != nil {
				t.Fatalf("a result of %d hits from an inconsistent answer", len(res.Hits))
			}
			mustClass(t, err, ClassInconsistent)
		})
	}

}

// TestCheckPage states the consistency rule page by page.
func TestCheckPage(t *testing.T) {
	tests := []struct {
		offset, limit, n, total int
		hasTotal                bool
		first                   int
		ok                      bool
	}{
		{0, 100, 100, 5000, true, 0, true},
		{0, 100, 0, 0, true, 0, true},         // no result
		{0, 100, 7, 7, true, 0, true},         // fewer than a page
		{0, 100, 0, 1000, true, 0, false},     // status true, no hits, total 1000
		{0, 100, 60, 900, true, 0, true},      // a short first page ends the results
		{100, 100, 60, 900, true, 900, false}, // page 2 short while the total says more
		{100, 100, 0, 300, true, 300, false},  // empty page 2 of 3
		{200, 50, 50, 250, true, 250, true},
		{200, 100, 30, 230, true, 250, true},    // the total shrank a little, the page agrees
		{200, 100, 100, 100, true, 1000, false}, // the total collapsed
		{0, 100, 3, 0, false, 0, true},          // no total: nothing to contradict
	}
	for _, tt := range tests {
		err := checkPage(EndpointSearchSingle, tt.offset, tt.limit, tt.n, tt.total, tt.hasTotal, tt.first)
		if (err == nil) != tt.ok {
			t.Errorf("%+v: err = %v", tt, err)
		}
		if err != nil && ClassOf(err) != ClassInconsistent {
			t.Errorf("%+v: class %v", tt, ClassOf(err))
		}
	}
}

// TestSearchPagesInFlight: once page 1 has answered, the other ten pages
// of an eleven-page search are asked for at once. The stub holds every page
// after the first until all ten are in flight; read one by one, they never
// would be.
func TestSearchPagesInFlight(t *testing.T) {
	s := newStubAPI(t)
	corpus := rankedHits(2000)
	serve := pageHandler(t, func(int) []Hit { return corpus })
	var mu sync.Mutex
	waiting := 0
	all := make(chan struct{})
	s.handle(singlePath, func(w http.ResponseWriter, r *http.Request) {
		body, _ := readAllBody(r)
		if !bytes.Contains(body, []byte(`"offset":0,`)) {
			mu.Lock()
			waiting++
			if waiting == 10 {
				close(all)
			}
			mu.Unlock()
			select {
			case <-all:
			case <-time.After(10 * time.Second):
				t.Error("the pages after the first were not in flight together")
			}
		}
		serve(w, r)
	})
	c, _ := s.client(nil)
	res, err := c.Search(context.Background(), limited(simpleSearch, MaxReachable))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Hits) != MaxReachable || res.Calls != 11 {
		t.Fatalf("%d hits in %d calls", len(res.Hits), res.Calls)
	}
	for i, h := range res.Hits {
		if h != corpus[i] {
			t.Fatalf("hit %d = %s, want %s", i, h.PatentPN, corpus[i].PatentPN)
		}
	}
}

// TestSearchPagesInFlightFailure: one failed page among those in flight
// fails the search with its own error and cancels the others.
func TestSearchPagesInFlightFailure(t *testing.T) {
	s := newStubAPI(t)
	serve := pageHandler(t, func(int) []Hit { return rankedHits(2000) })
	s.handle(singlePath, func(w http.ResponseWriter, r *http.Request) {
		body, _ := readAllBody(r)
		switch {
		case bytes.Contains(body, []byte(`"offset":500,`)):
			apiErr(w, 200, 68300004, "Invalid parameter!")
		case bytes.Contains(body, []byte(`"offset":0,`)):
			serve(w, r)
		default:
			select { // the others stay unanswered until cancelled
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
				t.Error("a page in flight was not cancelled")
			}
		}
	})
	c, _ := s.client(nil)
	res, err := c.Search(context.Background(), limited(simpleSearch, MaxReachable))
	if res != nil {
		t.Fatalf("result %+v", res)
	}
	mustClass(t, err, ClassInvalid)
}

// TestSearchMinScoreAhead: with min_score, pages are fetched ahead only as
// far as the scores project, and never past the page where they fall below
// it. Linear scores project exactly; scores that fall fastest at the top
// (as similarity scores do) make it fetch fewer pages at a time, not more.
func TestSearchMinScoreAhead(t *testing.T) {
	tests := []struct {
		name   string
		score  func(i int) float64
		cutoff int // the first rank scoring below min
		ahead  int // pages asked for together after page 1; 0: not checked
	}{
		{"linear", func(i int) float64 { return 1 - float64(i)/2000 }, 550, 5},
		{"convex", func(i int) float64 { return 0.2 + 0.8*math.Pow(1-float64(i)/1100, 3) }, 720, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			corpus := make([]Hit, 1100)
			for i := range corpus {
				corpus[i] = Hit{PatentPN: fmt.Sprintf("P%05d", i), Score: tt.score(i)}
			}
			minScore := (tt.score(tt.cutoff-1) + tt.score(tt.cutoff)) / 2
			s := newStubAPI(t)
			serve := pageHandler(t, func(int) []Hit { return corpus })
			var mu sync.Mutex
			arrived := 0
			together := make(chan struct{})
			s.handle(singlePath, func(w http.ResponseWriter, r *http.Request) {
				body, _ := readAllBody(r)
				if tt.ahead > 0 && !bytes.Contains(body, []byte(`"offset":0,`)) {
					mu.Lock()
					arrived++
					if arrived == tt.ahead {
						close(together)
					}
					mu.Unlock()
					select {
					case <-together:
					case <-time.After(10 * time.Second):
						t.Errorf("the %d pages the scores justify were not in flight together", tt.ahead)
					}
				}
				serve(w, r)
			})
			c, _ := s.client(nil)
			req := limited(simpleSearch, MaxReachable)
			req.MinScore = minScore
			res, err := c.Search(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Hits) != tt.cutoff {
				t.Errorf("%d hits, want the %d scoring at least %v", len(res.Hits), tt.cutoff, minScore)
			}
			lastNeeded := tt.cutoff / MaxPageSize // the page holding the cutoff
			for _, p := range searchCalls(t, s.requests(singlePath)) {
				if p[0] > lastNeeded*MaxPageSize {
					t.Errorf("page at offset %d asked for; the scores fall below min_score on the page at %d", p[0], lastNeeded*MaxPageSize)
				}
			}
			if res.Calls != lastNeeded+1 {
				t.Errorf("%d calls, want %d", res.Calls, lastNeeded+1)
			}
		})
	}
}

// readAllBody reads r's body and puts it back for the next reader.
func readAllBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(b))
	return b, err
}
