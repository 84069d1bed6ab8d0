package filestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gofrs/flock"

	"github.com/patwatch/patwatch/state"
)

// LockedError reports a state file whose lock another run holds. It
// matches state.ErrLocked.
type LockedError struct {
	Path        string         // the state file
	Holder      state.LockInfo // valid if HolderKnown
	HolderKnown bool           // false if the lock file could not be read
	Watch       bool           // the lock is the one a running watch holds for its lifetime
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
		return fmt.Sprintf("state file %s is %s by another patwatch", e.Path, what)
	}
	h := e.Holder
	return fmt.Sprintf("state file %s is %s by patwatch %s (pid %d on host %s) since %s",
		e.Path, what, h.Command, h.PID, h.Host, h.Started.UTC().Format(time.RFC3339))
}

// Is makes errors.Is(err, state.ErrLocked) true.
func (e *LockedError) Is(target error) bool { return target == state.ErrLocked }

// Hint says what to do.
func (e *LockedError) Hint() string {
	switch {
	case e.Watch:
		return "one watch per state: stop that one first, give this one another --state, or start it with --standby to take over when that one ends"
	case e.Waited > 0:
		return state.LockWaitedHint(e.Waited)
	}
	return "wait for that run to finish, or pass --lock-timeout (for example --lock-timeout 10m) to wait for it"
}

// LockPath is the lock file of the state file at statePath.
func LockPath(statePath string) string { return statePath + ".lock" }

// Held is a lock on a state file, released by Unlock or by the end of the
// process that holds it, however it ends: the operating system drops the
// lock with the process, and a lock file left behind is no obstacle.
type Held struct {
	mu   sync.Mutex
	fl   *flock.Flock
	path string // the lock file
}

// Unlock removes the lock file and releases the lock. It is idempotent.
func (l *Held) Unlock() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fl == nil {
		return nil
	}
	// Remove while still holding the lock: a waiter that opened this file
	// and then gets its lock finds it no longer at the path and retries.
	rmErr := os.Remove(l.path)
	err := l.fl.Unlock()
	l.fl = nil
	if err != nil {
		return fmt.Errorf("unlock %s: %w", l.path, err)
	}
	if rmErr != nil && !errors.Is(rmErr, fs.ErrNotExist) {
		return fmt.Errorf("unlock: %w", rmErr)
	}
	return nil
}

// Lock takes the lock of the state file at statePath for command (such as
// "apply"), waiting up to timeout for another run to release it; a timeout
// of zero tries once. When the lock stays held, the error is a
// *LockedError naming the holder. Once it holds the lock, Lock removes the
// temporary files that saves killed midway left beside the state file.
// Lock uses the real clock; see Locker.
func Lock(ctx context.Context, statePath, command string, timeout time.Duration) (*Held, error) {
	return Locker{}.Lock(ctx, statePath, command, timeout)
}

// Locker takes state locks. Its zero value uses the real clock and
// process; tests inject a clock.
type Locker struct {
	Now  func() time.Time                                 // default time.Now
	Wait func(ctx context.Context, d time.Duration) error // sleeps d or until ctx ends; default uses a timer
	Poll time.Duration                                    // time between tries; default 100ms
	PID  int                                              // default os.Getpid()
	Host string                                           // default os.Hostname()
}

// Lock is like the package's Lock function.
func (lk Locker) Lock(ctx context.Context, statePath, command string, timeout time.Duration) (*Held, error) {
	now := lk.Now
	if now == nil {
		now = time.Now
	}
	wait := lk.Wait
	if wait == nil {
		wait = sleep
	}
	poll := lk.Poll
	if poll <= 0 {
		poll = 100 * time.Millisecond
	}
	info := state.LockInfo{PID: lk.PID, Host: lk.Host, Command: command}
	if info.PID == 0 {
		info.PID = os.Getpid()
	}
	if info.Host == "" {
		info.Host, _ = os.Hostname()
	}
	path := LockPath(statePath)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("lock state: %w", err)
	}
	deadline := now().Add(timeout)
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("lock state %s: %w", statePath, err)
		}
		fl, err := tryLock(path)
		if err != nil {
			return nil, fmt.Errorf("lock state %s: %w", statePath, err)
		}
		if fl != nil {
			info.Started = now().UTC().Truncate(time.Second)
			if err := writeInfo(path, info); err != nil {
				fl.Unlock()
				return nil, fmt.Errorf("lock state %s: %w", statePath, err)
			}
			// Saves killed midway left their temporary files: no save
			// runs now but this holder's.
			removeTemps(statePath)
			return &Held{fl: fl, path: path}, nil
		}
		left := deadline.Sub(now())
		if left <= 0 {
			return nil, lockedError(statePath, path, timeout)
		}
		if err := wait(ctx, min(poll, left)); err != nil {
			return nil, fmt.Errorf("lock state %s: %w", statePath, err)
		}
	}
}

// tryLock tries once to lock the file at path, and returns nil if another
// process holds it. A lock taken on a file that its holder removed while
// releasing it is no lock: such a file is no longer at the path, and the
// next holder locks a new one; tryLock then tries again.
func tryLock(path string) (*flock.Flock, error) {
	for range 100 {
		fl := flock.New(path, flock.SetFlag(os.O_CREATE|os.O_RDWR), flock.SetPermissions(0o600))
		ok, err := fl.TryLock()
		if err != nil || !ok {
			return nil, err
		}
		held, err := fl.Stat()
		if err != nil {
			fl.Unlock()
			return nil, err
		}
		if atPath, err := os.Stat(path); err == nil && os.SameFile(held, atPath) {
			return fl, nil
		}
		fl.Unlock()
	}
	return nil, errors.New("the lock file keeps being replaced")
}

// writeInfo records who holds the lock in the lock file. Only the holder
// writes it, and the holder alone removes the file, so it is the file
// tryLock checked.
func writeInfo(path string, info state.LockInfo) error {
	b, err := json.Marshal(info)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(append(b, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// lockedError reads who holds the lock at lockPath, after a wait of
// waited.
func lockedError(statePath, lockPath string, waited time.Duration) error {
	e := &LockedError{Path: statePath, Waited: waited}
	if b, err := os.ReadFile(lockPath); err == nil {
		var info state.LockInfo
		if json.Unmarshal(b, &info) == nil && info.PID != 0 {
			e.Holder, e.HolderKnown = info, true
		}
	}
	return e
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
