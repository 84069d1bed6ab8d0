package patsnap

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Test credentials. They are long and distinctive so that the leak test can
// search for them in any text.
const (
	testClientID = "client-7f3a9c"
	testSecret   = "secret-Qw8ZpL2vXr5T"
	testAPIKey   = "sk-9d7e6f5a4b3c2d1e0f"
	testToken    = "tok-A1b2C3d4E5f6G7h8"
)

// fakeClock is an injected clock whose Sleep records the wait and moves time
// forward by it, so tests observe schedules without sleeping.
type fakeClock struct {
	mu     sync.Mutex
	t      time.Time
	sleeps []time.Duration
	frozen bool // Sleep records but does not move time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2024, 3, 11, 11, 10, 32, 0, time.UTC)}
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sleeps = append(f.sleeps, d)
	if !f.frozen {
		f.t = f.t.Add(d)
	}
	return nil
}

func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.t = f.t.Add(d)
}

func (f *fakeClock) Sleeps() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.sleeps...)
}

// stubReq is one request a stubAPI received.
type stubReq struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte
}

// stubAPI is a loopback HTTP server whose answers each test scripts per
// path. It records every request.
type stubAPI struct {
	t        testing.TB
	srv      *httptest.Server
	mu       sync.Mutex
	reqs     []stubReq
	handlers map[string]http.HandlerFunc
}

func newStubAPI(t testing.TB) *stubAPI {
	s := &stubAPI{t: t, handlers: make(map[string]http.HandlerFunc)}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	s.handle("/oauth/token", tokenHandler(testToken, 1799))
	return s
}

func (s *stubAPI) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	s.mu.Lock()
	s.reqs = append(s.reqs, stubReq{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: body})
	h := s.handlers[r.URL.Path]
	s.mu.Unlock()
	if h == nil {
		http.Error(w, "no handler for "+r.URL.Path, http.StatusNotFound)
		return
	}
	h(w, r)
}

func (s *stubAPI) handle(path string, h http.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[path] = h
}

// requests returns the recorded requests to path ("" for all).
func (s *stubAPI) requests(path string) []stubReq {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []stubReq
	for _, r := range s.reqs {
		if path == "" || r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

func (s *stubAPI) count(path string) int { return len(s.requests(path)) }

// client returns a mode A client of s with a fake clock; edit adjusts the
// config first.
func (s *stubAPI) client(edit func(*Config)) (*Client, *fakeClock) {
	s.t.Helper()
	clk := newFakeClock()
	cfg := Config{
		BaseURL:      s.srv.URL,
		HTTPClient:   s.srv.Client(),
		ClientID:     testClientID,
		ClientSecret: testSecret,
		QPS:          1000,
		RateJitter:   -1, // turns exactly 1/QPS apart, for schedules the tests can count
		MaxRetries:   3,
		Now:          clk.Now,
		Sleep:        clk.Sleep,
		Rand:         func() float64 { return 0.5 },
	}
	if edit != nil {
		edit(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		s.t.Fatalf("New: %v", err)
	}
	return c, clk
}

// Paths as the stub sees them.
const (
	tokenPath    = "/oauth/token"
	singlePath   = "/search/patent/image-single"
	multiPath    = "/search/patent/image-multiple"
	uploadPath   = "/image-search/image-upload"
	createPath   = "/patent-valuation-data/patent-report/task/create"
	noLogoPath   = "/patent-valuation-data/patent-report/task/create-no-logo"
	statusPath   = "/patent-valuation-data/patent-report/job_id/status"
	downloadPath = "/tffi-export/report.pdf"
)

// tokenHandler answers the token exchange in the documented shape.
func tokenHandler(token string, expiresIn int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"token":%q,"token_type":"BearerToken","expires_in":%d,"status":"approved","issued_at":"1692347672874"}`, token, expiresIn)
	}
}

// okData writes a successful envelope around data (raw JSON).
func okData(w http.ResponseWriter, data string) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"data":%s,"status":true,"error_code":0}`, data)
}

// apiErr writes a failure envelope with the given HTTP status.
func apiErr(w http.ResponseWriter, httpStatus, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(httpStatus)
	fmt.Fprintf(w, `{"status":false,"error_code":%d,"error_msg":%q}`, code, msg)
}

// cutConnection drops the connection without an answer.
func cutConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("response writer cannot hijack")
	}
	conn, _, err := hj.Hijack()
	if err == nil {
		conn.Close()
	}
}

// pageHandler serves a ranked corpus with offset/limit and records nothing
// beyond what stubAPI records. corpus is consulted on every call so tests
// can change it between pages.
func pageHandler(t testing.TB, corpus func(call int) []Hit) http.HandlerFunc {
	var mu sync.Mutex
	calls := 0
	return func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Offset int `json:"offset"`
			Limit  int `json:"limit"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("search body: %v", err)
		}
		if body.Offset < 0 || body.Offset > MaxOffset || body.Limit < 1 || body.Limit > MaxPageSize {
			apiErr(w, http.StatusOK, 68300004, "Invalid parameter!")
			return
		}
		mu.Lock()
		calls++
		hits := corpus(calls)
		mu.Unlock()
		page := []Hit{}
		if body.Offset < len(hits) {
			page = hits[body.Offset:min(len(hits), body.Offset+body.Limit)]
		}
		data, _ := json.Marshal(map[string]any{"patent_messages": page, "total_search_result_count": len(hits)})
		okData(w, string(data))
	}
}

// rankedHits makes n hits with patent numbers P0000… and falling scores.
func rankedHits(n int) []Hit {
	hits := make([]Hit, n)
	for i := range hits {
		hits[i] = Hit{PatentPN: fmt.Sprintf("P%05d", i), Title: "t", Score: 1 - float64(i)/float64(n+1)}
	}
	return hits
}

// searchCalls returns the (offset, limit) of each recorded search request,
// in offset order (pages after the first are asked for at once, in no set
// order).
func searchCalls(t testing.TB, reqs []stubReq) [][2]int {
	t.Helper()
	var out [][2]int
	for _, r := range reqs {
		var b struct{ Offset, Limit int }
		if err := json.Unmarshal(r.Body, &b); err != nil {
			t.Fatalf("search body: %v", err)
		}
		out = append(out, [2]int{b.Offset, b.Limit})
	}
	slices.SortStableFunc(out, func(a, b [2]int) int { return a[0] - b[0] })
	return out
}

func mustClass(t testing.TB, err error, want Class) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want a %v error", want)
	}
	if got := ClassOf(err); got != want {
		t.Fatalf("ClassOf(%v) = %v, want %v", err, got, want)
	}
}

var simpleSearch = SearchRequest{URLs: []string{"https://static-open.zhihuiya.com/sample/common_demo.png"}, PatentType: "D", Model: 1}

// limited is req asking for at most n hits.
func limited(req SearchRequest, n int) SearchRequest {
	req.MaxResults = n
	return req
}

// containsAny returns the first of needles found in s.
func containsAny(s string, needles ...string) (string, bool) {
	for _, n := range needles {
		if n != "" && strings.Contains(s, n) {
			return n, true
		}
	}
	return "", false
}
