package state

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync/atomic"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// The decoder is a strict, streaming JSON reader for the state format only.
// encoding/json would need the whole file in memory and reflection for each
// of a million hits; this reads through a fixed buffer and allocates little
// more than the strings it keeps. It rejects what encoding/json rejects
// (bad syntax, invalid escapes) and also unknown fields and duplicate keys,
// so that a hand edit with a typo is an error rather than silently dropped.

// syntaxError is malformed JSON at a position in the file.
type syntaxError struct {
	line, col int
	msg       string
	eof       bool // the input ended early
}

func (e *syntaxError) Error() string {
	return fmt.Sprintf("line %d, column %d: %s", e.line, e.col, e.msg)
}

// contentError is well-formed JSON that is not a valid state.
type contentError struct {
	line, col int
	msg       string
}

func (e *contentError) Error() string {
	return fmt.Sprintf("line %d, column %d: %s", e.line, e.col, e.msg)
}

// errUnsorted is returned in check mode when an object's keys are not in
// ascending order, so duplicates cannot be ruled out without remembering
// every key; the caller then decodes fully instead.
var errUnsorted = errors.New("keys not sorted")

// errStopped ends a check that is no longer needed.
var errStopped = errors.New("check stopped")

// errHeaderDone ends quickHeader at the first field after the header.
var errHeaderDone = errors.New("header read")

type decoder struct {
	r    io.Reader
	buf  []byte
	pos  int // next unread byte in buf
	end  int // end of the valid bytes in buf
	rerr error

	base      int64 // file offset of buf[0]
	line      int   // line of buf[pos], from 1
	lineStart int64 // file offset of the first byte of that line

	keep    bool         // build the state; false: only check it
	stop    *atomic.Bool // when set, reading stops with errStopped
	scratch []byte       // unescaped string contents
	arena   []byte       // the strings of one hit, allocated together
	prevKey []byte       // check mode: the previous key of the current object
	key     []byte       // the current key, kept apart from buf, which moves
	num     []byte       // the current number's text, likewise
}

func newDecoder(r io.Reader, keep bool) *decoder {
	return &decoder{r: r, buf: make([]byte, 64<<10), line: 1, keep: keep}
}

// more reads more input, compacting the buffer first. It returns how far
// the unread bytes moved towards the start, and false at the end of input.
func (d *decoder) more() (shift int, ok bool) {
	if d.rerr == nil && d.stop != nil && d.stop.Load() {
		d.rerr = errStopped
	}
	if d.rerr != nil {
		return 0, false
	}
	if d.pos > 0 {
		shift = d.pos
		d.end = copy(d.buf, d.buf[d.pos:d.end])
		d.base += int64(d.pos)
		d.pos = 0
	}
	if d.end == len(d.buf) {
		d.buf = append(d.buf, make([]byte, len(d.buf))...)
	}
	for {
		n, err := d.r.Read(d.buf[d.end:])
		d.end += n
		if err != nil {
			d.rerr = err
			return shift, n > 0
		}
		if n > 0 {
			return shift, true
		}
	}
}

func (d *decoder) offset() int64 { return d.base + int64(d.pos) }

func (d *decoder) syntaxErr(format string, args ...any) error {
	if d.rerr != nil && d.rerr != io.EOF {
		return d.rerr
	}
	return &syntaxError{line: d.line, col: int(d.offset()-d.lineStart) + 1, msg: fmt.Sprintf(format, args...)}
}

func (d *decoder) eofErr() error {
	if d.rerr != nil && d.rerr != io.EOF {
		return d.rerr
	}
	return &syntaxError{line: d.line, col: int(d.offset()-d.lineStart) + 1, msg: "unexpected end of input", eof: true}
}

// at returns a contentError at pos, the offset where the value began.
func (d *decoder) at(pos position, format string, args ...any) error {
	return &contentError{line: pos.line, col: pos.col, msg: fmt.Sprintf(format, args...)}
}

type position struct{ line, col int }

func (d *decoder) pos0() position {
	return position{d.line, int(d.offset()-d.lineStart) + 1}
}

// peek skips white space and returns the next byte without consuming it.
func (d *decoder) peek() (byte, error) {
	for {
		for d.pos < d.end {
			c := d.buf[d.pos]
			switch c {
			case ' ', '\t', '\r':
				d.pos++
			case '\n':
				d.pos++
				d.line++
				d.lineStart = d.offset()
			default:
				return c, nil
			}
		}
		if _, ok := d.more(); !ok {
			return 0, d.eofErr()
		}
	}
}

func (d *decoder) expect(want byte) error {
	c, err := d.peek()
	if err != nil {
		return err
	}
	if c != want {
		return d.syntaxErr("want %q, found %s", want, describe(c))
	}
	d.pos++
	return nil
}

func describe(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return strconv.QuoteRune(rune(c))
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

// object reads an object, calling fn with each key; fn must consume the
// value. The key slice is valid only until fn reads another object.
func (d *decoder) object(fn func(key []byte) error) error {
	if err := d.expect('{'); err != nil {
		return err
	}
	c, err := d.peek()
	if err != nil {
		return err
	}
	if c == '}' {
		d.pos++
		return nil
	}
	for {
		key, err := d.str()
		if err != nil {
			return err
		}
		d.key = append(d.key[:0], key...)
		if err := d.expect(':'); err != nil {
			return err
		}
		if err := fn(d.key); err != nil {
			return err
		}
		c, err := d.peek()
		if err != nil {
			return err
		}
		d.pos++
		switch c {
		case ',':
			if _, err := d.peek(); err != nil {
				return err
			}
		case '}':
			return nil
		default:
			d.pos--
			return d.syntaxErr("want ',' or '}' after an object member, found %s", describe(c))
		}
	}
}

// str reads a string and returns its contents, valid until the next read.
func (d *decoder) str() ([]byte, error) {
	c, err := d.peek()
	if err != nil {
		return nil, err
	}
	if c != '"' {
		return nil, d.syntaxErr("want a string, found %s", describe(c))
	}
	i := d.pos + 1
	for {
		for i < d.end {
			c := d.buf[i]
			if c == '"' {
				s := d.buf[d.pos+1 : i]
				if !utf8.Valid(s) {
					return nil, d.syntaxErr("invalid UTF-8 in string")
				}
				d.pos = i + 1
				return s, nil
			}
			if c == '\\' {
				return d.escaped(i)
			}
			if c < 0x20 {
				d.pos = i
				return nil, d.syntaxErr("control character %s in string", describe(c))
			}
			i++
		}
		shift, ok := d.more()
		i -= shift
		if !ok {
			d.pos = d.end
			return nil, d.eofErr()
		}
	}
}

// escaped finishes reading a string that has an escape at buf[i], unescaping
// it into d.scratch.
func (d *decoder) escaped(i int) ([]byte, error) {
	s := append(d.scratch[:0], d.buf[d.pos+1:i]...)
	d.pos = i
	need := func(n int) bool {
		for d.end-d.pos < n {
			if _, ok := d.more(); !ok {
				return false
			}
		}
		return true
	}
	for {
		if !need(1) {
			d.pos = d.end
			return nil, d.eofErr()
		}
		c := d.buf[d.pos]
		switch {
		case c == '"':
			d.pos++
			d.scratch = s
			if !utf8.Valid(s) {
				return nil, d.syntaxErr("invalid UTF-8 in string")
			}
			return s, nil
		case c < 0x20:
			return nil, d.syntaxErr("control character %s in string", describe(c))
		case c != '\\':
			s = append(s, c)
			d.pos++
			continue
		}
		if !need(2) {
			d.pos = d.end
			return nil, d.eofErr()
		}
		switch e := d.buf[d.pos+1]; e {
		case '"', '\\', '/':
			s = append(s, e)
		case 'b':
			s = append(s, '\b')
		case 'f':
			s = append(s, '\f')
		case 'n':
			s = append(s, '\n')
		case 'r':
			s = append(s, '\r')
		case 't':
			s = append(s, '\t')
		case 'u':
			r, n, err := d.unicode(need)
			if err != nil {
				return nil, err
			}
			s = utf8.AppendRune(s, r)
			d.pos += n
			continue
		default:
			return nil, d.syntaxErr("invalid escape \\%c in string", e)
		}
		d.pos += 2
	}
}

// unicode decodes a \uXXXX escape at d.pos, with its low surrogate if it
// is a high one, and returns the rune and the bytes it spans. Lone
// surrogates become U+FFFD, as in encoding/json.
func (d *decoder) unicode(need func(int) bool) (rune, int, error) {
	if !need(6) {
		d.pos = d.end
		return 0, 0, d.eofErr()
	}
	r, ok := hex4(d.buf[d.pos+2 : d.pos+6])
	if !ok {
		return 0, 0, d.syntaxErr("invalid \\u escape in string")
	}
	if !utf16.IsSurrogate(r) {
		return r, 6, nil
	}
	if need(12) && d.buf[d.pos+6] == '\\' && d.buf[d.pos+7] == 'u' {
		if r2, ok := hex4(d.buf[d.pos+8 : d.pos+12]); ok {
			if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
				return dec, 12, nil
			}
		}
	}
	return utf8.RuneError, 6, nil
}

func hex4(b []byte) (rune, bool) {
	var r rune
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// null consumes a null if one comes next.
func (d *decoder) null() (bool, error) {
	c, err := d.peek()
	if err != nil || c != 'n' {
		return false, err
	}
	return true, d.literal("null")
}

func (d *decoder) literal(lit string) error {
	for d.end-d.pos < len(lit) {
		if _, ok := d.more(); !ok {
			if bytes.HasPrefix([]byte(lit), d.buf[d.pos:d.end]) {
				d.pos = d.end
				return d.eofErr()
			}
			break
		}
	}
	if d.end-d.pos < len(lit) || string(d.buf[d.pos:d.pos+len(lit)]) != lit {
		return d.syntaxErr("invalid literal")
	}
	d.pos += len(lit)
	return d.delimited()
}

// delimited checks that a number or literal is not run together with what
// follows it.
func (d *decoder) delimited() error {
	if d.pos == d.end {
		if _, ok := d.more(); !ok {
			return nil
		}
	}
	switch d.buf[d.pos] {
	case ' ', '\t', '\r', '\n', ',', '}', ']':
		return nil
	}
	return d.syntaxErr("unexpected %s after a value", describe(d.buf[d.pos]))
}

// number reads a JSON number and returns its text, valid until the next
// number.
func (d *decoder) number() ([]byte, error) {
	if _, err := d.peek(); err != nil {
		return nil, err
	}
	i := d.pos
scan:
	for {
		for i < d.end {
			c := d.buf[i]
			if (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' {
				i++
				continue
			}
			break scan
		}
		shift, ok := d.more()
		i -= shift
		if !ok {
			break
		}
	}
	d.num = append(d.num[:0], d.buf[d.pos:i]...)
	if !validNumber(d.num) {
		return nil, d.syntaxErr("invalid number %q", d.num)
	}
	d.pos = i
	return d.num, d.delimited()
}

// validNumber reports whether b is a number in JSON's grammar.
func validNumber(b []byte) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i == len(b) || b[i] < '0' || b[i] > '9' {
			return false
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i == len(b) || b[i] < '0' || b[i] > '9' {
			return false
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	return i == len(b)
}

// integer reads a number that must be a non-negative integer no larger
// than max.
func (d *decoder) integer(max uint64) (uint64, error) {
	p := d.pos0()
	text, err := d.number()
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(string(text), 10, 64)
	if err != nil || n > max {
		return 0, d.at(p, "%s is not an integer between 0 and %d", text, max)
	}
	return n, nil
}

func (d *decoder) boolean() (bool, error) {
	c, err := d.peek()
	if err != nil {
		return false, err
	}
	switch c {
	case 't':
		return true, d.literal("true")
	case 'f':
		return false, d.literal("false")
	}
	return false, d.syntaxErr("want true or false, found %s", describe(c))
}

// text reads a string or null ("") and allocates it.
func (d *decoder) text() (string, error) {
	if null, err := d.null(); null || err != nil {
		return "", err
	}
	s, err := d.str()
	return string(s), err
}

// time reads a time string: RFC 3339, stored in UTC to the second.
func (d *decoder) time() (time.Time, error) {
	if null, err := d.null(); null || err != nil {
		return time.Time{}, err
	}
	p := d.pos0()
	s, err := d.str()
	if err != nil {
		return time.Time{}, err
	}
	if t, ok := parseCanonicalTime(s); ok {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, string(s))
	if err != nil {
		return time.Time{}, d.at(p, "%q is not an RFC 3339 time such as 2026-01-02T15:04:05Z", s)
	}
	return normTime(t), nil
}

// parseCanonicalTime parses the form Save writes, YYYY-MM-DDTHH:MM:SSZ,
// faster than time.Parse.
func parseCanonicalTime(s []byte) (time.Time, bool) {
	if len(s) != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z' {
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

// skip reads and discards any value.
func (d *decoder) skip() error {
	c, err := d.peek()
	if err != nil {
		return err
	}
	switch c {
	case '{':
		return d.object(func([]byte) error { return d.skip() })
	case '[':
		d.pos++
		if c, err = d.peek(); err != nil {
			return err
		}
		if c == ']' {
			d.pos++
			return nil
		}
		for {
			if err := d.skip(); err != nil {
				return err
			}
			if c, err = d.peek(); err != nil {
				return err
			}
			d.pos++
			if c == ']' {
				return nil
			}
			if c != ',' {
				d.pos--
				return d.syntaxErr("want ',' or ']' in an array, found %s", describe(c))
			}
		}
	case '"':
		_, err := d.str()
		return err
	case 't':
		return d.literal("true")
	case 'f':
		return d.literal("false")
	case 'n':
		return d.literal("null")
	}
	_, err = d.number()
	return err
}

// finish checks that nothing but white space follows the top-level value.
func (d *decoder) finish() error {
	c, err := d.peek()
	if err != nil {
		var se *syntaxError
		if errors.As(err, &se) && se.eof {
			return nil
		}
		return err
	}
	return d.syntaxErr("unexpected %s after the end of the state", describe(c))
}

// keySet detects duplicate keys in one object. In keep mode the caller's
// map does that; in check mode ascending keys prove there is none.
type keySet struct {
	d     *decoder
	first bool
}

func (d *decoder) keys() keySet {
	d.prevKey = d.prevKey[:0]
	return keySet{d: d, first: true}
}

// next records key in check mode; it returns errUnsorted if key does not
// sort after the previous key.
func (k *keySet) next(key []byte) error {
	if k.d.keep {
		return nil
	}
	if !k.first && bytes.Compare(key, k.d.prevKey) <= 0 {
		return errUnsorted
	}
	k.first = false
	k.d.prevKey = append(k.d.prevKey[:0], key...)
	return nil
}

// header is what the top level of a state file says about itself.
type header struct {
	formatVersion   int
	sawVersion      bool
	serial          uint64
	lineage         string
	patwatchVersion string
}

// decodeState reads a whole state file. In check mode (keep false) it
// validates everything but keeps only the header, and may return
// errUnsorted.
func decodeState(r io.Reader, keep bool) (*State, header, error) {
	return decodeStateStop(r, keep, nil)
}

// decodeStateStop is decodeState that stops early once stop is set.
func decodeStateStop(r io.Reader, keep bool, stop *atomic.Bool) (*State, header, error) {
	d := newDecoder(r, keep)
	d.stop = stop
	var h header
	st := &State{Searches: map[string]*Search{}, Reports: map[string]*Report{}}
	c, err := d.peek()
	if err != nil {
		return nil, h, err
	}
	if c != '{' {
		return nil, h, d.syntaxErr("want a JSON object, found %s: not a patwatch state file", describe(c))
	}
	seen := map[string]bool{}
	var newer bool
	err = d.object(func(key []byte) error {
		p := d.pos0()
		k := string(key)
		if seen[k] {
			return d.at(p, "duplicate field %q", k)
		}
		seen[k] = true
		if newer && k != "patwatch_version" {
			return d.skip()
		}
		switch k {
		case "format_version":
			v, err := d.integer(1 << 31)
			if err != nil {
				return err
			}
			if v < 1 {
				return d.at(p, "format_version 0 is not a valid format")
			}
			h.formatVersion, h.sawVersion = int(v), true
			newer = v > FormatVersion
			return nil
		case "serial":
			v, err := d.integer(1<<64 - 1)
			h.serial = v
			return err
		case "lineage":
			s, err := d.text()
			h.lineage = s
			return err
		case "patwatch_version":
			s, err := d.text()
			h.patwatchVersion = s
			return err
		case "searches":
			return d.searches(st)
		case "reports":
			return d.reports(st)
		}
		return d.at(p, "unknown field %q", k)
	})
	if err == nil {
		err = d.finish()
	}
	if err != nil {
		return nil, h, err
	}
	if newer {
		return nil, h, &VersionError{FormatVersion: h.formatVersion, PatwatchVersion: h.patwatchVersion}
	}
	if !h.sawVersion {
		return nil, h, &contentError{line: 1, col: 1, msg: "no format_version field: not a patwatch state file"}
	}
	if h.lineage == "" {
		return nil, h, &contentError{line: 1, col: 1, msg: "no lineage"}
	}
	st.FormatVersion = h.formatVersion
	st.Serial = h.serial
	st.Lineage = h.lineage
	st.PatwatchVersion = h.patwatchVersion
	if !keep {
		return nil, h, nil
	}
	return st, h, nil
}

// quickHeader reads the header fields at the start of a state file in
// canonical order, stopping at the searches or reports. ok is false if the
// header is not all there before them, or says the file is in a newer
// format: the caller then checks the whole file.
func quickHeader(r io.Reader) (h header, ok bool) {
	d := newDecoder(r, false)
	err := d.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "format_version":
			var v uint64
			v, err = d.integer(1 << 31)
			h.formatVersion, h.sawVersion = int(v), true
		case "serial":
			h.serial, err = d.integer(1<<64 - 1)
		case "lineage":
			h.lineage, err = d.text()
		case "patwatch_version":
			h.patwatchVersion, err = d.text()
		default:
			return errHeaderDone
		}
		return err
	})
	ok = errors.Is(err, errHeaderDone) && h.sawVersion && h.formatVersion >= 1 && h.formatVersion <= FormatVersion && h.lineage != ""
	return h, ok
}

// skimHeader reads only the format and patwatch versions, skipping all
// else, for a file that failed to decode before its format_version was
// seen: it may be in a newer format whose fields this build does not know.
func skimHeader(r io.Reader) (header, error) {
	d := newDecoder(r, false)
	var h header
	err := d.object(func(key []byte) error {
		switch string(key) {
		case "format_version":
			v, err := d.integer(1 << 31)
			h.formatVersion, h.sawVersion = int(v), err == nil
			return err
		case "patwatch_version":
			s, err := d.text()
			h.patwatchVersion = s
			return err
		}
		return d.skip()
	})
	return h, err
}

func (d *decoder) searches(st *State) error {
	if null, err := d.null(); null || err != nil {
		return err
	}
	ks := d.keys()
	return d.object(func(key []byte) error {
		p := d.pos0()
		if err := ks.next(key); err != nil {
			return err
		}
		name := string(key)
		if name == "" {
			return d.at(p, "searches: empty search name")
		}
		if _, dup := st.Searches[name]; dup {
			return d.at(p, "searches: duplicate search %q", name)
		}
		s, err := d.search()
		if err != nil {
			return pathErr("searches["+strconv.Quote(name)+"]", err)
		}
		if d.keep {
			st.Searches[name] = s
		}
		return nil
	})
}

func (d *decoder) search() (*Search, error) {
	if null, err := d.null(); null || err != nil {
		if err == nil {
			err = d.at(d.pos0(), "null")
		}
		return nil, err
	}
	s := &Search{}
	seen := 0
	err := d.object(func(key []byte) error {
		p := d.pos0()
		var bit int
		var err error
		k := string(key) // reading hits reuses key
		switch k {
		case "fingerprint":
			bit = 1
			s.Fingerprint, err = d.text()
		case "baseline_at":
			bit = 2
			s.BaselineAt, err = d.time()
			err = pathErr(".baseline_at", err)
		case "hits":
			bit = 4
			s.Hits, err = d.hits()
			err = pathErr(".hits", err)
		default:
			return d.at(p, "unknown field %q", k)
		}
		if seen&bit != 0 {
			return d.at(p, "duplicate field %q", k)
		}
		seen |= bit
		return err
	})
	if s.Hits == nil {
		s.Hits = map[string]*Hit{}
	}
	return s, err
}

func (d *decoder) hits() (map[string]*Hit, error) {
	if null, err := d.null(); null || err != nil {
		return nil, err
	}
	var m map[string]*Hit
	if d.keep {
		m = map[string]*Hit{}
	}
	var scratch Hit
	ks := d.keys()
	err := d.object(func(key []byte) error {
		p := d.pos0()
		if err := ks.next(key); err != nil {
			return err
		}
		if len(key) == 0 {
			return d.at(p, "empty patent_pn")
		}
		// The hit's strings are gathered in d.arena and allocated as one
		// string: a million hits make five million small strings otherwise.
		d.arena = append(d.arena[:0], key...)
		h := &scratch
		if d.keep {
			h = &Hit{}
		} else {
			scratch = Hit{}
		}
		keyEnd, spans, err := d.hit(h)
		if err != nil {
			return pathErr("["+strconv.Quote(string(d.arena[:keyEnd]))+"]", err)
		}
		if !d.keep {
			return nil
		}
		all := string(d.arena)
		pn := all[:keyEnd]
		if _, dup := m[pn]; dup {
			return d.at(p, "duplicate patent_pn %q", pn)
		}
		h.PatentID = all[spans[0][0]:spans[0][1]]
		h.Title = all[spans[1][0]:spans[1][1]]
		h.CurrentAssignee = all[spans[2][0]:spans[2][1]]
		h.Apno = all[spans[3][0]:spans[3][1]]
		m[pn] = h
		return nil
	})
	return m, err
}

// hit reads one hit into h, except its strings, which it appends to
// d.arena after the key (in keep mode). It returns where in the arena the
// key ends and where patent_id, title, current_assignee and apno lie.
func (d *decoder) hit(h *Hit) (keyEnd int, spans [4][2]int, err error) {
	keyEnd = len(d.arena)
	if null, err := d.null(); null || err != nil {
		if err == nil {
			err = d.at(d.pos0(), "null")
		}
		return keyEnd, spans, err
	}
	seen := 0
	err = d.object(func(key []byte) error {
		p := d.pos0()
		var bit int
		var err error
		str := func(i int) {
			bit = 1 << (4 + i)
			if null, e := d.null(); null || e != nil {
				err = e
				return
			}
			var s []byte
			s, err = d.str()
			if err == nil && d.keep {
				spans[i][0] = len(d.arena)
				d.arena = append(d.arena, s...)
				spans[i][1] = len(d.arena)
			}
		}
		intField := func(dst *int) {
			if null, e := d.null(); null || e != nil {
				err = e
				return
			}
			var v uint64
			v, err = d.integer(1<<31 - 1)
			*dst = int(v)
		}
		switch string(key) {
		case "first_seen":
			bit = 1
			h.FirstSeen, err = d.time()
			err = pathErr(".first_seen", err)
		case "missing":
			bit = 2
			intField(&h.Missing)
			err = pathErr(".missing", err)
		case "apdt":
			bit = 4
			intField(&h.Apdt)
			err = pathErr(".apdt", err)
		case "pbdt":
			bit = 8
			intField(&h.Pbdt)
			err = pathErr(".pbdt", err)
		case "patent_id":
			str(0)
		case "title":
			str(1)
		case "current_assignee":
			str(2)
		case "apno":
			str(3)
		default:
			return d.at(p, "unknown field %q", key)
		}
		if seen&bit != 0 {
			return d.at(p, "duplicate field %q", key)
		}
		seen |= bit
		return err
	})
	return keyEnd, spans, err
}

func (d *decoder) reports(st *State) error {
	if null, err := d.null(); null || err != nil {
		return err
	}
	return d.object(func(key []byte) error {
		p := d.pos0()
		name := string(key)
		if name == "" {
			return d.at(p, "reports: empty report name")
		}
		if _, dup := st.Reports[name]; dup {
			return d.at(p, "reports: duplicate report %q", name)
		}
		r, err := d.report()
		if err == nil {
			err = validateReport(name, r)
			if err != nil {
				return d.at(p, "%v", err)
			}
		}
		if err != nil {
			return pathErr("reports["+strconv.Quote(name)+"]", err)
		}
		// Reports are few: kept in check mode too, to find duplicates.
		st.Reports[name] = r
		return nil
	})
}

func (d *decoder) report() (*Report, error) {
	if null, err := d.null(); null || err != nil {
		if err == nil {
			err = d.at(d.pos0(), "null")
		}
		return nil, err
	}
	r := &Report{}
	seen := map[string]bool{}
	err := d.object(func(key []byte) error {
		p := d.pos0()
		k := string(key)
		if seen[k] {
			return d.at(p, "duplicate field %q", k)
		}
		seen[k] = true
		var err error
		switch k {
		case "patent_number":
			r.PatentNumber, err = d.text()
		case "patent_id":
			r.PatentID, err = d.text()
		case "format":
			r.Format, err = d.text()
		case "logo":
			if null, e := d.null(); null || e != nil {
				return e
			}
			r.Logo, err = d.boolean()
		case "job_id":
			r.JobID, err = d.text()
		case "status":
			r.Status, err = d.text()
		case "submitted_at":
			r.SubmittedAt, err = d.time()
		case "link_expires_at":
			r.LinkExpiresAt, err = d.time()
		case "file":
			r.File, err = d.text()
		case "sha256":
			r.SHA256, err = d.text()
		case "last_error":
			r.LastError, err = d.text()
		default:
			return d.at(p, "unknown field %q", k)
		}
		return pathErr("."+k, err)
	})
	return r, err
}

// pathErr prefixes a content error's message with a path, joined directly
// to a following path element or with ": " to the message.
func pathErr(path string, err error) error {
	if err == nil {
		return nil
	}
	var ce *contentError
	if errors.As(err, &ce) {
		if len(ce.msg) > 0 && (ce.msg[0] == '.' || ce.msg[0] == '[') {
			ce.msg = path + ce.msg
		} else {
			ce.msg = path + ": " + ce.msg
		}
		return ce
	}
	return err
}
