package watch

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/patwatch/patwatch/internal/notify"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/spec"
)

// Defaults of a Loop's schedule.
const (
	DefaultInterval     = time.Hour
	DefaultPollInterval = 15 * time.Second
	DefaultRetryAfter   = 30 * time.Second
	// IntervalJitter spreads scheduled runs of many watchers by up to ±5%.
	IntervalJitter = 0.05
)

// Loop is watch mode: it applies at start, on a schedule, and whenever the
// spec (or a local image it names) changes, and polls pending report jobs
// more often until they finish. Runs never overlap: a change during a run
// leads to exactly one more run after it. An invalid edit keeps the last
// good spec. A failed run is retried after RetryAfter, doubling up to the
// interval. Nothing but a bad start ends it before its context does.
//
// A spec change that would remove more than half of the searches and
// reports the state records (at least MassRemovalMin) is held: it may be a
// file saved half-way or the checkout of another branch, and applying it
// would retire every watch at once. The spec last in force stays in force
// (at start there is none, and nothing runs) until an apply of the new spec
// (by 'patwatch apply') leaves the state without those entries, the spec
// changes again, or AllowMassRemoval.
type Loop struct {
	SpecPath string
	// Load reads and validates the spec; nil: spec.Load.
	Load func(path string) (*spec.Spec, error)
	// Apply runs once and returns its change report (possibly with an
	// error, when part of it completed) or an error.
	Apply func(ctx context.Context, r Run) (*report.ChangeReport, error)

	Interval     time.Duration // fixed period; 0: the spec's interval, else DefaultInterval
	PollInterval time.Duration // 0: DefaultPollInterval
	RetryAfter   time.Duration // 0: DefaultRetryAfter; negative: retry on the schedule
	// Reload, when set, asks for the spec to be read again and a run to
	// start at once, whether the spec changed or not (SIGHUP). An invalid
	// spec is reported and the run uses the last good one.
	Reload <-chan struct{}
	Log    zerolog.Logger
	// Removal, when set, says how many of the entries the state records a
	// spec would remove (renames are no removal) and how many it records;
	// nil holds no change.
	Removal func(ctx context.Context, sp *spec.Spec) (removed, recorded int, err error)
	// AllowMassRemoval applies every change at once (--allow-mass-removal).
	AllowMassRemoval bool
	// Refreshed, when set, reads from the state when each search with its
	// own interval was last refreshed, so that the loop refreshes it on
	// its own schedule (reconciler.NextRefresh). nil: such searches are
	// refreshed by the scheduled runs once due.
	Refreshed func(ctx context.Context) (map[string]time.Time, error)

	// signals replaces the file Trigger in tests.
	signals signaller
	// jitter returns a float in [0,1); nil: math/rand/v2.
	jitter func() float64

	spec     *spec.Spec // the last good spec
	inForce  *spec.Spec // the spec runs use: the last good one unless it is held
	held     *spec.Spec // the last good spec while held, for its log line to be written once
	digest   string     // of the files the last load read, good or not
	pending  bool       // a report job was pending after the last run
	failures int        // consecutive failed runs

	applied   *spec.Spec           // the spec of the last run: what a change is compared with
	refreshed map[string]time.Time // last refresh of each search with its own interval
	retry     map[string]time.Time // entries a targeted run failed for, and when to try them again
	// refreshedStale: refreshed was not read after the last run, whose
	// spec gave no search its own interval.
	refreshedStale bool
}

// Run is one run the loop asks for.
type Run struct {
	Spec        *spec.Spec
	ReportsOnly bool   // only poll report jobs
	Trigger     string // start, schedule, spec changed, reload, search due, report poll
	// Targeted runs reconcile only the entries named in Targets (those a
	// spec change touched, or the searches whose own interval is due);
	// every other entry is left as it is.
	Targeted bool
	Targets  []string
	// DueOnly refreshes a search with its own interval only when it is
	// due (the start, scheduled and reload runs).
	DueOnly bool
	// Exclude names the searches the run leaves to their own schedule.
	Exclude []string
	// Reason says why a targeted run leaves the other entries out, for
	// its change report.
	Reason string
}

// signaller is what the loop needs of a Trigger.
type signaller interface {
	Watch(paths ...string) error
	C() <-chan struct{}
}

// StartError is a spec that could not be loaded when the loop started.
type StartError struct {
	Path string
	Err  error
}

func (e *StartError) Error() string { return fmt.Sprintf("%s: %v", filepath.Clean(e.Path), e.Err) }
func (e *StartError) Unwrap() error { return e.Err }

// Run runs the loop until ctx ends, then returns nil. It returns an error
// only when it cannot start: the spec does not load (a *StartError) or its
// directory cannot be watched.
func (l *Loop) Run(ctx context.Context) error {
	if l.Load == nil {
		l.Load = spec.Load
	}
	sig := l.signals
	if sig == nil {
		trig, stop, err := l.startTrigger(ctx)
		if err != nil {
			return err
		}
		defer stop()
		sig = trig
	}
	// Watch before the first load, so that a save during start-up is not lost.
	if err := sig.Watch(l.SpecPath); err != nil {
		return err
	}
	if _, err := l.reload(sig); err != nil {
		return err
	}

	full := time.NewTimer(0) // the first run starts at once
	defer full.Stop()
	poll := time.NewTimer(time.Hour)
	poll.Stop()
	defer poll.Stop()
	own := time.NewTimer(time.Hour) // the next search due on its own interval
	own.Stop()
	defer own.Stop()

	first := true
	for {
		reportsOnly, trigger := false, "schedule"
		select {
		case <-ctx.Done():
			l.Log.Info().Msg("stopping")
			return nil
		case <-sig.C():
			changed, err := l.reload(sig)
			if err != nil {
				l.logSpecError(err)
				continue
			}
			if !changed {
				continue
			}
			trigger = "spec changed"
		case <-full.C:
			// A scheduled run re-reads the spec too: the last line of defence
			// should the file watch have missed a change.
			if _, err := l.reload(sig); err != nil {
				l.logSpecError(err)
			}
		case <-poll.C:
			reportsOnly, trigger = true, "report poll"
		case <-own.C:
			trigger = triggerDue
		case <-l.Reload:
			l.digest = "" // read it again even if no change was seen
			if _, err := l.reload(sig); err != nil {
				l.logSpecError(err)
			}
			trigger = "reload"
		}
		before := l.inForce
		sp := l.specInForce(ctx)
		switch {
		case sp == nil:
			// Held at start: nothing is in force. Look again soon.
			l.failures++
			resetTimer(full, l.retryDelay())
			continue
		case trigger == "spec changed" && sp == before:
			continue // the change is held: there is nothing new to run
		}
		if first {
			trigger = "start" // whatever came first, the first run is the start
		}
		first = false

		if l.refreshedStale && l.ownIntervals() {
			l.readRefreshed(ctx) // a reloaded spec gave a search its own interval
		}
		run := l.runFor(Run{Spec: sp, ReportsOnly: reportsOnly, Trigger: trigger})
		if run.Trigger == triggerDue && len(run.Targets) == 0 {
			l.resetOwn(own) // refreshed meanwhile (a scheduled run, an apply)
			continue
		}
		rep := l.apply(ctx, run)
		if ctx.Err() != nil {
			return nil
		}
		l.schedule(ctx, run, rep, own)
		l.scheduleNext(run, full, poll)
	}
}

// startTrigger starts the file Trigger of the loop; stop ends it and waits
// for it.
func (l *Loop) startTrigger(ctx context.Context) (trig *Trigger, stop func(), err error) {
	trig, err = New(Options{Log: l.Log})
	if err != nil {
		return nil, nil, err
	}
	trigCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := trig.Run(trigCtx); err != nil {
			l.Log.Error().Err(err).Msg("file watch stopped; spec changes are now picked up at scheduled runs")
		}
	}()
	return trig, func() {
		cancel()
		<-done
		trig.Close()
	}, nil
}

// scheduleNext sets the timers of the next full run and report poll after
// run.
func (l *Loop) scheduleNext(run Run, full, poll *time.Timer) {
	switch {
	case run.Targeted:
		// The full runs keep their schedule: the entries a targeted run
		// left are theirs. Its own failures are retried by l.schedule.
	case l.failures > 0:
		// An outage, a held lock: try again sooner than the schedule.
		resetTimer(full, l.retryDelay())
	case !run.ReportsOnly:
		resetTimer(full, l.jittered(l.interval()))
	}
	if l.pending {
		resetTimer(poll, l.pollInterval())
	} else {
		poll.Stop()
	}
}

// MassRemovalMin is the fewest entries whose removal at once holds a spec
// change in watch mode.
const MassRemovalMin = 2

// specInForce is the spec the next run uses: the last good one, unless it
// would remove too much of what the state records, when the one in force
// stays (nil at start).
func (l *Loop) specInForce(ctx context.Context) *spec.Spec {
	if l.spec == l.inForce || l.AllowMassRemoval || l.Removal == nil {
		l.inForce, l.held = l.spec, nil
		return l.inForce
	}
	removed, recorded, err := l.Removal(ctx, l.spec)
	if err != nil {
		// The run reads the state too, and reports why it cannot.
		l.Log.Debug().Err(err).Msg("could not count what the spec change removes")
		removed = 0
	}
	if removed < MassRemovalMin || 2*removed <= recorded {
		if l.held != nil {
			l.Log.Info().Msg("the held spec change no longer removes most of what the state records; it is in force now")
		}
		l.inForce, l.held = l.spec, nil
		return l.inForce
	}
	if l.held != l.spec {
		l.held = l.spec
		ev := l.Log.Error().Int("removed", removed).Int("recorded", recorded)
		if l.inForce == nil {
			ev.Msg("the spec would remove most of the searches and reports the state records: nothing runs until " +
				"'patwatch apply' applies it once or watch is started with --allow-mass-removal (a spec saved half-way, or another branch checked out?)")
		} else {
			ev.Msg("the spec change would remove most of the searches and reports the state records: it is held, and the spec before it stays in force, until " +
				"'patwatch apply' applies it once or watch runs with --allow-mass-removal (a spec saved half-way, or another branch checked out?)")
		}
	}
	return l.inForce
}

// reload reads the spec and its local images and, if their content changed
// since the last read, loads the spec. An invalid spec leaves the last good
// one in force; at start-up there is none, and the error is returned.
func (l *Loop) reload(sig signaller) (changed bool, err error) {
	digest, err := Snapshot(l.watchedFiles()...)
	if err != nil {
		return false, err
	}
	if digest == l.digest && l.spec != nil {
		return false, nil
	}
	sp, err := l.Load(l.SpecPath)
	if err != nil {
		l.digest = digest // the same broken content is reported once
		if l.spec == nil {
			return false, &StartError{Path: l.SpecPath, Err: err}
		}
		return false, err
	}
	l.spec = sp
	// The images the new spec names are watched too; hash what we watch.
	if err := sig.Watch(l.watchedFiles()...); err != nil {
		l.Log.Warn().Err(err).Msg("cannot watch an image's directory; changes to it are seen on the next scheduled run")
	}
	l.digest, err = Snapshot(l.watchedFiles()...)
	return true, err
}

// watchedFiles are the spec, and the decisions file and local images of
// the last good spec. A save of the decisions file reloads the spec and
// touches no entry (Touched): the next runs follow the new decisions.
func (l *Loop) watchedFiles() []string {
	files := []string{l.SpecPath}
	if l.spec == nil {
		return files
	}
	if l.spec.Decisions != nil {
		files = append(files, l.spec.Decisions.Path)
	}
	seen := map[string]bool{}
	for _, s := range l.spec.Searches {
		for _, img := range s.Images {
			if img.Local() && !seen[img.Path] {
				seen[img.Path] = true
				files = append(files, img.Path)
			}
		}
	}
	return files
}

// apply runs once and logs the outcome. Failures are counted for the retry
// delay; the next trigger or tick tries again. A run whose notifications
// were not delivered is no failure.
func (l *Loop) apply(ctx context.Context, r Run) *report.ChangeReport {
	started := time.Now()
	start := l.Log.Info().Str("trigger", r.Trigger)
	if r.Targeted {
		start = start.Strs("targets", r.Targets)
	}
	start.Msg("run started")
	rep, err := l.Apply(ctx, r)
	if de := (*notify.DeliveryError)(nil); errors.As(err, &de) {
		// The run itself succeeded and is saved; its undelivered messages
		// wait in the state and go with the next run. Not a failed run:
		// that would repeat the searches sooner only to retry a receiver
		// that is down.
		l.Log.Error().Err(err).Msg("notification delivery failed; the messages wait in the state for the next run")
		err = nil
	}
	if rep != nil {
		l.pending = hasPending(rep)
	}
	ev := l.Log.Info()
	if err != nil {
		ev = l.Log.Error().Err(err)
	} else if rep.Failed() {
		ev = l.Log.Warn()
	}
	if err != nil || rep.Failed() {
		l.failures++
		ev = ev.Str("retry_in", roundDuration(l.retryDelay()))
	} else {
		l.failures = 0
	}
	if rep != nil {
		ev = ev.Str("summary", report.Summary(rep))
	}
	ev.Bool("reports_only", r.ReportsOnly).Str("took", roundDuration(time.Since(started))).Msg("run finished")
	return rep
}

// roundDuration writes d with its unit, to a precision a person reads:
// 412ms, 3.2s, 1m30s.
func roundDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

func hasPending(rep *report.ChangeReport) bool {
	for _, r := range rep.Reports {
		if r.Status == report.ReportPending || r.Status == report.ReportSubmitted {
			return true
		}
	}
	return false
}

// retryDelay is the wait after the latest of l.failures consecutive failed
// runs: RetryAfter, doubled on each further failure, at most the interval.
func (l *Loop) retryDelay() time.Duration {
	d := l.RetryAfter
	if d == 0 {
		d = DefaultRetryAfter
	}
	if d < 0 {
		return l.jittered(l.interval())
	}
	for i := 1; i < l.failures && d < l.interval(); i++ {
		d *= 2
	}
	return min(d, l.interval())
}

func (l *Loop) interval() time.Duration {
	switch {
	case l.Interval > 0:
		return l.Interval
	case l.spec != nil && l.spec.Interval > 0:
		return l.spec.Interval
	}
	return DefaultInterval
}

func (l *Loop) pollInterval() time.Duration {
	if l.PollInterval > 0 {
		return l.PollInterval
	}
	return DefaultPollInterval
}

func (l *Loop) logSpecError(err error) {
	var se *spec.Error
	if errors.As(err, &se) {
		for _, p := range se.Problems {
			l.Log.Error().Str("file", p.File).Int("line", p.Line).Int("col", p.Col).Str("path", p.Path).Msg(p.Msg)
		}
		l.Log.Error().Int("problems", len(se.Problems)).Msg("the spec is invalid; the last good spec stays in force")
		return
	}
	l.Log.Error().Err(err).Msg("the spec cannot be read; the last good spec stays in force")
}

func (l *Loop) jittered(d time.Duration) time.Duration {
	r := l.jitter
	if r == nil {
		r = rand.Float64
	}
	return time.Duration(float64(d) * (1 + IntervalJitter*(2*r()-1)))
}

func resetTimer(t *time.Timer, d time.Duration) {
	t.Stop()
	t.Reset(d)
}
