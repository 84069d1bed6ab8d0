package main

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/rs/zerolog"

	"github.com/patwatch/patwatch/internal/console"
	"github.com/patwatch/patwatch/internal/hint"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/internal/runner"
	"github.com/patwatch/patwatch/internal/store"
	"github.com/patwatch/patwatch/internal/watch"
	"github.com/patwatch/patwatch/reconciler"
	"github.com/patwatch/patwatch/spec"
)

const (
	defaultPollInterval = watch.DefaultPollInterval
	defaultRetryAfter   = watch.DefaultRetryAfter
)

func runWatch(ctx context.Context, e env, args []string) error {
	fs := flagSet(e, "watch")
	f := addReconcileFlags(fs, "watch")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log, err := f.setup(e)
	if err != nil {
		return err
	}
	if f.spec == "-" {
		return hint.Wrap(errors.New("-f -: watch follows a spec file, and standard input cannot be watched"),
			"name the file: -f "+defaultSpec)
	}
	log = log.With().Str("spec", f.spec).Str("command", "watch").Logger()
	// The store is known once the spec is: take the watch's lifetime lock
	// before the first run, so that a second watch is refused at once.
	sp, err := spec.Load(f.spec)
	if err != nil {
		return specError(e.stderr, f.spec, err)
	}
	st, err := f.openStore(ctx, sp)
	if err != nil {
		return err
	}
	defer st.Close()
	unlock, err := lockWatch(ctx, f, st, log)
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped while standing by
		}
		return err
	}
	defer func() {
		if err := unlock(); err != nil {
			log.Warn().Err(err).Msg("releasing the watch lock")
		}
	}()

	live := newLiveAPI(e, log) // one client across runs: its token and rate carry over
	loop := &watch.Loop{
		SpecPath:         f.spec,
		Interval:         f.interval,
		PollInterval:     f.pollInterval,
		RetryAfter:       f.retryAfter,
		Log:              log,
		AllowMassRemoval: f.allowMassRemoval,
		Removal:          watch.Removals(st.Load),
		Refreshed: func(ctx context.Context) (map[string]time.Time, error) {
			return store.Refreshed(ctx, st)
		},
		Apply: func(ctx context.Context, r watch.Run) (*report.ChangeReport, error) {
			rn := newRunner(e, f, log, st, "watch", live)
			var page *report.Page
			if f.format == report.FormatHTML {
				rn.Page = func(p *report.Page) { page = p }
			}
			prog := f.logs.console.Progress(console.Recorded)
			rn.Progress = prog.Update
			rep, err := rn.Once(ctx, r.Spec, runner.Options{ReportsOnly: r.ReportsOnly,
				Select: reconciler.Selection{Targeted: r.Targeted, Target: r.Targets, Exclude: r.Exclude, DueOnly: r.DueOnly, Reason: r.Reason}})
			prog.Done()
			if rep != nil {
				rep.Trigger = r.Trigger
				writeWatchReport(e, f, log, rep, page, st.filesDir)
			}
			return rep, err
		},
	}
	if e.reload != nil {
		reload, stop := e.reload()
		defer stop()
		loop.Reload = reload
	}
	if f.retryAfter == 0 {
		loop.RetryAfter = -1 // --retry-after 0: retry on the schedule
	}
	if err := loop.Run(ctx); err != nil {
		var se *watch.StartError
		if errors.As(err, &se) {
			return specError(e.stderr, se.Path, se.Err)
		}
		return err
	}
	return nil
}

// writeWatchReport prints a run's change report as one of a stream (one
// JSON object a line; text and markdown with a blank line after each) and
// replaces --out with it. An HTML page only goes to --out: one page is the
// latest run's, and a report poll that changed nothing leaves the last full
// run's report there.
func writeWatchReport(e env, f *reconcileFlags, log zerolog.Logger, rep *report.ChangeReport, page *report.Page, filesDir string) {
	if f.format != report.FormatHTML {
		if err := report.RenderStream(e.stdout, rep, f.format); err != nil {
			log.Error().Err(err).Msg("writing the change report")
		}
	}
	if f.out == "" || (rep.ReportsOnly && !rep.Changed) {
		return
	}
	var buf bytes.Buffer
	if err := renderReport(&buf, f, rep, page, f.out, filesDir); err != nil {
		log.Error().Err(err).Msg("rendering the change report for --out")
		return
	}
	if err := report.WriteFile(f.out, buf.Bytes()); err != nil {
		log.Error().Err(err).Msg("writing --out")
		return
	}
	log.Info().Str("out", f.out).Str("format", f.format).Msg("change report written")
}

// lockWatch takes the state's watch lock for the watch's lifetime: at
// once or not at all, or with --standby once the watch that holds it ends.
func lockWatch(ctx context.Context, f *reconcileFlags, st *stateStore, log zerolog.Logger) (func() error, error) {
	if f.standby {
		return watch.Standby(ctx, st.LockWatch, log)
	}
	return st.LockWatch(ctx, 0)
}
