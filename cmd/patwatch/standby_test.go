package main

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/patwatch/patwatch/internal/patsnap/fake"
)

// TestStandbyTakesOverOnEveryStore: a second watch --standby on a state
// that a watch holds says who holds it and waits; killed with SIGKILL, the
// holder leaves the state to it, and it is running a run of its own within
// 10 s.
func TestStandbyTakesOverOnEveryStore(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			h := newHarness(t, fake.Options{})
			h.useStore(kind)
			h.paced(1)
			holder, holderErr := h.startProcess("watch", "--standby", "--interval", "1h")
			waitFor(t, "the holder's first run", func() bool { return strings.Contains(holderErr.String(), "run finished") })
			standby, standbyErr := h.startProcess("watch", "--standby", "--interval", "1h")
			waitFor(t, "the second watch to stand by", func() bool { return strings.Contains(standbyErr.String(), "standing by") })
			if s := standbyErr.String(); !strings.Contains(s, fmt.Sprintf("(pid %d ", holder.Process.Pid)) || strings.Contains(s, "run finished") {
				t.Fatalf("the standby does not name the holder (pid %d), or runs beside it:\n%s", holder.Process.Pid, s)
			}
			h.checkNoPassword(standbyErr.String())

			holder.Process.Kill()
			holder.Wait()
			killed := time.Now()
			waitWithin(t, 10*time.Second, "the standby to take over and run", func() bool {
				return strings.Contains(standbyErr.String(), "run finished")
			})
			t.Logf("the standby ran %v after the holder was killed", time.Since(killed).Round(time.Millisecond))
			if !strings.Contains(standbyErr.String(), "taking over") {
				t.Errorf("the standby did not say it took over:\n%s", standbyErr)
			}
			standby.Process.Signal(syscall.SIGTERM)
			if code := processExit(t, standby); code != exitOK {
				t.Errorf("the standby: exit %d after SIGTERM\n%s", code, standbyErr)
			}
		})
	}
}

// TestStandbyStoppedWhileWaiting: a standby stopped before it took over
// exits 0, as a watch does.
func TestStandbyStoppedWhileWaiting(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.paced(1)
	holder, holderErr := h.startProcess("watch", "--interval", "1h")
	waitFor(t, "the holder's first run", func() bool { return strings.Contains(holderErr.String(), "run finished") })
	standby, standbyErr := h.startProcess("watch", "--standby", "--interval", "1h")
	waitFor(t, "the second watch to stand by", func() bool { return strings.Contains(standbyErr.String(), "standing by") })
	standby.Process.Signal(syscall.SIGTERM)
	if code := processExit(t, standby); code != exitOK || strings.Contains(standbyErr.String(), "error") {
		t.Errorf("the standby: exit %d after SIGTERM\n%s", code, standbyErr)
	}
	holder.Process.Signal(syscall.SIGTERM)
	if code := processExit(t, holder); code != exitOK {
		t.Errorf("the holder: exit %d", code)
	}
}
