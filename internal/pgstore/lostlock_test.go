package pgstore

import (
	"context"
	"errors"
	"testing"

	"github.com/patwatch/patwatch/internal/pgstore/pgtest"
	"github.com/patwatch/patwatch/state"
)

// terminateLock ends the session that holds the state lock of name in
// schema, as a database restart or an administrator would, and waits
// until it is gone.
func terminateLock(t *testing.T, schema, name string) {
	t.Helper()
	ctx := context.Background()
	conn := pgtest.Conn(t)
	var pid int32
	if err := conn.QueryRow(ctx, "SELECT backend_pid FROM "+ident(schema)+".locks WHERE state = $1 AND kind = 'state'", name).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	var ok bool
	if err := conn.QueryRow(ctx, "SELECT pg_terminate_backend($1, 10000)", pid).Scan(&ok); err != nil || !ok {
		t.Fatalf("terminate backend %d: %v %v", pid, ok, err)
	}
}

// serialOf is the serial the database holds for the state name.
func serialOf(t *testing.T, schema, name string) uint64 {
	t.Helper()
	st, err := open(t, schema, name).Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st.Serial
}

// TestLostLock (issue 25.3.6): once the lock's session is ended, the
// store knows its lock lost (CheckLock) and refuses to save, writing
// nothing, whether it checked first or not; taken again with no save
// between, it saves; once another run has taken the lock, it cannot.
func TestLostLock(t *testing.T) {
	ctx := context.Background()
	schema := pgtest.Schema(t)
	a := open(t, schema, "one")
	st, err := a.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st.Searches = sampleState().Searches
	if _, err := a.Save(ctx, st); err != nil {
		t.Fatal(err)
	}
	unlock, err := a.Lock(ctx, "apply", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	if err := a.CheckLock(ctx); err != nil {
		t.Fatalf("a held lock: %v", err)
	}
	before := serialOf(t, schema, "one")

	// The save's own check finds the lock gone, with no CheckLock first.
	terminateLock(t, schema, "one")
	delete(st.Searches, "phone-designs")
	_, err = a.Save(ctx, st)
	var lost *LockLostError
	if !errors.Is(err, state.ErrLockLost) || !errors.As(err, &lost) {
		t.Fatalf("save after the lock's session ended: %v; want a LockLostError", err)
	}
	if got := serialOf(t, schema, "one"); got != before {
		t.Fatalf("serial %d after a refused save, want %d", got, before)
	}
	if err := a.CheckLock(ctx); !errors.Is(err, state.ErrLockLost) {
		t.Errorf("CheckLock after the loss: %v", err)
	}

	// Taken again, with no other save between, the save goes through.
	unlock2, err := a.Lock(ctx, "apply", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock2()
	if err := a.CheckLock(ctx); err != nil {
		t.Fatalf("the lock taken again: %v", err)
	}
	if wrote, err := a.Save(ctx, st); err != nil || !wrote {
		t.Fatalf("save under the lock taken again: %v, %v", wrote, err)
	}

	// CheckLock finds the loss itself; another run takes the lock; the
	// first can neither save nor take the lock again.
	terminateLock(t, schema, "one")
	if err := a.CheckLock(ctx); !errors.As(err, &lost) || lost.Hint() == "" {
		t.Fatalf("CheckLock after the lock's session ended: %v; want a LockLostError", err)
	}
	b := open(t, schema, "one")
	unlockB, err := b.Lock(ctx, "apply", 0)
	if err != nil {
		t.Fatalf("the next run: %v", err)
	}
	defer unlockB()
	st.Reports = sampleState().Reports
	before = serialOf(t, schema, "one")
	if _, err := a.Save(ctx, st); !errors.Is(err, state.ErrLockLost) {
		t.Errorf("save while another run holds the lock: %v", err)
	}
	if _, err := a.Lock(ctx, "apply", 0); !errors.Is(err, state.ErrLocked) {
		t.Errorf("taking the lock again while another run holds it: %v", err)
	}
	if got := serialOf(t, schema, "one"); got != before {
		t.Errorf("serial %d, want %d: the run that lost its lock wrote", got, before)
	}
	if err := b.CheckLock(ctx); err != nil {
		t.Errorf("the new holder's lock: %v", err)
	}
}
