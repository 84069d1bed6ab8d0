package patsnap_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/patwatch/patwatch/internal/patsnap"
	"github.com/patwatch/patwatch/internal/patsnap/fake"
)

// These tests run the client against the fake API over loopback, through
// the exported surface only.

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return nil
}

const (
	fakeID     = "fake-client-id"
	fakeSecret = "fake-client-secret-xyz"
	fakeKey    = "sk-fake-key-123456"
)

type fakeEnv struct {
	srv    *fake.Server
	url    string
	client *patsnap.Client
	clk    *clock
}

// newFakeEnv starts the fake sharing the client's clock; edit adjusts both.
func newFakeEnv(t *testing.T, o fake.Options, edit func(*patsnap.Config)) *fakeEnv {
	t.Helper()
	clk := &clock{t: time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)}
	o.ClientID, o.ClientSecret, o.APIKeys = fakeID, fakeSecret, []string{fakeKey}
	if o.Now == nil {
		o.Now = clk.Now
	}
	srv := fake.New(o)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	cfg := patsnap.Config{
		BaseURL: ts.URL, HTTPClient: ts.Client(),
		ClientID: fakeID, ClientSecret: fakeSecret,
		QPS: 50, RateJitter: -1, MaxRetries: 3,
		Now: clk.Now, Sleep: clk.Sleep, Rand: func() float64 { return 0 },
	}
	if edit != nil {
		edit(&cfg)
	}
	c, err := patsnap.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &fakeEnv{srv: srv, url: ts.URL, client: c, clk: clk}
}

func (e *fakeEnv) count(ep fake.Endpoint) int {
	n := 0
	for _, r := range e.srv.Requests() {
		if r.Endpoint == ep {
			n++
		}
	}
	return n
}

// TestFakeEndToEnd: upload, search, report, poll, download, for every
// token shape; the job id survives exactly and credentials stay home.
func TestFakeEndToEnd(t *testing.T) {
	for _, shape := range []fake.TokenShape{fake.TokenDocumented, fake.TokenEnveloped, fake.TokenAccessToken} {
		t.Run(fmt.Sprint(shape), func(t *testing.T) {
			e := newFakeEnv(t, fake.Options{TokenShape: shape, Seed: 7}, nil)
			ctx := context.Background()
			img := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), "end-to-end"...)
			up, err := e.client.UploadImage(ctx, "chair.png", img)
			if err != nil {
				t.Fatal(err)
			}
			res, err := e.client.Search(ctx, patsnap.SearchRequest{URLs: []string{up.URL}, PatentType: "D", Model: 1, MaxResults: 150})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Hits) == 0 || res.Calls != 2 {
				t.Fatalf("%d hits in %d calls (total %d)", len(res.Hits), res.Calls, res.Total)
			}
			// Search hits are designs, which R002 does not support: report on an invention.
			id, err := e.client.CreateReport(ctx, patsnap.ReportRequest{PatentNumber: "CN108977442B", Format: "pdf", Logo: true})
			if err != nil {
				t.Fatal(err)
			}
			if id != "1579434053399035905" {
				t.Fatalf("job id %q", id)
			}
			var st *patsnap.ReportStatus
			for i := 0; i < 10; i++ {
				if st, err = e.client.ReportStatus(ctx, id); err != nil {
					t.Fatal(err)
				}
				if st.JobStatus == patsnap.JobDone {
					break
				}
			}
			if st.JobStatus != patsnap.JobDone || st.JobID != id {
				t.Fatalf("status %+v", st)
			}
			target := filepath.Join(t.TempDir(), "report.pdf")
			d, err := e.client.Download(ctx, st.DownloadURL, target, "pdf")
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(target)
			sum := sha256.Sum256(b)
			if err != nil || d.Size != int64(len(b)) || d.SHA256 != hex.EncodeToString(sum[:]) {
				t.Fatalf("download %+v: %v", d, err)
			}
			if n := e.count(fake.EndpointToken); n != 1 {
				t.Errorf("%d token requests", n)
			}
			for _, r := range e.srv.Requests() {
				switch r.Endpoint {
				case fake.EndpointReportStatus:
					if got := r.Query.Get("job_id"); got != id {
						t.Errorf("status asked for job %q", got)
					}
				case fake.EndpointDownload:
					if r.Header.Get("Authorization") != "" || r.Query.Has("apikey") {
						t.Errorf("credentials sent with the download")
					}
				}
			}
		})
	}
}

// TestFakeExpiredTokenRefreshedOnce: the server expires the token before
// the client expects; the 67200009 answer is met with one new token.
func TestFakeExpiredTokenRefreshedOnce(t *testing.T) {
	serverClock := &clock{t: time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)}
	e := newFakeEnv(t, fake.Options{Now: serverClock.Now, PollsToFinish: 100}, nil)
	ctx := context.Background()
	id, err := e.client.CreateReport(ctx, patsnap.ReportRequest{PatentNumber: "CN108977442B", Format: "word"})
	if err != nil {
		t.Fatal(err)
	}
	serverClock.Sleep(ctx, time.Hour) // only the server's time moves
	if _, err := e.client.ReportStatus(ctx, id); err != nil {
		t.Fatal(err)
	}
	if n := e.count(fake.EndpointToken); n != 2 {
		t.Errorf("%d token requests, want 2", n)
	}
	if st := e.client.Stats(); st.Refreshes != 1 || st.Retries != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestFakeFaults: injected faults are retried or not according to class.
func TestFakeFaults(t *testing.T) {
	tests := []struct {
		name     string
		fault    fake.Fault
		ok       bool
		class    patsnap.Class
		attempts int
	}{
		{"service error twice", fake.Fault{Code: 68300008, Times: 2}, true, 0, 3},
		{"busy once", fake.Fault{Code: 67200100, Times: 1}, true, 0, 2},
		{"qps once", fake.Fault{Code: 67200002, Times: 1}, true, 0, 2},
		{"gateway 503 once", fake.Fault{HTTPStatus: 503, Times: 1}, true, 0, 2},
		{"truncated once", fake.Fault{Truncate: true, Times: 1}, true, 0, 2},
		{"malformed once", fake.Fault{Malformed: true, Times: 1}, true, 0, 2},
		{"service error always", fake.Fault{Code: 68300008}, false, patsnap.ClassRetryable, 4},
		// Rate limits from an endpoint that never answered end in an
		// account-wide error once they have lasted 5 minutes (11 requests
		// on the client's clock); from a server that is merely busy, they
		// are retried beyond MaxRetries (TestFakeBusyServerRetriedBeyondMaxRetries).
		{"qps always", fake.Fault{Code: 67200002}, false, patsnap.ClassAccount, 11},
		{"429 with error_code 429 once", fake.Fault{HTTPStatus: 429, Times: 1}, true, 0, 2},
		{"invalid parameter", fake.Fault{Code: 68300004}, false, patsnap.ClassInvalid, 1},
		{"daily limit", fake.Fault{Code: 67200007}, false, patsnap.ClassAccount, 1},
		{"no permission", fake.Fault{Code: 67200004}, false, patsnap.ClassAuth, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newFakeEnv(t, fake.Options{Seed: 1}, func(c *patsnap.Config) { c.APIKey = fakeKey })
			tt.fault.Endpoint = fake.EndpointSearchSingle
			e.srv.AddFault(tt.fault)
			_, err := e.client.Search(context.Background(), patsnap.SearchRequest{URLs: []string{"https://img.example/a.png"}, PatentType: "D", Model: 1, MaxResults: 10})
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v", err)
			}
			if err != nil && patsnap.ClassOf(err) != tt.class {
				t.Errorf("class %v, want %v", patsnap.ClassOf(err), tt.class)
			}
			if n := e.count(fake.EndpointSearchSingle); n != tt.attempts {
				t.Errorf("%d attempts, want %d", n, tt.attempts)
			}
		})
	}
}

// TestFakeRateCap: the fake admits ceil(QPS) calls per one-second window
// of its clock and answers 67200002 beyond. A client capped a little below
// that rate, on the same clock, never trips it, and the clock time the calls
// take is exactly the limiter's schedule.
func TestFakeRateCap(t *testing.T) {
	e := newFakeEnv(t, fake.Options{QPS: 3, Seed: 2}, func(c *patsnap.Config) { c.QPS = 2.9; c.APIKey = fakeKey })
	start := e.clk.Now()
	for i := range 12 {
		req := patsnap.SearchRequest{URLs: []string{fmt.Sprintf("https://img.example/%d.png", i)}, PatentType: "D", Model: 1, MaxResults: 5}
		if _, err := e.client.Search(context.Background(), req); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range e.srv.Requests() {
		if r.Code == 67200002 {
			t.Fatalf("server rate limit hit")
		}
	}
	if st := e.client.Stats(); st.Retries != 0 || st.Requests[patsnap.EndpointSearchSingle] != 12 {
		t.Errorf("stats %+v", st)
	}
	if elapsed, want := e.clk.Now().Sub(start), 11*(time.Second*10/29); elapsed < want-time.Millisecond || elapsed > want+time.Millisecond {
		t.Errorf("12 calls at 2.9 QPS took %v of clock time, want %v", elapsed, want)
	}
}

// TestFakePagingAndDedup: pinned results over several pages, never past
// offset 1000.
func TestFakePagingAndDedup(t *testing.T) {
	e := newFakeEnv(t, fake.Options{Seed: 3}, func(c *patsnap.Config) { c.APIKey = fakeKey })
	const img = "https://img.example/many.png"
	hits := make([]fake.Hit, 1500)
	for i := range hits {
		hits[i] = fake.Hit{PatentPN: fmt.Sprintf("CN%07dS", i), Score: 1 - float64(i)/2000}
	}
	e.srv.SetResults(img, -1, hits...)
	res, err := e.client.Search(context.Background(), patsnap.SearchRequest{URLs: []string{img}, PatentType: "D", Model: 1, MaxResults: 5000})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Hits) != patsnap.MaxReachable || res.Calls != 11 || res.Total != 1500 {
		t.Fatalf("%d hits, %d calls, total %d", len(res.Hits), res.Calls, res.Total)
	}
	for i, h := range res.Hits {
		if h.PatentPN != hits[i].PatentPN {
			t.Fatalf("hit %d = %s", i, h.PatentPN)
		}
	}
	for _, r := range e.srv.Requests() {
		if r.Code != 0 {
			t.Errorf("request answered %d", r.Code)
		}
	}
}

// TestFakeUploadReuse: the same bytes are uploaded once; after the URL's
// life nearly ends they are uploaded again and the new URL searches fine.
func TestFakeUploadReuse(t *testing.T) {
	e := newFakeEnv(t, fake.Options{Seed: 4}, nil)
	ctx := context.Background()
	img := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), "reuse"...)
	u1, err := e.client.UploadImage(ctx, "a.png", img)
	if err != nil {
		t.Fatal(err)
	}
	if u2, err := e.client.UploadImage(ctx, "b.png", img); err != nil || u2.URL != u1.URL || !u2.Reused {
		t.Fatalf("second upload %v %v", u2, err)
	}
	e.clk.Sleep(ctx, 8*time.Hour+30*time.Minute)
	u3, err := e.client.UploadImage(ctx, "a.png", img)
	if err != nil {
		t.Fatal(err)
	}
	if n := e.count(fake.EndpointUpload); n != 2 || u3.URL == u1.URL {
		t.Fatalf("%d uploads", n)
	}
	if _, err := e.client.Search(ctx, patsnap.SearchRequest{URLs: []string{u3.URL}, PatentType: "D", Model: 2, MaxResults: 10}); err != nil {
		t.Fatal(err)
	}
}

// TestFakeDownloadTruncated: a download cut by the fake leaves no file.
func TestFakeDownloadTruncated(t *testing.T) {
	e := newFakeEnv(t, fake.Options{Seed: 5, PollsToFinish: -1}, func(c *patsnap.Config) { c.APIKey = fakeKey; c.MaxRetries = 1 })
	ctx := context.Background()
	id, err := e.client.CreateReport(ctx, patsnap.ReportRequest{PatentNumber: "CN108977442B", Format: "pdf", Logo: true})
	if err != nil {
		t.Fatal(err)
	}
	st, err := e.client.ReportStatus(ctx, id)
	if err != nil || st.JobStatus != patsnap.JobDone {
		t.Fatalf("status %+v %v", st, err)
	}
	e.srv.AddFault(fake.Fault{Endpoint: fake.EndpointDownload, Truncate: true})
	dir := t.TempDir()
	_, err = e.client.Download(ctx, st.DownloadURL, filepath.Join(dir, "r.pdf"), "pdf")
	if patsnap.ClassOf(err) != patsnap.ClassRetryable {
		t.Fatalf("err = %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left %v", entries)
	}
}

// TestFakeReuploadReplacesTheCachedURL: a reused URL the API refuses is
// replaced by ReuploadImage, and the cache then holds the new one.
func TestFakeReuploadReplacesTheCachedURL(t *testing.T) {
	e := newFakeEnv(t, fake.Options{}, nil)
	ctx := context.Background()
	img := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), "reupload"...)
	u1, err := e.client.UploadImage(ctx, "a.png", img)
	if err != nil || u1.Reused {
		t.Fatalf("first upload %v %v", u1, err)
	}
	u2, err := e.client.ReuploadImage(ctx, "a.png", img)
	if err != nil || u2.Reused {
		t.Fatalf("reupload %v %v; want a fresh upload", u2, err)
	}
	u3, err := e.client.UploadImage(ctx, "a.png", img)
	if err != nil || u3.URL != u2.URL || !u3.Reused {
		t.Errorf("after the reupload: %v %v; want the new URL, reused", u3, err)
	}
	if n := e.client.Stats().Requests[patsnap.EndpointUpload]; n != 2 {
		t.Errorf("%d uploads, want 2", n)
	}
}

// TestFakeCutCreateMakesOneJob: the fake creates the job, then cuts its
// answer. The client does not send the create again: the account holds one
// job, and the error says its outcome is unknown.
func TestFakeCutCreateMakesOneJob(t *testing.T) {
	e := newFakeEnv(t, fake.Options{}, func(c *patsnap.Config) { c.APIKey = fakeKey })
	e.srv.AddFault(fake.Fault{Endpoint: fake.EndpointReportCreate, Truncate: true})
	_, err := e.client.CreateReport(context.Background(), patsnap.ReportRequest{PatentNumber: "CN108977442B", Format: "pdf", Logo: true})
	if !errors.Is(err, patsnap.ErrOutcomeUnknown) {
		t.Fatalf("err = %v, want ErrOutcomeUnknown", err)
	}
	if n := e.srv.JobsCreated(); n != 1 {
		t.Errorf("%d jobs created on the account, want 1", n)
	}
}

// TestFakeDownloadWrongBodies: the bodies storage hosts answer with status
// 200 where the report belongs are refused and leave no file; the fake's
// real PDF and DOCX reports pass.
func TestFakeDownloadWrongBodies(t *testing.T) {
	e := newFakeEnv(t, fake.Options{Seed: 5, PollsToFinish: -1}, func(c *patsnap.Config) { c.APIKey = fakeKey })
	ctx := context.Background()
	link := func(format string) string {
		id, err := e.client.CreateReport(ctx, patsnap.ReportRequest{PatentNumber: "CN108977442B", Format: format, Logo: true})
		if err != nil {
			t.Fatal(err)
		}
		st, err := e.client.ReportStatus(ctx, id)
		if err != nil || st.JobStatus != patsnap.JobDone {
			t.Fatalf("status %+v %v", st, err)
		}
		return st.DownloadURL
	}
	pdf, word := link("pdf"), link("word")
	dir := t.TempDir()
	for name, f := range map[string]fake.Fault{
		"maintenance page": {Body: fake.MaintenancePage, ContentType: "text/html"},
		"error envelope":   {Body: fake.ErrorEnvelope},
		"null":             {Body: fake.NullBody},
		"half a file":      {HalfBody: true},
	} {
		for format, u := range map[string]string{"pdf": pdf, "word": word} {
			f.Endpoint, f.Times = fake.EndpointDownload, 1
			e.srv.AddFault(f)
			_, err := e.client.Download(ctx, u, filepath.Join(dir, "r"), format)
			if !errors.Is(err, patsnap.ErrNotReport) {
				t.Errorf("%s as %s: err = %v, want ErrNotReport", name, format, err)
			}
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left %v", entries)
	}
	for format, u := range map[string]string{"pdf": pdf, "word": word} {
		if _, err := e.client.Download(ctx, u, filepath.Join(dir, format), format); err != nil {
			t.Errorf("the fake's %s report: %v", format, err)
		}
	}
}
