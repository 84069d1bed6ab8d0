package main

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/patwatch/patwatch/internal/drawings"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

// newDrawings configures the drawings step of a run on st. The sandbox
// points its fetcher at the simulation (Fetcher.Sandbox).
func newDrawings(e env, f *reconcileFlags, log zerolog.Logger, st *stateStore) *drawings.Step {
	d := &drawings.Step{
		Cache:    st.drawings,
		Baseline: f.baselineDrawings,
		Log:      log,
		Now:      e.now,
	}
	if e.tuneDrawings != nil {
		e.tuneDrawings(d)
	}
	return d
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
func gallery(ctx context.Context, statePath string, st *state.State, cache drawings.Cache, links *spec.Links, sandbox bool, now time.Time) *report.Gallery {
	return &report.Gallery{State: statePath, Serial: st.Serial, PatwatchVersion: version, GeneratedAt: now.UTC().Truncate(time.Second), Simulated: sandbox,
		Searches: drawings.Gallery(ctx, cache, st, links)}
}
