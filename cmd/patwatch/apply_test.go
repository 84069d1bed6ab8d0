package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/patwatch/patwatch/internal/buftest"
	"github.com/patwatch/patwatch/internal/patsnap"
	"github.com/patwatch/patwatch/internal/patsnap/fake"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/internal/runner"
	"github.com/patwatch/patwatch/state"
	"github.com/patwatch/patwatch/state/filestore"
)

const imgA = "https://images.test/a.png"
const imgB = "https://images.test/b.png"

const twoSearches = `
version: 1
searches:
  - name: alpha
    image: https://images.test/a.png
    patent_type: D
    model: 1
    max_results: 50
  - name: beta
    image: https://images.test/b.png
    patent_type: D
    model: 1
`

func TestApplyBaselineChangesThenNothing(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.writeSpec(twoSearches)
	h.api.SetResults(imgA, -1, fakeHits("A1", "A2", "A3")...)
	h.api.SetResults(imgB, 120, fakeHits("B1", "B2")...)

	code, rep, _ := h.apply("--detailed-exitcode")
	if code != exitChanged {
		t.Fatalf("baseline: exit %d, want %d", code, exitChanged)
	}
	for _, s := range rep.Searches {
		if s.Status != report.StatusBaseline || len(s.New) != 0 || len(s.Dropped) != 0 {
			t.Errorf("baseline run: %+v", s)
		}
	}
	if beta := searchByName(t, rep, "beta"); beta.Total != 120 || beta.Hits != 2 {
		t.Errorf("beta total/hits = %d/%d, want 120/2", beta.Total, beta.Hits)
	}

	h.api.SetResults(imgA, -1, fakeHits("A1", "A4", "A2")...)
	code, rep, _ = h.apply("--detailed-exitcode")
	if code != exitChanged {
		t.Fatalf("changes: exit %d, want %d", code, exitChanged)
	}
	alpha := searchByName(t, rep, "alpha")
	if alpha.Status != report.StatusOK || !reflect.DeepEqual(pns(alpha.New), []string{"A4"}) || !reflect.DeepEqual(pns(alpha.Dropped), []string{"A3"}) {
		t.Fatalf("alpha: %+v, want A4 new and A3 dropped", alpha)
	}
	if n := alpha.New[0]; n.Title != "Design A4" || n.CurrentAssignee != "ACME" || n.ImageURL == "" || n.Score == 0 || n.Apdt != 20240101 {
		t.Errorf("a new hit lacks its facts: %+v", n)
	}
	if d := alpha.Dropped[0]; d.Title != "Design A3" || d.CurrentAssignee != "ACME" {
		t.Errorf("a dropped hit lacks its recorded facts: %+v", d)
	}
	before := h.stateBytes()
	info, _ := os.Stat(h.path("patwatch.state.json"))

	code, rep, _ = h.apply("--detailed-exitcode")
	if code != exitOK || rep.Changed || rep.StateChanged {
		t.Fatalf("no change: exit %d changed=%v state_changed=%v, want 0, false, false", code, rep.Changed, rep.StateChanged)
	}
	if after := h.stateBytes(); !bytes.Equal(before, after) {
		t.Errorf("a run that found nothing rewrote the state:\n%s\n---\n%s", before, after)
	}
	if info2, _ := os.Stat(h.path("patwatch.state.json")); !info2.ModTime().Equal(info.ModTime()) {
		t.Error("a run that found nothing touched the state file")
	}
	if strings.Contains(string(before), "img.test") || strings.Contains(string(before), "score") {
		t.Error("the state holds volatile values (image URLs or scores)")
	}
}

func TestApplyQueryEditRebaselines(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.writeSpec(twoSearches)
	h.api.SetResults(imgA, -1, fakeHits("A1", "A2")...)
	h.api.SetResults(imgB, -1, fakeHits("B1")...)
	h.apply()

	h.writeSpec(strings.Replace(twoSearches, "max_results: 50", "max_results: 50\n    filters:\n      country: [US, CN]", 1))
	h.api.SetResults(imgA, -1, fakeHits("A7", "A8")...)
	code, rep, _ := h.apply("--detailed-exitcode")
	alpha := searchByName(t, rep, "alpha")
	if code != exitChanged || alpha.Status != report.StatusRebaseline || len(alpha.New)+len(alpha.Dropped) != 0 {
		t.Fatalf("query edit: exit %d, %+v; want a rebaseline with nothing new or dropped", code, alpha)
	}
	if got := searchByName(t, rep, "beta").Status; got != report.StatusOK {
		t.Errorf("beta status = %s, want ok (its query did not change)", got)
	}
	if _, ok := h.state().Searches["alpha"].Hits["A7"]; !ok {
		t.Error("the rebaseline's hits were not recorded")
	}
}

func TestApplyDropAfter(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.writeSpec(strings.Replace(twoSearches, "max_results: 50", "max_results: 50\n    drop_after: 2", 1))
	h.api.SetResults(imgB, -1, fakeHits("B1")...)
	h.api.SetResults(imgA, -1, fakeHits("A1", "A2")...)
	h.apply()

	h.api.SetResults(imgA, -1, fakeHits("A1")...)
	_, rep, _ := h.apply()
	if a := searchByName(t, rep, "alpha"); len(a.Dropped) != 0 || a.Hits != 2 || a.Missing != 1 {
		t.Fatalf("missing once: %+v; want nothing dropped, 2 hits kept, 1 missing", a)
	}
	if rep.Changed || !rep.StateChanged {
		t.Errorf("missing once: changed=%v state_changed=%v; want false and true (counted, not reported)", rep.Changed, rep.StateChanged)
	}
	_, rep, _ = h.apply()
	if a := searchByName(t, rep, "alpha"); !reflect.DeepEqual(pns(a.Dropped), []string{"A2"}) || a.Hits != 1 {
		t.Fatalf("missing twice: %+v; want A2 dropped", a)
	}
	h.api.SetResults(imgA, -1, fakeHits("A1", "A2")...)
	_, rep, _ = h.apply()
	if a := searchByName(t, rep, "alpha"); !reflect.DeepEqual(pns(a.New), []string{"A2"}) {
		t.Fatalf("back after the drop: %+v; want A2 new again", a)
	}
}

func TestApplySearchFailureKeepsItsHits(t *testing.T) {
	faults := []struct {
		name  string
		fault fake.Fault
	}{
		{"retryable service error", fake.Fault{Code: 68300008, Msg: "Service error, please try again later!"}},
		{"http 502", fake.Fault{HTTPStatus: 502}},
		{"rate limited", fake.Fault{Code: 67200002, Msg: "The current call rate is too fast"}},
		{"invalid request", fake.Fault{Code: 68300004, Msg: "Invalid parameter!"}},
		{"no permission", fake.Fault{Code: 67200004, Msg: "The requested api does not have permission"}},
		// A search-specific refusal; the daily limit (67200007) is
		// account-wide and stops the run (TestRunStopsAtAnAccountWideError).
		{"invalid request", fake.Fault{Code: 67200012, Msg: "The request parameter is invalid"}},
		{"malformed body", fake.Fault{Malformed: true}},
		{"cut connection", fake.Fault{Truncate: true}},
	}
	for _, tc := range faults {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, fake.Options{})
			h.writeSpec(twoSearches)
			h.api.SetResults(imgA, -1, fakeHits("A1", "A2")...)
			h.api.SetResults(imgB, -1, fakeHits("B1")...)
			h.apply()
			recordedAlpha := h.state().Searches["alpha"]

			h.api.SetResults(imgA, -1) // would drop everything, if the error were read as an answer
			h.api.SetResults(imgB, -1, fakeHits("B1", "B2")...)
			f := tc.fault
			f.Endpoint, f.ImageURL = fake.EndpointSearchSingle, imgA
			// alpha's failure is answered once beta's search has reached
			// the API: a client that has seen no answer yet from the
			// search endpoint puts it on probation at a rate-limit
			// answer, and the harness's instant sleeps would run the
			// probation's minutes out before beta's request is sent.
			from := len(h.api.Requests())
			f.Hold = func(ctx context.Context) { h.api.Await(ctx, from, fake.EndpointSearchSingle, imgB) }
			h.api.AddFault(f)

			code, rep, stderr := h.apply("--detailed-exitcode")
			if code != exitError {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitError, stderr)
			}
			alpha := searchByName(t, rep, "alpha")
			if alpha.Status != report.StatusError || alpha.Error == "" || len(alpha.Dropped) != 0 || alpha.Hits != 2 {
				t.Errorf("failed search: %+v; want status error, its message, nothing dropped, 2 hits", alpha)
			}
			if beta := searchByName(t, rep, "beta"); !reflect.DeepEqual(pns(beta.New), []string{"B2"}) {
				t.Errorf("the other search: %+v; want B2 new", beta)
			}
			st := h.state()
			if !reflect.DeepEqual(st.Searches["alpha"], recordedAlpha) {
				t.Errorf("the failed search's state changed:\n%+v\nwant\n%+v", st.Searches["alpha"], recordedAlpha)
			}
			if _, ok := st.Searches["beta"].Hits["B2"]; !ok {
				t.Error("the successful search was not saved")
			}
			if strings.Contains(stderr+alpha.Error, testAPIKey) {
				t.Error("the API key leaked into the output")
			}
		})
	}
}

func TestApplyRemovedSearchIsForgotten(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.writeSpec(twoSearches)
	h.api.SetResults(imgA, -1, fakeHits("A1")...)
	h.api.SetResults(imgB, -1, fakeHits("B1")...)
	h.apply()

	h.writeSpec(twoSearches[:strings.Index(twoSearches, "  - name: beta")])
	code, rep, _ := h.apply("--detailed-exitcode")
	if beta := searchByName(t, rep, "beta"); code != exitChanged || beta.Status != report.StatusRemoved {
		t.Fatalf("exit %d, beta %+v; want exit 2 and removed", code, beta)
	}
	if _, ok := h.state().Searches["beta"]; ok {
		t.Error("the removed search is still in the state")
	}
}

const oneReport = `
version: 1
reports:
  - name: cn108977442b
    patent_number: CN108977442B
    format: pdf
`

// applyUntil applies until the report reaches status, at most n times, and
// returns the statuses seen.
func (h *harness) applyUntil(name string, status report.ReportStatus, n int, args ...string) []report.ReportStatus {
	h.t.Helper()
	var seen []report.ReportStatus
	for range n {
		code, rep, stderr := h.apply(args...)
		r := reportByName(h.t, rep, name)
		seen = append(seen, r.Status)
		if r.Status == status {
			if want := map[bool]int{true: exitError, false: exitOK}[status == report.ReportFailed]; code != want {
				h.t.Errorf("the run that reported %s exited %d, want %d", status, code, want)
			}
			return seen
		}
		if r.Status == report.ReportError {
			h.t.Fatalf("report error: %s\n%s", r.Error, stderr)
		}
	}
	h.t.Fatalf("report %s never became %s: %v", name, status, seen)
	return nil
}

func TestApplyReportLifecycle(t *testing.T) {
	h := newHarness(t, fake.Options{PollsToFinish: 2})
	h.writeSpec(oneReport)

	seen := h.applyUntil("cn108977442b", report.ReportFinished, 5)
	if seen[0] != report.ReportSubmitted || seen[1] != report.ReportPending {
		t.Errorf("statuses %v; want submitted, pending…, finished", seen)
	}
	st := h.state().Reports["cn108977442b"]
	if st.Status != state.ReportDownloaded || st.File != "reports/cn108977442b.pdf" || st.SHA256 == "" || st.JobID == "" {
		t.Fatalf("recorded report: %+v", st)
	}
	if b, err := os.ReadFile(h.path("reports/cn108977442b.pdf")); err != nil || len(b) == 0 {
		t.Fatalf("downloaded file: %v (%d bytes)", err, len(b))
	}
	if strings.Contains(string(h.stateBytes()), "sign=") {
		t.Error("the state holds a presigned download link")
	}

	// Finished is reported once; after that the report is ready, with no call.
	h.api.ResetRequests()
	code, rep, _ := h.apply("--detailed-exitcode")
	if r := reportByName(t, rep, "cn108977442b"); code != exitOK || r.Status != report.ReportReady {
		t.Fatalf("after the download: exit %d, %+v; want 0 and ready", code, r)
	}
	if eps := h.endpoints(); len(eps) != 0 {
		t.Errorf("a ready report made calls: %v", eps)
	}

	// A file the user deleted is fetched again while the job's link lives.
	// It is the file already reported (the contract, issue 12): ready, and
	// no change, so a fresh checkout without reports/ is no news.
	jobID := st.JobID
	os.Remove(h.path("reports/cn108977442b.pdf"))
	code, rep, _ = h.apply("--detailed-exitcode")
	if r := reportByName(t, rep, "cn108977442b"); code != exitOK || r.Status != report.ReportReady || r.JobID != jobID {
		t.Fatalf("deleted file: exit %d, %+v; want 0 and ready from the same job %s", code, r, jobID)
	}
	if _, err := os.Stat(h.path("reports/cn108977442b.pdf")); err != nil {
		t.Fatalf("the deleted file was not fetched again: %v", err)
	}

	// The API forgets the job (68300013) and the file is gone: a new job.
	os.Remove(h.path("reports/cn108977442b.pdf"))
	h.api.ForgetJobs()
	_, rep, _ = h.apply()
	r := reportByName(t, rep, "cn108977442b")
	if r.Status != report.ReportSubmitted || r.JobID == jobID {
		t.Fatalf("forgotten job: %+v; want a new job submitted", r)
	}
	if r.JobID != h.state().Reports["cn108977442b"].JobID {
		t.Error("the new job id was not recorded exactly")
	}
}

func TestApplyReportJobFailureIsResubmitted(t *testing.T) {
	h := newHarness(t, fake.Options{PollsToFinish: -1})
	h.writeSpec(oneReport)
	h.api.FailJob("CN108977442B", "由于服务器异常,正在修复中")
	seen := h.applyUntil("cn108977442b", report.ReportFailed, 4)
	_, rep, _ := h.apply()
	last := reportByName(t, rep, "cn108977442b")
	if last.Status != report.ReportSubmitted {
		t.Fatalf("after the failure (%v): %+v; want a new job submitted", seen, last)
	}
	h.applyUntil("cn108977442b", report.ReportFinished, 4)
}

func TestApplyReportExpiredLinkResubmits(t *testing.T) {
	h := newHarness(t, fake.Options{PollsToFinish: -1})
	h.writeSpec(oneReport)
	h.apply() // submitted
	h.api.AddFault(fake.Fault{Endpoint: fake.EndpointDownload, HTTPStatus: 500})
	_, rep, _ := h.apply()
	if r := reportByName(t, rep, "cn108977442b"); r.Status != report.ReportError {
		t.Fatalf("download failing: %+v; want error", r)
	}
	oldJob := h.state().Reports["cn108977442b"].JobID
	h.api.ClearFaults()
	h.clock.Advance(8 * 24 * time.Hour)
	_, rep, _ = h.apply()
	if r := reportByName(t, rep, "cn108977442b"); r.Status != report.ReportSubmitted || r.JobID == oldJob {
		t.Fatalf("expired link: %+v; want a new job", r)
	}
}

func TestApplyReportForDesignPatentSurfacesAPIMessage(t *testing.T) {
	h := newHarness(t, fake.Options{})
	// A patent id does not show the patent's kind: only the API can refuse it.
	h.writeSpec("version: 1\nreports:\n  - name: d\n    patent_id: 6e433449-143b-41d9-9abf-6c6519b07779\n")
	h.api.AddFault(fake.Fault{Endpoint: fake.EndpointReportCreate, Code: 68300004, Msg: "design patents are not supported"})
	code, rep, _ := h.apply()
	if r := reportByName(t, rep, "d"); code != exitError || r.Status != report.ReportError || !strings.Contains(r.Error, "design patents are not supported") {
		t.Fatalf("exit %d, %+v; want the API's message", code, r)
	}
}

func TestPlanChangesNothing(t *testing.T) {
	h := newHarness(t, fake.Options{PollsToFinish: -1})
	h.writeSpec(twoSearches + strings.TrimPrefix(oneReport, "\nversion: 1\n") + `  - name: second
    patent_number: US10000000B2
`)
	h.api.SetResults(imgA, -1, fakeHits("A1")...)
	h.api.SetResults(imgB, -1, fakeHits("B1")...)
	h.apply() // both reports submitted
	h.api.SetResults(imgA, -1, fakeHits("A1", "A2")...)
	before := h.files()
	h.api.ResetRequests()

	code, rep, _ := h.report("plan", "--detailed-exitcode")
	if code != exitChanged || rep.Command != "plan" {
		t.Fatalf("plan: exit %d, command %q", code, rep.Command)
	}
	if a := searchByName(t, rep, "alpha"); !reflect.DeepEqual(pns(a.New), []string{"A2"}) {
		t.Errorf("plan shows alpha %+v; want A2 new", a)
	}
	if r := reportByName(t, rep, "cn108977442b"); r.Status != report.ReportDownload {
		t.Errorf("plan shows the finished job as %s, want %s", r.Status, report.ReportDownload)
	}
	for _, ep := range h.endpoints() {
		switch ep {
		case fake.EndpointReportCreate, fake.EndpointReportCreateNoLogo, fake.EndpointDownload:
			t.Errorf("plan made a mutating request: %s", ep)
		}
	}
	if after := h.files(); !reflect.DeepEqual(before, after) {
		t.Errorf("plan changed files:\nbefore %v\nafter  %v", keys(before), keys(after))
	}

	// The same apply afterwards does what plan said.
	_, rep, _ = h.apply()
	if a := searchByName(t, rep, "alpha"); !reflect.DeepEqual(pns(a.New), []string{"A2"}) {
		t.Errorf("apply after plan: %+v", a)
	}
}

func TestPlanOfflineCallsNothing(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.writeSpec(twoSearches)
	h.api.SetResults(imgA, -1, fakeHits("A1")...)
	h.api.SetResults(imgB, -1, fakeHits("B1")...)
	h.apply()
	h.api.ResetRequests()
	delete(h.envs, "PATSNAP_API_KEY") // an offline plan needs no credentials

	spec := strings.Replace(twoSearches, "max_results: 50", "max_results: 60", 1)
	spec = spec[:strings.Index(spec, "  - name: beta")] + "  - name: gamma\n    image: https://images.test/c.png\n    patent_type: U\n    model: 4\n"
	h.writeSpec(spec + "reports:\n  - name: r1\n    patent_number: CN108977442B\n")
	code, rep, stderr := h.report("plan", "--offline", "--detailed-exitcode")
	if code != exitChanged {
		t.Fatalf("exit %d; stderr %s", code, stderr)
	}
	want := map[string]report.SearchStatus{"alpha": report.StatusRebaseline, "gamma": report.StatusBaseline, "beta": report.StatusRemoved}
	for name, status := range want {
		if got := searchByName(t, rep, name).Status; got != status {
			t.Errorf("%s: %s, want %s", name, got, status)
		}
	}
	if r := reportByName(t, rep, "r1"); r.Status != report.ReportSubmit {
		t.Errorf("r1: %s, want submit", r.Status)
	}
	if n := len(h.api.Requests()); n != 0 {
		t.Errorf("an offline plan made %d requests", n)
	}
}

func TestApplyInterruptSavesWhatCompleted(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.writeSpec(twoSearches)
	h.api.SetResults(imgA, -1, fakeHits("A1")...)
	h.api.SetResults(imgB, -1, fakeHits("B1")...)
	h.setGate(func(r *http.Request) {
		if strings.Contains(readBody(r), imgA) {
			<-r.Context().Done() // alpha's search hangs until the client gives up
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr buftest.Buffer
	done := make(chan int)
	go func() {
		done <- h.runTo(ctx, &stdout, &stderr, "apply", "--format", "json", "--log-level", "debug", "--log-format", "json")
	}()
	waitFor(t, "beta to be refreshed", func() bool {
		return strings.Contains(stderr.String(), `"search":"beta"`) && strings.Contains(stderr.String(), "search refreshed")
	})
	cancel() // SIGINT, as main's signal context would
	code := <-done
	if code != exitError || !strings.Contains(stderr.String(), "interrupted") {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), `"name": "beta"`) {
		t.Errorf("the change report of what completed was not printed:\n%s", stdout.String())
	}
	h.assertInterrupted()
}

func TestApplyRefusesWhileLocked(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.writeSpec(twoSearches)
	lock, err := filestore.Lock(context.Background(), h.path("patwatch.state.json"), "apply", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Unlock()
	code, _, stderr := h.run(context.Background(), "apply", "--lock-timeout", "0s")
	if code != exitError || !strings.Contains(stderr, "locked") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	if _, err := os.Stat(h.path("patwatch.state.json")); err == nil {
		t.Error("a blocked apply wrote the state")
	}
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestApplyOutputGolden pins the change report of a real second apply (new
// and dropped hits, a finished report) in each format, byte for byte.
func TestApplyOutputGolden(t *testing.T) {
	for _, format := range []string{"text", "markdown", "json"} {
		t.Run(format, func(t *testing.T) {
			h := newHarness(t, fake.Options{PollsToFinish: -1})
			h.clock.Set(time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)) // the reports' generated_at
			h.writeSpec(twoSearches + strings.TrimPrefix(oneReport, "\nversion: 1\n"))
			h.api.SetResults(imgA, 40, fakeHits("A1", "A2", "A3")...)
			h.api.SetResults(imgB, 2, fakeHits("B1", "B2")...)
			h.apply()
			h.api.SetResults(imgA, 41, fakeHits("A1", "A4", "A2")...)
			code, stdout, stderr := h.run(context.Background(), "apply", "--format", format, "--detailed-exitcode")
			if code != exitChanged {
				t.Fatalf("exit %d\n%s", code, stderr)
			}
			golden(t, filepath.Join("testdata", "apply", "second-run."+format+".golden"), strings.ReplaceAll(stdout, h.dir, "$DIR"))
		})
	}
}

func TestApplyRenameKeepsHistory(t *testing.T) {
	h := newHarness(t, fake.Options{PollsToFinish: -1})
	h.writeSpec(twoSearches + strings.TrimPrefix(oneReport, "\nversion: 1\n"))
	h.api.SetResults(imgA, -1, fakeHits("A1", "A2")...)
	h.api.SetResults(imgB, -1, fakeHits("B1")...)
	h.apply()
	h.apply() // the report finishes
	before := h.state()

	renamed := strings.Replace(strings.Replace(twoSearches+strings.TrimPrefix(oneReport, "\nversion: 1\n"),
		"name: alpha", "name: alpha-eu", 1), "name: cn108977442b", "name: value-report", 1)
	h.writeSpec(renamed)
	h.api.ResetRequests()
	code, rep, _ := h.report("plan", "--offline", "--detailed-exitcode")
	if s := searchByName(t, rep, "alpha-eu"); code != exitChanged || s.Status != report.StatusOK || s.RenamedFrom != "alpha" {
		t.Fatalf("offline plan: exit %d, %+v; want ok, renamed from alpha", code, s)
	}
	code, rep, _ = h.apply("--detailed-exitcode")
	s := searchByName(t, rep, "alpha-eu")
	if code != exitChanged || s.Status != report.StatusOK || s.RenamedFrom != "alpha" || len(s.New)+len(s.Dropped) != 0 {
		t.Fatalf("apply: exit %d, %+v; want ok, renamed from alpha, nothing new or dropped", code, s)
	}
	for _, c := range rep.Searches {
		if c.Name == "alpha" {
			t.Errorf("the old name is reported too: %+v", c)
		}
	}
	r := reportByName(t, rep, "value-report")
	if r.Status != report.ReportReady || r.RenamedFrom != "cn108977442b" || r.File != "reports/value-report.pdf" {
		t.Errorf("renamed report: %+v; want ready at reports/value-report.pdf, renamed from cn108977442b", r)
	}
	if _, err := os.Stat(h.path("reports/value-report.pdf")); err != nil {
		t.Errorf("the report file did not move to its new name: %v", err)
	}
	for _, ep := range h.endpoints() {
		if ep == fake.EndpointReportCreate {
			t.Error("the renamed report was submitted again")
		}
	}
	after := h.state()
	if got := after.Reports["value-report"]; got.JobID != before.Reports["cn108977442b"].JobID || got.File != "reports/value-report.pdf" {
		t.Errorf("the renamed report's record: %+v", got)
	}
	if !reflect.DeepEqual(after.Searches["alpha-eu"], before.Searches["alpha"]) {
		t.Errorf("the renamed search's record changed:\n%+v\nwant\n%+v", after.Searches["alpha-eu"], before.Searches["alpha"])
	}
	if _, ok := after.Searches["alpha"]; ok {
		t.Error("the old name is still recorded")
	}
}

func TestApplyStateOutsideTheSpecDirectoryRecordsRelativePaths(t *testing.T) {
	h := newHarness(t, fake.Options{PollsToFinish: -1})
	h.writeSpec(oneReport)
	statePath := filepath.Join(h.dir, "state", "watch.state.json")
	// patwatch creates the state, not its directory (a mistyped one would
	// otherwise be a silent new baseline).
	if err := os.Mkdir(filepath.Dir(statePath), 0o755); err != nil {
		t.Fatal(err)
	}
	h.applyUntil("cn108977442b", report.ReportFinished, 3, "--state", statePath)
	st, err := filestore.Load(statePath)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Reports["cn108977442b"].File; got != "../reports/cn108977442b.pdf" {
		t.Errorf("recorded file %q, want ../reports/cn108977442b.pdf (relative to the state, so it holds in any checkout)", got)
	}
}

func TestApplyNewPatentForgetsTheOldFile(t *testing.T) {
	h := newHarness(t, fake.Options{PollsToFinish: -1})
	h.writeSpec(oneReport)
	h.applyUntil("cn108977442b", report.ReportFinished, 3)
	h.writeSpec(strings.Replace(oneReport, "patent_number: CN108977442B", "patent_number: US10000000B2", 1))
	_, rep, _ := h.apply()
	if r := reportByName(t, rep, "cn108977442b"); r.Status != report.ReportSubmitted || r.File != "" {
		t.Errorf("after the patent changed: %+v; want a new job and no file claimed yet", r)
	}
}

func TestApplyReplacesARefusedCachedUpload(t *testing.T) {
	h := newHarness(t, fake.Options{})
	png, err := os.ReadFile(filepath.Join("..", "..", "examples", "images", "hinge-front.png"))
	if err != nil {
		t.Fatal(err)
	}
	must(t, os.WriteFile(h.path("hinge.png"), png, 0o644))
	h.writeSpec("version: 1\nsearches:\n  - name: hinge\n    image: hinge.png\n    patent_type: U\n    model: 4\n")
	// The cache remembers a URL this API never issued (another server, an
	// upload that expired early): the search is refused with 68300004.
	cache := runner.OpenUploads(func(k string) string { return h.envs[k] }, zerolog.Nop(), h.srv.URL, testAPIKey)
	cache.Put(sha256Hex(png), patsnap.Upload{URL: h.srv.URL + "/fake-images/stale.png?X-Amz-Signature=old", Expires: time.Now().Add(8 * time.Hour)})

	code, rep, stderr := h.apply()
	if s := searchByName(t, rep, "hinge"); code != exitOK || s.Status != report.StatusBaseline {
		t.Fatalf("exit %d, %+v; want a baseline after a fresh upload\n%s", code, s, stderr)
	}
	var uploads, searches int
	for _, ep := range h.endpoints() {
		switch ep {
		case fake.EndpointUpload:
			uploads++
		case fake.EndpointSearchSingle:
			searches++
		}
	}
	if uploads != 1 || searches != 2 {
		t.Errorf("%d uploads and %d searches; want one refused search, one upload, one search", uploads, searches)
	}
	// The fresh URL is remembered: the next run uploads nothing.
	h.api.ResetRequests()
	h.apply()
	for _, ep := range h.endpoints() {
		if ep == fake.EndpointUpload {
			t.Error("the fresh upload was not remembered")
		}
	}
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func TestApplyChecksOutBeforeRunning(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.writeSpec(twoSearches)
	for _, out := range []string{h.path("no/such/dir/report.md"), h.dir} {
		code, _, stderr := h.run(context.Background(), "apply", "--out", out)
		if code != exitError || !strings.Contains(stderr, "--out") || strings.Contains(stderr, ".tmp-") {
			t.Errorf("--out %s: exit %d\n%s", out, code, stderr)
		}
	}
	if n := len(h.api.Requests()); n != 0 {
		t.Errorf("a bad --out was found only after %d API calls", n)
	}
}
