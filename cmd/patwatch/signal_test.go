package main

import (
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/patwatch/patwatch/internal/buftest"
	"github.com/patwatch/patwatch/internal/patsnap/fake"
)

// startProcess starts patwatch as a real process with the harness's
// environment and returns it with its stderr.
func (h *harness) startProcess(args ...string) (*exec.Cmd, *buftest.Buffer) {
	h.t.Helper()
	cmd := exec.Command(os.Args[0], append(args, "-f", h.path("patwatch.yaml"), "--log-format", "json")...)
	cmd.Env = []string{"PATWATCH_TEST_BE_MAIN=1"}
	for k, v := range h.envs {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stderr := &buftest.Buffer{}
	cmd.Stdout, cmd.Stderr = &buftest.Buffer{}, stderr
	if err := cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, stderr
}

func processExit(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

func TestSignalStopsWatchCleanly(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			h := newHarness(t, fake.Options{})
			h.api.SetResults(imgA, -1, fakeHits("A1")...)
			h.writeSpec(watchSpec)
			cmd, stderr := h.startProcess("watch", "--interval", "1h")
			waitFor(t, "the first run", func() bool { return strings.Contains(stderr.String(), "run finished") })
			cmd.Process.Signal(sig)
			if code := processExit(t, cmd); code != exitOK {
				t.Fatalf("exit %d after %v, want 0\n%s", code, sig, stderr.String())
			}
			if _, ok := h.state().Searches["alpha"]; !ok {
				t.Error("the run's state was not saved")
			}
			h.assertUnlocked()
		})
	}
}

func TestSignalInterruptsApplyAndKeepsWhatCompleted(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.writeSpec(twoSearches)
	h.api.SetResults(imgA, -1, fakeHits("A1")...)
	h.api.SetResults(imgB, -1, fakeHits("B1")...)
	h.setGate(func(r *http.Request) {
		if strings.Contains(readBody(r), imgA) {
			<-r.Context().Done() // alpha hangs until the client gives up
		}
	})
	cmd, stderr := h.startProcess("apply", "--log-level", "debug")
	waitFor(t, "beta to be refreshed", func() bool {
		s := stderr.String()
		return strings.Contains(s, `"search":"beta"`) && strings.Contains(s, "search refreshed")
	})
	cmd.Process.Signal(syscall.SIGINT)
	if code := processExit(t, cmd); code != exitError || !strings.Contains(stderr.String(), "interrupted") {
		t.Fatalf("exit %d, want 1 and an interruption message\n%s", code, stderr.String())
	}
	h.assertInterrupted()
}

// TestSignalHangupReloadsWatch: SIGHUP makes a running watch reload its
// spec and run at once; it does not end the process.
func TestSignalHangupReloadsWatch(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.api.SetResults(imgA, -1, fakeHits("A1")...)
	h.writeSpec(watchSpec)
	cmd, stderr := h.startProcess("watch", "--interval", "1h")
	waitFor(t, "the first run", func() bool { return strings.Contains(stderr.String(), "run finished") })
	cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the reload's run", func() bool {
		return strings.Contains(stderr.String(), `"trigger":"reload"`) && strings.Count(stderr.String(), "run finished") == 2
	})
	cmd.Process.Signal(syscall.SIGTERM)
	if code := processExit(t, cmd); code != exitOK {
		t.Fatalf("exit %d, want 0\n%s", code, stderr.String())
	}
}
