package patsnap

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestNewValidatesConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"mode A", Config{BaseURL: "https://connect.zhihuiya.com", ClientID: "id", ClientSecret: "s"}, true},
		{"mode B", Config{BaseURL: "https://connect.patsnap.com", APIKey: "sk-x"}, true},
		{"both: key wins", Config{BaseURL: "http://127.0.0.1:1/api", APIKey: "sk-x", ClientID: "id", ClientSecret: "s"}, true},
		{"no credentials", Config{BaseURL: "https://connect.zhihuiya.com"}, false},
		{"id without secret", Config{BaseURL: "https://connect.zhihuiya.com", ClientID: "id"}, false},
		{"secret without id", Config{BaseURL: "https://connect.zhihuiya.com", ClientSecret: "s"}, false},
		{"secret with newline", Config{BaseURL: "https://connect.zhihuiya.com", ClientID: "id", ClientSecret: "s\n"}, false},
		{"relative URL", Config{BaseURL: "connect.zhihuiya.com", APIKey: "sk-x"}, false},
		{"ftp URL", Config{BaseURL: "ftp://connect.zhihuiya.com", APIKey: "sk-x"}, false},
		{"URL with query", Config{BaseURL: "https://connect.zhihuiya.com/?apikey=sk-leak", APIKey: "sk-x"}, false},
		{"empty URL", Config{APIKey: "sk-x"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if (err == nil) != tt.ok {
				t.Fatalf("New: err = %v, want ok = %v", err, tt.ok)
			}
			if err != nil {
				if s, leak := containsAny(err.Error(), "sk-leak", "s\n"); leak {
					t.Errorf("error %q shows %q", err, s)
				}
			}
		})
	}
}

// TestTokenShapes exchanges credentials against each token answer shape
// seen in the wild and checks the wire format of the exchange and of the
// business call that uses the token.
func TestTokenShapes(t *testing.T) {
	shapes := map[string]string{
		"documented":          `{"token":"%s","token_type":"BearerToken","expires_in":1799,"status":"approved","issued_at":"1692347672874"}`,
		"enveloped":           `{"data":{"token":"%s","token_type":"BearerToken","expires_in":1799},"status":true,"error_code":0}`,
		"access_token":        `{"access_token":"%s","token_type":"bearer","expires_in":"1799"}`,
		"expires_in string":   `{"token":"%s","expires_in":"1799","status":"approved"}`,
		"no expires_in":       `{"token":"%s"}`,
		"enveloped access":    `{"data":{"access_token":"%s","expires_in":"1799"},"status":true,"error_code":"0"}`,
		"expires_in as float": `{"token":"%s","expires_in":1799.0}`,
	}
	for name, shape := range shapes {
		t.Run(name, func(t *testing.T) {
			s := newStubAPI(t)
			s.handle(tokenPath, func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprintf(w, shape, testToken)
			})
			s.handle(statusPath, func(w http.ResponseWriter, r *http.Request) {
				okData(w, `{"job_id":1,"job_status":0,"queue_num":3}`)
			})
			c, clk := s.client(nil)
			if _, err := c.ReportStatus(context.Background(), "1"); err != nil {
				t.Fatal(err)
			}
			tr := s.requests(tokenPath)
			if len(tr) != 1 {
				t.Fatalf("%d token requests, want 1", len(tr))
			}
			if got, want := tr[0].Header.Get("Authorization"), "Basic "+base64.StdEncoding.EncodeToString([]byte(testClientID+":"+testSecret)); got != want {
				t.Errorf("token Authorization = %q, want %q", got, want)
			}
			if got := tr[0].Header.Get("Content-Type"); got != "application/x-www-form-urlencoded" {
				t.Errorf("token Content-Type = %q", got)
			}
			if got := string(tr[0].Body); got != "grant_type=client_credentials" {
				t.Errorf("token body = %q", got)
			}
			if tr[0].Method != http.MethodPost || len(tr[0].Query) != 0 {
				t.Errorf("token request %s with query %v", tr[0].Method, tr[0].Query)
			}
			br := s.requests(statusPath)[0]
			if got := br.Header.Get("Authorization"); got != "Bearer "+testToken {
				t.Errorf("business Authorization = %q", got)
			}
			if got := br.Query.Get("apikey"); got != testClientID {
				t.Errorf("apikey = %q, want the client id", got)
			}
			// All shapes give a 1799 s token: still cached 1738 s later.
			clk.Advance(1738 * time.Second)
			if _, err := c.ReportStatus(context.Background(), "1"); err != nil {
				t.Fatal(err)
			}
			if n := s.count(tokenPath); n != 1 {
				t.Errorf("%d token requests after 1738 s, want 1", n)
			}
		})
	}
}

func TestModeBSendsKeyDirectly(t *testing.T) {
	s := newStubAPI(t)
	s.handle(statusPath, func(w http.ResponseWriter, r *http.Request) {
		okData(w, `{"job_id":"7","job_status":1,"queue_num":0}`)
	})
	c, _ := s.client(func(cfg *Config) { cfg.ClientID, cfg.ClientSecret, cfg.APIKey = "", "", testAPIKey })
	if _, err := c.ReportStatus(context.Background(), "7"); err != nil {
		t.Fatal(err)
	}
	if n := s.count(tokenPath); n != 0 {
		t.Errorf("%d token requests in mode B", n)
	}
	r := s.requests(statusPath)[0]
	if got := r.Header.Get("Authorization"); got != "Bearer "+testAPIKey {
		t.Errorf("Authorization = %q", got)
	}
	if got := r.Query.Get("apikey"); got != testAPIKey {
		t.Errorf("apikey = %q", got)
	}
}

// TestTokenRefreshSchedule: the token is reused until about a minute before
// it expires, then replaced.
func TestTokenRefreshSchedule(t *testing.T) {
	s := newStubAPI(t)
	s.handle(statusPath, func(w http.ResponseWriter, r *http.Request) {
		okData(w, `{"job_status":0}`)
	})
	c, clk := s.client(nil)
	ctx := context.Background()
	steps := []struct {
		advance time.Duration
		tokens  int
	}{
		{0, 1},
		{1738 * time.Second, 1}, // 61 s before expiry
		{time.Second, 2},        // 60 s before expiry: refreshed
		{time.Second, 2},
	}
	for i, st := range steps {
		clk.Advance(st.advance)
		if _, err := c.ReportStatus(ctx, "1"); err != nil {
			t.Fatal(err)
		}
		if n := s.count(tokenPath); n != st.tokens {
			t.Fatalf("step %d: %d token requests, want %d", i, n, st.tokens)
		}
	}
}

// TestTokenFetchedOnceForConcurrentCallers holds the token answer until
// every other caller waits on the one fetch in flight.
func TestTokenFetchedOnceForConcurrentCallers(t *testing.T) {
	const callers = 40
	s := newStubAPI(t)
	c, _ := s.client(nil)
	release := make(chan struct{})
	s.handle(tokenPath, func(w http.ResponseWriter, r *http.Request) {
		<-release
		tokenHandler(testToken, 1799)(w, r)
	})
	s.handle(statusPath, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+testToken {
			apiErr(w, http.StatusOK, 67200009, "token mismatch")
			return
		}
		okData(w, `{"job_status":1}`)
	})
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Go(func() {
			_, err := c.ReportStatus(context.Background(), "42")
			errs <- err
		})
	}
	waitFor(t, func() bool {
		c.tokens.mu.Lock()
		defer c.tokens.mu.Unlock()
		return c.tokens.waiters == callers-1
	})
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := s.count(tokenPath); n != 1 {
		t.Fatalf("%d token requests for %d concurrent callers, want 1", n, callers)
	}
	if n := s.count(statusPath); n != callers {
		t.Fatalf("%d status requests, want %d", n, callers)
	}
}

// TestRefreshOnceOnAuthAnswer: an answer saying the token is bad makes the
// client fetch one new token and repeat the call once, never more.
func TestRefreshOnceOnAuthAnswer(t *testing.T) {
	tests := []struct {
		name       string
		failures   int // answers that reject the token before one succeeds
		reject     func(w http.ResponseWriter)
		wantErr    bool
		wantTokens int
		wantCalls  int
		class      Class // of the error; refused with a fresh token: account-wide
	}{
		{"67200009 once", 1, func(w http.ResponseWriter) { apiErr(w, 200, 67200009, "apikey and token do not match") }, false, 2, 2, 0},
		{"67200003 once", 1, func(w http.ResponseWriter) { apiErr(w, 200, 67200003, "token expired") }, false, 2, 2, 0},
		{"HTTP 401 once", 1, func(w http.ResponseWriter) { w.WriteHeader(http.StatusUnauthorized) }, false, 2, 2, 0},
		{"67200009 persists", 1000, func(w http.ResponseWriter) { apiErr(w, 200, 67200009, "apikey and token do not match") }, true, 2, 2, ClassAccount},
		{"HTTP 401 persists", 1000, func(w http.ResponseWriter) { apiErr(w, 401, 67200009, "unauthorized") }, true, 2, 2, ClassAccount},
		{"67200004 is not refreshed", 1000, func(w http.ResponseWriter) { apiErr(w, 200, 67200004, "no permission") }, true, 1, 1, ClassAuth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStubAPI(t)
			var mu sync.Mutex
			seen := 0
			s.handle(statusPath, func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				seen++
				n := seen
				mu.Unlock()
				if n <= tt.failures {
					tt.reject(w)
					return
				}
				okData(w, `{"job_status":2,"download_url":"https://x/y"}`)
			})
			c, _ := s.client(nil)
			_, err := c.ReportStatus(context.Background(), "1")
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				mustClass(t, err, tt.class)
			}
			if n := s.count(tokenPath); n != tt.wantTokens {
				t.Errorf("%d token requests, want %d", n, tt.wantTokens)
			}
			if n := s.count(statusPath); n != tt.wantCalls {
				t.Errorf("%d status requests, want %d", n, tt.wantCalls)
			}
		})
	}
}

func TestTokenRejected(t *testing.T) {
	tests := []struct {
		name  string
		write func(w http.ResponseWriter)
		class Class
		calls int
	}{
		// The token exchange refusing the credentials is account-wide.
		{"67200003 in 200", func(w http.ResponseWriter) { apiErr(w, 200, 67200003, "bad key or secret") }, ClassAccount, 1},
		{"HTTP 401 bare", func(w http.ResponseWriter) { w.WriteHeader(401) }, ClassAccount, 1},
		{"HTTP 400 oauth style", func(w http.ResponseWriter) {
			w.WriteHeader(400)
			fmt.Fprint(w, `{"error":"invalid_client"}`)
		}, ClassAccount, 1},
		{"status false", func(w http.ResponseWriter) { fmt.Fprint(w, `{"status":false}`) }, ClassAccount, 1},
		{"67200006 expired client", func(w http.ResponseWriter) { apiErr(w, 200, 67200006, "expired") }, ClassAccount, 1},
		{"HTTP 503", func(w http.ResponseWriter) { w.WriteHeader(503) }, ClassRetryable, 4},
		{"no token", func(w http.ResponseWriter) { fmt.Fprint(w, `{"status":"approved","expires_in":1799}`) }, ClassPermanent, 1},
		{"token with newline", func(w http.ResponseWriter) { fmt.Fprint(w, `{"token":"a\nb"}`) }, ClassPermanent, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStubAPI(t)
			s.handle(tokenPath, func(w http.ResponseWriter, r *http.Request) { tt.write(w) })
			c, _ := s.client(nil)
			_, err := c.ReportStatus(context.Background(), "1")
			mustClass(t, err, tt.class)
			if n := s.count(tokenPath); n != tt.calls {
				t.Errorf("%d token requests, want %d", n, tt.calls)
			}
			if n := s.count(statusPath); n != 0 {
				t.Errorf("%d business calls without a token", n)
			}
			if !strings.Contains(err.Error(), EndpointToken) {
				t.Errorf("error %q does not name the token endpoint", err)
			}
		})
	}
}

// waitFor polls cond until it holds, failing after a generous bound.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition did not hold within 10 s")
		}
		time.Sleep(time.Millisecond)
	}
}
