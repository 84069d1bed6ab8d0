package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patwatch/patwatch/internal/buftest"
	"github.com/patwatch/patwatch/internal/drawings"
	"github.com/patwatch/patwatch/internal/patsnap/fake"
)

// picture is what a page shows for one drawing or query image.
type picture struct {
	embedded bool
	missing  string // why there is none
}

var (
	imgTag     = regexp.MustCompile(`<img class="pic[^"]*" src="data:image/(?:png|jpeg);base64,[^"]+" width="\d+" height="\d+" alt="([^"]*)">`)
	missingTag = regexp.MustCompile(`<div class="pic missing[^"]*" role="img" aria-label="([^"]*?): ([^"]*)">`)
	dataURL    = regexp.MustCompile(`data:image/(png|jpeg);base64,([A-Za-z0-9+/=]+)`)
)

// pictures returns the pictures of a page by their alt text ("drawing of
// CN1S", "query image a.png").
func pictures(page string) map[string]picture {
	out := map[string]picture{}
	for _, m := range imgTag.FindAllStringSubmatch(page, -1) {
		out[m[1]] = picture{embedded: true}
	}
	for _, m := range missingTag.FindAllStringSubmatch(page, -1) {
		out[m[1]] = picture{missing: strings.ReplaceAll(m[2], "&#39;", "'")}
	}
	return out
}

// normalizePage makes a page comparable with a golden file: each embedded
// image becomes its digest, the test's directory $DIR.
func normalizePage(page, dir string) string {
	page = dataURL.ReplaceAllStringFunc(page, func(s string) string {
		m := dataURL.FindStringSubmatch(s)
		b, _ := base64.StdEncoding.DecodeString(m[2])
		sum := sha256.Sum256(b)
		return "data:image/" + m[1] + ";base64,…sha256:" + hex.EncodeToString(sum[:6])
	})
	return strings.ReplaceAll(page, dir, "$DIR")
}

func (h *harness) read(name string) string {
	h.t.Helper()
	return string(mustRead(h.t, h.path(name)))
}

// TestHTMLSandboxGolden pins the page of a second sandbox run of the
// quickstart, under a fixed clock: the simulation's data is fixed by its
// seed. Its images are pinned by their digests.
func TestHTMLSandboxGolden(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.envs = map[string]string{"PATWATCH_CACHE_DIR": t.TempDir()}
	h.clock.Set(fixedTime)
	b, err := os.ReadFile(filepath.Join("..", "..", "examples", "quickstart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	h.writeSpec(string(b))
	if code, _, stderr := h.run(t.Context(), "apply", "--sandbox"); code != exitOK {
		t.Fatalf("first run: exit %d\n%s", code, stderr)
	}
	h.clock.Advance(6 * time.Hour)
	code, text, stderr := h.run(t.Context(), "apply", "--sandbox", "--format", "html", "--out", h.path("changes.html"))
	if code != exitOK {
		t.Fatalf("second run: exit %d\n%s", code, stderr)
	}
	// The page goes to --out; standard output gets the text report.
	page := h.read("changes.html")
	if !strings.HasPrefix(text, "Apply of ") || strings.Contains(text, "<html") || !strings.Contains(text, "search phone-designs") {
		t.Errorf("standard output is not the text report:\n%.400s", text)
	}
	golden(t, filepath.Join("testdata", "html", "sandbox-second-run.html.golden"), normalizePage(page, h.dir))

	for alt, p := range pictures(page) {
		if strings.HasPrefix(alt, "query image") && !p.embedded {
			t.Errorf("%s is missing: %s", alt, p.missing)
		}
	}
	if n := strings.Count(page, "<li class=\"card\">\n<img"); n != 4 {
		t.Errorf("%d new hits show their drawing, want the 4 new of the quickstart's second run", n)
	}
	if !strings.Contains(page, "Simulated.") {
		t.Error("the sandbox's page does not say it is simulated")
	}
	if !strings.Contains(page, `<a href="reports/cn108977442b.pdf">`) {
		t.Error("the finished report has no relative link beside the page")
	}
}

// imageServer serves drawings whose answers a test chooses per path.
type imageServer struct {
	*httptest.Server
	broken atomic.Bool // when set, every path answers as its name says (404, html, slow)
}

func newImageServer(t *testing.T) *imageServer {
	s := &imageServer{}
	s.broken.Store(true)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.broken.Load() {
			switch {
			case strings.Contains(r.URL.Path, "404"):
				http.NotFound(w, r)
				return
			case strings.Contains(r.URL.Path, "html"):
				w.Header().Set("Content-Type", "image/png")
				w.Write([]byte("<html><body>Access denied</body></html>"))
				return
			case strings.Contains(r.URL.Path, "slow"):
				<-r.Context().Done() // until the fetch gives up
				return
			}
		}
		w.Header().Set("Content-Type", "image/png")
		w.Write(fake.Drawing(r.URL.Path))
	}))
	t.Cleanup(s.Close)
	return s
}

// TestHTMLDrawingFailures checks that drawings that answer 404, a body that
// is not an image, or nothing at all fail neither the run nor the page:
// they are shown as missing, recorded, and fetched by the next run that
// sees their hit.
func TestHTMLDrawingFailures(t *testing.T) {
	h := newHarness(t, fake.Options{})
	imgs := newImageServer(t)
	// SLOW1 never answers: its fetch fails at this timeout, long enough
	// that the others, answered at once, never meet it on a loaded machine.
	h.tuneDrawings = func(d *drawings.Step) { d.Fetcher.Timeout = 3 * time.Second }
	h.writeSpec(twoSearches)
	hits := func(pns ...string) []fake.Hit {
		out := fakeHits(pns...)
		for i := range out {
			out[i].URL = imgs.URL + "/" + strings.ToLower(out[i].PatentPN) + ".png?X-Amz-Signature=s3cr3t"
		}
		return out
	}
	h.api.SetResults(imgA, -1, hits("A1", "A2")...)
	h.api.SetResults(imgB, -1, hits("B1")...)
	if code, _, stderr := h.run(t.Context(), "apply", "--baseline-drawings", "1"); code != exitOK {
		t.Fatalf("baseline: exit %d\n%s", code, stderr)
	}
	h.api.SetResults(imgA, -1, hits("A1", "A2", "OK1", "404A", "HTML1", "SLOW1")...)
	start := time.Now()
	code, page, stderr := h.run(t.Context(), "apply", "--format", "html")
	if code != exitOK {
		t.Fatalf("a run whose drawings fail: exit %d\n%s", code, stderr)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the run took %s: a slow image server held it up", took)
	}
	if strings.Contains(stderr, "s3cr3t") || strings.Contains(page, "s3cr3t") {
		t.Error("a presigned link reached the log or the page")
	}
	pics := pictures(page)
	want := map[string]string{
		"drawing of OK1":   "",
		"drawing of 404A":  "HTTP 404",
		"drawing of HTML1": "not an image",
		"drawing of SLOW1": "no answer within 3s",
	}
	for alt, reason := range want {
		p, ok := pics[alt]
		switch {
		case !ok:
			t.Errorf("%s is not on the page", alt)
		case reason == "" && !p.embedded:
			t.Errorf("%s is missing: %s", alt, p.missing)
		case reason != "" && (p.embedded || !strings.Contains(p.missing, reason)):
			t.Errorf("%s: embedded %v, missing %q; want missing because %q", alt, p.embedded, p.missing, reason)
		}
	}

	// The image server recovers; the next run that sees the hits fetches
	// their drawings (the hits are no longer new), and show has them all.
	// (Its fetches, beside the run's calls, get the default time: the
	// short one above is for SLOW1.)
	imgs.broken.Store(false)
	h.tuneDrawings = nil
	if code, _, stderr := h.run(t.Context(), "apply"); code != exitOK {
		t.Fatalf("third run: exit %d\n%s", code, stderr)
	}
	code, gallery, stderr := h.run(t.Context(), "show", "--format", "html")
	if code != exitOK {
		t.Fatalf("show: exit %d\n%s", code, stderr)
	}
	pics = pictures(gallery)
	for alt := range want {
		if !pics[alt].embedded {
			t.Errorf("after the image server recovered, %s is still missing: %s", alt, pics[alt].missing)
		}
	}
	if !pics["drawing of A1"].embedded {
		t.Errorf("the best hit of the baseline has no drawing: %+v", pics["drawing of A1"])
	}
	if p := pics["drawing of A2"]; p.embedded || !strings.Contains(p.missing, "below --baseline-drawings") {
		t.Errorf("a baseline hit beyond --baseline-drawings: %+v", p)
	}
}

// TestHTMLDrawingsFromPublicAddressesOnly checks a run as it is outside
// the tests: an image link to loopback or to a cloud's metadata address is
// refused where it would connect and shown as missing with the host that
// was refused; nothing reaches the service. (Redirects are checked the
// same way: package drawings' tests.)
func TestHTMLDrawingsFromPublicAddressesOnly(t *testing.T) {
	h := newHarness(t, fake.Options{})
	var reached atomic.Int32
	local := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		w.Write(fake.Drawing(r.URL.Path))
	}))
	t.Cleanup(local.Close)
	h.tuneDrawings = func(d *drawings.Step) {
		d.Fetcher.Reach = drawings.PublicOnly
		offline := d.Fetcher.Route
		d.Fetcher.Route = func(link *url.URL) *url.URL {
			if link.Hostname() == "169.254.169.254" {
				return link // refused before any packet leaves
			}
			return offline(link)
		}
	}
	h.writeSpec(twoSearches)
	h.api.SetResults(imgA, -1)
	h.api.SetResults(imgB, -1)
	h.apply()
	hits := fakeHits("LOOP1", "META1")
	hits[0].URL = local.URL + "/loop1.png"
	hits[1].URL = "http://169.254.169.254/latest/meta-data/iam/security-credentials/"
	h.api.SetResults(imgA, -1, hits...)
	code, page, stderr := h.run(t.Context(), "apply", "--format", "html")
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	pics := pictures(page)
	for alt, want := range map[string]string{
		"drawing of LOOP1": "127.0.0.1 is a loopback address",
		"drawing of META1": "169.254.169.254 is a link-local address",
	} {
		if p := pics[alt]; p.embedded || !strings.Contains(p.missing, want) {
			t.Errorf("%s: embedded %v, missing %q; want missing because %q", alt, p.embedded, p.missing, want)
		}
	}
	if n := reached.Load(); n != 0 {
		t.Errorf("%d requests reached the service on loopback", n)
	}
}

// TestHTMLDrawingsFetchedDuringTheCalls checks that a search's drawings
// are fetched as soon as it is diffed, while other searches still call the
// API: beta's search is held until alpha's new hit's drawing was fetched,
// which a run that fetched drawings only after its calls would never do.
func TestHTMLDrawingsFetchedDuringTheCalls(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.writeSpec(twoSearches)
	h.api.SetResults(imgA, -1, fakeHits("A1")...)
	h.api.SetResults(imgB, -1, fakeHits("B1")...)
	h.apply()
	h.api.SetResults(imgA, -1, fakeHits("A1", "A2")...)
	fetched := func() bool {
		for _, r := range h.images.Requests() {
			if strings.HasSuffix(r.Path, "/A2.png") {
				return true
			}
		}
		return false
	}
	var overlapped atomic.Bool
	h.setGate(func(r *http.Request) {
		if !strings.Contains(readBody(r), "b.png") {
			return
		}
		for deadline := time.Now().Add(20 * time.Second); !fetched() && time.Now().Before(deadline); {
			time.Sleep(2 * time.Millisecond)
		}
		overlapped.Store(fetched())
	})
	code, rep, stderr := h.apply()
	if code != exitOK || len(rep.Searches) != 2 || len(rep.Searches[0].New) != 1 {
		t.Fatalf("exit %d, %+v\n%s", code, rep.Searches, stderr)
	}
	if !overlapped.Load() {
		t.Error("alpha's new drawing was not fetched while beta's search was held")
	}
	if e := h.drawingsIndex().Searches["alpha"].Hits["A2"]; e == nil || e.Drawing.IsZero() {
		t.Errorf("A2's drawing was not kept: %+v", e)
	}
}

// TestHTMLDrawingsDir checks --drawings-dir and PATWATCH_DRAWINGS_DIR for a
// spec directory where nothing can be written (a ConfigMap): without them
// a run warns once what to set, and keeps no drawing; with them the
// drawings are kept there, and plan, apply and show find them.
func TestHTMLDrawingsDir(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.writeSpec(twoSearches)
	mustWrite(t, h.path(".patwatch"), "not a directory: .patwatch/drawings cannot be made here") // as read-only as it gets for root
	h.api.SetResults(imgA, -1, fakeHits("A1")...)
	h.api.SetResults(imgB, -1, fakeHits("B1")...)
	code, _, stderr := h.run(t.Context(), "apply")
	if code != exitOK || strings.Count(stderr, "PATWATCH_DRAWINGS_DIR") != 1 || !strings.Contains(stderr, "--drawings-dir") {
		t.Fatalf("apply into an unwritable drawings directory: exit %d\n%s", code, stderr)
	}

	dir := filepath.Join(t.TempDir(), "drawings")
	h.envs["PATWATCH_DRAWINGS_DIR"] = dir
	h.api.SetResults(imgA, -1, fakeHits("A1", "A2")...)
	code, page, stderr := h.run(t.Context(), "apply", "--format", "html")
	if code != exitOK || strings.Contains(stderr, "PATWATCH_DRAWINGS_DIR") {
		t.Fatalf("apply with PATWATCH_DRAWINGS_DIR: exit %d\n%s", code, stderr)
	}
	if p := pictures(page)["drawing of A2"]; !p.embedded {
		t.Errorf("the page lacks the new drawing: %s", p.missing)
	}
	if _, err := os.Stat(filepath.Join(dir, "patwatch.state.json", "index.json")); err != nil {
		t.Errorf("the drawings are not in PATWATCH_DRAWINGS_DIR: %v", err)
	}
	delete(h.envs, "PATWATCH_DRAWINGS_DIR")
	code, gallery, stderr := h.run(t.Context(), "show", "--format", "html", "--drawings-dir", dir)
	if p := pictures(gallery)["drawing of A2"]; code != exitOK || !p.embedded {
		t.Errorf("show --drawings-dir: exit %d, A2 %+v\n%s", code, p, stderr)
	}
	h.api.SetResults(imgA, -1, fakeHits("A1", "A2", "A3")...)
	code, page, stderr = h.run(t.Context(), "plan", "--format", "html", "--drawings-dir", dir)
	if p := pictures(page)["query image images.test/a.png"]; code != exitOK || !p.embedded {
		t.Errorf("plan --drawings-dir: exit %d, the kept query image %+v\n%s", code, p, stderr)
	}
}

// TestHTMLBaselineDrawings checks the bound on a baseline's drawings: the
// best ranked --baseline-drawings hits get theirs, and --baseline-drawings
// 0 fetches none (the query image is kept all the same).
func TestHTMLBaselineDrawings(t *testing.T) {
	for _, tc := range []struct {
		bound string
		want  int
	}{{"2", 2}, {"0", 0}, {"20", 3}} {
		t.Run(tc.bound, func(t *testing.T) {
			h := newHarness(t, fake.Options{})
			h.writeSpec(twoSearches)
			h.api.SetResults(imgA, -1, fakeHits("A1", "A2", "A3")...)
			h.api.SetResults(imgB, -1)
			if code, _, stderr := h.run(t.Context(), "apply", "--baseline-drawings", tc.bound); code != exitOK {
				t.Fatalf("exit %d\n%s", code, stderr)
			}
			idx := h.drawingsIndex()
			got := 0
			for pn, e := range idx.Searches["alpha"].Hits {
				if !e.Drawing.IsZero() {
					got++
					if pn == "A3" && tc.want < 3 {
						t.Errorf("the worst ranked hit got a drawing before a better one")
					}
				}
			}
			if got != tc.want {
				t.Errorf("%d drawings kept, want %d", got, tc.want)
			}
			if q := idx.Searches["alpha"].Query.Images; len(q) != 1 || q[0].Thumb.IsZero() {
				t.Errorf("the query image was not kept: %+v", q)
			}
		})
	}
	h := newHarness(t, fake.Options{})
	h.writeSpec(twoSearches)
	if code, _, stderr := h.run(t.Context(), "apply", "--baseline-drawings", "-1"); code != exitError || !strings.Contains(stderr, "must not be negative") {
		t.Errorf("--baseline-drawings -1: exit %d\n%s", code, stderr)
	}
}

func (h *harness) drawingsIndex() *drawings.Index {
	h.t.Helper()
	b, err := os.ReadFile(h.path(".patwatch/drawings/patwatch.state.json/index.json"))
	if err != nil {
		h.t.Fatal(err)
	}
	var x drawings.Index
	if err := json.Unmarshal(b, &x); err != nil {
		h.t.Fatal(err)
	}
	return &x
}

// TestHTMLPlanKeepsNothing checks that plan --format html shows its new
// hits' drawings, fetched for the page only, and writes nothing at all.
func TestHTMLPlanKeepsNothing(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.writeSpec(twoSearches)
	h.api.SetResults(imgA, -1, fakeHits("A1")...)
	h.api.SetResults(imgB, -1, fakeHits("B1")...)
	h.apply()
	h.api.SetResults(imgA, -1, fakeHits("A1", "A9")...)
	before := h.files()
	code, page, stderr := h.run(t.Context(), "plan", "--format", "html")
	if code != exitOK {
		t.Fatalf("plan: exit %d\n%s", code, stderr)
	}
	if p := pictures(page)["drawing of A9"]; !p.embedded {
		t.Errorf("the plan's new hit has no drawing: %s", p.missing)
	}
	if after := h.files(); len(after) != len(before) {
		t.Errorf("plan wrote files: %v → %v", keys(before), keys(after))
	}
	for k, v := range before {
		if h.files()[k] != v {
			t.Errorf("plan changed %s", k)
		}
	}
	// Offline, it fetches nothing: the query images come from the cache.
	requests := len(h.images.Requests())
	code, page, stderr = h.run(t.Context(), "plan", "--offline", "--format", "html")
	if code != exitOK {
		t.Fatalf("plan --offline: exit %d\n%s", code, stderr)
	}
	if n := len(h.images.Requests()); n != requests {
		t.Errorf("plan --offline fetched %d images", n-requests)
	}
	if p := pictures(page)["query image images.test/a.png"]; !p.embedded {
		t.Errorf("the offline plan lacks the kept query image: %s", p.missing)
	}
}

// TestHTMLDrawingsOutliveLinksAndRetention checks that a dropped hit is
// shown with the drawing kept while it was seen (its link long expired),
// and that drawings of hits no search holds go 30 days later.
func TestHTMLDrawingsOutliveLinksAndRetention(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.writeSpec(twoSearches)
	h.api.SetResults(imgA, -1, fakeHits("A1")...)
	h.api.SetResults(imgB, -1, fakeHits("B1")...)
	h.apply()
	h.api.SetResults(imgA, -1, fakeHits("A1", "A2")...)
	h.apply() // A2 is new: its drawing is kept
	h.clock.Advance(8 * 24 * time.Hour)
	h.images.AddFault(fake.Fault{Endpoint: fake.EndpointImage, HTTPStatus: http.StatusForbidden}) // every link expired
	h.api.SetResults(imgA, -1, fakeHits("A1")...)
	code, page, stderr := h.run(t.Context(), "apply", "--format", "html")
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if p := pictures(page)["drawing of A2"]; !p.embedded || !strings.Contains(page, "<h3>Dropped: 1</h3>") {
		t.Errorf("the dropped hit's drawing: %+v", p)
	}

	// beta leaves the spec: its entries go once 30 days have passed.
	h.writeSpec(strings.Split(twoSearches, "  - name: beta")[0])
	h.apply()
	idx := h.drawingsIndex()
	if idx.Searches["beta"] == nil || idx.Searches["beta"].GoneSince.IsZero() {
		t.Fatalf("the removed search's entry: %+v", idx.Searches["beta"])
	}
	dir := h.path(".patwatch/drawings/patwatch.state.json")
	count := func() int {
		entries, _ := os.ReadDir(dir)
		n := 0
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".png") || strings.HasSuffix(e.Name(), ".jpg") {
				n++
			}
		}
		return n
	}
	before := count()
	h.clock.Advance(drawings.Retention)
	h.apply()
	idx = h.drawingsIndex()
	if idx.Searches["beta"] != nil || idx.Searches["alpha"].Hits["A2"] != nil {
		t.Errorf("entries 30 days gone are kept: %+v", idx.Searches)
	}
	if idx.Searches["alpha"].Hits["A1"] == nil {
		t.Error("a hit still held lost its entry")
	}
	if after := count(); after >= before {
		t.Errorf("%d thumbnails before the retention ended, %d after", before, after)
	}
}

// TestHTMLRenameKeepsDrawings checks that a search renamed with its query
// unchanged keeps its drawings.
func TestHTMLRenameKeepsDrawings(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.writeSpec(twoSearches)
	h.api.SetResults(imgA, -1, fakeHits("A1")...)
	h.api.SetResults(imgB, -1, fakeHits("B1")...)
	h.apply()
	h.writeSpec(strings.Replace(twoSearches, "name: alpha", "name: alpha-eu", 1))
	h.images.AddFault(fake.Fault{Endpoint: fake.EndpointImage, HTTPStatus: http.StatusForbidden})
	h.apply()
	code, page, _ := h.run(t.Context(), "show", "--format", "html")
	if p := pictures(page)["drawing of A1"]; code != exitOK || !p.embedded {
		t.Errorf("after the rename, A1's drawing: %+v", p)
	}
}

// TestHTMLWatchRewritesOnePage checks watch --format html: the page at
// --out is the latest run's, and --format html needs --out.
func TestHTMLWatchRewritesOnePage(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.writeSpec(twoSearches)
	h.api.SetResults(imgA, -1, fakeHits("A1")...)
	h.api.SetResults(imgB, -1, fakeHits("B1")...)
	code, _, stderr := h.run(t.Context(), "watch", "--format", "html")
	if code != exitError || !strings.Contains(stderr, "needs --out") {
		t.Errorf("watch --format html without --out: exit %d\n%s", code, stderr)
	}

	ctx, cancel := context.WithCancel(context.Background())
	var stdout, errOut buftest.Buffer
	done := make(chan int)
	go func() {
		done <- h.runTo(ctx, &stdout, &errOut, "watch", "--format", "html", "--out", h.path("latest.html"), "--interval", "1h")
	}()
	waitFor(t, "the first page", func() bool {
		b, _ := os.ReadFile(h.path("latest.html"))
		return strings.Contains(string(b), "</html>")
	})
	h.api.SetResults(imgA, -1, fakeHits("A1", "A7")...)
	h.writeSpec(twoSearches + "# a change that makes a run\n")
	os.WriteFile(h.path("patwatch.yaml"), []byte(strings.Replace(h.read("patwatch.yaml"), "max_results: 50", "max_results: 49", 1)), 0o644)
	waitFor(t, "the second page", func() bool {
		b, _ := os.ReadFile(h.path("latest.html"))
		return strings.Contains(string(b), "rebaselined")
	})
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("watch: exit %d\n%s", code, errOut.String())
	}
	if stdout.String() != "" {
		t.Errorf("watch --format html printed on standard output: %q", stdout.String())
	}
	entries, _ := os.ReadDir(h.dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".html") && e.Name() != "latest.html" {
			t.Errorf("watch wrote another page: %s", e.Name())
		}
	}
}

// TestHTMLDrawingsDiffCleanly checks that a run that finds nothing new
// leaves the drawings directory byte for byte as it was (scores jitter
// between calls; the index keeps the score of first sight), so that it can
// be committed beside the state.
func TestHTMLDrawingsDiffCleanly(t *testing.T) {
	h := newHarness(t, fake.Options{Seed: 1})
	h.writeSpec(twoSearches) // the generated corpus: its scores jitter
	h.apply()
	dir := h.path(".patwatch/drawings")
	snapshot := func() map[string]string {
		out := map[string]string{}
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				b, _ := os.ReadFile(p)
				out[strings.TrimPrefix(p, dir)] = string(b)
			}
			return err
		})
		return out
	}
	before := snapshot()
	if len(before) < 6 { // the index, 2 query images, 2 × 3 drawings
		t.Fatalf("the baseline kept %d files", len(before))
	}
	h.clock.Advance(time.Hour)
	h.apply()
	after := snapshot()
	if len(after) != len(before) {
		t.Errorf("%d files before, %d after", len(before), len(after))
	}
	for k, v := range before {
		if after[k] != v {
			t.Errorf("%s changed in a run that found nothing new", k)
		}
	}
}

// TestHTMLIndexRefilled checks what an apply keeps of the hits it sees
// again: nothing for a hit the drawings index already scores (a run that
// finds nothing new leaves the index as it was), and the score of first
// sight for one it does not, so that a lost or partial index is filled in
// again by the next run, without fetching the drawings of hits that were
// never new.
func TestHTMLIndexRefilled(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.writeSpec(twoSearches)
	h.api.SetResults(imgA, -1, fakeHits("A1", "A2", "A3")...)
	h.api.SetResults(imgB, -1, fakeHits("B1")...)
	if code, _, stderr := h.run(t.Context(), "apply", "--baseline-drawings", "1"); code != exitOK {
		t.Fatalf("baseline: exit %d\n%s", code, stderr)
	}
	indexPath := h.path(".patwatch/drawings/patwatch.state.json/index.json")
	full, err := os.ReadFile(indexPath)
	if err != nil {
		t.Fatal(err)
	}
	scores := map[string]float64{}
	for pn, e := range h.drawingsIndex().Searches["alpha"].Hits {
		scores[pn] = e.Score
	}
	if want := map[string]float64{"A1": 0.95, "A2": 0.94, "A3": 0.93}; !maps.Equal(scores, want) {
		t.Fatalf("the baseline's index scores alpha's hits %v, want %v", scores, want)
	}

	// One hit's entry lost, another's score: the next run fills both in
	// again, and only them.
	idx := h.drawingsIndex()
	delete(idx.Searches["alpha"].Hits, "A2")
	idx.Searches["alpha"].Hits["A3"].Score = 0
	partial, _ := json.MarshalIndent(idx, "", " ")
	if err := os.WriteFile(indexPath, append(partial, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	images := len(h.images.Requests())
	if code, _, stderr := h.run(t.Context(), "apply"); code != exitOK {
		t.Fatalf("apply: exit %d\n%s", code, stderr)
	}
	if got, _ := os.ReadFile(indexPath); !bytes.Equal(got, full) {
		t.Errorf("the index was not filled in as it was:\n%s\nwant\n%s", got, full)
	}
	if n := len(h.images.Requests()) - images; n != 0 {
		t.Errorf("filling the index in fetched %d images", n)
	}
	if e := h.drawingsIndex().Searches["alpha"].Hits["A2"]; e == nil || e.Want || !e.Drawing.IsZero() {
		t.Errorf("A2, never new and ranked below --baseline-drawings: %+v", e)
	}

	// The whole index lost: every score comes back. (The drawings that
	// only the index named go with it: an index is a cache of pictures.)
	if err := os.Remove(indexPath); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := h.run(t.Context(), "apply"); code != exitOK {
		t.Fatalf("apply: exit %d\n%s", code, stderr)
	}
	scores = map[string]float64{}
	for pn, e := range h.drawingsIndex().Searches["alpha"].Hits {
		scores[pn] = e.Score
	}
	if want := map[string]float64{"A1": 0.95, "A2": 0.94, "A3": 0.93}; !maps.Equal(scores, want) {
		t.Errorf("after the index was lost, alpha's hits are scored %v, want %v", scores, want)
	}
}
