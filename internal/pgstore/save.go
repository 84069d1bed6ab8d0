package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

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
// last read (or wrote) and, when this store holds the state's lock, that
// the lock's session still holds it (a *LockLostError otherwise, writing
// nothing), writes the rows that changed (closing their previous
// versions, which stay as history) and a serials row, and gives st the
// next serial. Save runs to completion even if ctx is cancelled: an
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
// against the database inside the save's transaction (see diffDirty):
// dirty holds their new rows.
type changes struct {
	fields      map[string]fieldRow
	fieldsGone  []string
	searches    map[entryKey]searchRow
	searchGone  []entryKey // removed searches: their hits are closed with them
	hitInserts  []hitInsert
	hitCloses   []hitInsert // hits replaced or removed within kept searches (row unused)
	dirty       map[entryKey]map[string]hitRow
	sums        map[entryKey]hitSum // the digest of every search's hits in the new state
	reports     map[entryKey]reportRow
	reportsGone []entryKey
	outbox      map[string]messageRow // by id
	outboxGone  []string
	budget      bool // the budget changed
	newBudget   *state.Budget
}

type hitInsert struct {
	search entryKey
	pn     string
	row    hitRow
}

// count is the number of row changes known before the database diff of
// the dirty searches.
func (c *changes) count() int {
	n := len(c.fields) + len(c.fieldsGone) + len(c.searches) + len(c.searchGone) + len(c.hitInserts) + len(c.hitCloses) +
		len(c.dirty) + len(c.reports) + len(c.reportsGone) + len(c.outbox) + len(c.outboxGone)
	if c.budget {
		n++
	}
	return n
}

func (s *Store) save(ctx context.Context, st *state.State, o saveOptions) (bool, error) {
	if err := check(st); err != nil {
		return false, fmt.Errorf("save state %s to %s: %w", s.state, s.display, err)
	}
	if s.snap == nil {
		// Saved without a Load: compare with what the database holds now.
		_, snap, err := s.read(ctx, 0, true)
		if err != nil {
			return false, err
		}
		s.snap = snap
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
	format := state.FormatOf(st)
	if snap.exists && c.count() == 0 && !(o.replace && (serial != snap.serial || st.Lineage != snap.lineage)) {
		st.Serial, st.FormatVersion = snap.serial, format
		return false, nil
	}
	conn, err := s.data(ctx)
	if err != nil {
		return false, err
	}
	o.serial = serial
	wrote, err := s.write(ctx, conn, &writing{st: st, snap: snap, c: c, format: format, lock: s.held, saveOptions: o})
	if err != nil {
		return false, err
	}
	if !wrote { // the dirty searches' rows were all equal after all
		st.Serial, st.FormatVersion = snap.serial, format
		return false, nil
	}
	apply(snap, c)
	snap.exists, snap.lineage, snap.serial = true, st.Lineage, serial
	st.Serial, st.FormatVersion = serial, format
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
	for _, m := range []map[string]*state.Search{st.Searches, st.RetiredSearches} {
		for n, sr := range m {
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
	}
	for _, m := range []map[string]*state.Report{st.Reports, st.RetiredReports} {
		for n, r := range m {
			if err := name("report", n); err != nil {
				return err
			}
			if r == nil {
				return fmt.Errorf("report %q: null", n)
			}
		}
	}
	ids := map[string]bool{}
	for i, m := range st.Outbox {
		if m == nil {
			return fmt.Errorf("outbox[%d]: null", i)
		}
		if err := name("outbox message", m.ID); err != nil {
			return err
		}
		if ids[m.ID] {
			return fmt.Errorf("outbox[%d]: id %q appears twice", i, m.ID)
		}
		ids[m.ID] = true
	}
	if b := st.Budget; b != nil {
		if d, err := time.Parse(time.DateOnly, b.Day); err != nil || d.Format(time.DateOnly) != b.Day {
			return fmt.Errorf("budget.day: %q is not a date such as 2026-12-01", b.Day)
		}
	}
	return nil
}

// checkHit is check for one hit.
func checkHit(search entryKey, pn string, h *state.Hit) error {
	switch {
	case pn == "":
		return fmt.Errorf("search %s: hit: empty name", search)
	case h == nil:
		return fmt.Errorf("search %s: hit %q: null", search, pn)
	case !storable(pn):
		return fmt.Errorf("search %s: hit %q: not valid UTF-8, or holds a NUL character, which PostgreSQL cannot store in a name", search, pn)
	}
	return nil
}

// diff returns the rows that turn snap into st, except for the hits of
// searches whose digest changed, which diffDirty diffs against the
// database.
func diff(snap *snapshot, st *state.State) (*changes, error) {
	c := &changes{fields: map[string]fieldRow{}, searches: map[entryKey]searchRow{}, reports: map[entryKey]reportRow{},
		dirty: map[entryKey]map[string]hitRow{}, sums: make(map[entryKey]hitSum, len(st.Searches)), outbox: map[string]messageRow{}}
	if err := c.diffFields(snap, st); err != nil {
		return nil, err
	}
	if err := c.diffSearches(snap, st); err != nil {
		return nil, err
	}
	if err := c.diffReports(snap, st); err != nil {
		return nil, err
	}
	if err := c.diffOutbox(snap, st); err != nil {
		return nil, err
	}
	if (snap.budget == nil) != (st.Budget == nil) || (st.Budget != nil && *st.Budget != *snap.budget) {
		c.budget = true
	}
	if st.Budget != nil {
		b := *st.Budget
		c.newBudget = &b
	}
	return c, nil
}

func (c *changes) diffFields(snap *snapshot, st *state.State) error {
	fields, err := fieldsOf(st)
	if err != nil {
		return err
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
	return nil
}

// diffSearches diffs the searches' rows, and their hits: all of a new
// search's are inserted; those of a search whose digest changed are dirty.
func (c *changes) diffSearches(snap *snapshot, st *state.State) error {
	var buf []byte
	seen := map[entryKey]bool{}
	for _, part := range []struct {
		m       map[string]*state.Search
		retired bool
	}{{st.Searches, false}, {st.RetiredSearches, true}} {
		for name, sr := range part.m {
			k := entryKey{name, part.retired}
			seen[k] = true
			row, err := searchRowOf(sr, part.retired)
			if err != nil {
				return fmt.Errorf("search %s: %w", k, err)
			}
			old := snap.searches[k]
			if old == nil || !old.row.equal(&row) {
				c.searches[k] = row
			}
			if err := c.diffHits(k, sr, old, &buf); err != nil {
				return err
			}
		}
	}
	for k := range snap.searches {
		if !seen[k] {
			c.searchGone = append(c.searchGone, k)
		}
	}
	return nil
}

// diffHits diffs the hits of the search k, which snap held as old (nil:
// it did not).
func (c *changes) diffHits(k entryKey, sr *state.Search, old *searchSnap, buf *[]byte) error {
	var sum hitSum
	for pn, h := range sr.Hits {
		if err := checkHit(k, pn, h); err != nil {
			return err
		}
		if err := sum.add(pn, h, buf); err != nil {
			return fmt.Errorf("search %s: hit %s: %w", k, pn, err)
		}
		if old == nil {
			r, err := hitRowOf(h)
			if err != nil {
				return fmt.Errorf("search %s: hit %s: %w", k, pn, err)
			}
			c.hitInserts = append(c.hitInserts, hitInsert{search: k, pn: pn, row: r})
		}
	}
	c.sums[k] = sum
	if old == nil || sum == old.hits {
		return nil
	}
	rows := make(map[string]hitRow, len(sr.Hits))
	for pn, h := range sr.Hits {
		var err error
		if rows[pn], err = hitRowOf(h); err != nil {
			return fmt.Errorf("search %s: hit %s: %w", k, pn, err)
		}
	}
	c.dirty[k] = rows
	return nil
}

func (c *changes) diffReports(snap *snapshot, st *state.State) error {
	seen := map[entryKey]bool{}
	for _, part := range []struct {
		m       map[string]*state.Report
		retired bool
	}{{st.Reports, false}, {st.RetiredReports, true}} {
		for name, rp := range part.m {
			k := entryKey{name, part.retired}
			seen[k] = true
			row, err := reportRowOf(rp, part.retired)
			if err != nil {
				return fmt.Errorf("report %s: %w", k, err)
			}
			if old, ok := snap.reports[k]; !ok || !old.equal(&row) {
				c.reports[k] = row
			}
		}
	}
	for k := range snap.reports {
		if !seen[k] {
			c.reportsGone = append(c.reportsGone, k)
		}
	}
	return nil
}

func (c *changes) diffOutbox(snap *snapshot, st *state.State) error {
	seqs := outboxSeqs(snap.outbox, st.Outbox)
	ids := map[string]bool{}
	for i, m := range st.Outbox {
		ids[m.ID] = true
		row, err := messageRowOf(m, seqs[i])
		if err != nil {
			return fmt.Errorf("outbox message %s: %w", m.ID, err)
		}
		if old, ok := snap.outbox[m.ID]; !ok || !old.equal(&row) {
			c.outbox[m.ID] = row
		}
	}
	for id := range snap.outbox {
		if !ids[id] {
			c.outboxGone = append(c.outboxGone, id)
		}
	}
	return nil
}

// apply brings the snapshot to the state c was computed for.
func apply(snap *snapshot, c *changes) {
	for k, f := range c.fields {
		snap.fields[k] = f
	}
	for _, k := range c.fieldsGone {
		delete(snap.fields, k)
	}
	for k, row := range c.searches {
		if ss := snap.searches[k]; ss != nil {
			ss.row = row
		} else {
			snap.searches[k] = &searchSnap{row: row}
		}
	}
	for _, k := range c.searchGone {
		delete(snap.searches, k)
	}
	for k, sum := range c.sums {
		snap.searches[k].hits = sum
	}
	for k, row := range c.reports {
		snap.reports[k] = row
	}
	for _, k := range c.reportsGone {
		delete(snap.reports, k)
	}
	for id, row := range c.outbox {
		snap.outbox[id] = row
	}
	for _, id := range c.outboxGone {
		delete(snap.outbox, id)
	}
	snap.budget = c.newBudget
}

// diffDirty diffs the new rows of the dirty searches against their current
// rows in the database, adding the closes and inserts to c.
func (s *Store) diffDirty(ctx context.Context, tx pgx.Tx, c *changes) error {
	if len(c.dirty) == 0 {
		return nil
	}
	var names []string
	var retired []bool
	for k := range c.dirty {
		names, retired = append(names, k.name), append(retired, k.retired)
	}
	rows, err := tx.Query(ctx, hitSelect+s.t("hits")+` h WHERE state = $1 AND to_serial IS NULL
		AND (h.search, h.retired) IN (SELECT * FROM unnest($2::text[], $3::boolean[]))`,
		pgx.QueryResultFormats{pgx.BinaryFormatCode}, s.state, names, retired)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		v := rows.RawValues()
		if len(v) != 13 || len(v[0]) != 1 {
			return fmt.Errorf("%d columns, want 13", len(v))
		}
		k := entryKey{string(v[1]), v[0][0] != 0}
		pn, cur, err := decodeHit(v[2:])
		if err != nil {
			return fmt.Errorf("hit %s of search %s: %w", pn, k, err)
		}
		next := c.dirty[k]
		nr, ok := next[pn]
		switch {
		case !ok:
			c.hitCloses = append(c.hitCloses, hitInsert{search: k, pn: pn})
		case !nr.equal(&cur):
			c.hitCloses = append(c.hitCloses, hitInsert{search: k, pn: pn})
			c.hitInserts = append(c.hitInserts, hitInsert{search: k, pn: pn, row: nr})
		}
		delete(next, pn)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for k, next := range c.dirty {
		for pn, r := range next {
			c.hitInserts = append(c.hitInserts, hitInsert{search: k, pn: pn, row: r})
		}
	}
	c.dirty = nil
	return nil
}

// entryKeys returns m's keys, live first, each in name order.
func entryKeys[V any](m map[entryKey]V) []entryKey {
	out := make([]entryKey, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b entryKey) int {
		if a.retired != b.retired {
			if a.retired {
				return 1
			}
			return -1
		}
		return strings.Compare(a.name, b.name)
	})
	return out
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
