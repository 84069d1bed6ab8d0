// Package fake is an in-process simulation of the PatSnap Open API endpoints
// patwatch uses: token exchange, image search (P060, P061), image upload
// (P010), the asynchronous patent value report (R002 create and status) and
// the presigned download of a finished report, and the drawings behind the
// presigned image links of hits.
//
// It speaks the documented wire format (the official P060 and R002 pages and
// the project's API notes) to the letter, quirks included: errors inside HTTP 200 answers, bare-number job ids above 2^53
// that a float64 cannot hold, three token answer shapes, token expiry,
// presigned result URLs whose signature changes per call and scores that
// jitter slightly between calls. It is an independent implementation of that
// format and deliberately shares no code or types with package patsnap.
//
// Every test, benchmark and the --sandbox mode run against it. Tests steer it
// with SetResults, Advance, AddFault, FailJob and ForgetJobs, and assert on
// the calls made with Requests and the jobs created with JobsCreated. Faults
// produce what real gateways and storage hosts do wrong: error answers, cut
// and half bodies, wrong bodies under HTTP 200, inconsistent search pages;
// Options.Limiter makes the QPS cap as strict as a sliding-window gateway. Snapshot and Restore carry its memory across
// processes. All time comes from Options.Now.
//
// Choices where the documentation is silent (each documented where it is made):
//   - wrong client id or secret at /oauth/token answers HTTP 401 with error_code 67200003;
//   - a missing or non-Bearer Authorization header answers HTTP 401 with 67200003;
//   - an unknown token answers HTTP 200 with 67200003, an expired one HTTP 200 with 67200009;
//   - mode B (sk- key) does not require the apikey query parameter, but rejects
//     one that differs from the key with 67200009;
//   - the QPS cap counts answered gateway calls (not downloads, not images, not rejected calls)
//     per calendar second, unless Options.Limiter asks for the strict sliding window;
//   - GET under /fake-images/ answers a generated PNG drawing (see Drawing),
//     as the image CDN answers the presigned links of hits.
package fake

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// TokenShape selects the body /oauth/token answers with.
type TokenShape int

// The token answer shapes seen in the wild (NOTES.md §1).
const (
	// TokenDocumented is the documented, unwrapped answer:
	// {"token":…,"token_type":"BearerToken","expires_in":1799,"status":"approved","issued_at":"<ms>"}.
	TokenDocumented TokenShape = iota
	// TokenEnveloped wraps the token in the business envelope:
	// {"data":{"token":…,"expires_in":1799},"status":true,"error_code":0}.
	TokenEnveloped
	// TokenAccessToken is the OAuth-style answer with expires_in as a string:
	// {"access_token":…,"expires_in":"1799"}.
	TokenAccessToken
)

// Endpoint names one route of the fake; Fault.Endpoint and Request.Endpoint use it.
type Endpoint string

// The routes of the fake.
const (
	EndpointToken              Endpoint = "token"                 // POST /oauth/token
	EndpointSearchSingle       Endpoint = "search-single"         // POST /search/patent/image-single (P060)
	EndpointSearchMultiple     Endpoint = "search-multiple"       // POST /search/patent/image-multiple (P061)
	EndpointUpload             Endpoint = "upload"                // POST /image-search/image-upload (P010)
	EndpointReportCreate       Endpoint = "report-create"         // POST …/task/create (R002)
	EndpointReportCreateNoLogo Endpoint = "report-create-no-logo" // POST …/task/create-no-logo (R002)
	EndpointReportStatus       Endpoint = "report-status"         // GET …/job_id/status (R002)
	EndpointDownload           Endpoint = "download"              // GET /fake-download/<job>/<file>
	EndpointImage              Endpoint = "image"                 // GET /fake-images/<path>: a drawing (see Drawing)
	EndpointUnknown            Endpoint = "unknown"               // any other path: 67200101, HTTP 404
)

// Paths of the routes.
const (
	PathToken              = "/oauth/token"
	PathSearchSingle       = "/search/patent/image-single"
	PathSearchMultiple     = "/search/patent/image-multiple"
	PathUpload             = "/image-search/image-upload"
	PathReportCreate       = "/patent-valuation-data/patent-report/task/create"
	PathReportCreateNoLogo = "/patent-valuation-data/patent-report/task/create-no-logo"
	PathReportStatus       = "/patent-valuation-data/patent-report/job_id/status"
	PathDownloadPrefix     = "/fake-download/"
	PathImagePrefix        = "/fake-images/"
)

// PatSnap error codes the fake answers with.
const (
	CodeQPS            = 67200002
	CodeBadCredentials = 67200003
	CodeNoAPIKey       = 67200008
	CodeTokenMismatch  = 67200009
	CodeBusy           = 67200100
	CodeUnknownPath    = 67200101
	CodeInvalidParam   = 68300004
	CodeBadRequest     = 68300007
	CodeServiceError   = 68300008
	CodeBadUpload      = 68300010
	CodeNoReport       = 68300013
)

// messages are the documented error_msg texts (R002 page, English).
var messages = map[int]string{
	68300004: "Invalid parameter!",
	68300005: "Search api failure!",
	68300006: "Analytic basic access error!",
	68300007: "Bad request!",
	68300008: "Service error, please try again later!",
	68300010: "The file does not comply with upload specifications!",
	68300013: "Report does not exist",
	67200000: "API call exceeds the total limit set by the platform!",
	67200001: "API call exceeds the total limit set by the platform!",
	67200002: "The current call rate is too fast, exceeding the current configuration limit QPS!",
	67200003: "The key and secret parameters for applying for the token are incorrect or the client has been disabled!",
	67200004: "The requested api does not have permission. Please contact our support personnel!",
	67200005: "Insufficient account balance/number of calls!",
	67200006: "The client has exceeded the activation validity period!",
	67200007: "The current call exceeds the configured usage limit of the day!",
	67200008: "Please check if the required apikey in the query parameter has been transmitted!",
	67200009: "The apikey does not match the passed bearerToken. Please check if a valid token is being used!",
	67200012: "The request is illegal!",
	67200100: "The current server status is busy, request response timeout!",
	67200101: "The API requested currently does not exist. Please check the request path!",
	401:      "Unauthorized",
	403:      "Forbidden",
	404:      "Not Found",
}

// Message returns the documented error_msg for a PatSnap error code, or a
// generic text for codes the documentation does not list.
func Message(code int) string {
	if m, ok := messages[code]; ok {
		return m
	}
	return fmt.Sprintf("Error %d", code)
}

// Options configures a Server. The zero value is a server that accepts no
// credentials at all; set ClientID/ClientSecret (mode A), APIKeys (mode B) or both.
type Options struct {
	// ClientID and ClientSecret are the mode A credentials accepted at POST
	// /oauth/token (HTTP Basic, form grant_type=client_credentials). Empty: mode A off.
	ClientID, ClientSecret string
	// APIKeys are the mode B keys accepted as "Authorization: Bearer sk-…".
	APIKeys []string
	// TokenTTL is the lifetime of issued tokens; 0: 1799 s.
	TokenTTL time.Duration
	// TokenShape is the body shape of token answers.
	TokenShape TokenShape
	// Now is the clock of token expiry, the QPS window and link expiry; nil: time.Now.
	Now func() time.Time
	// QPS > 0 caps gateway calls (every route but downloads and images,
	// which the storage hosts answer; see countsAgainstQPS) at ceil(QPS)
	// per second, counted as Limiter says; calls over the cap answer HTTP
	// 200 with status false and error_code 67200002.
	QPS float64
	// Limiter is how the QPS cap counts; the zero value is LimitCalendar.
	Limiter Limiter
	// Latency is waited before every answer; the wait ends early, without an
	// answer, when the request's context ends.
	Latency time.Duration
	// PollsToFinish is the number of status polls a job answers before it is
	// done (the first answers job_status 0, later ones 1); 0: 2; negative: the
	// first poll already answers done.
	PollsToFinish int
	// Seed seeds the generated corpus, the tokens and the download link key.
	Seed int64
}

// Limiter selects how Options.QPS is enforced.
type Limiter int

const (
	// LimitCalendar counts answered calls per calendar second of Now (Now
	// truncated to the second), checked after Latency. Rejected calls do not
	// count. It is lenient: two calls 10 ms apart on either side of a second
	// boundary fall in different windows.
	LimitCalendar Limiter = iota
	// LimitSliding counts calls on arrival, before Latency, in a sliding
	// one-second window of Now, and counts the calls it rejects too, as
	// strict gateways do: a call is admitted when fewer than ceil(QPS) calls
	// (admitted or not) arrived in the second before it. A rejection is
	// answered at once, without Latency.
	LimitSliding
)

// Server is the fake API; it implements http.Handler and is safe for
// concurrent use.
type Server struct {
	opts       Options
	now        func() time.Time
	ttl        time.Duration
	polls      int
	linkKey    []byte
	sigCounter uint64 // under mu; makes every presigned query differ

	corpus    *corpus    // its own lock; grows on Advance
	advanceMu sync.Mutex // serialises Advance and Restore

	mu       sync.Mutex
	epoch    int
	tokens   map[string]time.Time
	tokenSeq uint64
	results  map[string]fixedResult
	faults   []*faultState
	failNext map[string]string
	jobs     map[string]*job
	nextJob  uint64
	uploads  map[string]upload
	drawn    map[string][]byte // image path → its drawing (see drawing)
	window   int64             // unix second of the QPS window (LimitCalendar)
	inWindow int
	arrivals []time.Time // arrivals of the last second, oldest first (LimitSliding)
	reqs     []*Request
}

// firstJobID is the first job id handed out: the doc's example neighbourhood,
// odd and above 2^53, so a float64 cannot hold it or any later id exactly.
const firstJobID uint64 = 1579434053399035905

// jobIDStep keeps every id odd (even step) and off the 256-wide float64 grid.
const jobIDStep uint64 = 1<<20 + 2

// New returns a Server configured by o.
func New(o Options) *Server {
	s := &Server{
		opts:     o,
		now:      o.Now,
		ttl:      o.TokenTTL,
		polls:    o.PollsToFinish,
		tokens:   map[string]time.Time{},
		results:  map[string]fixedResult{},
		failNext: map[string]string{},
		jobs:     map[string]*job{},
		nextJob:  firstJobID,
		uploads:  map[string]upload{},
		drawn:    map[string][]byte{},
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.ttl <= 0 {
		s.ttl = 1799 * time.Second
	}
	switch {
	case s.polls == 0:
		s.polls = 2
	case s.polls < 0:
		s.polls = 0
	}
	k := sha256.Sum256([]byte("patwatch-fake-download-key|" + strconv.FormatInt(o.Seed, 10)))
	s.linkKey = k[:]
	s.corpus = newCorpus(o.Seed)
	return s
}

// Request is one request the server received, as recorded by Requests.
type Request struct {
	Endpoint   Endpoint
	Method     string
	Path       string
	Query      url.Values
	Header     http.Header
	Body       []byte
	Code       int       // error_code answered; 0 for success or a non-envelope answer
	HTTPStatus int       // 0 when no answer was written (the request's context ended first)
	At         time.Time // when it arrived, by Options.Now
}

// Await blocks until a search request to ep whose first image URL is
// image (query strings ignored) has arrived after the first from requests
// (see Requests), or ctx ends: a test orders an answer after that request
// with it (Fault.Hold).
func (s *Server) Await(ctx context.Context, from int, ep Endpoint, image string) {
	want := stripQuery(image)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for seen := from; ; {
		s.mu.Lock()
		for ; seen < len(s.reqs); seen++ {
			if r := s.reqs[seen]; r.Endpoint == ep && s.subjectOf(nil, ep, r.Body).image == want {
				s.mu.Unlock()
				return
			}
		}
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Requests returns copies of every request received so far, in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.reqs))
	for i, r := range s.reqs {
		out[i] = Request{
			Endpoint:   r.Endpoint,
			Method:     r.Method,
			Path:       r.Path,
			Query:      cloneValues(r.Query),
			Header:     r.Header.Clone(),
			Body:       slices.Clone(r.Body),
			Code:       r.Code,
			HTTPStatus: r.HTTPStatus,
			At:         r.At,
		}
	}
	return out
}

// ResetRequests forgets the recorded requests.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = nil
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

// Fault makes matching requests fail. All set selectors must match.
type Fault struct {
	// Hold, when set, is called before a request the fault matches is
	// answered, and may block until ctx (the request's) ends: a test puts
	// the fault's answers after other requests with it.
	Hold     func(ctx context.Context)
	Endpoint Endpoint // "": any endpoint
	ImageURL string   // only searches whose first image URL equals it (query strings ignored)
	Patent   string   // only report creates for this patent number or id
	JobID    string   // only status calls (and downloads) for this job
	Code     int      // error_code of the envelope; 0: the HTTP status, if set
	Msg      string   // error_msg; "": the documented text for Code
	// HTTPStatus of the answer; 0: 200. 502, 503 and 504 answer an HTML
	// gateway page instead of an envelope.
	HTTPStatus int
	// FromOffset selects only searches at this offset or deeper; 0: any.
	FromOffset int
	Times      int  // number of matching requests it applies to; 0: until cleared
	Truncate   bool // the request is served normally, but half of the answer is written under the full Content-Length and the connection is cut
	Malformed  bool // the request is refused with an answer (HTTP 200 unless HTTPStatus) whose body is not JSON
	// HalfBody serves the request normally but sends only the first half of
	// the answer's body, under a Content-Length that matches the half: an
	// answer that looks complete on the wire (half a report file).
	HalfBody bool
	// Body, when not nil, answers with exactly these bytes (HTTP 200 unless
	// HTTPStatus) under ContentType (default application/json): an HTML
	// maintenance page, a JSON envelope or "null" where a file belongs, a
	// 429 page. The request is not served.
	Body        []byte
	ContentType string
	// EmptyPage, MaxHits and Total rewrite a successful search answer (the
	// request is served: its total is computed as usual). EmptyPage removes
	// every hit, MaxHits > 0 keeps at most that many, Total > 0 replaces
	// total_search_result_count.
	EmptyPage bool
	MaxHits   int
	Total     int
}

// A Fault with selectors but no effect (none of the fields from Code on)
// lets matching requests through and only uses up its Times.

// Bodies for Fault.Body that real storage hosts and gateways answer with
// status 200 where a file or an answer belongs.
var (
	// MaintenancePage is an HTML page a CDN serves during maintenance.
	MaintenancePage = []byte("<!DOCTYPE html>\n<html><head><title>Service maintenance</title></head>" +
		"<body><h1>We'll be back soon</h1><p>The service is under maintenance.</p></body></html>\n")
	// ErrorEnvelope is a PatSnap error envelope where a report file belongs.
	ErrorEnvelope = []byte(`{"data":null,"status":false,"error_code":68300008,"error_msg":"Service error, please try again later!"}`)
	// NullBody is the JSON literal null.
	NullBody = []byte("null")
	// TooManyRequestsPage is the HTML page of a gateway's HTTP 429.
	TooManyRequestsPage = []byte("<html>\r\n<head><title>429 Too Many Requests</title></head>\r\n<body>\r\n" +
		"<center><h1>429 Too Many Requests</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")
)

type faultState struct {
	f    Fault
	left int // remaining applications; meaningless when f.Times == 0
}

// AddFault adds f after the faults already set; the first matching fault applies.
func (s *Server) AddFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &faultState{f: f, left: f.Times})
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// subject is what faults are matched against.
type subject struct {
	endpoint Endpoint
	image    string // search: first image URL without query
	patents  []string
	job      string
	offset   int // search: the page's offset
}

// takeFault returns the first fault matching sub and consumes one of its uses.
func (s *Server) takeFault(sub subject) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, fs := range s.faults {
		f := fs.f
		if f.Endpoint != "" && f.Endpoint != sub.endpoint {
			continue
		}
		if f.ImageURL != "" && (sub.image == "" || stripQuery(f.ImageURL) != sub.image) {
			continue
		}
		if f.Patent != "" && !slices.Contains(sub.patents, f.Patent) {
			continue
		}
		if f.JobID != "" && f.JobID != sub.job {
			continue
		}
		if f.FromOffset > 0 && sub.offset < f.FromOffset {
			continue
		}
		if f.Times > 0 {
			fs.left--
			if fs.left <= 0 {
				s.faults = slices.Delete(s.faults, i, i+1)
			}
		}
		return f, true
	}
	return Fault{}, false
}

// answer is a fully built response, written by ServeHTTP.
type answer struct {
	status int
	header http.Header
	body   []byte
	code   int // error_code in the body, for the request log
}

func (a *answer) setHeader(k, v string) {
	if a.header == nil {
		a.header = http.Header{}
	}
	a.header.Set(k, v)
}

// envelope is the business answer wrapper. error_msg is omitted on success,
// as in the documented examples.
type envelope struct {
	Data      any    `json:"data"`
	Status    bool   `json:"status"`
	ErrorCode int    `json:"error_code"`
	ErrorMsg  string `json:"error_msg,omitempty"`
}

// marshal encodes v without HTML escaping, so presigned URLs keep their
// literal '&' as the real service writes them.
func marshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only the fake's own types are encoded; they always encode.
		return []byte(`{"data":null,"status":false,"error_code":68300008,"error_msg":"Service error, please try again later!"}`)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

func jsonAnswer(status int, v any, code int) *answer {
	a := &answer{status: status, body: marshal(v), code: code}
	a.setHeader("Content-Type", "application/json;charset=UTF-8")
	return a
}

func okAnswer(data any) *answer {
	return jsonAnswer(http.StatusOK, envelope{Data: data, Status: true}, 0)
}

func errAnswer(httpStatus, code int, msg string) *answer {
	if msg == "" {
		msg = Message(code)
	}
	return jsonAnswer(httpStatus, envelope{Status: false, ErrorCode: code, ErrorMsg: msg}, code)
}

func gatewayAnswer(status int) *answer {
	text := fmt.Sprintf("%d %s", status, http.StatusText(status))
	a := &answer{status: status, body: []byte("<html>\r\n<head><title>" + text +
		"</title></head>\r\n<body>\r\n<center><h1>" + text + "</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")}
	a.setHeader("Content-Type", "text/html")
	return a
}

func faultAnswer(f Fault) *answer {
	status := f.HTTPStatus
	if status == 0 {
		status = http.StatusOK
	}
	if f.Malformed {
		a := &answer{status: status, body: []byte(`{"data":{"patent_messages":[{"patent_pn":"CN3` + "\x00" + `<html>upstream reset</html>`)}
		a.setHeader("Content-Type", "application/json;charset=UTF-8")
		return a
	}
	switch status {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return gatewayAnswer(status)
	}
	code := f.Code
	if code == 0 {
		code = status
	}
	return errAnswer(status, code, f.Msg)
}

// maxBody bounds what is read of a request body: uploads may be 4 MB, the
// rest is tiny. Longer bodies are refused.
const maxBody = 8 << 20

// ServeHTTP answers one request. The order of checks is: route (unknown
// path: 67200101), latency, QPS cap, faults, authentication, then the
// endpoint itself.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ep := route(r.Method, r.URL.Path)
	body, readErr := readBody(r)
	rec := &Request{
		Endpoint: ep,
		Method:   r.Method,
		Path:     r.URL.Path,
		Query:    cloneValues(r.URL.Query()),
		Header:   r.Header.Clone(),
		Body:     body,
		At:       s.now(),
	}
	s.mu.Lock()
	s.reqs = append(s.reqs, rec)
	s.mu.Unlock()

	if countsAgainstQPS(ep) && !s.admitOnArrival() {
		s.write(w, rec, errAnswer(http.StatusOK, CodeQPS, ""))
		return
	}
	if s.opts.Latency > 0 {
		t := time.NewTimer(s.opts.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}

	a, truncate := s.handle(r, ep, body, readErr)
	if truncate {
		s.mu.Lock()
		rec.Code = a.code
		rec.HTTPStatus = a.status
		s.mu.Unlock()
		writeTruncated(w, r, a)
		return
	}
	s.write(w, rec, a)
}

// write logs a's outcome in rec and sends a.
func (s *Server) write(w http.ResponseWriter, rec *Request, a *answer) {
	s.mu.Lock()
	rec.Code = a.code
	rec.HTTPStatus = a.status
	s.mu.Unlock()
	for k, vs := range a.header {
		w.Header()[k] = vs
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(a.body)))
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
}

// readBody reads at most maxBody+1 bytes of the request body, in one
// allocation when the length is announced.
func readBody(r *http.Request) ([]byte, error) {
	var b bytes.Buffer
	if r.ContentLength > 0 && r.ContentLength <= maxBody {
		b.Grow(int(r.ContentLength) + bytes.MinRead)
	}
	_, err := b.ReadFrom(io.LimitReader(r.Body, maxBody+1))
	return b.Bytes(), err
}

// writeTruncated announces the full length of a but writes only half of its
// body, then cuts the connection.
func writeTruncated(w http.ResponseWriter, r *http.Request, a *answer) {
	half := a.body[:len(a.body)/2]
	if hj, ok := w.(http.Hijacker); ok {
		conn, buf, err := hj.Hijack()
		if err == nil {
			defer conn.Close()
			fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\n", a.status, http.StatusText(a.status))
			for k, vs := range a.header {
				for _, v := range vs {
					fmt.Fprintf(buf, "%s: %s\r\n", k, v)
				}
			}
			fmt.Fprintf(buf, "Content-Length: %d\r\nConnection: close\r\n\r\n", len(a.body))
			_, _ = buf.Write(half)
			_ = buf.Flush()
			return
		}
	}
	for k, vs := range a.header {
		w.Header()[k] = vs
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(a.body)))
	w.WriteHeader(a.status)
	_, _ = w.Write(half)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	// Under an http.Server that cannot hand over the connection (HTTP/2),
	// abort the stream: the server resets it instead of finishing the body.
	// Called directly (a recorder, an in-process transport), the short body
	// under the full Content-Length is all that can be done; a panic there
	// would reach the caller.
	if r.Context().Value(http.ServerContextKey) != nil {
		panic(http.ErrAbortHandler)
	}
}

func route(method, path string) Endpoint {
	switch {
	case method == http.MethodPost && path == PathToken:
		return EndpointToken
	case method == http.MethodPost && path == PathSearchSingle:
		return EndpointSearchSingle
	case method == http.MethodPost && path == PathSearchMultiple:
		return EndpointSearchMultiple
	case method == http.MethodPost && path == PathUpload:
		return EndpointUpload
	case method == http.MethodPost && path == PathReportCreate:
		return EndpointReportCreate
	case method == http.MethodPost && path == PathReportCreateNoLogo:
		return EndpointReportCreateNoLogo
	case method == http.MethodGet && path == PathReportStatus:
		return EndpointReportStatus
	case method == http.MethodGet && strings.HasPrefix(path, PathDownloadPrefix):
		return EndpointDownload
	case method == http.MethodGet && strings.HasPrefix(path, PathImagePrefix):
		return EndpointImage
	}
	return EndpointUnknown
}

// handle builds the answer to one request; truncate reports that a Truncate
// fault applies to it.
func (s *Server) handle(r *http.Request, ep Endpoint, body []byte, readErr error) (a *answer, truncate bool) {
	if ep == EndpointUnknown {
		return errAnswer(http.StatusNotFound, CodeUnknownPath, ""), false
	}
	if countsAgainstQPS(ep) && !s.admit() {
		return errAnswer(http.StatusOK, CodeQPS, ""), false
	}
	if readErr != nil {
		return errAnswer(http.StatusBadRequest, CodeBadRequest, ""), false
	}
	if len(body) > maxBody {
		if ep == EndpointUpload {
			return errAnswer(http.StatusOK, CodeBadUpload, ""), false
		}
		return errAnswer(http.StatusRequestEntityTooLarge, CodeBadRequest, ""), false
	}
	if f, ok := s.takeFault(s.subjectOf(r, ep, body)); ok {
		if f.Hold != nil {
			f.Hold(r.Context())
		}
		switch {
		case f.Truncate:
			return s.serve(r, ep, body), true
		case f.Body != nil:
			return bodyAnswer(f), false
		case f.HalfBody:
			a := s.serve(r, ep, body)
			a.body = a.body[:len(a.body)/2]
			return a, false
		case f.EmptyPage || f.MaxHits > 0 || f.Total > 0:
			return rewriteSearch(s.serve(r, ep, body), f), false
		case f.Malformed || f.Code != 0 || f.HTTPStatus != 0:
			return faultAnswer(f), false
		}
	}
	return s.serve(r, ep, body), false
}

// bodyAnswer is the fixed answer of a Fault with a Body.
func bodyAnswer(f Fault) *answer {
	status := f.HTTPStatus
	if status == 0 {
		status = http.StatusOK
	}
	ct := f.ContentType
	if ct == "" {
		ct = "application/json;charset=UTF-8"
	}
	a := &answer{status: status, body: slices.Clone(f.Body)}
	var env struct {
		ErrorCode int `json:"error_code"`
	}
	if json.Unmarshal(a.body, &env) == nil {
		a.code = env.ErrorCode
	}
	a.setHeader("Content-Type", ct)
	return a
}

// rewriteSearch applies a Fault's EmptyPage, MaxHits and Total to a
// successful search answer; other answers pass unchanged.
func rewriteSearch(a *answer, f Fault) *answer {
	var env struct {
		Data   *searchData `json:"data"`
		Status bool        `json:"status"`
	}
	if a.status != http.StatusOK || json.Unmarshal(a.body, &env) != nil || !env.Status || env.Data == nil {
		return a
	}
	d := env.Data
	switch {
	case f.EmptyPage:
		d.PatentMessages = []wireHit{}
	case f.MaxHits > 0 && len(d.PatentMessages) > f.MaxHits:
		d.PatentMessages = d.PatentMessages[:f.MaxHits]
	}
	if f.Total > 0 {
		d.Total = f.Total
	}
	return okAnswer(*d)
}

// serve authenticates and answers an endpoint.
func (s *Server) serve(r *http.Request, ep Endpoint, body []byte) *answer {
	switch ep {
	case EndpointToken:
		return s.token(r, body)
	case EndpointDownload:
		return s.download(r)
	case EndpointImage:
		return s.image(r)
	}
	if a := s.authorize(r); a != nil {
		return a
	}
	switch ep {
	case EndpointSearchSingle, EndpointSearchMultiple:
		return s.search(r, ep, body)
	case EndpointUpload:
		return s.upload(r, body)
	case EndpointReportCreate, EndpointReportCreateNoLogo:
		return s.createReport(body)
	case EndpointReportStatus:
		return s.reportStatus(r)
	}
	return errAnswer(http.StatusNotFound, CodeUnknownPath, "")
}

// subjectOf extracts what faults match on. Bodies that do not parse simply
// match fewer faults.
func (s *Server) subjectOf(r *http.Request, ep Endpoint, body []byte) subject {
	sub := subject{endpoint: ep}
	switch ep {
	case EndpointSearchSingle, EndpointSearchMultiple:
		var b struct {
			URL    string   `json:"url"`
			URLs   []string `json:"urls"`
			Offset int      `json:"offset"`
		}
		if json.Unmarshal(body, &b) == nil {
			sub.offset = b.Offset
			if ep == EndpointSearchSingle {
				sub.image = stripQuery(b.URL)
			} else if len(b.URLs) > 0 {
				sub.image = stripQuery(b.URLs[0])
			}
		}
	case EndpointReportCreate, EndpointReportCreateNoLogo:
		var b struct {
			Number string `json:"patent_number"`
			ID     string `json:"patent_id"`
		}
		if json.Unmarshal(body, &b) == nil {
			sub.patents = []string{b.Number, b.ID}
		}
	case EndpointReportStatus:
		sub.job = r.URL.Query().Get("job_id")
	case EndpointDownload:
		rest := strings.TrimPrefix(r.URL.Path, PathDownloadPrefix)
		sub.job, _, _ = strings.Cut(rest, "/")
	}
	return sub
}

// countsAgainstQPS says whether a call of ep counts against Options.QPS,
// under either Limiter: every gateway route, not the downloads and images
// that storage hosts answer, nor an unknown path (answered 67200101 first).
func countsAgainstQPS(ep Endpoint) bool {
	return ep != EndpointDownload && ep != EndpointImage && ep != EndpointUnknown
}

// admitOnArrival counts a gateway call that just arrived against the QPS
// cap of LimitSliding: it is admitted when fewer than ceil(QPS) calls arrived
// in the second before it; it counts either way.
func (s *Server) admitOnArrival() bool {
	if s.opts.QPS <= 0 || s.opts.Limiter != LimitSliding {
		return true
	}
	limit := int(math.Ceil(s.opts.QPS))
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now() // under the lock: arrivals stay in order
	from := now.Add(-time.Second)
	i := 0
	for i < len(s.arrivals) && !s.arrivals[i].After(from) {
		i++
	}
	s.arrivals = append(s.arrivals[:0], s.arrivals[i:]...)
	ok := len(s.arrivals) < limit
	s.arrivals = append(s.arrivals, now)
	return ok
}

// admit counts a gateway call against the QPS cap of the current calendar
// second (LimitCalendar).
func (s *Server) admit() bool {
	if s.opts.QPS <= 0 || s.opts.Limiter != LimitCalendar {
		return true
	}
	limit := int(math.Ceil(s.opts.QPS))
	sec := s.now().Unix()
	s.mu.Lock()
	defer s.mu.Unlock()
	if sec != s.window {
		s.window, s.inWindow = sec, 0
	}
	if s.inWindow >= limit {
		return false
	}
	s.inWindow++
	return true
}

// token answers POST /oauth/token. Wrong credentials answer HTTP 401 with
// error_code 67200003 (a choice: the documentation names the code, not the status).
func (s *Server) token(r *http.Request, body []byte) *answer {
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("grant_type") != "client_credentials" {
		return errAnswer(http.StatusBadRequest, CodeBadRequest, "grant_type must be client_credentials")
	}
	id, secret, ok := r.BasicAuth()
	if !ok || s.opts.ClientID == "" ||
		!hmac.Equal([]byte(id), []byte(s.opts.ClientID)) || !hmac.Equal([]byte(secret), []byte(s.opts.ClientSecret)) {
		return errAnswer(http.StatusUnauthorized, CodeBadCredentials, "")
	}
	now := s.now()
	s.mu.Lock()
	s.tokenSeq++
	sum := sha256.Sum256([]byte(fmt.Sprintf("token|%d|%d", s.opts.Seed, s.tokenSeq)))
	tok := hex.EncodeToString(sum[:20])
	s.tokens[tok] = now.Add(s.ttl)
	s.mu.Unlock()
	secs := int(s.ttl / time.Second)
	switch s.opts.TokenShape {
	case TokenEnveloped:
		return okAnswer(struct {
			Token     string `json:"token"`
			ExpiresIn int    `json:"expires_in"`
		}{tok, secs})
	case TokenAccessToken:
		return jsonAnswer(http.StatusOK, struct {
			AccessToken string `json:"access_token"`
			ExpiresIn   string `json:"expires_in"`
		}{tok, strconv.Itoa(secs)}, 0)
	}
	return jsonAnswer(http.StatusOK, struct {
		Token     string `json:"token"`
		TokenType string `json:"token_type"`
		ExpiresIn int    `json:"expires_in"`
		Status    string `json:"status"`
		IssuedAt  string `json:"issued_at"`
	}{tok, "BearerToken", secs, "approved", strconv.FormatInt(now.UnixMilli(), 10)}, 0)
}

// authorize checks a business call's credentials; nil means accepted.
func (s *Server) authorize(r *http.Request) *answer {
	h := r.Header.Get("Authorization")
	scheme, cred, _ := strings.Cut(h, " ")
	cred = strings.TrimSpace(cred)
	if !strings.EqualFold(scheme, "Bearer") || cred == "" {
		return errAnswer(http.StatusUnauthorized, CodeBadCredentials, "")
	}
	q := r.URL.Query()
	if strings.HasPrefix(cred, "sk-") {
		if !slices.ContainsFunc(s.opts.APIKeys, func(k string) bool { return hmac.Equal([]byte(k), []byte(cred)) }) {
			return errAnswer(http.StatusOK, CodeBadCredentials, "")
		}
		if q.Has("apikey") && q.Get("apikey") != cred {
			return errAnswer(http.StatusOK, CodeTokenMismatch, "")
		}
		return nil
	}
	if q.Get("apikey") == "" {
		return errAnswer(http.StatusOK, CodeNoAPIKey, "")
	}
	s.mu.Lock()
	exp, known := s.tokens[cred]
	s.mu.Unlock()
	switch {
	case !known || s.opts.ClientID == "":
		return errAnswer(http.StatusOK, CodeBadCredentials, "")
	case !s.now().Before(exp):
		return errAnswer(http.StatusOK, CodeTokenMismatch, "")
	case q.Get("apikey") != s.opts.ClientID:
		return errAnswer(http.StatusOK, CodeTokenMismatch, "")
	}
	return nil
}

// baseURL is this server's origin as the client reached it.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// stripQuery returns u without its query string and fragment: the identity of an image.
func stripQuery(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		return u[:i]
	}
	return u
}

// presign appends an S3-style presigned query whose signature differs on
// every call, as the real result and upload URLs do.
func (s *Server) presign(u string, expires time.Duration) string {
	return s.presigner(expires).sign(u)
}

// presigner signs many URLs of one answer cheaply: the signature is not
// verified by anyone, it only has to look real and change on every call.
type presigner struct {
	query string // everything before the signature
	nonce uint64
}

func (s *Server) presigner(expires time.Duration) presigner {
	s.mu.Lock()
	s.sigCounter++
	n := s.sigCounter
	s.mu.Unlock()
	now := s.now().UTC()
	q := "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=" + now.Format("20060102T150405Z") +
		"&X-Amz-SignedHeaders=host&X-Amz-Expires=" + strconv.Itoa(int(expires/time.Second)) +
		"&X-Amz-Credential=AKIAFAKEPATWATCH0000%2F" + now.Format("20060102") + "%2Fcn-northwest-1%2Fs3%2Faws4_request" +
		"&X-Amz-Signature="
	return presigner{query: q, nonce: mix64(n ^ uint64(now.UnixNano()) ^ uint64(s.opts.Seed)<<17)}
}

func (p presigner) sign(u string) string {
	// The signature covers the path only, so that it does not depend on the
	// port a test server happened to get.
	path := u
	if _, rest, ok := strings.Cut(u, "://"); ok {
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			path = rest[i:]
		}
	}
	h := hashString(int64(p.nonce), path)
	var b strings.Builder
	b.Grow(len(u) + len(p.query) + 64)
	b.WriteString(u)
	b.WriteString(p.query)
	var sig [32]byte
	for i := range 4 {
		h = mix64(h + 0x9e3779b97f4a7c15)
		for k := range 8 {
			sig[i*8+k] = byte(h >> (8 * k))
		}
	}
	b.WriteString(hex.EncodeToString(sig[:]))
	return b.String()
}

// errNotJSON distinguishes a body that is not JSON (68300007) from one with
// wrongly typed fields (68300004).
var errNotJSON = errors.New("body is not json")

func decodeJSON(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) || len(bytes.TrimSpace(body)) == 0 {
			return errNotJSON
		}
		return err
	}
	return nil
}

func decodeAnswer(err error) *answer {
	if errors.Is(err, errNotJSON) {
		return errAnswer(http.StatusOK, CodeBadRequest, "")
	}
	return errAnswer(http.StatusOK, CodeInvalidParam, "")
}
