package pgstore

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/patwatch/patwatch/state"
)

// A state is kept as rows: one per search, hit and report, plus one per
// top-level field the tables do not model. The fields a table models are
// columns users can query; anything else the state type holds (a field a
// later patwatch adds) goes into the row's extra jsonb column, so no field
// is ever lost and the state reads back exactly. PostgreSQL cannot store a
// NUL character in text or jsonb: a row whose values hold one keeps its
// whole JSON text, with the NUL escaped, in its raw column, and its columns
// hold the values with each NUL replaced by U+FFFD, for queries only.

// modelled lists the JSON keys of each state type that are columns (or,
// for a search's hits, a table of their own).
var (
	topModelled    = []string{"format_version", "serial", "lineage", "patwatch_version", "searches", "reports"}
	searchModelled = []string{"fingerprint", "baseline_at", "hits"}
	hitModelled    = []string{"first_seen", "missing", "patent_id", "title", "current_assignee", "apno", "apdt", "pbdt"}
	reportModelled = []string{"patent_number", "patent_id", "format", "logo", "job_id", "status", "submitted_at", "link_expires_at", "file", "sha256", "last_error"}
)

// Whether a type has fields beyond its columns decides whether its rows
// need the JSON encoding at all: the common case copies fields directly.
var (
	searchHasExtra = hasUnmodelled(reflect.TypeFor[state.Search](), searchModelled)
	hitHasExtra    = hasUnmodelled(reflect.TypeFor[state.Hit](), hitModelled)
	reportHasExtra = hasUnmodelled(reflect.TypeFor[state.Report](), reportModelled)
)

// jsonKeys returns the JSON object keys of a struct type's fields.
func jsonKeys(t reflect.Type) []string {
	var keys []string
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		keys = append(keys, name)
	}
	return keys
}

func hasUnmodelled(t reflect.Type, modelled []string) bool {
	for _, k := range jsonKeys(t) {
		if !slices.Contains(modelled, k) {
			return true
		}
	}
	return false
}

// extraOf returns the JSON object of v's keys that are not modelled, or
// nil when there are none.
func extraOf(v any, modelled []string) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for _, k := range modelled {
		delete(m, k)
	}
	if len(m) == 0 {
		return nil, nil
	}
	return json.Marshal(m) // keys sorted: equal content, equal bytes
}

// hasNUL reports whether JSON text holds an escaped NUL character.
// A false positive (an escaped backslash before "u0000") only sends the
// row down the raw path, which is exact too.
func hasNUL(b []byte) bool { return bytes.Contains(b, []byte(`\u0000`)) }

// noNUL replaces NUL characters and each byte of invalid UTF-8 with
// U+FFFD, giving what a text column can hold.
func noNUL(s string) string {
	if storable(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == 0 || (r == utf8.RuneError && size == 1) {
			r = utf8.RuneError
		}
		b.WriteRune(r)
		i += size
	}
	return b.String()
}

// anyNUL reports whether a value cannot be a text column as it is: it
// holds a NUL character, or is not valid UTF-8 (which the state's JSON
// writes as U+FFFD, byte by byte).
func anyNUL(ss ...string) bool {
	for _, s := range ss {
		if !storable(s) {
			return true
		}
	}
	return false
}

// storable reports whether a text column holds s as it is: valid UTF-8
// without NUL. The loop is the fast path for the short ASCII strings most
// values are.
func storable(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == 0 || c >= utf8.RuneSelf {
			return strings.IndexByte(s[i:], 0) < 0 && utf8.ValidString(s[i:])
		}
	}
	return true
}

// nullable is a text column that is NULL for the empty string (an
// omitempty field that is absent).
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullableInt(n int) any {
	if n == 0 {
		return nil
	}
	return n
}

func nullableTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func jsonbOrNil(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

func textOrNil(b []byte) any {
	if b == nil {
		return nil
	}
	return string(b)
}

// normTime is a time as the state holds it: UTC, whole seconds.
func normTime(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }

// hitRow is a hit's row: its columns as written, which compare equal
// exactly when the hit's content is equal.
type hitRow struct {
	firstSeen                       time.Time
	missing                         int
	patentID, title, assignee, apno string
	apdt, pbdt                      int
	extra, raw                      []byte
}

func (a *hitRow) equal(b *hitRow) bool {
	return a.firstSeen.Equal(b.firstSeen) && a.missing == b.missing && a.patentID == b.patentID && a.title == b.title &&
		a.assignee == b.assignee && a.apno == b.apno && a.apdt == b.apdt && a.pbdt == b.pbdt &&
		bytes.Equal(a.extra, b.extra) && bytes.Equal(a.raw, b.raw)
}

func hitRowOf(h *state.Hit) (hitRow, error) {
	r := hitRow{
		firstSeen: normTime(h.FirstSeen), missing: h.Missing,
		patentID: h.PatentID, title: h.Title, assignee: h.CurrentAssignee, apno: h.Apno,
		apdt: h.Apdt, pbdt: h.Pbdt,
	}
	if hitHasExtra {
		extra, err := extraOf(h, hitModelled)
		if err != nil {
			return r, err
		}
		if r.extra, err = canonicalJSON(extra); err != nil {
			return r, err
		}
	}
	if anyNUL(r.patentID, r.title, r.assignee, r.apno) || hasNUL(r.extra) {
		raw, err := json.Marshal(h)
		if err != nil {
			return r, err
		}
		r.raw, r.extra = raw, nil
		r.patentID, r.title, r.assignee, r.apno = noNUL(r.patentID), noNUL(r.title), noNUL(r.assignee), noNUL(r.apno)
	}
	return r, nil
}

// canonicalJSON rewrites JSON text in one form (object keys sorted, no
// space, numbers as written), so that a hit's extra column compares equal
// to itself after a trip through jsonb, which reorders keys.
func canonicalJSON(b []byte) ([]byte, error) {
	if b == nil {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// hitSum is an order-independent digest of a search's hits: how many, and
// the sums of two 64-bit hashes (under seeds of this process) of each
// hit's key and content. A save diffs row by row only the searches whose
// digest differs from the one loaded; two different sets of hits giving
// the same 128-bit digest is not a practical concern. The hash reads the
// hit's fields, not its row, so that a save need not build a row for every
// hit it keeps.
type hitSum struct {
	n   int
	sum [2]uint64
}

var hitSeeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}

// add adds a hit; buf is scratch space.
func (s *hitSum) add(pn string, h *state.Hit, buf *[]byte) error {
	b := (*buf)[:0]
	str := func(v string) {
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	str(pn)
	t := normTime(h.FirstSeen)
	b = binary.AppendVarint(b, t.Unix())
	b = binary.AppendVarint(b, int64(h.Missing))
	str(h.PatentID)
	str(h.Title)
	str(h.CurrentAssignee)
	str(h.Apno)
	b = binary.AppendVarint(b, int64(h.Apdt))
	b = binary.AppendVarint(b, int64(h.Pbdt))
	if hitHasExtra {
		extra, err := extraOf(h, hitModelled)
		if err == nil {
			extra, err = canonicalJSON(extra)
		}
		if err != nil {
			return err
		}
		b = append(b, extra...)
	}
	s.n++
	s.sum[0] += maphash.Bytes(hitSeeds[0], b)
	s.sum[1] += maphash.Bytes(hitSeeds[1], b)
	*buf = b
	return nil
}

// hitInto sets h, a zero hit, from the row.
func (r *hitRow) hitInto(h *state.Hit) error {
	if r.raw != nil {
		if err := json.Unmarshal(r.raw, h); err != nil {
			return fmt.Errorf("raw: %w", err)
		}
		return nil
	}
	h.FirstSeen, h.Missing = r.firstSeen, r.missing
	h.PatentID, h.Title, h.CurrentAssignee, h.Apno = r.patentID, r.title, r.assignee, r.apno
	h.Apdt, h.Pbdt = r.apdt, r.pbdt
	if r.extra != nil {
		if err := json.Unmarshal(r.extra, h); err != nil {
			return fmt.Errorf("extra: %w", err)
		}
	}
	return nil
}

// copyValues are the row's columns after state, search, patent_pn,
// from_serial, in hitColumns order.
func (r *hitRow) copyValues() []any {
	return []any{r.firstSeen, r.missing, nullable(r.patentID), nullable(r.title), nullable(r.assignee), nullable(r.apno),
		nullableInt(r.apdt), nullableInt(r.pbdt), jsonbOrNil(r.extra), textOrNil(r.raw)}
}

var hitColumns = []string{"first_seen", "missing", "patent_id", "title", "current_assignee", "apno", "apdt", "pbdt", "extra", "raw"}

// searchRow is a search's row, without its hits.
type searchRow struct {
	fingerprint string
	baselineAt  time.Time
	extra, raw  []byte
}

func (a *searchRow) equal(b *searchRow) bool {
	return a.fingerprint == b.fingerprint && a.baselineAt.Equal(b.baselineAt) && bytes.Equal(a.extra, b.extra) && bytes.Equal(a.raw, b.raw)
}

func searchRowOf(s *state.Search) (searchRow, error) {
	r := searchRow{fingerprint: s.Fingerprint, baselineAt: normTime(s.BaselineAt)}
	if !searchHasExtra && !anyNUL(r.fingerprint) {
		return r, nil
	}
	bare := *s
	bare.Hits = nil
	if searchHasExtra {
		extra, err := extraOf(&bare, searchModelled)
		if err != nil {
			return r, err
		}
		r.extra = extra
	}
	if anyNUL(r.fingerprint) || hasNUL(r.extra) {
		raw, err := json.Marshal(&bare)
		if err != nil {
			return r, err
		}
		r.raw, r.extra = raw, nil
		r.fingerprint = noNUL(r.fingerprint)
	}
	return r, nil
}

func (r *searchRow) search() (*state.Search, error) {
	s := &state.Search{}
	if r.raw != nil {
		if err := json.Unmarshal(r.raw, s); err != nil {
			return nil, fmt.Errorf("raw: %w", err)
		}
	} else {
		s.Fingerprint, s.BaselineAt = r.fingerprint, r.baselineAt
		if r.extra != nil {
			if err := json.Unmarshal(r.extra, s); err != nil {
				return nil, fmt.Errorf("extra: %w", err)
			}
		}
	}
	s.Hits = map[string]*state.Hit{}
	return s, nil
}

func (r *searchRow) copyValues() []any {
	return []any{r.fingerprint, r.baselineAt, jsonbOrNil(r.extra), textOrNil(r.raw)}
}

var searchColumns = []string{"fingerprint", "baseline_at", "extra", "raw"}

// reportRow is a report's row.
type reportRow struct {
	patentNumber, patentID, format string
	logo                           bool
	jobID, status                  string
	submittedAt, linkExpiresAt     time.Time
	file, sha256, lastError        string
	extra, raw                     []byte
}

func (a *reportRow) equal(b *reportRow) bool {
	return a.patentNumber == b.patentNumber && a.patentID == b.patentID && a.format == b.format && a.logo == b.logo &&
		a.jobID == b.jobID && a.status == b.status && a.submittedAt.Equal(b.submittedAt) && a.linkExpiresAt.Equal(b.linkExpiresAt) &&
		a.file == b.file && a.sha256 == b.sha256 && a.lastError == b.lastError && bytes.Equal(a.extra, b.extra) && bytes.Equal(a.raw, b.raw)
}

func reportRowOf(rp *state.Report) (reportRow, error) {
	r := reportRow{
		patentNumber: rp.PatentNumber, patentID: rp.PatentID, format: rp.Format, logo: rp.Logo,
		jobID: rp.JobID, status: rp.Status, submittedAt: normTime(rp.SubmittedAt),
		file: rp.File, sha256: rp.SHA256, lastError: rp.LastError,
	}
	if !rp.LinkExpiresAt.IsZero() {
		r.linkExpiresAt = normTime(rp.LinkExpiresAt)
	}
	if reportHasExtra {
		extra, err := extraOf(rp, reportModelled)
		if err != nil {
			return r, err
		}
		r.extra = extra
	}
	if anyNUL(r.patentNumber, r.patentID, r.format, r.jobID, r.status, r.file, r.sha256, r.lastError) || hasNUL(r.extra) {
		raw, err := json.Marshal(rp)
		if err != nil {
			return r, err
		}
		r.raw, r.extra = raw, nil
		r.patentNumber, r.patentID, r.format, r.jobID = noNUL(r.patentNumber), noNUL(r.patentID), noNUL(r.format), noNUL(r.jobID)
		r.status, r.file, r.sha256, r.lastError = noNUL(r.status), noNUL(r.file), noNUL(r.sha256), noNUL(r.lastError)
	}
	return r, nil
}

func (r *reportRow) report() (*state.Report, error) {
	rp := &state.Report{}
	if r.raw != nil {
		if err := json.Unmarshal(r.raw, rp); err != nil {
			return nil, fmt.Errorf("raw: %w", err)
		}
		return rp, nil
	}
	rp.PatentNumber, rp.PatentID, rp.Format, rp.Logo = r.patentNumber, r.patentID, r.format, r.logo
	rp.JobID, rp.Status, rp.SubmittedAt, rp.LinkExpiresAt = r.jobID, r.status, r.submittedAt, r.linkExpiresAt
	rp.File, rp.SHA256, rp.LastError = r.file, r.sha256, r.lastError
	if r.extra != nil {
		if err := json.Unmarshal(r.extra, rp); err != nil {
			return nil, fmt.Errorf("extra: %w", err)
		}
	}
	return rp, nil
}

func (r *reportRow) copyValues() []any {
	return []any{nullable(r.patentNumber), nullable(r.patentID), r.format, r.logo, nullable(r.jobID), r.status, r.submittedAt,
		nullableTime(r.linkExpiresAt), nullable(r.file), nullable(r.sha256), nullable(r.lastError), jsonbOrNil(r.extra), textOrNil(r.raw)}
}

var reportColumns = []string{"patent_number", "patent_id", "format", "logo", "job_id", "status", "submitted_at", "link_expires_at",
	"file", "sha256", "last_error", "extra", "raw"}

// fieldRow is a top-level field of the state that no table models: its
// JSON value, in value (jsonb) or, holding a NUL, in raw (text).
type fieldRow struct {
	value, raw []byte
}

func (a *fieldRow) equal(b *fieldRow) bool {
	return bytes.Equal(a.value, b.value) && bytes.Equal(a.raw, b.raw)
}

func (r *fieldRow) json() []byte {
	if r.raw != nil {
		return r.raw
	}
	return r.value
}

// fieldsOf returns the state's top-level fields that are not modelled.
func fieldsOf(st *state.State) (map[string]fieldRow, error) {
	bare := *st
	bare.Searches, bare.Reports = nil, nil
	b, err := json.Marshal(&bare)
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	out := map[string]fieldRow{}
	for k, v := range m {
		if slices.Contains(topModelled, k) {
			continue
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, v); err != nil {
			return nil, err
		}
		if hasNUL(buf.Bytes()) {
			out[k] = fieldRow{raw: buf.Bytes()}
		} else {
			out[k] = fieldRow{value: buf.Bytes()}
		}
	}
	return out, nil
}

// setFields sets the state's unmodelled top-level fields from their rows.
func setFields(st *state.State, fields map[string]fieldRow) error {
	if len(fields) == 0 {
		return nil
	}
	m := make(map[string]json.RawMessage, len(fields))
	for k, f := range fields {
		m[k] = f.json()
	}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, st)
}
