// Package runner performs one plan or apply: it takes the state's lock,
// loads the state, reconciles it with the spec through the API, saves what
// changed and returns the change report. Commands and watch mode call it;
// where the state lives is a Store: the part of store.Store a run uses.
package runner

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/rs/zerolog"

	"github.com/patwatch/patwatch/internal/atomicfile"
	"github.com/patwatch/patwatch/internal/hint"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/internal/store"
	"github.com/patwatch/patwatch/reconciler"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

// Store is what a run needs of where the state lives: the part of the
// seam every kind of state implements (store.Store, whose contract it
// keeps) that plan, apply and the sandbox use. Only one apply holds its
// lock at a time; Load and Save work without it (plan reads without
// locking). Side data (the sandbox's memory) is kept with the state under
// a name.
type Store interface {
	Lock(ctx context.Context, command string, timeout time.Duration) (unlock func() error, err error)
	CheckLock(ctx context.Context) error
	Load(ctx context.Context) (*state.State, error)
	Save(ctx context.Context, st *state.State) (written bool, err error)
	RecordRun(ctx context.Context, run state.RunRecord) error
	ReadAux(ctx context.Context, name string) ([]byte, error)
	WriteAux(ctx context.Context, name string, data []byte) error
	String() string
}

// SandboxAux is the name of the side data the sandbox keeps its memory in.
// Its presence marks a state written by --sandbox runs.
const SandboxAux = store.SandboxAux

// Connector makes the API client of a run and returns what releases it.
type Connector func(ctx context.Context, sp *spec.Spec) (api reconciler.API, release func(), err error)

// Runner runs plans and applies against one store. Its zero value is not
// usable: Store is required, and Connect for all but an offline plan.
type Runner struct {
	Store Store
	// Mode is what each run does: an apply takes the state's lock and saves
	// what it found; a plan takes no lock and writes nothing; an offline
	// plan calls no API either.
	Mode reconciler.Mode
	// Command names the command that runs r, for the state's lock holder
	// and the store's history of runs, where it is not Mode's own: watch,
	// whose runs are applies. Empty: Mode.Command().
	Command     string
	LockTimeout time.Duration
	// FilesDir is the directory recorded report files are relative to;
	// ReportsDir is where finished reports are downloaded. Both absolute.
	FilesDir   string
	ReportsDir string
	Sandbox    bool // the API is the built-in simulation; reports say simulated
	Connect    Connector
	Version    string // patwatch's version, recorded in the state and the report
	// SpecPath is the spec's path as the command line gave it, for the
	// change report.
	SpecPath string
	// Now is the clock of the run: the reconciler's and the change report's
	// date. nil: time.Now.
	Now      func() time.Time
	Log      zerolog.Logger
	Progress func(reconciler.Progress)
	// Notify delivers the outbox after an apply's save; nil: messages are
	// composed and kept in the state, and none is sent.
	Notify Deliverer
	// Timeout is the run's overall deadline (--timeout), counted from the
	// start of Once; zero: none. At the deadline the run ends as at an
	// interrupt: what completed is saved, the rest is reported not done.
	Timeout time.Duration
	// AllowMassDrop, Resubmit, Rebaseline and Credentials are passed to the
	// reconciler (see reconciler.Reconciler).
	AllowMassDrop bool
	Resubmit      []string
	Rebaseline    []string
	Credentials   string
	// Drawings, when set, keeps the drawings of hits for HTML reports
	// (drawings.go); nil: no drawing is fetched.
	Drawings Drawings
	// Page, when set, is given the pictures of the run's HTML page.
	Page func(*report.Page)
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// stamp fills in the facts of the run that made rep.
func (r *Runner) stamp(rep *report.ChangeReport, opts Options) {
	rep.GeneratedAt = r.now().UTC().Truncate(time.Second)
	rep.PatwatchVersion = r.Version
	rep.Spec = r.SpecPath
	rep.Simulated = r.Sandbox
	rep.ReportsOnly = opts.ReportsOnly
}

// Options vary one run.
type Options struct {
	// ReportsOnly skips the searches; watch mode polls pending report jobs
	// this way between full runs.
	ReportsOnly bool
	// Select chooses the entries the run reconciles (--target, --exclude,
	// --due-only; watch mode's targeted runs); the zero value selects all.
	Select reconciler.Selection
	// CheckNames refuses a Select name that is no entry of the spec and
	// no record of the state (names given on the command line).
	CheckNames bool

	// saved is what the run does for a saved plan (saved.go).
	saved *saving
}

// Once runs one plan, offline plan or apply of sp, as r.Mode says. The
// change report is returned even with an error when part of the run
// completed (an interrupt): what it completed was saved.
//
// A save that fails, or that the store refuses (the state file was replaced
// during the run), returns the change report with an error matching
// ErrNotSaved: the report says what the run found, none of which was kept.
func (r *Runner) Once(ctx context.Context, sp *spec.Spec, opts Options) (*report.ChangeReport, error) {
	if r.Mode == reconciler.ModeOffline {
		return r.planOffline(ctx, sp, opts)
	}
	started := r.now()
	if r.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, r.Timeout, &deadlineError{timeout: r.Timeout})
		defer cancel()
	}
	var ls *lease // an apply's lock (lease.go)
	if r.Mode == reconciler.ModeApply {
		var err error
		if ctx, ls, err = r.takeLease(ctx); err != nil {
			return nil, err
		}
		defer ls.release()
	}
	recorded, err := r.Store.Load(ctx)
	if err != nil {
		return nil, err
	}
	if err := opts.saved.check(recorded); err != nil {
		return nil, err
	}
	if err := r.checkSandbox(ctx, recorded); err != nil {
		return nil, err
	}
	sc, err := r.scope(sp, recorded, opts, started)
	if err != nil {
		return nil, err
	}
	if err := r.checkMaxCalls(sp, sc); err != nil {
		return nil, err
	}
	api, release, err := r.Connect(ctx, sp)
	if err != nil {
		return nil, err
	}
	defer release()

	rec := r.newReconciler(ls.fence(api), sp)
	rec.Record = opts.saved.recording()
	stopDrawings := r.startDrawings(ctx, sp, rec, opts)
	defer stopDrawings()
	sent := callsSent(api)
	count := func(out *reconciler.Outcome) {
		r.countCalls(sp, recorded, out, api, sent, started, opts.saved.callsBefore())
	}
	if r.Mode == reconciler.ModeApply {
		rec.Checkpoints = r.newCheckpoints(ctx, ls, sp, recorded, opts, started, count)
	}
	out := rec.Run(ctx, sc)
	count(out)
	r.stamp(out.Report, opts)
	if r.Mode == reconciler.ModePlan {
		r.PlanPictures(ctx, sp, out.Report)
		return out.Report, planEnded(ctx)
	}
	return r.finishApply(ctx, ls, sp, recorded, out, opts, started)
}

// planOffline is an offline plan: it reads the state without its lock and
// compares the spec with it alone, calling no API. It warns, rather than
// refuses, when the apply it previews would pass api.max_calls.
func (r *Runner) planOffline(ctx context.Context, sp *spec.Spec, opts Options) (*report.ChangeReport, error) {
	recorded, err := r.Store.Load(ctx)
	if err != nil {
		return nil, err
	}
	sc, err := r.scope(sp, recorded, opts, r.now())
	if err != nil {
		return nil, err
	}
	if limit := sp.API.MaxCalls; limit > 0 && sc.Estimate() > limit {
		r.Log.Warn().Int("estimated", sc.Estimate()).Int("max_calls", limit).
			Msg("the apply this plan previews could make more calls than api.max_calls allows, and would be refused; narrow it with --target or raise api.max_calls")
	}
	rep := reconciler.PlanOffline(sc, r.priorQueries(ctx, sp, recorded))
	r.stamp(rep, opts)
	r.PlanPictures(ctx, sp, rep)
	return rep, nil
}

// command is the name the state's lock and the store's history of runs
// give the runs of r.
func (r *Runner) command() string {
	if r.Command != "" {
		return r.Command
	}
	return r.Mode.Command()
}

// lock takes the state's lock for an apply and removes the temporary files
// a killed run left in the reports directory. The returned function
// releases the lock.
func (r *Runner) lock(ctx context.Context) (unlock func(), err error) {
	release, err := r.Store.Lock(ctx, r.command(), r.LockTimeout)
	if err != nil {
		return nil, err
	}
	if n, err := atomicfile.CleanTemps(r.ReportsDir, ""); err != nil {
		r.Log.Debug().Err(err).Msg("looking for temporary files a killed run left")
	} else if n > 0 {
		r.Log.Info().Int("files", n).Str("dir", r.ReportsDir).Msg("removed temporary files a killed run left")
	}
	return func() {
		if err := release(); err != nil {
			r.Log.Warn().Err(err).Msg("releasing the state lock")
		}
	}, nil
}

// newReconciler is the reconciler of one run through api.
func (r *Runner) newReconciler(api reconciler.API, sp *spec.Spec) *reconciler.Reconciler {
	rec := &reconciler.Reconciler{
		API:           api,
		Concurrency:   reconciler.ConcurrencyFor(sp.API.QPS),
		StateDir:      r.FilesDir,
		ReportsDir:    r.ReportsDir,
		Log:           r.Log,
		Progress:      r.Progress,
		Now:           r.Now,
		AllowMassDrop: r.AllowMassDrop,
		Resubmit:      r.Resubmit,
		Rebaseline:    r.Rebaseline,
		Credentials:   r.Credentials,
	}
	return rec
}

// finishApply keeps what an apply found: it saves the state, adds the run
// to the store's history, keeps the drawings and delivers the outbox.
func (r *Runner) finishApply(ctx context.Context, ls *lease, sp *spec.Spec, recorded *state.State, out *reconciler.Outcome, opts Options, started time.Time) (*report.ChangeReport, error) {
	r.prepareSave(sp, recorded, out)
	if keeps(recorded, out.State) {
		if err := r.save(ctx, ls, out, started); err != nil {
			return out.Report, err
		}
	}
	r.keepDrawings(ctx, out, opts)
	// After the drawings step, so that an e-mail's page shows the new
	// hits' drawings; the state already holds the messages.
	notifyErr := r.deliverOutbox(ctx, sp, out)
	if err := applyEnded(ctx, out.Report); err != nil {
		return out.Report, err
	}
	return out.Report, notifyErr
}

// keeps reports whether next, the state an apply from recorded made, is
// to be saved: a state never saved that would hold nothing is not (a
// first apply that failed entirely leaves no state behind, as none had
// been before it).
func keeps(recorded, next *state.State) bool {
	return recorded.Serial > 0 || len(next.Searches)+len(next.Reports)+len(next.RetiredSearches)+len(next.RetiredReports) > 0 ||
		len(next.Outbox) > 0 || next.Budget != nil
}

// save saves an apply's outcome and adds the run to the store's history.
func (r *Runner) save(ctx context.Context, ls *lease, out *reconciler.Outcome, started time.Time) error {
	// Saved even when ctx ended: what completed is kept.
	written, err := ls.save(ctx, out)
	if err != nil {
		return &notSaved{err: err}
	}
	out.Report.StateChanged = written
	r.Log.Debug().Bool("written", written).Uint64("serial", out.State.Serial).Msg("state saved")
	if err := r.Store.RecordRun(context.WithoutCancel(ctx), state.RunRecord{
		Started: started.UTC(), Finished: r.now().UTC(), Command: r.command(), Serial: out.State.Serial,
		Changed: out.Report.Changed, StateChanged: written, Summary: report.Summary(out.Report), Failed: out.Report.Failed(),
		CallsMade: *out.Report.Calls.Made,
	}); err != nil {
		r.Log.Warn().Err(err).Msg("the run was not added to the store's history of runs")
	}
	return nil
}

// prepareSave makes the state of out, an apply's outcome so far or at its
// end, ready to save: it records patwatch's version, and puts the messages
// of the changes out holds into its outbox, so that the save that records
// the changes records their messages (see composeOutbox).
func (r *Runner) prepareSave(sp *spec.Spec, recorded *state.State, out *reconciler.Outcome) {
	out.State.PatwatchVersion = r.Version
	r.composeOutbox(sp, recorded, out)
}

// ErrNotSaved is matched by errors.Is for a run whose changes were not
// saved; its change report is returned with it.
var ErrNotSaved = errors.New("the run's changes were not saved")

type notSaved struct{ err error }

func (e *notSaved) Error() string   { return ErrNotSaved.Error() + ": " + e.err.Error() }
func (e *notSaved) Unwrap() []error { return []error{ErrNotSaved, e.err} }

// checkSandbox refuses to mix the sandbox's simulated hits with a real watch
// list's memory, in either direction. A state the sandbox wrote has the
// sandbox's memory beside it.
func (r *Runner) checkSandbox(ctx context.Context, st *state.State) error {
	if len(st.Searches) == 0 && len(st.Reports) == 0 {
		return nil
	}
	_, err := r.Store.ReadAux(ctx, SandboxAux)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("state %s: %w", r.Store, err)
	}
	wroteBySandbox := err == nil
	switch {
	case r.Sandbox && !wroteBySandbox:
		return hint.Wrap(fmt.Errorf("%s holds a real watch list's state; --sandbox will not write simulated results into it", r.Store),
			"give the sandbox its own state file: --state sandbox.state.json")
	case !r.Sandbox && wroteBySandbox:
		return hint.Wrap(fmt.Errorf("%s was written by --sandbox runs; its hits are simulated", r.Store),
			"use another --state for the live API, or delete the state and its sandbox memory to start afresh")
	}
	return nil
}
