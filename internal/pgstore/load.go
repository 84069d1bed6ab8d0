package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/patwatch/patwatch/state"
)

// snapshot is what the store last read or wrote of the current state, as
// rows: a save compares the new state with it and writes only what differs,
// and only if the database still holds this lineage and serial.
type snapshot struct {
	exists   bool // the state has a row: false for a state never saved
	lineage  string
	serial   uint64
	fields   map[string]fieldRow
	searches map[string]*searchSnap
	reports  map[string]reportRow
}

type searchSnap struct {
	row  searchRow
	hits map[string]state.Hit // copies: the caller may change the state it was given
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

// SerialError reports a serial that was never saved.
type SerialError struct {
	Store  string
	State  string
	Serial uint64
	Near   []uint64 // saved serials around it
}

func (e *SerialError) Error() string {
	return fmt.Sprintf("state %s (%s) has no serial %d", e.State, e.Store, e.Serial)
}

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

// ErrNoState is returned by LoadSerial for a state never saved.
var ErrNoState = errors.New("the state has never been saved")

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
	fail := func(what string, err error) (*state.State, *snapshot, error) {
		return nil, nil, fmt.Errorf("read state %s from %s: %s: %w", s.state, s.display, what, err)
	}
	var lineage string
	var cur int64
	err := tx.QueryRow(ctx, "SELECT lineage, serial FROM "+s.t("states")+" WHERE state = $1", s.state).Scan(&lineage, &cur)
	if errors.Is(err, pgx.ErrNoRows) {
		if !current {
			return nil, nil, &SerialError{Store: s.display, State: s.state, Serial: n}
		}
		st := state.New()
		return st, &snapshot{lineage: st.Lineage, fields: map[string]fieldRow{}, searches: map[string]*searchSnap{}, reports: map[string]reportRow{}}, nil
	}
	if err != nil {
		return fail("states", err)
	}
	if current {
		n = uint64(cur)
	}
	var fv int
	var pv string
	err = tx.QueryRow(ctx, "SELECT lineage, format_version, patwatch_version FROM "+s.t("serials")+" WHERE state = $1 AND serial = $2",
		s.state, int64(n)).Scan(&lineage, &fv, &pv)
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
		return nil, nil, e
	}
	if err != nil {
		return fail("serials", err)
	}
	if fv > state.FormatVersion {
		return nil, nil, &FormatError{Store: s.display, State: s.state, Serial: n, FormatVersion: fv, PatwatchVersion: pv}
	}
	st := &state.State{
		FormatVersion: fv, Serial: n, Lineage: lineage, PatwatchVersion: pv,
		Searches: map[string]*state.Search{}, Reports: map[string]*state.Report{},
	}

	valid := "to_serial IS NULL AND $2::bigint IS NOT NULL"
	if !current {
		valid = "from_serial <= $2 AND (to_serial IS NULL OR to_serial > $2)"
	}
	args := []any{s.state, int64(n)}

	fields := map[string]fieldRow{}
	rows, err := tx.Query(ctx, "SELECT field, value, raw FROM "+s.t("state_fields")+" WHERE state = $1 AND "+valid, args...)
	if err != nil {
		return fail("state_fields", err)
	}
	for rows.Next() {
		var name string
		var f fieldRow
		var raw pgtype.Text
		if err := rows.Scan(&name, &f.value, &raw); err != nil {
			return fail("state_fields", err)
		}
		if raw.Valid {
			f.raw, f.value = []byte(raw.String), nil
		}
		fields[name] = f
	}
	if err := rows.Err(); err != nil {
		return fail("state_fields", err)
	}
	if err := setFields(st, fields); err != nil {
		return fail("state_fields", err)
	}

	rows, err = tx.Query(ctx, "SELECT search, fingerprint, baseline_at, extra, raw FROM "+s.t("searches")+" WHERE state = $1 AND "+valid, args...)
	if err != nil {
		return fail("searches", err)
	}
	for rows.Next() {
		var name string
		var r searchRow
		var raw pgtype.Text
		if err := rows.Scan(&name, &r.fingerprint, &r.baselineAt, &r.extra, &raw); err != nil {
			return fail("searches", err)
		}
		r.baselineAt = r.baselineAt.UTC()
		if raw.Valid {
			r.raw = []byte(raw.String)
		}
		sr, err := r.search()
		if err != nil {
			return fail("search "+name, err)
		}
		st.Searches[name] = sr
	}
	if err := rows.Err(); err != nil {
		return fail("searches", err)
	}

	rows, err = tx.Query(ctx, `SELECT search, patent_pn, first_seen, missing, patent_id, title, current_assignee, apno, apdt, pbdt, extra, raw
		FROM `+s.t("hits")+" WHERE state = $1 AND "+valid, args...)
	if err != nil {
		return fail("hits", err)
	}
	var (
		search, pn                      []byte
		lastName                        string
		into                            *state.Search
		patentID, title, assignee, apno pgtype.Text
		apdt, pbdt                      pgtype.Int4
		raw                             pgtype.Text
		r                               hitRow
	)
	for rows.Next() {
		r = hitRow{}
		if err := rows.Scan(&search, &pn, &r.firstSeen, &r.missing, &patentID, &title, &assignee, &apno, &apdt, &pbdt, &r.extra, &raw); err != nil {
			return fail("hits", err)
		}
		if into == nil || string(search) != lastName {
			lastName = string(search)
			into = st.Searches[lastName]
			if into == nil {
				return fail("hits", fmt.Errorf("hit %s belongs to search %q, which the state does not hold", pn, lastName))
			}
		}
		r.firstSeen = r.firstSeen.UTC()
		r.patentID, r.title, r.assignee, r.apno = patentID.String, title.String, assignee.String, apno.String
		r.apdt, r.pbdt = int(apdt.Int32), int(pbdt.Int32)
		if raw.Valid {
			r.raw = []byte(raw.String)
		}
		h, err := r.hit()
		if err != nil {
			return fail(fmt.Sprintf("hit %s of search %s", pn, lastName), err)
		}
		into.Hits[string(pn)] = h
	}
	if err := rows.Err(); err != nil {
		return fail("hits", err)
	}

	rows, err = tx.Query(ctx, `SELECT report, patent_number, patent_id, format, logo, job_id, status, submitted_at, link_expires_at,
		file, sha256, last_error, extra, raw FROM `+s.t("reports")+" WHERE state = $1 AND "+valid, args...)
	if err != nil {
		return fail("reports", err)
	}
	for rows.Next() {
		var name string
		var rr reportRow
		var number, id, job, file, sum, lastErr, rawText pgtype.Text
		var expires pgtype.Timestamptz
		if err := rows.Scan(&name, &number, &id, &rr.format, &rr.logo, &job, &rr.status, &rr.submittedAt, &expires,
			&file, &sum, &lastErr, &rr.extra, &rawText); err != nil {
			return fail("reports", err)
		}
		rr.patentNumber, rr.patentID, rr.jobID = number.String, id.String, job.String
		rr.file, rr.sha256, rr.lastError = file.String, sum.String, lastErr.String
		rr.submittedAt = rr.submittedAt.UTC()
		if expires.Valid {
			rr.linkExpiresAt = expires.Time.UTC()
		}
		if rawText.Valid {
			rr.raw = []byte(rawText.String)
		}
		rp, err := rr.report()
		if err != nil {
			return fail("report "+name, err)
		}
		st.Reports[name] = rp
	}
	if err := rows.Err(); err != nil {
		return fail("reports", err)
	}

	if !current {
		return st, nil, nil
	}
	snap, err := snapshotOf(st)
	if err != nil {
		return fail("snapshot", err)
	}
	snap.exists = true
	return st, snap, nil
}

// snapshotOf returns the rows of st, as a save compares them.
func snapshotOf(st *state.State) (*snapshot, error) {
	snap := &snapshot{
		lineage: st.Lineage, serial: st.Serial,
		searches: make(map[string]*searchSnap, len(st.Searches)),
		reports:  make(map[string]reportRow, len(st.Reports)),
	}
	var err error
	if snap.fields, err = fieldsOf(st); err != nil {
		return nil, err
	}
	for name, sr := range st.Searches {
		row, err := searchRowOf(sr)
		if err != nil {
			return nil, fmt.Errorf("search %s: %w", name, err)
		}
		hits := make(map[string]state.Hit, len(sr.Hits))
		for pn, h := range sr.Hits {
			hits[pn] = *h
		}
		snap.searches[name] = &searchSnap{row: row, hits: hits}
	}
	for name, rp := range st.Reports {
		row, err := reportRowOf(rp)
		if err != nil {
			return nil, fmt.Errorf("report %s: %w", name, err)
		}
		snap.reports[name] = row
	}
	return snap, nil
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
