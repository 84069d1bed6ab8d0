package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patwatch/patwatch/internal/buftest"
	"github.com/patwatch/patwatch/internal/drawings"
	"github.com/patwatch/patwatch/internal/notify"
	"github.com/patwatch/patwatch/internal/patsnap"
	"github.com/patwatch/patwatch/internal/patsnap/fake"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/internal/runner"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
	"github.com/patwatch/patwatch/state/filestore"
)

const testAPIKey = "sk-e2e-test-key-0123456789"

// fixedTime is the clock of tests whose output shows the time.
var fixedTime = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)

// testClock is a settable clock shared by the fake API and the test.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set puts the clock at t, for output that shows the time (golden files).
func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// harness runs the real command in process against the fake API over
// loopback HTTP, in a temporary directory holding the spec.
type harness struct {
	t     testing.TB
	dir   string
	clock *testClock
	api   *fake.Server
	srv   *httptest.Server
	envs  map[string]string

	mu   sync.Mutex
	gate func(r *http.Request) // see setGate

	stdin  string                           // the command's standard input
	reload func() (<-chan struct{}, func()) // watch's reload signal; nil: none

	// images serves the drawings behind every image link that is not on
	// loopback (the corpus's CDN links, fakeHits' img.test), so that no
	// test fetches from the network; its requests are apart from the API's.
	images    *fake.Server
	imagesURL string
	// tuneDrawings, when set, adjusts the drawings step after the
	// harness's routing is in place.
	tuneDrawings func(*drawings.Step)
	// tuneNotifier, when set, adjusts the notifier after the harness's
	// waits that pass at once.
	tuneNotifier func(*notify.Notifier)
	// allDrawings keeps the default --baseline-drawings. Without it, a
	// command that does not name the flag keeps testBaselineDrawings:
	// thumbnails are slow to make under the race detector, and most
	// tests are not about them.
	allDrawings bool
}

// testBaselineDrawings is the --baseline-drawings of tests that do not set
// it or allDrawings.
const testBaselineDrawings = 3

// setGate makes gate see every request before the fake does (to hold one).
func (h *harness) setGate(gate func(r *http.Request)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.gate = gate
}

func newHarness(t testing.TB, opts fake.Options) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir(), clock: &testClock{t: time.Now().UTC()}}
	opts.APIKeys = append(opts.APIKeys, testAPIKey)
	opts.Now = h.clock.Now
	h.api = fake.New(opts)
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		gate := h.gate
		h.mu.Unlock()
		if gate != nil {
			gate(r)
		}
		h.api.ServeHTTP(w, r)
	}))
	t.Cleanup(h.srv.Close)
	h.images = fake.New(fake.Options{Now: h.clock.Now})
	imgSrv := httptest.NewServer(h.images)
	t.Cleanup(imgSrv.Close)
	h.imagesURL = imgSrv.URL
	h.envs = map[string]string{
		"PATSNAP_BASE_URL":   h.srv.URL,
		"PATSNAP_API_KEY":    testAPIKey,
		"PATWATCH_CACHE_DIR": filepath.Join(t.TempDir(), "cache"),
	}
	return h
}

func (h *harness) path(name string) string { return filepath.Join(h.dir, name) }

func (h *harness) writeSpec(yaml string) {
	h.t.Helper()
	if err := os.WriteFile(h.path("patwatch.yaml"), []byte(strings.TrimLeft(yaml, "\n")), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

// run runs patwatch with args (-f pointing at the harness's spec unless
// given) and returns the exit code and the two streams.
func (h *harness) run(ctx context.Context, args ...string) (int, string, string) {
	h.t.Helper()
	var stdout, stderr buftest.Buffer
	code := h.runTo(ctx, &stdout, &stderr, args...)
	return code, stdout.String(), stderr.String()
}

// runTo is run with the caller's streams, for tests that watch them while
// the command runs.
func (h *harness) runTo(ctx context.Context, stdout, stderr *buftest.Buffer, args ...string) int {
	h.t.Helper()
	if len(args) > 0 && takesSpec(args[0]) && !contains(args, "-f") {
		args = append(args[:1:1], append([]string{"-f", h.path("patwatch.yaml")}, args[1:]...)...)
	} else if len(args) > 1 && args[0] == "state" && !contains(args, "-f") {
		// after the subcommand: state pull -f SPEC
		args = append(args[:2:2], append([]string{"-f", h.path("patwatch.yaml")}, args[2:]...)...)
	}
	capDrawings := !h.allDrawings && !contains(args, "--baseline-drawings")
	e := env{
		getenv: func(k string) string { return h.envs[k] },
		stdin:  strings.NewReader(h.stdin),
		stdout: stdout,
		stderr: stderr,
		now:    h.clock.Now,
		reload: h.reload,
		tuneClient: func(c *patsnap.Config) {
			// Retries and the rate cap wait through Sleep: no real waiting.
			c.Sleep = func(ctx context.Context, d time.Duration) error { return ctx.Err() }
			c.MaxRetries = 2
		},
		tuneNotifier: func(n *notify.Notifier) {
			// Waits between delivery attempts pass at once.
			n.Sleep = func(ctx context.Context, d time.Duration) error { return ctx.Err() }
			if h.tuneNotifier != nil {
				h.tuneNotifier(n)
			}
		},
		tuneDrawings: func(rd runner.Drawings) {
			d := rd.(*drawings.Step)
			// The test servers are on loopback, which a run refuses
			// unless it is told otherwise.
			d.Fetcher.Reach = drawings.WithLoopback
			d.Fetcher.Route = offline(h.imagesURL)
			if capDrawings {
				d.Baseline = min(d.Baseline, testBaselineDrawings)
			}
			if h.tuneDrawings != nil {
				h.tuneDrawings(d)
			}
		},
	}
	return runEnv(ctx, e, args)
}

// offline is the harness's route of image links: loopback ones (a test's
// own server) go as they are, any other is served by the harness's image
// server at images.
func offline(images string) drawings.Route {
	base, err := url.Parse(images)
	if err != nil {
		panic(err)
	}
	sandbox := drawings.SandboxRoute(base)
	return func(link *url.URL) *url.URL {
		if spec.IsLoopbackHost(link.Hostname()) {
			return link
		}
		return sandbox(link)
	}
}

// takesSpec reports whether the harness gives the command its spec with -f.
func takesSpec(cmd string) bool {
	switch cmd {
	case "plan", "apply", "watch", "show":
		return true
	}
	return false
}

// waitFor polls cond until it holds, failing the test after a generous
// bound; it waits on a condition, not on a guess of how long things take.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	waitWithin(t, 60*time.Second, what, cond) // a -race run on a loaded 2-core machine took over 20 s
}

// waitWithin is waitFor with the bound given.
func waitWithin(t testing.TB, bound time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// readBody reads a request's body and puts it back for the next reader.
func readBody(r *http.Request) string {
	b, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(b))
	return string(b)
}

// apply runs apply --format json and decodes the change report.
func (h *harness) apply(args ...string) (int, *report.ChangeReport, string) {
	h.t.Helper()
	return h.report("apply", args...)
}

func (h *harness) report(cmd string, args ...string) (int, *report.ChangeReport, string) {
	h.t.Helper()
	code, out, errOut := h.run(context.Background(), append([]string{cmd, "--format", "json"}, args...)...)
	var rep report.ChangeReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		h.t.Fatalf("%s: exit %d, stdout is not one JSON report: %v\nstdout:\n%s\nstderr:\n%s", cmd, code, err, out, errOut)
	}
	return code, &rep, errOut
}

func (h *harness) stateBytes() []byte {
	h.t.Helper()
	b, err := os.ReadFile(h.path("patwatch.state.json"))
	if err != nil {
		h.t.Fatal(err)
	}
	return b
}

func (h *harness) state() *state.State {
	h.t.Helper()
	st, err := filestore.Load(h.path("patwatch.state.json"))
	if err != nil {
		h.t.Fatal(err)
	}
	return st
}

// assertUnlocked fails the test unless the state lock can be taken at once.
func (h *harness) assertUnlocked() {
	h.t.Helper()
	lock, err := filestore.Lock(context.Background(), h.path("patwatch.state.json"), "test", 0)
	if err != nil {
		h.t.Fatalf("the lock was not released: %v", err)
	}
	lock.Unlock()
}

// assertInterrupted checks the outcome of a run interrupted while alpha's
// search hung and beta's had completed: beta saved, alpha not recorded, the
// lock free.
func (h *harness) assertInterrupted() {
	h.t.Helper()
	st := h.state()
	if _, ok := st.Searches["beta"]; !ok {
		h.t.Error("the completed search was not saved")
	}
	if _, ok := st.Searches["alpha"]; ok {
		h.t.Error("the interrupted search was recorded")
	}
	h.assertUnlocked()
}

// requests returns the endpoints called since the last reset, in order.
func (h *harness) endpoints() []fake.Endpoint {
	var eps []fake.Endpoint
	for _, r := range h.api.Requests() {
		eps = append(eps, r.Endpoint)
	}
	return eps
}

// files lists every file below the harness's directory with its content.
func (h *harness) files() map[string]string {
	h.t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(h.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		out[strings.TrimPrefix(p, h.dir)] = string(b)
		return err
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return out
}

func searchByName(t testing.TB, rep *report.ChangeReport, name string) report.SearchChange {
	t.Helper()
	for _, s := range rep.Searches {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no search %q in the report: %+v", name, rep.Searches)
	return report.SearchChange{}
}

func reportByName(t testing.TB, rep *report.ChangeReport, name string) report.ReportChange {
	t.Helper()
	for _, r := range rep.Reports {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no report %q in the report: %+v", name, rep.Reports)
	return report.ReportChange{}
}

func pns(hs []report.HitChange) []string {
	out := []string{}
	for _, h := range hs {
		out = append(out, h.PatentPN)
	}
	sort.Strings(out)
	return out
}

func fakeHits(pns ...string) []fake.Hit {
	out := make([]fake.Hit, len(pns))
	for i, pn := range pns {
		out[i] = fake.Hit{PatentPN: pn, PatentID: "id-" + pn, Title: "Design " + pn, Score: 0.95 - float64(i)*0.01,
			CurrentAssignee: "ACME", Apdt: 20240101, Pbdt: 20240601, URL: "http://img.test/" + pn + ".png"}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// shQuote quotes s for sh.
func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
