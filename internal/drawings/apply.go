package drawings

import (
	"context"
	"hash/maphash"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/patwatch/patwatch/internal/patsnap"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/reconciler"
	"github.com/patwatch/patwatch/spec"
)

// applyRun is the step of one apply, from Start to Keep.
type applyRun struct {
	step *Step
	sp   *spec.Spec
	// unwritable says why nothing is kept in this run; nil: it is.
	unwritable error
	pool       *pool

	// What Start read of the index, a search at a time: by search, the
	// hits it wants and has no drawing of, and the sorted hashes of the
	// hits it has a score for and of those it has a drawing of.
	missing map[string]map[string]bool
	scored  map[string][]uint64
	drawn   map[string][]uint64
	seed    maphash.Seed

	mu sync.Mutex
	// results holds what the pool made, by hitKey or query key, as its
	// callbacks record it (set); Keep reads it once the pool is finished.
	results map[string]fetched
	// requested holds the hitKeys observe handed to the pool.
	requested map[string]bool
}

// set records what the pool made for key.
func (run *applyRun) set(key string, f fetched) {
	run.mu.Lock()
	defer run.mu.Unlock()
	run.results[key] = f
}

// Start begins the step of an apply of sp, before its calls, and returns
// the reconciler's Observe. The query images are fetched (or revalidated)
// at once, and each hit's drawing the step wants (new, in a baseline's
// best ranked, or wanted by the index and not kept yet) as soon as its
// search is diffed, while the other searches still call the API: the
// drawings cost no wall time of their own.
//
// Observe keeps to the step only what the step may use of each hit, so
// that a run holds a little for the few hits whose index entry changes,
// not for the million it saw: the number, rank and score of a hit whose
// drawing is fetched or that the index has no score for yet; nothing of
// the others. The index is read a search at a time, keeping only the hits
// it still wants and a hash of each hit it holds: the whole index of a
// million hits is as large again as the state, and read here, before the
// run, it would also set the garbage collector's goal for all of the
// run's calls. Keep reads it again once the answers are gone. nil, when
// the index is unreadable, keeps every hit with its link, for Keep.
//
// Two patent numbers of a search whose hashes collide (about one search in
// 10^13 among a thousand hits each) would leave the later one's index
// entry without its score: a gallery then shows it after those with one.
//
// A drawings directory that cannot be written is one warning that says
// what to set: the run then keeps no drawing.
func (s *Step) Start(ctx context.Context, sp *spec.Spec) func(ch *report.SearchChange, rank int, hit *patsnap.Hit, isNew bool) reconciler.Keep {
	run := &applyRun{step: s, sp: sp, seed: maphash.MakeSeed(), missing: map[string]map[string]bool{},
		scored: map[string][]uint64{}, drawn: map[string][]uint64{}, results: map[string]fetched{}, requested: map[string]bool{}}
	s.run = run
	if err := s.Cache.Writable(ctx); err != nil {
		run.unwritable = err
		s.Log.Warn().Err(err).Msg("the drawings directory cannot be written: no drawing is kept, and pages and e-mails go without them; " +
			"set --drawings-dir DIR or PATWATCH_DRAWINGS_DIR to a writable directory")
		return func(*report.SearchChange, int, *patsnap.Hit, bool) reconciler.Keep { return reconciler.KeepNothing }
	}
	sctx := context.WithoutCancel(ctx) // what was fetched is stored even after an interrupt
	run.pool = s.newPool(ctx, func(t Thumb) error { return s.Cache.Put(sctx, t) })
	queries := map[string]QueryImage{} // what the index keeps of each query image, by key
	err := s.Cache.EachSearch(ctx, func(name string, e *Search) error {
		run.read(ctx, name, e)
		for _, q := range e.Query.Images {
			queries[q.Key] = q
		}
		return nil
	})
	run.fetchQueries(ctx, queries)
	if err != nil {
		return nil // Keep starts a new index, which wants every link
	}
	return run.observe
}

// read keeps what observe needs of the index's entry of search name.
func (run *applyRun) read(ctx context.Context, name string, e *Search) {
	var scored, drawn []uint64
	for pn, h := range e.Hits {
		hash := maphash.String(run.seed, pn)
		if h.Score != 0 {
			scored = append(scored, hash)
		}
		if !h.Drawing.IsZero() {
			drawn = append(drawn, hash)
		}
		if h.Want && (h.Drawing.IsZero() || !run.step.has(ctx, h.Drawing)) {
			if run.missing[name] == nil {
				run.missing[name] = map[string]bool{}
			}
			run.missing[name][pn] = true
		}
	}
	slices.Sort(scored)
	slices.Sort(drawn)
	run.scored[name], run.drawn[name] = scored, drawn
}

// fetchQueries starts what the spec's query images need: a thumbnail of
// each one not kept (a local file's made from its bytes, a URL fetched),
// and a revalidation of each one given by URL that was kept with its
// server's validators. The results, by key, are final for Keep: a
// revalidation that failed, or found the image unchanged, keeps the
// thumbnail.
func (run *applyRun) fetchQueries(ctx context.Context, queries map[string]QueryImage) {
	record := func(key string, kept QueryImage) func(fetched) {
		return func(f fetched) {
			switch {
			case f.notModified:
				f = fetched{thumb: Thumb{Ref: kept.Thumb}, validators: kept.Validators}
			case f.err != nil && !kept.Thumb.IsZero():
				run.step.Log.Debug().Err(f.err).Msg("a query image was not revalidated; its thumbnail is kept")
				f = fetched{thumb: Thumb{Ref: kept.Thumb}, validators: kept.Validators}
			}
			run.set(key, f)
		}
	}
	started := map[string]bool{}
	for _, q := range run.sp.Searches {
		for _, img := range q.Images {
			key, _ := queryKey(img)
			if started[key] {
				continue
			}
			started[key] = true
			k := queries[key]
			if !k.Thumb.IsZero() && !run.step.has(ctx, k.Thumb) {
				k = QueryImage{}
			}
			switch {
			case !k.Thumb.IsZero() && (img.Local() || k.Validators.IsZero()):
				run.set(key, fetched{thumb: Thumb{Ref: k.Thumb}, validators: k.Validators}) // nothing to ask
			case img.Local():
				run.pool.thumbnail(img.Path, record(key, k))
			default:
				run.pool.fetch(img.URL, k.Validators, record(key, k))
			}
		}
	}
}

// observe is the reconciler's Observe of the run (see Start).
func (run *applyRun) observe(ch *report.SearchChange, rank int, hit *patsnap.Hit, isNew bool) reconciler.Keep {
	name := ch.Name
	if _, ok := run.scored[name]; !ok && ch.RenamedFrom != "" {
		name = ch.RenamedFrom // Keep renames its entry
	}
	pn := hit.PatentPN
	baseline := ch.Status == report.StatusBaseline || ch.Status == report.StatusRebaseline
	hash := maphash.String(run.seed, pn)
	switch {
	case isNew && has(run.drawn[name], hash):
		return reconciler.KeepLink // seen before it was dropped: Keep looks for its drawing
	case hit.URL == "" && (isNew || run.missing[name][pn] || baseline):
		return reconciler.KeepHit // no link, nothing to fetch (a saved plan keeps none of a recorded hit)
	case isNew, run.missing[name][pn], baseline && rank < run.step.Baseline:
		key := hitKey(ch.Name, pn)
		run.mu.Lock()
		run.requested[key] = true
		run.mu.Unlock()
		run.pool.fetch(hit.URL, Validators{}, func(f fetched) { run.set(key, f) })
		return reconciler.KeepHit
	case has(run.scored[name], hash):
		return reconciler.KeepNothing
	}
	return reconciler.KeepHit
}

func has(sorted []uint64, hash uint64) bool {
	_, found := slices.BinarySearch(sorted, hash)
	return found
}

// End ends what Start began for an apply that will not call Keep (its
// save failed, or it ended first): the fetches under way are stopped and
// waited for, so that nothing is written once the run is over. After
// Keep, it does nothing.
func (s *Step) End() {
	if run := s.run; run != nil && run.pool != nil {
		run.pool.finish(0)
	}
}

// Keep ends the step of the apply Start began, once its state is saved:
// it waits (within Budget) for what is still fetched, keeps it, records
// the run's hits and query images in the index, which follows the state,
// and removes the thumbnails no index names. Failures are logged, never
// returned. It returns what gathers the pictures of the run's page.
func (s *Step) Keep(ctx context.Context, out *reconciler.Outcome) func() *report.Page {
	run := s.run
	sctx := context.WithoutCancel(ctx) // what was fetched is recorded even after an interrupt
	idx, err := s.Cache.LoadIndex(sctx)
	page := func() *report.Page { return s.page(sctx, run.sp, out.Report, idx, nil) }
	switch {
	case run.unwritable != nil: // said once, by Start
		if err != nil {
			idx = NewIndex()
		}
		return page
	case err != nil:
		s.Log.Warn().Err(err).Msg("the drawings index is unreadable; starting a new one")
		idx = NewIndex()
	}
	now := s.now().UTC().Truncate(time.Second)
	changes := map[string]report.SearchChange{}
	for _, c := range out.Report.Searches {
		if c.RenamedFrom != "" {
			idx.Rename(c.RenamedFrom, c.Name)
		}
		changes[c.Name] = c
	}
	var after []func() // what applies the pool's results, once it is finished
	for _, q := range run.sp.Searches {
		entry := idx.Search(q.Name)
		after = append(after, func() { run.keepQuery(entry, q) })
		if hits := out.Observed[q.Name]; hits != nil {
			after = append(after, run.keepHits(sctx, entry, changes[q.Name], hits, now)...)
		}
	}
	start := time.Now()
	budget := s.Budget
	if budget <= 0 {
		budget = DefaultBudget
	}
	fetched, failed := run.pool.finish(budget)
	if fetched+failed > 0 {
		s.Log.Info().Int("fetched", fetched).Int("failed", failed).Str("took", time.Since(start).Round(time.Millisecond).String()).
			Msg("drawings of hits and query images fetched; a failed one is fetched again by a later run")
	}
	for _, apply := range after {
		apply()
	}

	idx.Retain(out.State, now)
	if err := s.Cache.SaveIndex(sctx, idx); err != nil {
		s.Log.Warn().Err(err).Msg("the drawings index was not saved")
	} else if n, err := s.Cache.Sweep(sctx, idx.Refs()); err != nil {
		s.Log.Warn().Err(err).Msg("removing drawings no search holds")
	} else if n > 0 {
		s.Log.Info().Int("removed", n).Msg("removed the drawings of hits no search has held for 30 days")
	}
	return page
}

// keepHits records what the run saw of a search's hits in its index entry:
// the score of first sight, which drawings it wants. The drawings observe
// had fetched are recorded by what it returns, once the pool is finished;
// the others it wants and has not kept (of hits whose link observe left
// for Keep) are fetched now.
func (run *applyRun) keepHits(ctx context.Context, entry *Search, ch report.SearchChange, hits []reconciler.ObservedHit, now time.Time) (after []func()) {
	want := map[string]bool{}
	switch ch.Status {
	case report.StatusBaseline, report.StatusRebaseline:
		for _, h := range hits {
			if h.Rank < run.step.Baseline {
				want[h.PatentPN] = true
			}
		}
	default:
		for _, h := range ch.New {
			want[h.PatentPN] = true
		}
	}
	for _, h := range hits {
		e := entry.Hit(h.PatentPN)
		if e.Score == 0 { // the score when first seen: the index changes only when hits do
			e.Score = math.Round(h.Score*1000) / 1000
		}
		e.Want = e.Want || want[h.PatentPN]
		record := func(f fetched) {
			if f.err != nil {
				e.Drawing, e.Error = Ref{}, f.err.Error()
				return
			}
			e.Drawing, e.Error, e.FetchedAt = f.thumb.Ref, "", now
		}
		key := hitKey(ch.Name, h.PatentPN)
		switch {
		case run.requested[key]:
			after = append(after, func() { record(run.results[key]) })
		case h.LinkLeft || !e.Want || (!e.Drawing.IsZero() && run.step.has(ctx, e.Drawing)):
		default:
			run.pool.fetch(h.URL, Validators{}, record)
		}
	}
	return after
}

// keepQuery brings entry's query up to date with q: its filters line and
// its images with what fetchQueries made of them.
func (run *applyRun) keepQuery(entry *Search, q spec.Search) {
	old := entry.Query.Images
	entry.Query = Query{Line: queryLine(q)}
	for _, img := range q.Images {
		key, name := queryKey(img)
		qi := QueryImage{Key: key, Name: name}
		for _, o := range old {
			if o.Key == key {
				qi.Thumb, qi.Error, qi.Validators = o.Thumb, o.Error, o.Validators
			}
		}
		if f, ok := run.results[key]; ok {
			if f.err != nil {
				qi.Thumb, qi.Error, qi.Validators = Ref{}, f.err.Error(), Validators{}
			} else {
				qi.Thumb, qi.Error, qi.Validators = f.thumb.Ref, "", f.validators
			}
		}
		entry.Query.Images = append(entry.Query.Images, qi)
	}
}
