package patsnap

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestErrorClasses drives one search against an answer that always fails
// in one way and checks the class, the number of attempts and the backoff.
func TestErrorClasses(t *testing.T) {
	const retries = 3
	tests := []struct {
		name     string
		write    func(w http.ResponseWriter, r *http.Request)
		class    Class
		code     int
		attempts int
		backoff  []time.Duration // with Rand = 0.5: 3/4 of base·2^(n-1)
	}{
		{"68300008 service error", errAnswer(200, 68300008), ClassRetryable, 68300008, 1 + retries,
			[]time.Duration{375 * time.Millisecond, 750 * time.Millisecond, 1500 * time.Millisecond}},
		{"67200100 busy", errAnswer(200, 67200100), ClassRetryable, 67200100, 1 + retries, nil},
		{"HTTP 500 empty", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }, ClassRetryable, 0, 1 + retries, nil},
		{"HTTP 502 html", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(502)
			fmt.Fprint(w, "<html>bad gateway</html>")
		}, ClassRetryable, 0, 1 + retries, nil},
		{"HTTP 503 with envelope", errAnswer(503, 67200100), ClassRetryable, 67200100, 1 + retries, nil},
		// Rate limits from a server that is merely busy (the endpoint has
		// answered successfully before) are retried beyond MaxRetries,
		// without a backoff of their own (TestRateLimitSlowsTheSharedRate):
		// with no deadline, maxRateLimited times. From an endpoint that
		// never answered, they end in an account-wide error
		// (TestProbationOfAnEndpointThatNeverAnswered).
		{"67200002 too fast", errAnswer(200, 67200002), ClassRateLimit, 67200002, maxRateLimited, nil},
		{"HTTP 429", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(429) }, ClassRateLimit, 0, maxRateLimited, nil},
		{"HTTP 429 with error_code 429", errAnswer(429, 429), ClassRateLimit, 429, maxRateLimited, nil},
		{"HTTP 429 html", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(429)
			fmt.Fprint(w, "<html><title>429 Too Many Requests</title></html>")
		}, ClassRateLimit, 0, maxRateLimited, nil},
		{"error_code 429 in 200", errAnswer(200, 429), ClassRateLimit, 429, maxRateLimited, nil},
		{"67200002 from an endpoint that never answered", errAnswer(200, 67200002), ClassAccount, 67200002, neverAnsweredAttempts, nil},
		{"cut connection", func(w http.ResponseWriter, r *http.Request) { cutConnection(w) }, ClassRetryable, 0, 1 + retries, nil},
		{"truncated body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "200")
			fmt.Fprint(w, `{"data":{"patent_messages":[`)
		}, ClassRetryable, 0, 1 + retries, nil},
		{"malformed JSON", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"data":{"patent_messages":[}`) }, ClassRetryable, 0, 1 + retries, nil},
		{"67200000 platform limit", errAnswer(200, 67200000), ClassAccount, 67200000, 1, nil},
		{"67200001 platform limit", errAnswer(200, 67200001), ClassAccount, 67200001, 1, nil},
		{"67200005 balance", errAnswer(200, 67200005), ClassAccount, 67200005, 1, nil},
		{"67200007 daily limit", errAnswer(200, 67200007), ClassAccount, 67200007, 1, nil},
		{"67200004 permission", errAnswer(200, 67200004), ClassAuth, 67200004, 1, nil},
		{"67200006 client expired", errAnswer(200, 67200006), ClassAccount, 67200006, 1, nil},
		{"67200008 apikey missing", errAnswer(200, 67200008), ClassAuth, 67200008, 1, nil},
		{"HTTP 403", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(403) }, ClassAuth, 0, 1, nil},
		{"68300004 invalid parameter", errAnswer(200, 68300004), ClassInvalid, 68300004, 1, nil},
		{"68300007 bad request", errAnswer(200, 68300007), ClassInvalid, 68300007, 1, nil},
		{"68300010 file", errAnswer(200, 68300010), ClassInvalid, 68300010, 1, nil},
		{"67200012 illegal", errAnswer(200, 67200012), ClassInvalid, 67200012, 1, nil},
		{"67200101 unknown path", errAnswer(200, 67200101), ClassInvalid, 67200101, 1, nil},
		{"HTTP 400 with envelope", errAnswer(400, 68300004), ClassInvalid, 68300004, 1, nil},
		{"68300013 not found", errAnswer(200, 68300013), ClassNotFound, 68300013, 1, nil},
		{"HTTP 404", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404) }, ClassNotFound, 0, 1, nil},
		{"68300005 search failure", errAnswer(200, 68300005), ClassPermanent, 68300005, 1, nil},
		{"unknown code", errAnswer(200, 12345), ClassPermanent, 12345, 1, nil},
		{"status false without code", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"status":false}`) }, ClassPermanent, 0, 1, nil},
		{"not an envelope", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{}`) }, ClassPermanent, 0, 1, nil},
		{"wrong shape", func(w http.ResponseWriter, r *http.Request) { okData(w, `{"patent_messages":"none"}`) }, ClassPermanent, 0, 1, nil},
		{"no data", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"status":true,"error_code":0}`) }, ClassPermanent, 0, 1, nil},
		{"oversized", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `{"data":{"patent_messages":[],"pad":"`)
			pad := make([]byte, 64<<10)
			for i := range pad {
				pad[i] = 'x'
			}
			for range maxJSONBody/len(pad) + 1 {
				w.Write(pad)
			}
			fmt.Fprint(w, `"},"status":true,"error_code":0}`)
		}, ClassPermanent, 0, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStubAPI(t)
			s.handle(singlePath, tt.write)
			c, clk := s.client(nil)
			if tt.class == ClassRateLimit {
				c.gov.proven(EndpointSearchSingle)
			}
			_, err := c.Search(context.Background(), limited(simpleSearch, 10))
			mustClass(t, err, tt.class)
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("%v is not an *APIError", err)
			}
			if ae.Code != tt.code || ae.Endpoint != EndpointSearchSingle {
				t.Errorf("endpoint %q code %d, want %q %d", ae.Endpoint, ae.Code, EndpointSearchSingle, tt.code)
			}
			if n := s.count(singlePath); n != tt.attempts {
				t.Errorf("%d attempts, want %d", n, tt.attempts)
			}
			if got := c.Stats(); got.Retries != tt.attempts-1 || got.Requests[EndpointSearchSingle] != tt.attempts {
				t.Errorf("stats %+v, want %d retries", got, tt.attempts-1)
			}
			if tt.backoff != nil {
				// Sleeps hold the backoffs; limiter waits are 1 ms at 1000 QPS.
				var backoffs []time.Duration
				for _, d := range clk.Sleeps() {
					if d > 10*time.Millisecond {
						backoffs = append(backoffs, d)
					}
				}
				if !slices.Equal(backoffs, tt.backoff) {
					t.Errorf("backoffs %v, want %v", backoffs, tt.backoff)
				}
			}
		})
	}
}

func errAnswer(httpStatus, code int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { apiErr(w, httpStatus, code, "failure") }
}

func TestRetryThenSuccess(t *testing.T) {
	s := newStubAPI(t)
	var mu sync.Mutex
	n := 0
	s.handle(singlePath, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		k := n
		mu.Unlock()
		switch k {
		case 1:
			apiErr(w, 200, 68300008, "service error")
		case 2:
			cutConnection(w)
		default:
			okData(w, `{"patent_messages":[{"patent_pn":"A","score":0.9}],"total_search_result_count":1}`)
		}
	})
	c, _ := s.client(nil)
	res, err := c.Search(context.Background(), limited(simpleSearch, 10))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Hits) != 1 || res.Calls != 1 || res.Total != 1 {
		t.Fatalf("result %+v", res)
	}
	if got := c.Stats(); got.Retries != 2 || got.Requests[EndpointSearchSingle] != 3 {
		t.Errorf("stats %+v", got)
	}
}

// TestAttemptTimeout: an attempt that gets no answer within AttemptTimeout
// is abandoned and retried; the handler blocks until the client gives up.
func TestAttemptTimeout(t *testing.T) {
	s := newStubAPI(t)
	s.handle(singlePath, func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	// Attempts are counted as the client sends them, not as the server
	// sees them: under load an attempt can time out before it arrives.
	var sent atomic.Int32
	c, _ := s.client(func(cfg *Config) {
		cfg.AttemptTimeout = 250 * time.Millisecond
		cfg.MaxRetries = 1
		base := cfg.HTTPClient.Transport
		cfg.HTTPClient = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if r.URL.Path == singlePath {
				sent.Add(1)
			}
			return base.RoundTrip(r)
		})}
	})
	_, err := c.Search(context.Background(), limited(simpleSearch, 10))
	mustClass(t, err, ClassRetryable)
	if n := sent.Load(); n != 2 {
		t.Errorf("%d attempts, want 2", n)
	}
}

// roundTripFunc is an http.RoundTripper made of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestContextEndsRetries: a caller that gives up during a backoff stops the
// call; the error is the context's.
func TestContextEndsRetries(t *testing.T) {
	s := newStubAPI(t)
	s.handle(singlePath, errAnswer(200, 68300008))
	ctx, cancel := context.WithCancel(context.Background())
	c, _ := s.client(func(cfg *Config) {
		cfg.Sleep = func(ctx context.Context, d time.Duration) error {
			if d > 10*time.Millisecond { // a backoff, not a limiter wait
				cancel()
			}
			return ctx.Err()
		}
	})
	_, err := c.Search(ctx, limited(simpleSearch, 10))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	mustClass(t, err, ClassPermanent)
	if n := s.count(singlePath); n != 1 {
		t.Errorf("%d attempts, want 1", n)
	}
}

func TestNoRetriesWhenDisabled(t *testing.T) {
	s := newStubAPI(t)
	s.handle(singlePath, errAnswer(200, 68300008))
	c, _ := s.client(func(cfg *Config) { cfg.MaxRetries = -1 })
	_, err := c.Search(context.Background(), limited(simpleSearch, 10))
	mustClass(t, err, ClassRetryable)
	if n := s.count(singlePath); n != 1 {
		t.Errorf("%d attempts, want 1", n)
	}
}

// TestRateCapSequential counts the waits the limiter asks for: N calls at
// QPS q take (N-1)/q of (fake) time, the token exchange included.
func TestRateCapSequential(t *testing.T) {
	s := newStubAPI(t)
	s.handle(statusPath, func(w http.ResponseWriter, r *http.Request) { okData(w, `{"job_status":0}`) })
	c, clk := s.client(func(cfg *Config) { cfg.QPS = 4 })
	start := clk.Now()
	for range 9 {
		if _, err := c.ReportStatus(context.Background(), "1"); err != nil {
			t.Fatal(err)
		}
	}
	// 1 token + 9 status requests: 9 waits of 250 ms.
	sleeps := clk.Sleeps()
	if len(sleeps) != 9 {
		t.Fatalf("sleeps %v, want 9", sleeps)
	}
	for _, d := range sleeps {
		if d != 250*time.Millisecond {
			t.Fatalf("sleeps %v, want 250 ms each", sleeps)
		}
	}
	if got := clk.Now().Sub(start); got != 9*250*time.Millisecond {
		t.Errorf("elapsed %v, want 2.25 s", got)
	}
}

// TestRateCapShared: concurrent callers share one limiter. With the clock
// frozen every reservation is made at the same instant, so the waits are
// exactly 0, 1/q, 2/q, … in some order, retries included.
func TestRateCapShared(t *testing.T) {
	const callers = 12
	s := newStubAPI(t)
	var mu sync.Mutex
	failed := map[string]bool{}
	s.handle(statusPath, func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("job_id")
		mu.Lock()
		first := !failed[id]
		failed[id] = true
		mu.Unlock()
		if first && id == "3" {
			apiErr(w, 200, 68300008, "service error") // one retry
			return
		}
		okData(w, `{"job_status":0}`)
	})
	c, clk := s.client(func(cfg *Config) { cfg.QPS = 10 })
	clk.frozen = true
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			if _, err := c.ReportStatus(context.Background(), fmt.Sprint(i)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	// 1 token + 12 calls + 1 retry = 14 grants; the first needs no wait.
	var waits []time.Duration
	for _, d := range clk.Sleeps() {
		if d%(100*time.Millisecond) == 0 {
			waits = append(waits, d)
		}
	}
	slices.Sort(waits)
	var want []time.Duration
	for i := 1; i < 14; i++ {
		want = append(want, time.Duration(i)*100*time.Millisecond)
	}
	if !slices.Equal(waits, want) {
		t.Fatalf("limiter waits %v, want %v", waits, want)
	}
	if got := c.Stats(); got.Requests[EndpointReportStatus] != 13 || got.Requests[EndpointToken] != 1 {
		t.Errorf("stats %+v", got)
	}
}

// TestAccountWideErrors: errors about the account rather than the call are
// ClassAccount, IsAccountWide, not retried, and carry a hint that says what
// to check; per-call refusals are not account-wide.
func TestAccountWideErrors(t *testing.T) {
	tests := []struct {
		name    string
		apiKey  bool
		write   http.HandlerFunc
		account bool
		hint    string // a word the hint must hold
	}{
		{"67200005 balance", false, errAnswer(200, 67200005), true, "balance"},
		{"67200006 expired client", false, errAnswer(200, 67200006), true, "validity"},
		{"67200007 daily limit", false, errAnswer(200, 67200007), true, "daily"},
		{"67200001 total limit", false, errAnswer(200, 67200001), true, "total"},
		{"refused after a fresh token", false, errAnswer(200, 67200009), true, "credentials"},
		{"HTTP 401 after a fresh token", false, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(401) }, true, "credentials"},
		{"API key refused", true, errAnswer(200, 67200003), true, "API key"},
		{"67200004 no permission for this API", false, errAnswer(200, 67200004), false, ""},
		{"68300004 invalid parameter", false, errAnswer(200, 68300004), false, ""},
		{"67200002 too fast", false, errAnswer(200, 67200002), false, ""},
	}
	// The one rate limit that is account-wide, from an endpoint that never
	// answered, is TestProbationOfAnEndpointThatNeverAnswered's: here the
	// server is merely busy.
	busy := func(c *Client) { c.gov.proven(EndpointReportStatus) }
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStubAPI(t)
			s.handle(statusPath, tt.write)
			c, _ := s.client(func(cfg *Config) {
				if tt.apiKey {
					cfg.ClientID, cfg.ClientSecret, cfg.APIKey = "", "", testAPIKey
				}
			})
			busy(c)
			_, err := c.ReportStatus(context.Background(), "1")
			if err == nil {
				t.Fatal("no error")
			}
			if got := IsAccountWide(err); got != tt.account {
				t.Fatalf("IsAccountWide(%v) = %v", err, got)
			}
			hint := Hint(fmt.Errorf("report r: %w", err))
			if !tt.account {
				if hint != "" {
					t.Errorf("hint %q for a per-call error", hint)
				}
				return
			}
			if !strings.Contains(hint, tt.hint) {
				t.Errorf("hint %q lacks %q", hint, tt.hint)
			}
			if n := s.count(statusPath); n > 2 {
				t.Errorf("%d attempts of an account-wide error", n)
			}
		})
	}
}
