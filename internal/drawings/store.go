package drawings

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/patwatch/patwatch/internal/atomicfile"
)

// DirName is where, relative to the state file's directory, FileStore keeps
// thumbnails and indexes.
const DirName = ".patwatch/drawings"

// indexSuffix ends the name of an index file: <state file name>.index.json.
const indexSuffix = ".index.json"

// sweepGrace is how old an unreferenced thumbnail must be before Sweep
// removes it. States in the same directory share the thumbnails (equal
// pictures, one file), and another state's apply may have just written one
// that its index does not name yet.
const sweepGrace = time.Hour

// FileStore keeps thumbnails as files named by their digest
// (<sha256>.png or .jpg) in one directory, with one index per state file
// beside them. Callers serialise writers of one index (the state lock does).
type FileStore struct {
	dir   string
	index string // the index file's path
	now   func() time.Time
}

// ForStateFile returns the store of the state file at statePath:
// DirName beside it, with the index named after it.
func ForStateFile(statePath string) *FileStore {
	dir := filepath.Join(filepath.Dir(statePath), filepath.FromSlash(DirName))
	return &FileStore{dir: dir, index: filepath.Join(dir, filepath.Base(statePath)+indexSuffix), now: time.Now}
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

// SaveIndex writes x atomically, and only when its content changed.
func (s *FileStore) SaveIndex(_ context.Context, x *Index) error {
	b, err := json.MarshalIndent(x, "", " ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if old, err := os.ReadFile(s.index); err == nil && bytes.Equal(old, b) {
		return nil
	}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return err
	}
	return atomicfile.WriteFile(s.index, b, 0o644)
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
		now := s.now()
		_ = os.Chtimes(p, now, now) // fresh for Sweep's grace period
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

// Sweep removes the thumbnails that neither keep nor any index in the
// directory names (other states may share it), once they are older than an
// hour, and the temporary files of killed writes. It returns how many
// thumbnails it removed. An index it cannot read stops it: a thumbnail that
// index names must not go.
func (s *FileStore) Sweep(_ context.Context, keep map[string]bool) (int, error) {
	entries, err := os.ReadDir(s.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	refs := map[string]bool{}
	for k := range keep {
		refs[k] = true
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, indexSuffix) || filepath.Join(s.dir, name) == s.index {
			continue
		}
		b, err := os.ReadFile(filepath.Join(s.dir, name))
		if err != nil {
			return 0, err
		}
		x, err := decodeIndex(b)
		if err != nil {
			return 0, fmt.Errorf("drawings index %s: %w", filepath.Join(s.dir, name), err)
		}
		for k := range x.Refs() {
			refs[k] = true
		}
	}
	cutoff := s.now().Add(-sweepGrace)
	n := 0
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() {
			continue
		}
		sha, ext, _ := strings.Cut(name, ".")
		isThumb := (ext == "png" || ext == "jpg") && (Ref{SHA256: sha, Format: PNG}).valid()
		if !isThumb && !atomicfile.IsTemp(name) {
			continue
		}
		if isThumb && refs[sha] {
			continue
		}
		info, err := e.Info()
		if err != nil || info.ModTime().After(cutoff) {
			continue
		}
		if err := os.Remove(filepath.Join(s.dir, name)); err == nil && isThumb {
			n++
		}
	}
	return n, nil
}
