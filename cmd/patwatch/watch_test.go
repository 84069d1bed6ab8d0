package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/patwatch/patwatch/internal/buftest"
	"github.com/patwatch/patwatch/internal/patsnap/fake"
	"github.com/patwatch/patwatch/internal/report"
)

// watchRun is a patwatch watch running in the background of a test.
type watchRun struct {
	t              *testing.T
	h              *harness
	stdout, stderr buftest.Buffer
	cancel         context.CancelFunc
	done           chan struct{} // closed when the command has returned
	code           int
}

func startWatch(t *testing.T, h *harness, args ...string) *watchRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &watchRun{t: t, h: h, cancel: cancel, done: make(chan struct{})}
	args = append([]string{"watch", "--format", "json", "--interval", "1h", "--log-format", "json"}, args...)
	go func() {
		defer close(w.done)
		w.code = h.runTo(ctx, &w.stdout, &w.stderr, args...)
	}()
	t.Cleanup(func() {
		cancel()
		<-w.done
	})
	return w
}

// runs returns the change reports printed so far, one per run.
func (w *watchRun) runs() []report.ChangeReport {
	var out []report.ChangeReport
	for _, line := range strings.Split(strings.TrimSpace(w.stdout.String()), "\n") {
		if line == "" {
			continue
		}
		var rep report.ChangeReport
		if err := json.Unmarshal([]byte(line), &rep); err != nil {
			w.t.Fatalf("watch printed a line that is not one JSON report: %q: %v", line, err)
		}
		out = append(out, rep)
	}
	return out
}

// waitRuns waits until n runs have been reported and returns them.
func (w *watchRun) waitRuns(n int) []report.ChangeReport {
	w.t.Helper()
	waitFor(w.t, "run "+itoa(n), func() bool { return len(w.runs()) >= n })
	return w.runs()
}

// stop interrupts the watch as SIGINT would and returns its exit code.
func (w *watchRun) stop() int {
	w.cancel()
	<-w.done
	return w.code
}

func itoa(n int) string { return strconv.Itoa(n) }

const watchSpec = `
version: 1
searches:
  - name: alpha
    image: https://images.test/a.png
    patent_type: D
    model: 1
    max_results: 10
`

func withMax(n string) string {
	return strings.Replace(watchSpec, "max_results: 10", "max_results: "+n, 1)
}

func TestWatchRunsOncePerSaveWhateverTheSaveStyle(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.api.SetResults(imgA, -1, fakeHits("A1", "A2")...)
	h.writeSpec(watchSpec)
	specPath := h.path("patwatch.yaml")
	w := startWatch(t, h)
	if runs := w.waitRuns(1); runs[0].Searches[0].Status != report.StatusBaseline {
		t.Fatalf("first run: %+v", runs[0])
	}

	saves := []struct {
		name string
		save func(content string)
	}{
		{"in-place write", func(c string) { mustWrite(t, specPath, c) }},
		{"rename over (sed -i)", func(c string) {
			tmp := filepath.Join(h.dir, ".sedXYZ")
			mustWrite(t, tmp, c)
			mustRename(t, tmp, specPath)
		}},
		{"vim backupcopy=no", func(c string) {
			mustRename(t, specPath, specPath+"~")
			mustWrite(t, specPath, c)
			os.Remove(specPath + "~")
		}},
		{"JetBrains safe write", func(c string) {
			mustWrite(t, specPath+"___jb_tmp___", c)
			mustRename(t, specPath, specPath+"___jb_old___")
			mustRename(t, specPath+"___jb_tmp___", specPath)
			os.Remove(specPath + "___jb_old___")
		}},
		{"delete then recreate", func(c string) {
			os.Remove(specPath)
			mustWrite(t, specPath, c)
		}},
		{"twenty rapid writes", func(c string) {
			for i := range 20 {
				mustWrite(t, specPath, withMax(itoa(i%9+1)))
			}
			mustWrite(t, specPath, c)
		}},
	}
	for i, s := range saves {
		// Each save sets a new max_results, so each run is a rebaseline.
		s.save(withMax(itoa(i + 1)))
		runs := w.waitRuns(i + 2)
		if len(runs) != i+2 {
			t.Fatalf("%s: %d runs, want exactly %d", s.name, len(runs), i+2)
		}
		if got := runs[i+1].Searches[0].Status; got != report.StatusRebaseline {
			t.Errorf("%s: the run after it is %s, want rebaseline", s.name, got)
		}
	}
	// A save with the same content starts no run: the next real change is
	// the very next run.
	mustWrite(t, specPath, withMax(itoa(len(saves))))
	mustWrite(t, filepath.Join(h.dir, "unrelated.txt"), "x")
	mustWrite(t, specPath, withMax("50"))
	if runs := w.waitRuns(len(saves) + 2); len(runs) != len(saves)+2 {
		t.Fatalf("%d runs after an unchanged save, an unrelated file and a change; want %d", len(runs), len(saves)+2)
	}
	if code := w.stop(); code != exitOK {
		t.Errorf("exit %d on interrupt, want 0", code)
	}
}

func TestWatchFollowsAKubernetesConfigMapSwap(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.api.SetResults(imgA, -1, fakeHits("A1")...)
	// kubelet's layout: spec -> ..data/spec, ..data -> ..<timestamp>/
	mount := filepath.Join(h.dir, "mount")
	must(t, os.MkdirAll(filepath.Join(mount, "..2026_11_22_01"), 0o755))
	mustWrite(t, filepath.Join(mount, "..2026_11_22_01", "patwatch.yaml"), watchSpec)
	must(t, os.Symlink("..2026_11_22_01", filepath.Join(mount, "..data")))
	must(t, os.Symlink(filepath.Join("..data", "patwatch.yaml"), filepath.Join(mount, "patwatch.yaml")))

	w := startWatch(t, h, "-f", filepath.Join(mount, "patwatch.yaml"), "--state", h.path("state.json"))
	w.waitRuns(1)

	must(t, os.MkdirAll(filepath.Join(mount, "..2026_11_22_02"), 0o755))
	mustWrite(t, filepath.Join(mount, "..2026_11_22_02", "patwatch.yaml"), withMax("20"))
	must(t, os.Symlink("..2026_11_22_02", filepath.Join(mount, "..data_tmp")))
	must(t, os.Rename(filepath.Join(mount, "..data_tmp"), filepath.Join(mount, "..data")))
	must(t, os.RemoveAll(filepath.Join(mount, "..2026_11_22_01")))

	if runs := w.waitRuns(2); runs[1].Searches[0].Status != report.StatusRebaseline {
		t.Fatalf("after the swap: %+v", runs[1])
	}
}

func TestWatchKeepsTheLastGoodSpecOnAnInvalidEdit(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.api.SetResults(imgA, -1, fakeHits("A1")...)
	h.writeSpec(watchSpec)
	w := startWatch(t, h)
	w.waitRuns(1)

	h.writeSpec(strings.Replace(watchSpec, "model: 1", "model: 9", 1))
	waitFor(t, "the invalid edit to be logged", func() bool {
		return strings.Contains(w.stderr.String(), "the last good spec stays in force")
	})
	if !strings.Contains(w.stderr.String(), `"line":6`) {
		t.Errorf("the invalid field's line is not logged:\n%s", w.stderr.String())
	}
	h.writeSpec(withMax("30"))
	runs := w.waitRuns(2)
	if len(runs) != 2 || runs[1].Searches[0].Status != report.StatusRebaseline {
		t.Fatalf("after invalid then valid: %d runs, last %+v; want 2 runs, the second a rebaseline", len(runs), runs[len(runs)-1])
	}
}

func TestWatchChangeDuringARunCausesExactlyOneMoreRun(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.api.SetResults(imgA, -1, fakeHits("A1")...)
	h.writeSpec(watchSpec)
	var (
		mu       sync.Mutex
		hold     = true
		arrived  = make(chan struct{}, 1)
		released = make(chan struct{})
	)
	h.setGate(func(r *http.Request) {
		mu.Lock()
		wait := hold
		hold = false
		mu.Unlock()
		if wait && strings.Contains(r.URL.Path, "image-single") {
			arrived <- struct{}{}
			<-released
		}
	})
	w := startWatch(t, h, "--log-level", "debug")
	<-arrived // the first run is inside its search
	h.writeSpec(withMax("20"))
	h.writeSpec(withMax("30"))
	// Both saves land while the run is held; the trigger coalesces them
	// into one signal, which waits for the run to end.
	waitFor(t, "the trigger to signal during the run", func() bool {
		return strings.Contains(w.stderr.String(), "watched files may have changed")
	})
	close(released)
	w.waitRuns(2)
	h.writeSpec(withMax("40"))
	runs := w.waitRuns(3)
	if len(runs) != 3 {
		t.Fatalf("%d runs; want the held one, exactly one for the two saves during it, one for the last save", len(runs))
	}
	if runs[1].Searches[0].Status != report.StatusRebaseline {
		t.Errorf("the run after the held one: %+v", runs[1])
	}
}

func TestWatchInterruptSavesAndReleasesTheLock(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.api.SetResults(imgA, -1, fakeHits("A1")...)
	h.writeSpec(watchSpec)
	w := startWatch(t, h)
	w.waitRuns(1)
	if code := w.stop(); code != exitOK {
		t.Fatalf("exit %d, want 0", code)
	}
	if _, ok := h.state().Searches["alpha"]; !ok {
		t.Error("the run's state was not saved")
	}
	h.assertUnlocked()
}

func TestWatchPollsPendingReportsUntilTheyFinish(t *testing.T) {
	h := newHarness(t, fake.Options{PollsToFinish: 2})
	h.writeSpec(oneReport)
	w := startWatch(t, h, "--poll-interval", "10ms")
	runs := w.waitRuns(1)
	if got := runs[0].Reports[0].Status; got != report.ReportSubmitted {
		t.Fatalf("first run: %s", got)
	}
	waitFor(t, "the report to finish", func() bool {
		rs := w.runs()
		return rs[len(rs)-1].Reports[0].Status == report.ReportFinished
	})
	rs := w.runs()
	for _, r := range rs[1:] {
		if len(r.Searches) != 0 {
			t.Errorf("a poll run refreshed searches: %+v", r.Searches)
		}
	}
	if _, err := os.Stat(h.path("reports/cn108977442b.pdf")); err != nil {
		t.Errorf("the finished report was not downloaded: %v", err)
	}
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	must(t, os.WriteFile(path, []byte(strings.TrimLeft(content, "\n")), 0o644))
}

func mustRename(t *testing.T, from, to string) {
	t.Helper()
	must(t, os.Rename(from, to))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestWatchKeepsOneClientAcrossRuns(t *testing.T) {
	h := newHarness(t, fake.Options{PollsToFinish: 3, ClientID: "client-id", ClientSecret: "client-secret-xyz"})
	delete(h.envs, "PATSNAP_API_KEY")
	h.envs["PATSNAP_CLIENT_ID"], h.envs["PATSNAP_CLIENT_SECRET"] = "client-id", "client-secret-xyz"
	h.writeSpec(oneReport)
	w := startWatch(t, h, "--poll-interval", "10ms")
	waitFor(t, "the report to finish", func() bool {
		rs := w.runs()
		return len(rs) > 0 && rs[len(rs)-1].Reports[0].Status == report.ReportFinished
	})
	tokens := 0
	for _, ep := range h.endpoints() {
		if ep == fake.EndpointToken {
			tokens++
		}
	}
	if runs := len(w.runs()); tokens != 1 {
		t.Errorf("%d token requests over %d runs, want 1", tokens, runs)
	}
	if strings.Contains(w.stderr.String()+w.stdout.String(), "client-secret-xyz") {
		t.Error("the client secret leaked into the output")
	}
}

func TestWatchRetriesSoonAfterAnOutage(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.api.SetResults(imgA, -1, fakeHits("A1")...)
	// Every attempt of the first run fails (the harness's client tries 3 times).
	h.api.AddFault(fake.Fault{Endpoint: fake.EndpointSearchSingle, HTTPStatus: 503, Times: 3})
	h.writeSpec(watchSpec)
	w := startWatch(t, h, "--retry-after", "10ms")
	runs := w.waitRuns(2)
	if got := runs[0].Searches[0].Status; got != report.StatusError {
		t.Fatalf("first run: %s, want error", got)
	}
	if got := runs[1].Searches[0].Status; got != report.StatusBaseline {
		t.Fatalf("the retry: %s, want the baseline the outage prevented", got)
	}
	if !strings.Contains(w.stderr.String(), "retry_in") {
		t.Error("the failed run's log does not say when it is retried")
	}
}

// TestWatchRefusesASecondWatch: one watch per state; the second is refused
// at once, names the first, and changes nothing.
func TestWatchRefusesASecondWatch(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.api.SetResults(imgA, -1, fakeHits("A1")...)
	h.writeSpec(watchSpec)
	w := startWatch(t, h)
	w.waitRuns(1)
	h.api.ResetRequests()
	code, stdout, stderr := h.run(context.Background(), "watch", "--interval", "1h")
	if code != exitError || stdout != "" || !strings.Contains(stderr, "is watched by patwatch watch (pid ") || !strings.Contains(stderr, "one watch per state") {
		t.Fatalf("second watch: exit %d, stdout %q, stderr:\n%s", code, stdout, stderr)
	}
	if n := len(h.api.Requests()); n != 0 {
		t.Errorf("the refused watch made %d API calls", n)
	}
	if code := w.stop(); code != exitOK {
		t.Fatalf("first watch: exit %d", code)
	}
	// Once the first has stopped, another may start.
	w2 := startWatch(t, h)
	w2.waitRuns(1)
}

// TestWatchReloadsOnSignal: the reload signal (SIGHUP in main) runs at once
// with the spec read again, and the text report of each run starts with
// its time and trigger.
func TestWatchReloadsOnSignal(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.api.SetResults(imgA, -1, fakeHits("A1")...)
	h.writeSpec(watchSpec)
	reload := make(chan struct{}, 1)
	stopped := make(chan struct{})
	h.reload = func() (<-chan struct{}, func()) { return reload, func() { close(stopped) } }
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr buftest.Buffer
	done := make(chan int)
	go func() { done <- h.runTo(ctx, &stdout, &stderr, "watch", "--interval", "1h", "--log-format", "json") }()
	waitFor(t, "the first run", func() bool { return strings.Contains(stdout.String(), "Apply: ") })
	reload <- struct{}{}
	waitFor(t, "the reload's run", func() bool { return strings.Count(stdout.String(), "Apply: ") == 2 })
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	<-stopped // the subscription is released
	if !regexp.MustCompile(`"took":"[0-9.]+(µs|ms|s)"`).MatchString(stderr.String()) {
		t.Errorf("a run's duration is logged without its unit:\n%s", stderr.String())
	}
	for _, want := range []string{", watch trigger: start\n", ", watch trigger: reload\n", `"trigger":"reload"`} {
		if !strings.Contains(stdout.String()+stderr.String(), want) {
			t.Errorf("output lacks %q:\n%s\n%s", want, stdout.String(), stderr.String())
		}
	}
}

func TestWatchRefusesStandardInput(t *testing.T) {
	h := newHarness(t, fake.Options{})
	code, _, stderr := h.run(context.Background(), "watch", "-f", "-")
	if code != exitError || !strings.Contains(stderr, "standard input cannot be watched") {
		t.Errorf("exit %d\n%s", code, stderr)
	}
}
