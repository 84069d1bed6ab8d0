package filestore

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"

	"github.com/patwatch/patwatch/internal/filekind"
	"github.com/patwatch/patwatch/state"
	"github.com/patwatch/patwatch/state/statefile"
)

// loaded is what a Load saw of the state file, for a save to check that the
// file is still the one it read.
type loaded struct {
	info    fs.FileInfo // nil: there was no file
	lineage string
	serial  uint64
}

func (l *loaded) String() string {
	if l.info == nil {
		return "no file"
	}
	return fmt.Sprintf("serial %d of lineage %s", l.serial, l.lineage)
}

// sameFile reports whether fi is the file l saw, unchanged: the same file
// (device and inode), size and modification time.
func (l *loaded) sameFile(fi fs.FileInfo) bool {
	return l.info != nil && os.SameFile(l.info, fi) && l.info.Size() == fi.Size() && l.info.ModTime().Equal(fi.ModTime())
}

// Load reads the state file at path. A missing file is an empty state with
// a new lineage. A file that is empty, truncated or not a valid state is a
// *CorruptError, and one in a newer format a *statefile.VersionError: never
// an empty state, which would report every hit as new. A path that is not
// a regular file (a named pipe, a device) is refused at once, never read.
func Load(path string) (*state.State, error) {
	st, _, err := load(path)
	return st, err
}

// load is Load, and what it saw of the file.
func load(path string) (*state.State, *loaded, error) {
	f, fi, err := openRegular(path)
	if errors.Is(err, fs.ErrNotExist) {
		return state.New(), &loaded{}, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read state file: %w", err)
	}
	defer f.Close()
	st, err := statefile.Read(io.NewSectionReader(f, 0, fi.Size()))
	if err != nil {
		return nil, nil, loadError(path, err, false)
	}
	return st, &loaded{info: fi, lineage: st.Lineage, serial: st.Serial}, nil
}

// openRegular opens the regular file at path for reading. It opens without
// blocking, so that a named pipe put in the file's place is refused instead
// of waiting for a writer forever (with the state's lock held).
func openRegular(path string) (*os.File, fs.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, notRegular(path, fi)
	}
	return f, fi, nil
}

// notRegular is the error for a path that is there but is no regular file.
func notRegular(path string, fi fs.FileInfo) error {
	what := filekind.Of(fi)
	if what == "" {
		what = "not a regular file"
	}
	return &fs.PathError{Op: "open", Path: path, Err: fmt.Errorf("is %s, not a state file", what)}
}

// CheckPath refuses at once a state path that exists but is not a regular
// file (after following symlinks): reading a named pipe or a device would
// block or never end.
func CheckPath(path string) error {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("state file: %w", err)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("state file: %w", notRegular(path, fi))
	}
	return nil
}

// BackupPath is where Save keeps the previous version of the state file at
// path.
func BackupPath(path string) string { return path + ".backup" }
