package state

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
)

// CorruptError reports a state file that exists but does not hold a valid
// state: empty, truncated, not JSON, or JSON that is not a state. Nothing
// writes over such a file.
type CorruptError struct {
	Path   string
	Backup string // the backup file, if one exists
	Err    error  // what is wrong, with its line and column
	Saving bool   // the error stopped a save
}

func (e *CorruptError) Error() string {
	var what string
	var se *syntaxError
	switch {
	case errors.As(e.Err, &se) && se.eof && se.line == 1 && se.col == 1:
		what = "is empty"
	case errors.As(e.Err, &se) && se.eof:
		what = fmt.Sprintf("is truncated: it ends at line %d, column %d, inside the JSON", se.line, se.col)
	case errors.As(e.Err, &se):
		what = fmt.Sprintf("is not valid JSON: %v", e.Err)
	default:
		what = fmt.Sprintf("is not a valid patwatch state: %v", e.Err)
	}
	msg := "state file " + e.Path + " " + what
	if e.Saving {
		msg += "; not writing over it"
	}
	return msg
}

func (e *CorruptError) Unwrap() error { return e.Err }

// Hint says how to recover, and what that costs.
func (e *CorruptError) Hint() string {
	if e.Backup != "" {
		return fmt.Sprintf("restore the previous save with 'cp %s %s'; that loses only what the last save recorded: hits it first saw are reported new again and report jobs it submitted are submitted again",
			shellQuote(e.Backup), shellQuote(e.Path))
	}
	return fmt.Sprintf("there is no backup; move %s aside and run 'patwatch apply' to start over: every search takes a new baseline (nothing is reported new) and every report is submitted again",
		shellQuote(e.Path))
}

// VersionError reports a state file in a format newer than this build reads.
type VersionError struct {
	Path            string
	FormatVersion   int    // the file's format
	PatwatchVersion string // the patwatch that wrote it, if it says
}

func (e *VersionError) Error() string {
	by := "a newer patwatch"
	if e.PatwatchVersion != "" {
		by = "patwatch " + e.PatwatchVersion
	}
	return fmt.Sprintf("state file %s was written by %s in format %d; this patwatch reads format ≤ %d; upgrade patwatch",
		e.Path, by, e.FormatVersion, FormatVersion)
}

// Hint says what to do.
func (e *VersionError) Hint() string {
	if e.PatwatchVersion != "" {
		return "install patwatch " + e.PatwatchVersion + " or later to use this state file"
	}
	return "install the latest patwatch to use this state file"
}

// LineageError reports a save over a state file that belongs to another
// lineage: another state was created at the same path since this one was
// loaded.
type LineageError struct {
	Path        string
	FileLineage string
	Lineage     string
}

func (e *LineageError) Error() string {
	return fmt.Sprintf("state file %s has lineage %s, not %s: it is another state; not writing over it", e.Path, e.FileLineage, e.Lineage)
}

// Load reads the state file at path. A missing file is an empty state with
// a new lineage. A file that is empty, truncated or not a valid state is a
// *CorruptError, and one in a newer format a *VersionError: never an empty
// state, which would report every hit as new.
func Load(path string) (*State, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return New(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state file: %w", err)
	}
	defer f.Close()
	st, _, err := decodeState(f, true)
	if err != nil {
		return nil, loadError(f, path, err, false)
	}
	return st, nil
}

// loadError turns a decoding error of the file f at path into the error
// Load or Save returns.
func loadError(f *os.File, path string, err error, saving bool) error {
	var ve *VersionError
	if errors.As(err, &ve) {
		ve.Path = path
		return ve
	}
	var se *syntaxError
	var ce *contentError
	if !errors.As(err, &se) && !errors.As(err, &ce) {
		return fmt.Errorf("read state file %s: %w", path, err)
	}
	// The file may be in a newer format whose fields come before its
	// format_version: look for that before calling it corrupt.
	if _, serr := f.Seek(0, io.SeekStart); serr == nil {
		if h, herr := skimHeader(f); herr == nil && h.sawVersion && h.formatVersion > FormatVersion {
			return &VersionError{Path: path, FormatVersion: h.formatVersion, PatwatchVersion: h.patwatchVersion}
		}
	}
	backup := BackupPath(path)
	if fi, err := os.Stat(backup); err != nil || !fi.Mode().IsRegular() {
		backup = ""
	}
	return &CorruptError{Path: path, Backup: backup, Err: err, Saving: saving}
}

// BackupPath is where Save keeps the previous version of the state file at
// path.
func BackupPath(path string) string { return path + ".backup" }

// Save writes st to path if its content differs from what the file holds,
// and reports whether it wrote. Content is everything but the serial and
// the patwatch version: a save that changes nothing writes nothing, so a
// scheduled run that found nothing leaves no diff in git.
//
// A write gives the file the serial on disk plus one (st.Serial is
// updated), keeps the previous file as BackupPath(path), and is atomic: the
// new content goes to a temporary file in the same directory, is synced,
// and is renamed over the file; the backup is a hard link made before that
// rename. At every instant, the file is a complete old or new version, and
// after a crash Load returns the last or the previous save.
//
// Save refuses to write over a file that Load would reject, or one of
// another lineage.
func Save(path string, st *State) (written bool, err error) {
	if err := validate(st); err != nil {
		return false, fmt.Errorf("save state %s: %w", path, err)
	}
	target := path
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		// Replace the file the link points to, not the link.
		if target, err = filepath.EvalSymlinks(path); err != nil {
			return false, fmt.Errorf("save state: %w", err)
		}
	}
	old, err := os.Open(target)
	if errors.Is(err, fs.ErrNotExist) {
		return true, saveNew(target, st)
	}
	if err != nil {
		return false, fmt.Errorf("save state: %w", err)
	}
	defer old.Close()

	oldInfo, err := old.Stat()
	if err != nil {
		return false, fmt.Errorf("save state: %w", err)
	}
	size := oldInfo.Size()

	// Save refuses to write over a file Load would reject, so the old file
	// is checked in full. When its header is in place, that check runs
	// alongside the comparison and write, and is stopped if the file turns
	// out to equal the new content: then it is valid by construction.
	h, ok := quickHeader(io.NewSectionReader(old, 0, size))
	var checked chan error
	stop := new(atomic.Bool)
	if ok {
		checked = make(chan error, 1)
		go func() {
			_, err := checkFile(old, size, stop)
			checked <- err
		}()
	} else {
		if h, err = checkFile(old, size, nil); err != nil {
			return false, loadError(old, path, err, true)
		}
	}
	// wait returns the check's error; it must be called before returning.
	wait := func() error {
		if checked == nil {
			return nil
		}
		err := <-checked
		checked = nil
		if err != nil {
			return loadError(old, path, err, true)
		}
		return nil
	}
	defer func() {
		stop.Store(true)
		wait()
	}()

	if h.lineage != st.Lineage {
		if err := wait(); err != nil {
			return false, err
		}
		return false, &LineageError{Path: path, FileLineage: h.lineage, Lineage: st.Lineage}
	}
	serial := max(h.serial, st.Serial) + 1
	var hdr bytes.Buffer
	(&encoder{w: &hdr}).header(st, serial, st.PatwatchVersion)

	dw := &diffWriter{old: old, oldR: bufio.NewReaderSize(io.NewSectionReader(old, 0, size), 256<<10), newHeader: hdr.Bytes(), target: target}
	defer dw.cleanup()
	err = encode(dw, st, h.serial, h.patwatchVersion)
	if err == nil {
		err = dw.finish()
	}
	if err != nil {
		if cerr := wait(); cerr != nil {
			return false, cerr
		}
		return false, fmt.Errorf("save state %s: %w", path, err)
	}
	if dw.tmp == nil {
		stop.Store(true)
	}
	if err := wait(); err != nil && dw.tmp != nil {
		return false, err
	}
	if dw.tmp == nil {
		st.Serial = h.serial
		st.FormatVersion = FormatVersion
		return false, nil
	}
	if err := dw.commit(); err != nil {
		return false, fmt.Errorf("save state %s: %w", path, err)
	}
	st.Serial = serial
	st.FormatVersion = FormatVersion
	return true, nil
}

// checkFile validates the state file f of the given size and returns its
// header, without keeping its hits in memory when it can.
func checkFile(f io.ReaderAt, size int64, stop *atomic.Bool) (header, error) {
	_, h, err := decodeStateStop(io.NewSectionReader(f, 0, size), false, stop)
	if errors.Is(err, errUnsorted) {
		_, h, err = decodeStateStop(io.NewSectionReader(f, 0, size), true, stop)
	}
	return h, err
}

// saveNew writes st to target, where no file exists yet.
func saveNew(target string, st *State) error {
	serial := st.Serial + 1
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	tmp, err := createTemp(target)
	if err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	defer removeIfExists(tmp.Name())
	err = encode(tmp, st, serial, st.PatwatchVersion)
	if err == nil {
		err = syncClose(tmp)
	} else {
		tmp.Close()
	}
	if err != nil {
		return fmt.Errorf("save state %s: %w", target, err)
	}
	// A link, unlike a rename, fails if a file appeared at target meanwhile.
	if err := os.Link(tmp.Name(), target); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("save state %s: the file appeared while saving; not writing over it", target)
		}
		if err := os.Rename(tmp.Name(), target); err != nil {
			return fmt.Errorf("save state: %w", err)
		}
	}
	if err := syncDir(filepath.Dir(target)); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	st.Serial = serial
	st.FormatVersion = FormatVersion
	return nil
}

// diffWriter compares the encoding of a state against the current file as
// it is written. While they agree it writes nothing; at the first
// difference it creates the temporary file and writes the new header, the
// part of the old body that agreed, and from then on everything it gets.
// The first Write is the header (see encoder.header).
type diffWriter struct {
	old       *os.File
	oldR      *bufio.Reader
	newHeader []byte
	target    string

	oldHeaderLen int64
	matched      int64 // bytes of the old file that agree so far
	writes       int
	tmp          *os.File
	tmpW         *bufio.Writer
	cmp          []byte
}

func (w *diffWriter) Write(p []byte) (int, error) {
	w.writes++
	if w.writes == 1 {
		w.oldHeaderLen = int64(len(p))
	}
	if w.tmp == nil {
		if cap(w.cmp) < len(p) {
			w.cmp = make([]byte, len(p))
		}
		n, _ := io.ReadFull(w.oldR, w.cmp[:len(p)])
		if n == len(p) && bytes.Equal(w.cmp[:n], p) {
			w.matched += int64(n)
			return len(p), nil
		}
		if err := w.diverge(); err != nil {
			return 0, err
		}
		if w.writes == 1 {
			return len(p), nil // the old header, replaced by the new one
		}
	}
	return w.tmpW.Write(p)
}

// diverge starts the temporary file with the new header and the old body
// bytes that agreed.
func (w *diffWriter) diverge() error {
	tmp, err := createTemp(w.target)
	if err != nil {
		return err
	}
	w.tmp = tmp
	w.tmpW = bufio.NewWriterSize(tmp, 256<<10)
	if _, err := w.tmpW.Write(w.newHeader); err != nil {
		return err
	}
	if w.matched > w.oldHeaderLen {
		// The headers agreed, so the old file's body starts where the
		// new one does.
		sr := io.NewSectionReader(w.old, w.oldHeaderLen, w.matched-w.oldHeaderLen)
		if _, err := io.Copy(w.tmpW, sr); err != nil {
			return err
		}
	}
	return nil
}

// finish notices an old file longer than the new content, and flushes and
// syncs the temporary file if there is one.
func (w *diffWriter) finish() error {
	if w.tmp == nil {
		if _, err := w.oldR.ReadByte(); err == io.EOF {
			return nil
		}
		if err := w.diverge(); err != nil {
			return err
		}
	}
	if err := w.tmpW.Flush(); err != nil {
		return err
	}
	return w.tmp.Sync()
}

// commit keeps the current file as the backup and renames the temporary
// file over it. The backup is replaced through a hard link to the current
// file, renamed over the old backup: the file itself never goes missing,
// and the backup is always a complete version too.
func (w *diffWriter) commit() error {
	if err := w.tmp.Close(); err != nil {
		return err
	}
	oldInfo, err := w.old.Stat()
	if err != nil {
		return err
	}
	dir := filepath.Dir(w.target)
	backup := BackupPath(w.target)
	if err := linkOrCopy(w.target, w.old, oldInfo, backup); err != nil {
		return fmt.Errorf("keep backup: %w", err)
	}
	if fi, err := os.Stat(w.target); err != nil || !os.SameFile(fi, oldInfo) {
		return errors.New("the file changed while saving; is another patwatch using it without the lock?")
	}
	if err := os.Rename(w.tmp.Name(), w.target); err != nil {
		return err
	}
	w.tmp = nil
	return syncDir(dir)
}

func (w *diffWriter) cleanup() {
	if w.tmp != nil {
		w.tmp.Close()
		removeIfExists(w.tmp.Name())
	}
}

// linkOrCopy makes backup a complete copy of the file at target, which old
// has open, atomically: through a hard link renamed into place, or where
// the file system has no hard links, a synced copy renamed into place.
func linkOrCopy(target string, old *os.File, oldInfo fs.FileInfo, backup string) error {
	tmpName := backup + ".tmp-" + newLineage()[:8]
	if err := os.Link(target, tmpName); err == nil {
		fi, err := os.Stat(tmpName)
		if err != nil || !os.SameFile(fi, oldInfo) {
			removeIfExists(tmpName)
			return errors.New("the file changed while saving; is another patwatch using it without the lock?")
		}
	} else {
		tmp, err := createTemp(backup)
		if err != nil {
			return err
		}
		tmpName = tmp.Name()
		_, err = io.Copy(tmp, io.NewSectionReader(old, 0, oldInfo.Size()))
		if err == nil {
			err = syncClose(tmp)
		} else {
			tmp.Close()
		}
		if err != nil {
			removeIfExists(tmpName)
			return err
		}
	}
	if err := os.Rename(tmpName, backup); err != nil {
		removeIfExists(tmpName)
		return err
	}
	// Make the backup durable before the file it copies is replaced.
	return syncDir(filepath.Dir(backup))
}

// createTemp creates a temporary file, mode 0600, next to path.
func createTemp(path string) (*os.File, error) {
	return os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp-*")
}

func syncClose(f *os.File) error {
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// syncDir makes renames and links in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// removeIfExists removes a temporary file on a path that failed. An error
// is ignored: a leftover temporary file is harmless.
func removeIfExists(name string) {
	_ = os.Remove(name)
}

// shellQuote quotes s for a POSIX shell if it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./+:@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
