package fake

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is an injectable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

const testKey = "sk-test-key"

// env is a fake served over loopback.
type env struct {
	t     *testing.T
	srv   *Server
	ts    *httptest.Server
	clock *clock
}

func newEnv(t *testing.T, o Options) *env {
	t.Helper()
	c := newClock()
	if o.Now == nil {
		o.Now = c.Now
	}
	if o.APIKeys == nil {
		o.APIKeys = []string{testKey}
	}
	srv := New(o)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &env{t: t, srv: srv, ts: ts, clock: c}
}

// reply is one raw answer.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// envelope decodes the business envelope with numbers kept as text.
func (r reply) envelope(t *testing.T) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(r.body))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("answer is not JSON: %v: %s", err, r.body)
	}
	return m
}

// code returns the envelope's error_code (0 when status is true).
func (r reply) code(t *testing.T) int {
	t.Helper()
	m := r.envelope(t)
	n, ok := m["error_code"].(json.Number)
	if !ok {
		t.Fatalf("no numeric error_code in %s", r.body)
	}
	c, _ := n.Int64()
	if (c == 0) != (m["status"] == true) {
		t.Fatalf("status and error_code disagree in %s", r.body)
	}
	return int(c)
}

func (r reply) data(t *testing.T) map[string]any {
	t.Helper()
	m := r.envelope(t)
	d, ok := m["data"].(map[string]any)
	if !ok {
		t.Fatalf("no data object in %s", r.body)
	}
	return d
}

func (e *env) do(method, path, auth string, header http.Header, body []byte) reply {
	e.t.Helper()
	r, err := e.try(context.Background(), method, path, auth, header, body)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

func (e *env) try(ctx context.Context, method, path, auth string, header http.Header, body []byte) (reply, error) {
	req, err := http.NewRequestWithContext(ctx, method, e.ts.URL+path, bytes.NewReader(body))
	if err != nil {
		return reply{}, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: b}, err
}

// call makes a mode B business call with a JSON body (GET when body is "").
func (e *env) call(path, body string) reply {
	e.t.Helper()
	method := http.MethodPost
	if body == "" {
		method = http.MethodGet
	}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return e.do(method, path+sep+"apikey="+testKey, "Bearer "+testKey,
		http.Header{"Content-Type": {"application/json"}}, []byte(body))
}

func (e *env) search(body string) reply {
	e.t.Helper()
	return e.call(PathSearchSingle, body)
}

// hits decodes a successful search answer.
func (e *env) hits(r reply) ([]Hit, int) {
	e.t.Helper()
	if c := r.code(e.t); c != 0 || r.status != 200 {
		e.t.Fatalf("search answered %d/%d: %s", r.status, c, r.body)
	}
	var out struct {
		Data struct {
			PatentMessages []Hit `json:"patent_messages"`
			Total          int   `json:"total_search_result_count"`
		} `json:"data"`
	}
	if err := json.Unmarshal(r.body, &out); err != nil {
		e.t.Fatal(err)
	}
	return out.Data.PatentMessages, out.Data.Total
}

func pns(hits []Hit) []string {
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = h.PatentPN
	}
	return out
}

func (e *env) createJob(body string) string {
	e.t.Helper()
	r := e.call(PathReportCreate, body)
	if c := r.code(e.t); c != 0 {
		e.t.Fatalf("create answered %d: %s", c, r.body)
	}
	n, ok := r.data(e.t)["job_id"].(json.Number)
	if !ok {
		e.t.Fatalf("job_id is not a bare number: %s", r.body)
	}
	return n.String()
}

func (e *env) status(id string) reply {
	e.t.Helper()
	return e.call(PathReportStatus+"?job_id="+id, "")
}

func TestTokenShapes(t *testing.T) {
	tests := []struct {
		shape TokenShape
		want  string // the answer with the token replaced by TOKEN
	}{
		{TokenDocumented, `{"token":"TOKEN","token_type":"BearerToken","expires_in":1799,"status":"approved","issued_at":"1741944413000"}`},
		{TokenEnveloped, `{"data":{"token":"TOKEN","expires_in":1799},"status":true,"error_code":0}`},
		{TokenAccessToken, `{"access_token":"TOKEN","expires_in":"1799"}`},
	}
	for _, tt := range tests {
		e := newEnv(t, Options{ClientID: "cid", ClientSecret: "csecret", TokenShape: tt.shape})
		r := e.do(http.MethodPost, PathToken, "Basic "+base64.StdEncoding.EncodeToString([]byte("cid:csecret")),
			http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, []byte("grant_type=client_credentials"))
		if r.status != 200 {
			t.Fatalf("shape %d: HTTP %d: %s", tt.shape, r.status, r.body)
		}
		var tok string
		for _, k := range []string{"token", "access_token"} {
			if i := bytes.Index(r.body, []byte(`"`+k+`":"`)); i >= 0 {
				rest := r.body[i+len(k)+4:]
				tok = string(rest[:bytes.IndexByte(rest, '"')])
			}
		}
		if len(tok) < 20 {
			t.Fatalf("shape %d: no token in %s", tt.shape, r.body)
		}
		if got := strings.Replace(string(r.body), tok, "TOKEN", 1); got != tt.want {
			t.Errorf("shape %d:\n got %s\nwant %s", tt.shape, got, tt.want)
		}
		// The token works for a business call with the client id as apikey.
		ok := e.do(http.MethodPost, PathSearchSingle+"?apikey=cid", "Bearer "+tok, nil,
			[]byte(`{"url":"http://i/x.png","patent_type":"D","model":1}`))
		if c := ok.code(t); c != 0 {
			t.Errorf("shape %d: search with the token answered %d", tt.shape, c)
		}
	}
}

func TestTokenRefusals(t *testing.T) {
	basic := func(id, secret string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
	}
	tests := []struct {
		name       string
		opts       Options
		auth, body string
		wantHTTP   int
		wantCode   int
	}{
		{"wrong secret", Options{ClientID: "cid", ClientSecret: "s"}, basic("cid", "x"), "grant_type=client_credentials", 401, CodeBadCredentials},
		{"wrong id", Options{ClientID: "cid", ClientSecret: "s"}, basic("x", "s"), "grant_type=client_credentials", 401, CodeBadCredentials},
		{"no basic auth", Options{ClientID: "cid", ClientSecret: "s"}, "", "grant_type=client_credentials", 401, CodeBadCredentials},
		{"mode A off", Options{}, basic("", ""), "grant_type=client_credentials", 401, CodeBadCredentials},
		{"wrong grant", Options{ClientID: "cid", ClientSecret: "s"}, basic("cid", "s"), "grant_type=password", 400, CodeBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.opts)
			r := e.do(http.MethodPost, PathToken, tt.auth, nil, []byte(tt.body))
			if r.status != tt.wantHTTP || r.code(t) != tt.wantCode {
				t.Errorf("got HTTP %d code %d, want %d %d: %s", r.status, r.code(t), tt.wantHTTP, tt.wantCode, r.body)
			}
		})
	}
}

// token fetches a mode A token.
func (e *env) token(id, secret string) string {
	e.t.Helper()
	r := e.do(http.MethodPost, PathToken, "Basic "+base64.StdEncoding.EncodeToString([]byte(id+":"+secret)), nil,
		[]byte("grant_type=client_credentials"))
	var v struct{ Token string }
	if err := json.Unmarshal(r.body, &v); err != nil || v.Token == "" {
		e.t.Fatalf("no token: %s", r.body)
	}
	return v.Token
}

func TestAuthModeA(t *testing.T) {
	e := newEnv(t, Options{ClientID: "cid", ClientSecret: "s", TokenTTL: time.Minute})
	tok := e.token("cid", "s")
	body := []byte(`{"url":"http://i/x.png","patent_type":"D","model":1}`)
	tests := []struct {
		name     string
		query    string
		auth     string
		after    time.Duration // clock moved before the call
		wantHTTP int
		wantCode int
	}{
		{"valid", "?apikey=cid", "Bearer " + tok, 0, 200, 0},
		{"lower-case scheme", "?apikey=cid", "bearer " + tok, 0, 200, 0},
		{"no authorization", "?apikey=cid", "", 0, 401, CodeBadCredentials},
		{"basic instead of bearer", "?apikey=cid", "Basic " + tok, 0, 401, CodeBadCredentials},
		{"missing apikey", "", "Bearer " + tok, 0, 200, CodeNoAPIKey},
		{"wrong apikey", "?apikey=other", "Bearer " + tok, 0, 200, CodeTokenMismatch},
		{"unknown token", "?apikey=cid", "Bearer 0123456789abcdef0123", 0, 200, CodeBadCredentials},
		{"just before expiry", "?apikey=cid", "Bearer " + tok, 59 * time.Second, 200, 0},
		{"expired", "?apikey=cid", "Bearer " + tok, time.Second, 200, CodeTokenMismatch},
	}
	for _, tt := range tests {
		e.clock.Add(tt.after)
		r := e.do(http.MethodPost, PathSearchSingle+tt.query, tt.auth, nil, body)
		if r.status != tt.wantHTTP || r.code(t) != tt.wantCode {
			t.Errorf("%s: got HTTP %d code %d, want %d %d", tt.name, r.status, r.code(t), tt.wantHTTP, tt.wantCode)
		}
	}
	// A fresh token works again.
	tok2 := e.token("cid", "s")
	if tok2 == tok {
		t.Fatal("a new token equals the expired one")
	}
	if c := e.do(http.MethodPost, PathSearchSingle+"?apikey=cid", "Bearer "+tok2, nil, body).code(t); c != 0 {
		t.Errorf("fresh token answered %d", c)
	}
}

func TestAuthModeB(t *testing.T) {
	e := newEnv(t, Options{APIKeys: []string{"sk-a", "sk-b"}})
	body := []byte(`{"url":"http://i/x.png","patent_type":"D","model":1}`)
	tests := []struct {
		query, auth string
		want        int
	}{
		{"?apikey=sk-a", "Bearer sk-a", 0},
		{"?apikey=sk-b", "Bearer sk-b", 0},
		{"", "Bearer sk-a", 0},
		{"?apikey=sk-b", "Bearer sk-a", CodeTokenMismatch},
		{"?apikey=sk-c", "Bearer sk-c", CodeBadCredentials},
	}
	for _, tt := range tests {
		if got := e.do(http.MethodPost, PathSearchSingle+tt.query, tt.auth, nil, body).code(t); got != tt.want {
			t.Errorf("%q %q: code %d, want %d", tt.query, tt.auth, got, tt.want)
		}
	}
}

func TestUnknownPath(t *testing.T) {
	e := newEnv(t, Options{})
	for _, c := range []struct{ method, path string }{
		{http.MethodPost, "/search/patent/image-triple"},
		{http.MethodGet, PathSearchSingle},
		{http.MethodPost, PathReportStatus},
	} {
		r := e.do(c.method, c.path+"?apikey="+testKey, "Bearer "+testKey, nil, nil)
		if r.status != 404 || r.code(t) != CodeUnknownPath {
			t.Errorf("%s %s: HTTP %d code %d", c.method, c.path, r.status, r.code(t))
		}
	}
}

const dSearch = `{"url":"https://img.example/phone.png","patent_type":"D","model":1`

func TestSearchWireFormat(t *testing.T) {
	e := newEnv(t, Options{Seed: 7})
	a := e.search(dSearch + `,"limit":20}`)
	if a.status != 200 || !strings.HasPrefix(a.header.Get("Content-Type"), "application/json") {
		t.Fatalf("HTTP %d %q", a.status, a.header.Get("Content-Type"))
	}
	if bytes.Contains(a.body, []byte(`\u0026`)) {
		t.Error("presigned URLs are HTML-escaped; the real service writes a literal &")
	}
	top := a.envelope(t)
	if _, has := top["error_msg"]; has {
		t.Error("success answer carries error_msg; the documented example has none")
	}
	msgs := a.data(t)["patent_messages"].([]any)
	if len(msgs) != 20 {
		t.Fatalf("%d hits, want 20", len(msgs))
	}
	wantKeys := []string{"apdt", "apno", "current_assignee", "inventor", "loc_match", "original_assignee", "patent_id", "patent_pn", "pbdt", "score", "title", "url"}
	for _, m := range msgs {
		h := m.(map[string]any)
		var keys []string
		for k := range h {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, wantKeys) {
			t.Fatalf("hit keys %v, want %v", keys, wantKeys)
		}
		for _, k := range []string{"apdt", "pbdt", "loc_match"} {
			n, ok := h[k].(json.Number)
			if _, err := n.Int64(); !ok || err != nil {
				t.Errorf("%s is %v, want an integer", k, h[k])
			}
		}
		u, err := url.Parse(h["url"].(string))
		if err != nil || u.Query().Get("X-Amz-Signature") == "" {
			t.Errorf("result url %q is not presigned", h["url"])
		}
	}
	b := e.search(dSearch + `,"limit":20}`)
	ha, ta := e.hits(a)
	hb, tb := e.hits(b)
	if ta != tb || !slices.Equal(pns(ha), pns(hb)) {
		t.Fatal("the ranking changed between two calls in one epoch")
	}
	for i := range ha {
		if ha[i].URL == hb[i].URL {
			t.Errorf("rank %d: the presigned url did not change between calls", i)
		}
		if stripQuery(ha[i].URL) != stripQuery(hb[i].URL) {
			t.Errorf("rank %d: the image path changed between calls", i)
		}
		if d := ha[i].Score - hb[i].Score; d > 1.5e-6 || d < -1.5e-6 || ha[i].Score <= 0 || ha[i].Score > 1 {
			t.Errorf("rank %d: scores %v and %v", i, ha[i].Score, hb[i].Score)
		}
	}
}

func TestSearchValidation(t *testing.T) {
	e := newEnv(t, Options{})
	tests := []struct {
		path, body string
		want       int
	}{
		{PathSearchSingle, dSearch + `}`, 0},
		{PathSearchSingle, dSearch + `,"offset":1000,"limit":100}`, 0},
		{PathSearchSingle, `{"patent_type":"D","model":1}`, CodeInvalidParam},
		{PathSearchSingle, `{"url":"not a url","patent_type":"D","model":1}`, CodeInvalidParam},
		{PathSearchSingle, `{"url":"http://i/x.png","patent_type":"X","model":1}`, CodeInvalidParam},
		{PathSearchSingle, `{"url":"http://i/x.png","patent_type":"D"}`, CodeInvalidParam},
		{PathSearchSingle, `{"url":"http://i/x.png","patent_type":"D","model":3}`, CodeInvalidParam},
		{PathSearchSingle, `{"url":"http://i/x.png","patent_type":"U","model":1}`, CodeInvalidParam},
		{PathSearchSingle, `{"url":"http://i/x.png","patent_type":"U","model":4}`, 0},
		{PathSearchSingle, dSearch + `,"limit":0}`, CodeInvalidParam},
		{PathSearchSingle, dSearch + `,"limit":101}`, CodeInvalidParam},
		{PathSearchSingle, dSearch + `,"limit":"10"}`, CodeInvalidParam},
		{PathSearchSingle, dSearch + `,"offset":-1}`, CodeInvalidParam},
		{PathSearchSingle, dSearch + `,"offset":1001}`, CodeInvalidParam},
		{PathSearchSingle, dSearch + `,"apply_start_time":"2020-01-01"}`, CodeInvalidParam},
		{PathSearchSingle, dSearch + `,"public_end_time":"20201301"}`, CodeInvalidParam},
		{PathSearchSingle, dSearch + `,"field":"NAME"}`, CodeInvalidParam},
		{PathSearchSingle, dSearch + `,"order":"up"}`, CodeInvalidParam},
		{PathSearchSingle, dSearch + `,"lang":"fr"}`, CodeInvalidParam},
		{PathSearchSingle, dSearch + `,"loc":"(phones)"}`, CodeInvalidParam},
		{PathSearchSingle, dSearch + `,"country":"US,CN"}`, 0},
		{PathSearchSingle, dSearch + `,"country":7}`, CodeInvalidParam},
		{PathSearchSingle, `{"url":`, CodeBadRequest},
		{PathSearchSingle, ``, CodeBadRequest},
		{PathSearchMultiple, `{"urls":["http://i/a.png","http://i/b.png"],"patent_type":"D","model":1}`, 0},
		{PathSearchMultiple, `{"urls":[],"patent_type":"D","model":1}`, CodeInvalidParam},
		{PathSearchMultiple, `{"urls":["http://i/1","http://i/2","http://i/3","http://i/4","http://i/5"],"patent_type":"D","model":1}`, CodeInvalidParam},
		{PathSearchMultiple, `{"url":"http://i/a.png","patent_type":"D","model":1}`, CodeInvalidParam},
	}
	for _, tt := range tests {
		body := tt.body
		if body == "" {
			body = " "
		}
		r := e.call(tt.path, body)
		if got := r.code(t); got != tt.want || r.status != 200 {
			t.Errorf("%s %s: HTTP %d code %d, want 200 %d: %s", tt.path, tt.body, r.status, got, tt.want, r.body)
		}
	}
}

func TestSearchPaging(t *testing.T) {
	e := newEnv(t, Options{Seed: 3})
	all, total := e.hits(e.search(dSearch + `,"limit":100,"offset":0}`))
	if total < 1100 {
		t.Fatalf("total %d: the corpus is too small to page to offset 1000", total)
	}
	var paged []Hit
	for off := 0; off < 100; off += 30 {
		h, tt := e.hits(e.search(dSearch + `,"limit":30,"offset":` + itoa(off) + `}`))
		if tt != total {
			t.Fatalf("offset %d: total %d, want %d", off, tt, total)
		}
		paged = append(paged, h...)
	}
	if !slices.Equal(pns(paged[:100]), pns(all)) {
		t.Error("pages of 30 do not concatenate to the page of 100")
	}
	last, _ := e.hits(e.search(dSearch + `,"limit":100,"offset":1000}`))
	if len(last) != 100 {
		t.Errorf("offset 1000 gave %d hits", len(last))
	}
	// Past the end: an empty page, same total.
	narrow := dSearch + `,"country":["WO"],"loc":"16-01","limit":100`
	h, n := e.hits(e.search(narrow + `}`))
	if n == 0 || n >= 100 || len(h) != n {
		t.Fatalf("narrow query: %d hits, total %d", len(h), n)
	}
	h, n2 := e.hits(e.search(narrow + `,"offset":` + itoa(n) + `}`))
	if len(h) != 0 || n2 != n {
		t.Errorf("past the end: %d hits, total %d", len(h), n2)
	}
	if !bytes.Contains(e.search(narrow+`,"offset":`+itoa(n)+`}`).body, []byte(`"patent_messages":[]`)) {
		t.Error("an empty page is not an empty array")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestSearchFilters(t *testing.T) {
	e := newEnv(t, Options{Seed: 11})
	_, all := e.hits(e.search(dSearch + `}`))
	tests := []struct {
		name   string
		extra  string
		design bool
		check  func(h Hit, p *patent) bool
	}{
		{"country", `,"country":["CN","JP"]`, true, func(h Hit, p *patent) bool {
			return strings.HasPrefix(h.PatentPN, "CN") || strings.HasPrefix(h.PatentPN, "JP")
		}},
		{"loc or-set", `,"loc":"(14-03 OR 14-02) AND NOT 99-99"`, true, func(h Hit, p *patent) bool {
			return locClasses[p.loc].code == "14-03" || locClasses[p.loc].code == "14-02"
		}},
		{"loc class level", `,"loc":"14"`, true, func(h Hit, p *patent) bool { return strings.HasPrefix(locClasses[p.loc].code, "14-") }},
		{"apply dates", `,"apply_start_time":"20150101","apply_end_time":"20161231"`, true, func(h Hit, p *patent) bool {
			return h.Apdt >= 20150101 && h.Apdt <= 20161231
		}},
		{"public dates", `,"public_start_time":"20200101","public_end_time":"20200630"`, true, func(h Hit, p *patent) bool {
			return h.Pbdt >= 20200101 && h.Pbdt <= 20200630
		}},
		{"assignee", `,"assignees":"huawei"`, true, func(h Hit, p *patent) bool {
			return strings.Contains(h.CurrentAssignee+h.OriginalAssignee, "HUAWEI")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hits, total := e.hits(e.search(dSearch + tt.extra + `,"limit":100}`))
			if total == 0 || total >= all {
				t.Fatalf("total %d of %d: the filter selects nothing or everything", total, all)
			}
			for _, h := range hits {
				p := e.srv.corpus.lookupPN(h.PatentPN)
				if p == nil || p.design != tt.design || !tt.check(h, p) {
					t.Errorf("hit %s does not pass the filter", h.PatentPN)
				}
			}
		})
	}
	t.Run("utility models", func(t *testing.T) {
		hits, total := e.hits(e.search(`{"url":"https://img.example/phone.png","patent_type":"U","model":4,"limit":100}`))
		if total == 0 {
			t.Fatal("no utility models")
		}
		for _, h := range hits {
			if !strings.HasSuffix(h.PatentPN, "U") && !strings.HasSuffix(h.PatentPN, "U1") && !strings.HasSuffix(h.PatentPN, "Y1") {
				t.Errorf("utility hit %s has no utility kind code", h.PatentPN)
			}
		}
	})
	t.Run("design kind codes", func(t *testing.T) {
		hits, _ := e.hits(e.search(dSearch + `,"limit":100}`))
		for _, h := range hits {
			if !designKind.MatchString(h.PatentPN) {
				t.Errorf("design hit %s has no S kind code", h.PatentPN)
			}
		}
	})
	t.Run("sort by publication date", func(t *testing.T) {
		hits, _ := e.hits(e.search(dSearch + `,"field":"PBD","order":"asc","limit":50}`))
		if !slices.IsSortedFunc(hits, func(a, b Hit) int { return a.Pbdt - b.Pbdt }) {
			t.Error("PBD asc is not ascending")
		}
	})
}

func TestSearchDeterministicBySeed(t *testing.T) {
	a, b, c := newEnv(t, Options{Seed: 5}), newEnv(t, Options{Seed: 5}), newEnv(t, Options{Seed: 6})
	q := dSearch + `,"limit":50}`
	ha, _ := a.hits(a.search(q))
	hb, _ := b.hits(b.search(q))
	hc, _ := c.hits(c.search(q))
	if !slices.Equal(pns(ha), pns(hb)) {
		t.Error("two servers of one seed rank differently")
	}
	if slices.Equal(pns(ha), pns(hc)) {
		t.Error("two seeds rank the same")
	}
	// The image identity ignores the query string.
	hq, _ := a.hits(a.search(`{"url":"https://img.example/phone.png?X-Amz-Signature=abc","patent_type":"D","model":1,"limit":50}`))
	if !slices.Equal(pns(ha), pns(hq)) {
		t.Error("the query string of the image url changed the ranking")
	}
	ho, _ := a.hits(a.search(`{"url":"https://img.example/other.png","patent_type":"D","model":1,"limit":50}`))
	if slices.Equal(pns(ha), pns(ho)) {
		t.Error("two images rank the same")
	}
}

func TestAdvanceMovesResults(t *testing.T) {
	e := newEnv(t, Options{Seed: 2})
	queries := []string{
		dSearch + `,"limit":100}`,
		dSearch + `,"limit":100,"country":["CN","US"]}`,
		`{"url":"https://img.example/cup.png","patent_type":"U","model":4,"limit":100}`,
	}
	for _, q := range queries {
		before, _ := e.hits(e.search(q))
		e.srv.Advance()
		after, _ := e.hits(e.search(q))
		added, dropped := diff(pns(before), pns(after))
		if added == 0 || dropped == 0 || added > 25 || dropped > 25 {
			t.Errorf("%s: Advance added %d and dropped %d of the top 100", q, added, dropped)
		}
		again, _ := e.hits(e.search(q))
		if !slices.Equal(pns(after), pns(again)) {
			t.Errorf("%s: ranking unstable within an epoch", q)
		}
	}
	if e.srv.Epoch() != len(queries) {
		t.Errorf("epoch %d", e.srv.Epoch())
	}
}

// diff counts the names in b not in a, and in a not in b.
func diff(a, b []string) (added, dropped int) {
	for _, x := range b {
		if !slices.Contains(a, x) {
			added++
		}
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			dropped++
		}
	}
	return added, dropped
}

func TestSetResults(t *testing.T) {
	e := newEnv(t, Options{})
	hits := []Hit{
		{PatentPN: "CN3000000001S", Score: 0.5, Title: "b"},
		{PatentPN: "CN3000000002S", Score: 0.9, Title: "a", URL: "http://img/a.png?X-Amz-Signature=1"},
		{PatentPN: "CN3000000003S", Score: 0.5, Title: "c"},
		{PatentPN: "CN3000000004S", Score: 0.7},
	}
	e.srv.SetResults("https://img.example/pinned.png?old=1", -1, hits...)
	got, total := e.hits(e.search(`{"url":"https://img.example/pinned.png?new=2","patent_type":"D","model":1,"country":["US"]}`))
	if total != 4 {
		t.Errorf("total %d, want 4", total)
	}
	want := []string{"CN3000000002S", "CN3000000004S", "CN3000000001S", "CN3000000003S"}
	if !slices.Equal(pns(got), want) {
		t.Errorf("order %v, want %v", pns(got), want)
	}
	if got[0] != hits[1] {
		t.Errorf("hit changed on the way: %+v", got[0])
	}
	e.srv.SetResults("https://img.example/pinned.png", 250, hits...)
	got, total = e.hits(e.search(`{"url":"https://img.example/pinned.png","patent_type":"D","model":1,"offset":2,"limit":10}`))
	if total != 250 || !slices.Equal(pns(got), want[2:]) {
		t.Errorf("page: total %d hits %v", total, pns(got))
	}
	// P061 matches on its first image.
	got, _ = e.hits(e.call(PathSearchMultiple, `{"urls":["https://img.example/pinned.png","http://x/y.png"],"patent_type":"D","model":1}`))
	if len(got) != 4 {
		t.Errorf("P061 with the pinned first image: %d hits", len(got))
	}
}

func TestFaults(t *testing.T) {
	tests := []struct {
		name      string
		fault     Fault
		call      func(e *env) reply
		wantHTTP  int
		wantCode  int // -1: the body is not JSON
		wantInMsg string
	}{
		{"code in 200", Fault{Endpoint: EndpointSearchSingle, Code: 68300008}, func(e *env) reply { return e.search(dSearch + `}`) }, 200, 68300008, "Service error"},
		{"custom msg", Fault{Code: 67200100, Msg: "busy!"}, func(e *env) reply { return e.search(dSearch + `}`) }, 200, 67200100, "busy!"},
		{"http 500", Fault{HTTPStatus: 500, Code: 68300008}, func(e *env) reply { return e.search(dSearch + `}`) }, 500, 68300008, ""},
		{"http 401 without code", Fault{HTTPStatus: 401}, func(e *env) reply { return e.search(dSearch + `}`) }, 401, 401, "Unauthorized"},
		{"http 502 html", Fault{HTTPStatus: 502}, func(e *env) reply { return e.search(dSearch + `}`) }, 502, -1, ""},
		{"malformed", Fault{Malformed: true}, func(e *env) reply { return e.search(dSearch + `}`) }, 200, -1, ""},
		{"by image", Fault{ImageURL: "https://img.example/phone.png?x=1", Code: 68300005}, func(e *env) reply { return e.search(dSearch + `}`) }, 200, 68300005, ""},
		{"by image, other image", Fault{ImageURL: "https://img.example/else.png", Code: 68300005}, func(e *env) reply { return e.search(dSearch + `}`) }, 200, 0, ""},
		{"by endpoint, other endpoint", Fault{Endpoint: EndpointUpload, Code: 68300005}, func(e *env) reply { return e.search(dSearch + `}`) }, 200, 0, ""},
		{"by patent", Fault{Patent: "CN108977442B", Code: 67200007}, func(e *env) reply {
			return e.call(PathReportCreateNoLogo, `{"patent_number":"CN108977442B","report_type":"pdf"}`)
		}, 200, 67200007, ""},
		{"by patent, other patent", Fault{Patent: "CN108977442B", Code: 67200007}, func(e *env) reply {
			return e.call(PathReportCreate, `{"patent_number":"CN108977443B","report_type":"pdf"}`)
		}, 200, 0, ""},
		{"by job", Fault{JobID: "1579434053399035905", Code: 68300008}, func(e *env) reply {
			e.createJob(`{"patent_number":"CN108977442B","report_type":"pdf"}`)
			return e.status("1579434053399035905")
		}, 200, 68300008, ""},
		{"token endpoint", Fault{Endpoint: EndpointToken, HTTPStatus: 503}, func(e *env) reply {
			return e.do(http.MethodPost, PathToken, "", nil, []byte("grant_type=client_credentials"))
		}, 503, -1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			e.srv.AddFault(tt.fault)
			r := tt.call(e)
			if r.status != tt.wantHTTP {
				t.Errorf("HTTP %d, want %d: %s", r.status, tt.wantHTTP, r.body)
			}
			if tt.wantCode < 0 {
				if json.Valid(r.body) {
					t.Errorf("body is JSON: %s", r.body)
				}
			} else if got := r.code(t); got != tt.wantCode {
				t.Errorf("code %d, want %d", got, tt.wantCode)
			}
			if !strings.Contains(string(r.body), tt.wantInMsg) {
				t.Errorf("body %s lacks %q", r.body, tt.wantInMsg)
			}
			log := e.srv.Requests()
			if last := log[len(log)-1]; last.HTTPStatus != r.status || (tt.wantCode >= 0 && last.Code != tt.wantCode) {
				t.Errorf("logged %d/%d", last.HTTPStatus, last.Code)
			}
		})
	}
}

func TestFaultTimesAndClear(t *testing.T) {
	e := newEnv(t, Options{})
	e.srv.AddFault(Fault{Endpoint: EndpointSearchSingle, Code: 67200002, Times: 2})
	e.srv.AddFault(Fault{Endpoint: EndpointSearchSingle, Code: 68300008, Times: 1})
	var got []int
	for range 4 {
		got = append(got, e.search(dSearch+`}`).code(t))
	}
	if want := []int{67200002, 67200002, 68300008, 0}; !slices.Equal(got, want) {
		t.Errorf("codes %v, want %v", got, want)
	}
	e.srv.AddFault(Fault{Code: 68300008})
	for range 3 {
		if c := e.search(dSearch + `}`).code(t); c != 68300008 {
			t.Fatalf("unlimited fault stopped: %d", c)
		}
	}
	e.srv.ClearFaults()
	if c := e.search(dSearch + `}`).code(t); c != 0 {
		t.Errorf("after ClearFaults: %d", c)
	}
}

func TestFaultTruncate(t *testing.T) {
	e := newEnv(t, Options{})
	e.srv.AddFault(Fault{Endpoint: EndpointReportCreate, Truncate: true, Times: 1})
	_, err := e.try(context.Background(), http.MethodPost, PathReportCreate+"?apikey="+testKey, "Bearer "+testKey, nil,
		[]byte(`{"patent_number":"CN108977442B","report_type":"pdf"}`))
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("reading a truncated answer: %v, want unexpected EOF", err)
	}
	// The request was served before its answer was cut: the job exists.
	if c := e.status("1579434053399035905").code(t); c != 0 {
		t.Errorf("the job of the cut answer answers %d", c)
	}
}

func TestQPSCap(t *testing.T) {
	e := newEnv(t, Options{QPS: 2})
	codes := func(n int) []int {
		var out []int
		for range n {
			out = append(out, e.search(dSearch+`}`).code(t))
		}
		return out
	}
	if got := codes(4); !slices.Equal(got, []int{0, 0, CodeQPS, CodeQPS}) {
		t.Errorf("first second: %v", got)
	}
	e.clock.Add(999 * time.Millisecond) // still the same second of the clock
	if got := codes(1); !slices.Equal(got, []int{CodeQPS}) {
		t.Errorf("same second: %v", got)
	}
	e.clock.Add(time.Millisecond)
	if got := codes(3); !slices.Equal(got, []int{0, 0, CodeQPS}) {
		t.Errorf("next second: %v", got)
	}
	var qps int
	for _, r := range e.srv.Requests() {
		if r.Code == CodeQPS && r.HTTPStatus == 200 {
			qps++
		}
	}
	if qps != 4 {
		t.Errorf("%d requests logged as 67200002, want 4", qps)
	}
}

func TestJobsProgress(t *testing.T) {
	e := newEnv(t, Options{})
	r := e.call(PathReportCreate, `{"patent_number":"CN108977442B","report_type":"pdf"}`)
	if want := `{"data":{"job_id":1579434053399035905},"status":true,"error_code":0}`; string(r.body) != want {
		t.Fatalf("create answered\n%s\nwant\n%s", r.body, want)
	}
	var states []int
	for i := range 4 {
		s := e.status("1579434053399035905")
		if !bytes.Contains(s.body, []byte(`"job_id":1579434053399035905,`)) {
			t.Fatalf("poll %d: job id not echoed as the exact bare number: %s", i, s.body)
		}
		d := s.data(t)
		n, _ := d["job_status"].(json.Number).Int64()
		states = append(states, int(n))
		_, hasURL := d["download_url"]
		if hasURL != (n == 2) {
			t.Errorf("poll %d: status %d, download_url present %v", i, n, hasURL)
		}
	}
	if !slices.Equal(states, []int{0, 1, 2, 2}) {
		t.Errorf("states %v, want [0 1 2 2]", states)
	}
	// A float64 cannot hold the id: that is the point of the quirk.
	if float64(1579434053399035905) == 1579434053399035904 && uint64(float64(1579434053399035905)) == 1579434053399035905 {
		t.Fatal("the id is representable as float64")
	}
	id2 := e.createJob(`{"patent_id":"6e433449-143b-41d9-9abf-6c6519b07779","report_type":"word"}`)
	if id2 == "1579434053399035905" || uint64(float64(mustUint(t, id2))) == mustUint(t, id2) {
		t.Errorf("second job id %s repeats or fits a float64", id2)
	}
}

func mustUint(t *testing.T, s string) uint64 {
	t.Helper()
	var n uint64
	for _, c := range s {
		if c < '0' || c > '9' {
			t.Fatalf("job id %q is not decimal", s)
		}
		n = n*10 + uint64(c-'0')
	}
	return n
}

func TestJobsPollsToFinish(t *testing.T) {
	for _, tt := range []struct {
		polls int
		want  []int
	}{{-1, []int{2}}, {1, []int{0, 2}}, {3, []int{0, 1, 1, 2}}} {
		e := newEnv(t, Options{PollsToFinish: tt.polls})
		id := e.createJob(`{"patent_number":"US11234567B2","report_type":"pdf"}`)
		var got []int
		for range tt.want {
			n, _ := e.status(id).data(t)["job_status"].(json.Number).Int64()
			got = append(got, int(n))
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("PollsToFinish %d: %v, want %v", tt.polls, got, tt.want)
		}
	}
}

func TestFailJobAndForgetJobs(t *testing.T) {
	e := newEnv(t, Options{PollsToFinish: 1})
	e.srv.FailJob("CN108977442B", "由于服务器异常,正在修复中")
	failed := e.createJob(`{"patent_number":"CN108977442B","report_type":"pdf"}`)
	fine := e.createJob(`{"patent_number":"CN108977442B","report_type":"pdf"}`)
	e.status(failed)
	d := e.status(failed).data(t)
	if d["job_status"].(json.Number).String() != "3" || d["abnormal_cause"] != "由于服务器异常,正在修复中" {
		t.Errorf("failed job answered %v", d)
	}
	if _, has := d["download_url"]; has {
		t.Error("a failed job has a download_url")
	}
	e.status(fine)
	if s := e.status(fine).data(t)["job_status"].(json.Number).String(); s != "2" {
		t.Errorf("FailJob applied to a second job: status %s", s)
	}
	e.srv.ForgetJobs()
	for _, id := range []string{failed, fine, "12345"} {
		r := e.status(id)
		if r.code(t) != CodeNoReport || !strings.Contains(string(r.body), "Report does not exist") {
			t.Errorf("forgotten job %s: %s", id, r.body)
		}
	}
	for _, q := range []string{"", "?job_id=", "?job_id=12a"} {
		if c := e.call(PathReportStatus+q, "").code(t); c != CodeInvalidParam {
			t.Errorf("status %q: code %d", q, c)
		}
	}
	if e.createJob(`{"patent_number":"CN108977442B","report_type":"pdf"}`) == "" {
		t.Error("no job after ForgetJobs")
	}
}

func TestCreateValidation(t *testing.T) {
	e := newEnv(t, Options{Seed: 4})
	design := e.srv.corpus.view(true).ps[0]
	tests := []struct {
		body    string
		want    int
		wantMsg string
	}{
		{`{"patent_number":"CN108977442B","report_type":"word"}`, 0, ""},
		{`{"patent_number":"CN108977442B"}`, CodeInvalidParam, ""},
		{`{"patent_number":"CN108977442B","report_type":"docx"}`, CodeInvalidParam, ""},
		{`{"report_type":"pdf"}`, CodeInvalidParam, ""},
		{`{"patent_number":"bad number!","report_type":"pdf"}`, CodeInvalidParam, ""},
		{`{"patent_number":"USD912345S","report_type":"pdf"}`, CodeInvalidParam, "design patents are not supported"},
		{`{"patent_number":"DE402019100123S1","report_type":"pdf"}`, CodeInvalidParam, "design patents are not supported"},
		{`{"patent_number":"EU0065350760001S","report_type":"pdf"}`, CodeInvalidParam, "design patents are not supported"},
		{`{"patent_id":"` + design.id + `","report_type":"pdf"}`, CodeInvalidParam, "design patents are not supported"},
		{`{"patent_number":`, CodeBadRequest, ""},
	}
	for _, tt := range tests {
		r := e.call(PathReportCreate, tt.body)
		if got := r.code(t); got != tt.want || !strings.Contains(string(r.body), tt.wantMsg) {
			t.Errorf("%s: code %d, want %d %q: %s", tt.body, got, tt.want, tt.wantMsg, r.body)
		}
	}
}

// finishedURL creates a job, polls it to done and returns its download_url.
func (e *env) finishedURL(body string) string {
	e.t.Helper()
	id := e.createJob(body)
	for range 10 {
		d := e.status(id).data(e.t)
		if u, ok := d["download_url"].(string); ok {
			return u
		}
	}
	e.t.Fatal("job never finished")
	return ""
}

func (e *env) get(rawURL string) reply {
	e.t.Helper()
	resp, err := e.ts.Client().Get(rawURL)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

func TestDownload(t *testing.T) {
	e := newEnv(t, Options{})
	pdfURL := e.finishedURL(`{"patent_number":"CN108977442B","report_type":"pdf"}`)
	if !strings.HasPrefix(pdfURL, e.ts.URL+PathDownloadPrefix) || !strings.Contains(pdfURL, "CN108977442B_2025_03_14.pdf") {
		t.Errorf("download_url %s", pdfURL)
	}
	a, b := e.get(pdfURL), e.get(pdfURL)
	if a.status != 200 || !bytes.HasPrefix(a.body, []byte("%PDF-1.4")) || !bytes.HasSuffix(a.body, []byte("%%EOF\n")) ||
		len(a.body) < 2000 || a.header.Get("Content-Type") != "application/pdf" || a.header.Get("Content-Length") != itoa(len(a.body)) {
		t.Errorf("pdf: HTTP %d, %d bytes, type %q, length %q", a.status, len(a.body), a.header.Get("Content-Type"), a.header.Get("Content-Length"))
	}
	if !bytes.Equal(a.body, b.body) {
		t.Error("the file differs between two downloads")
	}
	word := e.get(e.finishedURL(`{"patent_number":"CN108977442B","report_type":"word"}`))
	if word.status != 200 || !bytes.HasPrefix(word.body, []byte("PK\x03\x04")) {
		t.Errorf("word: HTTP %d, starts %q", word.status, word.body[:min(4, len(word.body))])
	}

	u, _ := url.Parse(pdfURL)
	tampered := func(f func(q url.Values, u *url.URL)) string {
		c := *u
		q := c.Query()
		f(q, &c)
		c.RawQuery = q.Encode()
		return c.String()
	}
	for name, link := range map[string]string{
		"bad sign":     tampered(func(q url.Values, _ *url.URL) { q.Set("sign", strings.Repeat("0", 64)) }),
		"no sign":      tampered(func(q url.Values, _ *url.URL) { q.Del("sign") }),
		"longer life":  tampered(func(q url.Values, _ *url.URL) { q.Set("expires", "9999999999") }),
		"other file":   tampered(func(_ url.Values, c *url.URL) { c.Path = strings.Replace(c.Path, ".pdf", "x.pdf", 1) }),
		"other job id": tampered(func(_ url.Values, c *url.URL) { c.Path = strings.Replace(c.Path, "905/", "907/", 1) }),
	} {
		r := e.get(link)
		if r.status != 403 || !strings.Contains(string(r.body), "<Code>SignatureDoesNotMatch</Code>") {
			t.Errorf("%s: HTTP %d %s", name, r.status, r.body)
		}
	}
	// Links outlive ForgetJobs, and die 7 days after the job finished.
	e.srv.ForgetJobs()
	e.clock.Add(linkLifetime - time.Second)
	if r := e.get(pdfURL); r.status != 200 {
		t.Errorf("a second before expiry: HTTP %d", r.status)
	}
	e.clock.Add(time.Second)
	if r := e.get(pdfURL); r.status != 403 || !strings.Contains(string(r.body), "<Code>AccessDenied</Code>") {
		t.Errorf("expired: HTTP %d %s", r.status, r.body)
	}
}

func TestDownloadTruncated(t *testing.T) {
	e := newEnv(t, Options{})
	link := e.finishedURL(`{"patent_number":"CN108977442B","report_type":"pdf"}`)
	e.srv.AddFault(Fault{Endpoint: EndpointDownload, Truncate: true, Times: 1})
	resp, err := e.ts.Client().Get(link)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !errors.Is(err, io.ErrUnexpectedEOF) || resp.ContentLength <= int64(len(b)) {
		t.Errorf("got %d of %d bytes, err %v", len(b), resp.ContentLength, err)
	}
	if r := e.get(link); r.status != 200 || int64(len(r.body)) != resp.ContentLength {
		t.Errorf("after the fault: HTTP %d, %d bytes", r.status, len(r.body))
	}
}

var (
	pngImage = append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{1}, 100)...)
	jpgImage = append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, bytes.Repeat([]byte{2}, 100)...)
)

func (e *env) upload(field string, img []byte) reply {
	e.t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	w, _ := mw.CreateFormFile(field, "x.img")
	_, _ = w.Write(img)
	_ = mw.Close()
	return e.do(http.MethodPost, PathUpload+"?apikey="+testKey, "Bearer "+testKey,
		http.Header{"Content-Type": {mw.FormDataContentType()}}, b.Bytes())
}

func TestUpload(t *testing.T) {
	e := newEnv(t, Options{Seed: 9})
	r := e.upload("image", pngImage)
	d := r.data(t)
	link, _ := d["url"].(string)
	if d["expire"].(json.Number).String() != "32400" || !strings.HasPrefix(link, e.ts.URL+PathImagePrefix) ||
		!strings.Contains(link, ".png?") || !strings.Contains(link, "X-Amz-Signature=") {
		t.Fatalf("upload answered %s", r.body)
	}
	if again := e.upload("image", pngImage).data(t)["url"].(string); again == link || stripQuery(again) != stripQuery(link) {
		t.Error("a second upload should give the same path under a new signature")
	}
	if jpg := e.upload("image", jpgImage).data(t)["url"].(string); !strings.Contains(jpg, ".jpg?") {
		t.Errorf("jpeg url %s", jpg)
	}
	for name, c := range map[string]struct {
		field string
		img   []byte
		want  int
	}{
		"gif":      {"image", []byte("GIF89a....."), CodeBadUpload},
		"empty":    {"image", nil, CodeBadUpload},
		"too big":  {"image", append(slices.Clone(pngImage), make([]byte, MaxUpload)...), CodeBadUpload},
		"at limit": {"image", append(slices.Clone(pngImage), make([]byte, MaxUpload-len(pngImage))...), 0},
		"no field": {"file", pngImage, CodeInvalidParam},
	} {
		if got := e.upload(c.field, c.img).code(t); got != c.want {
			t.Errorf("%s: code %d, want %d", name, got, c.want)
		}
	}
	if c := e.call(PathUpload, `{"image":"x"}`).code(t); c != CodeBadRequest {
		t.Errorf("json upload: %d", c)
	}

	// The uploaded URL is searchable while it lives, under any host.
	search := func(u string) reply {
		return e.search(`{"url":"` + u + `","patent_type":"D","model":1,"limit":20}`)
	}
	h1, _ := e.hits(search(link))
	moved := strings.Replace(link, e.ts.URL, "http://localhost:1", 1)
	h2, _ := e.hits(search(moved))
	if !slices.Equal(pns(h1), pns(h2)) {
		t.Error("the same upload ranks differently under another host")
	}
	unknown := strings.Replace(link, PathImagePrefix, PathImagePrefix+"00", 1)
	if c := search(unknown).code(t); c != CodeInvalidParam {
		t.Errorf("never uploaded: %d", c)
	}
	e.clock.Add(uploadLifetime)
	if r := search(link); r.code(t) != CodeInvalidParam || !strings.Contains(string(r.body), "expired") {
		t.Errorf("expired upload: %s", r.body)
	}
	if got := e.srv.UploadedImages(); len(got) != 3 {
		t.Errorf("UploadedImages %v", got)
	}
}

func TestSnapshotRestore(t *testing.T) {
	o := Options{Seed: 21, ClientID: "cid", ClientSecret: "s"}
	a := newEnv(t, o)
	id := a.createJob(`{"patent_number":"CN108977442B","report_type":"pdf"}`)
	a.status(id)
	a.srv.FailJob("US11234567B2", "boom")
	a.upload("image", pngImage)
	tok := a.token("cid", "s")
	a.srv.Advance()
	a.srv.Advance()
	q := dSearch + `,"limit":100}`
	want, _ := a.hits(a.search(q))
	snap, err := a.srv.Snapshot()
	if err != nil {
		t.Fatal(err)
	}

	b := newEnv(t, o)
	if err := b.srv.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if b.srv.Epoch() != 2 {
		t.Errorf("epoch %d", b.srv.Epoch())
	}
	got, _ := b.hits(b.search(q))
	if !slices.Equal(pns(got), pns(want)) {
		t.Error("the restored corpus ranks differently")
	}
	if s := b.status(id).data(t)["job_status"].(json.Number).String(); s != "1" {
		t.Errorf("restored job's second poll: status %s, want 1", s)
	}
	next := b.createJob(`{"patent_number":"US11234567B2","report_type":"pdf"}`)
	if next == id {
		t.Error("job ids restart after Restore")
	}
	b.status(next)
	b.status(next)
	if s := b.status(next).data(t)["job_status"].(json.Number).String(); s != "3" {
		t.Errorf("restored FailJob: status %s", s)
	}
	if c := b.do(http.MethodPost, PathSearchSingle+"?apikey=cid", "Bearer "+tok, nil, []byte(dSearch+`}`)).code(t); c != 0 {
		t.Errorf("restored token: %d", c)
	}
	if len(b.srv.UploadedImages()) != 1 {
		t.Error("uploads not restored")
	}
	snap2, _ := b.srv.Snapshot()
	if err := New(Options{Seed: 21}).Restore(snap2); err != nil {
		t.Errorf("restoring a restored snapshot: %v", err)
	}

	for name, bad := range map[string][]byte{
		"not json":    []byte("{"),
		"other seed":  bytes.Replace(snap, []byte(`"seed": 21`), []byte(`"seed": 22`), 1),
		"version":     bytes.Replace(snap, []byte(`"version": 1`), []byte(`"version": 9`), 1),
		"epoch":       bytes.Replace(snap, []byte(`"epoch": 2`), []byte(`"epoch": -1`), 1),
		"next job id": bytes.Replace(snap, []byte(`"next_job": "`), []byte(`"next_job": "x`), 1),
	} {
		c := New(Options{Seed: 21})
		if err := c.Restore(bad); err == nil {
			t.Errorf("%s: Restore accepted it", name)
		}
		if c.Epoch() != 0 {
			t.Errorf("%s: a failed Restore changed the server", name)
		}
	}
}

func TestRequestLog(t *testing.T) {
	e := newEnv(t, Options{})
	e.search(dSearch + `}`)
	e.call(PathReportCreate, `{"patent_number":"USD1S","report_type":"pdf"}`)
	e.do(http.MethodGet, "/nowhere?apikey=k", "", http.Header{"X-Trace": {"1"}}, nil)
	log := e.srv.Requests()
	want := []struct {
		ep     Endpoint
		method string
		path   string
		code   int
		status int
	}{
		{EndpointSearchSingle, "POST", PathSearchSingle, 0, 200},
		{EndpointReportCreate, "POST", PathReportCreate, CodeInvalidParam, 200},
		{EndpointUnknown, "GET", "/nowhere", CodeUnknownPath, 404},
	}
	if len(log) != len(want) {
		t.Fatalf("%d requests logged", len(log))
	}
	for i, w := range want {
		r := log[i]
		if r.Endpoint != w.ep || r.Method != w.method || r.Path != w.path || r.Code != w.code || r.HTTPStatus != w.status {
			t.Errorf("request %d: %+v", i, r)
		}
	}
	if log[0].Query.Get("apikey") != testKey || log[0].Header.Get("Authorization") != "Bearer "+testKey ||
		string(log[0].Body) != dSearch+`}` || log[2].Header.Get("X-Trace") != "1" {
		t.Errorf("request 0 recorded wrongly: %+v", log[0])
	}
	log[0].Body[0] = 'X'
	log[0].Query.Set("apikey", "changed")
	log[0].Header.Set("Authorization", "changed")
	again := e.srv.Requests()
	if again[0].Body[0] != '{' || again[0].Query.Get("apikey") != testKey || again[0].Header.Get("Authorization") != "Bearer "+testKey {
		t.Error("Requests returned shared memory")
	}
	e.srv.ResetRequests()
	if n := len(e.srv.Requests()); n != 0 {
		t.Errorf("%d requests after ResetRequests", n)
	}
}

func TestLatencyEndsWithContext(t *testing.T) {
	e := newEnv(t, Options{Latency: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := e.try(ctx, http.MethodPost, PathSearchSingle+"?apikey="+testKey, "Bearer "+testKey, nil, []byte(dSearch+`}`))
		done <- err
	}()
	// Wait for the request to arrive, then give up on it.
	for len(e.srv.Requests()) == 0 {
		select {
		case err := <-done:
			t.Fatalf("answered despite an hour of latency: %v", err)
		default:
			time.Sleep(time.Millisecond)
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("err %v", err)
	}
	// The server-side handler returns once it sees the context end; the
	// entry then stays without an answer.
	e.ts.Close()
	if r := e.srv.Requests()[0]; r.HTTPStatus != 0 {
		t.Errorf("logged HTTP %d for an unanswered request", r.HTTPStatus)
	}
}

func TestConcurrentUse(t *testing.T) {
	e := newEnv(t, Options{Seed: 8})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				e.search(dSearch + `,"limit":50}`)
				e.call(PathReportCreate, `{"patent_number":"CN108977442B","report_type":"pdf"}`)
				if i == 0 {
					e.srv.Advance()
				}
				_, _ = e.srv.Snapshot()
			}
		}()
	}
	wg.Wait()
	if n := len(e.srv.Requests()); n != 80 {
		t.Errorf("%d requests logged, want 80", n)
	}
}

// BenchmarkSearch measures whole P060 answers through ServeHTTP (routing,
// auth, ranking, presigning, JSON) and the ranking alone.
func BenchmarkSearch(b *testing.B) {
	srv := New(Options{APIKeys: []string{testKey}, Seed: 1})
	for _, bc := range []struct{ name, body string }{
		{"limit10", `{"url":"https://img.example/phone.png","patent_type":"D","model":1}`},
		{"limit100-offset200-3countries", `{"url":"https://img.example/phone.png","patent_type":"D","model":1,"limit":100,"offset":200,"country":["CN","US","EU"]}`},
		{"limit100-offset1000", `{"url":"https://img.example/phone.png","patent_type":"D","model":1,"limit":100,"offset":1000}`},
	} {
		body := []byte(bc.body)
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, PathSearchSingle+"?apikey="+testKey, bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+testKey)
				w := httptest.NewRecorder()
				srv.ServeHTTP(w, req)
				if w.Code != 200 {
					b.Fatal(w.Body.String())
				}
				srv.ResetRequests()
			}
		})
	}
	b.Run("rank-only-limit10", func(b *testing.B) {
		q, refusal := srv.parseSearch(EndpointSearchSingle, []byte(`{"url":"https://img.example/phone.png","patent_type":"D","model":1}`))
		if refusal != nil {
			b.Fatal(string(refusal.body))
		}
		b.ReportAllocs()
		for b.Loop() {
			srv.rank(q, 0)
		}
	})
}

func jsonValid(b []byte) bool { return json.Valid(b) }

func TestTruncateWithoutConnection(t *testing.T) {
	srv := New(Options{APIKeys: []string{testKey}})
	srv.AddFault(Fault{Truncate: true})
	req := httptest.NewRequest(http.MethodPost, PathReportCreate+"?apikey="+testKey,
		strings.NewReader(`{"patent_number":"CN108977442B","report_type":"pdf"}`))
	req.Header.Set("Authorization", "Bearer "+testKey)
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, req) // must not panic outside an http.Server
	if w.Header().Get("Content-Length") != itoa(2*w.Body.Len()+1) && w.Header().Get("Content-Length") != itoa(2*w.Body.Len()) {
		t.Errorf("Content-Length %s for %d written bytes", w.Header().Get("Content-Length"), w.Body.Len())
	}
	if json.Valid(w.Body.Bytes()) {
		t.Errorf("a truncated body is valid JSON: %s", w.Body.Bytes())
	}
}

func TestMessage(t *testing.T) {
	if got := Message(CodeNoReport); got != "Report does not exist" {
		t.Errorf("Message(68300013) = %q", got)
	}
	if got := Message(12345); got != "Error 12345" {
		t.Errorf("Message(12345) = %q", got)
	}
}

func TestListenLoopback(t *testing.T) {
	srv := New(Options{APIKeys: []string{testKey}, PollsToFinish: -1})
	base, stop, err := srv.ListenLoopback()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Errorf("base %s", base)
	}
	req, _ := http.NewRequest(http.MethodPost, base+PathReportCreate+"?apikey="+testKey,
		strings.NewReader(`{"patent_number":"CN108977442B","report_type":"pdf"}`))
	req.Header.Set("Authorization", "Bearer "+testKey)
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"job_id":1579434053399035905`) {
		t.Errorf("answer %s", b)
	}
	if err := stop(); err != nil {
		t.Errorf("stop: %v", err)
	}
	if _, err := client.Get(base + PathReportStatus); err == nil {
		t.Error("still serving after stop")
	}
}

func TestCorpusShape(t *testing.T) {
	srv := New(Options{Seed: 12})
	for range 3 {
		srv.Advance()
	}
	formats := map[string]*regexp.Regexp{
		"USD": regexp.MustCompile(`^USD\d{6}S$`),
		"EUD": regexp.MustCompile(`^EU\d{13}S$`),
		"CND": regexp.MustCompile(`^CN3\d{8}S$`),
		"CNU": regexp.MustCompile(`^CN2\d{8}U$`),
		"JPD": regexp.MustCompile(`^JP\d{7}S$`),
		"JPU": regexp.MustCompile(`^JP\d{7}U$`),
		"KRD": regexp.MustCompile(`^KR30\d{7}S$`),
		"KRU": regexp.MustCompile(`^KR20\d{7}Y1$`),
		"DED": regexp.MustCompile(`^DE40\d{10,}S1$`),
		"DEU": regexp.MustCompile(`^DE20\d{10,}U1$`),
		"WOD": regexp.MustCompile(`^WODM\d{6}S$`),
	}
	seenPN, seenID := map[string]bool{}, map[string]bool{}
	kinds := map[string]int{}
	for _, design := range []bool{true, false} {
		for _, p := range srv.corpus.view(design).ps {
			kind := offices[p.office] + map[bool]string{true: "D", false: "U"}[p.design]
			kinds[kind]++
			if re := formats[kind]; re == nil || !re.MatchString(p.pn) {
				t.Errorf("%s: number %s has no %s format", kind, p.pn, kind)
			}
			if seenPN[p.pn] || seenID[p.id] {
				t.Errorf("%s or %s repeats", p.pn, p.id)
			}
			seenPN[p.pn], seenID[p.id] = true, true
			if p.apdt >= p.pbdt || p.apdt < 20080101 || p.pbdt > 20271231 {
				t.Errorf("%s: filed %d, published %d", p.pn, p.apdt, p.pbdt)
			}
			if (p.loc >= 0) != p.design || p.design != designKind.MatchString(p.pn) {
				t.Errorf("%s: design %v, loc %d", p.pn, p.design, p.loc)
			}
			if p.titleEN == "" || p.titleZH == "" || p.current == "" || p.inventor == "" || p.apno == "" {
				t.Errorf("%s: missing fields %+v", p.pn, p)
			}
		}
	}
	if len(kinds) != len(formats) || len(seenPN) != basePatents+3*newPerEpoch {
		t.Errorf("kinds %v, %d patents", kinds, len(seenPN))
	}
}

// TestSearchIgnoresUnknownFilters: a filter the fake does not know is
// accepted and ignored like the documented ones it does not apply, so that
// adding a filter to the client needs no change here.
func TestSearchIgnoresUnknownFilters(t *testing.T) {
	e := newEnv(t, Options{})
	const q = `"url":"https://img.example/phone.png","patent_type":"D","model":1,"limit":50`
	want, wantTotal := e.hits(e.search(`{` + q + `}`))
	got, total := e.hits(e.search(`{` + q + `,"design_code":"x","new_codes":"1,2","new_switch":1}`))
	if !slices.Equal(pns(got), pns(want)) || total != wantTotal {
		t.Errorf("with unknown filters: %d of %d hits, want %d of %d", len(got), total, len(want), wantTotal)
	}
}
