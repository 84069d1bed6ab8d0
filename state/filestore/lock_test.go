package filestore

import (
	"bufio"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/patwatch/patwatch/state"
)

// fakeClock is a Locker clock whose Wait advances time instead of sleeping,
// and runs a hook on each wait.
type fakeClock struct {
	now    time.Time
	waits  int
	onWait func(n int)
}

func (c *fakeClock) locker() Locker {
	return Locker{
		Now: func() time.Time { return c.now },
		Wait: func(ctx context.Context, d time.Duration) error {
			c.waits++
			c.now = c.now.Add(d)
			if c.onWait != nil {
				c.onWait(c.waits)
			}
			return ctx.Err()
		},
		Poll: 100 * time.Millisecond,
		PID:  4242,
		Host: "ci-runner",
	}
}

func TestLockUnlock(t *testing.T) {
	statePath := filepath.Join(t.TempDir(), "patwatch.state.json")
	c := &fakeClock{now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	l, err := c.locker().Lock(context.Background(), statePath, "apply", 0)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(LockPath(statePath))
	if want := `{"pid":4242,"host":"ci-runner","command":"apply","started":"2026-05-01T12:00:00Z"}` + "\n"; string(b) != want {
		t.Errorf("lock file holds %s, want %s", b, want)
	}
	if fi, _ := os.Stat(LockPath(statePath)); fi.Mode().Perm() != 0o600 {
		t.Errorf("lock file mode %v", fi.Mode().Perm())
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := l.Unlock(); err != nil {
		t.Errorf("second Unlock: %v", err)
	}
	if _, err := os.Stat(LockPath(statePath)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lock file left after Unlock: %v", err)
	}
	// Free again.
	l2, err := Lock(context.Background(), statePath, "watch", 0)
	if err != nil {
		t.Fatal(err)
	}
	l2.Unlock()
}

// TestLockHeldTimesOut: a held lock makes Lock poll until the timeout and
// then name the holder; the clock is fake, so no time passes.
func TestLockHeldTimesOut(t *testing.T) {
	statePath := filepath.Join(t.TempDir(), "patwatch.state.json")
	c := &fakeClock{now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	holder, err := c.locker().Lock(context.Background(), statePath, "watch", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Unlock()

	for _, tt := range []struct {
		timeout time.Duration
		waits   int
	}{{0, 0}, {time.Second, 10}, {250 * time.Millisecond, 3}} {
		c.waits = 0
		_, err := Locker{Now: c.locker().Now, Wait: c.locker().Wait, Poll: 100 * time.Millisecond}.Lock(context.Background(), statePath, "apply", tt.timeout)
		var le *LockedError
		if !errors.As(err, &le) || !errors.Is(err, state.ErrLocked) {
			t.Fatalf("timeout %v: error %v, want a LockedError", tt.timeout, err)
		}
		if c.waits != tt.waits {
			t.Errorf("timeout %v: waited %d times, want %d", tt.timeout, c.waits, tt.waits)
		}
		want := "state file " + statePath + " is locked by patwatch watch (pid 4242 on host ci-runner) since 2026-05-01T12:00:00Z"
		if err.Error() != want {
			t.Errorf("error %q, want %q", err, want)
		}
		if !strings.Contains(le.Hint(), "--lock-timeout") {
			t.Errorf("hint %q does not mention --lock-timeout", le.Hint())
		}
	}
}

// TestLockWaitsForRelease: the holder lets go during the wait; Lock gets it.
func TestLockWaitsForRelease(t *testing.T) {
	statePath := filepath.Join(t.TempDir(), "patwatch.state.json")
	c := &fakeClock{now: time.Unix(0, 0)}
	holder, err := c.locker().Lock(context.Background(), statePath, "apply", 0)
	if err != nil {
		t.Fatal(err)
	}
	c.onWait = func(n int) {
		if n == 3 {
			holder.Unlock()
		}
	}
	l, err := c.locker().Lock(context.Background(), statePath, "apply", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	if c.waits != 3 {
		t.Errorf("got the lock after %d waits, want 3", c.waits)
	}
}

func TestLockCancelled(t *testing.T) {
	statePath := filepath.Join(t.TempDir(), "patwatch.state.json")
	holder, err := Lock(context.Background(), statePath, "apply", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	c := &fakeClock{now: time.Unix(0, 0), onWait: func(int) { cancel() }}
	_, err = c.locker().Lock(ctx, statePath, "apply", time.Hour)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}

// TestLockUnreadableHolder: a lock file without valid info still blocks,
// and the message says so without details.
func TestLockUnreadableHolder(t *testing.T) {
	statePath := filepath.Join(t.TempDir(), "patwatch.state.json")
	holder, err := Lock(context.Background(), statePath, "apply", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Unlock()
	os.WriteFile(LockPath(statePath), []byte("{garbage"), 0o600)
	_, err = Lock(context.Background(), statePath, "apply", 0)
	var le *LockedError
	if !errors.As(err, &le) || le.HolderKnown || !strings.Contains(err.Error(), "locked by another patwatch") {
		t.Errorf("error %v", err)
	}
}

// startHolder starts a child process that holds the lock until its stdin
// closes, and returns once it holds it.
func startHolder(t *testing.T, statePath string) (*os.Process, func()) {
	t.Helper()
	cmd := child(t, "holder", statePath)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "locked\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("holder: %q, %v", line, err)
	}
	var waited bool
	release := func() {
		if waited {
			return
		}
		waited = true
		stdin.Close()
		cmd.Wait()
	}
	t.Cleanup(func() { cmd.Process.Kill(); release() })
	return cmd.Process, func() { release() }
}

// TestLockTwoProcesses: another process holding the lock blocks this one,
// which learns who it is, and gets the lock once it is released.
func TestLockTwoProcesses(t *testing.T) {
	statePath := filepath.Join(t.TempDir(), "patwatch.state.json")
	proc, release := startHolder(t, statePath)

	_, err := Lock(context.Background(), statePath, "apply", 0)
	var le *LockedError
	if !errors.As(err, &le) || !le.HolderKnown || le.Holder.PID != proc.Pid || le.Holder.Command != "apply" {
		t.Fatalf("Lock while a child holds it: %v", err)
	}
	if !strings.Contains(err.Error(), "(pid "+strconv.Itoa(proc.Pid)+" on host ") {
		t.Errorf("message %q does not name the holder's pid", err)
	}

	// Released while we wait: the first poll after the release gets it.
	lk := Locker{Wait: func(ctx context.Context, d time.Duration) error { release(); return nil }}
	l, err := lk.Lock(context.Background(), statePath, "apply", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	l.Unlock()
}

// TestLockStaleAfterKill: a holder killed with SIGKILL leaves its lock file
// behind, but not its lock: the next Lock succeeds at once.
func TestLockStaleAfterKill(t *testing.T) {
	statePath := filepath.Join(t.TempDir(), "patwatch.state.json")
	proc, release := startHolder(t, statePath)
	proc.Signal(syscall.SIGKILL)
	release() // reaps it
	if _, err := os.Stat(LockPath(statePath)); err != nil {
		t.Fatalf("the killed holder left no lock file (%v); the test proves nothing", err)
	}
	l, err := Lock(context.Background(), statePath, "watch", 0)
	if err != nil {
		t.Fatalf("Lock after the holder died: %v", err)
	}
	defer l.Unlock()
	b, _ := os.ReadFile(LockPath(statePath))
	if !strings.Contains(string(b), `"pid":`+strconv.Itoa(os.Getpid())) || !strings.Contains(string(b), `"command":"watch"`) {
		t.Errorf("the stale lock info was not replaced: %s", b)
	}
}

// TestLockMutualExclusion: processes increment a counter file under the
// lock, each reading and rewriting it; a lost increment means two held the
// lock at once. Every Unlock removes the lock file while others poll, which
// exercises the check that a taken lock is on the file at the path.
func TestLockMutualExclusion(t *testing.T) {
	statePath := filepath.Join(t.TempDir(), "patwatch.state.json")
	const procs, each = 3, 40
	var cmds []*os.Process
	var waits []func() error
	for range procs {
		cmd := child(t, "counter", statePath, strconv.Itoa(each))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd.Process)
		waits = append(waits, cmd.Wait)
	}
	for i, wait := range waits {
		if err := wait(); err != nil {
			t.Fatalf("counter %d (pid %d): %v", i, cmds[i].Pid, err)
		}
	}
	b, _ := os.ReadFile(statePath + ".counter")
	if got := strings.TrimSpace(string(b)); got != strconv.Itoa(procs*each) {
		t.Errorf("counter = %s, want %d: two processes held the lock at once", got, procs*each)
	}
}

// TestLockRemovesTemporaryFiles: the temporary files that killed saves
// left beside the state file, and beside the file a symlinked state points
// to, go when the next run takes the lock; nothing else does.
func TestLockRemovesTemporaryFiles(t *testing.T) {
	dir, other := t.TempDir(), t.TempDir()
	statePath := filepath.Join(dir, "patwatch.state.json")
	linked := filepath.Join(dir, "linked.json")
	if err := os.Symlink(filepath.Join(other, "real.json"), linked); err != nil {
		t.Skip(err)
	}
	temps := []string{
		filepath.Join(dir, ".patwatch.state.json.tmp-0123456789abcdef"),
		filepath.Join(dir, ".patwatch.state.json.backup.tmp-fedcba9876543210"),
		filepath.Join(other, ".real.json.tmp-00000000ffffffff"),
	}
	kept := []string{
		filepath.Join(dir, "patwatch.state.json"),
		filepath.Join(dir, "patwatch.state.json.backup"),
		filepath.Join(dir, ".other.json.tmp-0123456789abcdef"),   // another file's
		filepath.Join(dir, ".patwatch.state.json.tmp-notatemp"),  // not atomicfile's name
		filepath.Join(dir, "patwatch.state.json.tmp-1234567890"), // not atomicfile's name
		filepath.Join(other, "real.json"),
	}
	for _, p := range append(temps, kept...) {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{statePath, linked} {
		l, err := Lock(context.Background(), p, "apply", 0)
		if err != nil {
			t.Fatal(err)
		}
		l.Unlock()
	}
	for _, p := range temps {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is still there (%v)", p, err)
		}
	}
	for _, p := range kept {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s was removed: %v", p, err)
		}
	}
}
