package main

import (
	"flag"
	"io"
	"path/filepath"
	"strings"

	"github.com/patwatch/patwatch/internal/report"
)

// drawingsDirVar registers --drawings-dir; PATWATCH_DRAWINGS_DIR is its
// default, read where the flags are checked.
func drawingsDirVar(fs *flag.FlagSet, dir *string) {
	fs.StringVar(dir, "drawings-dir", "", "the `DIR` the drawings of HTML reports are kept in (default: $PATWATCH_DRAWINGS_DIR, else .patwatch/drawings/ beside the state)")
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
