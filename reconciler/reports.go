package reconciler

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/patwatch/patwatch/internal/patsnap"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

// LinkLifetime is how long a finished report's download link lives.
const LinkLifetime = 7 * 24 * time.Hour

// MaxResubmissions caps the jobs a report is submitted again for because
// the last one could not be had: its download was refused even through a
// fresh link, or its creation's answer was lost (the record's Submissions,
// reset by a download). Each job may be charged, and a link refused for good
// must not cost a job on every run. Once the cap is reached, no job is
// submitted for the report, whatever the reason, until a report named in
// Reconciler.Resubmit is given one more.
const MaxResubmissions = 3

// reportStep is the next step of a report's lifecycle in a run. The first
// six read or change something; the executor does that and gives the answer
// back to nextReportStep. The others settle the report for the run.
type reportStep int

const (
	stepCheckFile reportStep = iota // hash the recorded file
	stepPoll                        // ask the recorded job's status
	stepDownload                    // fetch the finished job's file (changes the reports directory)
	stepSubmit                      // create a new job (changes what the API holds)
	stepMove                        // move a renamed report's file to its new name
	stepRefresh                     // ask the job's status again, for a fresh link after a refused download

	stepSuspended // suspend: true; nothing is called
	stepReady     // the file is on disk as recorded: nothing is called
	stepPending   // the job is still queued or running
	stepFailed    // the job failed; recorded so, the next run submits again
	stepFinished  // the file was downloaded
	stepSubmitted // a new job was created
	stepUnknown   // a job's creation may have reached the API unanswered; recorded so
	stepRefused   // the API refused to create an automatic report's job; recorded so, never submitted again
	stepError     // a call failed, or a submission was held; the record stays as it was
)

var stepNames = [...]string{
	stepCheckFile: "check-file", stepPoll: "poll", stepDownload: "download", stepSubmit: "submit", stepMove: "move",
	stepRefresh: "refresh-link", stepSuspended: "suspended", stepReady: "ready", stepPending: "pending",
	stepFailed: "record-failed", stepFinished: "finished", stepSubmitted: "submitted", stepUnknown: "outcome-unknown",
	stepRefused: "refused", stepError: "error",
}

func (s reportStep) String() string {
	if int(s) < len(stepNames) {
		return stepNames[s]
	}
	return "step(" + strconv.Itoa(int(s)) + ")"
}

// fileState is what is known of a report's recorded file on disk.
type fileState int

const (
	fileUnknown fileState = iota // not looked at
	fileIntact                   // there, with the recorded digest
	fileMissing                  // not there, not readable, or none recorded
	fileChanged                  // there, with other bytes
)

// answer is what one call answered: exactly one of Value and Err is set.
type answer[T any] struct {
	Value T
	Err   error
}

func answered[T any](v T, err error) *answer[T] { return &answer[T]{Value: v, Err: err} }

// cutAnswer is a, the answer of a call made under ctx, with the run's end
// for its error (cutShort) when ctx ended while the call ran: a cancelled
// request says nothing more, unless its error does (an account-wide error,
// a job creation whose outcome is unknown).
func cutAnswer[T any](ctx context.Context, a *answer[T]) *answer[T] {
	if a.Err != nil && ctx.Err() != nil && !patsnap.IsAccountWide(a.Err) && !errors.Is(a.Err, patsnap.ErrOutcomeUnknown) {
		a.Err = cutShort(ctx)
	}
	return a
}

// reportFacts is what is known of one report at a point of its run: the
// spec's report, its record, and the answers of the steps taken so far (nil
// until taken).
type reportFacts struct {
	Desired     spec.Report
	Rec         *state.Report // nil: never recorded
	RenamedFrom string        // the name Rec was recorded under, when the spec renamed the report

	// Resubmit lifts the cap of MaxResubmissions for this run: the user
	// asked for one more job (--resubmit).
	Resubmit bool
	// Automatic marks an automatic report (spec.IsAutoReportName): a
	// creation the API refuses as a request it cannot serve is recorded
	// so, and never submitted again.
	Automatic bool

	File   fileState
	Status *answer[*patsnap.ReportStatus]
	Fetch  *answer[*patsnap.Download]
	// Refused is a download the link's host refused (401, 403, 404, 410)
	// before the status was asked again for a fresh link; Status and Fetch
	// then hold the second round's answers.
	Refused *answer[*patsnap.Download]
	Submit  *answer[string] // the new job's id
	// Move is the file's new path (relative to the state's directory),
	// empty when it was left where it is.
	Move *answer[string]
}

// reportDecision is a report's next step and why it was chosen.
type reportDecision struct {
	Step reportStep
	Why  string // for the log
	Err  string // stepFailed, stepError: the change report's error
}

// nextReportStep decides a report's next step from what is known of it. It
// does no I/O and reads no clock; a zero now is no clock at all, under which
// no download link counts as expired. Each step that asks for I/O is
// answered in a field that a later decision reads first, so feeding the
// answers back settles a report within seven steps.
//
// A submission that would go past MaxResubmissions is held as an error.
func nextReportStep(f reportFacts, now time.Time) reportDecision {
	d := decideStep(f, now)
	if d.Step != stepSubmit || f.Resubmit || !resubmission(f.Desired, f.Rec) || f.Rec.Submissions < MaxResubmissions {
		return d
	}
	return reportDecision{Step: stepError, Why: "resubmissions capped: " + d.Why, Err: fmt.Sprintf(
		"not submitted again (%s): it was submitted again %d times since a file of it was last downloaded, "+
			"the most patwatch does on its own; check the report's jobs on PatSnap, then "+
			"'patwatch apply --resubmit %s' submits one more",
		d.Why, f.Rec.Submissions, f.Desired.Name)}
}

// decideStep is nextReportStep without the cap on resubmissions.
func decideStep(f reportFacts, now time.Time) reportDecision {
	rec := f.Rec
	switch {
	case f.Move != nil:
		return reportDecision{Step: stepReady, Why: "file intact"}
	case f.Submit != nil && errors.Is(f.Submit.Err, patsnap.ErrOutcomeUnknown):
		return reportDecision{Step: stepUnknown, Why: "the job's creation may have reached the API unanswered", Err: fmt.Sprintf(
			"%v; the job may exist on the account. It was not sent again in this run; the next apply submits it again "+
				"(PatSnap's list of jobs shows whether this one was created)", f.Submit.Err)}
	case f.Submit != nil && f.Automatic && patsnap.ClassOf(f.Submit.Err) == patsnap.ClassInvalid:
		return reportDecision{Step: stepRefused, Why: "the API refused to report on the patent", Err: f.Submit.Err.Error()}
	case f.Submit != nil && f.Submit.Err != nil:
		return reportDecision{Step: stepError, Why: "the API did not create the job", Err: f.Submit.Err.Error()}
	case f.Submit != nil:
		return reportDecision{Step: stepSubmitted, Why: "the API created the job"}
	case f.Fetch != nil && patsnap.ClassOf(f.Fetch.Err) == patsnap.ClassNotFound && f.Refused == nil:
		// The link may have been spoiled on its way (a proxy, a clock
		// skew): a fresh one costs a status call, a new job may cost money.
		return reportDecision{Step: stepRefresh, Why: "the download link was refused; asking the job's status again for a fresh one"}
	case f.Fetch != nil && patsnap.ClassOf(f.Fetch.Err) == patsnap.ClassNotFound:
		return reportDecision{Step: stepSubmit, Why: "the download link was refused, and so was a fresh one"}
	case f.Fetch != nil && f.Fetch.Err != nil:
		return reportDecision{Step: stepError, Why: "the download failed", Err: f.Fetch.Err.Error()}
	case f.Fetch != nil:
		return reportDecision{Step: stepFinished, Why: "the file was downloaded"}
	case f.Status != nil && patsnap.ClassOf(f.Status.Err) == patsnap.ClassNotFound:
		return reportDecision{Step: stepSubmit, Why: "the API no longer knows the job; submitting a new one"}
	case f.Status != nil && f.Status.Err != nil:
		return reportDecision{Step: stepError, Why: "the status call failed", Err: f.Status.Err.Error()}
	case f.Status != nil:
		switch st := f.Status.Value; st.JobStatus {
		case patsnap.JobFailed:
			cause := st.AbnormalCause
			if cause == "" {
				cause = "the report job failed without a cause"
			}
			return reportDecision{Step: stepFailed, Why: "the job failed", Err: cause}
		case patsnap.JobDone:
			return reportDecision{Step: stepDownload, Why: "the job is done"}
		}
		return reportDecision{Step: stepPending, Why: "the job is queued or running"}
	}

	// Nothing asked yet: the record decides.
	switch {
	case f.Desired.Suspend:
		return reportDecision{Step: stepSuspended, Why: "suspended"}
	case rec == nil || rec.JobID == "" && rec.OutcomeUnknownAt.IsZero():
		return reportDecision{Step: stepSubmit, Why: "no job yet"}
	case rec.JobID == "":
		return reportDecision{Step: stepSubmit, Why: "the last job's creation went unanswered"}
	case !sameRequest(f.Desired, rec):
		return reportDecision{Step: stepSubmit, Why: "the report's request changed"}
	case rec.Status == state.ReportFailed:
		return reportDecision{Step: stepSubmit, Why: "the last job failed"}
	case rec.Status == state.ReportDownloaded && f.File == fileUnknown:
		return reportDecision{Step: stepCheckFile, Why: "a downloaded file is recorded"}
	case rec.Status == state.ReportDownloaded && f.File == fileIntact:
		if f.RenamedFrom != "" && path.Base(filepath.ToSlash(rec.File)) != f.Desired.Name+f.Desired.Ext() {
			return reportDecision{Step: stepMove, Why: "the report was renamed from " + f.RenamedFrom}
		}
		return reportDecision{Step: stepReady, Why: "file intact"}
	}
	gone := "the file was removed"
	if f.File == fileChanged {
		gone = "the file changed on disk"
	}
	switch {
	case linkExpired(rec, now) && rec.Status == state.ReportDownloaded:
		return reportDecision{Step: stepSubmit, Why: gone + " and the job's link has expired"}
	case linkExpired(rec, now):
		return reportDecision{Step: stepSubmit, Why: "the job's download link expired before the file was fetched"}
	case rec.Status == state.ReportDownloaded:
		return reportDecision{Step: stepPoll, Why: gone + "; fetching it again"}
	}
	return reportDecision{Step: stepPoll, Why: "job pending"}
}

// resubmission reports whether a job submitted now for desired would be
// submitted again: rec asks for the same report, a job was submitted (or may
// have been) for it, and no file of it was downloaded since. Only then does
// the record's count of resubmissions carry over.
func resubmission(desired spec.Report, rec *state.Report) bool {
	return rec != nil && sameRequest(desired, rec) && rec.Status != state.ReportDownloaded &&
		(rec.JobID != "" || !rec.OutcomeUnknownAt.IsZero())
}

// sameRequest reports whether rec was recorded for the report desired asks for.
func sameRequest(desired spec.Report, rec *state.Report) bool {
	return rec.PatentNumber == desired.PatentNumber && rec.PatentID == desired.PatentID &&
		rec.Format == desired.Format && rec.Logo == desired.Logo
}

func linkExpired(rec *state.Report, now time.Time) bool {
	return !rec.LinkExpiresAt.IsZero() && !now.Before(rec.LinkExpiresAt)
}

// submittedRecord is the record of the new job jobID for desired, created at
// now. The file of an earlier job for the same report stays recorded until
// the new one replaces it; a file for another patent or format does not. The
// count of resubmissions carries over, plus one when counted says this job
// replaces one that could not be had.
func submittedRecord(desired spec.Report, rec *state.Report, jobID string, now time.Time, counted bool) *state.Report {
	next := &state.Report{
		PatentNumber: desired.PatentNumber,
		PatentID:     desired.PatentID,
		Format:       desired.Format,
		Logo:         desired.Logo,
		JobID:        jobID,
		Status:       state.ReportPending,
		SubmittedAt:  now.UTC().Truncate(time.Second),
	}
	if rec != nil && sameRequest(desired, rec) {
		next.File, next.SHA256 = rec.File, rec.SHA256
	}
	if resubmission(desired, rec) {
		next.Submissions = rec.Submissions
		if counted {
			next.Submissions++
		}
	}
	return next
}

// unknownRecord is the record of a job creation for desired, sent at now,
// whose answer was lost: no job id is known, the creation counts as a
// submission, and the next run submits again. The file of an earlier job for
// the same report stays recorded.
func unknownRecord(desired spec.Report, rec *state.Report, now time.Time) *state.Report {
	next := submittedRecord(desired, rec, "", now, false)
	next.Submissions++
	next.OutcomeUnknownAt = next.SubmittedAt
	return next
}

// downloadedRecord is rec once the file of its job, fetched through link,
// lies at file with digest sha256. A first download (or one of a file that
// was removed) records the link's expiry; a pending job keeps the expiry it
// has.
func downloadedRecord(rec *state.Report, link, file, sha256 string, now time.Time) *state.Report {
	next := *rec
	if next.LinkExpiresAt.IsZero() || next.Status == state.ReportDownloaded {
		next.LinkExpiresAt = linkExpiry(link, now)
	}
	next.Status = state.ReportDownloaded
	next.File = file
	next.SHA256 = sha256
	next.LastError = ""
	next.Submissions = 0
	next.OutcomeUnknownAt = time.Time{}
	return &next
}

// failedRecord is rec once its job failed with cause.
func failedRecord(rec *state.Report, cause string) *state.Report {
	next := *rec
	next.Status = state.ReportFailed
	next.LastError = cause
	return &next
}

// fileChecks holds the checks of recorded report files made so far, by
// absolute path and recorded digest, so that a run reads each file once:
// the worst case (NewScope) checks the file of every report whose next
// step needs it, and the run's reports take those answers. The run
// drops them before it writes a report file (a download, a move), after
// which a file is read again. A nil fileChecks keeps nothing.
type fileChecks map[fileKey]fileState

type fileKey struct{ path, sha256 string }

// check is checkFile(path, want), read once while fc keeps it.
func (fc fileChecks) check(path, want string) fileState {
	k := fileKey{path, want}
	if st, ok := fc[k]; ok {
		return st
	}
	st := checkFile(path, want)
	if fc != nil {
		fc[k] = st
	}
	return st
}

// checkFile says whether the recorded file exists with the recorded digest.
func checkFile(path, want string) fileState {
	if path == "" || want == "" {
		return fileMissing
	}
	f, err := os.Open(path)
	if err != nil {
		return fileMissing
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fileMissing
	}
	if hex.EncodeToString(h.Sum(nil)) != want {
		return fileChanged
	}
	return fileIntact
}

// reconcileReport runs one report's lifecycle: it takes the steps
// nextReportStep asks for and gives their answers back until the report
// settles. It returns the report's new recorded value (rec itself when
// nothing changed) and its part of the change report. In plan mode the
// steps that change something (submit, download, move) are not taken: the
// report settles on what apply would do.
func (r *Reconciler) reconcileReport(ctx context.Context, mode Mode, desired spec.Report, rec *state.Report, renamedFrom string) (*state.Report, report.ReportChange) {
	ch := report.ReportChange{Name: desired.Name, Patent: desired.Patent(), RenamedFrom: renamedFrom}
	if rec != nil {
		ch.JobID, ch.File = rec.JobID, rec.File
	}
	now := r.now()
	f := reportFacts{Desired: desired, Rec: rec, RenamedFrom: renamedFrom, Resubmit: slices.Contains(r.Resubmit, desired.Name),
		Automatic: spec.IsAutoReportName(desired.Name)}
	for {
		d := nextReportStep(f, now)
		ev := r.Log.Debug()
		if d.Step == stepSubmit && (f.Status != nil || f.Fetch != nil) {
			ev = r.Log.Info().Str("job_id", rec.JobID) // the recorded job is given up
		}
		ev.Str("report", desired.Name).Stringer("step", d.Step).Str("why", d.Why).Msg("report step")

		switch d.Step {
		case stepCheckFile:
			f.File = r.files.check(r.abs(rec.File), rec.SHA256)
			continue
		case stepPoll:
			f.Status = cutAnswer(ctx, answered(r.API.ReportStatus(ctx, rec.JobID)))
			r.checkAccount(f.Status.Err)
			continue
		case stepRefresh:
			f.Refused, f.Fetch = f.Fetch, nil
			f.Status = cutAnswer(ctx, answered(r.API.ReportStatus(ctx, rec.JobID)))
			r.checkAccount(f.Status.Err)
			continue
		}
		if mode == ModeApply {
			switch d.Step {
			case stepDownload:
				r.files = nil // the checks made before may no longer hold
				f.Fetch = cutAnswer(ctx, answered(r.fetchReport(ctx, desired, f.Status.Value.DownloadURL)))
				continue
			case stepSubmit:
				if err := r.replay.mayNotSubmit(desired.Name); err != nil {
					return r.settleReport(mode, reportDecision{Step: stepError, Why: "not in the saved plan", Err: err.Error()}, f, ch, now)
				}
				if rec != nil && !rec.OutcomeUnknownAt.IsZero() {
					r.Log.Warn().Str("report", desired.Name).Time("outcome_unknown_at", rec.OutcomeUnknownAt).
						Msg("submitting again a report whose last creation may have reached the API unanswered; the account may hold a duplicate job")
				}
				f.Submit = cutAnswer(ctx, answered(r.API.CreateReport(ctx, patsnap.ReportRequest{
					PatentNumber: desired.PatentNumber,
					PatentID:     desired.PatentID,
					Format:       desired.Format,
					Logo:         desired.Logo,
				})))
				r.checkAccount(f.Submit.Err)
				continue
			case stepMove:
				r.files = nil
				f.Move = answered(r.moveReport(desired, rec))
				if f.Move.Err != nil {
					r.Log.Warn().Err(f.Move.Err).Str("report", desired.Name).Msg("could not move the report file to its new name")
				}
				continue
			}
		}
		return r.settleReport(mode, d, f, ch, now)
	}
}

// settleReport is a settled report's new record and change; in plan mode it
// is also where the steps not taken settle.
func (r *Reconciler) settleReport(mode Mode, d reportDecision, f reportFacts, ch report.ReportChange, now time.Time) (*state.Report, report.ReportChange) {
	rec := f.Rec
	switch d.Step {
	case stepSuspended:
		ch.Status = report.ReportSuspended
	case stepReady, stepMove:
		ch.Status = report.ReportReady
		if f.Move != nil && f.Move.Value != "" {
			next := *rec
			next.File = f.Move.Value
			ch.File = next.File
			return &next, ch
		}
	case stepPending:
		ch.Status = report.ReportPending
		ch.QueueNum = f.Status.Value.QueueNum
	case stepFailed:
		ch.Status = report.ReportFailed
		ch.Error = d.Err
		if mode == ModeApply {
			return failedRecord(rec, d.Err), ch
		}
	case stepDownload:
		ch.Status = report.ReportDownload
	case stepSubmit:
		ch.Status = report.ReportSubmit
		ch.Reason = resubmitReason(f.Desired, rec)
	case stepFinished:
		dl := f.Fetch.Value
		next := downloadedRecord(rec, f.Status.Value.DownloadURL, r.rel(dl.Path), dl.SHA256, now)
		ch.Status = report.ReportFinished
		if rec.Status == state.ReportDownloaded {
			// A recorded file fetched again because it went missing or
			// changed (a fresh checkout, say) is the job's file already
			// reported, even if its bytes differ: no change.
			ch.Status = report.ReportReady
		}
		ch.File = next.File
		return next, ch
	case stepSubmitted:
		// Submitted when the API answered, not when the run began.
		// A job replaces one whose download was refused: counted.
		next := submittedRecord(f.Desired, rec, f.Submit.Value, r.now(), f.Refused != nil)
		ch.Status = report.ReportSubmitted
		ch.JobID = next.JobID
		ch.File = next.File
		ch.Error = ""
		return next, ch
	case stepUnknown:
		ch.Status = report.ReportError
		ch.Error = d.Err
		next := unknownRecord(f.Desired, rec, r.now())
		ch.JobID, ch.File = "", next.File
		return next, ch
	case stepRefused:
		// Said once, here: the record keeps it from being submitted again.
		ch.Status = report.ReportSkipped
		ch.Reason = "PatSnap refused to report on it (" + d.Err + "); it is not ordered again"
		return refusal(f.Desired, d.Err, r.now()), ch
	case stepError:
		ch.Status = report.ReportError
		ch.Error = d.Err
	}
	return rec, ch
}

// moveReport moves the intact file of a renamed report to its new name in
// the same directory, unless something is there already, and returns its new
// path relative to the state's directory ("" when it stays). Failing to move
// it is no failure of the report: the file stays recorded where it is.
func (r *Reconciler) moveReport(desired spec.Report, rec *state.Report) (string, error) {
	target := filepath.Join(filepath.Dir(r.abs(rec.File)), desired.Name+desired.Ext())
	if _, err := os.Lstat(target); err == nil {
		return "", nil
	}
	if err := os.Rename(r.abs(rec.File), target); err != nil {
		return "", err
	}
	return r.rel(target), nil
}

// fetchReport downloads a finished report to its place in the reports
// directory.
func (r *Reconciler) fetchReport(ctx context.Context, desired spec.Report, link string) (*patsnap.Download, error) {
	if err := os.MkdirAll(r.ReportsDir, 0o755); err != nil {
		return nil, fmt.Errorf("reports directory: %w", err)
	}
	return r.API.Download(ctx, link, filepath.Join(r.ReportsDir, desired.Name+desired.Ext()), desired.Format)
}

func errorChange(ch report.ReportChange, err error) report.ReportChange {
	ch.Status = report.ReportError
	ch.Error = err.Error()
	return ch
}

// linkExpiry reads a presigned link's expiry from its query where the
// signature scheme states it (X-Amz-Date plus X-Amz-Expires; q-sign-time's
// end; an expires Unix time), else assumes the documented seven days from now.
// The URL itself is never stored.
func linkExpiry(link string, now time.Time) time.Time {
	fallback := now.Add(LinkLifetime).UTC().Truncate(time.Second)
	u, err := url.Parse(link)
	if err != nil {
		return fallback
	}
	q := u.Query()
	if d, e := q.Get("X-Amz-Date"), q.Get("X-Amz-Expires"); d != "" && e != "" {
		t, err1 := time.Parse("20060102T150405Z", d)
		secs, err2 := strconv.ParseInt(e, 10, 64)
		if err1 == nil && err2 == nil {
			return t.Add(time.Duration(secs) * time.Second).UTC()
		}
	}
	if sign := q.Get("sign"); sign != "" {
		// The sign parameter is itself a query string (COS signatures) whose
		// q-sign-time is "start;end"; url.ParseQuery refuses the semicolon.
		for _, kv := range strings.Split(sign, "&") {
			if v, ok := strings.CutPrefix(kv, "q-sign-time="); ok {
				if _, end, ok := strings.Cut(v, ";"); ok {
					if secs, err := strconv.ParseInt(end, 10, 64); err == nil {
						return time.Unix(secs, 0).UTC()
					}
				}
			}
		}
	}
	if e := q.Get("expires"); e != "" {
		if secs, err := strconv.ParseInt(e, 10, 64); err == nil {
			return time.Unix(secs, 0).UTC()
		}
	}
	return fallback
}

// abs resolves a recorded file path against the state's directory.
func (r *Reconciler) abs(p string) string { return absPath(r.StateDir, p) }

// absPath resolves the recorded file path p against the directory dir it
// is recorded relative to.
func absPath(dir, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, filepath.FromSlash(p))
}

// rel records p relative to the state's directory (through .. where it lies
// elsewhere), with forward slashes, so that a committed state names the same
// file in every checkout and on every system.
func (r *Reconciler) rel(p string) string {
	if rel, err := filepath.Rel(r.StateDir, p); err == nil {
		return filepath.ToSlash(rel)
	}
	return p
}

// The errors of an entry an interrupt left undone: before or while its
// calls were made.
var (
	errInterrupted = errors.New("interrupted before it ran")
	errCut         = errors.New("interrupted before it finished")
)

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
