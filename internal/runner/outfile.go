package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/patwatch/patwatch/internal/hint"
	"github.com/patwatch/patwatch/internal/suggest"
	"github.com/patwatch/patwatch/spec"
)

// Kept is what the runs on a store read or keep besides the spec: the
// store's own files, the downloaded reports and the drawings.
type Kept struct {
	Store interface {
		// Reserved reports whether p is the state or a file kept
		// beside it (store.Store.Reserved).
		Reserved(p string, aux ...string) bool
	}
	ReportsDir  string // "": no report is downloaded
	DrawingsDir string
}

// CheckOut refuses an --out that names a file the run reads or keeps: the
// spec, one of its local images, the state or a file beside it (backup,
// lock, side files), a downloaded report or the drawings. The change
// report written there would destroy it.
func CheckOut(out string, sp *spec.Spec, k Kept) error {
	if out == "" {
		return nil
	}
	what := reservedWhat(out, sp, k)
	if what == "" {
		return nil
	}
	return hint.Wrap(fmt.Errorf("--out %s is %s: writing the change report there would destroy it; nothing was run", out, what),
		"name another file for the change report, such as --out change.md")
}

// reservedWhat says what the file p is when the runs of sp read or keep
// it; "" for any other file.
func reservedWhat(p string, sp *spec.Spec, k Kept) string {
	what := ""
	if sp.Path != "" && samePath(p, sp.Path) {
		what = "the spec"
	}
	for _, s := range sp.Searches {
		for _, img := range s.Images {
			if what == "" && img.Local() && samePath(p, img.Path) {
				what = "an image of search " + s.Name
			}
		}
	}
	if what == "" && k.Store.Reserved(p, SandboxAux) {
		what = "the state file or a file patwatch keeps beside it"
	}
	for _, r := range sp.Reports {
		if what == "" && k.ReportsDir != "" && samePath(p, filepath.Join(k.ReportsDir, r.Name+r.Ext())) {
			what = "the downloaded file of report " + r.Name
		}
	}
	if d := k.DrawingsDir; what == "" && insideDir(p, d) {
		what = "in " + d + ", where patwatch keeps the drawings of the HTML report"
	}
	return what
}

// insideDir reports whether the file p is inside dir (or dir itself),
// links in either resolved where they exist.
func insideDir(p, dir string) bool {
	resolve := func(p string) string {
		abs, err := filepath.Abs(p)
		if err != nil {
			return p
		}
		// The deepest existing ancestor's links resolved, the rest kept.
		rest := ""
		for cur := abs; ; cur = filepath.Dir(cur) {
			if real, err := filepath.EvalSymlinks(cur); err == nil {
				return filepath.Join(real, rest)
			}
			if filepath.Dir(cur) == cur {
				return abs
			}
			rest = filepath.Join(filepath.Base(cur), rest)
		}
	}
	rel, err := filepath.Rel(resolve(dir), resolve(p))
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// samePath reports whether a and b name the same file: the same absolute
// path, or (when both exist) the same file through links.
func samePath(a, b string) bool {
	aa, err1 := filepath.Abs(a)
	ab, err2 := filepath.Abs(b)
	if err1 == nil && err2 == nil && aa == ab {
		return true
	}
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}

// CheckResubmit refuses a --resubmit name that is no report of the spec.
func CheckResubmit(names []string, sp *spec.Spec) error {
	var reports []string
	for _, r := range sp.Reports {
		reports = append(reports, r.Name)
	}
	for _, n := range names {
		if !slices.Contains(reports, n) {
			advice := "name a report of the spec"
			if best := suggest.Closest(n, reports); best != "" {
				advice = "did you mean --resubmit " + best + "?"
			}
			return hint.Wrap(fmt.Errorf("--resubmit %s: the spec has no report of that name", n), advice)
		}
	}
	return nil
}

// CheckRebaseline refuses a --rebaseline name that is no search of the
// spec.
func CheckRebaseline(names []string, sp *spec.Spec) error {
	var searches []string
	for _, s := range sp.Searches {
		searches = append(searches, s.Name)
	}
	for _, n := range names {
		if !slices.Contains(searches, n) {
			advice := "name a search of the spec"
			if best := suggest.Closest(n, searches); best != "" {
				advice = "did you mean --rebaseline " + best + "?"
			}
			return hint.Wrap(fmt.Errorf("--rebaseline %s: the spec has no search of that name", n), advice)
		}
	}
	return nil
}
