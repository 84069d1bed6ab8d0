// Package filestore keeps a state in a file, with what patwatch keeps
// beside it: the previous version (<path>.backup), the lock
// (<path>.lock, and <path>.watch.lock while a watch runs) and named side
// files (<path>.<name>). The file's bytes are state/statefile's.
//
// A save writes only when the content changed, and then atomically: the
// new file is written beside the old one, synced and renamed over it, after
// the old one is kept as the backup. It refuses to write over a file that
// is not a valid state, is of another lineage, or is not the file the run
// loaded. A run holds the lock (Store.Lock) from its load to its save.
package filestore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/patwatch/patwatch/internal/atomicfile"
	"github.com/patwatch/patwatch/state"
)

// Store is a state kept in a file, with what patwatch keeps beside it:
// the backup, the lock and named side files (<path>.<name>). It is the
// default store; a database store offers the same methods.
//
// A Store remembers what its last Load saw of the file (lineage, serial,
// and the file's identity: device and inode, size, modification time),
// and its Save refuses with a *ReplacedError to write over a file that is
// no longer that one.
type Store struct {
	Path string // absolute path of the state file

	mu   sync.Mutex
	seen *loaded // by the last Load or Save; nil before one
}

// New returns the store of the state file at path.
func New(path string) (*Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	return &Store{Path: abs}, nil
}

// String names the store in messages: the state file's path.
func (s *Store) String() string { return s.Path }

// Dir is the directory of the state file, against which recorded report
// files are relative.
func (s *Store) Dir() string { return filepath.Dir(s.Path) }

// Lock takes the state file's lock for command, waiting up to timeout; it
// returns the function that releases it.
func (s *Store) Lock(ctx context.Context, command string, timeout time.Duration) (unlock func() error, err error) {
	// A named pipe or device at the path would hang the Load that
	// follows, with the lock held: refuse it before taking the lock.
	if err := CheckPath(s.Path); err != nil {
		return nil, err
	}
	held, err := Lock(ctx, s.Path, command, timeout)
	if err != nil {
		return nil, err
	}
	return held.Unlock, nil
}

// LockWatch marks the store as watched by one `patwatch watch` for as long
// as it runs: a second watch waits up to timeout (zero: tries once), and
// is then refused with a *LockedError naming the first. Runs still take
// Lock each time, so an apply between two watch runs is safe.
func (s *Store) LockWatch(ctx context.Context, timeout time.Duration) (unlock func() error, err error) {
	held, err := Lock(ctx, AuxPath(s.Path, "watch"), "watch", timeout)
	if err != nil {
		var le *LockedError
		if errors.As(err, &le) {
			le.Path, le.Watch = s.Path, true
		}
		return nil, err
	}
	return held.Unlock, nil
}

// RecordRun is a no-op: a state file keeps no history of runs (git does).
func (s *Store) RecordRun(context.Context, state.RunRecord) error { return nil }

// Load reads the state as the package's Load does; a missing file is an
// empty state.
func (s *Store) Load(context.Context) (*state.State, error) {
	st, seen, err := load(s.Path)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.seen = seen
	s.mu.Unlock()
	return st, nil
}

// Save writes st to the file if its content differs from what the file
// holds, and reports whether it wrote. Content is everything but the
// serial and the patwatch version: a save that changes nothing writes
// nothing, so a scheduled run that found nothing leaves no diff in git.
//
// A write gives the file the serial on disk plus one (st.Serial is
// updated), keeps the previous file as BackupPath(path), and is atomic (see
// internal/atomicfile): the new content goes to a temporary file in the
// same directory, is synced, and is renamed over the file; the backup is a
// hard link made before that rename. At every instant, the file is a
// complete old or new version, and after a crash Load returns the last or
// the previous save. A new file has mode 0600, less the umask; a replaced
// one keeps its mode.
//
// Save refuses to write what Load would refuse, over a file that Load
// would reject, or over one of another lineage (a *LineageError); and,
// with a *ReplacedError, over a file that is not the one the last Load saw
// (or the last Save wrote). A store that has loaded nothing checks only
// the file's content.
func (s *Store) Save(_ context.Context, st *state.State) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	written, err := save(s.Path, st, s.seen)
	if err != nil {
		return false, err
	}
	if s.seen != nil {
		if written {
			fi, err := os.Stat(s.Path)
			if err != nil {
				return written, fmt.Errorf("save state: %w", err)
			}
			s.seen = &loaded{info: fi}
		}
		s.seen.lineage, s.seen.serial = st.Lineage, st.Serial
	}
	return written, nil
}

// ReadAux reads the side file name; a missing one is an error matching
// fs.ErrNotExist.
func (s *Store) ReadAux(_ context.Context, name string) ([]byte, error) {
	return os.ReadFile(s.auxPath(name))
}

// WriteAux replaces the side file name atomically.
func (s *Store) WriteAux(_ context.Context, name string, data []byte) error {
	return atomicfile.WriteFile(s.auxPath(name), data, 0o600)
}

// AuxPath is where the side file name of the state file at path lives.
func AuxPath(path, name string) string { return path + "." + name }

func (s *Store) auxPath(name string) string { return AuxPath(s.Path, name) }

// Reserved reports whether p is the state file or a file patwatch keeps
// beside it (backup, lock, side files named in aux), which an output file
// must never replace.
func (s *Store) Reserved(p string, aux ...string) bool {
	abs, err := filepath.Abs(p)
	if err != nil {
		return false
	}
	names := []string{s.Path, BackupPath(s.Path), LockPath(s.Path), LockPath(AuxPath(s.Path, "watch"))}
	for _, a := range aux {
		names = append(names, s.auxPath(a))
	}
	for _, n := range names {
		if abs == n || sameFile(abs, n) {
			return true
		}
	}
	return false
}

func sameFile(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}
