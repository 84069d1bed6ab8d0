package patsnap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestJobIDRoundTrip: an id above 2^53, sent as a bare JSON number, comes
// back from CreateReport and goes out to the status call digit for digit.
func TestJobIDRoundTrip(t *testing.T) {
	const id = "1579434053399035905" // float64 would make it …036000
	for _, asString := range []bool{false, true} {
		t.Run(fmt.Sprintf("string=%v", asString), func(t *testing.T) {
			s := newStubAPI(t)
			enc := id
			if asString {
				enc = `"` + id + `"`
			}
			s.handle(createPath, func(w http.ResponseWriter, r *http.Request) {
				okData(w, `{"job_id":`+enc+`}`)
			})
			s.handle(statusPath, func(w http.ResponseWriter, r *http.Request) {
				if !strings.Contains(r.URL.RawQuery, "job_id="+id) {
					apiErr(w, 200, 68300013, "Report does not exist")
					return
				}
				// Like the documentation's example, answer with a rounded id.
				okData(w, `{"job_id":1579434053399036000,"queue_num":0,"job_status":2,"download_url":"https://dl/x.pdf?sign=abc"}`)
			})
			c, _ := s.client(nil)
			got, err := c.CreateReport(context.Background(), ReportRequest{PatentNumber: "CN108977442B", Format: "pdf", Logo: true})
			if err != nil {
				t.Fatal(err)
			}
			if got != id {
				t.Fatalf("job id %q, want %q", got, id)
			}
			st, err := c.ReportStatus(context.Background(), got)
			if err != nil {
				t.Fatal(err)
			}
			if st.JobID != id || st.JobStatus != JobDone || st.DownloadURL != "https://dl/x.pdf?sign=abc" {
				t.Errorf("status %+v", st)
			}
			if q := s.requests(statusPath)[0].Query.Get("job_id"); q != id {
				t.Errorf("status job_id %q", q)
			}
		})
	}
}

func TestCreateReportWire(t *testing.T) {
	tests := []struct {
		req  ReportRequest
		path string
		body map[string]any
	}{
		{ReportRequest{PatentNumber: "CN108977442B", Format: "pdf", Logo: true}, createPath,
			map[string]any{"patent_number": "CN108977442B", "report_type": "pdf"}},
		{ReportRequest{PatentID: "6e433449-143b-41d9-9abf-6c6519b07779", Format: "word"}, noLogoPath,
			map[string]any{"patent_id": "6e433449-143b-41d9-9abf-6c6519b07779", "report_type": "word"}},
	}
	for _, tt := range tests {
		s := newStubAPI(t)
		s.handle(tt.path, func(w http.ResponseWriter, r *http.Request) { okData(w, `{"job_id":12}`) })
		c, _ := s.client(nil)
		if _, err := c.CreateReport(context.Background(), tt.req); err != nil {
			t.Fatal(err)
		}
		r := s.requests(tt.path)[0]
		var got map[string]any
		if err := json.Unmarshal(r.Body, &got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, tt.body) || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s body %v, want %v", tt.path, got, tt.body)
		}
	}
}

func TestCreateReportRejectsBadRequests(t *testing.T) {
	s := newStubAPI(t)
	c, _ := s.client(nil)
	for _, req := range []ReportRequest{
		{Format: "pdf"},
		{PatentNumber: "A", PatentID: "B", Format: "pdf"},
		{PatentNumber: "A", Format: "docx"},
		{PatentNumber: "A"},
	} {
		_, err := c.CreateReport(context.Background(), req)
		mustClass(t, err, ClassInvalid)
	}
	for _, id := range []string{"", "1;2", "12 3", "1&apikey=x"} {
		_, err := c.ReportStatus(context.Background(), id)
		mustClass(t, err, ClassInvalid)
	}
	if n := s.count(""); n != 0 {
		t.Errorf("%d requests for invalid input", n)
	}
}

// TestCreateReportRetries: creation is repeated after an answer that says
// it failed, but not after a request that may have created a job unseen.
func TestCreateReportRetries(t *testing.T) {
	tests := []struct {
		name     string
		first    func(w http.ResponseWriter)
		attempts int
		ok       bool
	}{
		{"service error answer", func(w http.ResponseWriter) { apiErr(w, 200, 68300008, "service error") }, 2, true},
		{"rate limited answer", func(w http.ResponseWriter) { apiErr(w, 200, 67200002, "too fast") }, 2, true},
		{"HTTP 502", func(w http.ResponseWriter) { w.WriteHeader(502) }, 2, true},
		{"connection cut after sending", cutConnection, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStubAPI(t)
			var mu sync.Mutex
			n := 0
			s.handle(createPath, func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				n++
				k := n
				mu.Unlock()
				if k == 1 {
					tt.first(w)
					return
				}
				okData(w, `{"job_id":99}`)
			})
			c, _ := s.client(nil)
			_, err := c.CreateReport(context.Background(), ReportRequest{PatentNumber: "CN1", Format: "pdf", Logo: true})
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v", err)
			}
			if err != nil {
				mustClass(t, err, ClassRetryable)
			}
			if got := s.count(createPath); got != tt.attempts {
				t.Errorf("%d attempts, want %d", got, tt.attempts)
			}
		})
	}
}

// TestCreateReportRetriesRefusedConnection: no connection, no job: safe to
// repeat.
func TestCreateReportRetriesRefusedConnection(t *testing.T) {
	s := newStubAPI(t)
	c, _ := s.client(func(cfg *Config) { cfg.APIKey = testAPIKey })
	s.srv.Close()
	_, err := c.CreateReport(context.Background(), ReportRequest{PatentNumber: "CN1", Format: "pdf", Logo: true})
	mustClass(t, err, ClassRetryable)
	if got := c.Stats().Retries; got != 3 {
		t.Errorf("%d retries, want 3", got)
	}
}

func TestReportStatusAnswers(t *testing.T) {
	doc, err := os.ReadFile("testdata/r002_status_example.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		answer string
		want   *ReportStatus
		class  Class
	}{
		{"documentation example", string(doc), &ReportStatus{JobID: "5", JobStatus: JobExporting, QueueNum: 10,
			DownloadURL:   "https://open.zhihuiya.com/tffi-export/20241126074833/9cf648f8-8283-4767-9a14-f90f68303f3e/CN108977442B_2024_11_26.docx?sign=q-sign-algorithm%3Dsha1%26q-ak%3DAKIDV4ZwCNYgUAwepmojSxCD0c6PXN8mDiBS%26q-sign-time%3D1732607317%3B1733212117%26q-key-time%3D1732607317%3B1733212117%26q-header-list%3Dhost%26q-url-param-list%3Dresponse-content-disposition%26q-signature%3D878962504778cd5fc1228f9dcb76cc735c4dc2c7&response-content-disposition=attachment%3Bfilename%2A%3DUTF-8%27%27CN108977442B_2024_11_26.docx",
			AbnormalCause: "由于服务器异常,正在修复中"}, 0},
		{"waiting", `{"data":{"job_id":5,"queue_num":"3","job_status":"0"},"status":true,"error_code":0}`,
			&ReportStatus{JobID: "5", QueueNum: 3}, 0},
		{"failed", `{"data":{"job_id":5,"job_status":3,"abnormal_cause":"design patents are not supported"},"status":true,"error_code":0}`,
			&ReportStatus{JobID: "5", JobStatus: JobFailed, AbnormalCause: "design patents are not supported"}, 0},
		{"done without link", `{"data":{"job_id":5,"job_status":2},"status":true,"error_code":0}`, nil, ClassPermanent},
		{"unknown status", `{"data":{"job_id":5,"job_status":7},"status":true,"error_code":0}`, nil, ClassPermanent},
		{"no status", `{"data":{"job_id":5},"status":true,"error_code":0}`, nil, ClassPermanent},
		{"does not exist", `{"status":false,"error_code":68300013,"error_msg":"Report does not exist"}`, nil, ClassNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStubAPI(t)
			s.handle(statusPath, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, tt.answer) })
			c, _ := s.client(nil)
			st, err := c.ReportStatus(context.Background(), "5")
			if tt.want == nil {
				mustClass(t, err, tt.class)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if *st != *tt.want {
				t.Errorf("status %+v, want %+v", st, tt.want)
			}
			r := s.requests(statusPath)[0]
			if r.Method != http.MethodGet || r.Query.Get("job_id") != "5" || r.Query.Get("apikey") != testClientID {
				t.Errorf("request %s %v", r.Method, r.Query)
			}
		})
	}
}

// TestCreateReportLossyJobID: an id that arrives already rounded into
// float notation cannot be trusted and is refused.
func TestCreateReportLossyJobID(t *testing.T) {
	s := newStubAPI(t)
	s.handle(createPath, func(w http.ResponseWriter, r *http.Request) { okData(w, `{"job_id":1.579434053399036e18}`) })
	c, _ := s.client(nil)
	_, err := c.CreateReport(context.Background(), ReportRequest{PatentNumber: "CN1", Format: "pdf", Logo: true})
	mustClass(t, err, ClassPermanent)
}

// TestJobIDsTheStateCannotHoldAreRefused: the client accepts only the ids
// package jobid accepts, from a create answer and for a status call, so that
// no job is submitted whose id the state would refuse to save.
func TestJobIDsTheStateCannotHoldAreRefused(t *testing.T) {
	for _, answer := range []string{`"job-7_A"`, `"12 34"`, `"0012"`, `-12`, `"` + strings.Repeat("1", 41) + `"`, `{}`} {
		s := newStubAPI(t)
		s.handle(createPath, func(w http.ResponseWriter, r *http.Request) { okData(w, `{"job_id":`+answer+`}`) })
		c, _ := s.client(nil)
		id, err := c.CreateReport(context.Background(), ReportRequest{PatentNumber: "CN108977442B", Format: "pdf", Logo: true})
		if id != "" {
			t.Errorf("job_id %s: accepted as %q", answer, id)
		}
		mustClass(t, err, ClassPermanent)
		if !strings.Contains(err.Error(), "malformed answer") {
			t.Errorf("job_id %s: err = %v", answer, err)
		}
		if n := s.count(createPath); n != 1 {
			t.Errorf("job_id %s: %d create calls, want 1 (a repeat would submit a second job)", answer, n)
		}
	}
	s := newStubAPI(t)
	c, _ := s.client(nil)
	for _, id := range []string{"", "job-7_A", "0012", "1.5e18", strings.Repeat("1", 41)} {
		_, err := c.ReportStatus(context.Background(), id)
		mustClass(t, err, ClassInvalid)
	}
	if n := s.count(""); n != 0 {
		t.Errorf("%d requests for invalid job ids", n)
	}
}

// TestCreateReportOutcomeUnknown: once the request was written, a failure
// without an answer that says the job was not created is returned at once,
// matching ErrOutcomeUnknown, with a message that the job may exist (issue
// 10.4: a create answer cut mid-body made five jobs in one apply).
func TestCreateReportOutcomeUnknown(t *testing.T) {
	tests := []struct {
		name  string
		first http.HandlerFunc
	}{
		{"answer cut mid-body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "64")
			fmt.Fprint(w, `{"data":{"job_id":15794340`)
			w.(http.Flusher).Flush()
			cutConnection(w)
		}},
		{"connection reset after the request", func(w http.ResponseWriter, r *http.Request) { cutConnection(w) }},
		{"no answer within the attempt's deadline", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }},
		{"unreadable answer", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"data":{"job_id":1579434053399035905`) }},
		{"gateway timeout", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusGatewayTimeout) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStubAPI(t)
			var mu sync.Mutex
			n := 0
			s.handle(createPath, func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				n++
				k := n
				mu.Unlock()
				if k == 1 {
					tt.first(w, r)
					return
				}
				okData(w, `{"job_id":99}`)
			})
			c, _ := s.client(func(cfg *Config) { cfg.AttemptTimeout = 100 * time.Millisecond })
			_, err := c.CreateReport(context.Background(), ReportRequest{PatentNumber: "CN1", Format: "pdf", Logo: true})
			if !errors.Is(err, ErrOutcomeUnknown) {
				t.Fatalf("err = %v, want ErrOutcomeUnknown", err)
			}
			var ae *APIError
			if !errors.As(err, &ae) || ae.Endpoint != EndpointReportCreate {
				t.Errorf("err %v is not the create's *APIError", err)
			}
			if !strings.Contains(err.Error(), "may exist on the account") {
				t.Errorf("message %q does not say the job may exist", err)
			}
			if got := s.count(createPath); got != 1 {
				t.Errorf("%d attempts, want 1", got)
			}
		})
	}
}
