package pgstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patwatch/patwatch/internal/pgstore/pgtest"
	"github.com/patwatch/patwatch/state"
	"github.com/patwatch/patwatch/state/filestore"
	"github.com/patwatch/patwatch/state/statefile"
)

var t0 = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

// fp is a query fingerprint, which the state requires in sha256: form.
func fp(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// open opens the store of state name in schema, closed when the test ends.
func open(t testing.TB, schema, name string) *Store {
	t.Helper()
	s, err := Open(pgtest.StateURL(t, schema, name), Options{Host: "test-host", PID: 4242, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// sampleState exercises every field, escapes, non-ASCII text, empty maps
// and the edge times.
func sampleState() *state.State {
	return &state.State{
		FormatVersion: state.FormatVersion, Serial: 7, Lineage: "5f0c2d8e-8a51-4c8e-9f3b-1d2e3f4a5b6c", PatwatchVersion: "1.2.3",
		Searches: map[string]*state.Search{
			"phone-designs": {
				Fingerprint: fp("7b1e"), BaselineAt: t0,
				Hits: map[string]*state.Hit{
					"EU0065350760001S": {
						FirstSeen: t0, PatentID: "8f7e6d5c-0000-4000-8000-000000000001",
						Title: "Mobile phones", CurrentAssignee: "HUAWEI TECHNOLOGIES CO., LTD.",
						Apno: "EU006535076", Apdt: 20190528, Pbdt: 20190528,
					},
					"CN305467890S": {
						FirstSeen: t0.Add(48 * time.Hour), Missing: 1,
						Title: "手机 (\"smart\") <phone> & case\\\t\u2028", CurrentAssignee: "小米科技有限责任公司",
					},
					"NUL0001S": {FirstSeen: t0, Title: "a NUL \x00 inside", CurrentAssignee: "x\x00"},
					"ZERO":     {},
				},
			},
			"empty.search": {Fingerprint: fp("00"), BaselineAt: t0},
			"old":          {Fingerprint: fp("fp"), BaselineAt: time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), Hits: map[string]*state.Hit{"Y9999": {FirstSeen: time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), Apdt: 2147483647}}},
		},
		Reports: map[string]*state.Report{
			"cn108977442b": {
				PatentNumber: "CN108977442B", Format: "pdf", Logo: true, JobID: "1579434053399035904", Status: state.ReportDownloaded,
				SubmittedAt: t0, LinkExpiresAt: t0.Add(7 * 24 * time.Hour), File: "reports/cn108977442b.pdf", SHA256: strings.Repeat("ab", 32),
			},
			"us-pending": {PatentID: "0b1c2d3e", Format: "word", JobID: "42", Status: state.ReportPending, SubmittedAt: t0},
			"failed-one": {PatentNumber: "US1234567B2", Format: "pdf", Status: state.ReportFailed, SubmittedAt: t0, LastError: "abnormal_cause:\x00 not found"},
		},
	}
}

func marshal(t testing.TB, st *state.State) []byte {
	t.Helper()
	b, err := statefile.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRoundTripIsExact(t *testing.T) {
	schema := pgtest.Schema(t)
	cases := map[string]*state.State{
		"sample":   sampleState(),
		"empty":    {FormatVersion: state.FormatVersion, Serial: 1, Lineage: "l-empty", Searches: map[string]*state.Search{}, Reports: map[string]*state.Report{}},
		"nil maps": {FormatVersion: state.FormatVersion, Serial: 3, Lineage: "l-nil"},
	}
	for name, st := range cases {
		t.Run(name, func(t *testing.T) {
			want := marshal(t, st)
			s := open(t, schema, name)
			if _, err := s.Load(context.Background()); err != nil {
				t.Fatal(err)
			}
			if err := s.Replace(context.Background(), st, st.Serial); err != nil {
				t.Fatal(err)
			}
			got, err := open(t, schema, name).Load(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if b := marshal(t, got); !bytes.Equal(b, want) {
				t.Errorf("read back differs:\n%s\nwant:\n%s", b, want)
			}
			old, err := open(t, schema, name).LoadSerial(context.Background(), st.Serial)
			if err != nil {
				t.Fatal(err)
			}
			if b := marshal(t, old); !bytes.Equal(b, want) {
				t.Errorf("serial %d read back differs:\n%s\nwant:\n%s", st.Serial, b, want)
			}
		})
	}
}

// rowsAt counts the row versions a serial wrote (from_serial) and closed
// (to_serial) in a table.
func rowsAt(t *testing.T, schema, table string, serial uint64) (written, closed int) {
	t.Helper()
	conn := pgtest.Conn(t)
	q := fmt.Sprintf("SELECT count(*) FILTER (WHERE from_serial = $1), count(*) FILTER (WHERE to_serial = $1) FROM %s.%s", ident(schema), ident(table))
	if err := conn.QueryRow(context.Background(), q, int64(serial)).Scan(&written, &closed); err != nil {
		t.Fatal(err)
	}
	return written, closed
}

func bigState(searches, hits int) *state.State {
	st := state.New()
	for i := range searches {
		s := &state.Search{Fingerprint: fmt.Sprintf("sha256:%064x", i), BaselineAt: t0, Hits: make(map[string]*state.Hit, hits)}
		for j := range hits {
			s.Hits[fmt.Sprintf("EU%09d%04dS", i, j)] = &state.Hit{
				FirstSeen: t0.Add(time.Duration(j) * time.Hour), Missing: j % 3,
				PatentID: fmt.Sprintf("%08x-0000-4000-8000-%012x", i, j), Title: fmt.Sprintf("Mobile phone with a folding screen, variant %d", j),
				CurrentAssignee: "HUAWEI TECHNOLOGIES CO., LTD.", Apno: fmt.Sprintf("EU%09d", j), Apdt: 20190528, Pbdt: 20190601,
			}
		}
		st.Searches[fmt.Sprintf("search-%04d", i)] = s
	}
	return st
}

func TestSaveWritesOnlyChangedRows(t *testing.T) {
	ctx := context.Background()
	schema := pgtest.Schema(t)
	s := open(t, schema, "default")
	st, err := s.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	big := bigState(100, 100)
	big.Lineage = st.Lineage
	if written, err := s.Save(ctx, big); err != nil || !written || big.Serial != 1 {
		t.Fatalf("first save: written=%v serial=%d err=%v; want a write of serial 1", written, big.Serial, err)
	}
	if w, _ := rowsAt(t, schema, "hits", 1); w != 100*100 {
		t.Fatalf("first save wrote %d hits, want %d", w, 100*100)
	}

	// A later run, by a store that loads it: one new hit, one hit missing
	// once more, one report submitted.
	s2 := open(t, schema, "default")
	st, err = s2.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st.PatwatchVersion = "next" // not content: alone it writes nothing
	if written, err := s2.Save(ctx, st); err != nil || written || st.Serial != 1 {
		t.Fatalf("unchanged save: written=%v serial=%d err=%v; want no write", written, st.Serial, err)
	}
	srch := st.Searches["search-0042"]
	srch.Hits["NEW0001S"] = &state.Hit{FirstSeen: t0.Add(time.Hour), Title: "new"}
	srch.Hits["EU0000000420007S"].Missing++
	st.Reports["r"] = &state.Report{PatentNumber: "CN1", Format: "pdf", Status: state.ReportPending, JobID: "1", SubmittedAt: t0}
	if written, err := s2.Save(ctx, st); err != nil || !written || st.Serial != 2 {
		t.Fatalf("save: written=%v serial=%d err=%v; want a write of serial 2", written, st.Serial, err)
	}
	for table, want := range map[string][2]int{"hits": {2, 1}, "searches": {0, 0}, "reports": {1, 0}} {
		if w, c := rowsAt(t, schema, table, 2); w != want[0] || c != want[1] {
			t.Errorf("%s: serial 2 wrote %d rows and closed %d, want %d and %d", table, w, c, want[0], want[1])
		}
	}

	// Removing a search closes its rows and writes none.
	delete(st.Searches, "search-0001")
	if written, err := s2.Save(ctx, st); err != nil || !written {
		t.Fatalf("save: written=%v err=%v", written, err)
	}
	if w, c := rowsAt(t, schema, "hits", 3); w != 0 || c != 100 {
		t.Errorf("removing a search: %d hits written and %d closed, want 0 and 100", w, c)
	}
	got, err := open(t, schema, "default").Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(marshal(t, got), marshal(t, st)) {
		t.Error("the state read back differs from the one saved")
	}
}

func TestEverySerialReadsBack(t *testing.T) {
	ctx := context.Background()
	schema := pgtest.Schema(t)
	s := open(t, schema, "history")
	st, err := s.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	steps := []func(st *state.State){
		func(st *state.State) {
			st.Searches["a"] = &state.Search{Fingerprint: fp("fa"), BaselineAt: t0, Hits: map[string]*state.Hit{"A1": {FirstSeen: t0}, "A2": {FirstSeen: t0}}}
		},
		func(st *state.State) {
			st.Searches["a"].Hits["A3"] = &state.Hit{FirstSeen: t0.Add(time.Hour), Title: "three"}
		},
		func(st *state.State) {
			delete(st.Searches["a"].Hits, "A1")
			st.Reports["r"] = &state.Report{Format: "pdf", Status: state.ReportPending, JobID: "9", SubmittedAt: t0}
		},
		func(st *state.State) {
			st.Searches["a"].Fingerprint = fp("fa2") // a rebaseline
			st.Searches["a"].Hits = map[string]*state.Hit{"A9": {FirstSeen: t0.Add(2 * time.Hour)}}
			st.Reports["r"].Status, st.Reports["r"].File = state.ReportDownloaded, "reports/r.pdf"
		},
		func(st *state.State) { delete(st.Searches, "a"); delete(st.Reports, "r") },
		func(st *state.State) {
			st.Searches["a"] = &state.Search{Fingerprint: fp("fa"), BaselineAt: t0.Add(time.Hour)}
		},
	}
	want := map[uint64][]byte{}
	for i, step := range steps {
		step(st)
		if written, err := s.Save(ctx, st); err != nil || !written {
			t.Fatalf("step %d: written=%v err=%v", i, written, err)
		}
		want[st.Serial] = marshal(t, st)
	}
	r := open(t, schema, "history")
	for serial, w := range want {
		got, err := r.LoadSerial(ctx, serial)
		if err != nil {
			t.Fatal(err)
		}
		if b := marshal(t, got); !bytes.Equal(b, w) {
			t.Errorf("serial %d reads back as\n%s\nwant\n%s", serial, b, w)
		}
	}
	_, err = r.LoadSerial(ctx, 99)
	var se *SerialError
	if !errors.As(err, &se) || fmt.Sprint(se.Near) != "[4 5 6]" {
		t.Errorf("serial 99: %v; want a SerialError naming serials 4, 5, 6", err)
	}
	if _, err := open(t, schema, "never").LoadSerial(ctx, 1); !errors.As(err, &se) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a state never saved: %v; want a SerialError matching fs.ErrNotExist", err)
	}
}

func TestSaveNeverOverwritesAnotherRunsSerial(t *testing.T) {
	ctx := context.Background()
	schema := pgtest.Schema(t)
	a, b := open(t, schema, "s"), open(t, schema, "s")

	// Both find no state; the first to save creates it.
	sa, _ := a.Load(ctx)
	sb, _ := b.Load(ctx)
	sa.Searches["x"] = &state.Search{Fingerprint: fp("a"), BaselineAt: t0}
	sb.Searches["x"] = &state.Search{Fingerprint: fp("b"), BaselineAt: t0}
	if _, err := a.Save(ctx, sa); err != nil {
		t.Fatal(err)
	}
	_, err := b.Save(ctx, sb)
	var ce *ConflictError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "created by another run") {
		t.Fatalf("second creation: %v; want a ConflictError saying another run created it", err)
	}

	// Both load serial 1; the first saves 2; the second is refused.
	sa, _ = a.Load(ctx)
	sb, _ = b.Load(ctx)
	sa.Searches["x"].Fingerprint = fp("a2")
	sb.Searches["x"].Fingerprint = fp("b2")
	if _, err := a.Save(ctx, sa); err != nil {
		t.Fatal(err)
	}
	if _, err = b.Save(ctx, sb); !errors.As(err, &ce) || ce.Serial != 2 || ce.ReadSerial != 1 {
		t.Fatalf("stale save: %v; want a ConflictError at serial 2 over 1", err)
	}
	if ce.Hint() == "" {
		t.Error("the conflict has no hint")
	}
	got, _ := open(t, schema, "s").Load(ctx)
	if got.Serial != 2 || got.Searches["x"].Fingerprint != fp("a2") {
		t.Errorf("after the refused save: serial %d fingerprint %s; want 2 and a2", got.Serial, got.Searches["x"].Fingerprint)
	}

	// Another lineage is refused too.
	other := sampleState()
	other.Lineage = "another"
	c := open(t, schema, "s")
	c.Load(ctx)
	if _, err := c.Save(ctx, other); !errors.As(err, &ce) || !strings.Contains(err.Error(), "lineage") {
		t.Errorf("another lineage: %v; want a ConflictError about the lineage", err)
	}
}

func TestNewerSchemaAndFormatAreRefused(t *testing.T) {
	ctx := context.Background()
	schema := pgtest.Schema(t)
	s := open(t, schema, "default")
	st, _ := s.Load(ctx)
	if _, err := s.Save(ctx, st); err != nil {
		t.Fatal(err)
	}
	conn := pgtest.Conn(t)

	if _, err := conn.Exec(ctx, "UPDATE "+ident(schema)+".serials SET format_version = 99, patwatch_version = 'v9.0.0'"); err != nil {
		t.Fatal(err)
	}
	_, err := open(t, schema, "default").Load(ctx)
	var fe *FormatError
	if !errors.As(err, &fe) || fe.FormatVersion != 99 || !strings.Contains(fe.Hint(), "v9.0.0") {
		t.Errorf("newer format: %v; want a FormatError naming format 99 and patwatch v9.0.0", err)
	}

	if _, err := conn.Exec(ctx, "INSERT INTO "+ident(schema)+".schema_version (version, patwatch_version) VALUES (99, 'v9.0.0')"); err != nil {
		t.Fatal(err)
	}
	_, err = open(t, schema, "default").Load(ctx)
	var se *SchemaError
	if !errors.As(err, &se) || se.Version != 99 || !strings.Contains(se.Hint(), "v9.0.0") {
		t.Errorf("newer schema: %v; want a SchemaError naming version 99 and patwatch v9.0.0", err)
	}
}

func TestLocks(t *testing.T) {
	ctx := context.Background()
	schema := pgtest.Schema(t)
	a := open(t, schema, "one")
	unlock, err := a.Lock(ctx, "apply", 0)
	if err != nil {
		t.Fatal(err)
	}

	other := open(t, schema, "one")
	other.opts.PID = 1
	_, err = other.Lock(ctx, "apply", 0)
	var le *LockedError
	if !errors.As(err, &le) || !errors.Is(err, state.ErrLocked) || !le.HolderKnown || le.Holder.PID != 4242 || le.Holder.Host != "test-host" || le.Holder.Command != "apply" {
		t.Fatalf("second lock: %v; want a LockedError naming apply, pid 4242 on test-host", err)
	}
	if !strings.Contains(err.Error(), "pid 4242 on host test-host") {
		t.Errorf("the refusal does not name the holder: %v", err)
	}

	// Another state, or the watch lock of this one, is not blocked.
	ub, err := open(t, schema, "two").Lock(ctx, "apply", 0)
	if err != nil {
		t.Fatalf("another state is blocked: %v", err)
	}
	ub()
	uw, err := open(t, schema, "one").LockWatch(ctx, 0)
	if err != nil {
		t.Fatalf("the watch lock is blocked by the run lock: %v", err)
	}
	if _, err := open(t, schema, "one").LockWatch(ctx, 0); !errors.As(err, &le) || !le.Watch {
		t.Errorf("a second watch: %v; want a LockedError of a watch", err)
	}
	uw()

	// A waiter gets the lock as soon as the holder releases it.
	got := make(chan error, 1)
	go func() {
		u, err := other.Lock(ctx, "apply", time.Minute)
		if err == nil {
			err = u()
		}
		got <- err
	}()
	conn := pgtest.Conn(t)
	waitFor(t, "the second run to wait for the lock", func() bool {
		var n int
		conn.QueryRow(ctx, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted").Scan(&n)
		return n > 0
	})
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatalf("the waiter: %v", err)
	}
	if err := unlock(); err != nil {
		t.Errorf("a second unlock: %v", err)
	}

	// A wait that times out names the holder.
	u, err := a.Lock(ctx, "watch", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer u()
	start := time.Now()
	_, err = other.Lock(ctx, "apply", 300*time.Millisecond)
	if !errors.As(err, &le) || le.Holder.Command != "watch" || time.Since(start) < 300*time.Millisecond {
		t.Errorf("timed-out wait after %v: %v; want a LockedError naming the watch after 300ms", time.Since(start), err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestAuxAndRuns(t *testing.T) {
	ctx := context.Background()
	schema := pgtest.Schema(t)
	s := open(t, schema, "default")
	if _, err := s.ReadAux(ctx, "sandbox"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing side data: %v; want fs.ErrNotExist", err)
	}
	for _, data := range [][]byte{[]byte("one"), {0, 1, 2}, {}} {
		if err := s.WriteAux(ctx, "sandbox", data); err != nil {
			t.Fatal(err)
		}
		got, err := open(t, schema, "default").ReadAux(ctx, "sandbox")
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("side data %q read back as %q, %v", data, got, err)
		}
	}
	if _, err := open(t, schema, "other").ReadAux(ctx, "sandbox"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("another state's side data: %v; want fs.ErrNotExist", err)
	}
	run := state.RunRecord{Started: t0, Finished: t0.Add(time.Second), Command: "apply", Serial: 3, Changed: true, Summary: "1 new", CallsMade: 4}
	if err := s.RecordRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	var cmd, summary, host string
	var calls int
	err := pgtest.Conn(t).QueryRow(ctx, "SELECT command, summary, calls_made, host FROM "+ident(schema)+".runs WHERE state = 'default'").Scan(&cmd, &summary, &calls, &host)
	if err != nil || cmd != "apply" || summary != "1 new" || calls != 4 || host != "test-host" {
		t.Errorf("runs row: %s %q %d %s, %v", cmd, summary, calls, host, err)
	}
}

func TestURLs(t *testing.T) {
	cases := []struct {
		url, state, schema, shown string
		err                       string
	}{
		{url: "postgres://u:secret@db.example:5432/pw?sslmode=require", state: "default", schema: "patwatch", shown: "postgres://u@db.example:5432/pw?sslmode=require"},
		{url: "postgresql://u:secret@db/pw?state=team-a&schema=ip&sslmode=disable", state: "team-a", schema: "ip", shown: "postgresql://u@db/pw?schema=ip&sslmode=disable&state=team-a"},
		{url: "postgres://db/pw?password=secret&state=x", state: "x", schema: "patwatch", shown: "postgres://db/pw?state=x"},
		{url: "postgres://db/pw?keepalives_idle=30&keepalives_interval=10&keepalives_count=2&tcp_user_timeout=20000", state: "default", schema: "patwatch", shown: "postgres://db/pw?keepalives_count=2&keepalives_idle=30&keepalives_interval=10&tcp_user_timeout=20000"},
		{url: "postgres://u:secret@db/pw?state=", err: "state parameter is empty"},
		{url: "postgres://u:secret@db/pw?schema=", err: "schema parameter is empty"},
		{url: "postgres://u:secret@db/pw?keepalives_idle=soon", err: "keepalives_idle"},
		{url: "postgres://u:secret@db:notaport/pw", err: "state URL"},
		{url: "postgres://u:secret@db/pw?sslmode=sometimes", err: "sslmode"},
		{url: "postgres://u:secret@db/pw?schema=pg_catalog", err: `schema "pg_catalog" is PostgreSQL's own`},
		{url: "postgres://u:secret@db/pw?schema=information_schema", err: `schema "information_schema" is PostgreSQL's own`},
		{url: "postgres://u:secret@db/pw?schema=pg_toast", err: `schema "pg_toast" is PostgreSQL's own`},
	}
	for _, c := range cases {
		s, err := Open(c.url, Options{})
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || strings.Contains(err.Error(), "secret") {
				t.Errorf("%s: %v; want an error about %s, without the password", c.url, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.url, err)
			continue
		}
		if s.StateName() != c.state || s.Schema() != c.schema || s.String() != c.shown {
			t.Errorf("%s: state %q schema %q shown %q; want %q %q %q", c.url, s.StateName(), s.Schema(), s, c.state, c.schema, c.shown)
		}
		for _, k := range []string{"state", "schema", "keepalives_idle", "tcp_user_timeout"} {
			if _, ok := s.cfg.RuntimeParams[k]; ok {
				t.Errorf("%s: %s is sent to the server", c.url, k)
			}
		}
	}
}

func TestPasswordIsNeverPrinted(t *testing.T) {
	ctx := context.Background()
	schema := pgtest.Schema(t)
	// A wrong password, and a port nobody listens on.
	wrong, err := url.Parse(pgtest.StateURL(t, schema, "x"))
	if err != nil {
		t.Fatal(err)
	}
	wrong.User = url.UserPassword(wrong.User.Username(), "Wr0ngPassw0rd")
	for _, u := range []string{wrong.String(), "postgres://patwatch:Wr0ngPassw0rd@127.0.0.1:1/db?connect_timeout=2"} {
		s, err := Open(u, Options{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Load(ctx)
		if err == nil {
			t.Fatalf("loading with a wrong password succeeded")
		}
		_, lerr := s.Lock(ctx, "apply", 0)
		for _, e := range []error{err, lerr} {
			if e == nil || strings.Contains(e.Error(), "Wr0ngPassw0rd") {
				t.Errorf("error %v shows the password", e)
			}
		}
		if strings.Contains(s.String(), "Wr0ngPassw0rd") {
			t.Errorf("String() shows the password: %s", s)
		}
	}
}

func TestSaveRefusesWhatPostgreSQLCannotHold(t *testing.T) {
	ctx := context.Background()
	s := open(t, pgtest.Schema(t), "default")
	for name, st := range map[string]*state.State{
		"NUL in a patent number": {Lineage: "l", Searches: map[string]*state.Search{"a": {Hits: map[string]*state.Hit{"CN\x001": {}}}}},
		"null hit":               {Lineage: "l", Searches: map[string]*state.Search{"a": {Hits: map[string]*state.Hit{"CN1": nil}}}},
		"NUL in a search name":   {Lineage: "l", Searches: map[string]*state.Search{"a\x00": {}}},
		"empty report name":      {Lineage: "l", Reports: map[string]*state.Report{"": {Format: "pdf"}}},
		"no lineage":             {},
	} {
		if _, err := s.Save(ctx, st); err == nil {
			t.Errorf("%s: saved", name)
		}
	}
	if ok, err := s.Exists(ctx); err != nil || ok {
		t.Errorf("after refused saves the state exists=%v (%v); want nothing written", ok, err)
	}
}

func TestConcurrentFirstUseCreatesTheTablesOnce(t *testing.T) {
	ctx := context.Background()
	schema := pgtest.Schema(t)
	errs := make(chan error, 4)
	for i := range 4 {
		u := pgtest.StateURL(t, schema, fmt.Sprint("s", i))
		go func() {
			s, err := Open(u, Options{})
			if err == nil {
				defer s.Close()
				_, err = s.Load(ctx)
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	var versions int
	if err := pgtest.Conn(t).QueryRow(ctx, "SELECT count(*) FROM "+ident(schema)+".schema_version").Scan(&versions); err != nil || versions != SchemaVersion {
		t.Errorf("schema_version has %d rows (%v), want %d", versions, err, SchemaVersion)
	}
}

// TestSessionSettings checks what makes a vanished runner noticed: the
// server's keepalives on the session (which end a lock holder's session,
// and so its lock, when its network is cut), the statement timeout and
// the idle-in-transaction timeout; and that the URL can change them.
func TestSessionSettings(t *testing.T) {
	ctx := context.Background()
	schema := pgtest.Schema(t)
	for _, c := range []struct {
		params string
		want   map[string]string
	}{
		{"", map[string]string{"tcp_keepalives_idle": "15", "tcp_keepalives_interval": "5", "tcp_keepalives_count": "3",
			"statement_timeout": "5min", "idle_in_transaction_session_timeout": "1min"}},
		{"&keepalives_idle=7&keepalives_count=2&options=-c%20statement_timeout%3D10s", map[string]string{"tcp_keepalives_idle": "7",
			"tcp_keepalives_count": "2", "statement_timeout": "10s"}},
	} {
		s, err := Open(pgtest.StateURL(t, schema, "x")+c.params, Options{})
		if err != nil {
			t.Fatal(err)
		}
		conn, err := s.connect(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for k, want := range c.want {
			var got string
			if err := conn.QueryRow(ctx, "SHOW "+k).Scan(&got); err != nil || got != want {
				t.Errorf("%q: %s = %q (%v), want %q", c.params, k, got, err, want)
			}
		}
		conn.Close(ctx)
	}
}

// TestStateFilesRoundTrip pushes every state file of state/statefile's
// test data (format 1 and 2: retired entries, the budget, an outbox with
// a NUL in an event) and reads each back as the same bytes.
func TestStateFilesRoundTrip(t *testing.T) {
	ctx := context.Background()
	schema := pgtest.Schema(t)
	files, _ := filepath.Glob("../../state/statefile/testdata/*")
	n := 0
	for _, f := range files {
		if fi, err := os.Stat(f); err != nil || fi.IsDir() {
			continue
		}
		st, err := filestore.Load(f)
		if err != nil || st.Serial == 0 {
			continue // not a state file, or an empty one
		}
		want, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(marshal(t, st), want) {
			continue // not in the canonical form
		}
		n++
		t.Run(filepath.Base(f), func(t *testing.T) {
			name := strings.ReplaceAll(filepath.Base(f), ".", "-")
			s := open(t, schema, name)
			if _, err := s.Load(ctx); err != nil {
				t.Fatal(err)
			}
			if err := s.Replace(ctx, st, st.Serial); err != nil {
				t.Fatal(err)
			}
			got, err := open(t, schema, name).Load(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if b := marshal(t, got); !bytes.Equal(b, want) {
				t.Errorf("read back differs:\n%s\nwant:\n%s", b, want)
			}
			// Saving what was read writes nothing.
			if written, err := s.Save(ctx, got); err != nil || written {
				t.Errorf("saving it again: written=%v, %v", written, err)
			}
		})
	}
	if n < 2 {
		t.Fatalf("found %d state files in ../../state/statefile/testdata, want at least 2", n)
	}
}

// TestFormat2Evolves saves a format 2 state through the changes runs make
// to it, and reads every serial back.
func TestFormat2Evolves(t *testing.T) {
	ctx := context.Background()
	schema := pgtest.Schema(t)
	s := open(t, schema, "f2")
	st, _ := s.Load(ctx)
	t1 := t0.Add(time.Hour)
	msg := func(id string, evs ...state.Event) *state.Message {
		return &state.Message{ID: id, Channel: "ip-team", GeneratedAt: t0, Spec: "patwatch.yaml", Events: evs}
	}
	steps := []func(st *state.State){
		func(st *state.State) {
			st.Searches["weekly"] = &state.Search{Fingerprint: fp("w"), BaselineAt: t0, RefreshedAt: t1, Hits: map[string]*state.Hit{"CN1S": {FirstSeen: t0}}}
			st.Reports["r"] = &state.Report{PatentNumber: "CN1", Format: "pdf", Status: state.ReportPending, JobID: "1", SubmittedAt: t0, Submissions: 1}
			st.Budget = &state.Budget{Day: "2026-03-14", Calls: 10}
			st.Outbox = []*state.Message{msg("m-1", state.Event{Kind: "new", Search: "weekly", PatentPN: "CN1S", Score: 0.8884816})}
		},
		func(st *state.State) { // delivered, and a new one
			st.Budget.Calls = 25
			st.Outbox = []*state.Message{msg("m-2", state.Event{Kind: "error", Search: "weekly", Error: "boom\x00"}), msg("m-3")}
			st.Outbox[0].Attempts, st.Outbox[0].FirstFailed, st.Outbox[0].LastError = 1, t1, "HTTP 500"
		},
		func(st *state.State) { // the search leaves the spec: retired under the same name as a new live one
			old := st.Searches["weekly"]
			old.RetiredAt, old.RefreshedAt = t1, time.Time{}
			st.RetiredSearches = map[string]*state.Search{"weekly": old}
			st.Searches["weekly"] = &state.Search{Fingerprint: fp("w2"), BaselineAt: t1, Hits: map[string]*state.Hit{"CN9S": {FirstSeen: t1}}}
			rp := st.Reports["r"]
			delete(st.Reports, "r")
			rp.RetiredAt, rp.Submissions = t1, 0
			st.RetiredReports = map[string]*state.Report{"r": rp}
			st.Outbox = nil
			st.Budget = nil
		},
		func(st *state.State) { // back from retirement
			st.Searches["weekly"] = st.RetiredSearches["weekly"]
			st.Searches["weekly"].RetiredAt = time.Time{}
			st.RetiredSearches = nil
		},
	}
	want := map[uint64][]byte{}
	for i, step := range steps {
		step(st)
		if written, err := s.Save(ctx, st); err != nil || !written {
			t.Fatalf("step %d: written=%v err=%v", i, written, err)
		}
		want[st.Serial] = marshal(t, st)
	}
	if w, c := rowsAt(t, schema, "outbox", 2); w != 2 || c != 1 {
		t.Errorf("serial 2 wrote %d outbox rows and closed %d, want 2 and 1", w, c)
	}
	// Restoring moves the search's one hit from the retired rows to the
	// live ones, closing the live search's own hit.
	if w, c := rowsAt(t, schema, "hits", 4); w != 1 || c != 2 {
		t.Errorf("restoring a retired search wrote %d hit rows and closed %d, want 1 and 2", w, c)
	}
	r := open(t, schema, "f2")
	for serial, w := range want {
		got, err := r.LoadSerial(ctx, serial)
		if err != nil {
			t.Fatal(err)
		}
		if b := marshal(t, got); !bytes.Equal(b, w) {
			t.Errorf("serial %d reads back as\n%s\nwant\n%s", serial, b, w)
		}
	}
	var formats string
	if err := pgtest.Conn(t).QueryRow(ctx, "SELECT string_agg(format_version::text, ' ' ORDER BY serial) FROM "+ident(schema)+".serials WHERE state = 'f2'").Scan(&formats); err != nil || formats != "2 2 2 2" {
		t.Errorf("formats by serial: %q (%v)", formats, err)
	}
}

// TestOutboxKeepsItsOrderAcrossLoads: a store that loads an outbox whose
// delivered messages left gaps in its rows' order keeps the rows' own
// order numbers, so that a message it adds goes after the others, never
// beside one of them.
func TestOutboxKeepsItsOrderAcrossLoads(t *testing.T) {
	ctx := context.Background()
	schema := pgtest.Schema(t)
	msg := func(id string) *state.Message {
		return &state.Message{ID: id, Channel: "ip-team", GeneratedAt: t0, Spec: "patwatch.yaml"}
	}
	s := open(t, schema, "order")
	st, _ := s.Load(ctx)
	for _, outbox := range [][]*state.Message{{msg("m1"), msg("m2")}, {msg("m2"), msg("m3")}} { // m1 delivered
		st.Outbox = outbox
		if _, err := s.Save(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	r := open(t, schema, "order")
	st, err := r.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st.Outbox = append(st.Outbox, msg("m4"))
	if _, err := r.Save(ctx, st); err != nil {
		t.Fatal(err)
	}
	var order string
	if err := pgtest.Conn(t).QueryRow(ctx, "SELECT string_agg(id || ' ' || seq, ', ' ORDER BY seq) FROM "+ident(schema)+
		".outbox WHERE state = 'order' AND to_serial IS NULL").Scan(&order); err != nil {
		t.Fatal(err)
	}
	if order != "m2 2, m3 3, m4 4" {
		t.Errorf("the outbox's rows, by order number: %s; want m2 2, m3 3, m4 4", order)
	}
	got, err := open(t, schema, "order").Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range got.Outbox {
		ids = append(ids, m.ID)
	}
	if strings.Join(ids, " ") != "m2 m3 m4" {
		t.Errorf("the outbox reads back as %v", ids)
	}
}
