package pgstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/patwatch/patwatch/state"
)

// entryKey names a search or report: live, or retired (a retired entry
// may share its name with a live one).
type entryKey struct {
	name    string
	retired bool
}

func (k entryKey) String() string {
	if k.retired {
		return "retired " + k.name
	}
	return k.name
}

// snapshot is what the store last read or wrote of the current state: the
// rows of its fields, searches, reports and outbox, its budget, and a
// digest of each search's hits (a million hits are not kept twice in
// memory). A save compares the new state with it and writes only what
// differs, and only if the database still holds this lineage and serial.
type snapshot struct {
	exists   bool // the state has a row: false for a state never saved
	lineage  string
	serial   uint64
	budget   *state.Budget
	fields   map[string]fieldRow
	searches map[entryKey]*searchSnap
	reports  map[entryKey]reportRow
	outbox   map[string]messageRow // by message id
}

type searchSnap struct {
	row  searchRow
	hits hitSum
}

func emptySnapshot(lineage string) *snapshot {
	return &snapshot{lineage: lineage, fields: map[string]fieldRow{}, searches: map[entryKey]*searchSnap{},
		reports: map[entryKey]reportRow{}, outbox: map[string]messageRow{}}
}

// FormatError reports a state saved in a newer state format than this
// build reads.
type FormatError struct {
	Store           string
	State           string
	Serial          uint64
	FormatVersion   int
	PatwatchVersion string
}

func (e *FormatError) Error() string {
	by := "a newer patwatch"
	if e.PatwatchVersion != "" {
		by = "patwatch " + e.PatwatchVersion
	}
	return fmt.Sprintf("state %s (%s) serial %d was written by %s in format %d; this patwatch reads format ≤ %d; upgrade patwatch",
		e.State, e.Store, e.Serial, by, e.FormatVersion, state.FormatVersion)
}

// Hint says what to do.
func (e *FormatError) Hint() string {
	if e.PatwatchVersion != "" {
		return "install patwatch " + e.PatwatchVersion + " or later to use this state"
	}
	return "install the latest patwatch to use this state"
}

// SerialError reports a serial that was never saved. Of a state never
// saved at all, it matches fs.ErrNotExist, as Missing's error does.
type SerialError struct {
	Store      string
	State      string
	Serial     uint64
	Near       []uint64 // saved serials around it
	NeverSaved bool     // the state has no serial at all
}

func (e *SerialError) Error() string {
	return fmt.Sprintf("state %s (%s) has no serial %d", e.State, e.Store, e.Serial)
}

// Is makes errors.Is(err, fs.ErrNotExist) true for a state never saved.
func (e *SerialError) Is(target error) bool { return e.NeverSaved && target == fs.ErrNotExist }

// Hint names the serials there are.
func (e *SerialError) Hint() string {
	if len(e.Near) == 0 {
		return "the state has never been saved"
	}
	s := make([]string, len(e.Near))
	for i, n := range e.Near {
		s[i] = fmt.Sprint(n)
	}
	return "saved serials near it: " + strings.Join(s, ", ")
}

// Load reads the current state. A state never saved is an empty state with
// a new lineage, as a missing state file is.
func (s *Store) Load(ctx context.Context) (*state.State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, snap, err := s.read(ctx, 0, true)
	if err != nil {
		return nil, s.redact(err)
	}
	s.snap = snap
	return st, nil
}

// LoadSerial reads the state as it was saved at serial n. It leaves what a
// later Save compares with untouched.
func (s *Store) LoadSerial(ctx context.Context, n uint64) (*state.State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, _, err := s.read(ctx, n, false)
	return st, s.redact(err)
}

// read reads the current state (current) or serial n, in one consistent
// snapshot of the database; for the current state it also returns the
// rows a save compares with.
func (s *Store) read(ctx context.Context, n uint64, current bool) (*state.State, *snapshot, error) {
	conn, err := s.data(ctx)
	if err != nil {
		return nil, nil, err
	}
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, nil, fmt.Errorf("read state %s from %s: %w", s.state, s.display, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	st, snap, err := s.readTx(ctx, tx, n, current)
	if err != nil {
		return nil, nil, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, nil, fmt.Errorf("read state %s from %s: %w", s.state, s.display, err)
	}
	return st, snap, nil
}

func (s *Store) readTx(ctx context.Context, tx pgx.Tx, n uint64, current bool) (*state.State, *snapshot, error) {
	fail := func(err error) (*state.State, *snapshot, error) {
		return nil, nil, fmt.Errorf("read state %s from %s: %w", s.state, s.display, err)
	}
	var cur int64
	err := tx.QueryRow(ctx, "SELECT serial FROM "+s.t("states")+" WHERE state = $1", s.state).Scan(&cur)
	if errors.Is(err, pgx.ErrNoRows) {
		if !current {
			return nil, nil, &SerialError{Store: s.display, State: s.state, Serial: n, NeverSaved: true}
		}
		st := state.New()
		return st, emptySnapshot(st.Lineage), nil
	}
	if err != nil {
		return fail(fmt.Errorf("states: %w", err))
	}
	if current {
		n = uint64(cur)
	}
	st, err := s.readSerial(ctx, tx, n)
	if err != nil {
		return nil, nil, err
	}

	r := &rowReader{tx: tx, args: []any{s.state, int64(n)}, valid: "to_serial IS NULL AND $2::bigint IS NOT NULL"}
	if !current {
		r.valid = "from_serial <= $2 AND (to_serial IS NULL OR to_serial > $2)"
	}
	if err := s.readFields(ctx, r, st); err != nil {
		return fail(err)
	}
	if err := s.readSearches(ctx, r, st); err != nil {
		return fail(err)
	}
	sums, err := s.readHits(ctx, tx, r.valid, r.args, st)
	if err != nil {
		return fail(fmt.Errorf("hits: %w", err))
	}
	if err := s.readReports(ctx, r, st); err != nil {
		return fail(err)
	}
	seqs, err := s.readOutbox(ctx, r, st)
	if err != nil {
		return fail(err)
	}
	if !current {
		return st, nil, nil
	}
	snap, err := snapshotOf(st, sums, seqs)
	if err != nil {
		return fail(fmt.Errorf("snapshot: %w", err))
	}
	snap.exists = true
	return st, snap, nil
}

// rowReader reads the rows of one serial of the state: those valid in it
// by the condition valid, over args (the state's name, the serial).
type rowReader struct {
	tx    pgx.Tx
	valid string
	args  []any
}

// query selects what from table's rows of the serial, ordered as order
// says ("" for no order).
func (r *rowReader) query(ctx context.Context, what, table, order string) (pgx.Rows, error) {
	return r.tx.Query(ctx, "SELECT "+what+" FROM "+table+" WHERE state = $1 AND "+r.valid+order, r.args...)
}

// readSerial reads serial n's row: the state with its header and budget,
// and no entries yet. A serial never saved is a *SerialError naming the
// serials near it; a newer format than this build reads, a *FormatError.
func (s *Store) readSerial(ctx context.Context, tx pgx.Tx, n uint64) (*state.State, error) {
	var lineage string
	var fv int
	var pv string
	var budgetDay pgtype.Date
	var budgetCalls pgtype.Int4
	err := tx.QueryRow(ctx, "SELECT lineage, format_version, patwatch_version, budget_day, budget_calls FROM "+s.t("serials")+" WHERE state = $1 AND serial = $2",
		s.state, int64(n)).Scan(&lineage, &fv, &pv, &budgetDay, &budgetCalls)
	if errors.Is(err, pgx.ErrNoRows) {
		e := &SerialError{Store: s.display, State: s.state, Serial: n}
		rows, qerr := tx.Query(ctx, `(SELECT serial FROM `+s.t("serials")+` WHERE state = $1 AND serial < $2 ORDER BY serial DESC LIMIT 3)
			UNION ALL (SELECT serial FROM `+s.t("serials")+` WHERE state = $1 AND serial > $2 ORDER BY serial LIMIT 3) ORDER BY 1`, s.state, int64(n))
		if qerr == nil {
			near, _ := pgx.CollectRows(rows, pgx.RowTo[int64])
			for _, v := range near {
				e.Near = append(e.Near, uint64(v))
			}
		}
		return nil, e
	}
	if err != nil {
		return nil, fmt.Errorf("read state %s from %s: serials: %w", s.state, s.display, err)
	}
	if fv > state.FormatVersion {
		return nil, &FormatError{Store: s.display, State: s.state, Serial: n, FormatVersion: fv, PatwatchVersion: pv}
	}
	st := &state.State{
		FormatVersion: fv, Serial: n, Lineage: lineage, PatwatchVersion: pv,
		Searches: map[string]*state.Search{}, Reports: map[string]*state.Report{},
	}
	if budgetDay.Valid {
		st.Budget = &state.Budget{Day: budgetDay.Time.Format(time.DateOnly), Calls: int(budgetCalls.Int32)}
	}
	return st, nil
}

// readFields sets the state's fields that no table models.
func (s *Store) readFields(ctx context.Context, r *rowReader, st *state.State) error {
	fail := func(err error) error { return fmt.Errorf("state_fields: %w", err) }
	rows, err := r.query(ctx, "field, value, raw", s.t("state_fields"), "")
	if err != nil {
		return fail(err)
	}
	defer rows.Close()
	fields := map[string]fieldRow{}
	for rows.Next() {
		var name string
		var f fieldRow
		var raw pgtype.Text
		if err := rows.Scan(&name, &f.value, &raw); err != nil {
			return fail(err)
		}
		if raw.Valid {
			f.raw, f.value = []byte(raw.String), nil
		}
		fields[name] = f
	}
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	if err := setFields(st, fields); err != nil {
		return fail(err)
	}
	return nil
}

// readSearches adds the state's searches, live and retired, without their
// hits.
func (s *Store) readSearches(ctx context.Context, r *rowReader, st *state.State) error {
	rows, err := r.query(ctx, "search, retired, fingerprint, baseline_at, refreshed_at, retired_at, extra, raw", s.t("searches"), "")
	if err != nil {
		return fmt.Errorf("searches: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var retired bool
		var row searchRow
		var refreshed, retiredAt pgtype.Timestamptz
		var raw pgtype.Text
		if err := rows.Scan(&name, &retired, &row.fingerprint, &row.baselineAt, &refreshed, &retiredAt, &row.extra, &raw); err != nil {
			return fmt.Errorf("searches: %w", err)
		}
		row.baselineAt = row.baselineAt.UTC()
		row.refreshedAt, row.retiredAt = timeOf(refreshed), timeOf(retiredAt)
		if raw.Valid {
			row.raw = []byte(raw.String)
		}
		sr, err := row.search()
		if err != nil {
			return fmt.Errorf("search %s: %w", name, err)
		}
		if !retired {
			st.Searches[name] = sr
			continue
		}
		if st.RetiredSearches == nil {
			st.RetiredSearches = map[string]*state.Search{}
		}
		st.RetiredSearches[name] = sr
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("searches: %w", err)
	}
	return nil
}

// readReports adds the state's reports, live and retired.
func (s *Store) readReports(ctx context.Context, r *rowReader, st *state.State) error {
	rows, err := r.query(ctx, `report, retired, patent_number, patent_id, format, logo, job_id, status, submitted_at, link_expires_at,
		file, sha256, last_error, submissions, outcome_unknown_at, retired_at, extra, raw`, s.t("reports"), "")
	if err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var retired bool
		var rr reportRow
		var number, id, job, file, sum, lastErr, rawText pgtype.Text
		var expires, unknown, retiredAt pgtype.Timestamptz
		if err := rows.Scan(&name, &retired, &number, &id, &rr.format, &rr.logo, &job, &rr.status, &rr.submittedAt, &expires,
			&file, &sum, &lastErr, &rr.submissions, &unknown, &retiredAt, &rr.extra, &rawText); err != nil {
			return fmt.Errorf("reports: %w", err)
		}
		rr.patentNumber, rr.patentID, rr.jobID = number.String, id.String, job.String
		rr.file, rr.sha256, rr.lastError = file.String, sum.String, lastErr.String
		rr.submittedAt = rr.submittedAt.UTC()
		rr.linkExpiresAt, rr.outcomeUnknownAt, rr.retiredAt = timeOf(expires), timeOf(unknown), timeOf(retiredAt)
		if rawText.Valid {
			rr.raw = []byte(rawText.String)
		}
		rp, err := rr.report()
		if err != nil {
			return fmt.Errorf("report %s: %w", name, err)
		}
		if !retired {
			st.Reports[name] = rp
			continue
		}
		if st.RetiredReports == nil {
			st.RetiredReports = map[string]*state.Report{}
		}
		st.RetiredReports[name] = rp
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	return nil
}

// readOutbox adds the state's outbox, oldest first, and returns its rows'
// seqs by message id: their own, which later saves compare with.
func (s *Store) readOutbox(ctx context.Context, r *rowReader, st *state.State) (map[string]int64, error) {
	rows, err := r.query(ctx, "id, seq, channel, generated_at, spec, simulated, events, attempts, first_failed, last_error, extra, raw",
		s.t("outbox"), " ORDER BY seq")
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	defer rows.Close()
	seqs := map[string]int64{}
	for rows.Next() {
		var id string
		var row messageRow
		var failed pgtype.Timestamptz
		var lastErr, raw pgtype.Text
		if err := rows.Scan(&id, &row.seq, &row.channel, &row.generatedAt, &row.spec, &row.simulated, &row.events, &row.attempts, &failed, &lastErr, &row.extra, &raw); err != nil {
			return nil, fmt.Errorf("outbox: %w", err)
		}
		row.generatedAt, row.firstFailed, row.lastError = row.generatedAt.UTC(), timeOf(failed), lastErr.String
		if raw.Valid {
			row.raw = []byte(raw.String)
		}
		m, err := row.message(id)
		if err != nil {
			return nil, fmt.Errorf("outbox message %s: %w", id, err)
		}
		st.Outbox = append(st.Outbox, m)
		seqs[id] = row.seq
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	return seqs, nil
}

// timeOf is a nullable timestamp as the state holds it: NULL is the zero
// time.
func timeOf(t pgtype.Timestamptz) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}

// snapshotOf returns the rows of st as a save compares them, with the
// digests of its searches' hits and the seqs of its outbox's rows (by
// message id; delivered messages leave gaps, so they are not derived).
func snapshotOf(st *state.State, sums map[entryKey]*hitSum, seqs map[string]int64) (*snapshot, error) {
	snap := emptySnapshot(st.Lineage)
	snap.serial = st.Serial
	if st.Budget != nil {
		b := *st.Budget
		snap.budget = &b
	}
	var err error
	if snap.fields, err = fieldsOf(st); err != nil {
		return nil, err
	}
	for _, part := range []struct {
		m       map[string]*state.Search
		retired bool
	}{{st.Searches, false}, {st.RetiredSearches, true}} {
		for name, sr := range part.m {
			k := entryKey{name, part.retired}
			row, err := searchRowOf(sr, part.retired)
			if err != nil {
				return nil, fmt.Errorf("search %s: %w", k, err)
			}
			ss := &searchSnap{row: row}
			if sum := sums[k]; sum != nil {
				ss.hits = *sum
			}
			snap.searches[k] = ss
		}
	}
	for _, part := range []struct {
		m       map[string]*state.Report
		retired bool
	}{{st.Reports, false}, {st.RetiredReports, true}} {
		for name, rp := range part.m {
			k := entryKey{name, part.retired}
			row, err := reportRowOf(rp, part.retired)
			if err != nil {
				return nil, fmt.Errorf("report %s: %w", k, err)
			}
			snap.reports[k] = row
		}
	}
	for _, m := range st.Outbox {
		row, err := messageRowOf(m, seqs[m.ID])
		if err != nil {
			return nil, fmt.Errorf("outbox message %s: %w", m.ID, err)
		}
		snap.outbox[m.ID] = row
	}
	return snap, nil
}

// outboxSeqs gives the messages of an outbox the seqs that order them,
// oldest first: the messages the snapshot has keep theirs while they stay
// in order, and the others take free seqs between their neighbours'; when
// there is no room (a message put between two with consecutive seqs), all
// are numbered afresh from 1. old may be nil.
func outboxSeqs(old map[string]messageRow, outbox []*state.Message) []int64 {
	seqs := make([]int64, len(outbox))
	kept := make([]bool, len(outbox))
	var prev int64
	for i, m := range outbox {
		if r, ok := old[m.ID]; ok && r.seq > prev {
			seqs[i], kept[i], prev = r.seq, true, r.seq
		}
	}
	prev = 0
	for i := range outbox {
		if kept[i] {
			prev = seqs[i]
			continue
		}
		next := int64(math.MaxInt64)
		for j := i + 1; j < len(outbox); j++ {
			if kept[j] {
				next = seqs[j]
				break
			}
		}
		if prev+1 >= next {
			for j := range seqs {
				seqs[j] = int64(j) + 1
			}
			return seqs
		}
		prev++
		seqs[i] = prev
	}
	return seqs
}

// Exists reports whether the state has ever been saved.
func (s *Store) Exists(ctx context.Context) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	conn, err := s.data(ctx)
	if err != nil {
		return false, s.redact(err)
	}
	var ok bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM "+s.t("states")+" WHERE state = $1)", s.state).Scan(&ok); err != nil {
		return false, s.redact(fmt.Errorf("state %s (%s): %w", s.state, s.display, err))
	}
	return ok, nil
}

// hitSelect selects hit rows in the column order decodeHit reads, after
// retired and search.
const hitSelect = "SELECT retired, search, patent_pn, first_seen, missing, patent_id, title, current_assignee, apno, apdt, pbdt, extra, raw FROM "

// readHits reads the hits valid in the snapshot the query's condition
// names into their searches in st, and returns the digest of each
// search's hits. It is the one query whose cost grows with the state (a
// million rows), so it decodes the binary rows itself, allocating one
// string for a row's text and its hits a thousand at a time.
func (s *Store) readHits(ctx context.Context, tx pgx.Tx, valid string, args []any, st *state.State) (map[entryKey]*hitSum, error) {
	rows, err := tx.Query(ctx, hitSelect+s.t("hits")+" WHERE state = $1 AND "+valid, append([]any{pgx.QueryResultFormats{pgx.BinaryFormatCode}}, args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	sums := make(map[entryKey]*hitSum, len(st.Searches))
	var (
		last   entryKey
		into   *state.Search
		sum    *hitSum
		slab   []state.Hit
		buf    []byte
		retire bool
	)
	for rows.Next() {
		v := rows.RawValues()
		if len(v) != 13 {
			return nil, fmt.Errorf("%d columns, want 13", len(v))
		}
		if len(v[0]) != 1 {
			return nil, errors.New("retired: not a boolean")
		}
		retire = v[0][0] != 0
		if into == nil || retire != last.retired || string(v[1]) != last.name {
			m := st.Searches
			if retire {
				m = st.RetiredSearches
			}
			into = m[string(v[1])]
			last = entryKey{string(v[1]), retire}
			if into == nil {
				return nil, fmt.Errorf("hit %s belongs to search %s, which the state does not hold", v[2], last)
			}
			if sum = sums[last]; sum == nil {
				sum = &hitSum{}
				sums[last] = sum
			}
		}
		pn, r, err := decodeHit(v[2:])
		if err != nil {
			return nil, fmt.Errorf("hit %s of search %s: %w", v[2], last, err)
		}
		if len(slab) == 0 {
			slab = make([]state.Hit, 1024)
		}
		h := &slab[0]
		slab = slab[1:]
		if err := r.hitInto(h); err != nil {
			return nil, fmt.Errorf("hit %s of search %s: %w", pn, last, err)
		}
		into.Hits[pn] = h
		if err := sum.add(pn, h, &buf); err != nil {
			return nil, fmt.Errorf("hit %s of search %s: %w", pn, last, err)
		}
	}
	return sums, rows.Err()
}

// decodeHit decodes the binary columns of a hit row after its search, in
// hitSelect's order: its key and its row. The row's text is one string,
// sliced into its fields.
func decodeHit(v [][]byte) (string, hitRow, error) {
	var r hitRow
	n := len(v[0]) + len(v[3]) + len(v[4]) + len(v[5]) + len(v[6])
	text := make([]byte, 0, n)
	for _, i := range []int{0, 3, 4, 5, 6} {
		text = append(text, v[i]...)
	}
	all := string(text)
	cut := func(i int) string {
		f := all[:len(v[i])]
		all = all[len(v[i]):]
		return f
	}
	pn := cut(0)
	var err error
	if r.firstSeen, err = decodeTimestamptz(v[1]); err != nil {
		return pn, r, fmt.Errorf("first_seen: %w", err)
	}
	if r.missing, err = decodeInt4(v[2], false); err != nil {
		return pn, r, fmt.Errorf("missing: %w", err)
	}
	r.patentID, r.title, r.assignee, r.apno = cut(3), cut(4), cut(5), cut(6)
	if r.apdt, err = decodeInt4(v[7], true); err != nil {
		return pn, r, fmt.Errorf("apdt: %w", err)
	}
	if r.pbdt, err = decodeInt4(v[8], true); err != nil {
		return pn, r, fmt.Errorf("pbdt: %w", err)
	}
	if v[9] != nil {
		if len(v[9]) == 0 || v[9][0] != 1 {
			return pn, r, errors.New("extra: not jsonb version 1")
		}
		if r.extra, err = canonicalJSON(v[9][1:]); err != nil {
			return pn, r, fmt.Errorf("extra: %w", err)
		}
	}
	if v[10] != nil {
		r.raw = append([]byte(nil), v[10]...)
	}
	return pn, r, nil
}

// pgEpoch is where PostgreSQL's binary timestamps count from, in Unix
// seconds: 2000-01-01T00:00:00Z.
const pgEpoch = 946684800

func decodeTimestamptz(b []byte) (time.Time, error) {
	if len(b) != 8 {
		return time.Time{}, fmt.Errorf("timestamptz of %d bytes", len(b))
	}
	us := int64(binary.BigEndian.Uint64(b))
	if us == math.MaxInt64 || us == math.MinInt64 {
		return time.Time{}, errors.New("an infinite timestamp")
	}
	secs, frac := us/1e6, us%1e6
	if frac < 0 {
		secs, frac = secs-1, frac+1e6
	}
	return time.Unix(pgEpoch+secs, frac*1e3).UTC(), nil
}

func decodeInt4(b []byte, nullable bool) (int, error) {
	if b == nil && nullable {
		return 0, nil
	}
	if len(b) != 4 {
		return 0, fmt.Errorf("integer of %d bytes", len(b))
	}
	return int(int32(binary.BigEndian.Uint32(b))), nil
}
