package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/patwatch/patwatch/state"
)

// writing is one save's write: the state, the snapshot it was diffed
// against (what this store last read or wrote), the changes between them,
// and the serial (resolved: never 0), replacement and saver of the save.
type writing struct {
	st     *state.State
	snap   *snapshot
	c      *changes
	format int
	lock   *heldLock // the state's lock this store holds, which the save proves; nil: none
	saveOptions
}

// errNoChange ends a write whose dirty searches turned out unchanged.
var errNoChange = errors.New("no change")

// write commits w, after checking that the database still holds what
// w.snap says. It reports false, writing nothing, when the diff of the
// dirty searches finds nothing changed and w is no replacement.
func (s *Store) write(ctx context.Context, conn *pgx.Conn, w *writing) (bool, error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("save state %s to %s: %w", s.state, s.display, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	err = s.writeTx(ctx, conn, tx, w)
	if err == nil {
		err = tx.Commit(ctx)
	}
	var ce *ConflictError
	var ll *LockLostError
	switch {
	case errors.Is(err, errNoChange):
		return false, nil
	case errors.As(err, &ce), errors.As(err, &ll):
		return false, err
	case err != nil:
		return false, fmt.Errorf("save state %s to %s: %w", s.state, s.display, err)
	}
	return true, nil
}

// writeTx writes w in tx: once it has proved the lock it holds, if any,
// the state's head row, then the rows it closes, the rows it adds and its
// serials row.
func (s *Store) writeTx(ctx context.Context, conn *pgx.Conn, tx pgx.Tx, w *writing) error {
	if w.lock != nil {
		if err := s.proveLock(ctx, tx, w.lock); err != nil {
			return err
		}
	}
	now := s.opts.Now().UTC()
	if err := s.writeHead(ctx, conn, tx, w, now); err != nil {
		return err
	}
	if len(w.c.dirty) > 0 {
		// Only searches the database holds are dirty, and it holds none.
		return errors.New("the state's searches are not in the database")
	}
	if err := s.closeRows(ctx, tx, w); err != nil {
		return err
	}
	if err := s.copyRows(ctx, tx, w); err != nil {
		return err
	}
	return s.writeSerial(ctx, tx, w, now)
}

// writeHead moves the state's row in the states table to w's serial, or
// creates it, once it has checked under a row lock that the database
// holds what w.snap says: otherwise it returns a *ConflictError. For a
// state that exists, it diffs the dirty searches against the database,
// and returns errNoChange when nothing changed after all.
func (s *Store) writeHead(ctx context.Context, conn *pgx.Conn, tx pgx.Tx, w *writing, now time.Time) error {
	snap, st := w.snap, w.st
	conflict := &ConflictError{Store: s.display, State: s.state, ReadSerial: snap.serial, ReadExists: snap.exists, SavingLineage: snap.lineage}
	var lineage string
	var cur int64
	err := tx.QueryRow(ctx, "SELECT lineage, serial FROM "+s.t("states")+" WHERE state = $1 FOR UPDATE", s.state).Scan(&lineage, &cur)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		if snap.exists {
			return conflict
		}
		_, err = tx.Exec(ctx, "INSERT INTO "+s.t("states")+" (state, lineage, serial, updated_at) VALUES ($1, $2, $3, $4)", s.state, st.Lineage, int64(w.serial), now)
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
		return nil
	case err != nil:
		return fmt.Errorf("states: %w", err)
	}
	conflict.Exists, conflict.Lineage, conflict.Serial = true, lineage, uint64(cur)
	if !snap.exists || lineage != snap.lineage || uint64(cur) != snap.serial {
		return conflict
	}
	if uint64(cur) >= w.serial {
		return fmt.Errorf("serial %d is not above the current %d", w.serial, cur)
	}
	if err := s.diffDirty(ctx, tx, w.c); err != nil {
		return fmt.Errorf("hits: %w", err)
	}
	if w.c.count() == 0 && !w.replace {
		return errNoChange
	}
	if _, err := tx.Exec(ctx, "UPDATE "+s.t("states")+" SET lineage = $2, serial = $3, updated_at = $4 WHERE state = $1",
		s.state, st.Lineage, int64(w.serial), now); err != nil {
		return fmt.Errorf("states: %w", err)
	}
	return nil
}

// closeRows closes, at w's serial, the current versions of the rows w
// removes or replaces.
func (s *Store) closeRows(ctx context.Context, tx pgx.Tx, w *writing) error {
	c, ser := w.c, int64(w.serial)
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
	closeEntries := func(table, key string, keys []entryKey) error {
		if len(keys) == 0 {
			return nil
		}
		names, retired := make([]string, len(keys)), make([]bool, len(keys))
		for i, k := range keys {
			names[i], retired[i] = k.name, k.retired
		}
		_, err := tx.Exec(ctx, "UPDATE "+s.t(table)+" AS t SET to_serial = $2 FROM unnest($3::text[], $4::boolean[]) AS c(name, retired)"+
			" WHERE t.state = $1 AND t."+ident(key)+" = c.name AND t.retired = c.retired AND t.to_serial IS NULL", s.state, ser, names, retired)
		if err != nil {
			return fmt.Errorf("%s: %w", table, err)
		}
		return nil
	}
	if err := closeBy("state_fields", "field", slices.Concat(c.fieldsGone, keys(c.fields))); err != nil {
		return err
	}
	if err := closeEntries("searches", "search", slices.Concat(c.searchGone, entryKeys(c.searches))); err != nil {
		return err
	}
	if err := closeEntries("hits", "search", c.searchGone); err != nil {
		return err
	}
	if err := s.closeHits(ctx, tx, ser, c.hitCloses); err != nil {
		return err
	}
	if err := closeEntries("reports", "report", slices.Concat(c.reportsGone, entryKeys(c.reports))); err != nil {
		return err
	}
	return closeBy("outbox", "id", slices.Concat(c.outboxGone, keys(c.outbox)))
}

// closeHits closes the current versions of the hits replaced or removed
// within kept searches.
func (s *Store) closeHits(ctx context.Context, tx pgx.Tx, ser int64, hits []hitInsert) error {
	if len(hits) == 0 {
		return nil
	}
	names, retired, pns := make([]string, len(hits)), make([]bool, len(hits)), make([]string, len(hits))
	for i, h := range hits {
		names[i], retired[i], pns[i] = h.search.name, h.search.retired, h.pn
	}
	if _, err := tx.Exec(ctx, "UPDATE "+s.t("hits")+` AS h SET to_serial = $2 FROM unnest($3::text[], $4::boolean[], $5::text[]) AS c(search, retired, patent_pn)
		WHERE h.state = $1 AND h.search = c.search AND h.retired = c.retired AND h.patent_pn = c.patent_pn AND h.to_serial IS NULL`,
		s.state, ser, names, retired, pns); err != nil {
		return fmt.Errorf("hits: %w", err)
	}
	return nil
}

// copyRows adds the new versions of the rows w writes, valid from its
// serial.
func (s *Store) copyRows(ctx context.Context, tx pgx.Tx, w *writing) error {
	c, ser := w.c, int64(w.serial)
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
	fieldNames := keys(c.fields)
	if err := copyRows("state_fields", []string{"state", "field", "from_serial", "value", "raw"}, len(fieldNames), func(i int) []any {
		f := c.fields[fieldNames[i]]
		return []any{s.state, fieldNames[i], ser, jsonbOrNil(f.value), textOrNil(f.raw)}
	}); err != nil {
		return err
	}
	searchKeys := entryKeys(c.searches)
	if err := copyRows("searches", append([]string{"state", "search", "retired", "from_serial"}, searchColumns...), len(searchKeys), func(i int) []any {
		r := c.searches[searchKeys[i]]
		return append([]any{s.state, searchKeys[i].name, searchKeys[i].retired, ser}, r.copyValues()...)
	}); err != nil {
		return err
	}
	if err := copyRows("hits", append([]string{"state", "search", "retired", "patent_pn", "from_serial"}, hitColumns...), len(c.hitInserts), func(i int) []any {
		h := &c.hitInserts[i]
		return append([]any{s.state, h.search.name, h.search.retired, h.pn, ser}, h.row.copyValues()...)
	}); err != nil {
		return err
	}
	reportKeys := entryKeys(c.reports)
	if err := copyRows("reports", append([]string{"state", "report", "retired", "from_serial"}, reportColumns...), len(reportKeys), func(i int) []any {
		r := c.reports[reportKeys[i]]
		return append([]any{s.state, reportKeys[i].name, reportKeys[i].retired, ser}, r.copyValues()...)
	}); err != nil {
		return err
	}
	ids := keys(c.outbox)
	return copyRows("outbox", append([]string{"state", "id", "from_serial"}, messageColumns...), len(ids), func(i int) []any {
		r := c.outbox[ids[i]]
		return append([]any{s.state, ids[i], ser}, r.copyValues()...)
	})
}

// writeSerial adds the serials row of w: who saved it, when, in which
// format, with the budget it records.
func (s *Store) writeSerial(ctx context.Context, tx pgx.Tx, w *writing, now time.Time) error {
	var budgetDay, budgetCalls any
	if b := w.st.Budget; b != nil {
		d, _ := time.Parse(time.DateOnly, b.Day) // check made sure it parses
		budgetDay, budgetCalls = d, b.Calls
	}
	c := w.c
	written := len(c.fields) + len(c.searches) + len(c.hitInserts) + len(c.reports) + len(c.outbox)
	if _, err := tx.Exec(ctx, "INSERT INTO "+s.t("serials")+` (state, serial, lineage, format_version, patwatch_version, saved_at, saved_by, rows_written, budget_day, budget_calls)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, s.state, int64(w.serial), w.st.Lineage, w.format, w.st.PatwatchVersion, now, w.by, written, budgetDay, budgetCalls); err != nil {
		return fmt.Errorf("serials: %w", err)
	}
	return nil
}
