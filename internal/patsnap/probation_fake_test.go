package patsnap_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/patwatch/patwatch/internal/patsnap"
	"github.com/patwatch/patwatch/internal/patsnap/fake"
)

// inMemory serves a client's requests with a handler in the same process,
// without a socket, so that a testing/synctest bubble's clock can run.
type inMemory struct{ h http.Handler }

func (m inMemory) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	m.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// perMinute counts requests to endpoint in each minute from start.
func perMinute(reqs []fake.Request, endpoint fake.Endpoint, start time.Time) []int {
	var out []int
	for _, r := range reqs {
		if r.Endpoint != endpoint {
			continue
		}
		m := int(r.At.Sub(start) / time.Minute)
		for len(out) <= m {
			out = append(out, 0)
		}
		out[m]++
	}
	return out
}

// TestFakeTokenEndpointAlwaysRateLimited: a token endpoint that answers
// HTTP 429 to everything (issue 25: 888 requests in 580 s, until the run's
// deadline) is asked with waits that double up to a minute, and after 5
// minutes of simulated time every search of the run fails with the same
// account-wide error; no search request is sent.
func TestFakeTokenEndpointAlwaysRateLimited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		srv := fake.New(fake.Options{ClientID: fakeID, ClientSecret: fakeSecret})
		srv.AddFault(fake.Fault{Endpoint: fake.EndpointToken, HTTPStatus: http.StatusTooManyRequests})
		c, err := patsnap.New(patsnap.Config{
			BaseURL: "https://api.example", HTTPClient: &http.Client{Transport: inMemory{srv}},
			ClientID: fakeID, ClientSecret: fakeSecret, QPS: 5,
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
		defer cancel()
		errs := make([]error, 8)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Go(func() {
				req := patsnap.SearchRequest{URLs: []string{fmt.Sprintf("https://img.example/%d.png", i)}, PatentType: "D", Model: 1, MaxResults: 10}
				_, errs[i] = c.Search(ctx, req)
			})
		}
		wg.Wait()
		took := time.Since(start)

		for i, err := range errs {
			if !patsnap.IsAccountWide(err) || !errors.Is(err, patsnap.ErrAlwaysRateLimited) {
				t.Errorf("search %d: %v; want the account-wide ErrAlwaysRateLimited", i, err)
			}
		}
		if took < 5*time.Minute || took > 6*time.Minute {
			t.Errorf("the run stopped after %v of simulated time; want 5 to 6 minutes", took)
		}
		reqs := srv.Requests()
		minutes := perMinute(reqs, fake.EndpointToken, start)
		total := 0
		for _, n := range minutes {
			total += n
		}
		// 1 + probes at 1, 3, 7, 15, 31 s; 63; 123; 183; 243; 303 s.
		if want := []int{6, 1, 1, 1, 1, 1}; fmt.Sprint(minutes) != fmt.Sprint(want) || total != 11 {
			t.Errorf("token requests per minute %v (%d in all), want %v", minutes, total, want)
		}
		if n := len(reqs) - total; n != 0 {
			t.Errorf("%d requests besides the token exchange", n)
		}
	})
}

// TestFakeSearchEndpointAlwaysRateLimited: eight searches at once against
// an endpoint that refuses everything as too fast: after the first
// refusals, its requests go one at a time, each wait twice the last up to
// a minute, until the verdict.
func TestFakeSearchEndpointAlwaysRateLimited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		srv := fake.New(fake.Options{APIKeys: []string{fakeKey}})
		srv.AddFault(fake.Fault{Endpoint: fake.EndpointSearchSingle, Code: fake.CodeQPS})
		c, err := patsnap.New(patsnap.Config{
			BaseURL: "https://api.example", HTTPClient: &http.Client{Transport: inMemory{srv}},
			APIKey: fakeKey, QPS: 5,
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
		defer cancel()
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				req := patsnap.SearchRequest{URLs: []string{fmt.Sprintf("https://img.example/%d.png", i)}, PatentType: "D", Model: 1, MaxResults: 10}
				if _, err := c.Search(ctx, req); !errors.Is(err, patsnap.ErrAlwaysRateLimited) {
					t.Errorf("search %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		minutes := perMinute(srv.Requests(), fake.EndpointSearchSingle, start)
		// The first minute: the requests that went before the first
		// refusal came back (at most one a search), and the probes at 1,
		// 3, 7, 15 and 31 s; then one a minute.
		if len(minutes) != 6 || minutes[0] > 8+5 {
			t.Fatalf("search requests per minute %v", minutes)
		}
		for m, n := range minutes[1:] {
			if n != 1 {
				t.Errorf("minute %d: %d search requests, want 1 (all: %v)", m+1, n, minutes)
			}
		}
	})
}

// TestFakeBusyServerRetriedBeyondMaxRetries: an endpoint that has answered
// successfully in this run is merely busy when it refuses: without a
// deadline, the call is retried 30 times, beyond MaxRetries, and fails as
// rate-limited, not account-wide.
func TestFakeBusyServerRetriedBeyondMaxRetries(t *testing.T) {
	e := newFakeEnv(t, fake.Options{Seed: 1}, func(c *patsnap.Config) { c.APIKey = fakeKey })
	ctx := context.Background()
	req := patsnap.SearchRequest{URLs: []string{"https://img.example/a.png"}, PatentType: "D", Model: 1, MaxResults: 10}
	if _, err := e.client.Search(ctx, req); err != nil {
		t.Fatal(err)
	}
	e.srv.AddFault(fake.Fault{Endpoint: fake.EndpointSearchSingle, Code: fake.CodeQPS})
	_, err := e.client.Search(ctx, req)
	if patsnap.ClassOf(err) != patsnap.ClassRateLimit {
		t.Fatalf("err = %v; want a rate-limit error", err)
	}
	if n := e.count(fake.EndpointSearchSingle); n != 1+30 {
		t.Errorf("%d attempts after the success, want 30", n-1)
	}
}

// TestFakeOneSearchRefusedAnotherAnswered: two searches on one endpoint
// that has not answered yet; the API refuses one's image as too fast every
// time and answers the other's. The other's request is on its way when the
// first refusal comes, and waits go at once (as in the command's tests):
// the refused search's probes must not run the probation to its verdict
// past the request still waiting for its answer. That answer proves the
// endpoint: the other search succeeds, and the refused one fails as a busy
// server's refusal, never as the account-wide ErrAlwaysRateLimited.
func TestFakeOneSearchRefusedAnotherAnswered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const refusedImage, answeredImage = "https://img.example/refused.png", "https://img.example/answered.png"
		srv := fake.New(fake.Options{APIKeys: []string{fakeKey}})
		srv.AddFault(fake.Fault{Endpoint: fake.EndpointSearchSingle, ImageURL: refusedImage, Code: fake.CodeQPS})
		// The answered search's request reaches the server first and is
		// answered only after the first refusal, once everything else in
		// the bubble waits (time.Sleep in a bubble returns only then).
		answeredArrived, firstRefusal := make(chan struct{}), make(chan struct{})
		var once sync.Once
		gate := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			if bytes.Contains(body, []byte(answeredImage)) {
				close(answeredArrived)
				<-firstRefusal
				time.Sleep(time.Millisecond)
			} else {
				once.Do(func() {
					<-answeredArrived
					close(firstRefusal)
				})
			}
			srv.ServeHTTP(w, r)
		})
		c, err := patsnap.New(patsnap.Config{
			BaseURL: "https://api.example", HTTPClient: &http.Client{Transport: inMemory{gate}},
			APIKey: fakeKey, QPS: 5,
			Sleep: func(ctx context.Context, d time.Duration) error { return ctx.Err() },
		})
		if err != nil {
			t.Fatal(err)
		}
		search := func(image string) error {
			_, err := c.Search(context.Background(), patsnap.SearchRequest{URLs: []string{image}, PatentType: "D", Model: 1, MaxResults: 10})
			return err
		}
		var refused, answered error
		var wg sync.WaitGroup
		wg.Go(func() { refused = search(refusedImage) })
		wg.Go(func() { answered = search(answeredImage) })
		wg.Wait()
		if answered != nil {
			t.Errorf("the answered search: %v", answered)
		}
		if patsnap.ClassOf(refused) != patsnap.ClassRateLimit || errors.Is(refused, patsnap.ErrAlwaysRateLimited) {
			t.Errorf("the refused search: %v; want a busy server's rate-limit error", refused)
		}
	})
}
