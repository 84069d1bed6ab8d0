// Package watch tells watch mode when the files it depends on (the spec and the local images the
// spec names) may have new content.
//
// A Trigger watches each file's parent directory rather than the file itself: editors and tools
// save by renaming a new file over the old one, which silently ends a watch held on the file.
// Events are matched by cleaned absolute path, Chmod-only events are ignored, and bursts are
// debounced into one signal. Kubernetes ConfigMap mounts, whose updates swap a `..data` symlink and
// name no watched file, are caught by re-resolving each watched file's symlinks on any event in its
// directory. A watched file that is a symlink into another directory has that directory watched
// too (best effort), so saving the target is seen. A slow periodic signal is the backstop on file systems that send no events (NFS, SMB,
// WSL2 and Docker Desktop bind mounts).
//
// A signal only means "may have changed": the consumer compares a Snapshot of the files with the
// one taken at its last run and runs only when they differ.
//
// Beside the Trigger, the package holds watch mode itself (Loop) and, for a watch started with
// --standby, Standby: the wait for the state's watch lock while another watch holds it.
package watch

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/rs/zerolog"
)

// Defaults applied by New to zero Options fields.
const (
	DefaultDebounce = 200 * time.Millisecond
	DefaultPoll     = 30 * time.Second
)

// Options configure a Trigger. The zero value is usable.
type Options struct {
	// Debounce is the quiet period after the last relevant event before signalling; 0 means
	// DefaultDebounce. Every relevant event restarts it, so a burst gives one signal.
	Debounce time.Duration
	// Poll is the backstop period: the Trigger signals every Poll even without events, for file
	// systems that send none. 0 means DefaultPoll; a negative value disables it.
	Poll time.Duration
	// Log receives warnings about watch errors; the zero Logger discards them.
	Log zerolog.Logger
}

// Trigger signals on C when a watched file may have new content. Watch may be called at any time,
// from any goroutine, before or while Run runs.
type Trigger struct {
	w        *fsnotify.Watcher
	debounce time.Duration
	poll     time.Duration
	log      zerolog.Logger
	clk      clock
	c        chan struct{}
	running  atomic.Bool

	// afterEvent, when set (by tests only), is called by the loop after each event with whether
	// the event restarted the debounce timer. It lets tests wait until an event was handled.
	afterEvent func(ev fsnotify.Event, armed bool)

	mu      sync.Mutex
	files   map[string]*file // by cleaned absolute path
	dirs    map[string]bool  // parent directories of files; true while the directory watch is lost
	targets map[string]bool  // directories of symlink targets watched in addition to dirs
}

// file is the loop's memory of one watched file.
type file struct {
	dir     string // cleaned absolute parent directory
	realDir string // dir with its symlinks resolved ("" if it did not resolve)
	real    string // filepath.EvalSymlinks of the path at the last look; "" when it did not resolve
	target  string // directory of real when that is not dir itself (a symlink elsewhere), else ""
}

// resolve looks up where f's path leads now and reports whether that changed. While the path does
// not resolve (its target is mid-save, say) the previous target directory stays watched, so that
// the target's reappearance is seen.
func (f *file) resolve(path string) bool {
	r := resolve(path)
	if r == f.real {
		return false
	}
	f.real = r
	if r != "" {
		f.target = ""
		if d := filepath.Dir(r); d != f.realDir {
			f.target = d
		}
	}
	return true
}

// New returns a Trigger that watches nothing yet; call Watch, then Run.
func New(o Options) (*Trigger, error) {
	return newTrigger(o, realClock{})
}

func newTrigger(o Options, clk clock) (*Trigger, error) {
	if o.Debounce < 0 {
		return nil, fmt.Errorf("watch: negative debounce %s", o.Debounce)
	}
	if o.Debounce == 0 {
		o.Debounce = DefaultDebounce
	}
	if o.Poll == 0 {
		o.Poll = DefaultPoll
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch: start file watcher: %w", err)
	}
	return &Trigger{
		w:        w,
		debounce: o.Debounce,
		poll:     o.Poll,
		log:      o.Log,
		clk:      clk,
		c:        make(chan struct{}, 1),
		files:    map[string]*file{},
		dirs:     map[string]bool{},
		targets:  map[string]bool{},
	}, nil
}

// C returns the signal channel. It has capacity 1 and signals coalesce: one pending value means
// "some watched file may have new content since you last received".
func (t *Trigger) C() <-chan struct{} { return t.c }

// Watch makes paths the set of watched files, replacing the previous set. Relative paths are
// resolved against the working directory now. Each file's parent directory is watched, so the
// files themselves need not exist; a parent directory that does not exist (or is not a directory)
// is an error naming it, and then the previous set stays in force. Call Watch before reading the
// files for the first time, so that a change made in between is not missed.
func (t *Trigger) Watch(paths ...string) error {
	files := make(map[string]*file, len(paths))
	dirs := map[string]bool{}
	for _, p := range paths {
		if p == "" {
			return errors.New("watch: empty path")
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return fmt.Errorf("watch %s: %w", p, err)
		}
		dir := filepath.Dir(abs)
		files[abs] = &file{dir: dir, realDir: resolve(dir)}
		dirs[dir] = false
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	watched := t.w.WatchList()
	var added []string
	for _, dir := range slices.Sorted(maps.Keys(dirs)) {
		if slices.Contains(watched, dir) {
			continue
		}
		if err := t.addDir(dir); err != nil {
			for _, a := range added {
				_ = t.w.Remove(a) // undo, so a failed Watch leaves the previous set as it was
			}
			return err
		}
		added = append(added, dir)
	}
	for dir := range t.dirs {
		if _, keep := dirs[dir]; keep {
			continue
		}
		// ErrNonExistentWatch: the directory was deleted, which already ended its watch.
		if err := t.w.Remove(dir); err != nil && !errors.Is(err, fsnotify.ErrNonExistentWatch) {
			t.log.Warn().Err(err).Str("dir", dir).Msg("stop watching directory")
		}
	}
	for p, f := range files {
		f.resolve(p)
	}
	t.files, t.dirs = files, dirs
	t.syncTargets()
	return nil
}

// addDir starts watching dir, which must exist and be a directory.
func (t *Trigger) addDir(dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("watch directory: %w", err) // *fs.PathError names dir
	}
	if !st.IsDir() {
		return fmt.Errorf("watch directory %s: not a directory", dir)
	}
	if err := t.w.Add(dir); err != nil {
		return fmt.Errorf("watch directory %s: %w", dir, err)
	}
	return nil
}

// Run handles file events until ctx ends (it then returns nil) or Close is called. Errors from the
// file watcher are logged and never end it; on an event-queue overflow it signals, since events
// may have been lost. Run must not be called twice.
func (t *Trigger) Run(ctx context.Context) error {
	if !t.running.CompareAndSwap(false, true) {
		return errors.New("watch: Run called twice")
	}
	return t.loop(ctx, t.w.Events, t.w.Errors)
}

func (t *Trigger) loop(ctx context.Context, events <-chan fsnotify.Event, errs <-chan error) error {
	// The ticker is made before the timer: tests wait for the timer and
	// then look for the ticker.
	var pollC <-chan time.Time // nil: never ready
	if t.poll > 0 {
		tk := t.clk.newTicker(t.poll)
		defer tk.Stop()
		pollC = tk.C()
	}
	debounce := t.clk.newTimer()
	defer debounce.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				return nil // Close was called
			}
			armed := t.relevant(ev)
			if armed {
				debounce.Reset(t.debounce)
			}
			if t.afterEvent != nil {
				t.afterEvent(ev, armed)
			}
		case err, ok := <-errs:
			if !ok {
				return nil
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				t.log.Warn().Err(err).Msg("file events were lost; checking the watched files")
				debounce.Reset(t.debounce)
				continue
			}
			t.log.Warn().Err(err).Msg("file watcher error")
		case <-debounce.C():
			t.signal()
		case <-pollC:
			t.rewatch()
			t.signal()
		}
	}
}

// relevant reports whether ev may mean new content in a watched file: it names one and is not
// Chmod-only, or it happened in a watched file's directory and that file now resolves through its
// symlinks to somewhere else (a Kubernetes `..data` swap), or it is the removal or renaming of a
// watched directory itself.
func (t *Trigger) relevant(ev fsnotify.Event) bool {
	name := filepath.Clean(ev.Name)
	t.mu.Lock()
	defer t.mu.Unlock()
	armed := false
	if _, ok := t.files[name]; ok && ev.Op&^fsnotify.Chmod != 0 {
		armed = true
	}
	if _, ok := t.dirs[name]; ok && ev.Op&(fsnotify.Remove|fsnotify.Rename) != 0 {
		armed = true
	}
	dir := filepath.Dir(name)
	moved := false
	for p, f := range t.files {
		if f.dir != dir && f.dir != name && f.target != dir && f.target != name {
			continue
		}
		if name == f.real && ev.Op&^fsnotify.Chmod != 0 {
			armed = true // a save of the file a watched symlink points to
		}
		if f.resolve(p) {
			armed, moved = true, true
		}
	}
	if moved {
		t.syncTargets()
	}
	return armed
}

// syncTargets makes the watches on symlink-target directories match the files' current targets.
// They are best effort: failing to watch one is logged at debug level, and the poll backstop
// still covers the file. The caller holds t.mu.
func (t *Trigger) syncTargets() {
	want := map[string]bool{}
	for _, f := range t.files {
		if _, primary := t.dirs[f.target]; f.target != "" && !primary {
			want[f.target] = true
		}
	}
	for dir := range t.targets {
		if _, primary := t.dirs[dir]; primary || want[dir] {
			continue
		}
		if err := t.w.Remove(dir); err != nil && !errors.Is(err, fsnotify.ErrNonExistentWatch) {
			t.log.Debug().Err(err).Str("dir", dir).Msg("stop watching symlink target directory")
		}
	}
	watched := t.w.WatchList()
	for dir := range want {
		if slices.Contains(watched, dir) {
			continue
		}
		if err := t.w.Add(dir); err != nil {
			t.log.Debug().Err(err).Str("dir", dir).Msg("cannot watch symlink target directory; relying on polling")
		}
	}
	t.targets = want
}

// rewatch re-adds directory watches that ended because the directory was deleted or renamed, once
// the directory exists again, and follows symlink targets that moved unseen. It runs on the poll
// backstop, which then signals anyway.
func (t *Trigger) rewatch() {
	t.mu.Lock()
	defer t.mu.Unlock()
	watched := t.w.WatchList()
	for dir, lost := range t.dirs {
		if slices.Contains(watched, dir) {
			continue
		}
		if err := t.addDir(dir); err != nil {
			if !lost {
				t.log.Warn().Err(err).Str("dir", dir).Msg("directory watch lost; relying on polling until it is back")
				t.dirs[dir] = true
			}
			continue
		}
		if lost {
			t.log.Info().Str("dir", dir).Msg("directory watch restored")
		}
		t.dirs[dir] = false
	}
	for p, f := range t.files {
		f.resolve(p)
	}
	t.syncTargets()
}

// signal sends without blocking: if a signal is already pending, the consumer has yet to look,
// and one look covers both.
func (t *Trigger) signal() {
	t.log.Debug().Msg("watched files may have changed")
	select {
	case t.c <- struct{}{}:
	default:
	}
}

// Close stops the file watcher; a running Run returns nil.
func (t *Trigger) Close() error {
	if err := t.w.Close(); err != nil {
		return fmt.Errorf("watch: close: %w", err)
	}
	return nil
}

// resolve returns where path leads through its symlinks, or "" when it does not resolve.
func resolve(path string) string {
	r, err := filepath.EvalSymlinks(path)
	if err != nil {
		return ""
	}
	return r
}
