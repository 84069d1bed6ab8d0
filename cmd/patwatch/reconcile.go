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
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/patwatch/patwatch/internal/atomicfile"
	"github.com/patwatch/patwatch/internal/drawings"
	"github.com/patwatch/patwatch/internal/patsnap"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/internal/runner"
	"github.com/patwatch/patwatch/reconciler"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
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
	baselineDrawings        int
	cmd                     string
	logs                    *logFlags
}

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
	fs.StringVar(&f.state, "state", "", "the state `FILE` (default: patwatch.state.json beside the spec)")
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
		fs.IntVar(&f.baselineDrawings, "baseline-drawings", runner.DefaultBaselineDrawings,
			"keep the drawings of the `N` best-ranked hits of each search's baseline (new hits' drawings are always kept)")
	}
	switch cmd {
	case "plan":
		fs.BoolVar(&f.offline, "offline", false, "compare the spec with the state only, calling no API")
	case "apply":
		durationVar(fs, &f.lockTimeout, "lock-timeout", 0, durationValue{allowZero: true, sample: "10m"},
			"how long to wait for another run to release the state lock")
	case "watch":
		durationVar(fs, &f.interval, "interval", 0, durationValue{min: spec.MinInterval, sample: "6h"},
			"time between runs, at least 1m (default: the spec's interval, else 1h)")
		durationVar(fs, &f.pollInterval, "poll-interval", defaultPollInterval, durationValue{sample: "30s"},
			"time between polls of pending report jobs")
		durationVar(fs, &f.retryAfter, "retry-after", defaultRetryAfter, durationValue{allowZero: true, sample: "1m"},
			"first wait before retrying a failed run; doubles on each failure, up to --interval (0: wait for the next scheduled run)")
		durationVar(fs, &f.lockTimeout, "lock-timeout", time.Minute, durationValue{allowZero: true, sample: "5m"},
			"how long each run waits for another run to release the state lock")
	}
	f.logs = addLogFlags(fs)
	return f
}

// setup checks the flags and builds the run's logger; on failure it has
// printed why and the command exits 1.
func (f *reconcileFlags) setup(e env) (zerolog.Logger, bool) {
	if err := f.check(); err != nil {
		printError(e.stderr, err)
		return zerolog.Nop(), false
	}
	log, err := f.logs.logger(e)
	if err != nil {
		printError(e.stderr, err)
		return zerolog.Nop(), false
	}
	return log, true
}

func (f *reconcileFlags) check() error {
	if f.offline && f.sandbox {
		return errors.New("--offline and --sandbox exclude each other: an offline plan calls no API")
	}
	if f.baselineDrawings < 0 {
		return withHint(fmt.Errorf("--baseline-drawings must not be negative, not %d", f.baselineDrawings), "0 keeps no baseline drawing; new hits' drawings are kept all the same")
	}
	if f.cmd == "watch" && f.format == report.FormatHTML && f.out == "" {
		return withHint(errors.New("watch --format html needs --out FILE: each run rewrites that page"),
			"for example: patwatch watch --format html --out changes.html")
	}
	if f.out != "" {
		// Checked before the run, so that a bad --out does not surface only
		// after every side effect has happened.
		if st, err := os.Stat(f.out); err == nil && st.IsDir() {
			return fmt.Errorf("--out: %s is a directory; name a file", f.out)
		}
		if st, err := os.Stat(filepath.Dir(f.out)); err != nil || !st.IsDir() {
			return withHint(fmt.Errorf("--out: directory %s does not exist", filepath.Dir(f.out)), "create it first, or name a file in an existing directory")
		}
	}
	return nil
}

// paths resolves the state file and reports directory against the spec's
// directory, as the contract's defaults say.
func (f *reconcileFlags) paths(sp *spec.Spec) (statePath, reportsDir string, err error) {
	statePath = f.state
	switch {
	case statePath == "":
		statePath = filepath.Join(sp.Dir, "patwatch.state.json")
	case !strings.Contains(statePath, "://"): // a database URL is its store's to check
		// A state in a directory that does not exist would read as empty:
		// a silent new baseline of everything, and a save that fails.
		if err := checkParentDir("--state", statePath); err != nil {
			return "", "", err
		}
	}
	reportsDir = f.reportsDir
	if reportsDir == "" {
		reportsDir = filepath.Join(sp.Dir, "reports")
	}
	if statePath, err = filepath.Abs(statePath); err != nil {
		return "", "", err
	}
	if reportsDir, err = filepath.Abs(reportsDir); err != nil {
		return "", "", err
	}
	return statePath, reportsDir, nil
}

// checkParentDir refuses a file path whose directory does not exist.
func checkParentDir(flag, path string) error {
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return withHint(fmt.Errorf("%s %s: directory %s does not exist", flag, path, dir),
			"create it first, or name a file in an existing directory (patwatch creates the file, not its directory)")
	case err != nil:
		return fmt.Errorf("%s %s: %w", flag, path, err)
	case !st.IsDir():
		return fmt.Errorf("%s %s: %s is not a directory", flag, path, dir)
	}
	return nil
}

// openStore opens the state store the flags name for sp.
func (f *reconcileFlags) openStore(sp *spec.Spec) (*stateStore, error) {
	statePath, reportsDir, err := f.paths(sp)
	if err != nil {
		return nil, err
	}
	fs, err := state.NewFileStore(statePath)
	if err != nil {
		return nil, err
	}
	return &stateStore{Store: fs, filesDir: fs.Dir(), reportsDir: reportsDir, drawings: drawings.ForStateFile(fs.Path)}, nil
}

// stateStore is an opened store with the directories a run uses with it.
type stateStore struct {
	runner.Store
	filesDir   string // recorded report files are relative to it
	reportsDir string
	drawings   runner.DrawingCache // the thumbnails of HTML reports
}

func runPlan(ctx context.Context, e env, args []string) int {
	fs := flagSet(e, "plan")
	f := addReconcileFlags(fs, "plan")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	return reconcileOnce(ctx, e, f, "plan")
}

func runApply(ctx context.Context, e env, args []string) int {
	fs := flagSet(e, "apply")
	f := addReconcileFlags(fs, "apply")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	return reconcileOnce(ctx, e, f, "apply")
}

// reconcileOnce is plan and apply: load, reconcile, save (apply), report.
func reconcileOnce(ctx context.Context, e env, f *reconcileFlags, cmd string) int {
	log, ok := f.setup(e)
	if !ok {
		return exitError
	}
	sp, err := loadSpec(e, f.spec)
	if err != nil {
		printSpecError(e.stderr, f.spec, err)
		return exitError
	}
	st, err := f.openStore(sp)
	if err != nil {
		printError(e.stderr, err)
		return exitError
	}
	log = log.With().Str("spec", f.spec).Str("command", cmd).Logger()

	var rep *report.ChangeReport
	var page *report.Page // the pictures of an HTML report
	r := newRunner(e, f, log, st, cmd, nil)
	if f.format == report.FormatHTML {
		r.Drawings.Page = func(p *report.Page) { page = p }
	}
	if cmd == "plan" && f.offline {
		recorded, err := st.Load(ctx)
		if err != nil {
			printError(e.stderr, err)
			return exitError
		}
		rep = reconciler.PlanOffline(sp, recorded)
		rep.GeneratedAt = e.clock().UTC().Truncate(time.Second)
		rep.PatwatchVersion, rep.Spec = version, specName(f.spec)
		r.PlanPictures(ctx, sp, rep)
	} else {
		prog := newProgressLine(e.stderr)
		r.Progress = prog.update
		rep, err = r.Once(ctx, sp, runner.Options{})
		prog.done()
		if err != nil {
			if rep != nil {
				finishReport(e, f, rep, page, st.filesDir) // what completed before the interrupt
			}
			printError(e.stderr, err)
			return exitError
		}
	}
	return finishReport(e, f, rep, page, st.filesDir)
}

// renderReport renders rep in f's format; an HTML page gets page's
// pictures and links to report files relative to pagePath.
func renderReport(w io.Writer, f *reconcileFlags, rep *report.ChangeReport, page *report.Page, pagePath, filesDir string, compact bool) error {
	if f.format == report.FormatHTML {
		return renderPage(w, rep, page, pagePath, filesDir)
	}
	return report.Render(w, rep, f.format, compact)
}

// finishReport prints the change report, writes --out, and turns the report
// into the exit code the contract fixes.
func finishReport(e env, f *reconcileFlags, rep *report.ChangeReport, page *report.Page, filesDir string) int {
	var buf bytes.Buffer
	if err := renderReport(&buf, f, rep, page, f.out, filesDir, false); err != nil {
		printError(e.stderr, err)
		return exitError
	}
	if _, err := e.stdout.Write(buf.Bytes()); err != nil {
		printError(e.stderr, err)
		return exitError
	}
	if f.out != "" {
		if err := atomicfile.WriteFile(f.out, buf.Bytes(), 0o644); err != nil {
			printError(e.stderr, fmt.Errorf("--out: %w", err))
			return exitError
		}
	}
	switch {
	case rep.Failed():
		fmt.Fprintf(e.stderr, "patwatch: error: %s\n", failureLine(rep))
		return exitError
	case f.detailed && rep.Changed:
		return exitChanged
	}
	return exitOK
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
	route := &imageRoute{}
	return &runner.Runner{
		Store:       st,
		Command:     cmd,
		Apply:       cmd != "plan",
		LockTimeout: f.lockTimeout,
		FilesDir:    st.filesDir,
		ReportsDir:  st.reportsDir,
		Sandbox:     f.sandbox,
		Version:     version,
		SpecPath:    specName(f.spec),
		Now:         e.now,
		Log:         log,
		Connect: func(ctx context.Context, sp *spec.Spec) (reconciler.API, func(), error) {
			return connect(ctx, e, f, log, st, cmd != "plan", clients, sp, route)
		},
		Drawings: newDrawings(e, f, st, route),
	}
}

// connect builds the API client: the sandbox's, or the live API's from the
// environment's credentials, reused from clients when watch mode has one
// with the same settings. The returned function releases what it started.
func connect(ctx context.Context, e env, f *reconcileFlags, log zerolog.Logger, st runner.Store, persist bool, clients *clientPool, sp *spec.Spec, images *imageRoute) (reconciler.API, func(), error) {
	cfg := patsnap.Config{QPS: sp.API.QPS, Logger: log}
	closeFn := func() {}
	if f.sandbox {
		sb, err := startSandbox(ctx, st, persist, log)
		if err != nil {
			return nil, nil, fmt.Errorf("sandbox: %w", err)
		}
		cfg.BaseURL, cfg.APIKey = sb.baseURL, sandboxAPIKey
		closeFn = sb.close
		images.sandboxAt(sb.baseURL) // its drawings come from the simulation too
	} else {
		cfg.BaseURL = firstNonEmpty(e.getenv("PATSNAP_BASE_URL"), sp.API.BaseURL, DefaultBaseURL)
		cfg.APIKey = e.getenv("PATSNAP_API_KEY")
		cfg.ClientID = e.getenv("PATSNAP_CLIENT_ID")
		cfg.ClientSecret = e.getenv("PATSNAP_CLIENT_SECRET")
		if err := checkCredentials(cfg); err != nil {
			return nil, nil, err
		}
		if cfg.APIKey == "" && (cfg.ClientID == "" || cfg.ClientSecret == "") {
			return nil, nil, withHint(errors.New("no PatSnap credentials: set PATSNAP_API_KEY, or PATSNAP_CLIENT_ID and PATSNAP_CLIENT_SECRET"),
				"try patwatch without credentials on the built-in simulation: add --sandbox",
				"review a change without calling the API: patwatch plan --offline")
		}
		if cfg.APIKey != "" {
			cfg.ClientID, cfg.ClientSecret = "", ""
		}
		if u, err := url.Parse(cfg.BaseURL); err == nil && u.Scheme == "http" && !spec.IsLoopbackHost(u.Hostname()) {
			log.Warn().Str("host", u.Host).Msg("the API root is plain http: credentials and results cross the network unencrypted")
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
		return withHint(errors.New("PATSNAP_CLIENT_SECRET is not set: PATSNAP_CLIENT_ID is, and mode A needs both"),
			"set PATSNAP_CLIENT_SECRET to the client secret of the same PatSnap client, or use PATSNAP_API_KEY instead")
	case cfg.ClientID == "" && cfg.ClientSecret != "":
		return withHint(errors.New("PATSNAP_CLIENT_ID is not set: PATSNAP_CLIENT_SECRET is, and mode A needs both"),
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
