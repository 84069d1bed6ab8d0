// Package atomicfile replaces files so that a reader, or the next run after a
// crash, sees either the complete old content or the complete new content,
// never a mix: the new content goes to a temporary file in the same
// directory, is synced, and is renamed over the target, and the directory is
// synced so that the rename survives a power cut. The state file, downloaded
// reports, --out files and every other file patwatch keeps are written
// through it.
package atomicfile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// tempInfix separates a target's name from a temporary file's random suffix:
// the temporary file of "dir/x.json" is "dir/.x.json.tmp-<hex>".
const tempInfix = ".tmp-"

// File is the temporary file of one replacement. Write to it, then Commit
// to put it in place, or Abort to drop it. Abort after Commit does nothing,
// so `defer f.Abort()` is always safe.
type File struct {
	f      *os.File
	target string // the file that Commit replaces (a symlink's target, not the link)
	done   bool
}

// Create starts the replacement of path. A new file gets perm, less the
// process's umask; a file that exists keeps its mode, and its owner when the
// process may set it (running as root over another user's file does not take
// the file over). When path is a symlink, the file it points to is replaced
// and the link stays.
func Create(path string, perm fs.FileMode) (*File, error) {
	target, err := resolve(path)
	if err != nil {
		return nil, err
	}
	dir, base := filepath.Split(target)
	if dir == "" {
		dir = "."
	}
	for range 10 {
		name := filepath.Join(dir, "."+base+tempInfix+randomHex())
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, perm)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("create temporary file for %s: %w", path, unwrapPath(err))
		}
		return &File{f: f, target: target}, nil
	}
	return nil, fmt.Errorf("create temporary file for %s: too many name collisions", path)
}

// resolve follows a symlink at path to the file it names; anything else is
// path itself.
func resolve(path string) (string, error) {
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		return path, nil
	}
	target, err := filepath.EvalSymlinks(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			// A dangling link: write where it points.
			if dest, rerr := os.Readlink(path); rerr == nil {
				if !filepath.IsAbs(dest) {
					dest = filepath.Join(filepath.Dir(path), dest)
				}
				return dest, nil
			}
		}
		return "", fmt.Errorf("resolve %s: %w", path, unwrapPath(err))
	}
	return target, nil
}

// Name is the temporary file's path.
func (f *File) Name() string { return f.f.Name() }

// Target is the file Commit replaces.
func (f *File) Target() string { return f.target }

// Write writes to the temporary file.
func (f *File) Write(p []byte) (int, error) { return f.f.Write(p) }

// ReadFrom copies r into the temporary file.
func (f *File) ReadFrom(r io.Reader) (int64, error) { return io.Copy(f.f, r) }

// Commit syncs the temporary file, gives it the target's mode and owner if
// the target exists, renames it over the target and syncs the directory.
// On failure the target is untouched and the temporary file is removed.
func (f *File) Commit() error {
	if f.done {
		return errors.New("atomicfile: commit after commit or abort")
	}
	err := f.commit()
	if err != nil {
		f.Abort()
		return fmt.Errorf("write %s: %w", f.target, err)
	}
	f.done = true
	return nil
}

func (f *File) commit() error {
	if fi, err := os.Stat(f.target); err == nil && fi.Mode().IsRegular() {
		if err := f.f.Chmod(fi.Mode().Perm()); err != nil {
			return unwrapPath(err)
		}
		keepOwner(f.f, fi)
	}
	if err := f.f.Sync(); err != nil {
		return unwrapPath(err)
	}
	if err := f.f.Close(); err != nil {
		return unwrapPath(err)
	}
	if err := os.Rename(f.f.Name(), f.target); err != nil {
		return unwrapPath(err)
	}
	return SyncDir(filepath.Dir(f.target))
}

// keepOwner gives f the owner of the file it replaces, where the process
// may: as root always, otherwise only the group of a file it owns. Failing
// is not an error: the file is still written, owned by whoever wrote it.
func keepOwner(f *os.File, old fs.FileInfo) {
	st, ok := old.Sys().(*syscall.Stat_t)
	if !ok {
		return
	}
	uid, gid := int(st.Uid), int(st.Gid)
	if os.Geteuid() == uid && os.Getegid() == gid {
		return
	}
	_ = f.Chown(uid, gid)
}

// Abort closes and removes the temporary file, unless Commit succeeded.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.f.Close()
	os.Remove(f.f.Name())
}

// WriteFile replaces path with data, as Create and Commit do.
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	f, err := Create(path, perm)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, unwrapPath(err))
	}
	return f.Commit()
}

// SyncDir makes renames and links in dir durable. File systems that cannot
// sync a directory (EINVAL) are taken at their word that nothing is needed.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("sync directory %s: %w", dir, unwrapPath(err))
	}
	return nil
}

// CleanTemps removes the temporary files that replacements of the files in
// dir left behind when their process was killed, and returns how many it
// removed. Only call it while holding whatever lock serialises the writers
// of dir (the state lock): a live writer's temporary file looks the same.
// With base set, only the temporary files of dir/base are removed.
func CleanTemps(dir, base string) (int, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		if !IsTemp(e.Name()) || !e.Type().IsRegular() {
			continue
		}
		if base != "" && !strings.HasPrefix(e.Name(), "."+base+tempInfix) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err == nil {
			n++
		}
	}
	return n, nil
}

// IsTemp reports whether name is the base name of a temporary file made by
// Create.
func IsTemp(name string) bool {
	if !strings.HasPrefix(name, ".") {
		return false
	}
	i := strings.LastIndex(name, tempInfix)
	if i <= 1 {
		return false
	}
	suffix := name[i+len(tempInfix):]
	if len(suffix) != 16 {
		return false
	}
	_, err := hex.DecodeString(suffix)
	return err == nil
}

func randomHex() string {
	var b [8]byte
	rand.Read(b[:]) // never fails, per its documentation
	return hex.EncodeToString(b[:])
}

// unwrapPath drops the temporary file's name from an *fs.PathError: errors
// name the target, which is what the user knows.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
