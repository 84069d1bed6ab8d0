package watch

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
)

// saveStyles are the ways editors and tools replace a file, each run against a real directory.
var saveStyles = []struct {
	name string
	save func(tb testing.TB, path, content string)
}{
	{"in-place write", func(tb testing.TB, path, content string) {
		writeFile(tb, path, content)
	}},
	{"rename over (sed -i)", func(tb testing.TB, path, content string) {
		tmp := filepath.Join(filepath.Dir(path), "sedAb12Cd")
		writeFile(tb, tmp, content)
		must(tb, os.Rename(tmp, path))
	}},
	{"vim backupcopy=no", func(tb testing.TB, path, content string) {
		must(tb, os.Rename(path, path+"~"))
		writeFile(tb, path, content)
		must(tb, os.Remove(path+"~"))
	}},
	{"JetBrains safe write", func(tb testing.TB, path, content string) {
		tmp, old := path+"___jb_tmp___", path+"___jb_old___"
		writeFile(tb, tmp, content)
		must(tb, os.Rename(path, old))
		must(tb, os.Rename(tmp, path))
		must(tb, os.Remove(old))
	}},
}

func TestSaveStylesSignalOnce(t *testing.T) {
	t.Parallel()
	for _, s := range saveStyles {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			spec := filepath.Join(dir, "spec.yaml")
			writeFile(t, spec, "v1\n")
			h := newHarness(t, Options{Poll: -1})
			must(t, h.trig.Watch(spec))

			s.save(t, spec, "v2\n")
			h.expectOne(dir)
			// A second save must work too: the directory watch survived the first.
			s.save(t, spec, "v3\n")
			h.expectOne(dir)
		})
	}
}

// TestSaveStylesRealTimer runs each save style through the real clock: a signal arrives after the
// (short) quiet period.
func TestSaveStylesRealTimer(t *testing.T) {
	t.Parallel()
	for _, s := range saveStyles {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			spec := filepath.Join(dir, "spec.yaml")
			writeFile(t, spec, "v1\n")
			trig, err := New(Options{Debounce: 20 * time.Millisecond, Poll: -1})
			must(t, err)
			must(t, trig.Watch(spec))
			startRun(t, trig)

			for _, content := range []string{"v2\n", "v3\n"} {
				s.save(t, spec, content)
				select {
				case <-trig.C():
				case <-time.After(waitLimit):
					t.Fatalf("no signal after saving %q", content)
				}
			}
		})
	}
}

func TestDeleteThenRecreate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	spec := filepath.Join(dir, "spec.yaml")
	writeFile(t, spec, "v1\n")
	h := newHarness(t, Options{Poll: -1})
	must(t, h.trig.Watch(spec))

	must(t, os.Remove(spec))
	h.expectOne(dir) // presence changed: the consumer decides what a missing spec means
	writeFile(t, spec, "v2\n")
	h.expectOne(dir)
	writeFile(t, spec, "v3\n")
	h.expectOne(dir)
}

func TestChmodOnlyDoesNotSignal(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	spec := filepath.Join(dir, "spec.yaml")
	writeFile(t, spec, "v1\n")
	h := newHarness(t, Options{Poll: -1})
	must(t, h.trig.Watch(spec))

	must(t, os.Chmod(spec, 0o600))
	e := h.waitFor("chmod of "+spec, func(e handled) bool { return e.ev.Name == spec && e.ev.Has(fsnotify.Chmod) })
	if e.armed {
		t.Fatalf("chmod-only event %v armed the debounce timer", e.ev)
	}
	h.expectNone(dir)
	writeFile(t, spec, "v2\n")
	h.expectOne(dir)
}

func TestUnrelatedFileDoesNotSignal(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	spec := filepath.Join(dir, "spec.yaml")
	other := filepath.Join(dir, "spec.yaml.bak") // a near-miss name: matching must be exact
	writeFile(t, spec, "v1\n")
	h := newHarness(t, Options{Poll: -1})
	must(t, h.trig.Watch(spec))

	writeFile(t, other, "x\n")
	must(t, os.Rename(other, filepath.Join(dir, "notes.txt")))
	h.waitFor("write of "+other, func(e handled) bool { return e.ev.Name == other })
	h.expectNone(dir)
	for _, e := range h.events() {
		if e.armed {
			t.Fatalf("unrelated event %v armed the debounce timer", e.ev)
		}
	}
	writeFile(t, spec, "v2\n")
	h.expectOne(dir)
}

func TestRapidWritesSignalOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	spec := filepath.Join(dir, "spec.yaml")
	writeFile(t, spec, "v0\n")
	h := newHarness(t, Options{Debounce: 300 * time.Millisecond, Poll: -1})
	must(t, h.trig.Watch(spec))

	// No time passes on the manual clock between the writes: all fall within the quiet period.
	// (The kernel may merge identical queued events, so the number of events is not asserted.)
	for i := range 20 {
		writeFile(t, spec, strings.Repeat("x", i+1))
	}
	h.expectOne(dir)
	if got := h.timer().last; got != 300*time.Millisecond {
		t.Errorf("timer reset to %s, want the configured debounce 300ms", got)
	}
}

// TestKubernetesConfigMapSwap builds the layout kubelet maintains for a ConfigMap volume and swaps
// it the way kubelet does: no event names the watched file.
func TestKubernetesConfigMapSwap(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	spec := filepath.Join(dir, "spec.yaml")
	gen := func(n int, content string) string {
		ts := "..2026_01_02_03_04_05.00000000" + string(rune('0'+n))
		must(t, os.Mkdir(filepath.Join(dir, ts), 0o755))
		writeFile(t, filepath.Join(dir, ts, "spec.yaml"), content)
		return ts
	}
	swap := func(ts, old string) {
		tmp := filepath.Join(dir, "..data_tmp")
		must(t, os.Symlink(ts, tmp))
		must(t, os.Rename(tmp, filepath.Join(dir, "..data")))
		must(t, os.RemoveAll(filepath.Join(dir, old)))
	}
	ts1 := gen(1, "v1\n")
	must(t, os.Symlink(ts1, filepath.Join(dir, "..data")))
	must(t, os.Symlink(filepath.Join("..data", "spec.yaml"), spec))
	before, err := Snapshot(spec)
	must(t, err)

	h := newHarness(t, Options{Poll: -1})
	must(t, h.trig.Watch(spec))
	ts2 := gen(2, "v2\n")
	swap(ts2, ts1)
	h.expectOne(dir)
	for _, e := range h.events() {
		if e.ev.Name == spec {
			t.Fatalf("event %v names the watched file; the test must exercise the symlink check", e.ev)
		}
	}
	after, err := Snapshot(spec)
	must(t, err)
	if after == before {
		t.Error("Snapshot unchanged after the ConfigMap swap")
	}

	ts3 := gen(3, "v3\n")
	swap(ts3, ts2)
	h.expectOne(dir)
}

// TestRelativePath watches "spec.yaml" from inside its directory: fsnotify then names events
// "./spec.yaml"-style unless the path is made absolute first. It changes the working directory,
// so it cannot run in parallel with other tests.
func TestRelativePath(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	writeFile(t, "spec.yaml", "v1\n")
	h := newHarness(t, Options{Poll: -1})
	must(t, h.trig.Watch("spec.yaml"))

	writeFile(t, "spec.yaml", "v2\n")
	h.expectOne(dir)
	tmp := filepath.Join(dir, "new")
	writeFile(t, tmp, "v3\n")
	must(t, os.Rename(tmp, "spec.yaml"))
	h.expectOne(dir)
}

func TestWatchReplacesSet(t *testing.T) {
	t.Parallel()
	a, b := t.TempDir(), t.TempDir()
	spec, img := filepath.Join(a, "spec.yaml"), filepath.Join(b, "logo.png")
	writeFile(t, spec, "v1\n")
	writeFile(t, img, "png1")
	h := newHarness(t, Options{Poll: -1})

	must(t, h.trig.Watch(spec))
	writeFile(t, img, "png2") // not watched yet
	h.expectNone(a)

	must(t, h.trig.Watch(spec, img))
	assertWatchList(t, h.trig, a, b)
	writeFile(t, img, "png3")
	h.expectOne(b)
	writeFile(t, spec, "v2\n")
	h.expectOne(a)

	must(t, h.trig.Watch(img))
	assertWatchList(t, h.trig, b)
	writeFile(t, spec, "v3\n")
	h.expectNone(b) // events from a would be queued before b's sentinel
	writeFile(t, img, "png4")
	h.expectOne(b)

	// Two files in one directory share its watch; dropping one keeps the other working.
	spec2 := filepath.Join(b, "spec.yaml")
	must(t, h.trig.Watch(img, spec2))
	assertWatchList(t, h.trig, b)
	writeFile(t, spec2, "v1\n")
	h.expectOne(b)
	must(t, h.trig.Watch(spec2))
	writeFile(t, img, "png5")
	h.expectNone(b)
	writeFile(t, spec2, "v2\n")
	h.expectOne(b)
}

func TestWatchMissingDirectory(t *testing.T) {
	t.Parallel()
	dir, other := t.TempDir(), t.TempDir()
	spec := filepath.Join(dir, "spec.yaml")
	writeFile(t, spec, "v1\n")
	h := newHarness(t, Options{Poll: -1})
	must(t, h.trig.Watch(spec))

	// Directories are added in sorted order, so other is added before missing fails.
	missing := filepath.Join(other, "images")
	err := h.trig.Watch(spec, filepath.Join(other, "a.png"), filepath.Join(missing, "a.png"))
	if err == nil {
		t.Fatal("Watch with a missing directory succeeded")
	}
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("error %q: want fs.ErrNotExist naming %s", err, missing)
	}
	// The failed call changed nothing: other's watch was undone and spec still triggers.
	assertWatchList(t, h.trig, dir)
	writeFile(t, spec, "v2\n")
	h.expectOne(dir)

	if err := h.trig.Watch(spec, ""); err == nil {
		t.Error("Watch accepted an empty path")
	}
	assertWatchList(t, h.trig, dir)

	notDir := filepath.Join(dir, "file")
	writeFile(t, notDir, "")
	h.expectNone(dir)
	if err := h.trig.Watch(filepath.Join(notDir, "x")); err == nil || !strings.Contains(err.Error(), notDir) {
		t.Errorf("Watch under a regular file: error %v, want one naming %s", err, notDir)
	}
}

// TestDirectoryRecreated checks that the poll backstop re-establishes the watch on a directory that
// was deleted and made again (which ends an inotify watch).
func TestDirectoryRecreated(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	dir := filepath.Join(root, "conf")
	must(t, os.Mkdir(dir, 0o755))
	spec := filepath.Join(dir, "spec.yaml")
	writeFile(t, spec, "v1\n")
	h := newHarness(t, Options{Poll: time.Hour})
	must(t, h.trig.Watch(spec))

	must(t, os.RemoveAll(dir))
	h.waitFor("removal of "+dir, func(e handled) bool { return e.ev.Name == dir && e.ev.Has(fsnotify.Remove) })
	h.timer().fire(t)
	<-h.trig.C()
	assertWatchList(t, h.trig)

	must(t, os.Mkdir(dir, 0o755))
	writeFile(t, spec, "v2\n")
	tickers := h.clk.madeTickers()
	if len(tickers) != 1 {
		t.Fatalf("%d poll tickers, want 1", len(tickers))
	}
	tickers[0].tick(t)
	select {
	case <-h.trig.C():
	case <-time.After(waitLimit):
		t.Fatal("no signal on the poll tick")
	}
	assertWatchList(t, h.trig, dir)
	writeFile(t, spec, "v3\n")
	h.expectOne(dir)
}

func TestPollBackstop(t *testing.T) {
	t.Parallel()
	t.Run("real clock signals without events", func(t *testing.T) {
		t.Parallel()
		spec := filepath.Join(t.TempDir(), "spec.yaml")
		trig, err := New(Options{Poll: 10 * time.Millisecond})
		must(t, err)
		must(t, trig.Watch(spec))
		startRun(t, trig)
		for i := range 3 {
			select {
			case <-trig.C():
			case <-time.After(waitLimit):
				t.Fatalf("no poll signal %d", i+1)
			}
		}
	})
	for _, c := range []struct {
		poll, want time.Duration // want 0: no ticker
	}{
		{0, DefaultPoll},
		{time.Minute, time.Minute},
		{-1, 0},
	} {
		t.Run("period "+c.poll.String(), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, Options{Poll: c.poll})
			tickers := h.clk.madeTickers() // made before the timer, which newHarness waited for
			switch {
			case c.want == 0 && len(tickers) != 0:
				t.Fatalf("poll %s made a ticker", c.poll)
			case c.want == 0:
				return
			case len(tickers) != 1 || tickers[0].period != c.want:
				t.Fatalf("tickers %v, want one of period %s", tickers, c.want)
			}
			tickers[0].tick(t)
			select {
			case <-h.trig.C():
			case <-time.After(waitLimit):
				t.Fatal("no signal on the poll tick")
			}
		})
	}
}

// TestLoopNeverBlocksOnConsumer fires the debounce timer repeatedly while nobody reads C: the loop
// keeps taking ticks and handling events, and one signal stays pending.
func TestLoopNeverBlocksOnConsumer(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	spec := filepath.Join(dir, "spec.yaml")
	h := newHarness(t, Options{Poll: -1})
	must(t, h.trig.Watch(spec))
	for i := range 5 {
		writeFile(t, spec, strings.Repeat("y", i+1))
		h.settle(dir)
		h.timer().fire(t) // blocks (and fails) if the loop is stuck sending on C
	}
	if n := len(h.trig.C()); n != 1 {
		t.Fatalf("%d signals pending, want 1 (coalesced)", n)
	}
}

// TestErrorsNeverEndTheLoop feeds the loop watcher errors directly: a transient one is logged and
// ignored, an overflow (events lost) leads to a signal.
func TestErrorsNeverEndTheLoop(t *testing.T) {
	t.Parallel()
	clk := newManualClock()
	trig, err := newTrigger(Options{Poll: -1}, clk)
	must(t, err)
	t.Cleanup(func() { trig.Close() })
	events, errs := make(chan fsnotify.Event), make(chan error)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- trig.loop(ctx, events, errs) }()
	tm := <-clk.timers

	errs <- errors.New("inotify: something transient")
	errs <- errors.New("inotify: again")
	events <- fsnotify.Event{Name: "/nowhere/x", Op: fsnotify.Write} // handled: the loop is alive
	if tm.isArmed() {
		t.Fatal("a transient error armed the debounce timer")
	}
	errs <- fsnotify.ErrEventOverflow
	select {
	case <-tm.resets:
	case <-time.After(waitLimit):
		t.Fatal("overflow did not arm the debounce timer")
	}
	tm.fire(t)
	select {
	case <-trig.C():
	case <-time.After(waitLimit):
		t.Fatal("no signal after an overflow")
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("loop returned %v, want nil", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("loop did not return after the context ended")
	}
}

func TestRunLifecycle(t *testing.T) {
	t.Parallel()
	t.Run("Close ends Run", func(t *testing.T) {
		t.Parallel()
		trig, err := New(Options{})
		must(t, err)
		done := make(chan error, 1)
		go func() { done <- trig.Run(context.Background()) }()
		must(t, trig.Close())
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Run returned %v after Close, want nil", err)
			}
		case <-time.After(waitLimit):
			t.Fatal("Run did not return after Close")
		}
		if err := trig.Run(context.Background()); err == nil {
			t.Fatal("second Run succeeded")
		}
	})
	t.Run("negative debounce", func(t *testing.T) {
		t.Parallel()
		if _, err := New(Options{Debounce: -time.Second}); err == nil {
			t.Fatal("New accepted a negative debounce")
		}
	})
	t.Run("default debounce", func(t *testing.T) {
		t.Parallel()
		trig, err := New(Options{})
		must(t, err)
		defer trig.Close()
		if trig.debounce != DefaultDebounce || trig.poll != DefaultPoll {
			t.Fatalf("debounce %s poll %s, want %s and %s", trig.debounce, trig.poll, DefaultDebounce, DefaultPoll)
		}
	})
}

func assertWatchList(tb testing.TB, trig *Trigger, want ...string) {
	tb.Helper()
	got := trig.w.WatchList()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		tb.Fatalf("watching %v, want %v", got, want)
	}
}

// TestSymlinkIntoAnotherDirectory watches a symlink whose target lives elsewhere (a shared spec,
// a dotfiles checkout): saving the target triggers, and repointing the link moves that watch.
func TestSymlinkIntoAnotherDirectory(t *testing.T) {
	t.Parallel()
	dir, shared, shared2 := t.TempDir(), t.TempDir(), t.TempDir()
	spec := filepath.Join(dir, "spec.yaml")
	target, target2 := filepath.Join(shared, "team.yaml"), filepath.Join(shared2, "team.yaml")
	writeFile(t, target, "v1\n")
	writeFile(t, target2, "w1\n")
	must(t, os.Symlink(target, spec))
	h := newHarness(t, Options{Poll: -1})
	must(t, h.trig.Watch(spec))
	assertWatchList(t, h.trig, dir, shared)

	for i, s := range saveStyles {
		s.save(t, target, strings.Repeat("v", i+2))
		h.expectOne(dir)
	}
	// While the link dangles its target's directory stays watched, so the target's return is seen.
	must(t, os.Remove(target))
	h.expectOne(dir)
	assertWatchList(t, h.trig, dir, shared)
	writeFile(t, target, "back\n")
	h.expectOne(dir)

	tmp := filepath.Join(dir, ".spec.yaml.tmp")
	must(t, os.Symlink(target2, tmp))
	must(t, os.Rename(tmp, spec)) // ln -sfn, atomically
	h.expectOne(dir)
	assertWatchList(t, h.trig, dir, shared2)
	writeFile(t, target2, "w2\n")
	h.expectOne(dir)
	writeFile(t, target, "old target\n")
	h.expectNone(dir)
}
