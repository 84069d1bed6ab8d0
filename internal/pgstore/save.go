package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/patwatch/patwatch/state"
)

// ConflictError reports a save refused because the database no longer
// holds what this store read: another run saved a newer serial, created
// the state, or it belongs to another lineage. Nothing was written; the
// state is never merged.
type ConflictError struct {
	Store, State string
	// What this store read: a serial, or no state at all.
	ReadSerial uint64
	ReadExists bool
	// What the database holds.
	Serial  uint64
	Exists  bool
	Lineage string
	// The lineage of the state being saved.
	SavingLineage string
}

func (e *ConflictError) Error() string {
	at := fmt.Sprintf("state %s (%s)", e.State, e.Store)
	switch {
	case e.Exists && !e.ReadExists:
		return fmt.Sprintf("%s was created by another run (serial %d) since this one found no state; not writing over it", at, e.Serial)
	case e.Exists && e.Lineage != e.SavingLineage:
		return fmt.Sprintf("%s has lineage %s, not %s: it is another state; not writing over it", at, e.Lineage, e.SavingLineage)
	case !e.Exists:
		return fmt.Sprintf("%s was removed since this run read serial %d; not writing it back", at, e.ReadSerial)
	}
	return fmt.Sprintf("%s is at serial %d, saved by another run since this one read serial %d; not writing over it", at, e.Serial, e.ReadSerial)
}

// Hint says what to do.
func (e *ConflictError) Hint() string {
	if e.ReadExists && e.Exists && e.Lineage != e.SavingLineage {
		return "if this state should replace it, pull it to a file and push that with 'patwatch state push --force'"
	}
	return "run again: the next run starts from the state saved now; a run holding the lock never meets this"
}

// Save writes st if its content differs from the current state's, and
// reports whether it wrote. Content is everything but the serial and the
// patwatch version, as for a state file. A write is one transaction: it
// checks that the database still holds the lineage and serial this store
// last read (or wrote), writes the rows that changed (closing their
// previous versions, which stay as history) and a serials row, and gives
// st the next serial. Save runs to completion even if ctx is cancelled: an
// interrupted run saves what it completed.
func (s *Store) Save(ctx context.Context, st *state.State) (bool, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opTimeout)
	defer cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	written, err := s.save(ctx, st, saveOptions{by: s.saver()})
	return written, s.redact(err)
}

// Replace makes st the current state at serial, whatever its lineage, as
// `state push` does after its own checks. It writes even when only the
// serial differs, so that the state reads back with the serial it was
// pushed with. Like Save, it refuses if the state changed since this store
// read it.
func (s *Store) Replace(ctx context.Context, st *state.State, serial uint64) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opTimeout)
	defer cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.save(ctx, st, saveOptions{serial: serial, replace: true, by: "state push"})
	return s.redact(err)
}

// saver names who saves, for the serials table: the command of the lock
// this store holds, else patwatch.
func (s *Store) saver() string {
	if s.command != "" {
		return s.command
	}
	return "patwatch"
}

type saveOptions struct {
	serial  uint64 // the serial to write; 0: the next one
	replace bool   // any lineage; write even if only the serial changed
	by      string
}

// changes are the rows a save writes: each changed or new row replaces
// the current version of its key (closing it), and each removed key's
// current version is closed. The hits of searches that existed are diffed
// against the database inside the save's transaction (see write): dirty
// holds their new rows.
type changes struct {
	fields      map[string]fieldRow
	fieldsGone  []string
	searches    map[string]searchRow
	searchGone  []string // removed searches: their hits are closed with them
	hitInserts  []hitInsert
	hitCloses   [2][]string // search, patent_pn of hits replaced or removed within kept searches
	dirty       map[string]map[string]hitRow
	sums        map[string]hitSum // the digest of every search's hits in the new state
	reports     map[string]reportRow
	reportsGone []string
}

type hitInsert struct {
	search, pn string
	row        hitRow
}

// count is the number of row changes known before the database diff of
// the dirty searches.
func (c *changes) count() int {
	return len(c.fields) + len(c.fieldsGone) + len(c.searches) + len(c.searchGone) + len(c.hitInserts) + len(c.hitCloses[0]) +
		len(c.dirty) + len(c.reports) + len(c.reportsGone)
}

func (s *Store) save(ctx context.Context, st *state.State, o saveOptions) (bool, error) {
	if err := check(st); err != nil {
		return false, fmt.Errorf("save state %s to %s: %w", s.state, s.display, err)
	}
	if s.snap == nil {
		// Saved without a Load: compare with what the database holds now.
		if _, snap, err := s.read(ctx, 0, true); err != nil {
			return false, err
		} else {
			s.snap = snap
		}
	}
	snap := s.snap
	if snap.exists && snap.lineage != st.Lineage && !o.replace {
		return false, &ConflictError{Store: s.display, State: s.state, ReadSerial: snap.serial, ReadExists: true,
			Serial: snap.serial, Exists: true, Lineage: snap.lineage, SavingLineage: st.Lineage}
	}
	c, err := diff(snap, st)
	if err != nil {
		return false, fmt.Errorf("save state %s to %s: %w", s.state, s.display, err)
	}
	serial := o.serial
	if serial == 0 {
		serial = max(snap.serial, st.Serial) + 1
	}
	if snap.exists && c.count() == 0 && !(o.replace && (serial != snap.serial || st.Lineage != snap.lineage)) {
		st.Serial, st.FormatVersion = snap.serial, state.FormatVersion
		return false, nil
	}
	conn, err := s.data(ctx)
	if err != nil {
		return false, err
	}
	wrote, err := s.write(ctx, conn, st, snap, c, serial, o.by, o.replace)
	if err != nil {
		return false, err
	}
	if !wrote { // the dirty searches' rows were all equal after all
		st.Serial, st.FormatVersion = snap.serial, state.FormatVersion
		return false, nil
	}
	apply(snap, c)
	snap.exists, snap.lineage, snap.serial = true, st.Lineage, serial
	st.Serial, st.FormatVersion = serial, state.FormatVersion
	return true, nil
}

// check is what a state must satisfy to be stored: what Load guarantees of
// any state, plus names PostgreSQL can hold.
func check(st *state.State) error {
	if st == nil {
		return errors.New("nil state")
	}
	if st.Lineage == "" {
		return errors.New("lineage: empty")
	}
	if st.Searches == nil {
		st.Searches = map[string]*state.Search{}
	}
	if st.Reports == nil {
		st.Reports = map[string]*state.Report{}
	}
	name := func(kind, n string) error {
		switch {
		case n == "":
			return fmt.Errorf("%s: empty name", kind)
		case !utf8.ValidString(n):
			return fmt.Errorf("%s %q: not valid UTF-8", kind, n)
		case !storable(n):
			return fmt.Errorf("%s %q: PostgreSQL cannot store a NUL character in a name", kind, n)
		}
		return nil
	}
	for n, sr := range st.Searches {
		if err := name("search", n); err != nil {
			return err
		}
		if sr == nil {
			return fmt.Errorf("search %q: null", n)
		}
		if sr.Hits == nil {
			sr.Hits = map[string]*state.Hit{}
		}
		// Its hits are checked by checkHit as diff reads them.
	}
	for n, r := range st.Reports {
		if err := name("report", n); err != nil {
			return err
		}
		if r == nil {
			return fmt.Errorf("report %q: null", n)
		}
	}
	return nil
}

// checkHit is check for one hit.
func checkHit(search, pn string, h *state.Hit) error {
	switch {
	case pn == "":
		return fmt.Errorf("search %q: hit: empty name", search)
	case h == nil:
		return fmt.Errorf("search %q: hit %q: null", search, pn)
	case !storable(pn):
		return fmt.Errorf("search %q: hit %q: not valid UTF-8, or holds a NUL character, which PostgreSQL cannot store in a name", search, pn)
	}
	return nil
}

// diff returns the rows that turn snap into st, except for the hits of
// searches whose digest changed, which write diffs against the database.
func diff(snap *snapshot, st *state.State) (*changes, error) {
	c := &changes{fields: map[string]fieldRow{}, searches: map[string]searchRow{}, reports: map[string]reportRow{},
		dirty: map[string]map[string]hitRow{}, sums: make(map[string]hitSum, len(st.Searches))}
	fields, err := fieldsOf(st)
	if err != nil {
		return nil, err
	}
	for k, f := range fields {
		if old, ok := snap.fields[k]; !ok || !old.equal(&f) {
			c.fields[k] = f
		}
	}
	for k := range snap.fields {
		if _, ok := fields[k]; !ok {
			c.fieldsGone = append(c.fieldsGone, k)
		}
	}

	var buf []byte
	for name, sr := range st.Searches {
		row, err := searchRowOf(sr)
		if err != nil {
			return nil, fmt.Errorf("search %s: %w", name, err)
		}
		old := snap.searches[name]
		if old == nil || !old.row.equal(&row) {
			c.searches[name] = row
		}
		var sum hitSum
		for pn, h := range sr.Hits {
			if err := checkHit(name, pn, h); err != nil {
				return nil, err
			}
			if err := sum.add(pn, h, &buf); err != nil {
				return nil, fmt.Errorf("search %s: hit %s: %w", name, pn, err)
			}
			if old == nil {
				r, err := hitRowOf(h)
				if err != nil {
					return nil, fmt.Errorf("search %s: hit %s: %w", name, pn, err)
				}
				c.hitInserts = append(c.hitInserts, hitInsert{search: name, pn: pn, row: r})
			}
		}
		c.sums[name] = sum
		if old != nil && sum != old.hits {
			rows := make(map[string]hitRow, len(sr.Hits))
			for pn, h := range sr.Hits {
				if rows[pn], err = hitRowOf(h); err != nil {
					return nil, fmt.Errorf("search %s: hit %s: %w", name, pn, err)
				}
			}
			c.dirty[name] = rows
		}
	}
	for name := range snap.searches {
		if _, ok := st.Searches[name]; !ok {
			c.searchGone = append(c.searchGone, name)
		}
	}

	for name, rp := range st.Reports {
		row, err := reportRowOf(rp)
		if err != nil {
			return nil, fmt.Errorf("report %s: %w", name, err)
		}
		if old, ok := snap.reports[name]; !ok || !old.equal(&row) {
			c.reports[name] = row
		}
	}
	for name := range snap.reports {
		if _, ok := st.Reports[name]; !ok {
			c.reportsGone = append(c.reportsGone, name)
		}
	}
	return c, nil
}

// apply brings the snapshot to the state c was computed for.
func apply(snap *snapshot, c *changes) {
	for k, f := range c.fields {
		snap.fields[k] = f
	}
	for _, k := range c.fieldsGone {
		delete(snap.fields, k)
	}
	for name, row := range c.searches {
		if ss := snap.searches[name]; ss != nil {
			ss.row = row
		} else {
			snap.searches[name] = &searchSnap{row: row}
		}
	}
	for _, name := range c.searchGone {
		delete(snap.searches, name)
	}
	for name, sum := range c.sums {
		snap.searches[name].hits = sum
	}
	for name, row := range c.reports {
		snap.reports[name] = row
	}
	for _, name := range c.reportsGone {
		delete(snap.reports, name)
	}
}

// diffDirty diffs the new rows of the dirty searches against their current
// rows in the database, adding the closes and inserts to c.
func (s *Store) diffDirty(ctx context.Context, tx pgx.Tx, c *changes) error {
	if len(c.dirty) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, hitSelect+s.t("hits")+" WHERE state = $1 AND search = ANY($2) AND to_serial IS NULL",
		pgx.QueryResultFormats{pgx.BinaryFormatCode}, s.state, keys(c.dirty))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		v := rows.RawValues()
		if len(v) != 12 {
			return fmt.Errorf("%d columns, want 12", len(v))
		}
		name := string(v[0])
		pn, cur, err := decodeHit(v[1:])
		if err != nil {
			return fmt.Errorf("hit %s of search %s: %w", pn, name, err)
		}
		next := c.dirty[name]
		nr, ok := next[pn]
		switch {
		case !ok:
			c.hitCloses[0] = append(c.hitCloses[0], name)
			c.hitCloses[1] = append(c.hitCloses[1], pn)
		case !nr.equal(&cur):
			c.hitCloses[0] = append(c.hitCloses[0], name)
			c.hitCloses[1] = append(c.hitCloses[1], pn)
			c.hitInserts = append(c.hitInserts, hitInsert{search: name, pn: pn, row: nr})
		}
		delete(next, pn)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, name := range keys(c.dirty) {
		for pn, r := range c.dirty[name] {
			c.hitInserts = append(c.hitInserts, hitInsert{search: name, pn: pn, row: r})
		}
	}
	c.dirty = nil
	return nil
}

// errNoChange ends a write whose dirty searches turned out unchanged.
var errNoChange = errors.New("no change")

// write commits the changes as serial, after checking that the database
// still holds what snap says. It reports false, writing nothing, when the
// diff of the dirty searches finds nothing changed and always is false.
func (s *Store) write(ctx context.Context, conn *pgx.Conn, st *state.State, snap *snapshot, c *changes, serial uint64, by string, always bool) (bool, error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("save state %s to %s: %w", s.state, s.display, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	err = s.writeTx(ctx, conn, tx, st, snap, c, serial, by, always)
	if err == nil {
		err = tx.Commit(ctx)
	}
	var ce *ConflictError
	switch {
	case errors.Is(err, errNoChange):
		return false, nil
	case errors.As(err, &ce):
		return false, err
	case err != nil:
		return false, fmt.Errorf("save state %s to %s: %w", s.state, s.display, err)
	}
	return true, nil
}

func (s *Store) writeTx(ctx context.Context, conn *pgx.Conn, tx pgx.Tx, st *state.State, snap *snapshot, c *changes, serial uint64, by string, always bool) error {
	conflict := &ConflictError{Store: s.display, State: s.state, ReadSerial: snap.serial, ReadExists: snap.exists, SavingLineage: snap.lineage}
	var lineage string
	var cur int64
	now := s.opts.Now().UTC()
	err := tx.QueryRow(ctx, "SELECT lineage, serial FROM "+s.t("states")+" WHERE state = $1 FOR UPDATE", s.state).Scan(&lineage, &cur)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		if snap.exists {
			return conflict
		}
		_, err = tx.Exec(ctx, "INSERT INTO "+s.t("states")+" (state, lineage, serial, updated_at) VALUES ($1, $2, $3, $4)", s.state, st.Lineage, int64(serial), now)
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23505" { // created meanwhile
			conflict.Exists = true
			tx.Rollback(ctx)
			_ = conn.QueryRow(ctx, "SELECT lineage, serial FROM "+s.t("states")+" WHERE state = $1", s.state).Scan(&conflict.Lineage, &cur)
			conflict.Serial = uint64(cur)
			return conflict
		}
		if err != nil {
			return fmt.Errorf("states: %w", err)
		}
	case err != nil:
		return fmt.Errorf("states: %w", err)
	default:
		conflict.Exists, conflict.Lineage, conflict.Serial = true, lineage, uint64(cur)
		if !snap.exists || lineage != snap.lineage || uint64(cur) != snap.serial {
			return conflict
		}
		if uint64(cur) >= serial {
			return fmt.Errorf("serial %d is not above the current %d", serial, cur)
		}
		if err := s.diffDirty(ctx, tx, c); err != nil {
			return fmt.Errorf("hits: %w", err)
		}
		if c.count() == 0 && !always {
			return errNoChange
		}
		if _, err := tx.Exec(ctx, "UPDATE "+s.t("states")+" SET lineage = $2, serial = $3, updated_at = $4 WHERE state = $1",
			s.state, st.Lineage, int64(serial), now); err != nil {
			return fmt.Errorf("states: %w", err)
		}
	}
	if len(c.dirty) > 0 {
		// Only searches the database holds are dirty, and it holds none.
		return errors.New("the state's searches are not in the database")
	}

	ser := int64(serial)
	closeBy := func(table, key string, names []string) error {
		if len(names) == 0 {
			return nil
		}
		_, err := tx.Exec(ctx, "UPDATE "+s.t(table)+" SET to_serial = $2 WHERE state = $1 AND "+ident(key)+" = ANY($3) AND to_serial IS NULL",
			s.state, ser, names)
		if err != nil {
			return fmt.Errorf("%s: %w", table, err)
		}
		return nil
	}
	if err := closeBy("state_fields", "field", slices.Concat(c.fieldsGone, keys(c.fields))); err != nil {
		return err
	}
	if err := closeBy("searches", "search", slices.Concat(c.searchGone, keys(c.searches))); err != nil {
		return err
	}
	if err := closeBy("hits", "search", c.searchGone); err != nil {
		return err
	}
	if len(c.hitCloses[0]) > 0 {
		if _, err := tx.Exec(ctx, "UPDATE "+s.t("hits")+` AS h SET to_serial = $2 FROM unnest($3::text[], $4::text[]) AS c(search, patent_pn)
			WHERE h.state = $1 AND h.search = c.search AND h.patent_pn = c.patent_pn AND h.to_serial IS NULL`,
			s.state, ser, c.hitCloses[0], c.hitCloses[1]); err != nil {
			return fmt.Errorf("hits: %w", err)
		}
	}
	if err := closeBy("reports", "report", slices.Concat(c.reportsGone, keys(c.reports))); err != nil {
		return err
	}

	copyRows := func(table string, cols []string, n int, row func(i int) []any) error {
		if n == 0 {
			return nil
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{s.schema, table}, cols, pgx.CopyFromSlice(n, func(i int) ([]any, error) {
			return row(i), nil
		}))
		if err != nil {
			return fmt.Errorf("%s: %w", table, err)
		}
		return nil
	}
	head := func(key string, cols []string) []string {
		return append([]string{"state", key, "from_serial"}, cols...)
	}
	fieldNames := keys(c.fields)
	if err := copyRows("state_fields", head("field", []string{"value", "raw"}), len(fieldNames), func(i int) []any {
		f := c.fields[fieldNames[i]]
		return []any{s.state, fieldNames[i], ser, jsonbOrNil(f.value), textOrNil(f.raw)}
	}); err != nil {
		return err
	}
	searchNames := keys(c.searches)
	if err := copyRows("searches", head("search", searchColumns), len(searchNames), func(i int) []any {
		r := c.searches[searchNames[i]]
		return append([]any{s.state, searchNames[i], ser}, r.copyValues()...)
	}); err != nil {
		return err
	}
	if err := copyRows("hits", append([]string{"state", "search", "patent_pn", "from_serial"}, hitColumns...), len(c.hitInserts), func(i int) []any {
		h := &c.hitInserts[i]
		return append([]any{s.state, h.search, h.pn, ser}, h.row.copyValues()...)
	}); err != nil {
		return err
	}
	reportNames := keys(c.reports)
	if err := copyRows("reports", head("report", reportColumns), len(reportNames), func(i int) []any {
		r := c.reports[reportNames[i]]
		return append([]any{s.state, reportNames[i], ser}, r.copyValues()...)
	}); err != nil {
		return err
	}

	written := len(c.fields) + len(c.searches) + len(c.hitInserts) + len(c.reports)
	if _, err := tx.Exec(ctx, "INSERT INTO "+s.t("serials")+` (state, serial, lineage, format_version, patwatch_version, saved_at, saved_by, rows_written)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, s.state, ser, st.Lineage, state.FormatVersion, st.PatwatchVersion, now, by, written); err != nil {
		return fmt.Errorf("serials: %w", err)
	}
	return nil
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
