package reconciler

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/patwatch/patwatch/internal/patsnap"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

// decideReport is the first decision for a record whose file is intact or
// not, as TestDecideReport (search_test.go) asks it.
func decideReport(desired spec.Report, rec *state.Report, intact bool, now time.Time) (reportStep, string) {
	f := reportFacts{Desired: desired, Rec: rec, File: fileMissing}
	if intact {
		f.File = fileIntact
	}
	d := nextReportStep(f, now)
	return d.Step, d.Why
}

func TestNextReportStep(t *testing.T) {
	now := t0.Add(time.Hour)
	desired := spec.Report{Name: "r", PatentNumber: "CN1", Format: "pdf", Logo: true}
	rec := func(edit func(*state.Report)) *state.Report {
		r := &state.Report{PatentNumber: "CN1", Format: "pdf", Logo: true, JobID: "100", Status: state.ReportPending, SubmittedAt: t0}
		if edit != nil {
			edit(r)
		}
		return r
	}
	done := func(r *state.Report) { r.Status, r.File, r.SHA256 = state.ReportDownloaded, "reports/r.pdf", "ab" }
	doneLinkLives := func(r *state.Report) { done(r); r.LinkExpiresAt = now.Add(time.Minute) }
	doneLinkExpired := func(r *state.Report) { done(r); r.LinkExpiresAt = now }
	status := func(st *patsnap.ReportStatus, err error) *answer[*patsnap.ReportStatus] { return answered(st, err) }
	notFound := func(endpoint string) error { return apiError(endpoint, patsnap.ClassNotFound, "gone") }
	failure := func(endpoint string) error { return apiError(endpoint, patsnap.ClassRetryable, "HTTP 503") }
	jobDone := status(&patsnap.ReportStatus{JobStatus: patsnap.JobDone, DownloadURL: "https://dl/x"}, nil)
	refused := answered[*patsnap.Download](nil, notFound(patsnap.EndpointDownload))
	unknown := fmt.Errorf("%w: %w", apiError(patsnap.EndpointReportCreate, patsnap.ClassRetryable, "answer cut"), patsnap.ErrOutcomeUnknown)
	renamed := desired
	renamed.Name = "new"

	tests := []struct {
		name    string
		facts   reportFacts
		noClock bool // decide with a zero now, as PlanOffline does
		want    reportStep
		wantErr string
	}{
		// Before any step: the spec and the record decide.
		{name: "suspended", facts: reportFacts{Desired: spec.Report{Name: "r", PatentNumber: "CN1", Suspend: true}, Rec: rec(done)}, want: stepSuspended},
		{name: "suspended before it was ever submitted", facts: reportFacts{Desired: spec.Report{Name: "r", Suspend: true}}, want: stepSuspended},
		{name: "no record submits", facts: reportFacts{Desired: desired}, want: stepSubmit},
		{name: "a record without a job submits", facts: reportFacts{Desired: desired, Rec: rec(func(r *state.Report) { r.JobID = "" })}, want: stepSubmit},
		{name: "another patent submits", facts: reportFacts{Desired: desired, Rec: rec(func(r *state.Report) { r.PatentNumber = "CN2" })}, want: stepSubmit},
		{name: "a patent id instead submits", facts: reportFacts{Desired: desired, Rec: rec(func(r *state.Report) { r.PatentID = "id" })}, want: stepSubmit},
		{name: "another format submits, even with an intact file", facts: reportFacts{Desired: desired, Rec: rec(func(r *state.Report) { done(r); r.Format = "word" }), File: fileIntact}, want: stepSubmit},
		{name: "another logo choice submits", facts: reportFacts{Desired: desired, Rec: rec(func(r *state.Report) { r.Logo = false })}, want: stepSubmit},
		{name: "a failed job submits", facts: reportFacts{Desired: desired, Rec: rec(func(r *state.Report) { r.Status = state.ReportFailed })}, want: stepSubmit},
		{name: "a pending job is polled", facts: reportFacts{Desired: desired, Rec: rec(nil)}, want: stepPoll},
		{name: "a pending job whose link lives is polled", facts: reportFacts{Desired: desired, Rec: rec(func(r *state.Report) { r.LinkExpiresAt = now.Add(time.Second) })}, want: stepPoll},
		{name: "a pending job whose link expired submits", facts: reportFacts{Desired: desired, Rec: rec(func(r *state.Report) { r.LinkExpiresAt = now })}, want: stepSubmit},
		{name: "a pending job offline is polled", noClock: true, facts: reportFacts{Desired: desired, Rec: rec(func(r *state.Report) { r.LinkExpiresAt = now })}, want: stepPoll},
		{name: "a downloaded file is checked first", facts: reportFacts{Desired: desired, Rec: rec(doneLinkExpired)}, want: stepCheckFile},
		{name: "an intact file is ready", facts: reportFacts{Desired: desired, Rec: rec(doneLinkExpired), File: fileIntact}, want: stepReady},
		{name: "a missing file is fetched again while the link lives", facts: reportFacts{Desired: desired, Rec: rec(doneLinkLives), File: fileMissing}, want: stepPoll},
		{name: "a changed file is fetched again while the link lives", facts: reportFacts{Desired: desired, Rec: rec(doneLinkLives), File: fileChanged}, want: stepPoll},
		{name: "a missing file with no recorded expiry is fetched again", facts: reportFacts{Desired: desired, Rec: rec(done), File: fileMissing}, want: stepPoll},
		{name: "a missing file after the link expired submits", facts: reportFacts{Desired: desired, Rec: rec(doneLinkExpired), File: fileMissing}, want: stepSubmit},
		{name: "a changed file after the link expired submits", facts: reportFacts{Desired: desired, Rec: rec(doneLinkExpired), File: fileChanged}, want: stepSubmit},

		// Renames.
		{name: "a renamed report's intact file moves", facts: reportFacts{Desired: renamed, Rec: rec(done), RenamedFrom: "r", File: fileIntact}, want: stepMove},
		{name: "a renamed report's file already named so is ready", facts: reportFacts{Desired: renamed, Rec: rec(func(r *state.Report) { done(r); r.File = "elsewhere/new.pdf" }), RenamedFrom: "r", File: fileIntact}, want: stepReady},
		{name: "a renamed report after the move is ready", facts: reportFacts{Desired: renamed, Rec: rec(done), RenamedFrom: "r", File: fileIntact, Move: answered("reports/new.pdf", nil)}, want: stepReady},
		{name: "a renamed report whose file did not move is ready", facts: reportFacts{Desired: renamed, Rec: rec(done), RenamedFrom: "r", File: fileIntact, Move: answered("", errors.New("permission denied"))}, want: stepReady},
		{name: "a renamed report's missing file is fetched again", facts: reportFacts{Desired: renamed, Rec: rec(doneLinkLives), RenamedFrom: "r", File: fileMissing}, want: stepPoll},

		// After the status call.
		{name: "queued stays pending", facts: reportFacts{Desired: desired, Rec: rec(nil), Status: status(&patsnap.ReportStatus{JobStatus: patsnap.JobWaiting, QueueNum: 3}, nil)}, want: stepPending},
		{name: "exporting stays pending", facts: reportFacts{Desired: desired, Rec: rec(nil), Status: status(&patsnap.ReportStatus{JobStatus: patsnap.JobExporting}, nil)}, want: stepPending},
		{name: "failed is recorded with its cause", facts: reportFacts{Desired: desired, Rec: rec(nil), Status: status(&patsnap.ReportStatus{JobStatus: patsnap.JobFailed, AbnormalCause: "boom"}, nil)}, want: stepFailed, wantErr: "boom"},
		{name: "failed without a cause says so", facts: reportFacts{Desired: desired, Rec: rec(nil), Status: status(&patsnap.ReportStatus{JobStatus: patsnap.JobFailed}, nil)}, want: stepFailed, wantErr: "the report job failed without a cause"},
		{name: "done is downloaded", facts: reportFacts{Desired: desired, Rec: rec(nil), Status: jobDone}, want: stepDownload},
		{name: "done for a missing file is downloaded", facts: reportFacts{Desired: desired, Rec: rec(doneLinkLives), File: fileMissing, Status: jobDone}, want: stepDownload},
		{name: "a job the API forgot submits", facts: reportFacts{Desired: desired, Rec: rec(nil), Status: status(nil, notFound(patsnap.EndpointReportStatus))}, want: stepSubmit},
		{name: "a failed status call is an error", facts: reportFacts{Desired: desired, Rec: rec(nil), Status: status(nil, failure(patsnap.EndpointReportStatus))}, want: stepError, wantErr: "patsnap R002-status: HTTP 503 (retryable)"},

		// After the download.
		{name: "downloaded is finished", facts: reportFacts{Desired: desired, Rec: rec(nil), Status: jobDone, Fetch: answered(&patsnap.Download{Path: "/x"}, nil)}, want: stepFinished},
		{name: "a dead download link asks for a fresh one", facts: reportFacts{Desired: desired, Rec: rec(nil), Status: jobDone, Fetch: answered[*patsnap.Download](nil, notFound(patsnap.EndpointDownload))}, want: stepRefresh},
		{name: "a fresh link refused too submits", facts: reportFacts{Desired: desired, Rec: rec(nil), Status: jobDone, Refused: refused, Fetch: answered[*patsnap.Download](nil, notFound(patsnap.EndpointDownload))}, want: stepSubmit},
		{name: "a fresh link is downloaded", facts: reportFacts{Desired: desired, Rec: rec(nil), Status: jobDone, Refused: refused}, want: stepDownload},
		{name: "a fresh link that works is finished", facts: reportFacts{Desired: desired, Rec: rec(nil), Status: jobDone, Refused: refused, Fetch: answered(&patsnap.Download{Path: "/x"}, nil)}, want: stepFinished},
		{name: "a job forgotten after a refused link submits", facts: reportFacts{Desired: desired, Rec: rec(nil), Status: status(nil, notFound(patsnap.EndpointReportStatus)), Refused: refused}, want: stepSubmit},
		{name: "a failed second download is an error", facts: reportFacts{Desired: desired, Rec: rec(nil), Status: jobDone, Refused: refused, Fetch: answered[*patsnap.Download](nil, failure(patsnap.EndpointDownload))}, want: stepError, wantErr: "patsnap download: HTTP 503 (retryable)"},
		{name: "a failed download is an error", facts: reportFacts{Desired: desired, Rec: rec(nil), Status: jobDone, Fetch: answered[*patsnap.Download](nil, failure(patsnap.EndpointDownload))}, want: stepError, wantErr: "patsnap download: HTTP 503 (retryable)"},
		{name: "a local failure to download is an error", facts: reportFacts{Desired: desired, Rec: rec(nil), Status: jobDone, Fetch: answered[*patsnap.Download](nil, errors.New("reports directory: not a directory"))}, want: stepError, wantErr: "reports directory: not a directory"},

		// After the submission.
		{name: "created is submitted", facts: reportFacts{Desired: desired, Submit: answered("200", nil)}, want: stepSubmitted},
		{name: "created after a forgotten job is submitted", facts: reportFacts{Desired: desired, Rec: rec(nil), Status: status(nil, notFound(patsnap.EndpointReportStatus)), Submit: answered("200", nil)}, want: stepSubmitted},
		{name: "created after a dead link is submitted", facts: reportFacts{Desired: desired, Rec: rec(nil), Status: jobDone, Refused: refused, Fetch: answered[*patsnap.Download](nil, notFound(patsnap.EndpointDownload)), Submit: answered("200", nil)}, want: stepSubmitted},
		{name: "a creation of unknown outcome is recorded so", facts: reportFacts{Desired: desired, Submit: answered("", unknown)}, want: stepUnknown,
			wantErr: "patsnap R002-create: answer cut (retryable): the request may have reached the server; its outcome is unknown; the job may exist on the account. It was not sent again in this run; the next apply submits it again (PatSnap's list of jobs shows whether this one was created)"},

		// The cap on resubmissions.
		{name: "a resubmission under the cap submits", facts: reportFacts{Desired: desired, Rec: rec(func(r *state.Report) { r.Status, r.Submissions = state.ReportFailed, MaxResubmissions-1 })}, want: stepSubmit},
		{name: "a resubmission at the cap is held", facts: reportFacts{Desired: desired, Rec: rec(func(r *state.Report) { r.Status, r.Submissions = state.ReportFailed, MaxResubmissions })}, want: stepError,
			wantErr: "not submitted again (the last job failed): it was submitted again 3 times since a file of it was last downloaded, the most patwatch does on its own; check the report's jobs on PatSnap, then 'patwatch apply --resubmit r' submits one more"},
		{name: "a resubmission at the cap after a refused link is held", facts: reportFacts{Desired: desired, Rec: rec(func(r *state.Report) { r.Submissions = MaxResubmissions }), Status: jobDone, Refused: refused, Fetch: answered[*patsnap.Download](nil, notFound(patsnap.EndpointDownload))}, want: stepError,
			wantErr: "not submitted again (the download link was refused, and so was a fresh one): it was submitted again 3 times since a file of it was last downloaded, the most patwatch does on its own; check the report's jobs on PatSnap, then 'patwatch apply --resubmit r' submits one more"},
		{name: "--resubmit lifts the cap", facts: reportFacts{Desired: desired, Resubmit: true, Rec: rec(func(r *state.Report) { r.Status, r.Submissions = state.ReportFailed, MaxResubmissions })}, want: stepSubmit},
		{name: "a changed request is no resubmission", facts: reportFacts{Desired: desired, Rec: rec(func(r *state.Report) { r.Format, r.Submissions = "word", MaxResubmissions })}, want: stepSubmit},
		{name: "a downloaded report is no resubmission", facts: reportFacts{Desired: desired, Rec: rec(func(r *state.Report) { doneLinkExpired(r); r.Submissions = MaxResubmissions }), File: fileMissing}, want: stepSubmit},
		{name: "a creation of unknown outcome is submitted again", facts: reportFacts{Desired: desired, Rec: rec(func(r *state.Report) { r.JobID, r.OutcomeUnknownAt, r.Submissions = "", t0, 1 })}, want: stepSubmit},
		{name: "creations of unknown outcome are capped", facts: reportFacts{Desired: desired, Rec: rec(func(r *state.Report) { r.JobID, r.OutcomeUnknownAt, r.Submissions = "", t0, MaxResubmissions })}, want: stepError,
			wantErr: "not submitted again (the last job's creation went unanswered): it was submitted again 3 times since a file of it was last downloaded, the most patwatch does on its own; check the report's jobs on PatSnap, then 'patwatch apply --resubmit r' submits one more"},
		{name: "a refused submission is an error", facts: reportFacts{Desired: desired, Submit: answered("", notFound(patsnap.EndpointReportCreate))}, want: stepError, wantErr: "patsnap R002-create: gone (not-found)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := now
			if tt.noClock {
				at = time.Time{}
			}
			d := nextReportStep(tt.facts, at)
			if d.Step != tt.want || d.Err != tt.wantErr {
				t.Errorf("step %v (%s), error %q; want %v, error %q", d.Step, d.Why, d.Err, tt.want, tt.wantErr)
			}
			if d.Why == "" {
				t.Error("no reason given")
			}
		})
	}
}

// TestNextReportStepSettles follows every path the executor can take, each
// answer given back as the executor would, and checks that each settles
// within seven steps: the loop in reconcileReport cannot run on.
func TestNextReportStepSettles(t *testing.T) {
	desired := spec.Report{Name: "new", PatentNumber: "CN1", Format: "pdf", Logo: true}
	records := []*state.Report{
		nil,
		{PatentNumber: "CN1", Format: "pdf", Logo: true, JobID: "1", Status: state.ReportPending},
		{PatentNumber: "CN1", Format: "pdf", Logo: true, JobID: "1", Status: state.ReportDownloaded, File: "r.pdf", LinkExpiresAt: t1},
		{PatentNumber: "CN1", Format: "pdf", Logo: true, JobID: "1", Status: state.ReportDownloaded, File: "r.pdf", LinkExpiresAt: t0},
	}
	files := []fileState{fileIntact, fileMissing, fileChanged}
	statuses := []*answer[*patsnap.ReportStatus]{
		answered(&patsnap.ReportStatus{JobStatus: patsnap.JobWaiting}, nil),
		answered(&patsnap.ReportStatus{JobStatus: patsnap.JobFailed}, nil),
		answered(&patsnap.ReportStatus{JobStatus: patsnap.JobDone}, nil),
		answered[*patsnap.ReportStatus](nil, apiError("s", patsnap.ClassNotFound, "")),
		answered[*patsnap.ReportStatus](nil, apiError("s", patsnap.ClassRetryable, "")),
	}
	fetches := []*answer[*patsnap.Download]{
		answered(&patsnap.Download{}, nil),
		answered[*patsnap.Download](nil, apiError("d", patsnap.ClassNotFound, "")),
		answered[*patsnap.Download](nil, errors.New("disk full")),
	}
	submits := []*answer[string]{answered("2", nil), answered("", errors.New("refused")), answered("", patsnap.ErrOutcomeUnknown)}
	moves := []*answer[string]{answered("new.pdf", nil), answered("", errors.New("busy"))}

	settled := 0
	var walk func(f reportFacts, path []reportStep)
	walk = func(f reportFacts, path []reportStep) {
		if len(path) > 7 {
			t.Fatalf("no settling after %v", path)
		}
		d := nextReportStep(f, t0.Add(time.Hour))
		path = append(path, d.Step)
		switch d.Step {
		case stepCheckFile:
			for _, fs := range files {
				g := f
				g.File = fs
				walk(g, path)
			}
		case stepPoll:
			for _, a := range statuses {
				g := f
				g.Status = a
				walk(g, path)
			}
		case stepDownload:
			for _, a := range fetches {
				g := f
				g.Fetch = a
				walk(g, path)
			}
		case stepRefresh:
			for _, a := range statuses {
				g := f
				g.Refused, g.Fetch, g.Status = g.Fetch, nil, a
				walk(g, path)
			}
		case stepSubmit:
			for _, a := range submits {
				g := f
				g.Submit = a
				walk(g, path)
			}
		case stepMove:
			for _, a := range moves {
				g := f
				g.Move = a
				walk(g, path)
			}
		default:
			settled++
		}
	}
	for _, rec := range records {
		for _, renamedFrom := range []string{"", "old"} {
			walk(reportFacts{Desired: desired, Rec: rec, RenamedFrom: renamedFrom}, nil)
		}
	}
	if settled == 0 {
		t.Fatal("no path walked")
	}
}

func TestCheckFile(t *testing.T) {
	dir := t.TempDir()
	p := dir + "/r.pdf"
	r := &Reconciler{StateDir: dir}
	if err := os.WriteFile(p, []byte("pdf"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, digest string
		want               fileState
	}{
		{"intact", p, sha256Hex([]byte("pdf")), fileIntact},
		{"changed", p, sha256Hex([]byte("other")), fileChanged},
		{"missing", dir + "/gone.pdf", sha256Hex([]byte("pdf")), fileMissing},
		{"a directory is not readable", dir, sha256Hex([]byte("pdf")), fileMissing},
		{"no file recorded", "", "ab", fileMissing},
		{"no digest recorded", p, "", fileMissing},
		{"relative to the state", r.abs("r.pdf"), sha256Hex([]byte("pdf")), fileIntact},
	}
	for _, tt := range tests {
		if got := checkFile(tt.path, tt.digest); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestFileChecksReadAFileOnce: a check kept is the answer from then on, so
// that a run reads a report's file once (the worst case checks it, the run
// takes that answer); a nil fileChecks reads the file every time.
func TestFileChecksReadAFileOnce(t *testing.T) {
	dir := t.TempDir()
	p := dir + "/r.pdf"
	if err := os.WriteFile(p, []byte("pdf"), 0o644); err != nil {
		t.Fatal(err)
	}
	digest := sha256Hex([]byte("pdf"))
	fc := fileChecks{}
	if got := fc.check(p, digest); got != fileIntact {
		t.Fatalf("first check: %v, want %v", got, fileIntact)
	}
	if err := os.WriteFile(p, []byte("other"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := fc.check(p, digest); got != fileIntact {
		t.Errorf("kept check: %v, want the first answer %v", got, fileIntact)
	}
	if got := fc.check(p, sha256Hex([]byte("other"))); got != fileIntact {
		t.Errorf("another digest: %v, want %v (a check of its own)", got, fileIntact)
	}
	var none fileChecks
	if got := none.check(p, digest); got != fileChanged {
		t.Errorf("nil fileChecks: %v, want %v", got, fileChanged)
	}
	if none != nil {
		t.Error("a nil fileChecks kept a check")
	}

	// The worst case keeps the check of a downloaded report's file for the
	// run, which drops it when it returns.
	r := &Reconciler{StateDir: dir, Now: func() time.Time { return runNow }}
	sp := &spec.Spec{Reports: []spec.Report{wantedReport}}
	st := &state.State{Reports: map[string]*state.Report{"r": recordedReport(downloaded("r.pdf", "other", runNow.Add(time.Hour)))}}
	sc := NewScope(ModeApply, sp, st, Selection{}, runNow, r.StateDir)
	if got, ok := sc.files[fileKey{p, sha256Hex([]byte("other"))}]; !ok || got != fileIntact {
		t.Errorf("scope kept %v (%t) for the report's file, want %v", got, ok, fileIntact)
	}
	r.API = &fakeAPI{}
	r.Run(context.Background(), sc)
	if r.files != nil {
		t.Errorf("the run left its file checks: %v", r.files)
	}
}

func TestReportStepNames(t *testing.T) {
	seen := map[string]bool{}
	for s := stepCheckFile; s <= stepError; s++ {
		name := s.String()
		if name == "" || seen[name] {
			t.Errorf("step %d: name %q empty or taken", s, name)
		}
		seen[name] = true
	}
	if got := reportStep(99).String(); got != "step(99)" {
		t.Errorf("unknown step: %q", got)
	}
}

func TestPlanOfflineReports(t *testing.T) {
	pending := &state.Report{PatentNumber: "CN1", Format: "pdf", Logo: true, JobID: "100", Status: state.ReportPending}
	with := func(edit func(*state.Report)) *state.Report {
		r := *pending
		edit(&r)
		return &r
	}
	tests := []struct {
		name    string
		desired spec.Report
		rec     *state.Report
		want    report.ReportStatus
	}{
		{"new", spec.Report{Name: "r", PatentNumber: "CN1", Format: "pdf", Logo: true}, nil, report.ReportSubmit},
		{"suspended", spec.Report{Name: "r", PatentNumber: "CN1", Format: "pdf", Logo: true, Suspend: true}, pending, report.ReportSuspended},
		{"request changed", spec.Report{Name: "r", PatentNumber: "CN1", Format: "word", Logo: true}, pending, report.ReportSubmit},
		{"last job failed", spec.Report{Name: "r", PatentNumber: "CN1", Format: "pdf", Logo: true}, with(func(r *state.Report) { r.Status = state.ReportFailed }), report.ReportSubmit},
		{"pending, with no clock to expire its link", spec.Report{Name: "r", PatentNumber: "CN1", Format: "pdf", Logo: true}, with(func(r *state.Report) { r.LinkExpiresAt = t0 }), report.ReportPending},
		{"downloaded, with no file check", spec.Report{Name: "r", PatentNumber: "CN1", Format: "pdf", Logo: true}, with(func(r *state.Report) {
			r.Status, r.File, r.LinkExpiresAt = state.ReportDownloaded, "reports/gone.pdf", t0
		}), report.ReportReady},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := state.New()
			if tt.rec != nil {
				st.Reports["r"] = tt.rec
			}
			rep := reviewOffline(&spec.Spec{Reports: []spec.Report{tt.desired}}, st, nil)
			if got := rep.Reports[0].Status; got != tt.want {
				t.Errorf("status %q, want %q", got, tt.want)
			}
		})
	}
}
