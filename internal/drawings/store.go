package drawings

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/patwatch/patwatch/internal/atomicfile"
)

// DirName is where, relative to the state file's directory, FileStores
// keep their directories: one for each state file, named after it.
const DirName = ".patwatch/drawings"

// tempGrace is how old a temporary file must be before Sweep removes it:
// a plan, which takes no lock, may be reading beside a running apply.
const tempGrace = time.Hour

// FileStore keeps thumbnails as files named by their digest
// (<sha256>.png or .jpg) and the index of one state file (index.json) in
// one directory. Callers serialise its writers (the state lock does).
type FileStore struct {
	dir   string
	index string // the index file's path
	now   func() time.Time
}

// ForStateFile returns the store of the state file at statePath:
// DirName/<state file name> beside it. Each state file has its own, so
// that the sandbox's state (sandbox.state.json beside the real one, as
// patwatch init suggests) keeps its simulated drawings apart.
func ForStateFile(statePath string) *FileStore {
	dir := filepath.Join(filepath.Dir(statePath), filepath.FromSlash(DirName), filepath.Base(statePath))
	return &FileStore{dir: dir, index: filepath.Join(dir, "index.json"), now: time.Now}
}

// Dir is the store's directory.
func (s *FileStore) Dir() string { return s.dir }

// LoadIndex returns the index; an empty one when there is none yet. An
// index that does not parse is an error that names the file: the caller
// decides whether pictures are worth failing for.
func (s *FileStore) LoadIndex(context.Context) (*Index, error) {
	b, err := os.ReadFile(s.index)
	if errors.Is(err, fs.ErrNotExist) {
		return NewIndex(), nil
	}
	if err != nil {
		return nil, err
	}
	x, err := decodeIndex(b)
	if err != nil {
		return nil, fmt.Errorf("drawings index %s: %w", s.index, err)
	}
	return x, nil
}

func decodeIndex(b []byte) (*Index, error) {
	var x Index
	if err := json.Unmarshal(b, &x); err != nil {
		return nil, err
	}
	if x.FormatVersion != IndexVersion {
		return nil, fmt.Errorf("format_version %d; this patwatch reads %d (delete the file to start the drawings afresh)", x.FormatVersion, IndexVersion)
	}
	if x.Searches == nil {
		x.Searches = map[string]*Search{}
	}
	return &x, nil
}

// SaveIndex writes x atomically, and only when its content changed. The
// index of a million hits is tens of megabytes: it is encoded a search at
// a time, compared with the file as it goes, and written the same way only
// when it differs, so that saving it holds one search's bytes, not the
// whole file three times over (its encoding, its indented copy and the old
// file) at the end of every run.
func (s *FileStore) SaveIndex(_ context.Context, x *Index) error {
	same, err := s.indexUnchanged(x)
	if err != nil {
		return err
	}
	if same {
		return nil
	}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return err
	}
	f, err := atomicfile.Create(s.index, 0o644)
	if err != nil {
		return err
	}
	defer f.Abort()
	w := bufio.NewWriterSize(f, 64<<10)
	if err := encodeIndex(w, x); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Commit()
}

// indexUnchanged reports whether the index file holds x's encoding.
func (s *FileStore) indexUnchanged(x *Index) (bool, error) {
	old, err := os.Open(s.index)
	if err != nil {
		return false, nil // absent or unreadable: written afresh
	}
	defer old.Close()
	c := &compareWriter{old: bufio.NewReaderSize(old, 64<<10)}
	if err := encodeIndex(c, x); err != nil && !errors.Is(err, errDiffers) {
		return false, err
	}
	if c.differs {
		return false, nil
	}
	_, err = c.old.ReadByte() // anything more in the file is a difference
	return errors.Is(err, io.EOF), nil
}

// errDiffers stops an encoding whose output already differs from the file.
var errDiffers = errors.New("drawings: the index differs")

// compareWriter compares what is written to it with old.
type compareWriter struct {
	old     *bufio.Reader
	buf     []byte
	differs bool
}

func (c *compareWriter) Write(p []byte) (int, error) {
	if cap(c.buf) < len(p) {
		c.buf = make([]byte, len(p))
	}
	b := c.buf[:len(p)]
	if _, err := io.ReadFull(c.old, b); err != nil || !bytes.Equal(b, p) {
		c.differs = true
		return 0, errDiffers
	}
	return len(p), nil
}

// encodeIndex writes x as json.MarshalIndent(x, "", " ") and a newline
// would, a search at a time.
func encodeIndex(w io.Writer, x *Index) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "{\n \"format_version\": %d,\n \"searches\": ", x.FormatVersion)
	switch {
	case x.Searches == nil:
		b.WriteString("null")
	case len(x.Searches) == 0:
		b.WriteString("{}")
	default:
		b.WriteString("{")
		for i, name := range slices.Sorted(maps.Keys(x.Searches)) {
			key, err := json.Marshal(name)
			if err != nil {
				return err
			}
			value, err := json.MarshalIndent(x.Searches[name], "  ", " ")
			if err != nil {
				return err
			}
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString("\n  ")
			b.Write(key)
			b.WriteString(": ")
			b.Write(value)
			if _, err := w.Write(b.Bytes()); err != nil {
				return err
			}
			b.Reset()
		}
		b.WriteString("\n }")
	}
	b.WriteString("\n}\n")
	_, err := w.Write(b.Bytes())
	return err
}

func (s *FileStore) path(r Ref) (string, error) {
	if !r.valid() {
		return "", fmt.Errorf("drawings: %q is not a thumbnail's name", r.SHA256+"."+r.Format)
	}
	ext := ".png"
	if r.Format == JPEG {
		ext = ".jpg"
	}
	return filepath.Join(s.dir, r.SHA256+ext), nil
}

// Put stores t under its digest; a thumbnail already stored is not
// written again.
func (s *FileStore) Put(_ context.Context, t Thumb) error {
	if digest(t.Data) != t.SHA256 {
		return errors.New("drawings: a thumbnail's bytes do not match its digest")
	}
	p, err := s.path(t.Ref)
	if err != nil {
		return err
	}
	if st, err := os.Stat(p); err == nil && st.Size() == int64(len(t.Data)) {
		return nil
	}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return err
	}
	return atomicfile.WriteFile(p, t.Data, 0o644)
}

// Has reports whether the thumbnail r is stored.
func (s *FileStore) Has(_ context.Context, r Ref) (bool, error) {
	p, err := s.path(r)
	if err != nil {
		return false, err
	}
	_, err = os.Stat(p)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, err
}

// Get returns the thumbnail r, checked against its digest and decoded in
// full; an error matching fs.ErrNotExist when it is not stored.
func (s *FileStore) Get(_ context.Context, r Ref) (Thumb, error) {
	p, err := s.path(r)
	if err != nil {
		return Thumb{}, err
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return Thumb{}, err
	}
	w, h, err := Verify(r, b)
	if err != nil {
		return Thumb{}, fmt.Errorf("drawing %s: %w", p, err)
	}
	return Thumb{Ref: r, Width: w, Height: h, Data: b}, nil
}

// Sweep removes the thumbnails keep does not name, and the temporary files
// that killed writes left (once they are an hour old). It returns how many
// thumbnails it removed.
func (s *FileStore) Sweep(_ context.Context, keep map[string]bool) (int, error) {
	entries, err := os.ReadDir(s.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	cutoff := s.now().Add(-tempGrace)
	n := 0
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() {
			continue
		}
		if atomicfile.IsTemp(name) {
			if info, err := e.Info(); err == nil && info.ModTime().Before(cutoff) {
				os.Remove(filepath.Join(s.dir, name))
			}
			continue
		}
		sha, ext, _ := strings.Cut(name, ".")
		if (ext != "png" && ext != "jpg") || !(Ref{SHA256: sha, Format: PNG}).valid() || keep[sha] {
			continue
		}
		if err := os.Remove(filepath.Join(s.dir, name)); err == nil {
			n++
		}
	}
	return n, nil
}
