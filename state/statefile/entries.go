package statefile

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/patwatch/patwatch/state"
)

// The searches and reports objects, the same in every format so far: each
// format's top-level struct holds them as a searchMap and a reportMap. A
// format that changes them gets types of its own.

// searchJSON is a search: its hits are a hitMap (hits.go).
type searchJSON struct {
	Fingerprint text      `json:"fingerprint"`
	BaselineAt  timestamp `json:"baseline_at"`
	Hits        hitMap    `json:"hits"`
}

type reportJSON struct {
	PatentNumber  text      `json:"patent_number,omitzero"`
	PatentID      text      `json:"patent_id,omitzero"`
	Format        text      `json:"format"`
	Logo          bool      `json:"logo"`
	JobID         text      `json:"job_id,omitzero"`
	Status        text      `json:"status"`
	SubmittedAt   timestamp `json:"submitted_at"`
	LinkExpiresAt timestamp `json:"link_expires_at,omitzero"`
	File          text      `json:"file,omitzero"`
	SHA256        text      `json:"sha256,omitzero"`
	LastError     text      `json:"last_error,omitzero"`
}

// pass is what a read of a state file is for.
type pass int

const (
	loading  pass = iota // build the state
	checking             // check the file, keeping as little as it can: no state
)

// reader is one read of a state file. The maps of searches, hits and
// reports are read member by member through it: a check then holds one
// hit at a time.
type reader struct {
	in      *input
	pass    pass
	problem error // the first object that is incomplete or inconsistent, reported if nothing worse is found

	// Reading hits: the text of one hit and its key, and in a check, the
	// keys of one search's hits.
	arena []byte
	key   []byte
	pns   keySet
	hit   state.Hit // the hit being checked
}

// keeps reports whether the read builds a state.
func (r *reader) keeps() bool { return r.pass == loading }

// fail records that the object at offset at, read in full, is not valid.
// Reading goes on, so that malformed JSON or an unknown field later in the
// file is what the error names: those are the problems a hand edit makes.
func (r *reader) fail(at int64, format string, args ...any) {
	if r.problem == nil {
		r.problem = r.in.contentAt(at, format, args...)
	}
}

// writer is one write of a state file's searches and their hits.
type writer struct {
	layout  *Layout // told where the parts went
	invalid error   // a hit that state.ValidateHit refuses
}

func searchPath(name string) string { return "searches[" + strconv.Quote(name) + "]" }

// searchMap is a searches object: read through r, written through w.
type searchMap struct {
	r *reader
	w *writer
	m map[string]*state.Search
}

func (s *searchMap) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	r := s.r
	if r.keeps() {
		s.m = map[string]*state.Search{}
	}
	_, err := members(dec, func(name string, at int64) error {
		if r.in.stopped() {
			return errStopped
		}
		if name == "" {
			r.fail(at, "searches: empty search name")
		}
		if _, dup := slices.BinarySearch(r.in.before, name); dup {
			return r.in.contentAt(at, "searches: duplicate search %q", name)
		}
		if dec.PeekKind() == 'n' {
			r.fail(at, "%s: null", searchPath(name))
			return dec.SkipValue()
		}
		v := searchJSON{Hits: hitMap{r: r, search: name}}
		if err := json.UnmarshalDecode(dec, &v); err != nil {
			return err
		}
		if search := r.search(name, at, &v); r.keeps() {
			s.m[name] = search
		}
		return nil
	})
	return err
}

// search checks a search that was read and converts it to a state.Search.
func (r *reader) search(name string, at int64, v *searchJSON) *state.Search {
	p := searchPath(name)
	switch {
	case !v.Hits.seen:
		r.fail(at, "%s: no hits field; a search without hits has \"hits\": {}", p)
	case v.Hits.null:
		r.fail(at, "%s.hits: null; a search without hits has \"hits\": {}", p)
	}
	if v.Fingerprint == "" {
		r.fail(at, "%s: no fingerprint", p)
	} else if !state.IsFingerprint(string(v.Fingerprint)) {
		r.fail(at, "%s.fingerprint: %q is not sha256: and 64 lower-case hex digits", p, v.Fingerprint)
	}
	if time.Time(v.BaselineAt).IsZero() {
		r.fail(at, "%s: no baseline_at, or the zero time", p)
	}
	return &state.Search{Fingerprint: string(v.Fingerprint), BaselineAt: time.Time(v.BaselineAt), Hits: v.Hits.m}
}

// MarshalJSONTo writes the searches, and tells the layout where the header
// ends and each search starts. Their hits are built ahead by a hitsPipe.
func (s *searchMap) MarshalJSONTo(enc *jsontext.Encoder) error {
	out := s.w.layout
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
			s.w.invalid = fmt.Errorf("%s.hits%w", searchPath(name), err)
			return s.w.invalid
		}
		v := searchJSON{Fingerprint: text(src.Fingerprint), BaselineAt: timestamp(src.BaselineAt), Hits: hitMap{raw: raw}}
		if err := json.MarshalEncode(enc, &v); err != nil {
			return err
		}
		hits.recycle(v.Hits.raw)
	}
	return enc.WriteToken(jsontext.EndObject)
}

// reportMap is a reports object. A read keeps the reports even in a check:
// they are few, and a format's other members refer to them.
type reportMap struct {
	r *reader
	m map[string]*state.Report
}

func (s *reportMap) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	r := s.r
	s.m = map[string]*state.Report{}
	_, err := members(dec, func(name string, at int64) error {
		if name == "" {
			r.fail(at, "reports: empty report name")
		}
		if dec.PeekKind() == 'n' {
			r.fail(at, "reports[%q]: null", name)
			return dec.SkipValue()
		}
		var v reportJSON
		if err := json.UnmarshalDecode(dec, &v); err != nil {
			return err
		}
		rep := &state.Report{
			PatentNumber: string(v.PatentNumber), PatentID: string(v.PatentID), Format: string(v.Format), Logo: v.Logo,
			JobID: string(v.JobID), Status: string(v.Status), SubmittedAt: time.Time(v.SubmittedAt), LinkExpiresAt: time.Time(v.LinkExpiresAt),
			File: string(v.File), SHA256: string(v.SHA256), LastError: string(v.LastError),
		}
		if err := state.ValidateReport(name, rep); err != nil {
			r.fail(at, "%v", err)
		}
		s.m[name] = rep
		return nil
	})
	return err
}

func (s *reportMap) MarshalJSONTo(enc *jsontext.Encoder) error {
	if err := enc.WriteToken(jsontext.BeginObject); err != nil {
		return err
	}
	for _, name := range sortedKeys(s.m) {
		r := s.m[name]
		if err := writeText(enc, name); err != nil {
			return err
		}
		v := reportJSON{
			PatentNumber: text(r.PatentNumber), PatentID: text(r.PatentID), Format: text(r.Format), Logo: r.Logo,
			JobID: text(r.JobID), Status: text(r.Status), SubmittedAt: timestamp(normTime(r.SubmittedAt)), LinkExpiresAt: timestamp(normTime(r.LinkExpiresAt)),
			File: text(r.File), SHA256: text(r.SHA256), LastError: text(r.LastError),
		}
		if err := json.MarshalEncode(enc, &v); err != nil {
			return err
		}
	}
	return enc.WriteToken(jsontext.EndObject)
}

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
