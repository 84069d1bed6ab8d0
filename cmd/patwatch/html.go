package main

import (
	"cmp"
	"context"
	"io"
	"maps"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/patwatch/patwatch/internal/drawings"
	"github.com/patwatch/patwatch/internal/patsnap/fake"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/internal/runner"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

// newDrawings configures the drawings step of a run on st. Image links are
// fetched through route, which the sandbox points at its simulation.
func newDrawings(e env, f *reconcileFlags, st *stateStore, route *imageRoute) *runner.Drawings {
	d := &runner.Drawings{
		Cache:    st.drawings,
		Client:   &http.Client{Transport: route},
		Baseline: f.baselineDrawings,
	}
	if e.tuneDrawings != nil {
		e.tuneDrawings(d)
	}
	return d
}

// imageRoute is the transport of image links. Under --sandbox it sends
// every one to the simulation, which draws a picture for any path (a
// link to another host under /fake-images/remote/<host>/…), so that a
// sandbox run makes no request to the network; otherwise it passes them on.
type imageRoute struct {
	mu   sync.Mutex
	base *url.URL          // the sandbox's API root; nil: no rerouting
	next http.RoundTripper // nil: http.DefaultTransport
}

func (t *imageRoute) sandboxAt(baseURL string) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.base = u
}

func (t *imageRoute) RoundTrip(req *http.Request) (*http.Response, error) {
	t.mu.Lock()
	base, next := t.base, t.next
	t.mu.Unlock()
	if next == nil {
		next = http.DefaultTransport
	}
	if base == nil {
		return next.RoundTrip(req)
	}
	u := *req.URL
	if u.Host != base.Host || !strings.HasPrefix(u.Path, fake.PathImagePrefix) {
		u.Path = fake.PathImagePrefix + "remote/" + req.URL.Host + req.URL.Path
		u.RawPath = ""
	}
	u.Scheme, u.Host = base.Scheme, base.Host
	out := req.Clone(req.Context())
	out.URL, out.Host = &u, ""
	return next.RoundTrip(out)
}

// renderPage writes rep as an HTML page. Finished reports link to their
// files when the page is written inside the state's directory (pagePath,
// empty for standard output, is where): the link is then relative and
// keeps working when the directory is copied or committed.
func renderPage(w io.Writer, rep *report.ChangeReport, page *report.Page, pagePath, filesDir string) error {
	if page == nil {
		page = &report.Page{}
	}
	page.Files = map[string]string{}
	for _, r := range rep.Reports {
		if href := fileLink(pagePath, filesDir, r.File); href != "" {
			page.Files[r.Name] = href
		}
	}
	return report.RenderHTML(w, rep, page)
}

// fileLink is the link from a page at pagePath to file (relative to
// filesDir, or absolute), or "" when either lies outside filesDir.
func fileLink(pagePath, filesDir, file string) string {
	if pagePath == "" || file == "" || filesDir == "" {
		return ""
	}
	pageDir, err := filepath.Abs(filepath.Dir(pagePath))
	if err != nil {
		return ""
	}
	target := file
	if !filepath.IsAbs(target) {
		target = filepath.Join(filesDir, target)
	}
	inside := func(p string) bool {
		rel, err := filepath.Rel(filesDir, p)
		return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
	}
	if !inside(pageDir) || !inside(target) {
		return ""
	}
	rel, err := filepath.Rel(pageDir, target)
	if err != nil {
		return ""
	}
	return filepath.ToSlash(rel)
}

// gallery builds show's HTML page: every hit each search of st holds, with
// the drawings and query images cache keeps, best score first. links fills
// in durable links (from the spec, when it loads); nil: none.
func gallery(ctx context.Context, statePath string, st *state.State, cache runner.DrawingCache, links *spec.Links, sandbox bool, now time.Time) *report.Gallery {
	g := &report.Gallery{State: statePath, Serial: st.Serial, PatwatchVersion: version, GeneratedAt: now.UTC().Truncate(time.Second), Simulated: sandbox}
	idx, err := cache.LoadIndex(ctx)
	if err != nil {
		idx = drawings.NewIndex()
	}
	picture := func(ref drawings.Ref, missing string) report.Picture {
		if ref.IsZero() {
			return report.Picture{Missing: missing}
		}
		t, err := cache.Get(ctx, ref)
		if err != nil {
			return report.Picture{Missing: "drawing lost from the cache"}
		}
		return runner.Picture(t)
	}
	for _, name := range slices.Sorted(maps.Keys(st.Searches)) {
		s := st.Searches[name]
		gs := report.GallerySearch{Name: name, BaselineAt: s.BaselineAt}
		entry := idx.Searches[name]
		if entry != nil {
			gs.Query.Line = entry.Query.Line
			for _, q := range entry.Query.Images {
				missing := "no query image kept"
				if q.Error != "" {
					missing = "query image not fetched: " + q.Error
				}
				gs.Query.Images = append(gs.Query.Images, report.QueryImage{Name: q.Name, Picture: picture(q.Thumb, missing)})
			}
		}
		for pn, h := range s.Hits {
			gh := report.GalleryHit{PatentPN: pn, Title: h.Title, CurrentAssignee: h.CurrentAssignee, Apdt: h.Apdt, Pbdt: h.Pbdt,
				FirstSeen: h.FirstSeen, Missing: h.Missing}
			if links != nil {
				gh.Link = links.PatentURL(pn, h.PatentID)
			}
			missing := "no drawing kept"
			var ref drawings.Ref
			if entry != nil {
				if e := entry.Hits[pn]; e != nil {
					gh.Score, ref = e.Score, e.Drawing
					switch {
					case e.Error != "":
						missing = "drawing not fetched: " + e.Error
					case !e.Want:
						missing = runner.NotKept
					}
				}
			}
			gh.Drawing = picture(ref, missing)
			gs.Hits = append(gs.Hits, gh)
		}
		slices.SortFunc(gs.Hits, func(a, b report.GalleryHit) int {
			return cmp.Or(cmp.Compare(b.Score, a.Score), b.FirstSeen.Compare(a.FirstSeen), cmp.Compare(a.PatentPN, b.PatentPN))
		})
		g.Searches = append(g.Searches, gs)
	}
	return g
}
