package pgstore

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/patwatch/patwatch/state"
)

// Lock kinds: the lock of one apply, and the lock a watch holds for its
// lifetime. They have different keys and do not exclude each other.
const (
	kindState = "state"
	kindWatch = "watch"
)

// lockKey is the advisory lock key of a lock kind on a state in a schema:
// a hash of all three, so that states (and schemas) never share a lock, as
// a key per table row would make them. It is kept positive so that the
// key pg_locks shows (classid, objid) reads back without sign trouble.
func lockKey(schema, stateName, kind string) int64 {
	h := sha256.New()
	for _, p := range []string{"patwatch", schema, stateName, kind} {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return int64(binary.BigEndian.Uint64(h.Sum(nil)) &^ (1 << 63))
}

// LockedError reports a state whose lock another patwatch holds. It
// matches state.ErrLocked.
type LockedError struct {
	Store       string         // the store, as String gives it
	State       string         // the state's name
	Holder      state.LockInfo // valid if HolderKnown
	HolderKnown bool
	Watch       bool // the lock a running watch holds for its lifetime
	// Waited is how long the refused Lock waited for the holder (its
	// timeout); zero when it tried once.
	Waited time.Duration
}

func (e *LockedError) Error() string {
	what := "locked"
	if e.Watch {
		what = "watched"
	}
	if !e.HolderKnown {
		return fmt.Sprintf("state %s (%s) is %s by another patwatch", e.State, e.Store, what)
	}
	h := e.Holder
	return fmt.Sprintf("state %s (%s) is %s by patwatch %s (pid %d on host %s) since %s",
		e.State, e.Store, what, h.Command, h.PID, h.Host, h.Started.UTC().Format(time.RFC3339))
}

// Is makes errors.Is(err, state.ErrLocked) true.
func (e *LockedError) Is(target error) bool { return target == state.ErrLocked }

// Hint says what to do.
func (e *LockedError) Hint() string {
	switch {
	case e.Watch:
		return "one watch per state: stop that one first, give this one another state (…&state=NAME), or start it with --standby to take over when that one ends"
	case e.Waited > 0:
		return state.LockWaitedHint(e.Waited)
	}
	return "wait for that run to finish, or pass --lock-timeout (for example --lock-timeout 10m) to wait for it; a holder that dies releases the lock at once"
}

// Lock takes the state's lock for command, waiting up to timeout (zero:
// try once). The lock is a session advisory lock on a connection opened for
// it alone, so it lasts exactly as long as that session: a holder killed or
// cut off releases it when the server ends the session. A row in the locks
// table names the holder for the refusal of another run.
func (s *Store) Lock(ctx context.Context, command string, timeout time.Duration) (unlock func() error, err error) {
	unlock, err = s.lock(ctx, kindState, command, timeout)
	return unlock, s.redact(err)
}

// LockWatch marks the state as watched by one `patwatch watch` for as long
// as it runs: a second watch waits up to timeout (zero: tries once), and
// is then refused, naming the first. A holder that dies releases it with
// its session, as Lock's.
func (s *Store) LockWatch(ctx context.Context, timeout time.Duration) (unlock func() error, err error) {
	unlock, err = s.lock(ctx, kindWatch, "watch", timeout)
	return unlock, s.redact(err)
}

func (s *Store) lock(ctx context.Context, kind, command string, timeout time.Duration) (func() error, error) {
	// The tables must exist for the holder row; the data connection makes
	// sure they do.
	s.mu.Lock()
	_, err := s.data(ctx)
	if kind == kindState {
		s.command = command
	}
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	cfg := s.cfg.Copy()
	cfg.RuntimeParams["application_name"] = "patwatch " + command + " (lock)"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("lock state %s: connect to %s: %w", s.state, s.display, err)
	}
	fail := func(err error) (func() error, error) {
		conn.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	key := lockKey(s.schema, s.state, kind)
	got, err := acquire(ctx, conn, key, timeout)
	if err != nil {
		return fail(fmt.Errorf("lock state %s in %s: %w", s.state, s.display, err))
	}
	if !got {
		return fail(s.lockedError(ctx, conn, kind, key, timeout))
	}
	h := &heldLock{conn: conn, key: key}
	if kind == kindState {
		// The session's identity, which a save checks: a pid alone may be
		// another session's after the database restarted.
		if err := conn.QueryRow(ctx, "SELECT pid, backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()").Scan(&h.pid, &h.started); err != nil {
			return fail(fmt.Errorf("lock state %s in %s: read the lock's session: %w", s.state, s.display, err))
		}
	}
	since := s.opts.Now().UTC().Truncate(time.Second)
	if _, err := conn.Exec(ctx, "INSERT INTO "+s.t("locks")+` (state, kind, host, pid, command, since, backend_pid)
		VALUES ($1, $2, $3, $4, $5, $6, pg_backend_pid())
		ON CONFLICT (state, kind) DO UPDATE SET host = EXCLUDED.host, pid = EXCLUDED.pid, command = EXCLUDED.command,
			since = EXCLUDED.since, backend_pid = EXCLUDED.backend_pid`,
		s.state, kind, s.opts.Host, s.opts.PID, command, since); err != nil {
		return fail(fmt.Errorf("lock state %s in %s: record the holder: %w", s.state, s.display, err))
	}
	if kind == kindState {
		s.mu.Lock()
		s.held = h
		s.mu.Unlock()
	}
	var once sync.Once
	var uerr error
	return func() error {
		once.Do(func() {
			s.mu.Lock()
			if s.held == h {
				s.held = nil
			}
			s.mu.Unlock()
			h.mu.Lock()
			defer h.mu.Unlock()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			// The session's end releases the lock; the row goes first so
			// that nobody reads it as the holder's after.
			_, err := conn.Exec(ctx, "DELETE FROM "+s.t("locks")+" WHERE state = $1 AND kind = $2 AND backend_pid = pg_backend_pid()", s.state, kind)
			if err == nil {
				_, err = conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", key)
			}
			// Asked before Close, which marks the connection closed
			// first: an error that broke the connection took the
			// session, and with it the lock.
			lost := conn.IsClosed()
			cerr := conn.Close(ctx)
			switch {
			case err != nil && !lost:
				uerr = s.redact(fmt.Errorf("unlock state %s: %w", s.state, err))
			case err != nil:
				// The connection is gone, and with it the lock.
			case cerr != nil:
				uerr = s.redact(fmt.Errorf("unlock state %s: %w", s.state, cerr))
			}
		})
		return uerr
	}, nil
}

// acquire takes the advisory lock key on conn's session, waiting up to
// timeout (zero: try once); got is false when another session holds it.
func acquire(ctx context.Context, conn *pgx.Conn, key int64, timeout time.Duration) (got bool, err error) {
	if timeout <= 0 {
		err = conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&got)
		return got, err
	}
	ms := max(timeout.Milliseconds(), 1)
	// lock_timeout bounds the wait; the statement timeout is lifted above
	// it for this one statement.
	if _, err = conn.Exec(ctx, fmt.Sprintf("SET lock_timeout = %d; SET statement_timeout = %d", ms, ms+30_000)); err != nil {
		return false, err
	}
	_, err = conn.Exec(ctx, "SELECT pg_advisory_lock($1)", key)
	got = err == nil
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "55P03" { // lock_not_available
		err = nil
	}
	if err != nil {
		return false, err
	}
	_, err = conn.Exec(ctx, "RESET lock_timeout; RESET statement_timeout")
	return got, err
}

// lockedError names the holder of the lock key: the locks row whose
// session holds the advisory lock now. Between a holder taking the lock
// and writing its row, the row may still be an earlier holder's: a few
// quick reads let the new one appear, and then the holder is unknown.
func (s *Store) lockedError(ctx context.Context, conn *pgx.Conn, kind string, key int64, waited time.Duration) error {
	e := &LockedError{Store: s.display, State: s.state, Watch: kind == kindWatch, Waited: max(waited, 0)}
	for i := range 5 {
		var info state.LockInfo
		err := conn.QueryRow(ctx, `SELECT l.host, l.pid, l.command, l.since FROM `+s.t("locks")+` l
			WHERE l.state = $1 AND l.kind = $2 AND EXISTS (
				SELECT 1 FROM pg_locks p WHERE p.locktype = 'advisory' AND p.granted AND p.pid = l.backend_pid
					AND p.objsubid = 1 AND (p.classid::bigint << 32 | p.objid::bigint) = $3)`,
			s.state, kind, key).Scan(&info.Host, &info.PID, &info.Command, &info.Started)
		if err == nil {
			info.Started = info.Started.UTC()
			e.Holder, e.HolderKnown = info, true
			break
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			break
		}
		if i < 4 {
			t := time.NewTimer(20 * time.Millisecond)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return e
			}
		}
	}
	return e
}

// heldLock is a lock this store holds: the session that holds it (its
// connection, pid and start) and its key. mu serialises the use of the
// connection: CheckLock may be called from several goroutines at once.
type heldLock struct {
	mu      sync.Mutex
	conn    *pgx.Conn
	key     int64
	pid     int32
	started time.Time
	lost    error // once the lock was found lost, why
}

// lockCheckTimeout bounds CheckLock's round trip on the lock's session: a
// session that cannot answer in it cannot prove that it holds the lock.
const lockCheckTimeout = 10 * time.Second

// LockLostError reports that the state's lock this store took is no
// longer held, though it was not released: the database restarted, or
// ended the lock's session. It matches state.ErrLockLost.
type LockLostError struct {
	Store string // the store, as String gives it
	State string // the state's name
	Err   error  // what showed it: the lock's session failing, or a save's check
}

func (e *LockLostError) Error() string {
	msg := fmt.Sprintf("the lock of state %s (%s) was lost", e.State, e.Store)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Is makes errors.Is(err, state.ErrLockLost) true.
func (e *LockLostError) Is(target error) bool { return target == state.ErrLockLost }

func (e *LockLostError) Unwrap() error { return e.Err }

// Hint says what to do.
func (e *LockLostError) Hint() string {
	return "the database restarted or ended the lock's session, and another run may have taken the state since; run apply again: it starts from what the state holds"
}

// errLockGone is the cause a save's check gives when the lock's session no
// longer holds the lock (or another run's holder row replaced its own).
var errLockGone = errors.New("its session no longer holds it")

// CheckLock proves that the state's lock this store took is still held: a
// round trip on the lock's own session, which holds the advisory lock for
// as long as it lives. It returns nil when the store holds no state lock,
// and a *LockLostError once the session cannot answer: from then on the
// lock counts as lost, and the store's saves are refused.
func (s *Store) CheckLock(ctx context.Context) error {
	s.mu.Lock()
	h := s.held
	s.mu.Unlock()
	if h == nil {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.lost == nil {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lockCheckTimeout)
		defer cancel()
		if err := h.conn.Ping(ctx); err != nil {
			h.lost = &LockLostError{Store: s.display, State: s.state, Err: err}
		}
	}
	return s.redact(h.lost)
}

// proveLock is a save's fence, in its transaction: the lock h is held by
// the session that took it (its pid and start, so that no later session
// with the same pid passes), and the holder row is still that session's.
// The row is locked for share until the save commits: a run that takes the
// lock after this one lost it writes its holder row before it loads the
// state, and so waits for this save, and reads it.
func (s *Store) proveLock(ctx context.Context, tx pgx.Tx, h *heldLock) error {
	var pid int32
	err := tx.QueryRow(ctx, `SELECT l.backend_pid FROM `+s.t("locks")+` l
		WHERE l.state = $1 AND l.kind = $2 AND l.backend_pid = $3
			AND EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = $3 AND a.backend_start = $4)
			AND EXISTS (SELECT 1 FROM pg_locks p WHERE p.pid = $3 AND p.locktype = 'advisory' AND p.granted
				AND p.objsubid = 1 AND (p.classid::bigint << 32 | p.objid::bigint) = $5)
		FOR SHARE`, s.state, kindState, h.pid, h.started, h.key).Scan(&pid)
	if errors.Is(err, pgx.ErrNoRows) {
		h.mu.Lock()
		if h.lost == nil {
			h.lost = &LockLostError{Store: s.display, State: s.state, Err: errLockGone}
		}
		lost := h.lost
		h.mu.Unlock()
		return lost
	}
	if err != nil {
		return fmt.Errorf("check the state's lock: %w", err)
	}
	return nil
}
