package state

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/patwatch/patwatch/internal/atomicfile"
	"github.com/patwatch/patwatch/internal/filekind"
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

// ReplacedError reports a save refused because the state file is not the
// one the run loaded: it was replaced, removed or created meanwhile, as a
// git pull or checkout during the run does. Writing would lose what the
// other version holds.
type ReplacedError struct {
	Path   string
	What   string // replaced, removed or created
	Loaded string // what the run loaded: "serial 5 of lineage …", or "no file"
	Found  string // what is there now, in the same words
}

func (e *ReplacedError) Error() string {
	return fmt.Sprintf("state file %s was %s while this run held its lock (the run loaded %s; the file now holds %s): not writing over it",
		e.Path, e.What, e.Loaded, e.Found)
}

// Hint says what to do.
func (e *ReplacedError) Hint() string {
	return "this run's changes were not saved (its change report shows what they were); " +
		"run 'patwatch apply' again to reconcile the state now in place, and let no git pull or checkout touch the state while patwatch runs"
}

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
// *CorruptError, and one in a newer format a *VersionError: never an empty
// state, which would report every hit as new. A path that is not a regular
// file (a named pipe, a device) is refused at once, never read.
func Load(path string) (*State, error) {
	st, _, err := load(path)
	return st, err
}

// load is Load, and what it saw of the file.
func load(path string) (*State, *loaded, error) {
	f, fi, err := openRegular(path)
	if errors.Is(err, fs.ErrNotExist) {
		return New(), &loaded{}, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read state file: %w", err)
	}
	defer f.Close()
	st, _, err := decodeState(fileInput(f, fi.Size()), true)
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

// fileInput reads the first size bytes of f.
func fileInput(f io.ReaderAt, size int64) *input {
	return &input{open: func() io.Reader { return bufio.NewReaderSize(io.NewSectionReader(f, 0, size), 256<<10) }}
}

// loadError turns a decoding error of the state file at path into the
// error Load or Save returns.
func loadError(path string, err error, saving bool) error {
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
// updated), keeps the previous file as BackupPath(path), and is atomic (see
// internal/atomicfile): the new content goes to a temporary file in the
// same directory, is synced, and is renamed over the file; the backup is a
// hard link made before that rename. At every instant, the file is a
// complete old or new version, and after a crash Load returns the last or
// the previous save. A new file has mode 0600, less the umask; a replaced
// one keeps its mode.
//
// Save refuses to write what Load would refuse, over a file that Load
// would reject, or over one of another lineage.
func Save(path string, st *State) (written bool, err error) {
	return save(path, st, nil)
}

// save is Save; with seen set, it also refuses (with a *ReplacedError) a
// file that is not the one seen by the Load the state came from.
func save(path string, st *State, seen *loaded) (written bool, err error) {
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
	old, oldInfo, err := openRegular(target)
	if errors.Is(err, fs.ErrNotExist) {
		if seen != nil && seen.info != nil {
			return false, &ReplacedError{Path: path, What: "removed", Loaded: seen.String(), Found: "no file"}
		}
		return true, saveNew(target, st)
	}
	if err != nil {
		return false, fmt.Errorf("save state: %w", err)
	}
	defer old.Close()

	// Save refuses to write over a file Load would reject, so the old file
	// is checked in full before it is replaced. When its header is in
	// place, the new content is compared with it first: a file equal to
	// the new content is valid by construction, and needs no check. At the
	// first difference, the check starts beside the rest of the writing,
	// and the encoder leaves it the other core.
	var enc encoding
	check := &oldCheck{f: old, size: oldInfo.Size(), path: path, enc: &enc}
	defer check.cancel()
	h, err := sniff(fileInput(old, oldInfo.Size()), true)
	if seen != nil && !seen.sameFile(oldInfo) {
		found := "content patwatch cannot read"
		if err == nil && h.sawVersion && h.lineage != "" {
			found = (&loaded{info: oldInfo, lineage: h.lineage, serial: h.serial}).String()
		}
		what := "replaced"
		if seen.info == nil {
			what = "created"
		}
		return false, &ReplacedError{Path: path, What: what, Loaded: seen.String(), Found: found}
	}
	if _, readable := formats[h.formatVersion]; err != nil || !h.sawVersion || !readable || h.lineage == "" {
		if h, err = check.now(); err != nil {
			return false, err
		}
	}
	if h.lineage != st.Lineage {
		if _, err := check.now(); err != nil {
			return false, err
		}
		return false, &LineageError{Path: path, FileLineage: h.lineage, Lineage: st.Lineage}
	}

	serial := max(h.serial, st.Serial) + 1
	dw := &diffWriter{
		old:       old,
		oldR:      bufio.NewReaderSize(io.NewSectionReader(old, 0, oldInfo.Size()), 256<<10),
		target:    target,
		onDiverge: check.start,
	}
	defer dw.abort()
	err = dw.setHeaders(st, h, serial)
	if err == nil {
		err = encode(dw, st, h.serial, h.patwatchVersion, &enc)
	}
	if err == nil {
		err = dw.finish()
	}
	if cerr := check.wait(); cerr != nil {
		return false, cerr
	}
	if err == nil && dw.tmp == nil {
		st.Serial = h.serial
		st.FormatVersion = FormatOf(st)
		return false, nil
	}
	if err == nil {
		err = dw.commit()
	}
	if err != nil {
		return false, fmt.Errorf("save state %s: %w", path, err)
	}
	st.Serial = serial
	st.FormatVersion = FormatOf(st)
	return true, nil
}

// oldCheck checks the state file that a save would replace, as Load
// reads it but keeping nothing, either at once or in the background.
type oldCheck struct {
	f    io.ReaderAt
	size int64
	path string
	enc  *encoding // of the content the file is compared with
	stop atomic.Bool

	started bool
	done    chan error // of a check in the background
	h       header
	err     error
}

// now checks the file at once, unless that has happened, and returns its
// header.
func (c *oldCheck) now() (header, error) {
	if !c.started {
		c.started = true
		var err error
		if _, c.h, err = decodeState(c.input(), false); err != nil {
			c.err = loadError(c.path, err, true)
		}
	}
	return c.h, c.wait()
}

// input reads the whole file.
func (c *oldCheck) input() *input {
	in := fileInput(c.f, c.size)
	in.stop = &c.stop
	return in
}

// start begins the check in the background, unless it has begun, knowing
// that the file's first n bytes are those of the encoding.
func (c *oldCheck) start(n int64) {
	if c.started {
		return
	}
	c.started = true
	c.enc.alone.Store(true)
	c.done = make(chan error, 1)
	in := c.partial(n)
	go func() {
		_, _, err := decodeState(in, false)
		if err != nil && in.before != nil && !errors.Is(err, errStopped) {
			_, _, err = decodeState(c.input(), false) // for the error's place in the file
		}
		c.done <- err
	}()
}

// partial returns the input that decides whether the file is valid when
// its first n bytes are known to be those of the encoding: the file less
// the searches before the one it differs in. Those are valid (Save wrote
// them, byte for byte), and what follows them is valid in the file if it
// is valid after the header alone, and repeats none of their names. On a
// change late in a large file, that halves the check. With nothing to
// leave out, it is the whole file.
func (c *oldCheck) partial(n int64) *input {
	s := c.enc.searches
	k := 0 // the first search not wholly in the first n bytes
	for k < len(s) && s[k].at < n {
		k++
	}
	k-- // the one the first difference is in: its start agrees
	if k < 1 {
		return c.input()
	}
	first, from := s[0].at, s[k].at
	in := &input{
		open: func() io.Reader {
			return bufio.NewReaderSize(io.MultiReader(io.NewSectionReader(c.f, 0, first), io.NewSectionReader(c.f, from, c.size-from)), 256<<10)
		},
		stop: &c.stop,
	}
	for _, m := range s[:k] {
		in.before = append(in.before, m.name)
	}
	return in
}

// wait returns the check's result once it has finished: nil if it never
// started.
func (c *oldCheck) wait() error {
	if c.done != nil {
		if err := <-c.done; err != nil {
			c.err = loadError(c.path, err, true)
		}
		c.done = nil
	}
	return c.err
}

// cancel stops a check that is still running and waits for it to end.
func (c *oldCheck) cancel() {
	c.stop.Store(true)
	c.wait()
}

// saveNew writes st to target, where no file exists yet.
func saveNew(target string, st *State) error {
	serial := st.Serial + 1
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	f, err := atomicfile.Create(target, 0o600)
	if err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	defer f.Abort()
	w := bufio.NewWriterSize(f, 256<<10)
	err = encode(w, st, serial, st.PatwatchVersion, nil)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		if _, lerr := os.Lstat(target); lerr == nil {
			err = errors.New("the file appeared while saving; not writing over it")
		}
	}
	if err == nil {
		err = f.Commit()
	}
	if err != nil {
		return fmt.Errorf("save state %s: %w", target, err)
	}
	st.Serial = serial
	st.FormatVersion = FormatOf(st)
	return nil
}

// diffWriter compares the encoding of a state against the current file as
// it is written. While they agree it writes nothing; at the first
// difference it calls onDiverge with the length that agrees, creates the temporary file and writes the
// new header, the part of the old body that agreed, and from then on
// everything it gets but the rest of the header it compared.
type diffWriter struct {
	old       *os.File
	oldR      *bufio.Reader
	target    string
	onDiverge func(n int64) // told how many bytes agree

	headerLen int64  // the length of the header in the encoding compared
	newHeader []byte // the header to write instead

	pos  int64 // bytes of the encoding seen so far
	tmp  *atomicfile.File
	tmpW *bufio.Writer
	cmp  []byte
}

// setHeaders prepares the headers: the one encoded with the file's serial
// and patwatch version, which the comparison sees, and the one written.
func (w *diffWriter) setHeaders(st *State, h header, serial uint64) error {
	oldHeader, err := encodeHeader(st, h.serial, h.patwatchVersion)
	if err != nil {
		return err
	}
	w.headerLen = int64(len(oldHeader))
	w.newHeader, err = encodeHeader(st, serial, st.PatwatchVersion)
	return err
}

func (w *diffWriter) Write(p []byte) (int, error) {
	n := len(p)
	if w.tmp == nil {
		if cap(w.cmp) < len(p) {
			w.cmp = make([]byte, len(p))
		}
		m, _ := io.ReadFull(w.oldR, w.cmp[:len(p)])
		if m == len(p) && bytes.Equal(w.cmp[:m], p) {
			w.pos += int64(n)
			return n, nil
		}
		same := 0
		for same < m && w.cmp[same] == p[same] {
			same++
		}
		if err := w.diverge(w.pos + int64(same)); err != nil {
			return 0, err
		}
	}
	if w.pos < w.headerLen {
		skip := min(int64(len(p)), w.headerLen-w.pos)
		w.pos += skip
		p = p[skip:]
	}
	w.pos += int64(len(p))
	if _, err := w.tmpW.Write(p); err != nil {
		return 0, err
	}
	return n, nil
}

// diverge starts the temporary file with the new header and the old body
// bytes that agreed.
func (w *diffWriter) diverge(agree int64) error {
	w.onDiverge(agree)
	tmp, err := atomicfile.Create(w.target, 0o600)
	if err != nil {
		return err
	}
	w.tmp = tmp
	w.tmpW = bufio.NewWriterSize(tmp, 256<<10)
	if _, err := w.tmpW.Write(w.newHeader); err != nil {
		return err
	}
	if w.pos > w.headerLen {
		// The headers agreed, so the old file's body starts where the
		// new one does.
		sr := io.NewSectionReader(w.old, w.headerLen, w.pos-w.headerLen)
		if _, err := io.Copy(w.tmpW, sr); err != nil {
			return err
		}
	}
	return nil
}

// finish notices an old file longer than the new content, and flushes the
// temporary file if there is one.
func (w *diffWriter) finish() error {
	if w.tmp == nil {
		if _, err := w.oldR.ReadByte(); err == io.EOF {
			return nil
		}
		if err := w.diverge(w.pos); err != nil {
			return err
		}
	}
	return w.tmpW.Flush()
}

// commit keeps the current file as the backup and renames the temporary
// file over it. The backup is replaced through a hard link to the current
// file, renamed over the old backup: the file itself never goes missing,
// and the backup is always a complete version too.
func (w *diffWriter) commit() error {
	oldInfo, err := w.old.Stat()
	if err != nil {
		return err
	}
	if err := keepBackup(w.target, w.old, oldInfo); err != nil {
		return fmt.Errorf("keep backup: %w", err)
	}
	if fi, err := os.Stat(w.target); err != nil || !os.SameFile(fi, oldInfo) {
		return errors.New("the file changed while saving; is another patwatch using it without the lock?")
	}
	return w.tmp.Commit()
}

// abort drops the temporary file unless commit put it in place.
func (w *diffWriter) abort() {
	if w.tmp != nil {
		w.tmp.Abort()
	}
}

// keepBackup makes BackupPath(target) a complete copy of the file at
// target, which old has open, atomically: through a hard link renamed into
// place, or where the file system has no hard links, a copy written
// through atomicfile.
func keepBackup(target string, old *os.File, oldInfo fs.FileInfo) error {
	backup := BackupPath(target)
	link := tempName(backup)
	if err := os.Link(target, link); err != nil {
		f, err := atomicfile.Create(backup, 0o600)
		if err != nil {
			return err
		}
		defer f.Abort()
		if _, err := f.ReadFrom(io.NewSectionReader(old, 0, oldInfo.Size())); err != nil {
			return err
		}
		return f.Commit()
	}
	if fi, err := os.Stat(link); err != nil || !os.SameFile(fi, oldInfo) {
		os.Remove(link)
		return errors.New("the file changed while saving; is another patwatch using it without the lock?")
	}
	if err := os.Rename(link, backup); err != nil {
		os.Remove(link)
		return err
	}
	// Make the backup durable before the file it copies is replaced.
	return atomicfile.SyncDir(filepath.Dir(backup))
}

// tempName is a name for a temporary file beside path that
// atomicfile.CleanTemps recognises as one: .<base>.tmp-<16 hex digits>.
func tempName(path string) string {
	var b [8]byte
	rand.Read(b[:]) // never fails, per its documentation
	dir, base := filepath.Split(path)
	return filepath.Join(dir, "."+base+".tmp-"+hex.EncodeToString(b[:]))
}

// removeTemps removes the temporary files that saves of the state file at
// path left when their process was killed. Only the holder of the state's
// lock may call it: a running save's files look the same.
func removeTemps(path string) {
	target := path
	if t, err := filepath.EvalSymlinks(path); err == nil {
		target = t
	}
	dir := filepath.Dir(target)
	// A leftover file is harmless: errors are ignored.
	atomicfile.CleanTemps(dir, filepath.Base(target))
	atomicfile.CleanTemps(dir, filepath.Base(BackupPath(target)))
}

// shellQuote quotes s for a POSIX shell if it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./+:@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
