package state

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/patwatch/patwatch/internal/atomicfile"
)

// FileStore is a state kept in a file, with what patwatch keeps beside it:
// the backup, the lock and named side files (<path>.<name>). It is the
// default store; a database store offers the same methods.
//
// A FileStore remembers what its last Load saw of the file (lineage,
// serial, and the file's identity: device and inode, size, modification
// time), and its Save refuses with a *ReplacedError to write over a file
// that is no longer that one.
type FileStore struct {
	Path string // absolute path of the state file

	mu   sync.Mutex
	seen *loaded // by the last Load or Save; nil before one
}

// NewFileStore returns the store of the state file at path.
func NewFileStore(path string) (*FileStore, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	return &FileStore{Path: abs}, nil
}

// String names the store in messages: the state file's path.
func (s *FileStore) String() string { return s.Path }

// Dir is the directory of the state file, against which recorded report
// files are relative.
func (s *FileStore) Dir() string { return filepath.Dir(s.Path) }

// Lock takes the state file's lock for command, waiting up to timeout; it
// returns the function that releases it.
func (s *FileStore) Lock(ctx context.Context, command string, timeout time.Duration) (unlock func() error, err error) {
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
// as it runs: a second watch is refused at once with a *LockedError naming
// the first. Runs still take Lock each time, so an apply between two watch
// runs is safe.
func (s *FileStore) LockWatch(ctx context.Context) (unlock func() error, err error) {
	held, err := Lock(ctx, AuxPath(s.Path, "watch"), "watch", 0)
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
func (s *FileStore) RecordRun(context.Context, RunRecord) error { return nil }

// Load reads the state; a missing file is an empty state.
func (s *FileStore) Load(context.Context) (*State, error) {
	st, seen, err := load(s.Path)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.seen = seen
	s.mu.Unlock()
	return st, nil
}

// Save writes st if its content changed, and reports whether it wrote. It
// refuses, with a *ReplacedError, when the file is not the one the last
// Load saw (or the last Save wrote).
func (s *FileStore) Save(_ context.Context, st *State) (bool, error) {
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
func (s *FileStore) ReadAux(_ context.Context, name string) ([]byte, error) {
	return os.ReadFile(s.auxPath(name))
}

// WriteAux replaces the side file name atomically.
func (s *FileStore) WriteAux(_ context.Context, name string, data []byte) error {
	return atomicfile.WriteFile(s.auxPath(name), data, 0o600)
}

// AuxPath is where the side file name of the state file at path lives.
func AuxPath(path, name string) string { return path + "." + name }

func (s *FileStore) auxPath(name string) string { return AuxPath(s.Path, name) }

// Reserved reports whether p is the state file or a file patwatch keeps
// beside it (backup, lock, side files named in aux), which an output file
// must never replace.
func (s *FileStore) Reserved(p string, aux ...string) bool {
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
