package reconciler

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patwatch/patwatch/internal/patsnap"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

// The report every lifecycle case of TestRunReports is about.
var (
	wantedReport = spec.Report{Name: "r", PatentNumber: "CN1", Format: "pdf", Logo: true}
	earlierPDF   = "the pdf of an earlier run"
	freshPDF     = "the pdf downloaded in this run"
	linkEnd      = runNow.Add(72 * time.Hour).Truncate(time.Second)
	freshLink    = "https://dl.test/r.pdf?expires=" + strconv.FormatInt(linkEnd.Unix(), 10) + "&sign=secret"
)

// recordedReport is the report's record with a pending job 100, changed by edit.
func recordedReport(edit func(*state.Report)) *state.Report {
	r := &state.Report{PatentNumber: "CN1", Format: "pdf", Logo: true, JobID: "100", Status: state.ReportPending, SubmittedAt: t0}
	if edit != nil {
		edit(r)
	}
	return r
}

// submittedReport is what a job 200 created in this run records.
func submittedReport(edit func(*state.Report)) *state.Report {
	r := &state.Report{PatentNumber: "CN1", Format: "pdf", Logo: true, JobID: "200", Status: state.ReportPending, SubmittedAt: runNow.Truncate(time.Second)}
	if edit != nil {
		edit(r)
	}
	return r
}

func downloaded(file, content string, linkExpires time.Time) func(*state.Report) {
	return func(r *state.Report) {
		r.Status, r.File, r.SHA256, r.LinkExpiresAt = state.ReportDownloaded, file, sha256Hex([]byte(content)), linkExpires
	}
}

func statusAnswer(st *patsnap.ReportStatus, err error) func(string) (*patsnap.ReportStatus, error) {
	return func(string) (*patsnap.ReportStatus, error) { return st, err }
}

var (
	jobDone    = statusAnswer(&patsnap.ReportStatus{JobID: "100", JobStatus: patsnap.JobDone, DownloadURL: freshLink}, nil)
	jobForgot  = statusAnswer(nil, apiError(patsnap.EndpointReportStatus, patsnap.ClassNotFound, "report does not exist"))
	createJob  = func(patsnap.ReportRequest) (string, error) { return "200", nil }
	serveFresh = func(string) ([]byte, error) { return []byte(freshPDF), nil }
	linkGone   = func(string) ([]byte, error) {
		return nil, apiError(patsnap.EndpointDownload, patsnap.ClassNotFound, "download link expired or invalid")
	}
)

// refusedOnce refuses the first download, as an expired link, and serves
// the fresh pdf after that.
func refusedOnce() func(string) ([]byte, error) {
	var mu sync.Mutex
	n := 0
	return func(url string) ([]byte, error) {
		mu.Lock()
		defer mu.Unlock()
		n++
		if n == 1 {
			return linkGone(url)
		}
		return serveFresh(url)
	}
}

// sequence answers status calls with each of answers in turn, the last one
// from then on.
func sequence(answers ...func(string) (*patsnap.ReportStatus, error)) func(string) (*patsnap.ReportStatus, error) {
	var mu sync.Mutex
	n := 0
	return func(job string) (*patsnap.ReportStatus, error) {
		mu.Lock()
		defer mu.Unlock()
		a := answers[min(n, len(answers)-1)]
		n++
		return a(job)
	}
}

const (
	callStatus = "status 100"
	callCreate = "create CN1 pdf logo=true"
)

func TestRunReports(t *testing.T) {
	downloadCall := "download " + freshLink
	tests := []struct {
		name    string
		mode    Mode
		desired spec.Report // wantedReport when zero
		recName string      // the record's name; "r" when empty
		rec     *state.Report
		files   map[string]string // relative to the state's directory: content before the run
		setup   func(t *testing.T, r *Reconciler)

		status   func(string) (*patsnap.ReportStatus, error)
		create   func(patsnap.ReportRequest) (string, error)
		download func(string) ([]byte, error)

		want      report.ReportChange // Name and Patent filled in when empty
		wantRec   *state.Report       // recorded after the run; nil: nothing
		wantCalls []string            // sorted
		wantFiles map[string]string   // content after the run; "" is no file
	}{
		{
			name: "a new report is submitted", create: createJob,
			want:    report.ReportChange{Status: report.ReportSubmitted, JobID: "200"},
			wantRec: submittedReport(nil), wantCalls: []string{callCreate},
		},
		{
			name: "plan: a new report would be submitted", mode: ModePlan,
			want: report.ReportChange{Status: report.ReportSubmit},
		},
		{
			name: "a refused submission is an error and records nothing",
			create: func(patsnap.ReportRequest) (string, error) {
				return "", apiError(patsnap.EndpointReportCreate, patsnap.ClassInvalid, "design patents are not supported")
			},
			want:      report.ReportChange{Status: report.ReportError, Error: "patsnap R002-create: design patents are not supported (invalid-request)"},
			wantCalls: []string{callCreate},
		},
		{
			name: "a record without a job submits", rec: recordedReport(func(r *state.Report) { r.JobID = "" }), create: createJob,
			want:    report.ReportChange{Status: report.ReportSubmitted, JobID: "200"},
			wantRec: submittedReport(nil), wantCalls: []string{callCreate},
		},
		{
			name: "a queued job stays pending", rec: recordedReport(nil),
			status:  statusAnswer(&patsnap.ReportStatus{JobID: "100", JobStatus: patsnap.JobWaiting, QueueNum: 7}, nil),
			want:    report.ReportChange{Status: report.ReportPending, JobID: "100", QueueNum: 7},
			wantRec: recordedReport(nil), wantCalls: []string{callStatus},
		},
		{
			name: "a failed job is recorded as failed", rec: recordedReport(nil),
			status: statusAnswer(&patsnap.ReportStatus{JobID: "100", JobStatus: patsnap.JobFailed, AbnormalCause: "服务器异常"}, nil),
			want:   report.ReportChange{Status: report.ReportFailed, JobID: "100", Error: "服务器异常"},
			wantRec: recordedReport(func(r *state.Report) {
				r.Status, r.LastError = state.ReportFailed, "服务器异常"
			}),
			wantCalls: []string{callStatus},
		},
		{
			name: "a job failed without a cause says so", rec: recordedReport(nil),
			status: statusAnswer(&patsnap.ReportStatus{JobID: "100", JobStatus: patsnap.JobFailed}, nil),
			want:   report.ReportChange{Status: report.ReportFailed, JobID: "100", Error: "the report job failed without a cause"},
			wantRec: recordedReport(func(r *state.Report) {
				r.Status, r.LastError = state.ReportFailed, "the report job failed without a cause"
			}),
			wantCalls: []string{callStatus},
		},
		{
			name: "plan: a failed job is reported, not recorded", mode: ModePlan, rec: recordedReport(nil),
			status:  statusAnswer(&patsnap.ReportStatus{JobID: "100", JobStatus: patsnap.JobFailed, AbnormalCause: "boom"}, nil),
			want:    report.ReportChange{Status: report.ReportFailed, JobID: "100", Error: "boom"},
			wantRec: recordedReport(nil), wantCalls: []string{callStatus},
		},
		{
			name: "a recorded failure submits again", rec: recordedReport(func(r *state.Report) { r.Status, r.LastError = state.ReportFailed, "boom" }),
			create:  createJob,
			want:    report.ReportChange{Status: report.ReportSubmitted, JobID: "200"},
			wantRec: submittedReport(nil), wantCalls: []string{callCreate},
		},
		{
			name: "a finished job is downloaded", rec: recordedReport(func(r *state.Report) { r.LastError = "an earlier hiccup" }),
			status: jobDone, download: serveFresh,
			want:      report.ReportChange{Status: report.ReportFinished, JobID: "100", File: "reports/r.pdf"},
			wantRec:   recordedReport(downloaded("reports/r.pdf", freshPDF, linkEnd)),
			wantCalls: []string{downloadCall, callStatus},
			wantFiles: map[string]string{"reports/r.pdf": freshPDF},
		},
		{
			name: "plan: a finished job would be downloaded", mode: ModePlan, rec: recordedReport(nil), status: jobDone,
			want:    report.ReportChange{Status: report.ReportDownload, JobID: "100"},
			wantRec: recordedReport(nil), wantCalls: []string{callStatus},
			wantFiles: map[string]string{"reports/r.pdf": ""},
		},
		{
			name: "a pending job keeps the link expiry it has", rec: recordedReport(func(r *state.Report) { r.LinkExpiresAt = runNow.Add(time.Hour) }),
			status: jobDone, download: serveFresh,
			want:      report.ReportChange{Status: report.ReportFinished, JobID: "100", File: "reports/r.pdf"},
			wantRec:   recordedReport(downloaded("reports/r.pdf", freshPDF, runNow.Add(time.Hour))),
			wantCalls: []string{downloadCall, callStatus},
		},
		{
			name: "a job the API forgot is submitted again", rec: recordedReport(nil), status: jobForgot, create: createJob,
			want:    report.ReportChange{Status: report.ReportSubmitted, JobID: "200"},
			wantRec: submittedReport(nil), wantCalls: []string{callCreate, callStatus},
		},
		{
			name: "plan: a job the API forgot would be submitted again", mode: ModePlan, rec: recordedReport(nil), status: jobForgot,
			want:    report.ReportChange{Status: report.ReportSubmit, JobID: "100"},
			wantRec: recordedReport(nil), wantCalls: []string{callStatus},
		},
		{
			name: "a failed status call is an error and changes nothing", rec: recordedReport(nil),
			status:  statusAnswer(nil, apiError(patsnap.EndpointReportStatus, patsnap.ClassRetryable, "HTTP 503")),
			want:    report.ReportChange{Status: report.ReportError, JobID: "100", Error: "patsnap R002-status: HTTP 503 (retryable)"},
			wantRec: recordedReport(nil), wantCalls: []string{callStatus},
		},
		{
			name: "a link refused, and refused again when fresh, submits again and keeps the earlier job's file",
			rec: recordedReport(func(r *state.Report) {
				r.File, r.SHA256 = "reports/r.pdf", sha256Hex([]byte(earlierPDF))
			}),
			files:  map[string]string{"reports/r.pdf": earlierPDF},
			status: jobDone, download: linkGone, create: createJob,
			want: report.ReportChange{Status: report.ReportSubmitted, JobID: "200", File: "reports/r.pdf"},
			wantRec: submittedReport(func(r *state.Report) {
				r.File, r.SHA256 = "reports/r.pdf", sha256Hex([]byte(earlierPDF))
				r.Submissions = 1
			}),
			wantCalls: []string{callCreate, downloadCall, downloadCall, callStatus, callStatus},
			wantFiles: map[string]string{"reports/r.pdf": earlierPDF},
		},
		{
			name: "a refused link is fetched again through a fresh one, with no new job", rec: recordedReport(nil),
			status: jobDone, download: refusedOnce(),
			want:      report.ReportChange{Status: report.ReportFinished, JobID: "100", File: "reports/r.pdf"},
			wantRec:   recordedReport(downloaded("reports/r.pdf", freshPDF, linkEnd)),
			wantCalls: []string{downloadCall, downloadCall, callStatus, callStatus},
			wantFiles: map[string]string{"reports/r.pdf": freshPDF},
		},
		{
			name: "a job forgotten after a refused link is submitted again, counted", rec: recordedReport(nil),
			status: sequence(jobDone, jobForgot), download: linkGone, create: createJob,
			want:      report.ReportChange{Status: report.ReportSubmitted, JobID: "200"},
			wantRec:   submittedReport(func(r *state.Report) { r.Submissions = 1 }),
			wantCalls: []string{callCreate, downloadCall, callStatus, callStatus},
		},
		{
			name: "resubmissions count on", rec: recordedReport(func(r *state.Report) { r.Submissions = 2 }),
			status: jobDone, download: linkGone, create: createJob,
			want:      report.ReportChange{Status: report.ReportSubmitted, JobID: "200"},
			wantRec:   submittedReport(func(r *state.Report) { r.Submissions = 3 }),
			wantCalls: []string{callCreate, downloadCall, downloadCall, callStatus, callStatus},
		},
		{
			name: "at the cap of resubmissions no job is submitted", rec: recordedReport(func(r *state.Report) { r.Submissions = MaxResubmissions }),
			files:  map[string]string{"reports/r.pdf": earlierPDF},
			status: jobDone, download: linkGone,
			want: report.ReportChange{Status: report.ReportError, JobID: "100", Error: "not submitted again (the download link was refused, and so was a fresh one): " +
				"it was submitted again 3 times since a file of it was last downloaded, the most patwatch does on its own; " +
				"check the report's jobs on PatSnap, then 'patwatch apply --resubmit r' submits one more"},
			wantRec:   recordedReport(func(r *state.Report) { r.Submissions = MaxResubmissions }),
			wantCalls: []string{downloadCall, downloadCall, callStatus, callStatus},
			wantFiles: map[string]string{"reports/r.pdf": earlierPDF},
		},
		{
			name: "--resubmit goes past the cap", rec: recordedReport(func(r *state.Report) { r.Status, r.Submissions = state.ReportFailed, MaxResubmissions }),
			setup:   func(t *testing.T, r *Reconciler) { r.Resubmit = []string{"r"} },
			create:  createJob,
			want:    report.ReportChange{Status: report.ReportSubmitted, JobID: "200"},
			wantRec: submittedReport(func(r *state.Report) { r.Submissions = MaxResubmissions }), wantCalls: []string{callCreate},
		},
		{
			name: "a download resets the count of resubmissions", rec: recordedReport(func(r *state.Report) { r.Submissions = 2 }),
			status: jobDone, download: serveFresh,
			want:      report.ReportChange{Status: report.ReportFinished, JobID: "100", File: "reports/r.pdf"},
			wantRec:   recordedReport(downloaded("reports/r.pdf", freshPDF, linkEnd)),
			wantCalls: []string{downloadCall, callStatus},
		},
		{
			name: "a creation of unknown outcome is recorded and not sent again",
			create: func(patsnap.ReportRequest) (string, error) {
				return "", fmt.Errorf("%w: %w", apiError(patsnap.EndpointReportCreate, patsnap.ClassRetryable, "answer cut"), patsnap.ErrOutcomeUnknown)
			},
			want: report.ReportChange{Status: report.ReportError, Error: "patsnap R002-create: answer cut (retryable): the request may have reached the server; its outcome is unknown; " +
				"the job may exist on the account. It was not sent again in this run; the next apply submits it again (PatSnap's list of jobs shows whether this one was created)"},
			wantRec: submittedReport(func(r *state.Report) {
				r.JobID, r.Submissions, r.OutcomeUnknownAt = "", 1, runNow.Truncate(time.Second)
			}),
			wantCalls: []string{callCreate},
		},
		{
			name: "a creation of unknown outcome after a failed job keeps the earlier file",
			rec: recordedReport(func(r *state.Report) {
				r.Status, r.File, r.SHA256 = state.ReportFailed, "reports/r.pdf", sha256Hex([]byte(earlierPDF))
			}),
			create: func(patsnap.ReportRequest) (string, error) { return "", patsnap.ErrOutcomeUnknown },
			want: report.ReportChange{Status: report.ReportError, File: "reports/r.pdf", Error: "the request may have reached the server; its outcome is unknown; " +
				"the job may exist on the account. It was not sent again in this run; the next apply submits it again (PatSnap's list of jobs shows whether this one was created)"},
			wantRec: submittedReport(func(r *state.Report) {
				r.JobID, r.Submissions, r.OutcomeUnknownAt = "", 1, runNow.Truncate(time.Second)
				r.File, r.SHA256 = "reports/r.pdf", sha256Hex([]byte(earlierPDF))
			}),
			wantCalls: []string{callCreate},
		},
		{
			name: "after a creation of unknown outcome the next run submits, and the count stays",
			rec: submittedReport(func(r *state.Report) {
				r.JobID, r.Submissions, r.OutcomeUnknownAt = "", 1, t0
			}),
			create:    createJob,
			want:      report.ReportChange{Status: report.ReportSubmitted, JobID: "200"},
			wantRec:   submittedReport(func(r *state.Report) { r.Submissions = 1 }),
			wantCalls: []string{callCreate},
		},
		{
			name: "a failed download is an error and changes nothing", rec: recordedReport(nil), status: jobDone,
			download: func(string) ([]byte, error) {
				return nil, apiError(patsnap.EndpointDownload, patsnap.ClassRetryable, "download failed")
			},
			want:      report.ReportChange{Status: report.ReportError, JobID: "100", Error: "patsnap download: download failed (retryable)"},
			wantRec:   recordedReport(nil),
			wantCalls: []string{downloadCall, callStatus},
		},
		{
			name: "a reports directory that cannot be made is an error", rec: recordedReport(nil), status: jobDone,
			setup: func(t *testing.T, r *Reconciler) {
				blocker := filepath.Join(r.StateDir, "blocker")
				if err := os.WriteFile(blocker, nil, 0o644); err != nil {
					t.Fatal(err)
				}
				r.ReportsDir = filepath.Join(blocker, "reports")
			},
			want:      report.ReportChange{Status: report.ReportError, JobID: "100", Error: "reports directory: mkdir <dir>/blocker: not a directory"},
			wantRec:   recordedReport(nil),
			wantCalls: []string{callStatus},
		},
		{
			name: "an intact file is ready with no call", rec: recordedReport(downloaded("reports/r.pdf", earlierPDF, linkEnd)),
			files:     map[string]string{"reports/r.pdf": earlierPDF},
			want:      report.ReportChange{Status: report.ReportReady, JobID: "100", File: "reports/r.pdf"},
			wantRec:   recordedReport(downloaded("reports/r.pdf", earlierPDF, linkEnd)),
			wantFiles: map[string]string{"reports/r.pdf": earlierPDF},
		},
		{
			// The contract: a file already recorded that is fetched again is
			// ready, not finished, whatever its bytes.
			name: "a deleted file is fetched again while the link lives", rec: recordedReport(downloaded("reports/r.pdf", earlierPDF, runNow.Add(time.Hour))),
			status: jobDone, download: serveFresh,
			want:      report.ReportChange{Status: report.ReportReady, JobID: "100", File: "reports/r.pdf"},
			wantRec:   recordedReport(downloaded("reports/r.pdf", freshPDF, linkEnd)),
			wantCalls: []string{downloadCall, callStatus},
			wantFiles: map[string]string{"reports/r.pdf": freshPDF},
		},
		{
			name: "plan: a deleted file would be fetched again", mode: ModePlan, rec: recordedReport(downloaded("reports/r.pdf", earlierPDF, runNow.Add(time.Hour))),
			status:    jobDone,
			want:      report.ReportChange{Status: report.ReportDownload, JobID: "100", File: "reports/r.pdf"},
			wantRec:   recordedReport(downloaded("reports/r.pdf", earlierPDF, runNow.Add(time.Hour))),
			wantCalls: []string{callStatus},
		},
		{
			name:   "a changed file after the link expired submits again; the file stays recorded",
			rec:    recordedReport(downloaded("reports/r.pdf", earlierPDF, runNow.Add(-time.Hour))),
			files:  map[string]string{"reports/r.pdf": "edited by hand"},
			create: createJob,
			want:   report.ReportChange{Status: report.ReportSubmitted, JobID: "200", File: "reports/r.pdf"},
			wantRec: submittedReport(func(r *state.Report) {
				r.File, r.SHA256 = "reports/r.pdf", sha256Hex([]byte(earlierPDF))
			}),
			wantCalls: []string{callCreate},
			wantFiles: map[string]string{"reports/r.pdf": "edited by hand"},
		},
		{
			name: "a pending job whose link expired submits again", rec: recordedReport(func(r *state.Report) { r.LinkExpiresAt = runNow }),
			create:  createJob,
			want:    report.ReportChange{Status: report.ReportSubmitted, JobID: "200"},
			wantRec: submittedReport(nil), wantCalls: []string{callCreate},
		},
		{
			name:      "a changed request submits and forgets the other format's file",
			desired:   spec.Report{Name: "r", PatentNumber: "CN1", Format: "word", Logo: true},
			rec:       recordedReport(downloaded("reports/r.pdf", earlierPDF, linkEnd)),
			files:     map[string]string{"reports/r.pdf": earlierPDF},
			create:    createJob,
			want:      report.ReportChange{Status: report.ReportSubmitted, JobID: "200"},
			wantRec:   submittedReport(func(r *state.Report) { r.Format = "word" }),
			wantCalls: []string{"create CN1 word logo=true"},
			wantFiles: map[string]string{"reports/r.pdf": earlierPDF},
		},
		{
			name:    "a suspended report makes no call",
			desired: spec.Report{Name: "r", PatentNumber: "CN1", Format: "pdf", Logo: true, Suspend: true},
			rec:     recordedReport(downloaded("reports/r.pdf", earlierPDF, linkEnd)),
			want:    report.ReportChange{Status: report.ReportSuspended, JobID: "100", File: "reports/r.pdf"},
			wantRec: recordedReport(downloaded("reports/r.pdf", earlierPDF, linkEnd)),
		},
		{
			name: "a renamed report's file moves to its new name", recName: "old",
			rec:       recordedReport(downloaded("reports/old.pdf", earlierPDF, linkEnd)),
			files:     map[string]string{"reports/old.pdf": earlierPDF},
			want:      report.ReportChange{Status: report.ReportReady, JobID: "100", File: "reports/r.pdf", RenamedFrom: "old"},
			wantRec:   recordedReport(downloaded("reports/r.pdf", earlierPDF, linkEnd)),
			wantFiles: map[string]string{"reports/old.pdf": "", "reports/r.pdf": earlierPDF},
		},
		{
			name: "plan: a renamed report's file stays", mode: ModePlan, recName: "old",
			rec:       recordedReport(downloaded("reports/old.pdf", earlierPDF, linkEnd)),
			files:     map[string]string{"reports/old.pdf": earlierPDF},
			want:      report.ReportChange{Status: report.ReportReady, JobID: "100", File: "reports/old.pdf", RenamedFrom: "old"},
			wantRec:   recordedReport(downloaded("reports/old.pdf", earlierPDF, linkEnd)),
			wantFiles: map[string]string{"reports/old.pdf": earlierPDF, "reports/r.pdf": ""},
		},
		{
			name: "a renamed report's file stays when its new name is taken", recName: "old",
			rec:       recordedReport(downloaded("reports/old.pdf", earlierPDF, linkEnd)),
			files:     map[string]string{"reports/old.pdf": earlierPDF, "reports/r.pdf": "someone else's"},
			want:      report.ReportChange{Status: report.ReportReady, JobID: "100", File: "reports/old.pdf", RenamedFrom: "old"},
			wantRec:   recordedReport(downloaded("reports/old.pdf", earlierPDF, linkEnd)),
			wantFiles: map[string]string{"reports/old.pdf": earlierPDF, "reports/r.pdf": "someone else's"},
		},
		{
			name:    "a renamed report's file stays when the move fails",
			desired: spec.Report{Name: strings.Repeat("n", 300), PatentNumber: "CN1", Format: "pdf", Logo: true}, recName: "old",
			rec:       recordedReport(downloaded("reports/old.pdf", earlierPDF, linkEnd)),
			files:     map[string]string{"reports/old.pdf": earlierPDF},
			want:      report.ReportChange{Status: report.ReportReady, JobID: "100", File: "reports/old.pdf", RenamedFrom: "old"},
			wantRec:   recordedReport(downloaded("reports/old.pdf", earlierPDF, linkEnd)),
			wantFiles: map[string]string{"reports/old.pdf": earlierPDF},
		},
		{
			name: "a renamed report whose file is elsewhere keeps its path", recName: "old",
			rec:       recordedReport(downloaded("archive/r.pdf", earlierPDF, linkEnd)),
			files:     map[string]string{"archive/r.pdf": earlierPDF},
			want:      report.ReportChange{Status: report.ReportReady, JobID: "100", File: "archive/r.pdf", RenamedFrom: "old"},
			wantRec:   recordedReport(downloaded("archive/r.pdf", earlierPDF, linkEnd)),
			wantFiles: map[string]string{"archive/r.pdf": earlierPDF},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &fakeAPI{status: tt.status, create: tt.create, download: tt.download}
			r := newTestReconciler(t, api)
			if tt.setup != nil {
				tt.setup(t, r)
			}
			for name, content := range tt.files {
				p := filepath.Join(r.StateDir, filepath.FromSlash(name))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			desired := tt.desired
			if desired.Name == "" {
				desired = wantedReport
			}
			recName := tt.recName
			if recName == "" {
				recName = desired.Name
			}
			recordedState := state.New()
			if tt.rec != nil {
				recordedState.Reports[recName] = tt.rec
			}

			out := run(t, context.Background(), r, tt.mode, &spec.Spec{Reports: []spec.Report{desired}}, recordedState)

			want := tt.want
			want.Name, want.Patent, want.Origin = desired.Name, desired.Patent(), report.OriginSpec
			want.Error = strings.ReplaceAll(want.Error, "<dir>", r.StateDir)
			if len(out.Report.Reports) != 1 || !reflect.DeepEqual(out.Report.Reports[0], want) {
				t.Errorf("change report:\n got %+v\nwant %+v", out.Report.Reports, want)
			}
			if got := out.State.Reports[desired.Name]; !reflect.DeepEqual(got, tt.wantRec) {
				t.Errorf("recorded:\n got %+v\nwant %+v", got, tt.wantRec)
			}
			if len(out.State.Reports) > 1 {
				t.Errorf("more than one report recorded: %+v", out.State.Reports)
			}
			if got := api.Calls(); !reflect.DeepEqual(got, tt.wantCalls) {
				t.Errorf("calls:\n got %q\nwant %q", got, tt.wantCalls)
			}
			for name, want := range tt.wantFiles {
				b, err := os.ReadFile(filepath.Join(r.StateDir, filepath.FromSlash(name)))
				switch {
				case want == "" && !errors.Is(err, os.ErrNotExist):
					t.Errorf("%s: exists (%v), want no file", name, err)
				case want != "" && string(b) != want:
					t.Errorf("%s: %q (%v), want %q", name, b, err, want)
				}
			}
		})
	}
}

func TestRunRemovedReportIsForgotten(t *testing.T) {
	r := newTestReconciler(t, &fakeAPI{})
	recordedState := newState(nil, map[string]*state.Report{
		"gone": recordedReport(downloaded("reports/gone.pdf", earlierPDF, linkEnd)),
	})
	out := run(t, context.Background(), r, ModeApply, &spec.Spec{}, recordedState)
	want := []report.ReportChange{{Name: "gone", Patent: "CN1", Status: report.ReportRemoved, JobID: "100", File: "reports/gone.pdf", Origin: report.OriginSpec}}
	if !reflect.DeepEqual(out.Report.Reports, want) {
		t.Errorf("change report:\n got %+v\nwant %+v", out.Report.Reports, want)
	}
	if len(out.State.Reports) != 0 || !out.Report.Changed {
		t.Errorf("recorded %+v, changed %v; want nothing recorded and a change", out.State.Reports, out.Report.Changed)
	}
}
