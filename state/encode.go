package state

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// Marshal returns the exact bytes Save writes for st: the JSON that
// encoding/json would produce for st with HTML escaping off and a two-space
// indent, plus a trailing newline. Map keys are sorted, struct fields keep
// their declaration order and times are written in UTC with second
// precision, so equal content always gives equal bytes.
//
// Marshal writes st.FormatVersion as FormatVersion: a state is always
// written in the format of this build.
func Marshal(st *State) ([]byte, error) {
	if err := validate(st); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := encode(&buf, st, st.Serial, st.PatwatchVersion); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// encode writes the canonical encoding of st, which validate has accepted,
// to w, with the given serial and patwatch version in the header. It
// streams: memory use does not grow with the size of the state.
func encode(w io.Writer, st *State, serial uint64, version string) error {
	e := &encoder{w: w, scratch: make([]byte, 0, 40<<10)}
	e.header(st, serial, version)
	e.body(st)
	return e.err
}

// encoder appends canonical JSON to a buffer that it writes out in chunks
// of about 32 KiB. The header is always written alone, in the first Write
// call. The first write error sticks and later writes are skipped.
type encoder struct {
	w       io.Writer
	scratch []byte
	err     error
}

func (e *encoder) flush() {
	if e.err == nil {
		_, e.err = e.w.Write(e.scratch)
	}
	e.scratch = e.scratch[:0]
}

// header writes everything up to and including the "searches" key, so that
// two encodings differing only in serial or version differ only in their
// headers.
func (e *encoder) header(st *State, serial uint64, version string) {
	b := e.scratch[:0]
	b = append(b, "{\n  \"format_version\": "...)
	b = strconv.AppendInt(b, FormatVersion, 10)
	b = append(b, ",\n  \"serial\": "...)
	b = strconv.AppendUint(b, serial, 10)
	b = append(b, ",\n  \"lineage\": "...)
	b = appendString(b, st.Lineage)
	b = append(b, ",\n  \"patwatch_version\": "...)
	b = appendString(b, version)
	b = append(b, ",\n"...)
	e.scratch = b
	e.flush()
}

// body writes the searches and reports and the closing brace.
func (e *encoder) body(st *State) {
	b := append(e.scratch, "  \"searches\": "...)
	if len(st.Searches) == 0 {
		b = append(b, "{}"...)
	} else {
		b = append(b, "{\n"...)
		for i, name := range sortedKeys(st.Searches) {
			s := st.Searches[name]
			if i > 0 {
				b = append(b, ",\n"...)
			}
			b = append(b, "    "...)
			b = appendString(b, name)
			b = append(b, ": {\n      \"fingerprint\": "...)
			b = appendString(b, s.Fingerprint)
			b = append(b, ",\n      \"baseline_at\": "...)
			b = appendTime(b, s.BaselineAt)
			b = append(b, ",\n      \"hits\": "...)
			if len(s.Hits) == 0 {
				b = append(b, "{}"...)
			} else {
				b = append(b, "{\n"...)
				for j, pn := range sortedKeys(s.Hits) {
					if j > 0 {
						b = append(b, ",\n"...)
					}
					b = appendHit(b, pn, s.Hits[pn])
					if len(b) >= 32<<10 {
						e.scratch = b
						e.flush()
						b = e.scratch
					}
				}
				b = append(b, "\n      }"...)
			}
			b = append(b, "\n    }"...)
		}
		b = append(b, "\n  }"...)
	}
	b = append(b, ",\n  \"reports\": "...)
	if len(st.Reports) == 0 {
		b = append(b, "{}"...)
	} else {
		b = append(b, "{\n"...)
		for i, name := range sortedKeys(st.Reports) {
			if i > 0 {
				b = append(b, ",\n"...)
			}
			b = appendReport(b, name, st.Reports[name])
		}
		b = append(b, "\n  }"...)
	}
	b = append(b, "\n}\n"...)
	e.scratch = b
	e.flush()
}

func appendHit(b []byte, pn string, h *Hit) []byte {
	const in = "\n          "
	b = append(b, "        "...)
	b = appendString(b, pn)
	b = append(b, ": {"+in+"\"first_seen\": "...)
	b = appendTime(b, h.FirstSeen)
	if h.Missing != 0 {
		b = append(b, ","+in+"\"missing\": "...)
		b = strconv.AppendInt(b, int64(h.Missing), 10)
	}
	b = appendField(b, in, "patent_id", h.PatentID)
	b = appendField(b, in, "title", h.Title)
	b = appendField(b, in, "current_assignee", h.CurrentAssignee)
	b = appendField(b, in, "apno", h.Apno)
	if h.Apdt != 0 {
		b = append(b, ","+in+"\"apdt\": "...)
		b = strconv.AppendInt(b, int64(h.Apdt), 10)
	}
	if h.Pbdt != 0 {
		b = append(b, ","+in+"\"pbdt\": "...)
		b = strconv.AppendInt(b, int64(h.Pbdt), 10)
	}
	return append(b, "\n        }"...)
}

func appendReport(b []byte, name string, r *Report) []byte {
	const in = "\n      "
	b = append(b, "    "...)
	b = appendString(b, name)
	b = append(b, ": {"...)
	first := true
	sep := func() {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, in...)
	}
	str := func(key, v string, omitEmpty bool) {
		if omitEmpty && v == "" {
			return
		}
		sep()
		b = append(b, '"')
		b = append(b, key...)
		b = append(b, "\": "...)
		b = appendString(b, v)
	}
	str("patent_number", r.PatentNumber, true)
	str("patent_id", r.PatentID, true)
	str("format", r.Format, false)
	sep()
	b = append(b, "\"logo\": "...)
	b = strconv.AppendBool(b, r.Logo)
	str("job_id", r.JobID, true)
	str("status", r.Status, false)
	sep()
	b = append(b, "\"submitted_at\": "...)
	b = appendTime(b, r.SubmittedAt)
	if !r.LinkExpiresAt.IsZero() {
		sep()
		b = append(b, "\"link_expires_at\": "...)
		b = appendTime(b, r.LinkExpiresAt)
	}
	str("file", r.File, true)
	str("sha256", r.SHA256, true)
	str("last_error", r.LastError, true)
	return append(b, "\n    }"...)
}

// appendField appends an omitempty string field preceded by a comma.
func appendField(b []byte, indent, key, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, ',')
	b = append(b, indent...)
	b = append(b, '"')
	b = append(b, key...)
	b = append(b, "\": "...)
	return appendString(b, v)
}

// appendTime appends t as a JSON string in UTC with second precision.
// validate has checked that its year fits in four digits.
func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.UTC().Truncate(time.Second).AppendFormat(b, time.RFC3339)
	return append(b, '"')
}

// appendString appends s as a JSON string exactly as encoding/json does
// with HTML escaping off: invalid UTF-8 becomes U+FFFD, and U+2028 and
// U+2029 are escaped for the sake of JavaScript.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
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
