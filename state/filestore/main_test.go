package filestore

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/patwatch/patwatch/state"
)

// The tests re-execute their own binary as child processes that save or
// hold locks, selected by this variable: "saver", "holder" or "counter".
const childEnv = "PATWATCH_STATE_TEST_CHILD"

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "":
		os.Exit(m.Run())
	case "saver":
		os.Exit(childSaver(os.Args[len(os.Args)-1]))
	case "holder":
		os.Exit(childHolder(os.Args[len(os.Args)-1]))
	case "counter":
		os.Exit(childCounter(os.Args[len(os.Args)-2], os.Args[len(os.Args)-1]))
	default:
		fmt.Fprintln(os.Stderr, "unknown child mode")
		os.Exit(3)
	}
}

// child starts this test binary in a child mode with args.
func child(t *testing.T, mode string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^$"}, args...)...)
	cmd.Env = append(os.Environ(), childEnv+"="+mode)
	cmd.Stderr = os.Stderr
	return cmd
}

// crashState is the state a saver writes at step i: content changes with
// every step, so each save bumps the serial by one and serial == step.
func crashState(lineage string, i uint64) *state.State {
	st := &state.State{FormatVersion: 1, Lineage: lineage, Serial: i - 1, PatwatchVersion: "test"}
	hits := map[string]*state.Hit{}
	for j := uint64(0); j < 20+i%40; j++ {
		hits[fmt.Sprintf("CN%07dS", j)] = &state.Hit{
			FirstSeen: time.Unix(1.7e9+int64(j), 0).UTC(),
			Title:     fmt.Sprintf("design %d of step %d", j, i),
			Apdt:      20200101,
		}
	}
	st.Searches = map[string]*state.Search{"s": {Fingerprint: fmt.Sprintf("sha256:%064x", i), BaselineAt: time.Unix(1.7e9, 0).UTC(), Hits: hits}}
	st.Reports = map[string]*state.Report{}
	return st
}

// childSaver saves crashState at steps following the file's serial, as fast
// as it can, printing each step once its Save has returned.
func childSaver(path string) int {
	st, err := Load(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	out := bufio.NewWriter(os.Stdout)
	for i := st.Serial + 1; ; i++ {
		next := crashState(st.Lineage, i)
		if _, err := saveFile(path, next); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Fprintln(out, i)
		out.Flush()
	}
}

// childHolder takes the lock as "apply", says "locked" and holds it until
// its stdin closes.
func childHolder(statePath string) int {
	l, err := Lock(context.Background(), statePath, "apply", 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("locked")
	io.Copy(io.Discard, os.Stdin)
	if err := l.Unlock(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// childCounter increments the number in counterPath n times, each time
// under the state lock, reading and writing it non-atomically so that
// without mutual exclusion increments get lost.
func childCounter(statePath, n string) int {
	count, _ := strconv.Atoi(n)
	lk := Locker{Poll: time.Millisecond}
	counter := statePath + ".counter"
	for range count {
		l, err := lk.Lock(context.Background(), statePath, "apply", time.Minute)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		b, _ := os.ReadFile(counter)
		v, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		os.WriteFile(counter, []byte(strconv.Itoa(v+1)), 0o600)
		if err := l.Unlock(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return 0
}
