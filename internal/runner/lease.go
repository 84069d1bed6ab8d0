package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/patwatch/patwatch/internal/hint"
	"github.com/patwatch/patwatch/internal/patsnap"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/reconciler"
	"github.com/patwatch/patwatch/state"
)

// lease is an apply's hold on the state's lock. A store can lose a lock
// that its holder did not release: a database that restarts, or ends the
// lock's session, releases it, and another run may take it. So each report
// job submission, the one call of a run that is paid for by itself, first
// proves the lock (Store.CheckLock), and a run whose lock is lost stops
// there: its context ends with the lost lock as the cause, and nothing
// after it is called. Its save proves the lock too (the store refuses to
// save without it); then the run takes the lock again, at once or not at
// all, and saves what it completed, which the save's own check allows only
// if no other run saved meanwhile. A run that cannot save names the report
// jobs it submitted, which then no state records.
type lease struct {
	r      *Runner
	unlock func()
	stop   context.CancelCauseFunc
}

// takeLease takes the state's lock for an apply. The returned context ends
// when the lock is found lost; release ends it and releases the lock.
func (r *Runner) takeLease(ctx context.Context) (context.Context, *lease, error) {
	unlock, err := r.lock(ctx)
	if err != nil {
		return ctx, nil, err
	}
	ctx, stop := context.WithCancelCause(ctx)
	return ctx, &lease{r: r, unlock: unlock, stop: stop}, nil
}

// release releases the lock, the one taken again after a loss included.
func (l *lease) release() {
	if l == nil {
		return
	}
	l.stop(nil)
	l.unlock()
}

// lockLost is the cause of a run stopped because its lock was lost.
type lockLost struct{ err error }

func (e *lockLost) Error() string {
	return "the run stopped before its next report job submission: " + e.err.Error()
}
func (e *lockLost) Unwrap() error { return e.err }

// prove proves the lock before a paid call, and stops the run when it is
// lost.
func (l *lease) prove(ctx context.Context) error {
	err := l.r.Store.CheckLock(ctx)
	if err == nil {
		return nil
	}
	l.r.Log.Error().Err(err).Msg("the state's lock was lost: the run stops before its next report job submission")
	l.stop(&lockLost{err: err})
	return err
}

// fence is api with each report job submission preceded by a proof of the
// lock; without a lease (a plan), api itself.
func (l *lease) fence(api reconciler.API) reconciler.API {
	if l == nil {
		return api
	}
	return &fencedAPI{API: api, prove: l.prove}
}

// fencedAPI is an API whose CreateReport proves the lock first.
type fencedAPI struct {
	reconciler.API
	prove func(context.Context) error
}

func (a *fencedAPI) CreateReport(ctx context.Context, req patsnap.ReportRequest) (string, error) {
	if err := a.prove(ctx); err != nil {
		return "", err
	}
	return a.API.CreateReport(ctx, req)
}

// save saves out's state. When the store refuses because the lock was
// lost, it takes the lock again (at once or not at all) and saves again:
// the save itself refuses if another run saved meanwhile. Without a lease
// (never: only an apply saves) it is the store's Save.
func (l *lease) save(ctx context.Context, out *reconciler.Outcome) (bool, error) {
	ctx = context.WithoutCancel(ctx) // saved even when ctx ended: what completed is kept
	written, err := l.r.Store.Save(ctx, out.State)
	if !errors.Is(err, state.ErrLockLost) {
		return written, err
	}
	l.r.Log.Warn().Err(err).Msg("the state's lock was lost; taking it again to save what the run completed")
	unlock, lerr := l.r.Store.Lock(ctx, l.r.command(), 0)
	if lerr != nil {
		return false, &unsavedJobs{err: fmt.Errorf("%w, and another run holds it now: %w", err, lerr), jobs: submitted(out.Report)}
	}
	l.unlock()
	l.unlock = func() {
		if err := unlock(); err != nil {
			l.r.Log.Warn().Err(err).Msg("releasing the state lock")
		}
	}
	written, err = l.r.Store.Save(ctx, out.State)
	if err != nil {
		return false, &unsavedJobs{err: fmt.Errorf("%w; taken again, it could not save: %w", state.ErrLockLost, err), jobs: submitted(out.Report)}
	}
	l.r.Log.Info().Msg("the state's lock was taken again and what the run completed saved")
	return written, nil
}

// checkpoint saves out's state while the run goes on. A save refused
// because the lock was lost stops the run before its next paid call, as
// prove does, and is not tried again here: the run's last save (save)
// takes the lock again for what it completed.
func (l *lease) checkpoint(ctx context.Context, out *reconciler.Outcome) (bool, error) {
	written, err := l.r.Store.Save(context.WithoutCancel(ctx), out.State)
	if errors.Is(err, state.ErrLockLost) {
		l.r.Log.Error().Err(err).Msg("the state's lock was lost: the run stops before its next report job submission")
		l.stop(&lockLost{err: err})
	}
	return written, err
}

// submitted lists the report jobs rep says the run submitted.
func submitted(rep *report.ChangeReport) []string {
	var jobs []string
	for _, r := range rep.Reports {
		if r.Status == report.ReportSubmitted && r.JobID != "" {
			jobs = append(jobs, fmt.Sprintf("%s (%s) job %s", r.Name, r.Patent, r.JobID))
		}
	}
	return jobs
}

// unsavedJobs is why a run that lost its lock could not save, with the
// report jobs it submitted that no state records.
type unsavedJobs struct {
	err  error
	jobs []string
}

func (e *unsavedJobs) Error() string {
	if len(e.jobs) == 0 {
		return e.err.Error()
	}
	return e.err.Error() + "; report jobs this run submitted, which no state records: " + strings.Join(e.jobs, ", ")
}

func (e *unsavedJobs) Unwrap() error { return e.err }

// Hint says what to do.
func (e *unsavedJobs) Hint() string {
	if len(e.jobs) == 0 {
		return "run apply again: it starts from what the state holds"
	}
	return "run apply again: it starts from what the state holds, and submits those reports anew; the jobs named were paid for already, keep their ids to ask PatSnap for them"
}

// lockLostError is a run's error when its lock was lost and it saved
// after taking the lock again: it stopped before its next report job.
func lockLostError(cause *lockLost) error {
	return hint.Wrap(fmt.Errorf("%w; the lock was taken again and what the run completed saved", cause), "run apply again to finish")
}
