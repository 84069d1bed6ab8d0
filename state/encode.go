package state

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"sync/atomic"
	"time"
)

// Marshal returns the exact bytes Save writes for st: the JSON that
// encoding/json would produce for st with HTML escaping off and a two-space
// indent, plus a trailing newline. Map keys are sorted, struct fields keep
// their declaration order and times are written in UTC with second
// precision, so equal content always gives equal bytes.
//
// Marshal ignores st.FormatVersion: a state is written in the oldest
// format that holds it (see formatOf).
func Marshal(st *State) ([]byte, error) {
	if err := validate(st); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := encode(&buf, st, st.Serial, st.PatwatchVersion, nil); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// encode writes st, which validate has accepted, in the format of this
// build to w, with the given serial and patwatch version in the header; a
// hit that is not valid is an error. It streams: memory use does not grow
// with the size of the state. e, which may be nil, tells where the parts
// went, and may tell the encoder to keep to one goroutine.
func encode(w io.Writer, st *State, serial uint64, version string, e *encoding) error {
	if e == nil {
		e = new(encoding)
	}
	return encodeIn(FormatOf(st), w, st, serial, version, e)
}

// encodeIn writes st in the given format.
func encodeIn(format int, w io.Writer, st *State, serial uint64, version string, e *encoding) error {
	if format == 2 {
		return writeV2(w, st, serial, version, e)
	}
	return writeV1(w, st, serial, version, e)
}

// encoding is what an encoder tells its caller about the bytes it writes
// as it writes them, and the one thing the caller may tell it meanwhile.
type encoding struct {
	alone    atomic.Bool // once set, the encoder keeps to one goroutine
	header   int64       // the length of the header: the bytes before the searches
	searches []member    // where each search's member starts, in order
}

// member is where a member of an object starts, and its name.
type member struct {
	at   int64
	name string
}

// encodeHeader returns the header that encode writes for st with the given
// serial and patwatch version: the bytes that come before the searches.
func encodeHeader(st *State, serial uint64, version string) ([]byte, error) {
	var buf bytes.Buffer
	var e encoding
	if err := encodeIn(FormatOf(st), &buf, &State{Lineage: st.Lineage}, serial, version, &e); err != nil {
		return nil, err
	}
	return buf.Bytes()[:e.header], nil
}

// sortedKeys is slices.Sorted(maps.Keys(m)) with the slice allocated once:
// on a state of a million hits the iterator form made Save 25% slower.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// checkTime reports whether t can be written: RFC 3339 needs a four-digit
// year.
func checkTime(t time.Time) error {
	if y := t.UTC().Year(); y < 0 || y > 9999 {
		return fmt.Errorf("time %s is outside years 0000-9999", t.UTC().Format(time.RFC3339))
	}
	return nil
}
