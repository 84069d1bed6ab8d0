package main

import (
	"context"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/patwatch/patwatch/internal/patsnap/fake"
)

// chromiumPath is Debian's chromium, which .ci/run installs.
const chromiumPath = "/usr/bin/chromium"

// artifactsEnv names a directory where the browser test keeps its
// screenshots; unset, they stay in the test's temporary directory. The
// README's screenshot is made with it (see README, "The HTML report").
const artifactsEnv = "PATWATCH_TEST_ARTIFACTS"

// browser starts headless Chromium with the flags that work on the
// project's machine and a fresh profile. Without Chromium the test is
// skipped, except in CI, which always has it.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath
	if _, err := os.Stat(path); err != nil {
		if p, lerr := exec.LookPath("chromium"); lerr == nil {
			path = p
		} else {
			if os.Getenv("CI") != "" {
				t.Fatalf("no Chromium at %s or on PATH, and CI must run the browser test: %v (.ci/run installs Debian's chromium)", chromiumPath, err)
			}
			t.Skipf("no Chromium at %s or on PATH: the HTML report is not checked in a browser (apt-get install -y chromium)", chromiumPath)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	actx, acancel := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1100, 900),
	)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	if err := chromedp.Do(bctx); err != nil { // start it: each tab is then a tab of this browser
		t.Fatalf("starting %s: %v", path, err)
	}
	return bctx
}

// pageCheck is what a page looks like in the browser.
type pageCheck struct {
	Images []struct {
		Alt          string `json:"alt"`
		NaturalWidth int    `json:"naturalWidth"`
	} `json:"images"`
	Missing  []string `json:"missing"` // aria-labels of the pictures shown as missing
	Scripts  int      `json:"scripts"`
	Pwned    bool     `json:"pwned"`
	Styled   bool     `json:"styled"`   // the style sheet applied under the CSP
	Overflow bool     `json:"overflow"` // wider than the viewport
	Elements int      `json:"elements"`
	Columns  int      `json:"columns"` // of the first grid of cards
}

const inspect = `(() => ({
	images: Array.from(document.images, i => ({alt: i.alt, naturalWidth: i.naturalWidth})),
	missing: Array.from(document.querySelectorAll('.missing'), e => e.getAttribute('aria-label')),
	scripts: document.scripts.length,
	pwned: window.pwned === true,
	styled: getComputedStyle(document.body).marginTop === '0px', // browsers put 8px there
	overflow: document.documentElement.scrollWidth > window.innerWidth,
	elements: document.querySelectorAll('*').length,
	columns: (() => { const c = document.querySelector('.cards'); return c ? getComputedStyle(c).gridTemplateColumns.split(' ').length : 0 })(),
}))()`

// open loads the page at path with the network off, in a viewport width
// pixels wide (for print media when print is set), and returns what it
// shows, the URLs it requested (none but itself may be asked for), and a
// full screenshot.
func open(t *testing.T, ctx context.Context, path string, width int64, print bool) (pageCheck, []string, []byte) {
	t.Helper()
	var mu sync.Mutex
	var requests []string
	if err := chromedp.Listen(ctx, func(ev any) {
		if ev, ok := ev.(*network.EventRequestWillBeSent); ok {
			mu.Lock()
			requests = append(requests, ev.Request.URL)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
		MatchedNetworkConditions: []*network.Conditions{{Offline: true, DownloadThroughput: -1, UploadThroughput: -1}},
	}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 900)); err != nil {
		t.Fatal(err)
	}
	if print {
		if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"}); err != nil {
			t.Fatal(err)
		}
	}
	u := (&url.URL{Scheme: "file", Path: path}).String()
	if err := chromedp.Do(ctx, chromedp.Navigate(u)); err != nil {
		t.Fatal(err)
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[pageCheck](inspect))
	if err != nil {
		t.Fatal(err)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	var left []string
	for _, r := range requests {
		if r != u && !strings.HasPrefix(r, "data:") {
			left = append(left, r)
		}
	}
	return got, left, shot
}

// keepArtifact writes a screenshot under the test's temporary directory, or
// under $PATWATCH_TEST_ARTIFACTS when that is set, and says where.
func keepArtifact(t *testing.T, name string, b []byte) {
	t.Helper()
	dir := os.Getenv(artifactsEnv)
	if dir == "" {
		dir = filepath.Join(t.TempDir(), "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", p)
}

// TestHTMLInBrowser opens the HTML pages in headless Chromium with the
// network off: every query image and every new hit's drawing has loaded, no
// request left the page, the style sheet applied under the page's CSP, and
// titles made of markup neither run nor add an element. A screenshot of
// each page is kept.
func TestHTMLInBrowser(t *testing.T) {
	ctx := browser(t)

	t.Run("sandbox", func(t *testing.T) {
		h := newHarness(t, fake.Options{})
		h.envs = map[string]string{"PATWATCH_CACHE_DIR": t.TempDir()}
		// As a user's first runs keep them, the baselines' 100 best
		// drawings (the README's screenshots are of this page); under the
		// race detector, which does not look at a browser, only 3.
		h.allDrawings = !raceEnabled
		h.clock.Set(fixedTime)
		b, err := os.ReadFile(filepath.Join("..", "..", "examples", "quickstart.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		// Run from the spec's directory, as the README's command does, so
		// that the page names the spec as a user sees it.
		if err := os.WriteFile(h.path("quickstart.yaml"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Chdir(h.dir)
		spec := []string{"-f", "quickstart.yaml", "--state", "patwatch.state.json"}
		if code, _, stderr := h.run(t.Context(), append([]string{"apply", "--sandbox"}, spec...)...); code != exitOK {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		h.clock.Advance(6 * time.Hour)
		page := h.path("changes.html")
		if code, _, stderr := h.run(t.Context(), append([]string{"apply", "--sandbox", "--format", "html", "--out", "changes.html"}, spec...)...); code != exitOK {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		for _, view := range []struct {
			name    string
			width   int64
			print   bool
			columns int
		}{
			{"html-report.png", 1100, false, 4},
			{"html-report-phone.png", 390, false, 2},
			{"html-report-print.png", 718, true, 3}, // A4 less 2 cm margins, at 96 dpi
		} {
			got, left, shot := open(t, tab(t, ctx), page, view.width, view.print)
			checkLoaded(t, got, left, page)
			if got.Overflow {
				t.Errorf("%s: the page is wider than %d px", view.name, view.width)
			}
			if got.Columns != view.columns {
				t.Errorf("%s: the cards are in %d columns, want %d", view.name, got.Columns, view.columns)
			}
			keepArtifact(t, view.name, shot)
		}
		// The gallery marks the hits the decisions file decides, each on
		// its card as the report page does.
		var pns []string
		for pn := range h.state().Searches["phone-designs"].Hits {
			pns = append(pns, pn)
		}
		slices.Sort(pns)
		decided := "version: 1\ndecisions:\n  " + pns[0] + ": {verdict: relevant}\n  " + pns[1] + ": {verdict: not_relevant, searches: [phone-designs]}\n"
		if err := os.WriteFile(h.path("quickstart.decisions.yaml"), []byte(decided), 0o644); err != nil {
			t.Fatal(err)
		}
		if code, _, stderr := h.run(t.Context(), append([]string{"show", "--format", "html", "--out", "gallery.html"}, spec...)...); code != exitOK {
			t.Fatalf("show: exit %d\n%s", code, stderr)
		}
		tb := tab(t, ctx)
		got, left, shot := open(t, tb, h.path("gallery.html"), 1100, false)
		checkLoaded(t, got, left, h.path("gallery.html"))
		if want := 2 + 4 + 3 + 3; raceEnabled && len(got.Images) != want || !raceEnabled && len(got.Images) != 2+50+74 {
			t.Errorf("the gallery shows %d drawings and query images", len(got.Images))
		}
		keepArtifact(t, "html-gallery.png", shot)
		badges, err := chromedp.Run(tb, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('#search-phone-designs .card .decision'), e => `+
			`(e.offsetWidth > 0 ? '' : 'hidden ') + e.closest('.card').querySelector('.pn').textContent + ' ' + e.textContent).sort()`))
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{pns[0] + " decision: relevant", pns[1] + " decision: not_relevant"}; !slices.Equal(badges, want) {
			t.Errorf("the gallery's decision badges: %q, want %q", badges, want)
		}
	})

	t.Run("hostile titles", func(t *testing.T) {
		h := newHarness(t, fake.Options{})
		h.writeSpec(twoSearches)
		h.api.SetResults(imgA, -1, fakeHits("A1")...)
		h.api.SetResults(imgB, -1)
		h.apply()
		evil := fakeHits("A1", "X1", "X2", "X3")
		evil[1].Title = `<img src=x onerror="window.pwned=true">`
		evil[1].CurrentAssignee = `<svg onload="window.pwned=true">`
		evil[2].Title = `</style><script>window.pwned=true</script><p style="display:none">`
		evil[3].Title = `"><img src=x onerror=window.pwned=true>`
		evil[3].PatentPN = `X3"><script>window.pwned=true</script>`
		h.api.SetResults(imgA, -1, evil...)
		page := h.path("hostile.html")
		if code, _, stderr := h.run(t.Context(), "apply", "--format", "html", "--out", page); code != exitOK {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		got, left, shot := open(t, tab(t, ctx), page, 1100, false)
		keepArtifact(t, "html-hostile.png", shot)
		checkLoaded(t, got, left, page)
		if len(got.Images) != 2+3 {
			t.Errorf("%d images, want the 2 query images and the 3 new hits' drawings", len(got.Images))
		}
		if got.Pwned || got.Scripts != 0 {
			t.Errorf("a title ran: pwned %v, %d scripts", got.Pwned, got.Scripts)
		}
		// The CSP is enforced: a style sheet that is not the one its hash
		// names does not apply.
		b, _ := os.ReadFile(page)
		tampered := h.path("tampered.html")
		os.WriteFile(tampered, []byte(strings.Replace(string(b), "body{margin:0;", "body{margin:0 ;", 1)), 0o644)
		if got, _, _ := open(t, tab(t, ctx), tampered, 1100, false); got.Styled {
			t.Error("a style sheet the CSP does not name applied")
		}
		// The same page with plain titles has as many elements: the hostile
		// ones added none.
		for i := 1; i < len(evil); i++ {
			evil[i].Title, evil[i].CurrentAssignee = "plain", "plain"
		}
		evil[3].PatentPN = "X3"
		h2 := newHarness(t, fake.Options{})
		h2.writeSpec(twoSearches)
		h2.api.SetResults(imgA, -1, fakeHits("A1")...)
		h2.api.SetResults(imgB, -1)
		h2.apply()
		h2.api.SetResults(imgA, -1, evil...)
		plain := h2.path("plain.html")
		h2.run(t.Context(), "apply", "--format", "html", "--out", plain)
		want, _, _ := open(t, tab(t, ctx), plain, 1100, false)
		if got.Elements != want.Elements {
			t.Errorf("the hostile page has %d elements, the plain one %d: a title added markup", got.Elements, want.Elements)
		}
	})
}

// tab opens a new tab of the browser.
func tab(t *testing.T, browser context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(func() {
		if err := chromedp.Cancel(ctx); err != nil && !errors.Is(err, context.Canceled) {
			t.Log(err)
		}
		cancel()
	})
	return ctx
}

// checkLoaded asserts that every image of the page at path loaded (as many
// as its HTML embeds), that every query image and every new hit's drawing
// is among them, that nothing else was requested, and that the style sheet
// applied.
func checkLoaded(t *testing.T, got pageCheck, left []string, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	embedded := len(imgTag.FindAllString(html, -1))
	if len(got.Images) != embedded || embedded == 0 {
		t.Errorf("the browser shows %d images, the page embeds %d", len(got.Images), embedded)
	}
	for _, missing := range []string{`<figure><div class="pic missing"`, `class="pic missing new"`} { // a query image, a new hit's drawing
		if strings.Contains(html, missing) {
			t.Errorf("the page shows a query image or a new hit's drawing as missing: %v", got.Missing)
		}
	}
	for _, img := range got.Images {
		if img.NaturalWidth == 0 {
			t.Errorf("%q did not load", img.Alt)
		}
	}
	if len(left) > 0 {
		t.Errorf("requests left the page: %v", left)
	}
	if !got.Styled {
		t.Error("the style sheet did not apply: the CSP refused it")
	}
}
