package statefile

import (
	"bytes"
	encodingjson "encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/patwatch/patwatch/state"
)

// Format 1 is the state file as patwatch has written it from the start:
// one JSON object, indented by two spaces, members in the order of the
// structs below, map keys sorted by their bytes, times in UTC to the
// second, empty optional members left out, and the trailing newline of a
// JSON stream. Its bytes are pinned by testdata/*.golden.
//
// The structs here are the file's, separate from State, the state as
// patwatch uses it: a format 2 gets structs of its own in a file of its own
// and converts them to State, and this one stays as it is to read older
// files.

func init() { formats[1] = format{read: readV1, path: pathV1} }

type stateV1 struct {
	FormatVersion   int        `json:"format_version"`
	Serial          uint64     `json:"serial"`
	Lineage         textV1     `json:"lineage"`
	PatwatchVersion textV1     `json:"patwatch_version"`
	Searches        searchesV1 `json:"searches"`
	Reports         reportsV1  `json:"reports"`
}

type searchV1 struct {
	Fingerprint textV1 `json:"fingerprint"`
	BaselineAt  timeV1 `json:"baseline_at"`
	Hits        hitsV1 `json:"hits"` // of hitV1, by patent_pn
}

// hitV1 is a hit. The hits, a million in a large state, are read and
// written token by token rather than through this struct (see hitsV1); a
// test holds that code to the library's reading and writing of hitV1.
type hitV1 struct {
	FirstSeen       timeV1 `json:"first_seen"`
	Missing         int    `json:"missing,omitzero"`
	PatentID        textV1 `json:"patent_id,omitzero"`
	Title           textV1 `json:"title,omitzero"`
	CurrentAssignee textV1 `json:"current_assignee,omitzero"`
	Apno            textV1 `json:"apno,omitzero"`
	Apdt            int    `json:"apdt,omitzero"`
	Pbdt            int    `json:"pbdt,omitzero"`
}

type reportV1 struct {
	PatentNumber  textV1 `json:"patent_number,omitzero"`
	PatentID      textV1 `json:"patent_id,omitzero"`
	Format        textV1 `json:"format"`
	Logo          bool   `json:"logo"`
	JobID         textV1 `json:"job_id,omitzero"`
	Status        textV1 `json:"status"`
	SubmittedAt   timeV1 `json:"submitted_at"`
	LinkExpiresAt timeV1 `json:"link_expires_at,omitzero"`
	File          textV1 `json:"file,omitzero"`
	SHA256        textV1 `json:"sha256,omitzero"`
	LastError     textV1 `json:"last_error,omitzero"`
}

// codecV1 is one read or write of a format 1 file. The maps of searches,
// hits and reports are read and written member by member through it: a
// check (keep false) then holds one hit at a time, and a write sorts the
// keys without copying the state.
type codecV1 struct {
	in      *input
	keep    bool
	problem error // the first object that is incomplete or inconsistent, reported if nothing worse is found

	// Reading hits: the text of one hit and its key, and in a check, the
	// keys of one search's hits.
	arena []byte
	key   []byte
	pns   keySet
	hit   state.Hit // the hit being checked

	out     *Layout // write: told where the parts went
	invalid error   // write: a hit that validateHit refuses
}

// fail records that the object at offset at, read in full, is not valid.
// Reading goes on, so that malformed JSON or an unknown field later in the
// file is what the error names: those are the problems a hand edit makes.
func (c *codecV1) fail(at int64, format string, args ...any) {
	if c.problem == nil {
		c.problem = c.in.contentAt(at, format, args...)
	}
}

// readV1 reads a format 1 file.
func readV1(in *input, keep bool) (*state.State, Header, error) {
	c := &codecV1{in: in, keep: keep}
	v := stateV1{Searches: searchesV1{c: c}, Reports: reportsV1{c: c}}
	dec := in.decoder()
	err := json.UnmarshalDecode(dec, &v)
	if err == nil {
		err = finish(in, dec)
	}
	h := Header{FormatVersion: v.FormatVersion, Serial: v.Serial, Lineage: string(v.Lineage), PatwatchVersion: string(v.PatwatchVersion)}
	if err != nil {
		return nil, h, readError(in, err)
	}
	if c.problem != nil {
		return nil, h, c.problem
	}
	if !keep {
		return nil, h, nil
	}
	st := &state.State{
		FormatVersion: v.FormatVersion, Serial: v.Serial, Lineage: h.Lineage, PatwatchVersion: h.PatwatchVersion,
		Searches: v.Searches.m, Reports: v.Reports.m,
	}
	if st.Searches == nil {
		st.Searches = map[string]*state.Search{}
	}
	if st.Reports == nil {
		st.Reports = map[string]*state.Report{}
	}
	return st, h, nil
}

// writeV1 writes st, which validate has accepted but for its hits, in
// format 1 to w, with the given serial and patwatch version in its header,
// and records in e the length of the header (the bytes before the
// searches, which are all that the serial and the version change) and
// where each search starts. Once e.alone is set, it keeps to one
// goroutine.
func writeV1(w io.Writer, st *state.State, serial uint64, version string, e *Layout) error {
	c := &codecV1{out: e}
	v := stateV1{
		FormatVersion: 1, Serial: serial, Lineage: textV1(st.Lineage), PatwatchVersion: textV1(version),
		Searches: searchesV1{c: c, m: st.Searches}, Reports: reportsV1{c: c, m: st.Reports},
	}
	enc := jsontext.NewEncoder(w,
		jsontext.WithIndent("  "),
		jsontext.PreserveRawStrings(true),  // keep textV1's escapes of invalid UTF-8
		jsontext.AllowDuplicateNames(true), // the names are a map's keys: checking them is all cost
	)
	if err := json.MarshalEncode(enc, &v); err != nil {
		if c.invalid != nil {
			return c.invalid
		}
		return err
	}
	return nil
}

// pathV1 renders a JSON pointer into a format 1 file as the path in error
// messages: searches["name"].hits["CN1234S"].title.
func pathV1(ptr jsontext.Pointer) string {
	var b []byte
	var parent string
	i := 0
	for tok := range ptr.Tokens() {
		isKey := (i == 1 && (parent == "searches" || parent == "reports")) || (i == 3 && parent == "hits")
		switch {
		case isKey:
			b = append(b, '[')
			b = strconv.AppendQuote(b, tok)
			b = append(b, ']')
		case i > 0:
			b = append(b, '.')
			fallthrough
		default:
			b = append(b, tok...)
		}
		parent = tok
		i++
	}
	return string(b)
}

func searchPath(name string) string { return "searches[" + strconv.Quote(name) + "]" }

// members reads an object, or null, from dec, calling fn with the name and
// the offset of each member's value; fn reads the value.
func members(dec *jsontext.Decoder, fn func(name string, at int64) error) (null bool, err error) {
	switch k := dec.PeekKind(); k {
	case 'n':
		return true, dec.SkipValue()
	case '{':
	case 0:
		_, err := dec.ReadToken()
		return false, err
	default:
		return false, &json.SemanticError{JSONKind: k}
	}
	if _, err := dec.ReadToken(); err != nil {
		return false, err
	}
	for dec.PeekKind() != '}' {
		name, err := dec.ReadToken()
		if err != nil {
			return false, err
		}
		if err := fn(name.String(), valueAt(dec)); err != nil {
			return false, err
		}
	}
	_, err = dec.ReadToken()
	return false, err
}

// valueAt is the offset of the value that comes next, past the colon.
func valueAt(dec *jsontext.Decoder) int64 {
	dec.PeekKind()
	off := dec.InputOffset()
	for _, c := range dec.UnreadBuffer() {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != ':' {
			break
		}
		off++
	}
	return off
}

// searchesV1 is the searches object.
type searchesV1 struct {
	c *codecV1
	m map[string]*state.Search
}

func (s *searchesV1) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	c := s.c
	if c.keep {
		s.m = map[string]*state.Search{}
	}
	_, err := members(dec, func(name string, at int64) error {
		if c.in.stopped() {
			return errStopped
		}
		if name == "" {
			c.fail(at, "searches: empty search name")
		}
		if _, dup := slices.BinarySearch(c.in.before, name); dup {
			return c.in.contentAt(at, "searches: duplicate search %q", name)
		}
		if dec.PeekKind() == 'n' {
			c.fail(at, "%s: null", searchPath(name))
			return dec.SkipValue()
		}
		v := searchV1{Hits: hitsV1{c: c, search: name}}
		if err := json.UnmarshalDecode(dec, &v); err != nil {
			return err
		}
		if search := c.search(name, at, &v); c.keep {
			s.m[name] = search
		}
		return nil
	})
	return err
}

// search checks a search that was read and converts it to a Search.
func (c *codecV1) search(name string, at int64, v *searchV1) *state.Search {
	p := searchPath(name)
	switch {
	case !v.Hits.seen:
		c.fail(at, "%s: no hits field; a search without hits has \"hits\": {}", p)
	case v.Hits.null:
		c.fail(at, "%s.hits: null; a search without hits has \"hits\": {}", p)
	}
	if v.Fingerprint == "" {
		c.fail(at, "%s: no fingerprint", p)
	} else if !state.IsFingerprint(string(v.Fingerprint)) {
		c.fail(at, "%s.fingerprint: %q is not sha256: and 64 lower-case hex digits", p, v.Fingerprint)
	}
	if time.Time(v.BaselineAt).IsZero() {
		c.fail(at, "%s: no baseline_at, or the zero time", p)
	}
	return &state.Search{Fingerprint: string(v.Fingerprint), BaselineAt: time.Time(v.BaselineAt), Hits: v.Hits.m}
}

func (s *searchesV1) MarshalJSONTo(enc *jsontext.Encoder) error {
	out := s.c.out
	out.header = enc.OutputOffset()
	names := sortedKeys(s.m)
	hits := buildHits(names, s.m, &out.alone)
	defer hits.stop()
	if err := enc.WriteToken(jsontext.BeginObject); err != nil {
		return err
	}
	for _, name := range names {
		src := s.m[name]
		quoted := appendText(enc.AvailableBuffer(), name)
		if err := enc.WriteValue(quoted); err != nil {
			return err
		}
		out.searches = append(out.searches, member{enc.OutputOffset() - int64(len(quoted)), name})
		raw, err := hits.next()
		if err != nil {
			s.c.invalid = fmt.Errorf("%s.hits%w", searchPath(name), err)
			return s.c.invalid
		}
		v := searchV1{Fingerprint: textV1(src.Fingerprint), BaselineAt: timeV1(src.BaselineAt), Hits: hitsV1{raw: raw}}
		if err := json.MarshalEncode(enc, &v); err != nil {
			return err
		}
		hits.recycle(v.Hits.raw)
	}
	return enc.WriteToken(jsontext.EndObject)
}

// hitsPipe builds the hits objects of the searches, in order, in the
// background, a few searches ahead of the encoder, which then only checks
// and indents them: on two cores a save that changes nothing takes half
// the time. It reads the state alongside the encoder and changes nothing.
// Once alone is set, the building stops and the encoder builds the rest
// itself, leaving the other core to whatever asked for it.
type hitsPipe struct {
	names []string
	m     map[string]*state.Search
	built chan built
	free  chan []byte
	quit  chan struct{}
	wg    sync.WaitGroup

	n     int    // searches the encoder has had
	own   []byte // the encoder's buffer, once it builds
	piped bool   // the last object came from built
}

const hitsAhead = 3 // the buffers in use: one encoded, the others built

func buildHits(names []string, m map[string]*state.Search, alone *atomic.Bool) *hitsPipe {
	p := &hitsPipe{names: names, m: m, built: make(chan built, hitsAhead), free: make(chan []byte, hitsAhead), quit: make(chan struct{})}
	for range hitsAhead {
		p.free <- nil
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer close(p.built)
		for _, name := range names {
			if alone.Load() {
				return
			}
			var b []byte
			select {
			case b = <-p.free:
			case <-p.quit:
				return
			}
			b, err := appendHits(b[:0], m[name].Hits)
			select {
			case p.built <- built{b, err}:
			case <-p.quit:
				return
			}
		}
	}()
	return p
}

// built is the hits object of a search, or why it is not valid.
type built struct {
	b   []byte
	err error
}

// next returns the hits object of the next search.
func (p *hitsPipe) next() ([]byte, error) {
	h, ok := <-p.built
	p.piped = ok
	if !ok { // the building stopped
		h.b, h.err = appendHits(p.own[:0], p.m[p.names[p.n]].Hits)
		p.own = h.b
	}
	p.n++
	return h.b, h.err
}

// recycle returns the buffer that next returned once the encoder is done
// with it.
func (p *hitsPipe) recycle(b []byte) {
	if p.piped {
		p.free <- b
	}
}

// stop ends the building and waits for it.
func (p *hitsPipe) stop() {
	close(p.quit)
	p.wg.Wait()
}

// hitsV1 is the hits object of a search. It is read and written token by
// token, without reflection: for a million hits, reflection and the
// library's check for duplicate names, which keeps a copy of every name,
// took half the time of a load and as much memory again as the hits'
// text. Duplicates are found with the map being built instead, and the
// members of each hit are those of hitV1.
type hitsV1 struct {
	c      *codecV1
	search string
	m      map[string]*state.Hit
	seen   bool   // read: the search has a hits member
	null   bool   // read: and it is null
	raw    []byte // write: the hits as compact JSON
}

func (h *hitsV1) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	h.seen = true
	return json.UnmarshalDecode(dec, (*hitsReader)(h), jsontext.AllowDuplicateNames(true))
}

// hitsReader reads hits from a decoder that does not check for duplicate
// names.
type hitsReader hitsV1

func (h *hitsReader) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	return h.c.readHits((*hitsV1)(h), dec)
}

func (c *codecV1) readHits(h *hitsV1, dec *jsontext.Decoder) error {
	switch k := dec.PeekKind(); k {
	case 'n':
		h.null = true
		return dec.SkipValue()
	case 0:
		_, err := dec.ReadToken()
		return err
	case '{':
	default:
		return &json.SemanticError{JSONKind: k}
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	p := searchPath(h.search)
	if c.keep {
		h.m = map[string]*state.Hit{}
	} else {
		c.pns.reset()
	}
	for dec.PeekKind() != '}' {
		raw, err := dec.ReadValue()
		if err != nil {
			return err
		}
		at := dec.InputOffset() - int64(len(raw))
		if c.key, err = jsontext.AppendUnquote(c.key[:0], raw); err != nil {
			return err
		}
		switch {
		case len(c.key) == 0:
			return c.in.contentAt(at, "%s.hits: empty patent_pn", p)
		case c.keep && h.m[string(c.key)] != nil, !c.keep && !c.pns.add(c.key):
			return c.in.contentAt(at, "%s.hits: duplicate patent_pn %q", p, c.key)
		}
		// The hit's strings are gathered in the arena and allocated as one
		// string: a million hits make five million small strings otherwise.
		c.arena = append(c.arena[:0], c.key...)
		hit := &c.hit
		if c.keep {
			hit = new(state.Hit)
		}
		spans, err := c.readHit(dec, hit, func() string { return p + ".hits[" + strconv.Quote(string(c.arena[:len(c.key)])) + "]" })
		if err != nil {
			return err
		}
		if c.keep {
			all := string(c.arena)
			hit.PatentID = all[spans[0][0]:spans[0][1]]
			hit.Title = all[spans[1][0]:spans[1][1]]
			hit.CurrentAssignee = all[spans[2][0]:spans[2][1]]
			hit.Apno = all[spans[3][0]:spans[3][1]]
			h.m[all[:len(c.key)]] = hit
		}
	}
	_, err := dec.ReadToken()
	return err
}

// keySet finds a duplicate among the keys of one object, in a check,
// which builds no map. Keys in ascending order, as Save writes them, have
// none, which takes a comparison with the last key to know; at the first
// key out of order the set puts the keys so far in a map. Once warm it
// allocates nothing for a file Save wrote.
type keySet struct {
	keys   []byte // the keys in order so far, back to back
	ends   []int  // where each ends in keys
	m      map[string]struct{}
	mapped bool // a key came out of order: m holds the keys
}

func (s *keySet) reset() {
	s.keys, s.ends, s.mapped = s.keys[:0], s.ends[:0], false
	clear(s.m)
}

// add adds k and reports whether it was new.
func (s *keySet) add(k []byte) bool {
	if !s.mapped {
		if len(s.ends) == 0 || bytes.Compare(k, s.keys[s.last():]) > 0 {
			s.keys = append(s.keys, k...)
			s.ends = append(s.ends, len(s.keys))
			return true
		}
		s.mapped = true
		if s.m == nil {
			s.m = map[string]struct{}{}
		}
		start := 0
		for _, end := range s.ends {
			s.m[string(s.keys[start:end])] = struct{}{}
			start = end
		}
	}
	if _, dup := s.m[string(k)]; dup {
		return false
	}
	s.m[string(k)] = struct{}{}
	return true
}

// last is where the last key starts in keys.
func (s *keySet) last() int {
	if len(s.ends) < 2 {
		return 0
	}
	return s.ends[len(s.ends)-2]
}

// hitFields are hitV1's members, in its order; its strings are those at
// indexes 2 to 5.
var hitFields = [...]string{"first_seen", "missing", "patent_id", "title", "current_assignee", "apno", "apdt", "pbdt"}

// readHit reads one hit into h, except its strings, which it appends to
// c.arena and returns the spans of: patent_id, title, current_assignee and
// apno. The path of the hit is built only for an error.
func (c *codecV1) readHit(dec *jsontext.Decoder, h *state.Hit, hitPath func() string) (spans [4][2]int, err error) {
	switch k := dec.PeekKind(); k {
	case '{':
	case 0:
		_, err := dec.ReadToken()
		return spans, err
	default:
		at := valueAt(dec)
		if k == 'n' {
			return spans, c.in.contentAt(at, "%s: null", hitPath())
		}
		return spans, c.in.contentAt(at, "%s: want an object, found %s", hitPath(), kindName(k))
	}
	if _, err := dec.ReadToken(); err != nil {
		return spans, err
	}
	seen := 0
	for dec.PeekKind() != '}' {
		raw, err := dec.ReadValue()
		if err != nil {
			return spans, err
		}
		nameAt := dec.InputOffset() - int64(len(raw))
		f := -1
		for i, name := range hitFields {
			if len(raw) == len(name)+2 && string(raw[1:len(raw)-1]) == name {
				f = i
				break
			}
		}
		if f < 0 {
			name, err := jsontext.AppendUnquote(nil, raw)
			if err != nil {
				return spans, err
			}
			for i, n := range hitFields {
				if string(name) == n {
					f = i
				}
			}
			if f < 0 {
				return spans, c.in.contentAt(nameAt, "%s: unknown field %q", hitPath(), name)
			}
		}
		if seen&(1<<f) != 0 {
			return spans, c.in.contentAt(nameAt, "%s: duplicate field %q", hitPath(), hitFields[f])
		}
		seen |= 1 << f
		fpath := func() string { return hitPath() + "." + hitFields[f] }
		v, err := dec.ReadValue()
		if err != nil {
			return spans, err
		}
		valueAt := dec.InputOffset() - int64(len(v))
		switch f {
		case 0:
			if v.Kind() != 'n' {
				var t timeV1
				if err := t.parse(v); err != nil {
					return spans, c.in.contentAt(valueAt, "%s: %v", fpath(), err)
				}
				h.FirstSeen = time.Time(t)
			}
		case 1, 6, 7:
			n, ok := parseCount(v)
			if !ok {
				return spans, c.in.contentAt(valueAt, "%s: %s is not an integer between 0 and %d", fpath(), valueText(v), state.MaxCount)
			}
			switch f {
			case 1:
				h.Missing = n
			case 6:
				h.Apdt = n
			case 7:
				h.Pbdt = n
			}
		default:
			switch v.Kind() {
			case 'n':
			case '"':
				if c.keep {
					i := f - 2
					spans[i][0] = len(c.arena)
					if c.arena, err = jsontext.AppendUnquote(c.arena, v); err != nil {
						return spans, err
					}
					spans[i][1] = len(c.arena)
				}
			default:
				return spans, c.in.contentAt(valueAt, "%s: want a string, found %s", fpath(), kindName(v.Kind()))
			}
		}
	}
	_, err = dec.ReadToken()
	return spans, err
}

// parseCount parses a JSON value that must be null (0) or an integer
// between 0 and state.MaxCount.
func parseCount(v jsontext.Value) (int, bool) {
	if v.Kind() == 'n' {
		return 0, true
	}
	if string(v) == "-0" {
		return 0, true // as the library reads it
	}
	if v.Kind() != '0' || len(v) > 10 {
		return 0, false
	}
	n := 0
	for _, d := range v {
		if d < '0' || d > '9' {
			return 0, false
		}
		n = n*10 + int(d-'0')
	}
	return n, n <= state.MaxCount
}

// valueText is a JSON value as a message shows it.
func valueText(v jsontext.Value) string {
	if v.Kind() == '"' || v.Kind() == '0' {
		return string(v)
	}
	return kindName(v.Kind())
}

// MarshalJSONTo writes a search's hits, which buildHits has turned into
// compact JSON with the library's quoting; the encoder checks and indents
// them.
func (h *hitsV1) MarshalJSONTo(enc *jsontext.Encoder) error {
	return enc.WriteValue(h.raw)
}

// appendHits appends m as a compact JSON object of hitV1 values, after
// validateHit has accepted each.
func appendHits(b []byte, m map[string]*state.Hit) ([]byte, error) {
	b = append(b, '{')
	for i, pn := range sortedKeys(m) {
		x := m[pn]
		if err := state.ValidateHit(pn, x); err != nil {
			return b, err
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = appendText(b, pn)
		b = append(b, `:{"first_seen":`...)
		b = timeV1(x.FirstSeen).appendJSON(b)
		b = appendCount(b, `,"missing":`, x.Missing)
		b = appendOptText(b, `,"patent_id":`, x.PatentID)
		b = appendOptText(b, `,"title":`, x.Title)
		b = appendOptText(b, `,"current_assignee":`, x.CurrentAssignee)
		b = appendOptText(b, `,"apno":`, x.Apno)
		b = appendCount(b, `,"apdt":`, x.Apdt)
		b = appendCount(b, `,"pbdt":`, x.Pbdt)
		b = append(b, '}')
	}
	return append(b, '}'), nil
}

func appendCount(b []byte, name string, n int) []byte {
	if n == 0 {
		return b
	}
	return strconv.AppendInt(append(b, name...), int64(n), 10)
}

func appendOptText(b []byte, name, s string) []byte {
	if s == "" {
		return b
	}
	return appendText(append(b, name...), s)
}

// reportsV1 is the reports object.
type reportsV1 struct {
	c *codecV1
	m map[string]*state.Report
}

func (s *reportsV1) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	c := s.c
	s.m = map[string]*state.Report{}
	_, err := members(dec, func(name string, at int64) error {
		if name == "" {
			c.fail(at, "reports: empty report name")
		}
		if dec.PeekKind() == 'n' {
			c.fail(at, "reports[%q]: null", name)
			return dec.SkipValue()
		}
		var v reportV1
		if err := json.UnmarshalDecode(dec, &v); err != nil {
			return err
		}
		r := &state.Report{
			PatentNumber: string(v.PatentNumber), PatentID: string(v.PatentID), Format: string(v.Format), Logo: v.Logo,
			JobID: string(v.JobID), Status: string(v.Status), SubmittedAt: time.Time(v.SubmittedAt), LinkExpiresAt: time.Time(v.LinkExpiresAt),
			File: string(v.File), SHA256: string(v.SHA256), LastError: string(v.LastError),
		}
		if err := state.ValidateReport(name, r); err != nil {
			c.fail(at, "%v", err)
		}
		s.m[name] = r
		return nil
	})
	return err
}

func (s *reportsV1) MarshalJSONTo(enc *jsontext.Encoder) error {
	if err := enc.WriteToken(jsontext.BeginObject); err != nil {
		return err
	}
	for _, name := range sortedKeys(s.m) {
		r := s.m[name]
		if err := writeName(enc, name); err != nil {
			return err
		}
		v := reportV1{
			PatentNumber: textV1(r.PatentNumber), PatentID: textV1(r.PatentID), Format: textV1(r.Format), Logo: r.Logo,
			JobID: textV1(r.JobID), Status: textV1(r.Status), SubmittedAt: timeV1(normTime(r.SubmittedAt)), LinkExpiresAt: timeV1(normTime(r.LinkExpiresAt)),
			File: textV1(r.File), SHA256: textV1(r.SHA256), LastError: textV1(r.LastError),
		}
		if err := json.MarshalEncode(enc, &v); err != nil {
			return err
		}
	}
	return enc.WriteToken(jsontext.EndObject)
}

// textV1 is a string in a format 1 file. It is written as encoding/json
// writes it (as format 1 always was), which differs from the JSON library
// in two ways: U+2028 and U+2029 are escaped, for JavaScript's sake, and
// each byte of invalid UTF-8 becomes the escape \ufffd rather than the
// character itself. A file holds valid UTF-8 only, so such text comes from
// memory, never from a file that was read.
type textV1 string

func (t *textV1) MarshalJSONTo(enc *jsontext.Encoder) error {
	return writeText(enc, string(*t))
}

// writeName writes a member name as textV1 writes a string.
func writeName(enc *jsontext.Encoder, s string) error {
	return writeText(enc, s)
}

func writeText(enc *jsontext.Encoder, s string) error {
	return enc.WriteValue(appendText(enc.AvailableBuffer(), s))
}

// appendText appends s quoted as textV1 writes it.
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

// timeV1 is a time in a format 1 file: RFC 3339, written in UTC to the
// second. One read with another offset or a fraction is kept so.
type timeV1 time.Time

func (t *timeV1) MarshalJSONTo(enc *jsontext.Encoder) error {
	return enc.WriteValue(t.appendJSON(enc.AvailableBuffer()))
}

func (t timeV1) appendJSON(b []byte) []byte {
	b = append(b, '"')
	b = normTime(time.Time(t)).AppendFormat(b, time.RFC3339)
	return append(b, '"')
}

func (t *timeV1) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	v, err := dec.ReadValue()
	if err != nil {
		return err
	}
	if v.Kind() == 'n' {
		*t = timeV1{}
		return nil
	}
	return t.parse(v)
}

// parse parses a JSON string holding an RFC 3339 time, as time.Parse
// does, and normalises it to UTC seconds.
func (t *timeV1) parse(v jsontext.Value) error {
	if v.Kind() != '"' {
		return valueError("want a time string such as 2026-01-02T15:04:05Z, found " + kindName(v.Kind()))
	}
	if t2, ok := parseCanonicalTime(v); ok {
		*t = timeV1(t2)
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
	*t = timeV1(normTime(parsed))
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
