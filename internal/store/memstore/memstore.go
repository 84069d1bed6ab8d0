// Package memstore keeps states in memory, for tests. It is the smallest
// backend of the store seam: one package that implements store.Store and
// passes the conformance suite (storetest), which is all a new kind of
// state needs besides its line in store.Open.
//
// A DB holds states by name, as a database server does, and keeps every
// serial saved; each Open is a handle on one state, as the connection of
// one process would be. Crash ends a handle as its process dying would.
package memstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/patwatch/patwatch/state"
	"github.com/patwatch/patwatch/state/statefile"
)

// DB holds named states. Its zero value is not usable: call New.
type DB struct {
	mu     sync.Mutex
	states map[string]*record
	// freed is closed and replaced whenever a lock is released, waking
	// the Locks that wait.
	freed chan struct{}
}

// New returns an empty DB.
func New() *DB {
	return &DB{states: map[string]*record{}, freed: make(chan struct{})}
}

// record is one named state: every serial saved, its side data, its runs
// and who holds its locks.
type record struct {
	serials map[uint64]*state.State // every serial saved; the newest is current
	current uint64
	lineage string
	aux     map[string][]byte
	runs    []state.RunRecord
	locks   map[string]*lockHeld // by lock kind
}

func (r *record) exists() bool { return r.serials != nil }

type lockHeld struct {
	by   *Store
	info state.LockInfo
}

// Lock kinds: a run's, and the one a watch holds for its lifetime.
const (
	kindState = "state"
	kindWatch = "watch"
)

func (db *DB) record(name string) *record {
	r := db.states[name]
	if r == nil {
		r = &record{aux: map[string][]byte{}, locks: map[string]*lockHeld{}}
		db.states[name] = r
	}
	return r
}

// Open returns a new handle on the state name.
func (db *DB) Open(name string) *Store {
	return &Store{db: db, name: name}
}

// Store is a handle on one state of a DB.
type Store struct {
	db   *DB
	name string
	seen *seen // what the last Load saw or the last Save wrote; nil before one
}

// seen is what a handle last read or wrote of the current state, for a
// save to check that it is still there.
type seen struct {
	exists  bool
	lineage string
	serial  uint64
}

// String names the store in messages.
func (s *Store) String() string { return "memory:" + s.name }

// Kind names a state in memory in messages.
func (s *Store) Kind() string { return "state" }

// Missing is the error of a state never saved.
func (s *Store) Missing() error { return &missingError{name: s.String()} }

type missingError struct{ name string }

func (e *missingError) Error() string              { return e.name + " holds no state" }
func (e *missingError) Is(target error) bool       { return target == fs.ErrNotExist }
func (e *missingError) Hint() string               { return "save one first" }
func (s *Store) Close() error                      { return nil }
func (s *Store) FilesDir(reportsDir string) string { return filepath.Dir(reportsDir) }

// DrawingsDir is a directory of its own under the system's temporary
// directory: a state in memory has no place on disk.
func (s *Store) DrawingsDir() string {
	return filepath.Join(os.TempDir(), "patwatch-memstore", s.name)
}

// Reserved is false: a state in memory keeps no file.
func (s *Store) Reserved(string, ...string) bool { return false }

// LockedError reports a lock another handle holds; it matches
// state.ErrLocked.
type LockedError struct {
	State  string
	Holder state.LockInfo
	Watch  bool
	Waited time.Duration // how long the refused Lock waited
}

func (e *LockedError) Error() string {
	what := "locked"
	if e.Watch {
		what = "watched"
	}
	h := e.Holder
	return fmt.Sprintf("%s is %s by patwatch %s (pid %d on host %s) since %s", e.State, what, h.Command, h.PID, h.Host, h.Started.Format(time.RFC3339))
}

// Is makes errors.Is(err, state.ErrLocked) true.
func (e *LockedError) Is(target error) bool { return target == state.ErrLocked }

// Hint says what to do.
func (e *LockedError) Hint() string {
	if e.Waited > 0 {
		return state.LockWaitedHint(e.Waited)
	}
	return "wait for that run to finish, or pass a longer lock timeout"
}

// Lock takes the state's lock, waiting up to timeout for its holder.
func (s *Store) Lock(ctx context.Context, command string, timeout time.Duration) (func() error, error) {
	return s.lock(ctx, kindState, command, timeout)
}

// CheckLock is nil: a lock in memory lasts until it is released.
func (s *Store) CheckLock(context.Context) error { return nil }

// LockWatch takes the lock of a watch, waiting up to timeout for its
// holder.
func (s *Store) LockWatch(ctx context.Context, timeout time.Duration) (func() error, error) {
	return s.lock(ctx, kindWatch, "watch", timeout)
}

func (s *Store) lock(ctx context.Context, kind, command string, timeout time.Duration) (func() error, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.db.mu.Lock()
		r := s.db.record(s.name)
		held := r.locks[kind]
		if held == nil {
			host, _ := os.Hostname()
			h := &lockHeld{by: s, info: state.LockInfo{PID: os.Getpid(), Host: host, Command: command, Started: time.Now().UTC().Truncate(time.Second)}}
			r.locks[kind] = h
			s.db.mu.Unlock()
			var once sync.Once
			return func() error {
				once.Do(func() { s.db.release(s.name, kind, h) })
				return nil
			}, nil
		}
		freed := s.db.freed
		s.db.mu.Unlock()
		refused := &LockedError{State: s.String(), Holder: held.info, Watch: kind == kindWatch, Waited: max(timeout, 0)}
		if timeout <= 0 {
			return nil, refused
		}
		select {
		case <-freed:
		case <-deadline.C:
			return nil, refused
		case <-ctx.Done():
			return nil, fmt.Errorf("lock %s: %w", s, ctx.Err())
		}
	}
}

// release frees the lock of kind on name if h still holds it.
func (db *DB) release(name, kind string, h *lockHeld) {
	db.mu.Lock()
	defer db.mu.Unlock()
	r := db.record(name)
	if r.locks[kind] == h {
		delete(r.locks, kind)
		close(db.freed)
		db.freed = make(chan struct{})
	}
}

// Crash ends the handle as its process dying would: the locks it holds
// are released, without their unlock functions.
func (s *Store) Crash() {
	s.db.mu.Lock()
	held := map[string]*lockHeld{}
	for kind, h := range s.db.record(s.name).locks {
		if h.by == s {
			held[kind] = h
		}
	}
	s.db.mu.Unlock()
	for kind, h := range held {
		s.db.release(s.name, kind, h)
	}
}

// Load returns the current state; a state never saved is an empty one.
func (s *Store) Load(context.Context) (*state.State, error) {
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	r := s.db.record(s.name)
	if !r.exists() {
		s.seen = &seen{}
		return state.New(), nil
	}
	s.seen = &seen{exists: true, lineage: r.lineage, serial: r.current}
	return clone(r.serials[r.current]), nil
}

// Exists reports whether the state has been saved.
func (s *Store) Exists(context.Context) (bool, error) {
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	return s.db.record(s.name).exists(), nil
}

// LoadSerial returns the state as saved at serial n.
func (s *Store) LoadSerial(_ context.Context, n uint64) (*state.State, error) {
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	r := s.db.record(s.name)
	if !r.exists() {
		return nil, s.Missing()
	}
	st, ok := r.serials[n]
	if !ok {
		return nil, fmt.Errorf("%s has no serial %d", s, n)
	}
	return clone(st), nil
}

// ConflictError reports a save refused because the state is not the one
// the handle last read or wrote.
type ConflictError struct {
	State   string
	Read    string // what the handle read
	Current string // what the state is now
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%s is %s, not %s, which this run read; not writing over it", e.State, e.Current, e.Read)
}

func (v *seen) String() string {
	if !v.exists {
		return "no state"
	}
	return fmt.Sprintf("serial %d of lineage %s", v.serial, v.lineage)
}

// Save writes st if its content changed, refusing a state that is not the
// one the last Load saw, or one of another lineage.
func (s *Store) Save(_ context.Context, st *state.State) (bool, error) {
	b, err := content(st)
	if err != nil {
		return false, fmt.Errorf("save %s: %w", s, err)
	}
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	r := s.db.record(s.name)
	now := seen{exists: r.exists(), lineage: r.lineage, serial: r.current}
	read := s.seen
	if read == nil {
		read = &now // saved without a Load: over what is there now
	}
	switch {
	case *read != now:
		return false, &ConflictError{State: s.String(), Read: read.String(), Current: now.String()}
	case now.exists && st.Lineage != now.lineage:
		return false, &ConflictError{State: s.String(), Read: "lineage " + st.Lineage, Current: now.String()}
	}
	if now.exists {
		old, err := content(r.serials[r.current])
		if err != nil {
			return false, err
		}
		if bytes.Equal(old, b) {
			st.Serial, st.FormatVersion = now.serial, state.FormatOf(st)
			return false, nil
		}
	}
	s.put(r, st, max(now.serial, st.Serial)+1)
	return true, nil
}

// Replace makes st the state at serial, whatever was there.
func (s *Store) Replace(_ context.Context, st *state.State, serial uint64) error {
	if _, err := content(st); err != nil {
		return fmt.Errorf("replace %s: %w", s, err)
	}
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	s.put(s.db.record(s.name), st, serial)
	return nil
}

// put records st as serial of r. The caller holds db.mu.
func (s *Store) put(r *record, st *state.State, serial uint64) {
	st.Serial, st.FormatVersion = serial, state.FormatOf(st)
	if r.serials == nil {
		r.serials = map[uint64]*state.State{}
	}
	r.serials[serial] = clone(st)
	r.current, r.lineage = serial, st.Lineage
	s.seen = &seen{exists: true, lineage: st.Lineage, serial: serial}
}

// content is st's JSON with the serial and the patwatch version left out:
// what a save compares. It fails for a state Marshal refuses.
func content(st *state.State) ([]byte, error) {
	c := *st
	c.Serial, c.PatwatchVersion = 0, ""
	return statefile.Marshal(&c)
}

// RecordRun keeps run in the state's history of runs.
func (s *Store) RecordRun(_ context.Context, run state.RunRecord) error {
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	r := s.db.record(s.name)
	r.runs = append(r.runs, run)
	return nil
}

// ReadAux returns the side data name.
func (s *Store) ReadAux(_ context.Context, name string) ([]byte, error) {
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	b, ok := s.db.record(s.name).aux[name]
	if !ok {
		return nil, fmt.Errorf("%s: no side data %q: %w", s, name, fs.ErrNotExist)
	}
	return slices.Clone(b), nil
}

// WriteAux replaces the side data name.
func (s *Store) WriteAux(_ context.Context, name string, data []byte) error {
	if name == "" {
		return errors.New("side data: empty name")
	}
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	s.db.record(s.name).aux[name] = append([]byte{}, data...)
	return nil
}
