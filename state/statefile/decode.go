package statefile

import (
	"bufio"
	"errors"
	"io"
	"strconv"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/patwatch/patwatch/state"
)

// Reading a state file takes two steps (see the package doc). The first,
// sniff, reads the top level's format_version (and, for the error message,
// patwatch_version); the second reads the file again with the reader of
// that format in formats.
//
// The readers use the JSON library's strict defaults, where invalid UTF-8,
// duplicate names and trailing data are errors, and refuse unknown members
// too. Its errors carry byte offsets and JSON pointers; readError (in
// errors.go) turns them into a line and column in the file and a path
// such as searches["name"].hits["CN1234S"].title.

// formats holds the reader of each format this build reads, by version: a
// new format is a file with its reader and a line here. Nothing changes it
// (but a test).
var formats = map[int]format{
	1: {read: readV1, path: pathV1},
	2: {read: readV2, path: pathV2},
}

type format struct {
	// read decodes a whole state file in this format. A check keeps as
	// little as it can and returns a nil State; it stops early with
	// errStopped once in.done is closed.
	read func(in *input, p pass) (*state.State, Header, error)
	// path renders a JSON pointer into a file of this format as the path
	// that messages give.
	path func(jsontext.Pointer) string
}

// errStopped ends a check that is no longer needed.
var errStopped = errors.New("check stopped")

// input is a state file being read: open returns a reader of its bytes
// from the start, as many times as reading needs.
type input struct {
	open func() io.Reader
	done <-chan struct{}               // once closed, a check ends with errStopped; nil: never
	path func(jsontext.Pointer) string // the format's; nil before it is known
	// before are the names of searches that the file holds before those
	// open reads, left out as known to be valid; a search of the same
	// name is a duplicate. (See Known.)
	before []string
}

// stopped reports whether the reading was asked to stop.
func (in *input) stopped() bool {
	select {
	case <-in.done:
		return true
	default:
		return false
	}
}

// bufferedReader reads r in large reads: a state file can be hundreds of
// megabytes.
func bufferedReader(r io.Reader) io.Reader { return bufio.NewReaderSize(r, 256<<10) }

// decoder returns a decoder of the file from its start with the library's
// strict settings.
func (in *input) decoder() *jsontext.Decoder {
	return jsontext.NewDecoder(in.open(), json.RejectUnknownMembers(true))
}

// decodeState reads a whole state file. A check validates everything but
// keeps only the header.
func decodeState(in *input, p pass) (*state.State, Header, error) {
	h, err := sniff(in, toVersion)
	if err != nil {
		return nil, h, err
	}
	if h.FormatVersion == 0 {
		return nil, h, &ContentError{Line: 1, Col: 1, Msg: "no format_version field: not a patwatch state file"}
	}
	f, ok := formats[h.FormatVersion]
	if !ok {
		return nil, h, &VersionError{FormatVersion: h.FormatVersion, PatwatchVersion: h.PatwatchVersion}
	}
	in.path = f.path
	st, h, err := f.read(in, p)
	if err != nil {
		return nil, h, err
	}
	if h.Lineage == "" {
		return nil, h, &ContentError{Line: 1, Col: 1, Msg: "no lineage"}
	}
	return st, h, nil
}

// scan is how far sniff reads.
type scan int

const (
	// toVersion reads, skipping other values, until it has the
	// format_version and, if this build has no reader for that format,
	// the patwatch_version that the error names.
	toVersion scan = iota
	// headerOnly reads the members before the first that is not part of
	// the header, as the writer writes them.
	headerOnly
)

// sniff reads the header members of a state file's top-level object, as
// far as sc says. Every format keeps these members at the top level with
// these meanings.
func sniff(in *input, sc scan) (Header, error) {
	quick := sc == headerOnly
	var h Header
	dec := in.decoder()
	if err := openTopLevel(in, dec); err != nil {
		return h, err
	}
	sawPatwatch := false
	for dec.PeekKind() == '"' {
		name, err := dec.ReadToken()
		if err != nil {
			return h, readError(in, err)
		}
		at := dec.InputOffset()
		switch k := name.String(); {
		case k == "format_version":
			v, err := sniffInt(in, dec, at, "format_version", 1<<31)
			if err != nil {
				return h, err
			}
			if v < 1 {
				return h, in.contentAt(at, "format_version %d is not a valid format", v)
			}
			h.FormatVersion = int(v)
		case k == "patwatch_version":
			if h.PatwatchVersion, err = sniffString(in, dec, at, k); err != nil {
				return h, err
			}
			sawPatwatch = true
		case k == "serial" && quick:
			if h.Serial, err = sniffInt(in, dec, at, k, 1<<64-1); err != nil {
				return h, err
			}
		case k == "lineage" && quick:
			if h.Lineage, err = sniffString(in, dec, at, k); err != nil {
				return h, err
			}
		case quick:
			return h, nil
		default:
			if err := dec.SkipValue(); err != nil {
				if h.FormatVersion != 0 {
					return h, nil // a newer format: its body is not this build's to judge
				}
				return h, readError(in, err)
			}
		}
		if !quick && h.FormatVersion != 0 && (h.Readable() || sawPatwatch) {
			return h, nil
		}
	}
	if _, err := dec.ReadToken(); err != nil && h.FormatVersion == 0 {
		return h, readError(in, err)
	}
	return h, nil
}

// openTopLevel reads the '{' that every state file starts with.
func openTopLevel(in *input, dec *jsontext.Decoder) error {
	tok, err := dec.ReadToken()
	if err == nil && tok.Kind() == '{' {
		return nil
	}
	var se *jsontext.SyntacticError
	switch {
	case err == nil:
		off := in.skipSpace(0)
		return in.syntaxAt(off, "want a JSON object, found %s: not a patwatch state file", in.describeAt(off))
	case errors.As(err, &se) && !errors.Is(se.Err, io.ErrUnexpectedEOF):
		return in.syntaxAt(se.ByteOffset, "want a JSON object, found %s: not a patwatch state file", in.describeAt(se.ByteOffset))
	case err == io.EOF:
		e := in.syntaxAt(in.skipSpace(0), "unexpected end of input")
		e.Truncated = true
		return e
	}
	return readError(in, err)
}

// sniffInt reads a header member that must be an integer between 0 and max.
func sniffInt(in *input, dec *jsontext.Decoder, at int64, name string, max uint64) (uint64, error) {
	v, err := dec.ReadValue()
	if err != nil {
		return 0, readError(in, err)
	}
	text, kind := string(v), v.Kind() // v is valid only until the next read
	if err := valueEnd(dec); err != nil {
		return 0, readError(in, err)
	}
	n, perr := strconv.ParseUint(text, 10, 64)
	if kind != '0' || perr != nil || n > max {
		return 0, in.contentAt(at, "%s: %s is not an integer between 0 and %d", name, text, max)
	}
	return n, nil
}

// sniffString reads a header member that must be a string or null.
func sniffString(in *input, dec *jsontext.Decoder, at int64, name string) (string, error) {
	tok, err := dec.ReadToken()
	if err != nil {
		return "", readError(in, err)
	}
	kind, text := tok.Kind(), tok.String() // tok is valid only until the next read
	if err := valueEnd(dec); err != nil {
		return "", readError(in, err)
	}
	switch kind {
	case 'n':
		return "", nil
	case '"':
		return text, nil
	}
	return "", in.contentAt(at, "%s: want a string, found %s", name, kindName(kind))
}

// valueEnd returns the error of what follows the value just read, if
// that is not JSON: the 1 of 01, say, which the library reads as a 0 and
// then a 1 where a comma belongs.
func valueEnd(dec *jsontext.Decoder) error {
	if dec.PeekKind() != 0 {
		return nil
	}
	_, err := dec.ReadToken()
	if err == io.EOF {
		return nil
	}
	return err
}

// readTop reads the whole file into v, a format's top-level struct, and
// checks that nothing follows it.
func readTop(in *input, v any) error {
	dec := in.decoder()
	err := json.UnmarshalDecode(dec, v)
	if err == nil {
		err = finish(in, dec)
	}
	if err != nil {
		return readError(in, err)
	}
	return nil
}

// newState is the state of a file's header, searches and reports.
func newState(h Header, searches map[string]*state.Search, reports map[string]*state.Report) *state.State {
	st := &state.State{
		FormatVersion: h.FormatVersion, Serial: h.Serial, Lineage: h.Lineage, PatwatchVersion: h.PatwatchVersion,
		Searches: searches, Reports: reports,
	}
	if st.Searches == nil {
		st.Searches = map[string]*state.Search{}
	}
	if st.Reports == nil {
		st.Reports = map[string]*state.Report{}
	}
	return st
}

// finish checks that nothing but white space follows the top-level value.
func finish(in *input, dec *jsontext.Decoder) error {
	if dec.PeekKind() == 0 {
		_, err := dec.ReadToken()
		if err == io.EOF {
			return nil
		}
		var se *jsontext.SyntacticError
		if !errors.As(err, &se) {
			return readError(in, err)
		}
		return in.syntaxAt(se.ByteOffset, "unexpected %s after the end of the state", in.describeAt(se.ByteOffset))
	}
	off := in.skipSpace(dec.InputOffset())
	return in.syntaxAt(off, "unexpected %s after the end of the state", in.describeAt(off))
}
