package drawings

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sync/semaphore"
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
	// Writable says why thumbnails cannot be stored, nil when they can.
	Writable(ctx context.Context) error
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
	// DefaultConcurrency suits an image CDN: 8 fetches at once.
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
// An apply calls Start before its calls and Keep once its state is saved
// (apply.go): the drawings are fetched while the calls go on. A Step
// serves one apply. Plan and Pages keep nothing and may be called at any
// time.
type Step struct {
	Cache   Cache
	Fetcher Fetcher
	// Concurrency is how many links are fetched at once; 0:
	// DefaultConcurrency.
	Concurrency int
	// Budget bounds the fetching that remains once an apply's state is
	// saved (or, for a plan, once its calls are done); what is not
	// fetched by then is fetched by a later run. 0: DefaultBudget.
	Budget time.Duration
	// Baseline is how many drawings of a search's baseline are kept, best
	// ranked first; a later run keeps the drawing of every new hit.
	Baseline int
	Log      zerolog.Logger
	Now      func() time.Time // nil: time.Now

	run      *applyRun // what Start began, for Keep
	decoding struct {
		once sync.Once
		sem  *semaphore.Weighted // DecodeBudget's bytes
	}
}

func (s *Step) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// thumb makes the thumbnail of src (see header.make), once its header is
// read (inspect) and its decoding fits in DecodeBudget beside the others
// under way: large images are decoded one at a time.
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

// localThumb thumbnails the local query image at path.
func (s *Step) localThumb(ctx context.Context, path string) (Thumb, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Thumb{}, err
	}
	t, err := s.thumb(ctx, b)
	if err != nil {
		return Thumb{}, fmt.Errorf("%s: %w", filepath.Base(path), err)
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
