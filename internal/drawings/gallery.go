package drawings

import (
	"cmp"
	"context"
	"maps"
	"slices"

	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

// Gallery returns the searches of show's HTML page: every hit each search
// of st holds, with the drawings and query images cache keeps, best score
// first. links fills in durable links (from the spec, when it loads); nil:
// none.
func Gallery(ctx context.Context, cache Cache, st *state.State, links *spec.Links) []report.GallerySearch {
	idx, err := cache.LoadIndex(ctx)
	if err != nil {
		idx = NewIndex()
	}
	picture := func(ref Ref, missing string) report.Picture {
		if ref.IsZero() {
			return report.Picture{Missing: missing}
		}
		t, err := cache.Get(ctx, ref)
		if err != nil {
			return report.Picture{Missing: "drawing lost from the cache"}
		}
		return Picture(t)
	}
	var out []report.GallerySearch
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
			var ref Ref
			if entry != nil {
				if e := entry.Hits[pn]; e != nil {
					gh.Score, ref = e.Score, e.Drawing
					switch {
					case e.Error != "":
						missing = "drawing not fetched: " + e.Error
					case !e.Want:
						missing = NotKept
					}
				}
			}
			gh.Drawing = picture(ref, missing)
			gs.Hits = append(gs.Hits, gh)
		}
		slices.SortFunc(gs.Hits, func(a, b report.GalleryHit) int {
			return cmp.Or(cmp.Compare(b.Score, a.Score), b.FirstSeen.Compare(a.FirstSeen), cmp.Compare(a.PatentPN, b.PatentPN))
		})
		out = append(out, gs)
	}
	return out
}
