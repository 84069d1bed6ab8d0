package watch

import (
	"slices"

	"github.com/patwatch/patwatch/spec"
)

// Touched names the entries that a change of the spec from old to new
// touches, in name order: searches and reports added or removed (a rename
// is both: the reconciler pairs them), searches whose query fingerprint,
// drop_after, suspend or allow_mass_drop changed, and reports whose
// request (patent, format, logo) or suspend changed. A change that touches
// none of these (a comment, white space, the order of keys or of entries,
// the spec's interval, its api, links or notify settings) touches nothing.
// A search's own interval is its schedule, not its definition: changing it
// moves the search's next refresh and calls nothing now.
func Touched(old, new *spec.Spec) []string {
	var out []string
	before := map[string]spec.Search{}
	for _, s := range old.Searches {
		before[s.Name] = s
	}
	for _, s := range new.Searches {
		o, ok := before[s.Name]
		delete(before, s.Name)
		if !ok || o.Fingerprint != s.Fingerprint || o.DropAfter != s.DropAfter || o.Suspend != s.Suspend || o.AllowMassDrop != s.AllowMassDrop {
			out = append(out, s.Name)
		}
	}
	for name := range before {
		out = append(out, name)
	}
	reports := map[string]spec.Report{}
	for _, r := range old.Reports {
		r.Line = 0
		reports[r.Name] = r
	}
	for _, r := range new.Reports {
		o, ok := reports[r.Name]
		delete(reports, r.Name)
		r.Line = 0
		if !ok || o != r {
			out = append(out, r.Name)
		}
	}
	for name := range reports {
		out = append(out, name)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
