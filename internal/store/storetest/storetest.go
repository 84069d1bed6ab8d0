// Package storetest is the conformance suite of the store seam: Run checks
// that a kind of state keeps the contract of store.Store, so that a new
// backend proves itself as the state file, the database and the store in
// memory do. Each kind's tests call Run once.
package storetest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/patwatch/patwatch/internal/store"
	"github.com/patwatch/patwatch/state"
	"github.com/patwatch/patwatch/state/statefile"
)

// Backend is a kind of state under test.
type Backend struct {
	// New makes a fresh state for one test and returns the name Open
	// opens it by (for the kinds store.Open knows, its target).
	New func(t *testing.T) string
	// Open returns a new handle on the state name, as another run would
	// open it, closed when the test ends.
	Open func(t *testing.T, name string) store.Store
	// Crash ends the handle s as its process dying would, without
	// releasing its locks through their unlock functions. nil: the suite
	// starts a process of the test binary that takes the lock, and kills
	// it; that needs a state other processes share.
	Crash func(s store.Store)
}

// holdEnv, set in a process of the test binary that Run starts, names the
// state that process locks and holds until it is killed.
const holdEnv = "PATWATCH_STORETEST_HOLD"

// Run runs the suite against b, each case on a fresh state.
func Run(t *testing.T, b Backend) {
	if name := os.Getenv(holdEnv); name != "" {
		holdUntilKilled(t, b, name)
		return
	}
	cases := []struct {
		name string
		run  func(t *testing.T, b Backend, name string)
	}{
		{"a missing state", missingState},
		{"a round trip is byte for byte", roundTrip},
		{"a save without changes writes nothing", unchangedSave},
		{"save refuses a newer serial", refusesNewerSerial},
		{"save refuses a changed lineage", refusesChangedLineage},
		{"history where it is kept", history},
		{"the lock is exclusive and a refusal names the holder", exclusiveLock},
		{"a dead holder releases the lock", deadHolder},
		{"a standby watch takes over", standbyWatch},
		{"side data round trip", aux},
		{"the push policy", push},
		{"the sandbox's memory moves with a push", pushSandbox},
		{"files on this machine", localFiles},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t, b, b.New(t)) })
	}
}

var t0 = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

// fp is a query fingerprint as the state requires it.
func fp(c string) string { return "sha256:" + strings.Repeat(c, 64) }

// Sample returns a state that uses every part of the model: retired
// entries, the budget, the outbox, non-ASCII text and the format 2
// fields, at serial 7.
func Sample() *state.State {
	st := state.New()
	st.Serial, st.PatwatchVersion = 7, "1.2.3"
	st.Searches["phone-designs"] = &state.Search{Fingerprint: fp("a"), BaselineAt: t0, RefreshedAt: t0.Add(time.Hour), Hits: map[string]*state.Hit{
		"EU0065350760001S": {FirstSeen: t0, PatentID: "8f7e6d5c-0000-4000-8000-000000000001", Title: "Mobile phones",
			CurrentAssignee: "HUAWEI TECHNOLOGIES CO., LTD.", Apno: "EU006535076", Apdt: 20190528, Pbdt: 20190528},
		"CN305467890S": {FirstSeen: t0.Add(48 * time.Hour), Missing: 1, Title: "手机 (\"smart\") <phone> & case\\\t\u2028", CurrentAssignee: "小米科技有限责任公司"},
	}}
	st.Searches["empty.search"] = &state.Search{Fingerprint: fp("b"), BaselineAt: t0}
	st.Reports["cn108977442b"] = &state.Report{PatentNumber: "CN108977442B", Format: "pdf", Logo: true, JobID: "1579434053399035904",
		Status: state.ReportDownloaded, SubmittedAt: t0, LinkExpiresAt: t0.Add(7 * 24 * time.Hour), File: "reports/cn108977442b.pdf", SHA256: strings.Repeat("ab", 32)}
	st.Reports["us-pending"] = &state.Report{PatentID: "0b1c2d3e", Format: "word", JobID: "42", Status: state.ReportPending, SubmittedAt: t0, Submissions: 1}
	st.RetiredSearches = map[string]*state.Search{"phone-designs": {Fingerprint: fp("c"), BaselineAt: t0, RetiredAt: t0.Add(time.Hour),
		Hits: map[string]*state.Hit{"US1S": {FirstSeen: t0}}}}
	st.RetiredReports = map[string]*state.Report{"old": {PatentNumber: "US1234567B2", Format: "pdf", Status: state.ReportFailed, SubmittedAt: t0,
		LastError: "abnormal cause", RetiredAt: t0.Add(2 * time.Hour)}}
	st.Budget = &state.Budget{Day: "2026-03-14", Calls: 25}
	st.Outbox = []*state.Message{{ID: "m-1", Channel: "ip-team", GeneratedAt: t0, Spec: "patwatch.yaml", Attempts: 1, FirstFailed: t0, LastError: "HTTP 500",
		Events: []state.Event{{Kind: "new", Search: "phone-designs", PatentPN: "EU0065350760001S", Score: 0.8884816, Title: "Mobile phones"}}}}
	return st
}

func marshal(t *testing.T, st *state.State) []byte {
	t.Helper()
	b, err := statefile.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func load(t *testing.T, s store.Store) *state.State {
	t.Helper()
	st, err := s.Load(context.Background())
	if err != nil {
		t.Fatalf("load %s: %v", s, err)
	}
	return st
}

func save(t *testing.T, s store.Store, st *state.State) {
	t.Helper()
	if written, err := s.Save(context.Background(), st); err != nil || !written {
		t.Fatalf("save %s: written=%v, %v", s, written, err)
	}
}

// replace puts st in the state name at its serial.
func replace(t *testing.T, b Backend, name string, st *state.State) {
	t.Helper()
	s := b.Open(t, name)
	load(t, s)
	if err := s.Replace(context.Background(), st, st.Serial); err != nil {
		t.Fatalf("replace %s: %v", s, err)
	}
}

func missingState(t *testing.T, b Backend, name string) {
	ctx := context.Background()
	s := b.Open(t, name)
	if ok, err := s.Exists(ctx); ok || err != nil {
		t.Errorf("Exists: %v, %v; want false", ok, err)
	}
	st := load(t, s)
	if st.Serial != 0 || st.Lineage == "" || len(st.Searches)+len(st.Reports) != 0 {
		t.Errorf("a state never saved loads as serial %d, lineage %q, %d searches, %d reports; want an empty state with a lineage",
			st.Serial, st.Lineage, len(st.Searches), len(st.Reports))
	}
	if other := load(t, b.Open(t, name)); other.Lineage == st.Lineage {
		t.Errorf("two loads of a state never saved share the lineage %s; want a new one each", st.Lineage)
	}
	if err := s.Missing(); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), s.String()) {
		t.Errorf("Missing: %v; want an error matching fs.ErrNotExist that names %s", err, s)
	}
	if _, err := s.LoadSerial(ctx, 1); err == nil {
		t.Error("LoadSerial of a state never saved succeeded")
	}
	var pulled bytes.Buffer
	if err := store.Pull(ctx, s, &pulled); !errors.Is(err, fs.ErrNotExist) || pulled.Len() != 0 {
		t.Errorf("Pull of a state never saved: %v; want an error matching fs.ErrNotExist", err)
	}
	if sim, err := store.Simulated(ctx, s); sim || err != nil {
		t.Errorf("Simulated: %v, %v; want false", sim, err)
	}
}

func roundTrip(t *testing.T, b Backend, name string) {
	ctx := context.Background()
	sample := Sample()
	want := marshal(t, sample)
	replace(t, b, name, sample)
	s := b.Open(t, name)
	if ok, err := s.Exists(ctx); !ok || err != nil {
		t.Fatalf("Exists after a replace: %v, %v", ok, err)
	}
	got := load(t, s)
	if b := marshal(t, got); !bytes.Equal(b, want) {
		t.Fatalf("read back differs:\n%s\nwant:\n%s", b, want)
	}
	var pulled bytes.Buffer
	if err := store.Pull(ctx, s, &pulled); err != nil || !bytes.Equal(pulled.Bytes(), want) {
		t.Errorf("Pull: %v\n%s\nwant:\n%s", err, pulled.Bytes(), want)
	}
	old, err := b.Open(t, name).LoadSerial(ctx, sample.Serial)
	if err != nil || !bytes.Equal(marshal(t, old), want) {
		t.Errorf("serial %d read back (%v) differs:\n%s\nwant:\n%s", sample.Serial, err, marshal(t, old), want)
	}

	// Through Save: a change is the next serial, and reads back as saved.
	got.Searches["phone-designs"].Hits["CN399S"] = &state.Hit{FirstSeen: t0.Add(time.Hour), Title: "three"}
	got.Outbox = nil
	save(t, s, got)
	if got.Serial != sample.Serial+1 {
		t.Errorf("the save after serial %d wrote serial %d", sample.Serial, got.Serial)
	}
	if b := marshal(t, load(t, b.Open(t, name))); !bytes.Equal(b, marshal(t, got)) {
		t.Errorf("the saved state reads back as\n%s\nwant:\n%s", b, marshal(t, got))
	}
}

func unchangedSave(t *testing.T, b Backend, name string) {
	replace(t, b, name, Sample())
	s := b.Open(t, name)
	st := load(t, s)
	st.PatwatchVersion = "another" // not content
	if written, err := s.Save(context.Background(), st); written || err != nil || st.Serial != Sample().Serial {
		t.Errorf("saving what was loaded: written=%v, serial %d, %v; want nothing written at serial %d", written, st.Serial, err, Sample().Serial)
	}
}

func refusesNewerSerial(t *testing.T, b Backend, name string) {
	ctx := context.Background()
	replace(t, b, name, Sample())
	x, y := b.Open(t, name), b.Open(t, name)
	sx, sy := load(t, x), load(t, y)
	sx.Searches["empty.search"].Fingerprint = fp("d")
	sy.Searches["empty.search"].Fingerprint = fp("e")
	save(t, x, sx)
	if written, err := y.Save(ctx, sy); err == nil || written {
		t.Fatalf("a save over a newer serial: written=%v, %v; want it refused", written, err)
	}
	if got := load(t, b.Open(t, name)); got.Serial != sx.Serial || got.Searches["empty.search"].Fingerprint != fp("d") {
		t.Errorf("after the refused save: serial %d, fingerprint %s; want the first save's", got.Serial, got.Searches["empty.search"].Fingerprint)
	}
	// A handle that saved goes on saving over its own serial.
	sx.Searches["empty.search"].Fingerprint = fp("f")
	save(t, x, sx)
}

func refusesChangedLineage(t *testing.T, b Backend, name string) {
	ctx := context.Background()
	replace(t, b, name, Sample())
	s := b.Open(t, name)
	st := load(t, s)

	// Saving another lineage over the one loaded.
	other := Sample()
	other.Lineage = "another-lineage"
	if written, err := s.Save(ctx, other); err == nil || written {
		t.Errorf("a save of another lineage: written=%v, %v; want it refused", written, err)
	}

	// The state replaced by one of another lineage after the load.
	other.Serial++
	replace(t, b, name, other)
	st.Searches["empty.search"].Fingerprint = fp("d")
	if written, err := s.Save(ctx, st); err == nil || written {
		t.Errorf("a save over a state replaced by another lineage: written=%v, %v; want it refused", written, err)
	}
	if got := load(t, b.Open(t, name)); got.Lineage != "another-lineage" {
		t.Errorf("after the refused save the lineage is %s", got.Lineage)
	}
}

// history saves three serials: the current and the one before are read
// back by every kind; older ones where the store keeps them.
func history(t *testing.T, b Backend, name string) {
	ctx := context.Background()
	s := b.Open(t, name)
	st := load(t, s)
	want := map[uint64][]byte{}
	for i, c := range []string{"1", "2", "3"} {
		st.Searches["s"] = &state.Search{Fingerprint: fp(c), BaselineAt: t0, Hits: map[string]*state.Hit{"H" + c: {FirstSeen: t0.Add(time.Duration(i) * time.Hour)}}}
		save(t, s, st)
		want[st.Serial] = marshal(t, st)
	}
	r := b.Open(t, name)
	for serial, w := range want {
		got, err := r.LoadSerial(ctx, serial)
		switch {
		case err != nil && serial+1 >= st.Serial:
			t.Errorf("serial %d (the current one is %d): %v", serial, st.Serial, err)
		case err == nil && !bytes.Equal(marshal(t, got), w):
			t.Errorf("serial %d reads back as\n%s\nwant\n%s", serial, marshal(t, got), w)
		}
	}
	if _, err := r.LoadSerial(ctx, 99); err == nil {
		t.Error("LoadSerial of a serial never saved succeeded")
	}
	if err := s.RecordRun(ctx, state.RunRecord{Started: t0, Finished: t0.Add(time.Second), Command: "apply", Serial: st.Serial, Changed: true, Summary: "1 new", CallsMade: 4}); err != nil {
		t.Errorf("RecordRun: %v", err)
	}
}

// checkRefusal checks that err is a refusal of a lock that names its
// holder and says what to do.
func checkRefusal(t *testing.T, err error, command string, pid int) {
	t.Helper()
	var h interface{ Hint() string }
	switch {
	case !errors.Is(err, state.ErrLocked):
		t.Fatalf("%v; want an error matching state.ErrLocked", err)
	case !strings.Contains(err.Error(), command) || !strings.Contains(err.Error(), "pid "+strconv.Itoa(pid)):
		t.Errorf("the refusal %q does not name the holder (%s, pid %d)", err, command, pid)
	case !errors.As(err, &h) || h.Hint() == "":
		t.Errorf("the refusal %q says nothing to do", err)
	}
}

func exclusiveLock(t *testing.T, b Backend, name string) {
	ctx := context.Background()
	x, y := b.Open(t, name), b.Open(t, name)
	unlock, err := x.Lock(ctx, "apply", 0)
	if err != nil {
		t.Fatal(err)
	}
	// A lock held proves itself; a store that holds none has nothing to prove.
	if err := x.CheckLock(ctx); err != nil {
		t.Errorf("CheckLock of a held lock: %v", err)
	}
	if err := y.CheckLock(ctx); err != nil {
		t.Errorf("CheckLock of a store that holds no lock: %v", err)
	}
	_, err = y.Lock(ctx, "apply", 0)
	checkRefusal(t, err, "apply", os.Getpid())
	_, err = y.Lock(ctx, "apply", 50*time.Millisecond)
	checkRefusal(t, err, "apply", os.Getpid())

	// The watch lock is another lock, as exclusive.
	unwatch, err := y.LockWatch(ctx, 0)
	if err != nil {
		t.Fatalf("the watch lock is blocked by a run's: %v", err)
	}
	_, err = x.LockWatch(ctx, 0)
	checkRefusal(t, err, "watch", os.Getpid())
	if err := unwatch(); err != nil {
		t.Fatal(err)
	}

	// A waiter gets the lock once the holder releases it.
	got := make(chan error, 1)
	go func() {
		u, err := y.Lock(ctx, "apply", time.Minute)
		if err == nil {
			err = u()
		}
		got <- err
	}()
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatalf("the waiter: %v", err)
	}
	if err := unlock(); err != nil {
		t.Errorf("a second unlock: %v", err)
	}
	u, err := b.Open(t, name).Lock(ctx, "apply", 0)
	if err != nil {
		t.Fatalf("the lock after its release: %v", err)
	}
	u()
}

// deadHolder: a holder of the state's lock and of the watch lock that dies
// releases both.
func deadHolder(t *testing.T, b Backend, name string) {
	ctx := context.Background()
	pid := os.Getpid()
	if b.Crash != nil {
		s := b.Open(t, name)
		if _, err := s.Lock(ctx, "apply", 0); err != nil {
			t.Fatal(err)
		}
		if _, err := s.LockWatch(ctx, 0); err != nil {
			t.Fatal(err)
		}
		b.Crash(s)
	} else {
		pid = killHolder(t, b, name)
	}
	// The server may take a moment to see a process gone; the wait ends
	// as soon as it has.
	u, err := b.Open(t, name).Lock(ctx, "apply", time.Minute)
	if err != nil {
		t.Fatalf("the lock of a holder (pid %d) that died: %v", pid, err)
	}
	u()
	u, err = b.Open(t, name).LockWatch(ctx, time.Minute)
	if err != nil {
		t.Fatalf("the watch lock of a holder (pid %d) that died: %v", pid, err)
	}
	u()
}

// standbyWatch: a watch lock taken with a timeout waits for the holder,
// is refused naming it when the timeout passes, and is taken as soon as
// the holder lets go.
func standbyWatch(t *testing.T, b Backend, name string) {
	ctx := context.Background()
	x, y := b.Open(t, name), b.Open(t, name)
	unwatch, err := x.LockWatch(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = y.LockWatch(ctx, 50*time.Millisecond)
	checkRefusal(t, err, "watch", os.Getpid())
	got := make(chan error, 1)
	go func() {
		u, err := y.LockWatch(ctx, time.Minute)
		if err == nil {
			err = u()
		}
		got <- err
	}()
	if err := unwatch(); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatalf("the standby: %v", err)
	}
	waited, cancel := context.WithCancel(ctx)
	unwatch, err = x.LockWatch(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unwatch()
	go cancel()
	if _, err := y.LockWatch(waited, time.Minute); err == nil {
		t.Error("a standby whose context ended took the watch lock")
	}
}

// killHolder starts the test binary as a process that takes the state
// name's lock and its watch lock, checks that it holds them, and kills it
// with SIGKILL. It returns the process's pid.
func killHolder(t *testing.T, b Backend, name string) int {
	top, _, _ := strings.Cut(t.Name(), "/")
	cmd := exec.Command(os.Args[0], "-test.run=^"+regexp.QuoteMeta(top)+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), holdEnv+"="+name)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	held := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if sc.Text() == holding {
				held <- true
				io.Copy(io.Discard, stdout)
				return
			}
		}
		held <- false
	}()
	if !<-held {
		cmd.Wait()
		t.Fatalf("the holder process did not take the lock:\n%s", stderr.String())
	}
	_, err = b.Open(t, name).Lock(context.Background(), "apply", 0)
	checkRefusal(t, err, "apply", cmd.Process.Pid)
	_, err = b.Open(t, name).LockWatch(context.Background(), 0)
	checkRefusal(t, err, "watch", cmd.Process.Pid)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	return cmd.Process.Pid
}

// holding is what the holder process prints once it holds the lock.
const holding = "storetest: holding the lock"

// holdUntilKilled is the holder process of killHolder: it takes the lock
// of the state name and its watch lock, and holds them until it is killed
// (or its standard input closes, when the test that started it failed).
func holdUntilKilled(t *testing.T, b Backend, name string) {
	s := b.Open(t, name)
	if _, err := s.Lock(context.Background(), "apply", 0); err != nil {
		t.Fatalf("the holder process: %v", err)
	}
	if _, err := s.LockWatch(context.Background(), 0); err != nil {
		t.Fatalf("the holder process: %v", err)
	}
	fmt.Println(holding)
	io.Copy(io.Discard, os.Stdin)
}

func aux(t *testing.T, b Backend, name string) {
	ctx := context.Background()
	s := b.Open(t, name)
	if _, err := s.ReadAux(ctx, "sandbox"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing side data: %v; want an error matching fs.ErrNotExist", err)
	}
	for _, data := range [][]byte{[]byte("one"), {0, 1, 2, 0xff}, {}} {
		if err := s.WriteAux(ctx, "sandbox", data); err != nil {
			t.Fatal(err)
		}
		got, err := b.Open(t, name).ReadAux(ctx, "sandbox")
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("side data %q read back as %q, %v", data, got, err)
		}
	}
	if _, err := b.Open(t, b.New(t)).ReadAux(ctx, "sandbox"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("another state's side data: %v; want an error matching fs.ErrNotExist", err)
	}
	if sim, err := store.Simulated(ctx, s); !sim || err != nil {
		t.Errorf("Simulated with the sandbox's memory: %v, %v; want true", sim, err)
	}
}

// pushFrom pushes the state src names into dst.
func pushFrom(t *testing.T, b Backend, dst, src string, force bool) (store.PushResult, error) {
	t.Helper()
	return store.Push(context.Background(), b.Open(t, dst), b.Open(t, src), store.PushOptions{From: "pushed.json", Force: force})
}

func push(t *testing.T, b Backend, name string) {
	src := b.New(t)
	sample := Sample()
	replace(t, b, src, sample)
	if r, err := pushFrom(t, b, name, src, false); err != nil || r.Serial != sample.Serial || r.Unchanged {
		t.Fatalf("a push into a state never saved: %+v, %v; want serial %d", r, err, sample.Serial)
	}
	want := marshal(t, sample)
	if got := marshal(t, load(t, b.Open(t, name))); !bytes.Equal(got, want) {
		t.Fatalf("the pushed state reads back as\n%s\nwant\n%s", got, want)
	}
	if r, err := pushFrom(t, b, name, src, false); err != nil || !r.Unchanged || r.Serial != sample.Serial {
		t.Errorf("the same push again: %+v, %v; want nothing written", r, err)
	}

	// The target goes on; the pushed state is now older.
	s := b.Open(t, name)
	st := load(t, s)
	st.Searches["empty.search"].Fingerprint = fp("d")
	save(t, s, st)
	_, err := pushFrom(t, b, name, src, false)
	var pe *store.PushError
	if !errors.As(err, &pe) || pe.Refusal != store.PushOlder || pe.Target != s.String() || pe.Source != "pushed.json" {
		t.Fatalf("pushing an older state: %v; want a PushError naming %s and pushed.json", err, s)
	}
	if r, err := pushFrom(t, b, name, src, true); err != nil || r.Serial != st.Serial+1 {
		t.Fatalf("a forced push: %+v, %v; want serial %d", r, err, st.Serial+1)
	}
	if got := load(t, b.Open(t, name)); got.Serial != st.Serial+1 || got.Searches["empty.search"].Fingerprint != fp("b") {
		t.Errorf("after the forced push: serial %d, fingerprint %s", got.Serial, got.Searches["empty.search"].Fingerprint)
	}

	// Another lineage is refused, unless forced.
	other := b.New(t)
	replace(t, b, other, state.New())
	if _, err := pushFrom(t, b, name, other, false); !errors.As(err, &pe) || pe.Refusal != store.PushOtherLineage {
		t.Errorf("pushing another lineage: %v; want a PushError", err)
	}
	// A state that does not exist is nothing to push.
	if _, err := pushFrom(t, b, name, b.New(t), false); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("pushing a state never saved: %v; want an error matching fs.ErrNotExist", err)
	}
}

func pushSandbox(t *testing.T, b Backend, name string) {
	ctx := context.Background()
	sandbox, real := b.New(t), b.New(t)
	replace(t, b, sandbox, Sample())
	if err := b.Open(t, sandbox).WriteAux(ctx, store.SandboxAux, []byte("memory")); err != nil {
		t.Fatal(err)
	}
	if _, err := pushFrom(t, b, name, sandbox, false); err != nil {
		t.Fatalf("a sandbox state pushed into a new state: %v", err)
	}
	if got, err := b.Open(t, name).ReadAux(ctx, store.SandboxAux); err != nil || string(got) != "memory" {
		t.Errorf("the sandbox's memory after the push: %q, %v", got, err)
	}
	replace(t, b, real, Sample())
	if _, err := pushFrom(t, b, real, sandbox, false); err == nil || !strings.Contains(err.Error(), "simulated") {
		t.Errorf("a sandbox state pushed over a real one: %v; want it refused", err)
	}
	if _, err := pushFrom(t, b, name, real, false); err == nil || !strings.Contains(err.Error(), "written by --sandbox runs") {
		t.Errorf("a real state pushed over a sandbox one: %v; want it refused", err)
	}
}

func localFiles(t *testing.T, b Backend, name string) {
	s, again := b.Open(t, name), b.Open(t, name)
	if s.Kind() == "" {
		t.Error("Kind is empty")
	}
	if d := s.DrawingsDir(); d == "" || d != again.DrawingsDir() || d == b.Open(t, b.New(t)).DrawingsDir() {
		t.Errorf("DrawingsDir %q: want one directory for each state", d)
	}
	reports := filepath.Join(t.TempDir(), "reports")
	if d := s.FilesDir(reports); d == "" {
		t.Error("FilesDir is empty")
	}
	if s.Reserved(filepath.Join(t.TempDir(), "change.md"), store.SandboxAux) {
		t.Error("a file of the test's own is reserved")
	}
}
