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
	"path/filepath"
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

// reportStep is what a report needs in this run.
type reportStep int

const (
	stepSubmit reportStep = iota // create a new job
	stepPoll                     // ask the recorded job's status (and download when done)
	stepReady                    // the file is on disk as recorded: nothing to call
)

// decideReport chooses a report's step from what is recorded and whether the
// recorded file is still intact. It does no I/O.
func decideReport(desired spec.Report, rec *state.Report, fileIntact bool, now time.Time) (reportStep, string) {
	switch {
	case rec == nil || rec.JobID == "":
		return stepSubmit, "no job yet"
	case !sameRequest(desired, rec):
		return stepSubmit, "the report's request changed"
	case rec.Status == state.ReportFailed:
		return stepSubmit, "the last job failed"
	case rec.Status == state.ReportDownloaded && fileIntact:
		return stepReady, "file intact"
	case linkExpired(rec, now):
		if rec.Status == state.ReportDownloaded {
			return stepSubmit, "the file was removed or changed and the job's link has expired"
		}
		return stepSubmit, "the job's download link expired before the file was fetched"
	case rec.Status == state.ReportDownloaded:
		return stepPoll, "the file was removed or changed; fetching it again"
	}
	return stepPoll, "job pending"
}

// sameRequest reports whether rec was recorded for the report desired asks for.
func sameRequest(desired spec.Report, rec *state.Report) bool {
	return rec.PatentNumber == desired.PatentNumber && rec.PatentID == desired.PatentID &&
		rec.Format == desired.Format && rec.Logo == desired.Logo
}

func linkExpired(rec *state.Report, now time.Time) bool {
	return !rec.LinkExpiresAt.IsZero() && !now.Before(rec.LinkExpiresAt)
}

// fileIntact reports whether the recorded file exists with the recorded digest.
func fileIntact(path, want string) bool {
	if path == "" || want == "" {
		return false
	}
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return false
	}
	return hex.EncodeToString(h.Sum(nil)) == want
}

// reconcileReport runs one report's step and returns its new recorded value
// (rec itself when nothing changed) and its part of the change report.
func (r *Reconciler) reconcileReport(ctx context.Context, mode Mode, desired spec.Report, rec *state.Report, renamedFrom string) (*state.Report, report.ReportChange) {
	ch := report.ReportChange{Name: desired.Name, Patent: desired.Patent(), RenamedFrom: renamedFrom}
	if rec != nil {
		ch.JobID, ch.File = rec.JobID, rec.File
	}
	if desired.Suspend {
		ch.Status = report.ReportSuspended
		return rec, ch
	}
	now := r.now()
	intact := rec != nil && rec.Status == state.ReportDownloaded && fileIntact(r.abs(rec.File), rec.SHA256)
	step, why := decideReport(desired, rec, intact, now)
	r.Log.Debug().Str("report", desired.Name).Str("why", why).Msg("report step")

	switch step {
	case stepReady:
		ch.Status = report.ReportReady
		return r.moveReport(mode, desired, rec, ch)
	case stepSubmit:
		return r.submitReport(ctx, mode, desired, rec, ch)
	}

	st, err := r.API.ReportStatus(ctx, rec.JobID)
	if err != nil {
		if patsnap.ClassOf(err) == patsnap.ClassNotFound {
			r.Log.Info().Str("report", desired.Name).Str("job_id", rec.JobID).Msg("the API no longer knows the job; submitting a new one")
			return r.submitReport(ctx, mode, desired, rec, ch)
		}
		return rec, errorChange(ch, err)
	}
	switch st.JobStatus {
	case patsnap.JobFailed:
		ch.Status = report.ReportFailed
		ch.Error = st.AbnormalCause
		if ch.Error == "" {
			ch.Error = "the report job failed without a cause"
		}
		if mode != ModeApply {
			return rec, ch
		}
		next := *rec
		next.Status = state.ReportFailed
		next.LastError = ch.Error
		return &next, ch
	case patsnap.JobDone:
	default:
		ch.Status = report.ReportPending
		ch.QueueNum = st.QueueNum
		return rec, ch
	}

	if mode != ModeApply {
		ch.Status = report.ReportDownload
		return rec, ch
	}
	next := *rec
	if next.LinkExpiresAt.IsZero() || next.Status == state.ReportDownloaded {
		next.LinkExpiresAt = linkExpiry(st.DownloadURL, now)
	}
	target := filepath.Join(r.ReportsDir, desired.Name+desired.Ext())
	if err := os.MkdirAll(r.ReportsDir, 0o755); err != nil {
		return rec, errorChange(ch, fmt.Errorf("reports directory: %w", err))
	}
	dl, err := r.API.Download(ctx, st.DownloadURL, target)
	if err != nil {
		if patsnap.ClassOf(err) == patsnap.ClassNotFound {
			r.Log.Info().Str("report", desired.Name).Msg("the download link no longer works; submitting a new job")
			return r.submitReport(ctx, mode, desired, rec, ch)
		}
		return rec, errorChange(ch, err)
	}
	next.Status = state.ReportDownloaded
	next.File = r.rel(dl.Path)
	next.SHA256 = dl.SHA256
	next.LastError = ""
	ch.Status = report.ReportFinished
	ch.File = next.File
	return &next, ch
}

// moveReport moves the intact file of a renamed report to its new name, in
// apply mode and when nothing is there yet. Failing to move it is no error:
// the file stays where it is and recorded as such.
func (r *Reconciler) moveReport(mode Mode, desired spec.Report, rec *state.Report, ch report.ReportChange) (*state.Report, report.ReportChange) {
	target := filepath.Join(filepath.Dir(r.abs(rec.File)), desired.Name+desired.Ext())
	if mode != ModeApply || ch.RenamedFrom == "" || r.rel(target) == rec.File {
		return rec, ch
	}
	if _, err := os.Lstat(target); err == nil {
		return rec, ch
	}
	if err := os.Rename(r.abs(rec.File), target); err != nil {
		r.Log.Warn().Err(err).Str("report", desired.Name).Msg("could not move the report file to its new name")
		return rec, ch
	}
	next := *rec
	next.File = r.rel(target)
	ch.File = next.File
	return &next, ch
}

// submitReport creates a new job for desired (in apply mode).
func (r *Reconciler) submitReport(ctx context.Context, mode Mode, desired spec.Report, rec *state.Report, ch report.ReportChange) (*state.Report, report.ReportChange) {
	if mode != ModeApply {
		ch.Status = report.ReportSubmit
		return rec, ch
	}
	jobID, err := r.API.CreateReport(ctx, patsnap.ReportRequest{
		PatentNumber: desired.PatentNumber,
		PatentID:     desired.PatentID,
		Format:       desired.Format,
		Logo:         desired.Logo,
	})
	if err != nil {
		return rec, errorChange(ch, err)
	}
	next := &state.Report{
		PatentNumber: desired.PatentNumber,
		PatentID:     desired.PatentID,
		Format:       desired.Format,
		Logo:         desired.Logo,
		JobID:        jobID,
		Status:       state.ReportPending,
		SubmittedAt:  r.now().UTC().Truncate(time.Second),
	}
	if rec != nil && sameRequest(desired, rec) {
		// The file of an earlier job for the same report stays recorded
		// until the new one replaces it; a file for another patent or
		// format does not.
		next.File, next.SHA256 = rec.File, rec.SHA256
	}
	ch.Status = report.ReportSubmitted
	ch.JobID = jobID
	ch.File = next.File
	ch.Error = ""
	return next, ch
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
func (r *Reconciler) abs(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(r.StateDir, filepath.FromSlash(p))
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

var errInterrupted = errors.New("interrupted before it ran")

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
