package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/watch"
)

const (
	defaultInterval     = time.Hour
	defaultPollInterval = 15 * time.Second
	defaultRetryAfter   = 30 * time.Second
	// intervalJitter spreads scheduled runs of many watchers by up to ±5%.
	intervalJitter = 0.05
)

func runWatch(ctx context.Context, e env, args []string) int {
	fs := flagSet(e, "watch", "watch [-f SPEC] [--state FILE] [--reports-dir DIR] [--interval DURATION] [--format text|json|markdown] [--sandbox]")
	f := addReconcileFlags(fs, "watch")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	log, ok := f.setup(e)
	if !ok {
		return exitError
	}
	w := &watcher{e: e, f: f, log: log.With().Str("spec", f.spec).Str("command", "watch").Logger()}
	if err := w.run(ctx); err != nil {
		var sle *specLoadError
		if errors.As(err, &sle) {
			printSpecError(e.stderr, sle.path, sle.err)
			return exitError
		}
		printError(e.stderr, err)
		return exitError
	}
	return exitOK
}

// watcher is the watch loop: apply at start, on a schedule, and whenever the
// spec (or an image it names) changes; poll pending report jobs more often
// until they finish. Runs never overlap: a change during a run leads to
// exactly one more run after it. Nothing but a bad start makes it exit before
// the context ends.
type watcher struct {
	e   env
	f   *reconcileFlags
	log zerolog.Logger

	trig       *watch.Trigger
	spec       *spec.Spec // the last good spec
	digest     string     // of the files the last load read, good or not
	statePath  string
	reportsDir string
	pending    bool // a report job was pending after the last run
	failures   int  // consecutive failed runs
	clients    clientPool
}

func (w *watcher) run(ctx context.Context) error {
	trig, err := watch.New(watch.Options{Log: w.log})
	if err != nil {
		return err
	}
	defer trig.Close()
	w.trig = trig
	// Watch before the first load, so that a save during start-up is not lost.
	if err := trig.Watch(w.f.spec); err != nil {
		return err
	}
	if _, err := w.reload(); err != nil {
		return err
	}
	loopCtx, stopLoop := context.WithCancel(ctx)
	trigDone := make(chan struct{})
	go func() {
		defer close(trigDone)
		if err := trig.Run(loopCtx); err != nil {
			w.log.Error().Err(err).Msg("file watch stopped; spec changes are now picked up at scheduled runs")
		}
	}()
	defer func() {
		stopLoop()
		<-trigDone
	}()

	full := time.NewTimer(0) // the first run starts at once
	defer full.Stop()
	poll := time.NewTimer(time.Hour)
	poll.Stop()
	defer poll.Stop()

	for {
		reportsOnly, trigger := false, "schedule"
		select {
		case <-ctx.Done():
			w.log.Info().Msg("stopping")
			return nil
		case <-trig.C():
			changed, err := w.reload()
			if err != nil {
				w.logSpecError(err)
				continue
			}
			if !changed {
				continue
			}
			trigger = "spec changed"
		case <-full.C:
			// A scheduled run re-reads the spec too: the last line of defence
			// should the file watch have missed a change.
			if _, err := w.reload(); err != nil {
				w.logSpecError(err)
			}
		case <-poll.C:
			reportsOnly, trigger = true, "report poll"
		}

		w.apply(ctx, reportsOnly, trigger)
		if ctx.Err() != nil {
			return nil
		}
		switch {
		case w.failures > 0:
			// An outage, a held lock: try again sooner than the schedule.
			resetTimer(full, w.retryDelay())
		case !reportsOnly:
			resetTimer(full, jittered(w.interval()))
		}
		if w.pending {
			resetTimer(poll, w.f.pollInterval)
		} else {
			poll.Stop()
		}
	}
}

// reload reads the spec and its local images and, if their content changed
// since the last read, loads the spec. An invalid spec leaves the last good
// one in force; at start-up there is none, and the error is returned.
func (w *watcher) reload() (changed bool, err error) {
	digest, err := watch.Snapshot(w.watchedFiles()...)
	if err != nil {
		return false, err
	}
	if digest == w.digest && w.spec != nil {
		return false, nil
	}
	sp, err := spec.Load(w.f.spec)
	if err != nil {
		w.digest = digest // the same broken content is reported once
		if w.spec == nil {
			return false, &specLoadError{path: w.f.spec, err: err}
		}
		return false, err
	}
	statePath, reportsDir, err := w.f.paths(sp)
	if err != nil {
		return false, err
	}
	w.spec, w.statePath, w.reportsDir = sp, statePath, reportsDir
	// The images the new spec names are watched too; hash what we watch.
	if err := w.trig.Watch(w.watchedFiles()...); err != nil {
		w.log.Warn().Err(err).Msg("cannot watch an image's directory; changes to it are seen on the next scheduled run")
	}
	w.digest, err = watch.Snapshot(w.watchedFiles()...)
	return true, err
}

// watchedFiles are the spec and the local images of the last good spec.
func (w *watcher) watchedFiles() []string {
	files := []string{w.f.spec}
	if w.spec == nil {
		return files
	}
	seen := map[string]bool{}
	for _, s := range w.spec.Searches {
		for _, img := range s.Images {
			if img.Local() && !seen[img.Path] {
				seen[img.Path] = true
				files = append(files, img.Path)
			}
		}
	}
	return files
}

// apply runs one apply and prints its change report. Failures are logged;
// the next trigger or tick tries again.
func (w *watcher) apply(ctx context.Context, reportsOnly bool, trigger string) {
	r := &runner{e: w.e, f: w.f, log: w.log, statePath: w.statePath, reportsDir: w.reportsDir, cmd: "watch", reportsOnly: reportsOnly, clients: &w.clients}
	started := time.Now()
	w.log.Info().Str("trigger", trigger).Msg("run started")
	rep, err := r.once(ctx, w.spec)
	if rep != nil {
		if rerr := report.Render(w.e.stdout, rep, w.f.format, true); rerr != nil {
			w.log.Error().Err(rerr).Msg("writing the change report")
		}
		w.pending = hasPending(rep)
	}
	ev := w.log.Info()
	if err != nil {
		ev = w.log.Error().Err(err)
	} else if rep.Failed() {
		ev = w.log.Warn()
	}
	if err != nil || rep.Failed() {
		w.failures++
		ev = ev.Dur("retry_in", w.retryDelay())
	} else {
		w.failures = 0
	}
	if rep != nil {
		ev = ev.Str("summary", report.Summary(rep))
	}
	ev.Bool("reports_only", reportsOnly).Dur("took", time.Since(started)).Msg("run finished")
}

func hasPending(rep *report.ChangeReport) bool {
	for _, r := range rep.Reports {
		if r.Status == report.ReportPending || r.Status == report.ReportSubmitted {
			return true
		}
	}
	return false
}

// retryDelay is the wait after the latest of w.failures consecutive failed
// runs: --retry-after, doubled on each further failure, at most the interval.
func (w *watcher) retryDelay() time.Duration {
	d := w.f.retryAfter
	if d <= 0 {
		return jittered(w.interval())
	}
	for i := 1; i < w.failures && d < w.interval(); i++ {
		d *= 2
	}
	return min(d, w.interval())
}

func (w *watcher) interval() time.Duration {
	switch {
	case w.f.interval > 0:
		return w.f.interval
	case w.spec != nil && w.spec.Interval > 0:
		return w.spec.Interval
	}
	return defaultInterval
}

func (w *watcher) logSpecError(err error) {
	var se *spec.Error
	if errors.As(err, &se) {
		for _, p := range se.Problems {
			w.log.Error().Str("file", p.File).Int("line", p.Line).Int("col", p.Col).Str("path", p.Path).Msg(p.Msg)
		}
		w.log.Error().Int("problems", len(se.Problems)).Msg("the spec is invalid; the last good spec stays in force")
		return
	}
	w.log.Error().Err(err).Msg("the spec cannot be read; the last good spec stays in force")
}

// specLoadError is a spec that failed to load at start-up.
type specLoadError struct {
	path string
	err  error
}

func (s *specLoadError) Error() string { return fmt.Sprintf("%s: %v", filepath.Clean(s.path), s.err) }
func (s *specLoadError) Unwrap() error { return s.err }

func jittered(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (1 + intervalJitter*(2*rand.Float64()-1)))
}

func resetTimer(t *time.Timer, d time.Duration) {
	t.Stop()
	t.Reset(d)
}
