// Package patsnap is a client for the PatSnap Open API endpoints patwatch
// needs: token exchange, image search (P060, P061), image upload (P010), and
// the asynchronous patent value report (R002 create and status), plus the
// download of a finished report.
//
// Every answer is checked (the envelope's status and error_code on every HTTP
// status); failures are *APIError values whose Class callers branch on.
// Secrets and presigned query strings never appear in errors or logs.
package patsnap

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Config configures a Client. BaseURL and one credential mode are required.
type Config struct {
	BaseURL    string       // e.g. https://connect.zhihuiya.com
	HTTPClient *http.Client // nil: a client with sane transport timeouts

	// Mode A: exchanged for a bearer token at /oauth/token.
	ClientID     string
	ClientSecret string
	// Mode B: an sk- key sent directly. Used when set.
	APIKey string

	// QPS caps the requests started in any sliding second, for all calls
	// of the client together; <= 0: DefaultQPS. Rate-limit answers slow the
	// client down below it, and it creeps back up while answers succeed.
	QPS float64
	// RateJitter is how much later than its turn a request may reach the
	// server; turns are spaced so that QPS holds even then. 0:
	// DefaultRateJitter; < 0: none.
	RateJitter time.Duration
	// MaxRetries bounds the retries of a call after failures other than
	// rate limits; 0: DefaultMaxRetries; < 0: none, and no retry after a
	// rate limit either. A rate-limited call is retried for as long as its
	// context's deadline allows (at most 30 times without a deadline),
	// unless its endpoint has never answered successfully: then its
	// requests slow down to one a minute, and after 5 minutes without a
	// success the call fails with an account-wide error
	// (ErrAlwaysRateLimited).
	MaxRetries     int
	AttemptTimeout time.Duration // deadline of each attempt; 0: DefaultAttemptTimeout
	// DownloadTimeout bounds each attempt of Download, which may move a
	// larger body than an API answer; 0: DefaultDownloadTimeout.
	DownloadTimeout time.Duration

	// Now and Sleep are injectable for tests; nil means the real clock.
	// Sleep must return early with ctx.Err() when ctx ends.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	// Rand returns a float in [0,1) for backoff jitter; nil: math/rand/v2.
	Rand func() float64

	// Uploads remembers uploaded images by content hash across runs; nil: in memory only.
	Uploads UploadCache

	Logger zerolog.Logger
}

// MaxIdleConns is how many idle connections to the API the default HTTP
// client keeps: enough for the searches a rate cap keeps in flight.
const MaxIdleConns = 64

// Defaults for Config.
const (
	DefaultQPS             = 5
	DefaultMaxRetries      = 4
	DefaultAttemptTimeout  = 12 * time.Second // the API's documented maximum is 10 s
	DefaultDownloadTimeout = 5 * time.Minute
)

// UploadCache remembers the URL an image was uploaded to, keyed by the hex
// sha256 of its bytes, so the same image is not uploaded on every run.
// Implementations must be safe for concurrent use.
type UploadCache interface {
	Get(sha256 string) (Upload, bool)
	Put(sha256 string, u Upload)
}

// Endpoint names, as used in APIError.Endpoint, Stats and log lines.
const (
	EndpointToken              = "token"
	EndpointSearchSingle       = "P060"
	EndpointSearchMultiple     = "P061"
	EndpointUpload             = "P010"
	EndpointReportCreate       = "R002-create"
	EndpointReportCreateNoLogo = "R002-create-no-logo"
	EndpointReportStatus       = "R002-status"
	EndpointDownload           = "download"
)

// API paths, relative to Config.BaseURL.
const (
	pathToken              = "oauth/token"
	pathSearchSingle       = "search/patent/image-single"
	pathSearchMultiple     = "search/patent/image-multiple"
	pathUpload             = "image-search/image-upload"
	pathReportCreate       = "patent-valuation-data/patent-report/task/create"
	pathReportCreateNoLogo = "patent-valuation-data/patent-report/task/create-no-logo"
	pathReportStatus       = "patent-valuation-data/patent-report/job_id/status" // job_id is literal
)

// Client calls the PatSnap Open API. It is safe for concurrent use; all its
// calls share one rate governor and one cached token.
type Client struct {
	base       *url.URL
	hc         *http.Client
	clientID   string
	secret     string
	apiKey     string
	maxRetries int
	attemptTTL time.Duration
	fetchTTL   time.Duration
	now        func() time.Time
	sleep      func(ctx context.Context, d time.Duration) error
	rand       func() float64
	uploads    UploadCache
	log        zerolog.Logger

	gov     *governor
	rateLog sync.Once // the first slow-down is logged as a warning
	tokens  tokenSource
	stats   statsCounter
}

// New checks cfg and returns a Client. It fails when the base URL is not an
// absolute http(s) URL without query, or when no complete credential is
// given (an API key, or a client id with its secret). When both are given
// the API key is used, as Config documents.
func New(cfg Config) (*Client, error) {
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("patsnap: base URL %q is not an absolute http or https URL", stripQuery(cfg.BaseURL))
	}
	if base.RawQuery != "" || base.Fragment != "" || base.User != nil {
		return nil, fmt.Errorf("patsnap: base URL %q must not carry a query, fragment or user info", stripQuery(cfg.BaseURL))
	}
	c := &Client{
		base:       base,
		hc:         cfg.HTTPClient,
		clientID:   cfg.ClientID,
		secret:     cfg.ClientSecret,
		apiKey:     cfg.APIKey,
		maxRetries: cfg.MaxRetries,
		attemptTTL: cfg.AttemptTimeout,
		fetchTTL:   cfg.DownloadTimeout,
		now:        cfg.Now,
		sleep:      cfg.Sleep,
		rand:       cfg.Rand,
		uploads:    cfg.Uploads,
		log:        cfg.Logger,
	}
	switch {
	case c.apiKey != "":
		if err := checkCredential("API key", c.apiKey); err != nil {
			return nil, err
		}
	case c.clientID != "" && c.secret != "":
		if err := checkCredential("client id", c.clientID); err != nil {
			return nil, err
		}
		if err := checkCredential("client secret", c.secret); err != nil {
			return nil, err
		}
	case c.clientID != "" || c.secret != "":
		return nil, errors.New("patsnap: a client id needs its client secret and the other way round")
	default:
		return nil, errors.New("patsnap: no credentials: set an API key, or a client id and secret")
	}
	if c.hc == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		// Many searches run at once against one host: keep their
		// connections rather than the default two, or every request past
		// the second pays a new TLS handshake.
		t.MaxIdleConnsPerHost = MaxIdleConns
		c.hc = &http.Client{Transport: t}
	}
	switch {
	case c.maxRetries == 0:
		c.maxRetries = DefaultMaxRetries
	case c.maxRetries < 0:
		c.maxRetries = 0
	}
	if c.attemptTTL <= 0 {
		c.attemptTTL = DefaultAttemptTimeout
	}
	if c.fetchTTL <= 0 {
		c.fetchTTL = DefaultDownloadTimeout
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.sleep == nil {
		c.sleep = sleepCtx
	}
	if c.rand == nil {
		c.rand = rand.Float64
	} else {
		// An injected source need not be safe for concurrent use.
		var mu sync.Mutex
		r := c.rand
		c.rand = func() float64 {
			mu.Lock()
			defer mu.Unlock()
			return r()
		}
	}
	if c.uploads == nil {
		c.uploads = &memoryUploads{m: make(map[string]Upload)}
	}
	qps := cfg.QPS
	if qps <= 0 {
		qps = DefaultQPS
	}
	jitter := cfg.RateJitter
	switch {
	case jitter == 0:
		jitter = DefaultRateJitter
	case jitter < 0:
		jitter = 0
	}
	c.gov = newGovernor(qps, jitter, c.now, c.sleep)
	return c, nil
}

// checkCredential rejects values that could not travel in a header or a
// query parameter intact. The value itself is never part of the error.
func checkCredential(what, v string) error {
	if strings.TrimSpace(v) != v {
		return fmt.Errorf("patsnap: the %s has leading or trailing white space", what)
	}
	for _, r := range v {
		if r < 0x21 || r == 0x7f {
			return fmt.Errorf("patsnap: the %s contains a control character or space", what)
		}
	}
	return nil
}

// sleepCtx waits d or until ctx ends, whichever comes first.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Stats counts what a Client has done since New.
type Stats struct {
	Requests    map[string]int // HTTP requests sent, by Endpoint… name
	Retries     int            // attempts repeated after a retryable failure or a rate limit
	Refreshes   int            // tokens dropped after an auth answer, to fetch a new one
	RateLimited int            // rate-limit answers (67200002, HTTP 429)
	// Rate is the governor's current rate in requests per second: the
	// configured QPS, or less after rate-limit answers.
	Rate float64
}

// Stats returns a snapshot of the client's counters.
func (c *Client) Stats() Stats {
	st := c.stats.snapshot()
	st.Rate = c.gov.current()
	return st
}

type statsCounter struct {
	mu          sync.Mutex
	requests    map[string]int
	retries     int
	refreshes   int
	rateLimited int
}

func (s *statsCounter) rateLimit() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rateLimited++
}

func (s *statsCounter) request(endpoint string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.requests == nil {
		s.requests = make(map[string]int)
	}
	s.requests[endpoint]++
}

func (s *statsCounter) retry() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.retries++
}

func (s *statsCounter) refresh() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refreshes++
}

func (s *statsCounter) snapshot() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Requests: make(map[string]int, len(s.requests)), Retries: s.retries, Refreshes: s.refreshes, RateLimited: s.rateLimited}
	for k, v := range s.requests {
		st.Requests[k] = v
	}
	return st
}
