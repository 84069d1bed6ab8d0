package drawings

import (
	"context"
	"sync"

	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/spec"
)

// NotKept is why a hit that was never new has no drawing, as a run's page
// and show's gallery say it.
const NotKept = "no drawing kept: ranked below --baseline-drawings at its baseline"

// Picture is the picture a page shows of thumbnail t.
func Picture(t Thumb) report.Picture {
	return report.Picture{Image: &report.Image{MediaType: t.MediaType(), Data: t.Data}}
}

// Plan returns the pictures of a plan's page: those kept already, and the
// new hits' and new query images' fetched now, in memory only. A plan
// keeps nothing; an offline plan fetches nothing.
func (s *Step) Plan(ctx context.Context, sp *spec.Spec, rep *report.ChangeReport) *report.Page {
	idx, err := s.Cache.LoadIndex(ctx)
	if err != nil {
		s.Log.Debug().Err(err).Msg("the drawings index is unreadable; the plan fetches what it shows")
		idx = NewIndex()
	}
	fresh := map[string]fetched{} // written by the pool's callbacks, one at a time
	keep := func(key string) func(fetched) {
		return func(f fetched) { fresh[key] = f }
	}
	p := s.newPool(ctx, nil)
	for _, c := range rep.Searches {
		entry := idx.Searches[c.Name]
		for _, h := range c.New {
			if entry != nil && entry.Hits[h.PatentPN] != nil && !entry.Hits[h.PatentPN].Drawing.IsZero() {
				continue
			}
			p.fetch(h.ImageURL, Validators{}, keep(hitKey(c.Name, h.PatentPN)))
		}
	}
	for _, q := range sp.Searches {
		entry := idx.Searches[q.Name]
		for _, img := range q.Images {
			key, _ := queryKey(img)
			switch {
			case queryThumb(entry, key) != nil:
			case img.Local():
				p.thumbnail(img.Path, keep(key))
			case !rep.Offline: // an offline plan makes no request at all
				p.fetch(img.URL, Validators{}, keep(key))
			}
		}
	}
	budget := s.Budget
	if budget <= 0 {
		budget = DefaultBudget
	}
	p.finish(budget)
	return s.page(ctx, sp, rep, idx, fresh)
}

// Pages returns what gathers the pictures of the pages of change reports
// that show only the searches named (the e-mails of an outbox), from what
// is kept. It is called from one goroutine per channel. The index is read
// once, by the first call, and only the entries of the searches named: a
// page shows no other, and the whole index of a large state is tens of
// megabytes.
func (s *Step) Pages(ctx context.Context, sp *spec.Spec, searches []string) func(*report.ChangeReport) *report.Page {
	index := sync.OnceValue(func() *Index {
		named := map[string]bool{}
		for _, n := range searches {
			named[n] = true
		}
		idx := NewIndex()
		if len(named) == 0 {
			return idx
		}
		err := s.Cache.EachSearch(ctx, func(name string, e *Search) error {
			if named[name] {
				idx.Searches[name] = e
			}
			return nil
		})
		if err != nil {
			s.Log.Debug().Err(err).Msg("the drawings index is unreadable; e-mails go without pictures")
			return NewIndex()
		}
		return idx
	})
	return func(rep *report.ChangeReport) *report.Page {
		return s.page(ctx, sp, rep, index(), nil)
	}
}

// page gathers the pictures of rep's page from the cache and from fresh,
// the thumbnails a plan made (by hitKey or query key).
func (s *Step) page(ctx context.Context, sp *spec.Spec, rep *report.ChangeReport, idx *Index, fresh map[string]fetched) *report.Page {
	pg := pictures{step: s, ctx: ctx, fresh: fresh}
	p := &report.Page{Queries: map[string]report.Query{}, Drawings: map[string]map[string]report.Picture{}}
	// The queries of the searches rep shows, not the spec's whole list:
	// an e-mail's page shows the few searches its events name.
	inRep := make(map[string]bool, len(rep.Searches))
	for _, c := range rep.Searches {
		inRep[c.Name] = true
	}
	for _, q := range sp.Searches {
		if inRep[q.Name] {
			p.Queries[q.Name] = pg.query(q, idx.Searches[q.Name])
		}
	}
	for _, c := range rep.Searches {
		pics := map[string]report.Picture{}
		entry := idx.Searches[c.Name]
		for _, hits := range [][]report.HitChange{c.New, c.Dropped} {
			for _, h := range hits {
				pics[h.PatentPN] = pg.hit(c.Name, h.PatentPN, entry)
			}
		}
		p.Drawings[c.Name] = pics
	}
	return p
}

// pictures reads the pictures of one page.
type pictures struct {
	step  *Step
	ctx   context.Context
	fresh map[string]fetched
}

// kept is the picture of the kept thumbnail ref.
func (pg pictures) kept(ref Ref) report.Picture {
	t, err := pg.step.Cache.Get(pg.ctx, ref)
	if err != nil {
		pg.step.Log.Debug().Err(err).Msg("a kept drawing is unreadable")
		return report.Picture{Missing: "drawing lost from the cache; fetched again while the hit lives"}
	}
	return Picture(t)
}

// fromFresh is the picture a plan made under key, if it tried.
func (pg pictures) fromFresh(key string) (report.Picture, bool) {
	f, ok := pg.fresh[key]
	switch {
	case !ok:
		return report.Picture{}, false
	case f.err != nil:
		return report.Picture{Missing: "not fetched: " + f.err.Error()}, true
	}
	return Picture(f.thumb), true
}

// query is what a page shows of the query of search q.
func (pg pictures) query(q spec.Search, entry *Search) report.Query {
	out := report.Query{Line: queryLine(q)}
	for _, img := range q.Images {
		key, name := queryKey(img)
		qi := report.QueryImage{Name: name}
		if pic, ok := pg.fromFresh(key); ok {
			qi.Picture = pic
		} else if kept := queryThumb(entry, key); kept != nil {
			qi.Picture = pg.kept(kept.Thumb)
		} else if qe := queryEntry(entry, key); qe != nil && qe.Error != "" {
			qi.Missing = "not fetched: " + qe.Error
		} else {
			qi.Missing = "no query image kept yet"
		}
		out.Images = append(out.Images, qi)
	}
	return out
}

// hit is the drawing a page shows of hit pn of search name.
func (pg pictures) hit(name, pn string, entry *Search) report.Picture {
	if pic, ok := pg.fromFresh(hitKey(name, pn)); ok {
		return pic
	}
	var e *Hit
	if entry != nil {
		e = entry.Hits[pn]
	}
	switch {
	case e == nil:
		return report.Picture{Missing: "no drawing kept"}
	case !e.Drawing.IsZero():
		return pg.kept(e.Drawing)
	case e.Error != "":
		return report.Picture{Missing: "drawing not fetched: " + e.Error}
	}
	return report.Picture{Missing: NotKept}
}
