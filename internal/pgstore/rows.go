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

// A state is kept as rows: one per search, hit, report (live or retired)
// and outbox message, the budget in each serial's row, and a row per
// top-level field no table models. The fields the tables model are columns
// users can query. A field of the state's types that no column models (one
// a later patwatch adds before a migration gives it a column) goes into
// the row's extra jsonb column, under its Go name, so that no field is
// lost and the state reads back exactly; TestEveryFieldIsModelled makes
// such a field fail until it has a column. PostgreSQL cannot store a NUL
// character in text or jsonb: a row whose values hold one keeps all its
// fields as JSON text, with the NUL escaped, in its raw column, and its
// columns hold the values with each NUL shown as U+FFFD, for queries only.
//
// The rows hold what a state file holds: a retired entry's refresh time
// and report attempts, and a live entry's retirement time, are not kept
// (the file has no place for them), so a state reads back from either
// store the same.

// The Go fields of each state type that columns (or tables) model.
var (
	topModelled     = []string{"FormatVersion", "Serial", "Lineage", "PatwatchVersion", "Searches", "Reports", "RetiredSearches", "RetiredReports", "Budget", "Outbox"}
	searchModelled  = []string{"Fingerprint", "BaselineAt", "Hits", "RefreshedAt", "RetiredAt"}
	hitModelled     = []string{"FirstSeen", "Missing", "PatentID", "Title", "CurrentAssignee", "Apno", "Apdt", "Pbdt"}
	reportModelled  = []string{"PatentNumber", "PatentID", "Format", "Logo", "JobID", "Status", "SubmittedAt", "LinkExpiresAt", "File", "SHA256", "LastError", "Submissions", "OutcomeUnknownAt", "RetiredAt"}
	messageModelled = []string{"ID", "Channel", "GeneratedAt", "Spec", "Simulated", "Events", "Attempts", "FirstFailed", "LastError"}
	eventModelled   = []string{"Kind", "Search", "Report", "PatentPN", "Title", "Score", "CurrentAssignee", "Apdt", "Pbdt", "Link", "Decision", "Patent", "File", "Error"}
)

// Whether a type has fields beyond its columns decides whether its rows
// need the reflective encoding at all: the common case copies fields.
var (
	searchHasExtra  = len(searchExtraFields) > 0
	hitHasExtra     = len(hitExtraFields) > 0
	reportHasExtra  = len(reportExtraFields) > 0
	messageHasExtra = len(messageExtraFields) > 0
	eventHasExtra   = len(eventExtraFields) > 0
)

// fieldsJSON returns the JSON object of the non-zero fields named of the
// struct v points to, by Go name, or nil when all are zero.
func fieldsJSON(v any, names []string) ([]byte, error) {
	rv := reflect.ValueOf(v).Elem()
	m := map[string]json.RawMessage{}
	for _, name := range names {
		f := rv.FieldByName(name)
		if !f.IsValid() || f.IsZero() {
			continue
		}
		b, err := json.Marshal(f.Interface())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		m[name] = b
	}
	if len(m) == 0 {
		return nil, nil
	}
	return json.Marshal(m) // keys sorted: equal content, equal bytes
}

// setFieldsJSON sets the fields of the struct v points to from a JSON
// object by Go name. A name the type does not have is an error: a newer
// patwatch wrote it, and dropping it would lose data on the next save.
func setFieldsJSON(v any, b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	rv := reflect.ValueOf(v).Elem()
	for name, raw := range m {
		f := rv.FieldByName(name)
		if !f.IsValid() || !f.CanSet() {
			return fmt.Errorf("field %s, which this patwatch does not know: a newer one wrote it; upgrade patwatch", name)
		}
		if err := json.Unmarshal(raw, f.Addr().Interface()); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// allFields is every exported field of struct type t but those left out:
// with a type's modelled fields left out, the ones kept in extra.
func allFields(t reflect.Type, leaveOut ...string) []string {
	var out []string
	for f := range t.Fields() {
		if f.IsExported() && !slices.Contains(leaveOut, f.Name) {
			out = append(out, f.Name)
		}
	}
	return out
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

// normTime is a time as the state holds it: UTC, whole seconds; the zero
// time stays zero.
func normTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Second)
}

// canonicalJSON rewrites JSON text in one form (object keys sorted, no
// space, numbers as written), so that a column compares equal to itself
// after a trip through jsonb, which reorders keys.
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

var (
	hitExtraFields = allFields(reflect.TypeFor[state.Hit](), hitModelled...)
	hitAllFields   = allFields(reflect.TypeFor[state.Hit]())
)

func hitRowOf(h *state.Hit) (hitRow, error) {
	r := hitRow{
		firstSeen: normTime(h.FirstSeen), missing: h.Missing,
		patentID: h.PatentID, title: h.Title, assignee: h.CurrentAssignee, apno: h.Apno,
		apdt: h.Apdt, pbdt: h.Pbdt,
	}
	if hitHasExtra {
		extra, err := fieldsJSON(h, hitExtraFields)
		if err == nil {
			r.extra, err = canonicalJSON(extra)
		}
		if err != nil {
			return r, err
		}
	}
	if anyNUL(r.patentID, r.title, r.assignee, r.apno) || hasNUL(r.extra) {
		raw, err := fieldsJSON(h, hitAllFields)
		if err != nil {
			return r, err
		}
		r.raw, r.extra = raw, nil
		r.patentID, r.title, r.assignee, r.apno = noNUL(r.patentID), noNUL(r.title), noNUL(r.assignee), noNUL(r.apno)
	}
	return r, nil
}

// hitInto sets h, a zero hit, from the row.
func (r *hitRow) hitInto(h *state.Hit) error {
	if r.raw != nil {
		if err := setFieldsJSON(h, r.raw); err != nil {
			return fmt.Errorf("raw: %w", err)
		}
		return nil
	}
	h.FirstSeen, h.Missing = r.firstSeen, r.missing
	h.PatentID, h.Title, h.CurrentAssignee, h.Apno = r.patentID, r.title, r.assignee, r.apno
	h.Apdt, h.Pbdt = r.apdt, r.pbdt
	if r.extra != nil {
		if err := setFieldsJSON(h, r.extra); err != nil {
			return fmt.Errorf("extra: %w", err)
		}
	}
	return nil
}

// copyValues are the row's columns after state, retired, search,
// patent_pn, from_serial, in hitColumns order.
func (r *hitRow) copyValues() []any {
	return []any{r.firstSeen, r.missing, nullable(r.patentID), nullable(r.title), nullable(r.assignee), nullable(r.apno),
		nullableInt(r.apdt), nullableInt(r.pbdt), jsonbOrNil(r.extra), textOrNil(r.raw)}
}

var hitColumns = []string{"first_seen", "missing", "patent_id", "title", "current_assignee", "apno", "apdt", "pbdt", "extra", "raw"}

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
	b = binary.AppendVarint(b, normTime(h.FirstSeen).Unix())
	b = binary.AppendVarint(b, int64(h.Missing))
	str(h.PatentID)
	str(h.Title)
	str(h.CurrentAssignee)
	str(h.Apno)
	b = binary.AppendVarint(b, int64(h.Apdt))
	b = binary.AppendVarint(b, int64(h.Pbdt))
	if hitHasExtra {
		extra, err := fieldsJSON(h, hitExtraFields)
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

// searchRow is a search's row, without its hits.
type searchRow struct {
	fingerprint                        string
	baselineAt, refreshedAt, retiredAt time.Time
	extra, raw                         []byte
}

func (a *searchRow) equal(b *searchRow) bool {
	return a.fingerprint == b.fingerprint && a.baselineAt.Equal(b.baselineAt) && a.refreshedAt.Equal(b.refreshedAt) &&
		a.retiredAt.Equal(b.retiredAt) && bytes.Equal(a.extra, b.extra) && bytes.Equal(a.raw, b.raw)
}

var (
	searchExtraFields = allFields(reflect.TypeFor[state.Search](), searchModelled...)
	searchAllFields   = allFields(reflect.TypeFor[state.Search](), "Hits")
)

// searchRowOf is the row of a live or retired search: a state file keeps
// a live search's refresh time and a retired one's retirement time.
func searchRowOf(s *state.Search, retired bool) (searchRow, error) {
	r := searchRow{fingerprint: s.Fingerprint, baselineAt: normTime(s.BaselineAt)}
	if retired {
		r.retiredAt = normTime(s.RetiredAt)
	} else {
		r.refreshedAt = normTime(s.RefreshedAt)
	}
	if !searchHasExtra && !anyNUL(r.fingerprint) {
		return r, nil
	}
	bare := *s
	bare.Hits = nil
	bare.RefreshedAt, bare.RetiredAt = r.refreshedAt, r.retiredAt
	if searchHasExtra {
		extra, err := fieldsJSON(&bare, searchExtraFields)
		if err == nil {
			r.extra, err = canonicalJSON(extra)
		}
		if err != nil {
			return r, err
		}
	}
	if anyNUL(r.fingerprint) || hasNUL(r.extra) {
		raw, err := fieldsJSON(&bare, searchAllFields)
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
		if err := setFieldsJSON(s, r.raw); err != nil {
			return nil, fmt.Errorf("raw: %w", err)
		}
	} else {
		s.Fingerprint, s.BaselineAt, s.RefreshedAt, s.RetiredAt = r.fingerprint, r.baselineAt, r.refreshedAt, r.retiredAt
		if r.extra != nil {
			if err := setFieldsJSON(s, r.extra); err != nil {
				return nil, fmt.Errorf("extra: %w", err)
			}
		}
	}
	s.Hits = map[string]*state.Hit{}
	return s, nil
}

func (r *searchRow) copyValues() []any {
	return []any{r.fingerprint, r.baselineAt, nullableTime(r.refreshedAt), nullableTime(r.retiredAt), jsonbOrNil(r.extra), textOrNil(r.raw)}
}

var searchColumns = []string{"fingerprint", "baseline_at", "refreshed_at", "retired_at", "extra", "raw"}

// reportRow is a report's row.
type reportRow struct {
	patentNumber, patentID, format string
	logo                           bool
	jobID, status                  string
	submittedAt, linkExpiresAt     time.Time
	file, sha256, lastError        string
	submissions                    int
	outcomeUnknownAt, retiredAt    time.Time
	extra, raw                     []byte
}

func (a *reportRow) equal(b *reportRow) bool {
	return a.patentNumber == b.patentNumber && a.patentID == b.patentID && a.format == b.format && a.logo == b.logo &&
		a.jobID == b.jobID && a.status == b.status && a.submittedAt.Equal(b.submittedAt) && a.linkExpiresAt.Equal(b.linkExpiresAt) &&
		a.file == b.file && a.sha256 == b.sha256 && a.lastError == b.lastError && a.submissions == b.submissions &&
		a.outcomeUnknownAt.Equal(b.outcomeUnknownAt) && a.retiredAt.Equal(b.retiredAt) &&
		bytes.Equal(a.extra, b.extra) && bytes.Equal(a.raw, b.raw)
}

var (
	reportExtraFields = allFields(reflect.TypeFor[state.Report](), reportModelled...)
	reportAllFields   = allFields(reflect.TypeFor[state.Report]())
)

// reportRowOf is the row of a live or retired report: a state file keeps
// a live report's attempts and a retired one's retirement time.
func reportRowOf(rp *state.Report, retired bool) (reportRow, error) {
	r := reportRow{
		patentNumber: rp.PatentNumber, patentID: rp.PatentID, format: rp.Format, logo: rp.Logo,
		jobID: rp.JobID, status: rp.Status, submittedAt: normTime(rp.SubmittedAt), linkExpiresAt: normTime(rp.LinkExpiresAt),
		file: rp.File, sha256: rp.SHA256, lastError: rp.LastError,
	}
	if retired {
		r.retiredAt = normTime(rp.RetiredAt)
	} else {
		r.submissions, r.outcomeUnknownAt = rp.Submissions, normTime(rp.OutcomeUnknownAt)
	}
	if !reportHasExtra && !anyNUL(r.patentNumber, r.patentID, r.format, r.jobID, r.status, r.file, r.sha256, r.lastError) {
		return r, nil
	}
	bare := *rp
	bare.Submissions, bare.OutcomeUnknownAt, bare.RetiredAt = r.submissions, r.outcomeUnknownAt, r.retiredAt
	if reportHasExtra {
		extra, err := fieldsJSON(&bare, reportExtraFields)
		if err == nil {
			r.extra, err = canonicalJSON(extra)
		}
		if err != nil {
			return r, err
		}
	}
	if anyNUL(r.patentNumber, r.patentID, r.format, r.jobID, r.status, r.file, r.sha256, r.lastError) || hasNUL(r.extra) {
		raw, err := fieldsJSON(&bare, reportAllFields)
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
		if err := setFieldsJSON(rp, r.raw); err != nil {
			return nil, fmt.Errorf("raw: %w", err)
		}
		return rp, nil
	}
	rp.PatentNumber, rp.PatentID, rp.Format, rp.Logo = r.patentNumber, r.patentID, r.format, r.logo
	rp.JobID, rp.Status, rp.SubmittedAt, rp.LinkExpiresAt = r.jobID, r.status, r.submittedAt, r.linkExpiresAt
	rp.File, rp.SHA256, rp.LastError = r.file, r.sha256, r.lastError
	rp.Submissions, rp.OutcomeUnknownAt, rp.RetiredAt = r.submissions, r.outcomeUnknownAt, r.retiredAt
	if r.extra != nil {
		if err := setFieldsJSON(rp, r.extra); err != nil {
			return nil, fmt.Errorf("extra: %w", err)
		}
	}
	return rp, nil
}

func (r *reportRow) copyValues() []any {
	return []any{nullable(r.patentNumber), nullable(r.patentID), r.format, r.logo, nullable(r.jobID), r.status, r.submittedAt,
		nullableTime(r.linkExpiresAt), nullable(r.file), nullable(r.sha256), nullable(r.lastError),
		r.submissions, nullableTime(r.outcomeUnknownAt), nullableTime(r.retiredAt), jsonbOrNil(r.extra), textOrNil(r.raw)}
}

var reportColumns = []string{"patent_number", "patent_id", "format", "logo", "job_id", "status", "submitted_at", "link_expires_at",
	"file", "sha256", "last_error", "submissions", "outcome_unknown_at", "retired_at", "extra", "raw"}

// fieldRow is a top-level field of the state that no table models: its
// JSON value, in value (jsonb) or, holding a NUL, in raw (text).
type fieldRow struct {
	value, raw []byte
}

func (a *fieldRow) equal(b *fieldRow) bool {
	return bytes.Equal(a.value, b.value) && bytes.Equal(a.raw, b.raw)
}

var topExtraFields = allFields(reflect.TypeFor[state.State](), topModelled...)

// fieldsOf returns the state's top-level fields that no table models, by
// Go name (none today).
func fieldsOf(st *state.State) (map[string]fieldRow, error) {
	out := map[string]fieldRow{}
	if len(topExtraFields) == 0 {
		return out, nil
	}
	b, err := fieldsJSON(st, topExtraFields)
	if err != nil || b == nil {
		return out, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for k, v := range m {
		c, err := canonicalJSON(v)
		if err != nil {
			return nil, err
		}
		if hasNUL(c) {
			out[k] = fieldRow{raw: v}
		} else {
			out[k] = fieldRow{value: c}
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
		if f.raw != nil {
			m[k] = f.raw
		} else {
			m[k] = f.value
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return setFieldsJSON(st, b)
}
