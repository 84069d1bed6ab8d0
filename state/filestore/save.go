package filestore

import (
	"bufio"
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

// save writes st to path if its content differs from what the file holds,
// and reports whether it wrote; with seen set, it also refuses (with a
// *ReplacedError) a file that is not the one seen by the Load the state
// came from. Store.Save says what it guarantees.
func save(path string, st *state.State, seen *loaded) (written bool, err error) {
	if err := state.Validate(st); err != nil {
		return false, fmt.Errorf("save state %s: %w", path, err)
	}
	target, err := resolveLink(path)
	if err != nil {
		return false, fmt.Errorf("save state: %w", err)
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
	var layout statefile.Layout
	src := io.NewSectionReader(old, 0, oldInfo.Size())
	check := newOldCheck(path, src, &layout)
	defer check.cancel()
	h, err := statefile.ReadHeader(src)
	if seen != nil && !seen.sameFile(oldInfo) {
		found := "content patwatch cannot read"
		if err == nil && h.FormatVersion != 0 && h.Lineage != "" {
			found = (&loaded{info: oldInfo, lineage: h.Lineage, serial: h.Serial}).String()
		}
		what := "replaced"
		if seen.info == nil {
			what = "created"
		}
		return false, &ReplacedError{Path: path, What: what, Loaded: seen.String(), Found: found}
	}
	if err != nil || !h.Readable() || h.Lineage == "" {
		if h, err = check.now(); err != nil {
			return false, err
		}
	}
	if h.Lineage != st.Lineage {
		if _, err := check.now(); err != nil {
			return false, err
		}
		return false, &LineageError{Path: path, FileLineage: h.Lineage, Lineage: st.Lineage}
	}

	serial := max(h.Serial, st.Serial) + 1
	dw := &diffWriter{
		old:       old,
		oldR:      bufio.NewReaderSize(io.NewSectionReader(old, 0, oldInfo.Size()), 256<<10),
		target:    target,
		onDiverge: check.start,
	}
	defer dw.abort()
	err = dw.setHeaders(st, h, serial)
	if err == nil {
		err = statefile.Encode(dw, st, h.Serial, h.PatwatchVersion, &layout)
	}
	if err == nil {
		err = dw.finish()
	}
	if cerr := check.wait(); cerr != nil {
		return false, cerr
	}
	if err == nil && dw.tmp == nil {
		st.Serial = h.Serial
		st.FormatVersion = state.FormatOf(st)
		return false, nil
	}
	if err == nil {
		err = dw.commit()
	}
	if err != nil {
		return false, fmt.Errorf("save state %s: %w", path, err)
	}
	st.Serial = serial
	st.FormatVersion = state.FormatOf(st)
	return true, nil
}

// resolveLink is the file that a write to path replaces: the file a
// symlink at path points to, not the link.
func resolveLink(path string) (string, error) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return filepath.EvalSymlinks(path)
	}
	return path, nil
}

// saveNew writes st to target, where no file exists yet.
func saveNew(target string, st *state.State) error {
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
	err = statefile.Encode(w, st, serial, st.PatwatchVersion, nil)
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
	st.FormatVersion = state.FormatOf(st)
	return nil
}
