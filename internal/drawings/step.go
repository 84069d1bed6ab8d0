package drawings

import (
	"context"
	"fmt"
	"hash/maphash"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sync/semaphore"

	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/reconciler"
	"github.com/patwatch/patwatch/spec"
)

// Cache is where runs keep the pictures of HTML reports: thumbnails by
// digest, and the index of which hit and query image has which, for one
// state. FileStore keeps them in a directory.
type Cache interface {
	// LoadIndex returns the index, empty when there is none yet.
	LoadIndex(ctx context.Context) (*Index, error)
	// EachSearch gives fn the index's entry of each search in turn, so that
	// what a run needs of a large index is read without holding it whole;
	// an error of fn's ends it and is returned.
	EachSearch(ctx context.Context, fn func(name string, e *Search) error) error
	SaveIndex(ctx context.Context, x *Index) error
	// Put stores a thumbnail under its digest (again: no change).
	Put(ctx context.Context, t Thumb) error
	Has(ctx context.Context, r Ref) (bool, error)
	// Get returns a stored thumbnail, checked against its digest; an
	// error matching fs.ErrNotExist when it is not stored.
	Get(ctx context.Context, r Ref) (Thumb, error)
	// Sweep removes the thumbnails keep does not name.
	Sweep(ctx context.Context, keep map[string]bool) (removed int, err error)
}

// Defaults of a Step.
const (
	DefaultConcurrency = 8
	DefaultBudget      = 2 * time.Minute
	DefaultBaseline    = 100
)

// Step is the drawings step of a run: it fetches the drawings of hits from
// their image links, which expire, and keeps them for HTML reports, and it
// gives pages their pictures. It runs outside the API's rate cap, with its
// own concurrency and time limits: a drawing never fails a run or holds up
// its save, it is only shown as missing and fetched again by a later run.
//
// An apply calls Start before its calls and Keep once its state is saved:
// a Step serves one apply. Plan and Pages keep nothing and may be called
// at any time.
type Step struct {
	Cache   Cache
	Fetcher Fetcher
	// Concurrency is how many links are fetched at once; 0:
	// DefaultConcurrency.
	Concurrency int
	// Budget bounds the fetching; what is not fetched by then is fetched
	// by a later run. 0: DefaultBudget.
	Budget time.Duration
	// Baseline is how many drawings of a search's baseline are kept, best
	// ranked first; a later run keeps the drawing of every new hit.
	Baseline int
	Log      zerolog.Logger
	Now      func() time.Time // nil: time.Now

	run      *applyRun // what Start began for Keep
	decoding struct {
		once sync.Once
		sem  *semaphore.Weighted // DecodeBudget's bytes
	}
}

// applyRun is what Start learns of the index for the apply that follows.
type applyRun struct {
	sp *spec.Spec
	// missing holds, by search, the hits the index wants and has no
	// drawing of; scored, by search, the sorted hashes of the hits it has
	// a score for.
	missing map[string]map[string]bool
	scored  map[string][]uint64
	seed    maphash.Seed
}

func (s *Step) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Start begins the step of an apply of sp, before its calls, and returns
// the reconciler's Observe: it keeps to the step only what the step may
// use of each hit, so that a run holds a little for the few hits whose
// index entry changes, not for the million it saw. A hit keeps its image
// link when the step may fetch its drawing (new, in a baseline's best
// ranked, or wanted by the index and not kept yet); its number and score
// when the index has no entry with a score for it yet; nothing otherwise.
// The index is read a search at a time, keeping only the hits it still
// wants and a hash of each hit it holds: the whole index of a million hits
// is as large again as the state, and read here, before the run, it would
// also set the garbage collector's goal for all of the run's calls. Keep
// reads it again once the answers are gone. nil, when the index is
// unreadable, keeps every hit with its link.
//
// Two patent numbers of a search whose hashes collide (about one search in
// 10^13 among a thousand hits each) would leave the later one's index
// entry without its score: a gallery then shows it after those with one.
func (s *Step) Start(ctx context.Context, sp *spec.Spec) func(ch *report.SearchChange, rank int, patentPN string, isNew bool) reconciler.Keep {
	run := &applyRun{sp: sp, missing: map[string]map[string]bool{}, scored: map[string][]uint64{}, seed: maphash.MakeSeed()}
	s.run = run
	err := s.Cache.EachSearch(ctx, func(name string, e *Search) error {
		hashes := make([]uint64, 0, len(e.Hits))
		for pn, h := range e.Hits {
			if h.Score != 0 {
				hashes = append(hashes, maphash.String(run.seed, pn))
			}
			if h.Want && (h.Drawing.IsZero() || !s.has(ctx, h.Drawing)) {
				if run.missing[name] == nil {
					run.missing[name] = map[string]bool{}
				}
				run.missing[name][pn] = true
			}
		}
		slices.Sort(hashes)
		run.scored[name] = hashes
		return nil
	})
	if err != nil {
		return nil // Keep starts a new index, which wants every link
	}
	return func(ch *report.SearchChange, rank int, pn string, isNew bool) reconciler.Keep {
		name := ch.Name
		if _, ok := run.scored[name]; !ok && ch.RenamedFrom != "" {
			name = ch.RenamedFrom // Keep renames its entry
		}
		switch {
		case isNew, run.missing[name][pn],
			(ch.Status == report.StatusBaseline || ch.Status == report.StatusRebaseline) && rank < s.Baseline:
			return reconciler.KeepLink
		}
		if _, found := slices.BinarySearch(run.scored[name], maphash.String(run.seed, pn)); found {
			return reconciler.KeepNothing
		}
		return reconciler.KeepHit
	}
}

// Keep ends the step of the apply Start began, once its state is saved:
// the new hits' drawings (and a baseline's best ranked) are fetched,
// thumbnailed and stored; the index follows the state; thumbnails no index
// names are removed. Failures are logged, never returned. It returns what
// gathers the pictures of the run's page.
func (s *Step) Keep(ctx context.Context, out *reconciler.Outcome) func() *report.Page {
	sp := s.run.sp
	sctx := context.WithoutCancel(ctx) // what was fetched is recorded even after an interrupt
	idx, err := s.Cache.LoadIndex(sctx)
	if err != nil {
		s.Log.Warn().Err(err).Msg("the drawings index is unreadable; starting a new one")
		idx = NewIndex()
	}
	now := s.now().UTC().Truncate(time.Second)
	for _, c := range out.Report.Searches {
		if c.RenamedFrom != "" {
			idx.Rename(c.RenamedFrom, c.Name)
		}
	}
	changes := map[string]report.SearchChange{}
	for _, c := range out.Report.Searches {
		changes[c.Name] = c
	}

	var jobs fetchJobs
	for _, q := range sp.Searches {
		entry := idx.Search(q.Name)
		s.queryJobs(sctx, q, entry, &jobs)
		if hits := out.Observed[q.Name]; hits != nil {
			s.hitJobs(sctx, entry, changes[q.Name], hits, now, &jobs)
		}
	}
	start := time.Now()
	fetched, failed := s.runFetches(ctx, &jobs, func(t Thumb) error { return s.Cache.Put(sctx, t) })
	if fetched+failed > 0 {
		s.Log.Info().Int("fetched", fetched).Int("failed", failed).Str("took", time.Since(start).Round(time.Millisecond).String()).
			Msg("drawings of hits and query images fetched; a failed one is fetched again by a later run")
	}

	idx.Retain(out.State, now)
	if err := s.Cache.SaveIndex(sctx, idx); err != nil {
		s.Log.Warn().Err(err).Msg("the drawings index was not saved")
	} else if n, err := s.Cache.Sweep(sctx, idx.Refs()); err != nil {
		s.Log.Warn().Err(err).Msg("removing drawings no search holds")
	} else if n > 0 {
		s.Log.Info().Int("removed", n).Msg("removed the drawings of hits no search has held for 30 days")
	}
	return func() *report.Page { return s.page(sctx, sp, out.Report, idx, nil) }
}

// hitJobs records what the run saw of a search's hits in its index entry
// and adds the fetches of the drawings it wants and has not kept.
func (s *Step) hitJobs(ctx context.Context, entry *Search, ch report.SearchChange, hits []reconciler.ObservedHit, now time.Time, jobs *fetchJobs) {
	want := map[string]bool{}
	switch ch.Status {
	case report.StatusBaseline, report.StatusRebaseline:
		for _, h := range hits {
			if h.Rank < s.Baseline {
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
		// A link left out is of a hit whose drawing Start found kept: no
		// second look at the cache for it.
		if h.LinkLeft || !e.Want || (!e.Drawing.IsZero() && s.has(ctx, e.Drawing)) {
			continue
		}
		jobs.add(h.URL, func(t Thumb, err error) {
			if err != nil {
				e.Drawing, e.Error = Ref{}, err.Error()
				return
			}
			e.Drawing, e.Error, e.FetchedAt = t.Ref, "", now
		})
	}
}

// queryJobs brings entry's query up to date with q: its filters line and
// its images, each thumbnailed once (a local file from its bytes, a URL
// fetched) and again after a failure.
func (s *Step) queryJobs(ctx context.Context, q spec.Search, entry *Search, jobs *fetchJobs) {
	old := entry.Query.Images
	entry.Query = Query{Line: queryLine(q)}
	for _, img := range q.Images {
		key, name := queryKey(img)
		qi := QueryImage{Key: key, Name: name}
		for _, o := range old {
			if o.Key == key {
				qi.Thumb, qi.Error = o.Thumb, o.Error
			}
		}
		entry.Query.Images = append(entry.Query.Images, qi)
		if !qi.Thumb.IsZero() && s.has(ctx, qi.Thumb) {
			continue
		}
		i := len(entry.Query.Images) - 1
		done := func(t Thumb, err error) {
			q := &entry.Query.Images[i]
			if err != nil {
				q.Thumb, q.Error = Ref{}, err.Error()
				return
			}
			q.Thumb, q.Error = t.Ref, ""
		}
		if img.Local() {
			t, err := s.localThumb(ctx, img)
			if err == nil {
				err = s.Cache.Put(ctx, t)
			}
			done(t, err)
			continue
		}
		jobs.add(img.URL, done)
	}
}

// thumb makes the thumbnail of src once its decoding fits in DecodeBudget
// beside the others under way: large images are decoded one at a time.
func (s *Step) thumb(ctx context.Context, src []byte) (Thumb, error) {
	h, err := inspect(src)
	if err != nil {
		return Thumb{}, err
	}
	s.decoding.once.Do(func() { s.decoding.sem = semaphore.NewWeighted(DecodeBudget) })
	if err := s.decoding.sem.Acquire(ctx, h.cost); err != nil {
		return Thumb{}, err
	}
	defer s.decoding.sem.Release(h.cost)
	if h.cost > DecodeBudget/4 {
		// Collected at once: the hundreds of megabytes a large image
		// leaves would otherwise raise the heap's goal, and the next
		// large image would be decoded beside them.
		defer runtime.GC()
	}
	return h.make(src)
}

// localThumb thumbnails a local query image, checking that it is still the
// file the spec was loaded with.
func (s *Step) localThumb(ctx context.Context, img spec.Image) (Thumb, error) {
	b, err := os.ReadFile(img.Path)
	if err != nil {
		return Thumb{}, err
	}
	t, err := s.thumb(ctx, b)
	if err != nil {
		return Thumb{}, fmt.Errorf("%s: %w", filepath.Base(img.Path), err)
	}
	return t, nil
}

func (s *Step) has(ctx context.Context, ref Ref) bool {
	ok, err := s.Cache.Has(ctx, ref)
	if err != nil {
		s.Log.Debug().Err(err).Msg("checking a kept drawing")
	}
	return ok
}
