package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/patwatch/patwatch/internal/cli"
	"github.com/patwatch/patwatch/internal/console"
	"github.com/patwatch/patwatch/internal/flagvalue"
	"github.com/patwatch/patwatch/internal/hint"
	"github.com/patwatch/patwatch/internal/notify"
	"github.com/patwatch/patwatch/internal/planfile"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/internal/runner"
	"github.com/patwatch/patwatch/internal/store"
	"github.com/patwatch/patwatch/reconciler"
	"github.com/patwatch/patwatch/spec"
)

// reconcileFlags are the flags of plan, apply and watch.
type reconcileFlags struct {
	spec, state, reportsDir string
	format, out             string
	detailed, offline       bool
	sandbox                 bool
	lockTimeout             time.Duration
	interval, pollInterval  time.Duration
	retryAfter              time.Duration
	timeout                 time.Duration
	allowMassDrop           bool
	allowMassRemoval        bool
	standby                 bool
	resubmit, rebaseline    []string
	target, exclude         []string
	dueOnly                 bool
	baselineDrawings        int
	drawingsDir             string
	cmd                     string
	logs                    *logFlags
	// save is plan's --save FILE; saved is the plan apply FILE applies,
	// refused when older than maxPlanAge (saved.go).
	save       string
	saved      *planfile.Plan
	maxPlanAge time.Duration
}

// defaultTimeout is a run's deadline unless --timeout says otherwise: far
// beyond what a run of a large watch list at a low rate cap takes, short
// enough that a run hung on a dead connection ends the same morning.
const defaultTimeout = 30 * time.Minute

// addReconcileFlags registers the flags a command takes; which ones is the
// command's synopsis in the contract. Help and completion list whatever is
// registered here.
func addReconcileFlags(fs *flag.FlagSet, cmd string) *reconcileFlags {
	f := &reconcileFlags{cmd: cmd}
	specUsage := "read the spec from `SPEC`; - reads it from standard input"
	if cmd == "watch" {
		specUsage = "watch the spec in `SPEC`"
	}
	fs.StringVar(&f.spec, "f", defaultSpec, specUsage)
	fs.StringVar(&f.state, "state", "", "the state `FILE`, or a postgres:// URL (default: $PATWATCH_STATE, else patwatch.state.json beside the spec)")
	flagvalue.ChoiceVar(fs, &f.format, "format", report.FormatText, "format", report.Formats(),
		"change report format (html: one self-contained page with the drawings)")
	fs.BoolVar(&f.sandbox, "sandbox", false, "serve the PatSnap API from the built-in simulation: no credentials, no network")
	drawingsDirVar(fs, &f.drawingsDir)
	if cmd != "watch" {
		fs.StringVar(&f.out, "out", "", "also write the change report to `FILE` (html: only there, and the text report to standard output)")
		fs.BoolVar(&f.detailed, "detailed-exitcode", false, "exit 2 when the change report is not empty (0: nothing changed, 1: error)")
	} else {
		fs.StringVar(&f.out, "out", "", "write each run's change report to `FILE`, replacing the last run's (needed with --format html)")
	}
	if cmd != "plan" {
		fs.StringVar(&f.reportsDir, "reports-dir", "", "download finished reports into `DIR` (default: reports/ beside the spec)")
		fs.IntVar(&f.baselineDrawings, "baseline-drawings", runner.DefaultBaselineDrawings,
			"keep the drawings of the `N` best-ranked hits of each search's baseline (new hits' drawings are always kept)")
	}
	flagvalue.DurationVar(fs, &f.timeout, "timeout", defaultTimeout, flagvalue.Duration{AllowZero: true, Sample: "2h"},
		"the deadline of a run, after which what completed is saved and the rest reported not done (0: none)")
	fs.BoolVar(&f.allowMassDrop, "allow-mass-drop", false,
		"accept answers that drop more than half of a search's recorded hits at once (held as an error otherwise)")
	if cmd != "watch" {
		flagvalue.NamesVar(fs, &f.target, "target", "phone-designs",
			"reconcile only the search or report `NAME` (repeatable); every other entry is skipped and kept as it is")
		flagvalue.NamesVar(fs, &f.exclude, "exclude", "phone-designs",
			"leave the search or report `NAME` out of the run (repeatable); it is skipped and kept as it is")
		fs.BoolVar(&f.dueOnly, "due-only", false,
			"refresh a search with its own interval only once that interval has passed since its last refresh")
	}
	switch cmd {
	case "plan":
		fs.BoolVar(&f.offline, "offline", false, "compare the spec with the state only, calling no API")
		fs.StringVar(&f.save, "save", "", "also save the plan to `FILE`, for 'patwatch apply FILE' to carry out exactly")
	case "apply":
		flagvalue.DurationVar(fs, &f.maxPlanAge, "max-plan-age", runner.DefaultMaxPlanAge, flagvalue.Duration{AllowZero: true, Sample: "2h"},
			"with a saved plan FILE: refuse it when it is older than this (0: any age)")
		flagvalue.DurationVar(fs, &f.lockTimeout, "lock-timeout", 0, flagvalue.Duration{AllowZero: true, Sample: "10m"},
			"how long to wait for another run to release the state lock")
		flagvalue.NamesVar(fs, &f.resubmit, "resubmit", "cn108977442b",
			"submit one more job for the report `NAME` past the cap on resubmissions (repeatable)")
		flagvalue.NamesVar(fs, &f.rebaseline, "rebaseline", "phone-designs",
			"record the search `NAME`'s hits afresh as a new baseline, none reported new or dropped (repeatable)")
	case "watch":
		flagvalue.DurationVar(fs, &f.interval, "interval", 0, flagvalue.Duration{Min: spec.MinInterval, Sample: "6h"},
			"time between runs, at least 1m (default: the spec's interval, else 1h)")
		flagvalue.DurationVar(fs, &f.pollInterval, "poll-interval", defaultPollInterval, flagvalue.Duration{Sample: "30s"},
			"time between polls of pending report jobs")
		flagvalue.DurationVar(fs, &f.retryAfter, "retry-after", defaultRetryAfter, flagvalue.Duration{AllowZero: true, Sample: "1m"},
			"first wait before retrying a failed run; doubles on each failure, up to --interval (0: wait for the next scheduled run)")
		flagvalue.DurationVar(fs, &f.lockTimeout, "lock-timeout", time.Minute, flagvalue.Duration{AllowZero: true, Sample: "5m"},
			"how long each run waits for another run to release the state lock")
		fs.BoolVar(&f.standby, "standby", false,
			"while another watch holds the state, wait and take over when it ends, instead of exiting")
		fs.BoolVar(&f.allowMassRemoval, "allow-mass-removal", false,
			"apply spec changes that remove more than half of the recorded searches and reports (held until an apply otherwise)")
	}
	level := zerolog.WarnLevel
	if cmd == "watch" {
		level = zerolog.InfoLevel // its runs are its log
	}
	f.logs = addLogFlags(fs, level)
	return f
}

// setup checks the flags and builds the run's logger.
func (f *reconcileFlags) setup(e env) (zerolog.Logger, error) {
	if f.state == "" {
		f.state = e.getenv("PATWATCH_STATE")
	}
	if f.drawingsDir == "" {
		f.drawingsDir = e.getenv("PATWATCH_DRAWINGS_DIR")
	}
	if err := f.check(); err != nil {
		return zerolog.Nop(), err
	}
	if !f.sandbox && !f.offline {
		// Before anything else: the token exchange is the first call.
		if err := runner.CheckBaseURL(e.getenv("PATSNAP_BASE_URL")); err != nil {
			return zerolog.Nop(), err
		}
	}
	return f.logs.logger(e)
}

func (f *reconcileFlags) check() error {
	if f.offline && f.sandbox {
		return errors.New("--offline and --sandbox exclude each other: an offline plan calls no API")
	}
	if f.offline && f.save != "" {
		return hint.Wrap(errors.New("--save cannot be given with --offline: an offline plan sees no answers to apply"),
			"save a plan that reads the API: patwatch plan --save "+f.save)
	}
	if f.baselineDrawings < 0 {
		return hint.Wrap(fmt.Errorf("--baseline-drawings must not be negative, not %d", f.baselineDrawings), "0 keeps no baseline drawing; new hits' drawings are kept all the same")
	}
	if f.cmd == "watch" && f.format == report.FormatHTML && f.out == "" {
		return hint.Wrap(errors.New("watch --format html needs --out FILE: each run rewrites that page"),
			"for example: patwatch watch --format html --out changes.html")
	}
	if f.out != "" {
		// Checked before the run, so that a bad --out does not surface only
		// after every side effect has happened.
		if st, err := os.Stat(f.out); err == nil && st.IsDir() {
			return fmt.Errorf("--out: %s is a directory; name a file", f.out)
		}
		if st, err := os.Stat(filepath.Dir(f.out)); err != nil || !st.IsDir() {
			return hint.Wrap(fmt.Errorf("--out: directory %s does not exist", filepath.Dir(f.out)), "create it first, or name a file in an existing directory")
		}
	}
	return nil
}

// checkParentDir refuses a file path whose directory does not exist.
func checkParentDir(flag, path string) error {
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return hint.Wrap(fmt.Errorf("%s %s: directory %s does not exist", flag, path, dir),
			"create it first, or name a file in an existing directory (patwatch creates the file, not its directory)")
	case err != nil:
		return fmt.Errorf("%s %s: %w", flag, path, err)
	case !st.IsDir():
		return fmt.Errorf("%s %s: %s is not a directory", flag, path, dir)
	}
	return nil
}

// openStore opens the state the flags name for sp (by default the state
// file beside the spec), with the directories a run uses with it. The
// caller closes it.
func (f *reconcileFlags) openStore(ctx context.Context, sp *spec.Spec) (*stateStore, error) {
	target := f.state
	if target == "" {
		target = filepath.Join(sp.Dir, "patwatch.state.json")
	} else if err := store.CheckTarget(target); err != nil {
		return nil, fmt.Errorf("--state %s: %w", target, err)
	}
	reportsDir := f.reportsDir
	if reportsDir == "" {
		reportsDir = filepath.Join(sp.Dir, "reports")
	}
	reportsDir, err := filepath.Abs(reportsDir)
	if err != nil {
		return nil, err
	}
	s, err := openState(ctx, target, f.spec)
	if err != nil {
		return nil, err
	}
	return newStateStore(s, reportsDir, f.drawingsDir), nil
}

// stateStore is an opened store with the directories a run uses with it.
type stateStore struct {
	store.Store
	filesDir    string // recorded report files are relative to it
	reportsDir  string
	drawingsDir string // where the thumbnails of HTML reports are kept
}

// newStateStore is s with the directories a run uses with it; drawingsDir
// (--drawings-dir), when set, holds the drawings instead of s's own place.
func newStateStore(s store.Store, reportsDir, drawingsDir string) *stateStore {
	return &stateStore{Store: s, filesDir: s.FilesDir(reportsDir), reportsDir: reportsDir, drawingsDir: runner.DrawingsDir(s.DrawingsDir(), drawingsDir)}
}

// kept is what the runs on st read or keep, which --out must not name.
func (st *stateStore) kept() runner.Kept {
	return runner.Kept{Store: st, ReportsDir: st.reportsDir, DrawingsDir: st.drawingsDir}
}

func runPlan(ctx context.Context, e env, args []string) error {
	fs := flagSet(e, "plan")
	f := addReconcileFlags(fs, "plan")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	return reconcileOnce(ctx, e, f, "plan")
}

func runApply(ctx context.Context, e env, args []string) error {
	fs := flagSet(e, "apply")
	f := addReconcileFlags(fs, "apply")
	pos, err := parseArgs(fs, args)
	switch {
	case err != nil:
		return err
	case len(pos) == 0:
		return reconcileOnce(ctx, e, f, "apply")
	case len(pos) > 1 || looksLikeSpec(pos[0]):
		return unexpectedArgument(fs, pos[len(pos)-1])
	}
	if err := f.useSaved(ctx, e, fs, pos[0]); err != nil {
		return err
	}
	return reconcileOnce(ctx, e, f, "apply")
}

// reconcileOnce is plan and apply: load, reconcile, save (apply), report.
func reconcileOnce(ctx context.Context, e env, f *reconcileFlags, cmd string) error {
	log, err := f.setup(e)
	if err != nil {
		return err
	}
	sp, err := loadSpec(e, f.spec)
	if err != nil {
		return specError(e.stderr, f.spec, err)
	}
	st, err := f.openStore(ctx, sp)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := runner.CheckOut(f.out, sp, st.kept()); err != nil {
		return err
	}
	if err := runner.CheckResubmit(f.resubmit, sp); err != nil {
		return err
	}
	if err := runner.CheckRebaseline(f.rebaseline, sp); err != nil {
		return err
	}
	if err := checkSave(f, sp, st); err != nil {
		return err
	}
	log = log.With().Str("spec", f.spec).Str("command", cmd).Logger()

	var rep *report.ChangeReport
	var page *report.Page // the pictures of an HTML report
	r := newRunner(e, f, log, st, cmd, newLiveAPI(e, log))
	if f.format == report.FormatHTML {
		r.Page = func(p *report.Page) { page = p }
	}
	if r.Mode == reconciler.ModeOffline {
		if rep, err = r.Once(ctx, sp, runner.Options{Select: f.selection(), CheckNames: true}); err != nil {
			return err
		}
	} else {
		prog := f.logs.console.Progress(console.Live)
		r.Progress = prog.Update
		rep, err = f.runOnce(ctx, r, sp)
		prog.Done()
		if err != nil {
			switch {
			case rep != nil && errors.Is(err, runner.ErrNotSaved):
				// What the run found, none of which was kept: the error
				// says so, not the report's failure line.
				printReport(e, f, rep, page, st.filesDir)
			case rep != nil && errors.Is(err, runner.ErrInterrupted):
				// What completed before the interrupt; the error says
				// how much that was, and the report's failure line
				// would say it again.
				return cli.Join(printReport(e, f, rep, page, st.filesDir), err)
			case rep != nil:
				// The report, and the error after what it tells.
				return cli.Join(finishReport(e, f, rep, page, st.filesDir), err)
			}
			return err
		}
	}
	if f.save != "" {
		fmt.Fprintf(e.stderr, "patwatch: the plan is saved in %s; 'patwatch apply %s' carries out exactly this plan\n", f.save, f.save)
	}
	return finishReport(e, f, rep, page, st.filesDir)
}

// renderReport renders rep in f's format; an HTML page gets page's
// pictures and links to report files relative to pagePath.
func renderReport(w io.Writer, f *reconcileFlags, rep *report.ChangeReport, page *report.Page, pagePath, filesDir string) error {
	if f.format == report.FormatHTML {
		return renderPage(w, rep, page, pagePath, filesDir)
	}
	return report.Render(w, rep, f.format)
}

// selection is the entries --target, --exclude and --due-only choose.
func (f *reconcileFlags) selection() reconciler.Selection {
	return reconciler.Selection{Target: f.target, Exclude: f.exclude, DueOnly: f.dueOnly}
}

// printReport prints the change report and writes --out. An HTML page
// written to --out is not printed: the text report is.
func printReport(e env, f *reconcileFlags, rep *report.ChangeReport, page *report.Page, filesDir string) error {
	var buf bytes.Buffer
	if err := renderReport(&buf, f, rep, page, f.out, filesDir); err != nil {
		return err
	}
	shown := &buf
	if f.format == report.FormatHTML && f.out != "" {
		shown = &bytes.Buffer{}
		if err := report.Render(shown, rep, report.FormatText); err != nil {
			return err
		}
	}
	if _, err := e.stdout.Write(shown.Bytes()); err != nil {
		return err
	}
	if f.out != "" {
		if err := report.WriteFile(f.out, buf.Bytes()); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
	}
	return nil
}

// finishReport prints the change report, writes --out, and turns the report
// into the error that sets the exit status the contract fixes: a failed
// run's, 2 for a change under --detailed-exitcode. A run stopped at an
// account-wide error says so whatever its status.
func finishReport(e env, f *reconcileFlags, rep *report.ChangeReport, page *report.Page, filesDir string) error {
	if err := printReport(e, f, rep, page, filesDir); err != nil {
		return err
	}
	err := rep.Err() // the failure and the stop, said once
	switch {
	case rep.Failed():
		return err
	case f.detailed && rep.Changed:
		return cli.Join(err, cli.ExitCode(exitChanged))
	case err != nil:
		return cli.Join(err, cli.ExitCode(exitOK))
	}
	return nil
}

// newRunner wires a runner for cmd against the store st: the live API
// through live, or the sandbox.
func newRunner(e env, f *reconcileFlags, log zerolog.Logger, st *stateStore, cmd string, live *runner.LiveAPI) *runner.Runner {
	d := runner.NewDrawings(st.drawingsDir, f.baselineDrawings, log, e.now)
	if e.tuneDrawings != nil {
		e.tuneDrawings(d)
	}
	r := &runner.Runner{
		Store:         st,
		Command:       cmd,
		Mode:          f.mode(cmd),
		LockTimeout:   f.lockTimeout,
		FilesDir:      st.filesDir,
		ReportsDir:    st.reportsDir,
		Sandbox:       f.sandbox,
		Version:       version,
		SpecPath:      specName(f.spec),
		Now:           e.now,
		Log:           log,
		Timeout:       f.timeout,
		AllowMassDrop: f.allowMassDrop,
		Resubmit:      f.resubmit,
		Rebaseline:    f.rebaseline,
		Drawings:      d,
	}
	if f.sandbox {
		sb := &runner.Sandbox{Store: st, Mode: r.Mode, Log: log, Tune: e.tuneClient, Started: d.Fetcher.Sandbox}
		r.Connect = sb.Connect
	} else {
		r.Connect, r.Credentials = live.Connect, live.Credentials()
	}
	if cmd != "plan" { // plan never sends
		r.Notify = newNotifier(e, log)
	}
	return r
}

// newLiveAPI is the connection to the live API of a command's runs.
func newLiveAPI(e env, log zerolog.Logger) *runner.LiveAPI {
	return &runner.LiveAPI{Getenv: e.getenv, Log: log, Tune: e.tuneClient}
}

// mode is what the runs of cmd do; watch's are applies.
func (f *reconcileFlags) mode(cmd string) reconciler.Mode {
	switch {
	case cmd == "plan" && f.offline:
		return reconciler.ModeOffline
	case cmd == "plan":
		return reconciler.ModePlan
	}
	return reconciler.ModeApply
}

// newNotifier builds the notifier of a run: channel URLs and keys come
// from the environment.
func newNotifier(e env, log zerolog.Logger) *notify.Notifier {
	n := &notify.Notifier{Getenv: e.getenv, Now: e.now, Log: log, UserAgent: "patwatch/" + version}
	if e.tuneNotifier != nil {
		e.tuneNotifier(n)
	}
	return n
}
