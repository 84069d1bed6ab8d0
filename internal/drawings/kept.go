package drawings

import (
	"context"

	"github.com/patwatch/patwatch/internal/report"
)

// Kept is what the drawings step kept of each hit (its score when first
// seen and its drawing), read back for a page made after the runs: the
// inbox's (it implements inbox.Kept).
type Kept struct {
	cache Cache
	idx   *Index
}

// LoadKept reads the index of cache; an index that cannot be read is an
// empty one, and every hit is then shown without a score or a drawing.
func LoadKept(ctx context.Context, cache Cache) *Kept {
	idx, err := cache.LoadIndex(ctx)
	if err != nil {
		idx = NewIndex()
	}
	return &Kept{cache: cache, idx: idx}
}

func (k *Kept) hit(search, pn string) *Hit {
	if s := k.idx.Searches[search]; s != nil {
		return s.Hits[pn]
	}
	return nil
}

// Score is the hit's score when first seen; 0 when none was kept.
func (k *Kept) Score(search, pn string) float64 {
	if h := k.hit(search, pn); h != nil {
		return h.Score
	}
	return 0
}

// Drawing is the hit's kept drawing, or why there is none.
func (k *Kept) Drawing(ctx context.Context, search, pn string) report.Picture {
	h := k.hit(search, pn)
	switch {
	case h == nil:
		return report.Picture{Missing: "no drawing kept"}
	case h.Error != "":
		return report.Picture{Missing: "drawing not fetched: " + h.Error}
	case h.Drawing.IsZero() && !h.Want:
		return report.Picture{Missing: NotKept}
	case h.Drawing.IsZero():
		return report.Picture{Missing: "no drawing kept"}
	}
	t, err := k.cache.Get(ctx, h.Drawing)
	if err != nil {
		return report.Picture{Missing: "drawing lost from the cache"}
	}
	return Picture(t)
}
