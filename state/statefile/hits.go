package statefile

import (
	"bytes"
	"fmt"
	"strconv"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/patwatch/patwatch/state"
)

// The hit codec, the same in every format so far. A search's hits object
// holds its hits by patent_pn, each an object of the members in hitFields:
//
//	"CN305467890S": {"first_seen": "2026-03-16T09:26:53Z", "missing": 1, "title": "…", …}
//
// The hits are read and written token by token, without reflection: for a
// million hits, reflection and the library's check for duplicate names,
// which keeps a copy of every name, took half the time of a load and as
// much memory again as the hits' text. Duplicates are found with the map
// being built instead. FuzzHitsAgreeWithLibrary holds this code to the
// library's reading and writing of a struct of the same members.

// hitField is a member of a hit: its name and the field of state.Hit that
// holds it. Exactly one of time, count and text is set.
type hitField struct {
	name  string
	time  func(*state.Hit) *time.Time // a timestamp, always written
	count func(*state.Hit) *int       // an integer from 0 to state.MaxCount, left out when 0
	text  func(*state.Hit) *string    // a string, left out when empty
}

// hitFields are the members of a hit in the order they are written: the
// one description of a hit, which readHit and appendHit follow.
var hitFields = [...]hitField{
	{name: "first_seen", time: func(h *state.Hit) *time.Time { return &h.FirstSeen }},
	{name: "missing", count: func(h *state.Hit) *int { return &h.Missing }},
	{name: "patent_id", text: func(h *state.Hit) *string { return &h.PatentID }},
	{name: "title", text: func(h *state.Hit) *string { return &h.Title }},
	{name: "current_assignee", text: func(h *state.Hit) *string { return &h.CurrentAssignee }},
	{name: "apno", text: func(h *state.Hit) *string { return &h.Apno }},
	{name: "apdt", count: func(h *state.Hit) *int { return &h.Apdt }},
	{name: "pbdt", count: func(h *state.Hit) *int { return &h.Pbdt }},
}

// spans are where readHit put each text member of a hit in the reader's
// arena, by the member's index in hitFields.
type spans [len(hitFields)][2]int

// hitMap is the hits object of a search: read through r, written from raw.
type hitMap struct {
	r      *reader
	search string
	m      map[string]*state.Hit
	seen   bool   // read: the search has a hits member
	null   bool   // read: and it is null
	raw    []byte // write: the hits as compact JSON, from appendHits
}

func (h *hitMap) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	h.seen = true
	return json.UnmarshalDecode(dec, (*hitsReader)(h), jsontext.AllowDuplicateNames(true))
}

// hitsReader reads hits from a decoder that does not check for duplicate
// names.
type hitsReader hitMap

func (h *hitsReader) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	return h.r.readHits((*hitMap)(h), dec)
}

// MarshalJSONTo writes a search's hits, which buildHits has turned into
// compact JSON with the library's quoting; the encoder checks and indents
// them.
func (h *hitMap) MarshalJSONTo(enc *jsontext.Encoder) error {
	return enc.WriteValue(h.raw)
}

func (r *reader) readHits(h *hitMap, dec *jsontext.Decoder) error {
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
	if r.keeps() {
		h.m = map[string]*state.Hit{}
	} else {
		r.pns.reset()
	}
	for dec.PeekKind() != '}' {
		raw, err := dec.ReadValue()
		if err != nil {
			return err
		}
		at := dec.InputOffset() - int64(len(raw))
		if r.key, err = jsontext.AppendUnquote(r.key[:0], raw); err != nil {
			return err
		}
		switch {
		case len(r.key) == 0:
			return r.in.contentAt(at, "%s.hits: empty patent_pn", p)
		case r.keeps() && h.m[string(r.key)] != nil, !r.keeps() && !r.pns.add(r.key):
			return r.in.contentAt(at, "%s.hits: duplicate patent_pn %q", p, r.key)
		}
		// The hit's strings are gathered in the arena and allocated as one
		// string: a million hits make five million small strings otherwise.
		r.arena = append(r.arena[:0], r.key...)
		hit := &r.hit
		if r.keeps() {
			hit = new(state.Hit)
		}
		sp, err := r.readHit(dec, hit, func() string { return p + ".hits[" + strconv.Quote(string(r.arena[:len(r.key)])) + "]" })
		if err != nil {
			return err
		}
		if r.keeps() {
			all := string(r.arena)
			for i, f := range hitFields {
				if f.text != nil {
					*f.text(hit) = all[sp[i][0]:sp[i][1]]
				}
			}
			h.m[all[:len(r.key)]] = hit
		}
	}
	_, err := dec.ReadToken()
	return err
}

// readHit reads one hit into h, except its strings, which it appends to
// r.arena and returns the spans of. The path of the hit is built only for
// an error.
func (r *reader) readHit(dec *jsontext.Decoder, h *state.Hit, hitPath func() string) (sp spans, err error) {
	switch k := dec.PeekKind(); k {
	case '{':
	case 0:
		_, err := dec.ReadToken()
		return sp, err
	default:
		at := valueAt(dec)
		if k == 'n' {
			return sp, r.in.contentAt(at, "%s: null", hitPath())
		}
		return sp, r.in.contentAt(at, "%s: want an object, found %s", hitPath(), kindName(k))
	}
	if _, err := dec.ReadToken(); err != nil {
		return sp, err
	}
	seen := 0
	for dec.PeekKind() != '}' {
		raw, err := dec.ReadValue()
		if err != nil {
			return sp, err
		}
		nameAt := dec.InputOffset() - int64(len(raw))
		f, err := r.hitMember(raw, nameAt, hitPath)
		if err != nil {
			return sp, err
		}
		if seen&(1<<f) != 0 {
			return sp, r.in.contentAt(nameAt, "%s: duplicate field %q", hitPath(), hitFields[f].name)
		}
		seen |= 1 << f
		v, err := dec.ReadValue()
		if err != nil {
			return sp, err
		}
		valueAt := dec.InputOffset() - int64(len(v))
		msg, err := r.hitValue(&hitFields[f], v, h, &sp[f])
		if msg != "" {
			return sp, r.in.contentAt(valueAt, "%s.%s: %s", hitPath(), hitFields[f].name, msg)
		}
		if err != nil {
			return sp, err
		}
	}
	_, err = dec.ReadToken()
	return sp, err
}

// hitMember returns the index in hitFields of the member name raw, which
// starts at offset at.
func (r *reader) hitMember(raw jsontext.Value, at int64, hitPath func() string) (int, error) {
	for i, f := range hitFields {
		if len(raw) == len(f.name)+2 && string(raw[1:len(raw)-1]) == f.name {
			return i, nil
		}
	}
	name, err := jsontext.AppendUnquote(nil, raw) // a name with escapes
	if err != nil {
		return 0, err
	}
	for i, f := range hitFields {
		if string(name) == f.name {
			return i, nil
		}
	}
	return 0, r.in.contentAt(at, "%s: unknown field %q", hitPath(), name)
}

// hitValue reads v, the value of member f, into h; a text value in a load
// goes to the arena, at span. What is wrong with v is msg, for the caller
// to place; err is an error of the JSON library.
func (r *reader) hitValue(f *hitField, v jsontext.Value, h *state.Hit, span *[2]int) (msg string, err error) {
	switch {
	case f.time != nil:
		if v.Kind() != 'n' {
			var t timestamp
			if err := t.parse(v); err != nil {
				return err.Error(), nil
			}
			*f.time(h) = time.Time(t)
		}
	case f.count != nil:
		n, ok := parseCount(v)
		if !ok {
			return fmt.Sprintf("%s is not an integer between 0 and %d", valueText(v), state.MaxCount), nil
		}
		*f.count(h) = n
	default:
		switch v.Kind() {
		case 'n':
		case '"':
			if r.keeps() {
				span[0] = len(r.arena)
				if r.arena, err = jsontext.AppendUnquote(r.arena, v); err != nil {
					return "", err
				}
				span[1] = len(r.arena)
			}
		default:
			return "want a string, found " + kindName(v.Kind()), nil
		}
	}
	return "", nil
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

// appendHits appends m as a compact JSON object of hits, after
// state.ValidateHit has accepted each.
func appendHits(b []byte, m map[string]*state.Hit) ([]byte, error) {
	b = append(b, '{')
	for i, pn := range sortedKeys(m) {
		h := m[pn]
		if err := state.ValidateHit(pn, h); err != nil {
			return b, err
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = appendText(b, pn)
		b = append(b, ':')
		b = appendHit(b, h)
	}
	return append(b, '}'), nil
}

// appendHit appends h as a compact JSON object of the members in
// hitFields.
func appendHit(b []byte, h *state.Hit) []byte {
	b = append(b, '{')
	first := len(b)
	for i := range hitFields {
		switch f := &hitFields[i]; {
		case f.time != nil:
			b = appendName(b, first, f.name)
			b = timestamp(*f.time(h)).appendJSON(b)
		case f.count != nil:
			if n := *f.count(h); n != 0 {
				b = appendName(b, first, f.name)
				b = strconv.AppendInt(b, int64(n), 10)
			}
		default:
			if s := *f.text(h); s != "" {
				b = appendName(b, first, f.name)
				b = appendText(b, s)
			}
		}
	}
	return append(b, '}')
}

// appendName appends a member's name, after a comma unless it is the
// first member, which would start at first.
func appendName(b []byte, first int, name string) []byte {
	if len(b) > first {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, name...)
	return append(b, '"', ':')
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
