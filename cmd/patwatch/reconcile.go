package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/patwatch/patwatch/internal/atomicfile"
	"github.com/patwatch/patwatch/internal/drawings"
	"github.com/patwatch/patwatch/internal/hint"
	"github.com/patwatch/patwatch/internal/notify"
	"github.com/patwatch/patwatch/internal/patsnap"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/internal/runner"
	"github.com/patwatch/patwatch/internal/store"
	"github.com/patwatch/patwatch/reconciler"
	"github.com/patwatch/patwatch/spec"
)

// DefaultBaseURL is the API root used when neither PATSNAP_BASE_URL nor the
// spec's api.base_url names one.
const DefaultBaseURL = "https://connect.zhihuiya.com"

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
	resubmit                []string
	target, exclude         []string
	dueOnly                 bool
	baselineDrawings        int
	cmd                     string
	logs                    *logFlags
}

// defaultTimeout is a run's deadline unless --timeout says otherwise: far
// beyond what a run of a large watch list at a low rate cap takes, short
// enough that a run hung on a dead connection ends the same morning.
const defaultTimeout = 30 * time.Minute

// reportFormats are the change report formats plan, apply and watch print.
var reportFormats = []string{report.FormatText, report.FormatJSON, report.FormatMarkdown, report.FormatHTML}

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
	choiceVar(fs, &f.format, "format", report.FormatText, "format", reportFormats,
		"change report format (html: one self-contained page with the drawings)")
	fs.BoolVar(&f.sandbox, "sandbox", false, "serve the PatSnap API from the built-in simulation: no credentials, no network")
	if cmd != "watch" {
		fs.StringVar(&f.out, "out", "", "also write the change report to `FILE`")
		fs.BoolVar(&f.detailed, "detailed-exitcode", false, "exit 2 when the change report is not empty (0: nothing changed, 1: error)")
	} else {
		fs.StringVar(&f.out, "out", "", "write each run's change report to `FILE`, replacing the last run's (needed with --format html)")
	}
	if cmd != "plan" {
		fs.StringVar(&f.reportsDir, "reports-dir", "", "download finished reports into `DIR` (default: reports/ beside the spec)")
		fs.IntVar(&f.baselineDrawings, "baseline-drawings", drawings.DefaultBaseline,
			"keep the drawings of the `N` best-ranked hits of each search's baseline (new hits' drawings are always kept)")
	}
	durationVar(fs, &f.timeout, "timeout", defaultTimeout, durationValue{allowZero: true, sample: "2h"},
		"the deadline of a run, after which what completed is saved and the rest reported not done (0: none)")
	fs.BoolVar(&f.allowMassDrop, "allow-mass-drop", false,
		"accept answers that drop more than half of a search's recorded hits at once (held as an error otherwise)")
	if cmd != "watch" {
		namesVar(fs, &f.target, "target", "phone-designs",
			"reconcile only the search or report `NAME` (repeatable); every other entry is skipped and kept as it is")
		namesVar(fs, &f.exclude, "exclude", "phone-designs",
			"leave the search or report `NAME` out of the run (repeatable); it is skipped and kept as it is")
		fs.BoolVar(&f.dueOnly, "due-only", false,
			"refresh a search with its own interval only once that interval has passed since its last refresh")
	}
	switch cmd {
	case "plan":
		fs.BoolVar(&f.offline, "offline", false, "compare the spec with the state only, calling no API")
	case "apply":
		durationVar(fs, &f.lockTimeout, "lock-timeout", 0, durationValue{allowZero: true, sample: "10m"},
			"how long to wait for another run to release the state lock")
		namesVar(fs, &f.resubmit, "resubmit", "cn108977442b",
			"submit one more job for the report `NAME` past the cap on resubmissions (repeatable)")
	case "watch":
		durationVar(fs, &f.interval, "interval", 0, durationValue{min: spec.MinInterval, sample: "6h"},
			"time between runs, at least 1m (default: the spec's interval, else 1h)")
		durationVar(fs, &f.pollInterval, "poll-interval", defaultPollInterval, durationValue{sample: "30s"},
			"time between polls of pending report jobs")
		durationVar(fs, &f.retryAfter, "retry-after", defaultRetryAfter, durationValue{allowZero: true, sample: "1m"},
			"first wait before retrying a failed run; doubles on each failure, up to --interval (0: wait for the next scheduled run)")
		durationVar(fs, &f.lockTimeout, "lock-timeout", time.Minute, durationValue{allowZero: true, sample: "5m"},
			"how long each run waits for another run to release the state lock")
		fs.BoolVar(&f.allowMassRemoval, "allow-mass-removal", false,
			"apply spec changes that remove more than half of the recorded searches and reports (held until an apply otherwise)")
	}
	f.logs = addLogFlags(fs)
	return f
}

// setup checks the flags and builds the run's logger.
func (f *reconcileFlags) setup(e env) (zerolog.Logger, error) {
	if f.state == "" {
		f.state = e.getenv("PATWATCH_STATE")
	}
	if err := f.check(); err != nil {
		return zerolog.Nop(), err
	}
	if !f.sandbox && !f.offline {
		// Before anything else: the token exchange is the first call.
		if err := checkBaseURL(e.getenv("PATSNAP_BASE_URL")); err != nil {
			return zerolog.Nop(), err
		}
	}
	return f.logs.logger(e)
}

func (f *reconcileFlags) check() error {
	if f.offline && f.sandbox {
		return errors.New("--offline and --sandbox exclude each other: an offline plan calls no API")
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

// checkBaseURL refuses a PATSNAP_BASE_URL that is plain http to anything but
// a loopback address: the token exchange, the key and every answer would
// cross the network in clear. The spec's api.base_url is checked by
// validate the same way.
func checkBaseURL(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || spec.IsLoopbackHost(u.Hostname()) {
		return nil // the client refuses what is not a URL at all
	}
	return hint.Wrap(fmt.Errorf("PATSNAP_BASE_URL is plain http to %s: credentials and results would cross the network unencrypted", u.Host),
		"use an https:// URL; plain http is accepted only to a loopback address (127.0.0.1, ::1, localhost), such as a local proxy")
}

// checkOut refuses an --out that names a file the run reads or keeps: the
// spec, one of its local images, the state or a file beside it (backup,
// lock, side files). The change report written there would destroy it.
func checkOut(out string, sp *spec.Spec, st *stateStore) error {
	if out == "" {
		return nil
	}
	what := ""
	if sp.Path != "" && samePath(out, sp.Path) {
		what = "the spec"
	}
	for _, s := range sp.Searches {
		for _, img := range s.Images {
			if what == "" && img.Local() && samePath(out, img.Path) {
				what = "an image of search " + s.Name
			}
		}
	}
	if what == "" && st.Reserved(out, store.SandboxAux) {
		what = "the state file or a file patwatch keeps beside it"
	}
	for _, r := range sp.Reports {
		if what == "" && st.reportsDir != "" && samePath(out, filepath.Join(st.reportsDir, r.Name+r.Ext())) {
			what = "the downloaded file of report " + r.Name
		}
	}
	if d := st.drawings.Dir(); what == "" && insideDir(out, d) {
		what = "in " + d + ", where patwatch keeps the drawings of the HTML report"
	}
	if what == "" {
		return nil
	}
	return hint.Wrap(fmt.Errorf("--out %s is %s: writing the change report there would destroy it; nothing was run", out, what),
		"name another file for the change report, such as --out change.md")
}

// insideDir reports whether the file p is inside dir (or dir itself),
// links in either resolved where they exist.
func insideDir(p, dir string) bool {
	resolve := func(p string) string {
		abs, err := filepath.Abs(p)
		if err != nil {
			return p
		}
		// The deepest existing ancestor's links resolved, the rest kept.
		rest := ""
		for cur := abs; ; cur = filepath.Dir(cur) {
			if real, err := filepath.EvalSymlinks(cur); err == nil {
				return filepath.Join(real, rest)
			}
			if filepath.Dir(cur) == cur {
				return abs
			}
			rest = filepath.Join(filepath.Base(cur), rest)
		}
	}
	rel, err := filepath.Rel(resolve(dir), resolve(p))
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// samePath reports whether a and b name the same file: the same absolute
// path, or (when both exist) the same file through links.
func samePath(a, b string) bool {
	aa, err1 := filepath.Abs(a)
	ab, err2 := filepath.Abs(b)
	if err1 == nil && err2 == nil && aa == ab {
		return true
	}
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}

// checkResubmit refuses a --resubmit name that is no report of the spec.
func checkResubmit(names []string, sp *spec.Spec) error {
	var reports []string
	for _, r := range sp.Reports {
		reports = append(reports, r.Name)
	}
	for _, n := range names {
		if !slices.Contains(reports, n) {
			advice := "name a report of the spec"
			if best := spec.Suggest(n, reports); best != "" {
				advice = "did you mean --resubmit " + best + "?"
			}
			return hint.Wrap(fmt.Errorf("--resubmit %s: the spec has no report of that name", n), advice)
		}
	}
	return nil
}

// credentialVars names the environment variables that hold the run's
// credentials, for the message of a run stopped because PatSnap refused
// them.
func credentialVars(e env, f *reconcileFlags) string {
	switch {
	case f.sandbox:
		return ""
	case e.getenv("PATSNAP_API_KEY") != "":
		return "PATSNAP_API_KEY"
	}
	return "PATSNAP_CLIENT_ID and PATSNAP_CLIENT_SECRET"
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
	return newStateStore(s, reportsDir), nil
}

// stateStore is an opened store with the directories a run uses with it.
type stateStore struct {
	store.Store
	filesDir   string // recorded report files are relative to it
	reportsDir string
	drawings   *drawings.FileStore // the thumbnails of HTML reports
}

func newStateStore(s store.Store, reportsDir string) *stateStore {
	return &stateStore{Store: s, filesDir: s.FilesDir(reportsDir), reportsDir: reportsDir, drawings: drawings.InDir(s.DrawingsDir())}
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
	if err := parseFlags(fs, args); err != nil {
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
	if err := checkOut(f.out, sp, st); err != nil {
		return err
	}
	if err := checkResubmit(f.resubmit, sp); err != nil {
		return err
	}
	log = log.With().Str("spec", f.spec).Str("command", cmd).Logger()

	var rep *report.ChangeReport
	var page *report.Page // the pictures of an HTML report
	r := newRunner(e, f, log, st, cmd, nil)
	if f.format == report.FormatHTML {
		r.Page = func(p *report.Page) { page = p }
	}
	if r.Mode == reconciler.ModeOffline {
		if rep, err = r.Once(ctx, sp, runner.Options{Select: f.selection(), CheckNames: true}); err != nil {
			return err
		}
	} else {
		prog := newProgress(e.stderr, log, true)
		r.Progress = prog.update
		rep, err = r.Once(ctx, sp, runner.Options{Select: f.selection(), CheckNames: true})
		prog.done()
		if err != nil {
			switch {
			case rep != nil && errors.Is(err, runner.ErrNotSaved):
				// What the run found, none of which was kept: the error
				// says so, not the report's failure line.
				printReport(e, f, rep, page, st.filesDir)
			case rep != nil:
				// What completed before the interrupt, and the error
				// after what the report tells.
				return joinFailures(finishReport(e, f, rep, page, st.filesDir), err)
			}
			return err
		}
	}
	return finishReport(e, f, rep, page, st.filesDir)
}

// renderReport renders rep in f's format; an HTML page gets page's
// pictures and links to report files relative to pagePath.
func renderReport(w io.Writer, f *reconcileFlags, rep *report.ChangeReport, page *report.Page, pagePath, filesDir string) error {
	if f.format == report.FormatHTML {
		return renderPage(w, rep, page, pagePath, filesDir)
	}
	return report.Render(w, rep, f.format, false)
}

// selection is the entries --target, --exclude and --due-only choose.
func (f *reconcileFlags) selection() reconciler.Selection {
	return reconciler.Selection{Target: f.target, Exclude: f.exclude, DueOnly: f.dueOnly}
}

// printReport prints the change report and writes --out.
func printReport(e env, f *reconcileFlags, rep *report.ChangeReport, page *report.Page, filesDir string) error {
	var buf bytes.Buffer
	if err := renderReport(&buf, f, rep, page, f.out, filesDir); err != nil {
		return err
	}
	if _, err := e.stdout.Write(buf.Bytes()); err != nil {
		return err
	}
	if f.out != "" {
		if err := atomicfile.WriteFile(f.out, buf.Bytes(), 0o644); err != nil {
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
	var stopped error
	if rep.Stopped != nil {
		stopped = hint.Wrap(errors.New("the run stopped at an account-wide error: "+rep.Stopped.Error), rep.Stopped.Check)
	}
	switch {
	case rep.Failed():
		return joinFailures(stopped, errors.New(failureLine(rep)))
	case f.detailed && rep.Changed:
		return joinFailures(stopped, exitCode(exitChanged))
	case stopped != nil:
		return joinFailures(stopped, exitCode(exitOK))
	}
	return nil
}

func failureLine(rep *report.ChangeReport) string {
	var parts []string
	var n int
	for _, c := range rep.Searches {
		if c.Status == report.StatusError {
			n++
		}
	}
	if n > 0 {
		parts = append(parts, fmt.Sprintf("%d of %s", n, plural(len(rep.Searches), "search", "searches")))
	}
	n = 0
	for _, c := range rep.Reports {
		if c.Status == report.ReportError || c.Status == report.ReportFailed {
			n++
		}
	}
	if n > 0 {
		parts = append(parts, fmt.Sprintf("%d of %s", n, plural(len(rep.Reports), "report", "reports")))
	}
	what := "what succeeded was saved"
	switch {
	case rep.Command == "plan":
		what = "plan changed nothing"
	case !anySucceeded(rep) && rep.StateChanged:
		// Saved: the messages that tell of the failure, in the outbox.
		what = "no entry changed in the state"
	case !anySucceeded(rep):
		what = "nothing was saved"
	}
	return strings.Join(parts, " and ") + " failed; " + what
}

// anySucceeded reports whether anything in rep was done: a search refreshed,
// a report job handled, an entry removed.
func anySucceeded(rep *report.ChangeReport) bool {
	for _, s := range rep.Searches {
		switch s.Status {
		case report.StatusOK, report.StatusBaseline, report.StatusRebaseline, report.StatusRemoved:
			return true
		}
	}
	for _, r := range rep.Reports {
		switch r.Status {
		case report.ReportSubmitted, report.ReportPending, report.ReportFinished, report.ReportReady, report.ReportRemoved:
			return true
		}
	}
	return false
}

// newRunner wires a runner for cmd against the store st: the live API from
// the environment's credentials, or the sandbox. clients, in watch mode,
// keeps one live client across runs.
func newRunner(e env, f *reconcileFlags, log zerolog.Logger, st *stateStore, cmd string, clients *clientPool) *runner.Runner {
	d := newDrawings(e, f, log, st)
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
		Credentials:   credentialVars(e, f),
		Connect: func(ctx context.Context, sp *spec.Spec) (reconciler.API, func(), error) {
			return connect(ctx, e, f, log, st, cmd != "plan", clients, sp, &d.Fetcher)
		},
		Drawings: d,
	}
	if cmd != "plan" { // plan never sends
		r.Notify = newNotifier(e, log)
	}
	return r
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

// connect builds the API client: the sandbox's, or the live API's from the
// environment's credentials, reused from clients when watch mode has one
// with the same settings. The returned function releases what it started.
func connect(ctx context.Context, e env, f *reconcileFlags, log zerolog.Logger, st runner.Store, persist bool, clients *clientPool, sp *spec.Spec, images *drawings.Fetcher) (reconciler.API, func(), error) {
	cfg := patsnap.Config{QPS: sp.API.QPS, Logger: log}
	closeFn := func() {}
	if f.sandbox {
		sb, err := startSandbox(ctx, st, persist, log)
		if err != nil {
			return nil, nil, fmt.Errorf("sandbox: %w", err)
		}
		cfg.BaseURL, cfg.APIKey = sb.baseURL, sandboxAPIKey
		closeFn = sb.close
		images.Sandbox(sb.baseURL) // its drawings come from the simulation too
	} else {
		cfg.BaseURL = firstNonEmpty(e.getenv("PATSNAP_BASE_URL"), sp.API.BaseURL, DefaultBaseURL)
		cfg.APIKey = e.getenv("PATSNAP_API_KEY")
		cfg.ClientID = e.getenv("PATSNAP_CLIENT_ID")
		cfg.ClientSecret = e.getenv("PATSNAP_CLIENT_SECRET")
		if err := checkCredentials(cfg); err != nil {
			return nil, nil, err
		}
		if cfg.APIKey == "" && (cfg.ClientID == "" || cfg.ClientSecret == "") {
			return nil, nil, hint.Wrap(errors.New("no PatSnap credentials: set PATSNAP_API_KEY, or PATSNAP_CLIENT_ID and PATSNAP_CLIENT_SECRET"),
				"try patwatch without credentials on the built-in simulation: add --sandbox",
				"review a change without calling the API: patwatch plan --offline")
		}
		if cfg.APIKey != "" {
			cfg.ClientID, cfg.ClientSecret = "", ""
		}
		// The sandbox's address changes every run: its uploads stay in memory.
		cfg.Uploads = newUploadCache(e, log, cfg.BaseURL, cfg.APIKey+cfg.ClientID)
	}
	if e.tuneClient != nil {
		e.tuneClient(&cfg)
	}
	if clients != nil && !f.sandbox {
		c, err := clients.get(cfg)
		return c, closeFn, err
	}
	c, err := patsnap.New(cfg)
	if err != nil {
		closeFn()
		return nil, nil, err
	}
	return c, closeFn, nil
}

// checkCredentials refuses half of mode A's credentials, naming the
// variable that is missing.
func checkCredentials(cfg patsnap.Config) error {
	if cfg.APIKey != "" {
		return nil
	}
	switch {
	case cfg.ClientID != "" && cfg.ClientSecret == "":
		return hint.Wrap(errors.New("PATSNAP_CLIENT_SECRET is not set: PATSNAP_CLIENT_ID is, and mode A needs both"),
			"set PATSNAP_CLIENT_SECRET to the client secret of the same PatSnap client, or use PATSNAP_API_KEY instead")
	case cfg.ClientID == "" && cfg.ClientSecret != "":
		return hint.Wrap(errors.New("PATSNAP_CLIENT_ID is not set: PATSNAP_CLIENT_SECRET is, and mode A needs both"),
			"set PATSNAP_CLIENT_ID to the client id of the same PatSnap client, or use PATSNAP_API_KEY instead")
	}
	return nil
}

// clientPool keeps one live API client across the runs of watch mode, so
// that its token, rate limiter and upload cache carry over from run to run
// (a report poll every 15 s must not fetch a token every time). A change of
// the spec's api settings builds a new client.
type clientPool struct {
	key    string
	client *patsnap.Client
}

func (p *clientPool) get(cfg patsnap.Config) (*patsnap.Client, error) {
	key := fmt.Sprintf("%s|%g", cfg.BaseURL, cfg.QPS)
	if p.client != nil && p.key == key {
		return p.client, nil
	}
	c, err := patsnap.New(cfg)
	if err != nil {
		return nil, err
	}
	p.key, p.client = key, c
	return c, nil
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
