package fake

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"
)

// TestSlidingQPSCap: the strict limiter counts every arrival, rejected ones
// too, in a sliding second: a call is admitted only when fewer than the cap
// arrived in the second before it, whatever the calendar second.
func TestSlidingQPSCap(t *testing.T) {
	e := newEnv(t, Options{QPS: 2, Limiter: LimitSliding})
	e.clock.Add(900 * time.Millisecond) // 09:26:53.9: near a calendar boundary
	step := func(d time.Duration) int {
		e.clock.Add(d)
		return e.search(dSearch + `}`).code(t)
	}
	got := []int{
		step(0),                      // t=0: 1 in the window
		step(200 * time.Millisecond), // t=0.2 (the next calendar second): 2
		step(300 * time.Millisecond), // t=0.5: rejected, but counted
		step(600 * time.Millisecond), // t=1.1: window (0.1, 1.1] holds 0.2 and 0.5: rejected
		step(500 * time.Millisecond), // t=1.6: window (0.6, 1.6] holds 1.1: admitted
		step(0),                      // t=1.6: 1.1 and 1.6: rejected
	}
	want := []int{0, 0, CodeQPS, CodeQPS, 0, CodeQPS}
	if !slices.Equal(got, want) {
		t.Errorf("codes %v, want %v", got, want)
	}
	// The calendar limiter would have admitted the second boundary's calls.
	c := newEnv(t, Options{QPS: 2})
	c.clock.Add(900 * time.Millisecond)
	var cal []int
	for _, d := range []time.Duration{0, 200 * time.Millisecond, 300 * time.Millisecond, 600 * time.Millisecond} {
		c.clock.Add(d)
		cal = append(cal, c.search(dSearch+`}`).code(t))
	}
	if want := []int{0, 0, 0, 0}; !slices.Equal(cal, want) {
		t.Errorf("calendar limiter: codes %v, want %v", cal, want)
	}
}

// TestQPSCapLeavesOutImages: under either limiter the drawings that the
// image host serves count against no cap, and an unknown path is answered
// 67200101 without taking a gateway call's place.
func TestQPSCapLeavesOutImages(t *testing.T) {
	for _, lim := range []Limiter{LimitCalendar, LimitSliding} {
		e := newEnv(t, Options{QPS: 1, Limiter: lim})
		for i := range 3 {
			if r := e.get(e.ts.URL + PathImagePrefix + "x" + strconv.Itoa(i) + ".png"); r.status != http.StatusOK {
				t.Fatalf("limiter %d: image %d: HTTP %d", lim, i, r.status)
			}
			if r := e.get(e.ts.URL + "/no/such/path"); r.status != http.StatusNotFound {
				t.Fatalf("limiter %d: unknown path %d: HTTP %d", lim, i, r.status)
			}
		}
		if c := e.search(dSearch + `}`).code(t); c != 0 {
			t.Errorf("limiter %d: the first gateway call after images and unknown paths answered %d, want 0", lim, c)
		}
		if c := e.search(dSearch + `}`).code(t); c != CodeQPS {
			t.Errorf("limiter %d: the second gateway call in the second answered %d, want %d", lim, c, CodeQPS)
		}
	}
}

// TestSlidingQPSAnswersRejectionsAtOnce: a rejected call does not wait the
// latency, an admitted one does. The latency is long beside a loopback
// call's, so that a busy machine does not make the rejection look slow.
func TestSlidingQPSAnswersRejectionsAtOnce(t *testing.T) {
	const latency = time.Second
	e := newEnv(t, Options{QPS: 1, Limiter: LimitSliding, Latency: latency})
	e.search(dSearch + `}`)
	start := time.Now()
	if c := e.search(dSearch + `}`).code(t); c != CodeQPS {
		t.Fatalf("second call answered %d, want %d", c, CodeQPS)
	}
	if d := time.Since(start); d >= latency {
		t.Errorf("the rejection took %v, as long as the latency", d)
	}
}

func TestFaultBodies(t *testing.T) {
	e := newEnv(t, Options{})
	link := e.finishedURL(`{"patent_number":"CN108977442B","report_type":"pdf"}`)
	full := e.get(link).body
	tests := []struct {
		name   string
		fault  Fault
		status int
		body   []byte
		ctype  string
	}{
		{"maintenance page", Fault{Endpoint: EndpointDownload, Body: MaintenancePage, ContentType: "text/html"}, 200, MaintenancePage, "text/html"},
		{"envelope", Fault{Endpoint: EndpointDownload, Body: ErrorEnvelope}, 200, ErrorEnvelope, "application/json;charset=UTF-8"},
		{"null", Fault{Endpoint: EndpointDownload, Body: NullBody}, 200, NullBody, "application/json;charset=UTF-8"},
		{"half a file", Fault{Endpoint: EndpointDownload, HalfBody: true}, 200, full[:len(full)/2], "application/pdf"},
		{"429 page", Fault{Endpoint: EndpointDownload, HTTPStatus: 429, Body: TooManyRequestsPage, ContentType: "text/html"}, 429, TooManyRequestsPage, "text/html"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fault.Times = 1
			e.srv.AddFault(tt.fault)
			r := e.get(link)
			if r.status != tt.status || !bytes.Equal(r.body, tt.body) || r.header.Get("Content-Type") != tt.ctype ||
				r.header.Get("Content-Length") != strconv.Itoa(len(tt.body)) {
				t.Errorf("HTTP %d, type %q, length %q, body %.60q", r.status, r.header.Get("Content-Type"), r.header.Get("Content-Length"), r.body)
			}
			if r := e.get(link); !bytes.Equal(r.body, full) {
				t.Errorf("after the fault: %d bytes, want the file", len(r.body))
			}
		})
	}
	e.srv.AddFault(Fault{Endpoint: EndpointSearchSingle, Times: 1, HTTPStatus: 429})
	if r := e.search(dSearch + `}`); r.status != 429 || r.code(t) != 429 {
		t.Errorf("429 fault: HTTP %d %s", r.status, r.body)
	}
}

// TestFaultInconsistentPages: search answers that contradict themselves,
// on the pages chosen by offset.
func TestFaultInconsistentPages(t *testing.T) {
	e := newEnv(t, Options{})
	page := func(offset int) ([]Hit, int) {
		return e.hits(e.search(dSearch + `,"limit":100,"offset":` + strconv.Itoa(offset) + `}`))
	}
	hits, total := page(0)
	if len(hits) != 100 || total < 300 {
		t.Fatalf("the corpus has %d of %d hits for this query; the test needs more", len(hits), total)
	}

	e.srv.AddFault(Fault{Endpoint: EndpointSearchSingle, FromOffset: 100, EmptyPage: true, Times: 1})
	if h, n := page(0); len(h) != 100 || n != total {
		t.Errorf("page 1 hit by a fault from offset 100: %d hits, total %d", len(h), n)
	}
	if h, n := page(100); len(h) != 0 || n != total {
		t.Errorf("empty page: %d hits, total %d; want 0, %d", len(h), n, total)
	}
	if h, _ := page(100); len(h) != 100 {
		t.Errorf("after the fault: %d hits", len(h))
	}

	e.srv.AddFault(Fault{Endpoint: EndpointSearchSingle, EmptyPage: true, Total: 1000, Times: 1})
	if h, n := page(0); len(h) != 0 || n != 1000 {
		t.Errorf("status true, no hits, large total: %d hits, total %d", len(h), n)
	}
	e.srv.AddFault(Fault{Endpoint: EndpointSearchSingle, MaxHits: 30, Times: 1})
	if h, n := page(0); len(h) != 30 || n != total || !slices.Equal(pns(h), pns(hits[:30])) {
		t.Errorf("short page: %d hits, total %d", len(h), n)
	}
	e.srv.AddFault(Fault{Endpoint: EndpointSearchSingle, FromOffset: 200, Total: 5, Times: 1})
	if h, n := page(200); len(h) != 100 || n != 5 {
		t.Errorf("collapsed total: %d hits, total %d", len(h), n)
	}
	// A refusal passes through a rewriting fault unchanged.
	e.srv.AddFault(Fault{Endpoint: EndpointSearchSingle, EmptyPage: true, Times: 1})
	if r := e.search(`{"patent_type":"D","model":1}`); r.code(t) != CodeInvalidParam {
		t.Errorf("refused search answered %s", r.body)
	}
}

// TestTruncatedCreateCreatesTheJob: a create answer cut mid-body comes
// after the job was created, and JobsCreated counts it.
func TestTruncatedCreateCreatesTheJob(t *testing.T) {
	e := newEnv(t, Options{})
	e.srv.AddFault(Fault{Endpoint: EndpointReportCreate, Truncate: true, Times: 2})
	for range 2 {
		_, err := e.try(context.Background(), http.MethodPost, PathReportCreate+"?apikey="+testKey, "Bearer "+testKey, nil,
			[]byte(`{"patent_number":"CN108977442B","report_type":"pdf"}`))
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("reading a truncated answer: %v", err)
		}
	}
	e.createJob(`{"patent_number":"CN108977442B","report_type":"pdf"}`)
	if n := e.srv.JobsCreated(); n != 3 {
		t.Errorf("JobsCreated = %d, want 3", n)
	}
	snap, err := e.srv.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	other := New(Options{})
	if err := other.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if n := other.JobsCreated(); n != 3 {
		t.Errorf("after Restore: JobsCreated = %d, want 3", n)
	}
}
