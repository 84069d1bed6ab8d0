// Package statefile is the state file's format: one JSON object, indented
// by two spaces, members in a fixed order, map keys sorted by their bytes,
// times in UTC to the second, empty optional members left out, and the
// trailing newline of a JSON stream. Equal content gives equal bytes, in
// every version of patwatch: testdata/*.golden pins them.
//
// Reading takes two steps, as in Terraform's statefile package: the first
// reads the top level's format_version, wherever in the object it is; the
// second reads the file again with the reader of that format, which builds
// a state.State. A format this build has no reader for is newer than the
// build: a *VersionError, which says what to do. Each format has its reader
// in a file of its own (read_v1.go, read_v2.go) with a top-level struct of
// its own; searches, reports and hits, which no format has changed yet, are
// read and written by the same code for every format (entries.go, hits.go).
//
// There is one writer (write.go). It writes the newest format's layout with
// every member that is not in use left out, and gives the file the version
// of the oldest format that holds its content (state.FormatOf): format 1
// unless a field of format 2 is in use. Terraform writes the newest format
// only; patwatch keeps to the oldest that fits because a state file is
// committed to git and shared: a state of a watch list that uses nothing
// newer stays byte for byte what every earlier patwatch wrote (the golden
// files here and the state files in other packages' tests pin those bytes),
// and an older patwatch on another machine still reads it. It costs no
// writer per format while formats only add members, as format 2 did: a
// format that changes a member of an older one would have to be written as
// itself, and then the newest-only rule is the simpler one.
package statefile

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync/atomic"

	"github.com/patwatch/patwatch/state"
)

// Header is what the top level of a state file says about itself. Every
// format keeps these members at the top level with these meanings.
type Header struct {
	FormatVersion   int // 0: the file has no format_version
	Serial          uint64
	Lineage         string
	PatwatchVersion string
}

// Readable reports whether this build has a reader for the header's
// format: false for a file without one, or in a newer format.
func (h Header) Readable() bool {
	_, ok := formats[h.FormatVersion]
	return ok
}

// Read reads a whole state file, src. A file that is not a valid state is
// a *SyntaxError or a *ContentError, one in a newer format a
// *VersionError; errors reading src pass through.
func Read(src *io.SectionReader) (*state.State, error) {
	st, _, err := decodeState(sectionInput(src), loading)
	return st, err
}

// ReadHeader reads the header of src as the writer writes it: the members
// before the first that is not part of the header. It reads no further,
// and so says nothing about whether the rest is valid; a header in
// another order reads as incomplete.
func ReadHeader(src *io.SectionReader) (Header, error) {
	return sniff(sectionInput(src), headerOnly)
}

// Check reads src as Read does but keeps nothing, and returns its header.
// Of a file that agrees with an encoding up to a point, known (from
// Layout.Known) is the part that needs no check; the zero Known checks the
// whole file. Once ctx is done the check stops with ctx's error.
func Check(ctx context.Context, src *io.SectionReader, known Known) (Header, error) {
	in := known.input(src)
	in.done = ctx.Done()
	_, h, err := decodeState(in, checking)
	if err != nil && in.before != nil && !errors.Is(err, errStopped) {
		// Check the whole file for the error's place in it.
		whole := sectionInput(src)
		whole.done = ctx.Done()
		_, h, err = decodeState(whole, checking)
	}
	if errors.Is(err, errStopped) {
		return h, ctx.Err()
	}
	return h, err
}

// Marshal returns the bytes of the state file of st, with st's serial and
// patwatch version in its header, as Encode writes them. Marshal ignores
// st.FormatVersion: st is written in the oldest format that holds it (see
// the package doc).
func Marshal(st *state.State) ([]byte, error) {
	var buf bytes.Buffer
	if err := Encode(&buf, st, st.Serial, st.PatwatchVersion, nil); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Encode writes st as a state file to w, with the given serial and
// patwatch version in its header. It refuses a state that state.Validate
// refuses, before writing, and a hit that state.ValidateHit refuses, where
// it comes. It streams: memory use does not grow with the size of the
// state. l, which may be nil, is told where the parts went, and may tell
// the encoder to keep to one goroutine.
func Encode(w io.Writer, st *state.State, serial uint64, patwatchVersion string, l *Layout) error {
	if err := state.Validate(st); err != nil {
		return err
	}
	if l == nil {
		l = new(Layout)
	}
	return encode(w, st, serial, patwatchVersion, l)
}

// encode is Encode of a state that state.Validate has accepted.
func encode(w io.Writer, st *state.State, serial uint64, patwatchVersion string, l *Layout) error {
	return write(w, st, Header{FormatVersion: state.FormatOf(st), Serial: serial, Lineage: st.Lineage, PatwatchVersion: patwatchVersion}, l)
}

// EncodeHeader returns the header that Encode writes for st with the given
// serial and patwatch version: the bytes that come before the searches.
func EncodeHeader(st *state.State, serial uint64, patwatchVersion string) ([]byte, error) {
	var buf bytes.Buffer
	var l Layout
	h := Header{FormatVersion: state.FormatOf(st), Serial: serial, Lineage: st.Lineage, PatwatchVersion: patwatchVersion}
	if err := write(&buf, &state.State{}, h, &l); err != nil {
		return nil, err
	}
	return buf.Bytes()[:l.header], nil
}

// Layout is what an encoder tells its caller about the bytes it writes as
// it writes them, and the one thing the caller may tell it meanwhile.
type Layout struct {
	alone    atomic.Bool // once set, the encoder keeps to one goroutine
	header   int64       // the length of the header: the bytes before the searches
	searches []member    // where each search's member starts, in order
}

// member is where a member of an object starts, and its name.
type member struct {
	at   int64
	name string
}

// KeepToOneGoroutine tells the encoder to stop building hits on a second
// goroutine and to build the rest itself, leaving the other core to the
// caller. The bytes are the same.
func (l *Layout) KeepToOneGoroutine() { l.alone.Store(true) }

// Known is a part of a state file that needs no check: the searches before
// the one where the file first differs from an encoding, which the encoder
// wrote, byte for byte. The zero Known is nothing.
type Known struct {
	first, from int64    // the searches start at first; the bytes from first to from are known
	names       []string // the searches known, whose names a later search must not repeat
}

// Known returns what is known of a file whose first agree bytes are those
// of the encoding l describes. It reads l, which the encoder writes: call
// it where the encoder calls, as an io.Writer's Write does.
//
// What follows the known searches is valid in the file if it is valid
// after the header alone and repeats none of their names. On a change late
// in a large file, that halves the check.
func (l *Layout) Known(agree int64) Known {
	s := l.searches
	k := 0 // the first search not wholly in the first agree bytes
	for k < len(s) && s[k].at < agree {
		k++
	}
	k-- // the one the first difference is in: its start agrees
	if k < 1 {
		return Known{}
	}
	known := Known{first: s[0].at, from: s[k].at}
	for _, m := range s[:k] {
		known.names = append(known.names, m.name)
	}
	return known
}

// input reads src less the known part.
func (k Known) input(src *io.SectionReader) *input {
	if k.names == nil {
		return sectionInput(src)
	}
	size := src.Size()
	return &input{
		open: func() io.Reader {
			return bufferedReader(io.MultiReader(io.NewSectionReader(src, 0, k.first), io.NewSectionReader(src, k.from, size-k.from)))
		},
		before: k.names,
	}
}

// sectionInput reads the whole of src.
func sectionInput(src *io.SectionReader) *input {
	return &input{open: func() io.Reader { return bufferedReader(io.NewSectionReader(src, 0, src.Size())) }}
}
