package drawings

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

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
	return InDir(filepath.Join(filepath.Dir(statePath), filepath.FromSlash(DirName), filepath.Base(statePath)))
}

// InDir returns the store kept in the directory dir.
func InDir(dir string) *FileStore {
	return &FileStore{dir: dir, index: filepath.Join(dir, "index.json"), now: time.Now}
}

// Dir is the store's directory.
func (s *FileStore) Dir() string { return s.dir }

// In returns the store of the same state in the directory base instead
// (--drawings-dir): base/<the name of s's directory>, so that the states
// that share base keep their drawings apart there too.
func (s *FileStore) In(base string) *FileStore {
	dir := filepath.Join(base, filepath.Base(s.dir))
	return &FileStore{dir: dir, index: filepath.Join(dir, "index.json"), now: s.now}
}

// Writable says why thumbnails cannot be stored in the store's directory
// (created if need be, as every apply's index is saved there), nil when
// they can.
func (s *FileStore) Writable(context.Context) error {
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return err
	}
	f, err := atomicfile.Create(s.index, 0o644)
	if err != nil {
		return err
	}
	f.Abort()
	return nil
}

// LoadIndex returns the index; an empty one when there is none yet. An
// index that does not parse is an error that names the file: the caller
// decides whether pictures are worth failing for.
func (s *FileStore) LoadIndex(ctx context.Context) (*Index, error) {
	x := NewIndex()
	err := s.EachSearch(ctx, func(name string, e *Search) error {
		x.Searches[name] = e
		return nil
	})
	if err != nil {
		return nil, err
	}
	return x, nil
}

// EachSearch calls fn with the entry of each search the index holds, in the
// file's order, decoding the file as it goes: a caller that needs only a
// little of each search (the hits still wanted, say) never holds the whole
// index, which for a million hits is as large in memory as the state. An
// index not there yet holds none. The entry is fn's to keep; an error of
// fn's ends the reading and is returned as it is.
func (s *FileStore) EachSearch(_ context.Context, fn func(name string, e *Search) error) error {
	f, err := os.Open(s.index)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if err := eachSearch(bufio.NewReaderSize(f, 64<<10), fn); err != nil {
		var fnErr *callerError
		if errors.As(err, &fnErr) {
			return fnErr.err
		}
		return fmt.Errorf("drawings index %s: %w", s.index, err)
	}
	return nil
}

// callerError carries an error of EachSearch's fn through the decoding.
type callerError struct{ err error }

func (e *callerError) Error() string { return e.err.Error() }

// eachSearch decodes an index from r a search at a time. The format
// version comes first, as encodeIndex writes it: searches of a format this
// build does not know are not decoded in the guess that they are alike.
func eachSearch(r io.Reader, fn func(name string, e *Search) error) error {
	dec := jsontext.NewDecoder(r)
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return cmp.Or(err, errors.New("not a JSON object"))
	}
	version := 0
	for dec.PeekKind() == '"' {
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		switch name := tok.String(); name {
		case "format_version":
			if err := jsonv2.UnmarshalDecode(dec, &version); err != nil {
				return err
			}
			if version != IndexVersion {
				return fmt.Errorf("format_version %d; this patwatch reads %d (delete the file to start the drawings afresh)", version, IndexVersion)
			}
		case "searches":
			if version == 0 {
				return errors.New("searches before format_version: not an index this patwatch wrote")
			}
			if err := eachEntry(dec, fn); err != nil {
				return err
			}
		default:
			if err := dec.SkipValue(); err != nil {
				return err
			}
		}
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	if version == 0 {
		return errors.New("no format_version")
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return cmp.Or(err, errors.New("data after the index's object"))
	}
	return nil
}

// eachEntry reads the searches object (or null) a member at a time.
func eachEntry(dec *jsontext.Decoder, fn func(name string, e *Search) error) error {
	tok, err := dec.ReadToken()
	switch {
	case err != nil:
		return err
	case tok.Kind() == 'n':
		return nil
	case tok.Kind() != '{':
		return fmt.Errorf("searches: want an object, found %s", tok.Kind())
	}
	for dec.PeekKind() == '"' {
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		name := tok.String()
		e := &Search{}
		if err := jsonv2.UnmarshalDecode(dec, e); err != nil {
			return err
		}
		if e.Hits == nil {
			e.Hits = map[string]*Hit{}
		}
		if err := fn(name, e); err != nil {
			return &callerError{err}
		}
	}
	_, err = dec.ReadToken()
	return err
}

// SaveIndex writes x atomically, and only when its content changed. The
// index of a million hits is tens of megabytes: it is encoded once, a
// search at a time, and compared with the file as it goes; at the first
// difference the new file is started with the old file's bytes that
// agreed, and the rest of the encoding goes after them. Saving it so holds
// one search's bytes, not the whole file three times over (its encoding,
// its indented copy and the old file) at the end of every run. A file
// that is absent or cannot be opened is written afresh.
func (s *FileStore) SaveIndex(_ context.Context, x *Index) error {
	w := &indexWriter{target: s.index}
	if old, err := os.Open(s.index); err == nil {
		defer old.Close()
		w.old, w.oldR = old, bufio.NewReaderSize(old, 64<<10)
	} else if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return err
	}
	defer w.abort()
	if err := encodeIndex(w, x); err != nil {
		return err
	}
	return w.finish()
}

// indexWriter compares what is written to it with the old file and, from
// the first difference, writes it to a temporary file that replaces the
// old one, after the old file's bytes that agreed.
type indexWriter struct {
	old    *os.File // nil: none to compare with
	oldR   *bufio.Reader
	target string
	agree  int64 // bytes written that the old file holds too
	cmp    []byte
	tmp    *atomicfile.File // from the first difference
	tmpW   *bufio.Writer
}

func (w *indexWriter) Write(p []byte) (int, error) {
	if w.tmp == nil {
		if w.old != nil {
			if cap(w.cmp) < len(p) {
				w.cmp = make([]byte, len(p))
			}
			b := w.cmp[:len(p)]
			if _, err := io.ReadFull(w.oldR, b); err == nil && bytes.Equal(b, p) {
				w.agree += int64(len(p))
				return len(p), nil
			}
		}
		if err := w.diverge(); err != nil {
			return 0, err
		}
	}
	return w.tmpW.Write(p)
}

// diverge starts the temporary file with the bytes that agreed, copied
// from the old file.
func (w *indexWriter) diverge() error {
	tmp, err := atomicfile.Create(w.target, 0o644)
	if err != nil {
		return err
	}
	w.tmp, w.tmpW = tmp, bufio.NewWriterSize(tmp, 64<<10)
	if w.agree > 0 {
		n, err := io.Copy(w.tmpW, io.NewSectionReader(w.old, 0, w.agree))
		if err == nil && n != w.agree {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return fmt.Errorf("drawings index %s: %w", w.target, err)
		}
	}
	return nil
}

// finish replaces the old file when the encoding differed from it or the
// old file holds more; an old file that holds the encoding is left as it
// is.
func (w *indexWriter) finish() error {
	if w.tmp == nil {
		if w.old != nil {
			if _, err := w.oldR.ReadByte(); err == io.EOF {
				return nil
			}
		}
		if err := w.diverge(); err != nil {
			return err
		}
	}
	if err := w.tmpW.Flush(); err != nil {
		return err
	}
	return w.tmp.Commit()
}

// abort removes the temporary file, unless finish committed it.
func (w *indexWriter) abort() {
	if w.tmp != nil {
		w.tmp.Abort()
	}
}

// encodeIndex writes x as json.MarshalIndent(x, "", " ") and a newline
// would, a search at a time, through buffers it reuses: an index of a
// million hits is encoded at least once by every apply (to compare it with
// the file), and the library's encoding of it whole left as much garbage
// as the index itself at the run's peak.
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
		var e searchEncoder
		for i, name := range slices.Sorted(maps.Keys(x.Searches)) {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString("\n  ")
			b.Write(appendString(nil, name))
			b.WriteString(": ")
			value, err := e.encode(x.Searches[name])
			if err != nil {
				return err
			}
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

// searchEncoder encodes one search's entry as json.MarshalIndent(s, "  ",
// " ") does: compact, then indented as the library indents. The hits, which
// are nearly all of it, are encoded here without reflection; the rest by
// the library.
type searchEncoder struct {
	compact  []byte
	indented bytes.Buffer
	keys     []string
}

func (e *searchEncoder) encode(s *Search) ([]byte, error) {
	if s == nil {
		return []byte("null"), nil
	}
	query, err := json.Marshal(s.Query)
	if err != nil {
		return nil, err
	}
	b := append(e.compact[:0], `{"query":`...)
	b = append(b, query...)
	if !s.GoneSince.IsZero() {
		if b, err = appendTime(append(b, `,"gone_since":`...), s.GoneSince); err != nil {
			return nil, err
		}
	}
	b = append(b, `,"hits":`...)
	if s.Hits == nil {
		b = append(b, "null"...)
	} else {
		e.keys = e.keys[:0]
		for pn := range s.Hits {
			e.keys = append(e.keys, pn)
		}
		slices.Sort(e.keys)
		b = append(b, '{')
		for i, pn := range e.keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(appendString(b, pn), ':')
			if b, err = appendHit(b, s.Hits[pn]); err != nil {
				return nil, err
			}
		}
		b = append(b, '}')
	}
	b = append(b, '}')
	e.compact = b
	e.indented.Reset()
	if err := json.Indent(&e.indented, b, "  ", " "); err != nil {
		return nil, err
	}
	return e.indented.Bytes(), nil
}

// appendHit appends h as json.Marshal encodes it, its fields in order and
// each left out as its tag says.
func appendHit(b []byte, h *Hit) ([]byte, error) {
	if h == nil {
		return append(b, "null"...), nil
	}
	b = append(b, '{')
	start := len(b)
	member := func(name string) {
		if len(b) > start {
			b = append(b, ',')
		}
		b = append(b, name...)
	}
	var err error
	if h.Want {
		member(`"want":true`)
	}
	if !h.Drawing.IsZero() {
		member(`"drawing":{"sha256":`)
		b = append(appendString(b, h.Drawing.SHA256), `,"format":`...)
		b = append(appendString(b, h.Drawing.Format), '}')
	}
	if h.Error != "" {
		member(`"error":`)
		b = appendString(b, h.Error)
	}
	if !h.FetchedAt.IsZero() {
		member(`"fetched_at":`)
		if b, err = appendTime(b, h.FetchedAt); err != nil {
			return nil, err
		}
	}
	if h.Score != 0 {
		member(`"score":`)
		if b, err = appendFloat(b, h.Score); err != nil {
			return nil, err
		}
	}
	if !h.GoneSince.IsZero() {
		member(`"gone_since":`)
		if b, err = appendTime(b, h.GoneSince); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// appendString appends s quoted. Strings of plain ASCII, which patent
// numbers and digests are, are quoted here; any other is left to the
// library, with its escapes of HTML's characters and invalid UTF-8.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendFloat appends f as the library does in the range where it writes
// no exponent; it writes the others.
func appendFloat(b []byte, f float64) ([]byte, error) {
	if a := math.Abs(f); a < 1e-6 || a >= 1e21 || math.IsNaN(f) {
		q, err := json.Marshal(f)
		return append(b, q...), err
	}
	return strconv.AppendFloat(b, f, 'f', -1, 64), nil
}

// appendTime appends t as its MarshalJSON does.
func appendTime(b []byte, t time.Time) ([]byte, error) {
	if y := t.Year(); y < 0 || y > 9999 {
		q, err := t.MarshalJSON()
		return append(b, q...), err
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), nil
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
