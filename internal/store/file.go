package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/patwatch/patwatch/internal/drawings"
	"github.com/patwatch/patwatch/internal/hint"
	"github.com/patwatch/patwatch/state"
	"github.com/patwatch/patwatch/state/filestore"
)

// watchAux is the side file name of the file store's watch lock
// (filestore.Store.LockWatch).
const watchAux = "watch"

// fileStore is a state file: package state's file store, with what the
// seam asks beyond it.
type fileStore struct {
	*filestore.Store
}

func openFile(path string) (*fileStore, error) {
	f, err := filestore.New(path)
	if err != nil {
		return nil, err
	}
	return &fileStore{Store: f}, nil
}

func (s *fileStore) Kind() string { return "state file" }

// CheckLock is nil: the lock file's lock lasts as long as the process that
// holds it.
func (s *fileStore) CheckLock(context.Context) error { return nil }

func (s *fileStore) Missing() error {
	return hint.Wrap(notExist{fmt.Errorf("%s does not exist", s.Path)}, "'patwatch apply' creates it; name another with --state")
}

func (s *fileStore) Exists(context.Context) (bool, error) {
	_, err := os.Stat(s.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// LoadSerial finds serial n in the state file or its backup: a state file
// keeps only its current serial and the one before (git keeps the rest).
func (s *fileStore) LoadSerial(ctx context.Context, n uint64) (*state.State, error) {
	ok, err := s.Exists(ctx)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, s.Missing()
	}
	cur, err := filestore.Load(s.Path)
	if err != nil {
		return nil, err
	}
	if cur.Serial == n {
		return cur, nil
	}
	backup := filestore.BackupPath(s.Path)
	if _, err := os.Stat(backup); err == nil {
		if b, err := filestore.Load(backup); err == nil && b.Serial == n {
			return b, nil
		}
	}
	return nil, hint.Wrap(fmt.Errorf("state file %s is at serial %d, and its backup does not hold serial %d", s.Path, cur.Serial, n),
		"a state file keeps only its current serial and the previous one; git keeps the rest, and a database state keeps every serial")
}

// Replace writes st as the state file, at serial, keeping the file it
// replaces as the backup.
func (s *fileStore) Replace(_ context.Context, st *state.State, serial uint64) error {
	st.Serial = serial
	return filestore.Replace(s.Path, st)
}

// FilesDir is the state file's directory, whatever reportsDir is.
func (s *fileStore) FilesDir(string) string { return s.Dir() }

// DrawingsDir is beside the state file, named after it (see
// drawings.ForStateFile).
func (s *fileStore) DrawingsDir() string { return drawings.ForStateFile(s.Path).Dir() }

func (s *fileStore) Reserved(path string, aux ...string) bool {
	return s.Store.Reserved(path, append([]string{watchAux}, aux...)...)
}

func (s *fileStore) Close() error { return nil }
