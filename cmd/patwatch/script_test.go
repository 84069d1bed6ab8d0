package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets this test binary be the patwatch command itself: run with
// PATWATCH_TEST_BE_MAIN=1 (the signal and recipe tests), or under the name
// patwatch, which is how the scripts of TestScripts find it on their PATH.
// Either way it is main, and through it run, in a process of its own, so
// that real signals reach main's handling and the process's environment,
// working directory and streams are all the command sees.
func TestMain(m *testing.M) {
	if os.Getenv("PATWATCH_TEST_BE_MAIN") == "1" {
		main()
		return
	}
	testscript.Main(m, map[string]func(){"patwatch": main})
}

// TestScripts runs the scripts of testdata/script, one per behaviour users
// rely on; each reads as a terminal session and doubles as documentation.
// A script runs patwatch in a fresh directory, $WORK, holding the files of
// its archive, with no environment but what the script sets and
// testscript's own (PATH, HOME=/no-home, TMPDIR, WORK; GORACE, see
// setupScript), and --sandbox as the API: no credentials, no network.
// Besides testscript's commands a script has
//
//	exits N COMMAND [ARGS...]
//
// which runs COMMAND and passes when it exits with status N (patwatch's
// --detailed-exitcode). Run one script with
// go test ./cmd/patwatch -run TestScripts/NAME; -update rewrites, inside
// the scripts, the files their cmp commands compare output with.
func TestScripts(t *testing.T) {
	t.Parallel()
	testscript.Run(t, testscript.Params{
		Dir:                filepath.Join("testdata", "script"),
		RequireUniqueNames: true,
		UpdateScripts:      *update,
		Setup:              setupScript,
		Cmds:               map[string]func(*testscript.TestScript, bool, []string){"exits": cmdExits},
	})
}

// setupScript completes a script's environment. Under the race detector a
// process waits a second before it exits, to let late reports in; every
// patwatch of a script is a process, so the scripts shorten that wait
// unless GORACE is set already.
func setupScript(e *testscript.Env) error {
	if raceEnabled && os.Getenv("GORACE") == "" {
		e.Setenv("GORACE", "atexit_sleep_ms=10")
	}
	return nil
}

// cmdExits is the script command exits N COMMAND [ARGS...]: it runs
// COMMAND as exec does, keeping its stdout and stderr for the commands
// that follow, and fails the script unless COMMAND exits with status N.
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("exits cannot be negated: name the status instead")
	}
	if len(args) < 2 {
		ts.Fatalf("usage: exits N COMMAND [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: status %q is not a number", args[0])
	}
	got := 0
	var exit *exec.ExitError
	switch err := ts.Exec(args[1], args[2:]...); {
	case errors.As(err, &exit):
		got = exit.ExitCode()
	case err != nil:
		ts.Fatalf("exits: %v", err)
	}
	if got != want {
		ts.Fatalf("%s exited with status %d, want %d", args[1], got, want)
	}
}
