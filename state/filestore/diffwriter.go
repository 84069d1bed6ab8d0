package filestore

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

	"github.com/patwatch/patwatch/internal/atomicfile"
	"github.com/patwatch/patwatch/state"
	"github.com/patwatch/patwatch/state/statefile"
)

// diffWriter compares the encoding of a state against the current file as
// it is written. While they agree it writes nothing; at the first
// difference it calls onDiverge with the length that agrees, creates the
// temporary file and writes the new header, the part of the old body that
// agreed, and from then on everything it gets but the rest of the header
// it compared.
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
func (w *diffWriter) setHeaders(st *state.State, h statefile.Header, serial uint64) error {
	oldHeader, err := statefile.EncodeHeader(st, h.Serial, h.PatwatchVersion)
	if err != nil {
		return err
	}
	w.headerLen = int64(len(oldHeader))
	w.newHeader, err = statefile.EncodeHeader(st, serial, st.PatwatchVersion)
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
