package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/patwatch/patwatch/internal/buftest"
	"github.com/patwatch/patwatch/internal/patsnap/fake"
	"github.com/patwatch/patwatch/internal/pgstore"
	"github.com/patwatch/patwatch/internal/pgstore/pgtest"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/state"
	"github.com/patwatch/patwatch/state/filestore"
	"github.com/patwatch/patwatch/state/statefile"
)

// The end-to-end scenarios below run against both kinds of state: the
// state file, and a state in PostgreSQL (PATWATCH_TEST_POSTGRES; skipped
// without it, failed without it under CI). They observe the state only
// through the commands (state pull), so one table of cases serves both.

var storeKinds = []string{"file", "postgres"}

// useStore points the harness's runs at a fresh state of kind, through
// PATWATCH_STATE for a database as users would set it.
func (h *harness) useStore(kind string) {
	h.t.Helper()
	if kind == "postgres" {
		h.envs["PATWATCH_STATE"] = pgtest.StateURL(h.t, pgtest.Schema(h.t), "e2e")
	}
}

// pulled returns the state as `state pull` prints it.
func (h *harness) pulled(args ...string) []byte {
	h.t.Helper()
	code, out, errOut := h.run(context.Background(), append([]string{"state", "pull"}, args...)...)
	if code != exitOK {
		h.t.Fatalf("state pull: exit %d\n%s", code, errOut)
	}
	return []byte(out)
}

// pulledState is the pulled state, decoded.
func (h *harness) pulledState(args ...string) *state.State {
	h.t.Helper()
	path := filepath.Join(h.t.TempDir(), "pulled.json")
	if err := os.WriteFile(path, h.pulled(args...), 0o600); err != nil {
		h.t.Fatal(err)
	}
	st, err := filestore.Load(path)
	if err != nil {
		h.t.Fatal(err)
	}
	return st
}

// checkNoPassword fails the test if the database password shows in out.
func (h *harness) checkNoPassword(outs ...string) {
	h.t.Helper()
	u, err := url.Parse(h.envs["PATWATCH_STATE"])
	if err != nil || u.User == nil {
		return
	}
	if pw, ok := u.User.Password(); ok {
		for _, out := range outs {
			if strings.Contains(out, pw) {
				h.t.Fatalf("the database password shows in the output:\n%s", out)
			}
		}
	}
}

func TestScenariosOnEveryStore(t *testing.T) {
	scenarios := []struct {
		name string
		run  func(t *testing.T, h *harness)
	}{
		{"baseline, changes, then a quiet run writes nothing", func(t *testing.T, h *harness) {
			h.writeSpec(twoSearches)
			h.api.SetResults(imgA, -1, fakeHits("A1", "A2", "A3")...)
			h.api.SetResults(imgB, 120, fakeHits("B1", "B2")...)
			code, rep, stderr := h.apply("--detailed-exitcode")
			h.checkNoPassword(stderr)
			if code != exitChanged || searchByName(t, rep, "alpha").Status != report.StatusBaseline || searchByName(t, rep, "beta").Status != report.StatusBaseline {
				t.Fatalf("baseline: exit %d, %+v", code, rep.Searches)
			}
			if st := h.pulledState(); st.Serial != 1 || len(st.Searches["alpha"].Hits) != 3 {
				t.Fatalf("after the baseline: serial %d, %d alpha hits; want 1 and 3", st.Serial, len(st.Searches["alpha"].Hits))
			}

			h.api.SetResults(imgA, -1, fakeHits("A1", "A4", "A2")...)
			code, rep, _ = h.apply("--detailed-exitcode")
			alpha := searchByName(t, rep, "alpha")
			if code != exitChanged || !reflect.DeepEqual(pns(alpha.New), []string{"A4"}) || !reflect.DeepEqual(pns(alpha.Dropped), []string{"A3"}) {
				t.Fatalf("changes: exit %d, %+v; want A4 new and A3 dropped", code, alpha)
			}
			st := h.pulledState()
			if hit := st.Searches["alpha"].Hits["A4"]; st.Serial != 2 || hit == nil || hit.Title != "Design A4" || hit.CurrentAssignee != "ACME" {
				t.Fatalf("after the changes: serial %d, A4 %+v", st.Serial, hit)
			}

			before := h.pulled()
			code, rep, _ = h.apply("--detailed-exitcode")
			if code != exitOK || rep.Changed || rep.StateChanged {
				t.Fatalf("quiet run: exit %d changed=%v state_changed=%v; want 0, false, false", code, rep.Changed, rep.StateChanged)
			}
			if after := h.pulled(); !bytes.Equal(before, after) {
				t.Errorf("a run that found nothing changed the state:\n%s\n---\n%s", before, after)
			}
		}},
		{"a query edit rebaselines", func(t *testing.T, h *harness) {
			h.writeSpec(twoSearches)
			h.api.SetResults(imgA, -1, fakeHits("A1", "A2")...)
			h.api.SetResults(imgB, -1, fakeHits("B1")...)
			h.apply()
			h.writeSpec(strings.Replace(twoSearches, "max_results: 50", "max_results: 50\n    filters:\n      country: [US, CN]", 1))
			h.api.SetResults(imgA, -1, fakeHits("A7", "A8")...)
			code, rep, _ := h.apply("--detailed-exitcode")
			if a := searchByName(t, rep, "alpha"); code != exitChanged || a.Status != report.StatusRebaseline || len(a.New)+len(a.Dropped) != 0 {
				t.Fatalf("query edit: exit %d, %+v; want a rebaseline with nothing new or dropped", code, a)
			}
			hits := h.pulledState().Searches["alpha"].Hits
			if _, ok := hits["A7"]; !ok || len(hits) != 2 {
				t.Errorf("the rebaseline's hits were not recorded: %v", hits)
			}
		}},
		{"a removed search is reported once and leaves the state", func(t *testing.T, h *harness) {
			h.writeSpec(twoSearches)
			h.api.SetResults(imgA, -1, fakeHits("A1")...)
			h.api.SetResults(imgB, -1, fakeHits("B1")...)
			h.apply()
			h.writeSpec(twoSearches[:strings.Index(twoSearches, "  - name: beta")])
			code, rep, _ := h.apply("--detailed-exitcode")
			if b := searchByName(t, rep, "beta"); code != exitChanged || b.Status != report.StatusRemoved {
				t.Fatalf("exit %d, beta %+v; want exit 2 and removed", code, b)
			}
			if _, ok := h.pulledState().Searches["beta"]; ok {
				t.Error("the removed search is still in the state")
			}
			code, rep, _ = h.apply("--detailed-exitcode")
			if code != exitOK || slices.ContainsFunc(rep.Searches, func(s report.SearchChange) bool { return s.Name == "beta" }) {
				t.Errorf("the run after: exit %d, %+v; want beta gone from the report", code, rep.Searches)
			}
		}},
		{"a failed search changes nothing of its own", func(t *testing.T, h *harness) {
			h.writeSpec(twoSearches)
			h.api.SetResults(imgA, -1, fakeHits("A1", "A2")...)
			h.api.SetResults(imgB, -1, fakeHits("B1")...)
			h.apply()
			recorded := h.pulledState().Searches["alpha"]
			h.api.SetResults(imgA, -1) // would drop everything, if the error were read as an answer
			h.api.SetResults(imgB, -1, fakeHits("B1", "B2")...)
			h.api.AddFault(fake.Fault{Endpoint: fake.EndpointSearchSingle, ImageURL: imgA, HTTPStatus: 502})
			code, rep, _ := h.apply("--detailed-exitcode")
			if a := searchByName(t, rep, "alpha"); code != exitError || a.Status != report.StatusError || len(a.Dropped) != 0 {
				t.Fatalf("exit %d, alpha %+v; want 1 and an error with nothing dropped", code, a)
			}
			st := h.pulledState()
			if !reflect.DeepEqual(st.Searches["alpha"], recorded) {
				t.Errorf("the failed search's state changed:\n%+v\nwant\n%+v", st.Searches["alpha"], recorded)
			}
			if _, ok := st.Searches["beta"].Hits["B2"]; !ok {
				t.Error("the search that succeeded was not saved")
			}
		}},
		{"a report is submitted, finished once, then ready", func(t *testing.T, h *harness) {
			h.writeSpec(oneReport)
			seen := h.applyUntil("cn108977442b", report.ReportFinished, 5)
			if seen[0] != report.ReportSubmitted {
				t.Errorf("statuses %v; want submitted first", seen)
			}
			r := h.pulledState().Reports["cn108977442b"]
			if r.Status != state.ReportDownloaded || r.File != "reports/cn108977442b.pdf" || r.SHA256 == "" {
				t.Fatalf("recorded report: %+v", r)
			}
			if _, err := os.Stat(h.path("reports/cn108977442b.pdf")); err != nil {
				t.Fatal(err)
			}
			if _, rep, _ := h.apply(); reportByName(t, rep, "cn108977442b").Status != report.ReportReady {
				t.Errorf("after the download: %+v; want ready", rep.Reports)
			}
		}},
	}
	for _, kind := range storeKinds {
		for _, sc := range scenarios {
			t.Run(kind+"/"+sc.name, func(t *testing.T) {
				h := newHarness(t, fake.Options{PollsToFinish: 1})
				h.useStore(kind)
				sc.run(t, h)
			})
		}
	}
}

// TestConcurrentApplies runs four apply processes on one state at once:
// each waits its turn (--lock-timeout), each sees one more hit than the
// one before, and so every hit is reported new exactly once and the
// serials follow one another.
func TestConcurrentApplies(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			h := newHarness(t, fake.Options{})
			h.useStore(kind)
			h.writeSpec(watchSpec)
			h.api.SetResults(imgA, -1, fakeHits("A0")...)
			if code, _, stderr := h.apply(); code != exitOK {
				t.Fatalf("baseline: exit %d\n%s", code, stderr)
			}
			var mu sync.Mutex
			n := 0
			h.setGate(func(r *http.Request) {
				if !strings.Contains(readBody(r), imgA) {
					return
				}
				mu.Lock()
				defer mu.Unlock()
				n++
				hits := []string{"A0"}
				for i := 1; i <= n; i++ {
					hits = append(hits, fmt.Sprintf("A%d", i))
				}
				h.api.SetResults(imgA, -1, fakeHits(hits...)...)
			})
			type proc struct {
				wait   func() int
				stdout *buftest.Buffer
				stderr *buftest.Buffer
			}
			var procs []proc
			for range 4 {
				cmd, stderr := h.startProcess("apply", "--lock-timeout", "2m", "--format", "json")
				procs = append(procs, proc{wait: func() int { return processExit(t, cmd) }, stdout: cmd.Stdout.(*buftest.Buffer), stderr: stderr})
			}
			seen := map[string]int{}
			for _, p := range procs {
				if code := p.wait(); code != exitOK {
					t.Fatalf("an apply exited %d\n%s", code, p.stderr)
				}
				var rep report.ChangeReport
				if err := json.Unmarshal([]byte(p.stdout.String()), &rep); err != nil {
					t.Fatalf("%v\n%s", err, p.stdout)
				}
				for _, hit := range searchByName(t, &rep, "alpha").New {
					seen[hit.PatentPN]++
				}
				h.checkNoPassword(p.stdout.String(), p.stderr.String())
			}
			if want := map[string]int{"A1": 1, "A2": 1, "A3": 1, "A4": 1}; !reflect.DeepEqual(seen, want) {
				t.Errorf("hits reported new: %v; want each of A1-A4 once", seen)
			}
			st := h.pulledState()
			if st.Serial != 5 || len(st.Searches["alpha"].Hits) != 5 {
				t.Errorf("final state: serial %d, %d hits; want 5 and 5", st.Serial, len(st.Searches["alpha"].Hits))
			}
			if kind == "postgres" {
				// Every serial was kept, one after another, each one hit more.
				for serial := uint64(1); serial <= 5; serial++ {
					if got := h.pulledState("--serial", fmt.Sprint(serial)); len(got.Searches["alpha"].Hits) != int(serial) {
						t.Errorf("serial %d holds %d hits, want %d", serial, len(got.Searches["alpha"].Hits), serial)
					}
				}
			}
		})
	}
}

// TestKilledHolderReleasesTheLock kills an apply with SIGKILL while it
// holds the lock: the next apply gets it at once, from the last committed
// state.
func TestKilledHolderReleasesTheLock(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			h := newHarness(t, fake.Options{})
			h.useStore(kind)
			h.writeSpec(watchSpec)
			h.api.SetResults(imgA, -1, fakeHits("A1")...)
			if code, _, stderr := h.apply(); code != exitOK {
				t.Fatalf("baseline: exit %d\n%s", code, stderr)
			}
			committed := h.pulled()

			h.api.SetResults(imgA, -1, fakeHits("A1", "A2")...)
			arrived := make(chan struct{}, 1)
			h.setGate(func(r *http.Request) {
				if strings.Contains(readBody(r), imgA) {
					arrived <- struct{}{}
					<-r.Context().Done() // hangs until the killed client's connection closes
				}
			})
			cmd, _ := h.startProcess("apply")
			select {
			case <-arrived:
			case <-time.After(20 * time.Second):
				t.Fatal("the apply never searched")
			}
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			cmd.Wait()
			h.setGate(nil)

			if got := h.pulled(); !bytes.Equal(got, committed) {
				t.Errorf("after the kill the state is not the last committed one:\n%s\nwant\n%s", got, committed)
			}
			start := time.Now()
			code, rep, stderr := h.apply("--lock-timeout", "0s")
			if code != exitOK || !reflect.DeepEqual(pns(searchByName(t, rep, "alpha").New), []string{"A2"}) {
				t.Fatalf("the next apply: exit %d, %+v\n%s", code, rep.Searches, stderr)
			}
			t.Logf("the next apply took %v", time.Since(start))
		})
	}
}

// TestInterruptedApplySavesWhatCompleted interrupts an apply (SIGINT)
// while one search hangs and the other has finished: the finished one is
// saved, the hanging one is not recorded, and the lock is free.
func TestInterruptedApplySavesWhatCompleted(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			h := newHarness(t, fake.Options{})
			h.useStore(kind)
			h.writeSpec(twoSearches)
			h.api.SetResults(imgA, -1, fakeHits("A1")...)
			h.api.SetResults(imgB, -1, fakeHits("B1")...)
			h.setGate(func(r *http.Request) {
				if strings.Contains(readBody(r), imgA) {
					<-r.Context().Done()
				}
			})
			cmd, stderr := h.startProcess("apply", "--log-level", "debug")
			waitFor(t, "beta to be refreshed", func() bool {
				s := stderr.String()
				return strings.Contains(s, `"search":"beta"`) && strings.Contains(s, "search refreshed")
			})
			cmd.Process.Signal(syscall.SIGINT)
			if code := processExit(t, cmd); code != exitError || !strings.Contains(stderr.String(), "interrupted") {
				t.Fatalf("exit %d, want 1 and an interruption message\n%s", code, stderr)
			}
			h.checkNoPassword(stderr.String())
			st := h.pulledState()
			if _, ok := st.Searches["beta"]; !ok {
				t.Error("the completed search was not saved")
			}
			if _, ok := st.Searches["alpha"]; ok {
				t.Error("the interrupted search was recorded")
			}
			h.setGate(nil)
			if code, _, stderr := h.apply("--lock-timeout", "0s"); code != exitOK {
				t.Errorf("the next apply: exit %d\n%s", code, stderr)
			}
		})
	}
}

func TestDatabaseStatesNeverBlockEachOther(t *testing.T) {
	schema := pgtest.Schema(t)
	h := newHarness(t, fake.Options{})
	h.writeSpec(watchSpec)
	h.api.SetResults(imgA, -1, fakeHits("A1")...)
	a := pgtest.StateURL(t, schema, "team-a")
	b := pgtest.StateURL(t, schema, "team-b")

	holder, err := pgstore.Open(a, pgstore.Options{Host: "ci-runner-7", PID: 777})
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	unlock, err := holder.Lock(context.Background(), "watch", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()

	if code, _, stderr := h.apply("--state", b, "--lock-timeout", "0s"); code != exitOK {
		t.Fatalf("apply on another state while team-a is locked: exit %d\n%s", code, stderr)
	}
	code, _, stderr := h.run(context.Background(), "apply", "--state", a, "--lock-timeout", "0s")
	if code != exitError || !strings.Contains(stderr, "locked by patwatch watch (pid 777 on host ci-runner-7)") || !strings.Contains(stderr, "patwatch: hint:") {
		t.Fatalf("apply on the locked state: exit %d; want 1 and the holder named\n%s", code, stderr)
	}
	h.envs["PATWATCH_STATE"] = a
	h.checkNoPassword(stderr)
	// plan takes no lock.
	if code, _, stderr := h.report("plan", "--state", a); code != exitOK {
		t.Errorf("plan on the locked state: exit %d\n%s", code, stderr)
	}
}

func TestStatePushAndPull(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.writeSpec(twoSearches)
	h.api.SetResults(imgA, -1, fakeHits("A1", "A2")...)
	h.api.SetResults(imgB, -1, fakeHits("B1")...)
	h.apply()
	h.api.SetResults(imgA, -1, fakeHits("A1", "A3")...)
	h.apply()
	file := h.path("patwatch.state.json")
	fileBytes := h.stateBytes()
	if got := h.pulled(); !bytes.Equal(got, fileBytes) {
		t.Fatalf("state pull of a file differs from the file:\n%s", got)
	}
	if got := h.pulled("--serial", "1"); !bytes.Equal(got, mustRead(t, filestore.BackupPath(file))) {
		t.Errorf("state pull --serial 1 of a file is not its backup")
	}

	db := pgtest.StateURL(t, pgtest.Schema(t), "moved")
	run := func(args ...string) (int, string) {
		t.Helper()
		code, out, errOut := h.run(context.Background(), args...)
		h.envs["PATWATCH_STATE"] = db
		h.checkNoPassword(out, errOut)
		delete(h.envs, "PATWATCH_STATE")
		return code, out + errOut
	}
	if code, out := run("state", "push", file, "--state", db); code != exitOK || !strings.Contains(out, "as serial 2") {
		t.Fatalf("push to the database: exit %d\n%s", code, out)
	}
	if got := h.pulled("--state", db); !bytes.Equal(got, fileBytes) {
		t.Fatalf("pull of the pushed file state differs:\n%s\nwant\n%s", got, fileBytes)
	}
	if code, out := run("state", "push", "--state", db, file); code != exitOK || !strings.Contains(out, "already holds") {
		t.Errorf("the same push again: exit %d\n%s", code, out)
	}

	// Runs go on in the database; the file is now older.
	h.api.SetResults(imgA, -1, fakeHits("A1", "A3", "A4")...)
	if code, _, stderr := h.apply("--state", db); code != exitOK {
		t.Fatalf("apply on the database: exit %d\n%s", code, stderr)
	}
	if code, out := run("state", "push", file, "--state", db); code != exitError || !strings.Contains(out, "older") || !strings.Contains(out, "--force") {
		t.Errorf("pushing the older file: exit %d; want a refusal with a hint\n%s", code, out)
	}
	other := h.path("other.json")
	st := state.New()
	st.Serial = 9
	b, _ := statefile.Marshal(st)
	must(t, os.WriteFile(other, b, 0o600))
	if code, out := run("state", "push", other, "--state", db); code != exitError || !strings.Contains(out, "lineage") {
		t.Errorf("pushing another lineage: exit %d; want a refusal\n%s", code, out)
	}

	// And back: pull from the database, push to a new file, same bytes.
	dbBytes := h.pulled("--state", db)
	back := h.path("back.state.json")
	must(t, os.WriteFile(h.path("pulled.json"), dbBytes, 0o600))
	if code, out := run("state", "push", h.path("pulled.json"), "--state", back); code != exitOK {
		t.Fatalf("push to a new file: exit %d\n%s", code, out)
	}
	if got := mustRead(t, back); !bytes.Equal(got, dbBytes) {
		t.Errorf("the file pushed back differs from the database's state")
	}

	// --force replaces, with the next serial: serials never go back.
	if code, out := run("state", "push", "--force", file, "--state", db); code != exitOK || !strings.Contains(out, "as serial 4") {
		t.Fatalf("forced push: exit %d\n%s", code, out)
	}
	if st := h.pulledState("--state", db); st.Serial != 4 || len(st.Searches["alpha"].Hits) != 2 {
		t.Errorf("after the forced push: serial %d, %d alpha hits; want 4 and 2", st.Serial, len(st.Searches["alpha"].Hits))
	}
	if st := h.pulledState("--state", db, "--serial", "3"); len(st.Searches["alpha"].Hits) != 3 {
		t.Errorf("serial 3 after the forced push holds %d alpha hits, want 3", len(st.Searches["alpha"].Hits))
	}

	// show reads a database state too, and never prints the password.
	code, out := run("show", "--state", db)
	if code != exitOK || !strings.Contains(out, "serial:") || !strings.Contains(out, "state=moved") {
		t.Errorf("show of the database state: exit %d\n%s", code, out)
	}
}

// mustRead returns the file at path, failing the test if it cannot.
func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestWatchOnEveryStore: a watch runs against either store for its
// lifetime, a second watch on the same state is refused naming the first,
// and once the first stops another may start.
func TestWatchOnEveryStore(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			h := newHarness(t, fake.Options{})
			h.useStore(kind)
			h.api.SetResults(imgA, -1, fakeHits("A1")...)
			h.writeSpec(watchSpec)
			w := startWatch(t, h)
			w.waitRuns(1)
			code, _, stderr := h.run(context.Background(), "watch", "--interval", "1h")
			if code != exitError || !strings.Contains(stderr, "is watched by patwatch watch (pid ") || !strings.Contains(stderr, "one watch per state") {
				t.Fatalf("second watch: exit %d, stderr:\n%s", code, stderr)
			}
			h.checkNoPassword(stderr)
			if code := w.stop(); code != exitOK {
				t.Fatalf("first watch: exit %d", code)
			}
			if _, ok := h.pulledState().Searches["alpha"]; !ok {
				t.Error("the watch's run was not saved")
			}
			w2 := startWatch(t, h)
			w2.waitRuns(1)
		})
	}
}

// TestNotificationsOnEveryStore: a message its channel refused stays in
// the state's outbox (a table, in the database) and the next run delivers
// it with the same id, then its own; nothing is left behind.
func TestNotificationsOnEveryStore(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			h := newHarness(t, fake.Options{PollsToFinish: -1})
			h.useStore(kind)
			rcv := newHookReceiver(t)
			h.envs["PATWATCH_NOTIFY_HOOK"] = rcv.url()
			h.envs["PATWATCH_NOTIFY_HOOK_KEY"] = hookKey
			h.writeSpec(notifySpec)
			h.api.SetResults(imgA, -1, fakeHits("A1", "A2", "A3")...)
			if code, _, stderr := h.apply(); code != exitOK {
				t.Fatalf("baseline: exit %d\n%s", code, stderr)
			}
			h.api.SetResults(imgA, -1, fakeHits("A1", "A4", "A2")...)
			rcv.set(3, false) // the run's three attempts fail

			if code, _, stderr := h.apply(); code != exitError || !strings.Contains(stderr, "notification to hook failed") {
				t.Fatalf("exit %d, want 1 and the failure named\n%s", code, stderr)
			}
			st := h.pulledState()
			if len(st.Outbox) != 1 || st.Outbox[0].Attempts != 1 || st.FormatVersion != 2 {
				t.Fatalf("after the failed run: outbox %+v, format %d", st.Outbox, st.FormatVersion)
			}
			kept := st.Outbox[0].ID

			h.api.SetResults(imgA, -1, fakeHits("A1", "A4", "A2", "A5")...)
			if code, _, stderr := h.apply(); code != exitOK {
				t.Fatalf("the next run: exit %d\n%s", code, stderr)
			}
			if got := rcv.accepted(); len(got) != 2 || got[0].msg.ID != kept {
				t.Fatalf("accepted %d messages, want the kept one first and then the new one", len(got))
			}
			if st := h.pulledState(); len(st.Outbox) != 0 || st.FormatVersion != 1 {
				t.Errorf("after delivery: outbox %+v, format %d", st.Outbox, st.FormatVersion)
			}
			if kind == "postgres" {
				// The delivered message stays in the history.
				var rows int
				u, _ := url.Parse(h.envs["PATWATCH_STATE"])
				err := pgtest.Conn(t).QueryRow(context.Background(), "SELECT count(*) FROM "+pgIdent(u.Query().Get("schema"))+".outbox WHERE id = $1 AND to_serial IS NOT NULL", kept).Scan(&rows)
				if err != nil || rows == 0 {
					t.Errorf("the delivered message has %d closed rows (%v), want its history kept", rows, err)
				}
			}
		})
	}
}

func pgIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// TestStatePushCarriesTheSandbox: a state that --sandbox runs wrote moves
// with their memory, so that the sandbox goes on in the database and a live
// run there is refused; it is never pushed over a real state, nor a real
// one over it, without --force; a pull of it says that its JSON does not
// tell.
func TestStatePushCarriesTheSandbox(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.envs["PATWATCH_CACHE_DIR"] = t.TempDir()
	h.writeSpec(twoSearches)
	if code, _, stderr := h.apply("--sandbox"); code != exitOK {
		t.Fatalf("sandbox apply: exit %d\n%s", code, stderr)
	}
	file := h.path("patwatch.state.json")
	schema := pgtest.Schema(t)
	db := pgtest.StateURL(t, schema, "sandbox")
	if code, _, stderr := h.run(context.Background(), "state", "push", file, "--state", db); code != exitOK {
		t.Fatalf("push: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := h.apply("--sandbox", "--state", db); code != exitOK {
		t.Errorf("the sandbox on the pushed state: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := h.run(context.Background(), "apply", "--state", db); code != exitError || !strings.Contains(stderr, "written by --sandbox runs") {
		t.Errorf("a live run on the pushed sandbox state: exit %d, want it refused\n%s", code, stderr)
	}
	code, _, stderr := h.run(context.Background(), "state", "pull", "--state", db)
	if code != exitOK || !strings.Contains(stderr, "written by --sandbox runs") {
		t.Errorf("pull of a sandbox state: exit %d, no warning\n%s", code, stderr)
	}

	// A real state and a sandbox one are not pushed over each other.
	real := pgtest.StateURL(t, schema, "real")
	h.api.SetResults(imgA, -1, fakeHits("A1")...)
	h.api.SetResults(imgB, -1, fakeHits("B1")...)
	if code, _, stderr := h.apply("--state", real); code != exitOK {
		t.Fatalf("live apply: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := h.run(context.Background(), "state", "push", file, "--state", real); code != exitError || !strings.Contains(stderr, "simulated") {
		t.Errorf("a sandbox state pushed over a real one: exit %d\n%s", code, stderr)
	}
	pulledReal := filepath.Join(t.TempDir(), "real.json")
	must(t, os.WriteFile(pulledReal, h.pulled("--state", real), 0o600))
	if code, _, stderr := h.run(context.Background(), "state", "push", pulledReal, "--state", db); code != exitError || !strings.Contains(stderr, "written by --sandbox runs") {
		t.Errorf("a real state pushed over a sandbox one: exit %d\n%s", code, stderr)
	}
}
