package statefile

import (
	"bytes"
	encodingjson "encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/patwatch/patwatch/state"
)

// text is a string of the header, a search or a report. It is written as
// encoding/json writes it (as format 1 always was), which differs from the
// JSON library in two ways: U+2028 and U+2029 are escaped, for
// JavaScript's sake, and each byte of invalid UTF-8 becomes the escape
// \ufffd rather than the character itself. A file holds valid UTF-8 only,
// so such text comes from memory, never from a file that was read. (The
// members format 2 added are plain strings, which the library writes.)
type text string

func (t *text) MarshalJSONTo(enc *jsontext.Encoder) error {
	return writeText(enc, string(*t))
}

// writeText writes s, a value or a member name, as text writes a string.
func writeText(enc *jsontext.Encoder, s string) error {
	return enc.WriteValue(appendText(enc.AvailableBuffer(), s))
}

// appendText appends s quoted as text writes it.
func appendText(b []byte, s string) []byte {
	n := len(b)
	b, err := jsontext.AppendQuote(b, s)
	if err == nil && (strings.IndexByte(s, 0xe2) < 0 || !strings.Contains(s, "\u2028") && !strings.Contains(s, "\u2029")) {
		return b // the common case: no U+2028 or U+2029, whose UTF-8 starts with 0xe2
	}
	var q bytes.Buffer
	e := encodingjson.NewEncoder(&q)
	e.SetEscapeHTML(false)
	e.Encode(s) // a string always encodes
	return append(b[:n], bytes.TrimSuffix(q.Bytes(), []byte("\n"))...)
}

// timestamp is a time in a state file: RFC 3339, written in UTC to the
// second. One read with another offset or a fraction is kept so.
type timestamp time.Time

func (t *timestamp) MarshalJSONTo(enc *jsontext.Encoder) error {
	return enc.WriteValue(t.appendJSON(enc.AvailableBuffer()))
}

func (t timestamp) appendJSON(b []byte) []byte {
	b = append(b, '"')
	b = normTime(time.Time(t)).AppendFormat(b, time.RFC3339)
	return append(b, '"')
}

func (t *timestamp) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	v, err := dec.ReadValue()
	if err != nil {
		return err
	}
	if v.Kind() == 'n' {
		*t = timestamp{}
		return nil
	}
	return t.parse(v)
}

// parse parses a JSON string holding an RFC 3339 time, as time.Parse
// does, and normalises it to UTC seconds.
func (t *timestamp) parse(v jsontext.Value) error {
	if v.Kind() != '"' {
		return valueError("want a time string such as 2026-01-02T15:04:05Z, found " + kindName(v.Kind()))
	}
	if t2, ok := parseCanonicalTime(v); ok {
		*t = timestamp(t2)
		return nil
	}
	s, err := jsontext.AppendUnquote(nil, v)
	if err != nil {
		return err
	}
	parsed, err := time.Parse(time.RFC3339, string(s))
	if err != nil {
		return valueError(strconv.Quote(string(s)) + " is not an RFC 3339 time such as 2026-01-02T15:04:05Z")
	}
	// 0000-01-01T00:00:00+01:00 is in year -1 in UTC, which cannot be
	// written back.
	if err := state.CheckTime(parsed); err != nil {
		return valueError(strconv.Quote(string(s)) + ": " + err.Error())
	}
	*t = timestamp(normTime(parsed))
	return nil
}

// parseCanonicalTime parses the quoted form Save writes,
// "YYYY-MM-DDTHH:MM:SSZ", without allocating: a million hits have a time
// each.
func parseCanonicalTime(s []byte) (time.Time, bool) {
	if len(s) != 22 || s[0] != '"' || s[21] != '"' {
		return time.Time{}, false
	}
	s = s[1:21]
	if s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z' {
		return time.Time{}, false
	}
	num := func(b []byte) int {
		n := 0
		for _, c := range b {
			if c < '0' || c > '9' {
				return -1
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	y, mo, dd, h, mi, sec := num(s[0:4]), num(s[5:7]), num(s[8:10]), num(s[11:13]), num(s[14:16]), num(s[17:19])
	if y < 0 || mo < 1 || mo > 12 || dd < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mo), dd, h, mi, sec, 0, time.UTC)
	if t.Day() != dd { // 31 April and the like
		return time.Time{}, false
	}
	return t, true
}

// normTime is t as a state file holds it: UTC, whole seconds.
func normTime(t time.Time) time.Time {
	return t.UTC().Truncate(time.Second)
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
