package runner

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/patwatch/patwatch/internal/drawings"
	"github.com/patwatch/patwatch/internal/patsnap"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/reconciler"
	"github.com/patwatch/patwatch/spec"
)

// DrawingCache is where runs keep the pictures of HTML reports: thumbnails
// by digest, and the index of which hit and query image has which, for one
// state. drawings.FileStore keeps them in a directory beside a state file;
// a database store can keep both in tables.
type DrawingCache interface {
	// LoadIndex returns the index, empty when there is none yet.
	LoadIndex(ctx context.Context) (*drawings.Index, error)
	// EachSearch gives fn the index's entry of each search in turn, so that
	// what a run needs of a large index is read without holding it whole;
	// an error of fn's ends it and is returned.
	EachSearch(ctx context.Context, fn func(name string, e *drawings.Search) error) error
	SaveIndex(ctx context.Context, x *drawings.Index) error
	// Put stores a thumbnail under its digest (again: no change).
	Put(ctx context.Context, t drawings.Thumb) error
	Has(ctx context.Context, r drawings.Ref) (bool, error)
	// Get returns a stored thumbnail, checked against its digest; an
	// error matching fs.ErrNotExist when it is not stored.
	Get(ctx context.Context, r drawings.Ref) (drawings.Thumb, error)
	// Sweep removes the thumbnails keep does not name.
	Sweep(ctx context.Context, keep map[string]bool) (removed int, err error)
}

// Defaults of the drawings step.
const (
	DefaultDrawingConcurrency = 8
	DefaultDrawingBudget      = 2 * time.Minute
	DefaultBaselineDrawings   = 100
)

// Drawings configures the step of a run that fetches the drawings of hits
// from their image links, which expire, and keeps them for HTML reports. It
// runs after the state is saved, outside the API's rate cap, with its own
// concurrency and time limits: a drawing never fails a run or holds up its
// save, it is only shown as missing and fetched again by a later run.
type Drawings struct {
	Cache DrawingCache
	// Client fetches image links; nil: http.DefaultClient. The sandbox
	// routes it to its simulation.
	Client      *http.Client
	Concurrency int           // fetches at once; 0: DefaultDrawingConcurrency
	Timeout     time.Duration // one fetch; 0: drawings.DefaultTimeout
	// Budget bounds the whole step; what is not fetched by then is fetched
	// by a later run. 0: DefaultDrawingBudget.
	Budget time.Duration
	// Baseline is how many drawings of a search's baseline are kept, best
	// ranked first; a later run keeps the drawing of every new hit.
	Baseline int
	// Page, when set, is given the pictures of the run's HTML page. A plan
	// then fetches the drawings of its new hits and keeps none of them.
	Page func(*report.Page)
}

// observe is the reconciler's Observe for an apply that keeps drawings:
// it keeps to the drawings step only what that step may use of each hit,
// so that a run holds a little for the few hits whose index entry changes,
// not for the million it saw. A hit keeps its image link when the step may
// fetch its drawing (new, in a baseline's best ranked, or wanted by the
// index and not kept yet); its number and score when the index has no
// entry with a score for it yet; nothing otherwise. The index is read a
// search at a time, keeping only the hits it still wants and a hash of
// each hit it holds: the whole index of a million hits is as large again
// as the state, and read here, before the run, it would also set the
// garbage collector's goal for all of the run's calls. keepDrawings reads
// it again once the answers are gone. nil, when the index is unreadable,
// keeps every hit with its link.
//
// Two patent numbers of a search whose hashes collide (about one search in
// 10^13 among a thousand hits each) would leave the later one's index
// entry without its score: a gallery then shows it after those with one.
func (r *Runner) observe(ctx context.Context) func(*report.SearchChange, int, string, bool) reconciler.Keep {
	d := r.Drawings
	missing := map[string]map[string]bool{} // search → hits wanted and not kept
	scored := map[string][]uint64{}         // search → sorted hashes of the hits the index has a score for
	seed := maphash.MakeSeed()
	err := d.Cache.EachSearch(ctx, func(name string, s *drawings.Search) error {
		hashes := make([]uint64, 0, len(s.Hits))
		for pn, e := range s.Hits {
			if e.Score != 0 {
				hashes = append(hashes, maphash.String(seed, pn))
			}
			if e.Want && (e.Drawing.IsZero() || !r.has(ctx, d, e.Drawing)) {
				if missing[name] == nil {
					missing[name] = map[string]bool{}
				}
				missing[name][pn] = true
			}
		}
		slices.Sort(hashes)
		scored[name] = hashes
		return nil
	})
	if err != nil {
		return nil // keepDrawings starts a new index, which wants every link
	}
	return func(ch *report.SearchChange, rank int, pn string, isNew bool) reconciler.Keep {
		name := ch.Name
		if _, ok := scored[name]; !ok && ch.RenamedFrom != "" {
			name = ch.RenamedFrom // keepDrawings renames its entry
		}
		switch {
		case isNew, missing[name][pn],
			(ch.Status == report.StatusBaseline || ch.Status == report.StatusRebaseline) && rank < d.Baseline:
			return reconciler.KeepLink
		}
		if _, found := slices.BinarySearch(scored[name], maphash.String(seed, pn)); found {
			return reconciler.KeepNothing
		}
		return reconciler.KeepHit
	}
}

// keepDrawings is the drawings step of an apply: the new hits' drawings
// (and a baseline's best ranked) are fetched, thumbnailed and stored; the
// index follows the state; thumbnails no index names are removed. Failures
// are logged, never returned.
func (r *Runner) keepDrawings(ctx context.Context, sp *spec.Spec, out *reconciler.Outcome, opts Options) {
	d := r.Drawings
	if opts.ReportsOnly {
		if d.Page != nil {
			d.Page(&report.Page{})
		}
		return
	}
	sctx := context.WithoutCancel(ctx) // what was fetched is recorded even after an interrupt
	idx, err := d.Cache.LoadIndex(sctx)
	if err != nil {
		r.Log.Warn().Err(err).Msg("the drawings index is unreadable; starting a new one")
		idx = drawings.NewIndex()
	}
	now := r.now().UTC().Truncate(time.Second)
	for _, s := range out.Report.Searches {
		if s.RenamedFrom != "" {
			idx.Rename(s.RenamedFrom, s.Name)
		}
	}
	changes := map[string]report.SearchChange{}
	for _, s := range out.Report.Searches {
		changes[s.Name] = s
	}

	var jobs fetchJobs
	for _, s := range sp.Searches {
		entry := idx.Search(s.Name)
		r.queryJobs(sctx, d, s, entry, &jobs)
		hits := out.Observed[s.Name]
		if hits == nil {
			continue
		}
		want := map[string]bool{}
		switch ch := changes[s.Name]; ch.Status {
		case report.StatusBaseline, report.StatusRebaseline:
			for _, h := range hits {
				if h.Rank < d.Baseline {
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
			// A link left out is of a hit whose drawing observe found kept:
			// no second look at the cache for it.
			if h.LinkLeft || !e.Want || (!e.Drawing.IsZero() && r.has(sctx, d, e.Drawing)) {
				continue
			}
			jobs.add(h.URL, func(t drawings.Thumb, err error) {
				if err != nil {
					e.Drawing, e.Error = drawings.Ref{}, err.Error()
					return
				}
				e.Drawing, e.Error, e.FetchedAt = t.Ref, "", now
			})
		}
	}
	start := time.Now()
	fetched, failed := r.runFetches(ctx, d, &jobs, func(t drawings.Thumb) error { return d.Cache.Put(sctx, t) })
	if fetched+failed > 0 {
		r.Log.Info().Int("fetched", fetched).Int("failed", failed).Str("took", time.Since(start).Round(time.Millisecond).String()).
			Msg("drawings of hits and query images fetched; a failed one is fetched again by a later run")
	}

	idx.Retain(out.State, now)
	if err := d.Cache.SaveIndex(sctx, idx); err != nil {
		r.Log.Warn().Err(err).Msg("the drawings index was not saved")
	} else if n, err := d.Cache.Sweep(sctx, idx.Refs()); err != nil {
		r.Log.Warn().Err(err).Msg("removing drawings no search holds")
	} else if n > 0 {
		r.Log.Info().Int("removed", n).Msg("removed the drawings of hits no search has held for 30 days")
	}
	if d.Page != nil {
		d.Page(r.page(sctx, d, sp, out.Report, idx, nil))
	}
}

// PlanPictures gives a plan's page its pictures (Drawings.Page): those
// kept already, and the new hits' and new query images' fetched now, in
// memory only. A plan keeps nothing; an offline plan fetches nothing.
func (r *Runner) PlanPictures(ctx context.Context, sp *spec.Spec, rep *report.ChangeReport) {
	d := r.Drawings
	if d == nil || d.Page == nil {
		return
	}
	idx, err := d.Cache.LoadIndex(ctx)
	if err != nil {
		r.Log.Debug().Err(err).Msg("the drawings index is unreadable; the plan fetches what it shows")
		idx = drawings.NewIndex()
	}
	fresh := map[string]fetched{}
	var mu sync.Mutex // local thumbnails are made here, fetched ones under runFetches' lock
	keep := func(key string) func(drawings.Thumb, error) {
		return func(t drawings.Thumb, err error) {
			mu.Lock()
			defer mu.Unlock()
			fresh[key] = fetched{t, err}
		}
	}
	var jobs fetchJobs
	for _, s := range rep.Searches {
		entry := idx.Searches[s.Name]
		for _, h := range s.New {
			if entry != nil && entry.Hits[h.PatentPN] != nil && !entry.Hits[h.PatentPN].Drawing.IsZero() {
				continue
			}
			jobs.add(h.ImageURL, keep(hitKey(s.Name, h.PatentPN)))
		}
	}
	for _, s := range sp.Searches {
		entry := idx.Searches[s.Name]
		for _, img := range s.Images {
			key, _ := queryKey(img)
			switch {
			case queryThumb(entry, key) != nil:
			case img.Local():
				keep(key)(localThumb(img))
			case !rep.Offline: // an offline plan makes no request at all
				jobs.add(img.URL, keep(key))
			}
		}
	}
	r.runFetches(ctx, d, &jobs, nil)
	d.Page(r.page(ctx, d, sp, rep, idx, fresh))
}

// NotKept is why a hit that was never new has no drawing, as a run's page
// and show's gallery say it.
const NotKept = "no drawing kept: ranked below --baseline-drawings at its baseline"

// Picture is the picture a page shows of thumbnail t.
func Picture(t drawings.Thumb) report.Picture {
	return report.Picture{Image: &report.Image{MediaType: t.MediaType(), Data: t.Data}}
}

// fetched is a thumbnail a plan made in memory, or why it could not.
type fetched struct {
	thumb drawings.Thumb
	err   error
}

// page gathers the pictures of rep's page from the cache and from fresh,
// the thumbnails a plan made (by hitKey or query key).
func (r *Runner) page(ctx context.Context, d *Drawings, sp *spec.Spec, rep *report.ChangeReport, idx *drawings.Index, fresh map[string]fetched) *report.Page {
	p := &report.Page{Queries: map[string]report.Query{}, Drawings: map[string]map[string]report.Picture{}}
	get := func(ref drawings.Ref) (report.Picture, bool) {
		if ref.IsZero() {
			return report.Picture{}, false
		}
		t, err := d.Cache.Get(ctx, ref)
		if err != nil {
			r.Log.Debug().Err(err).Msg("a kept drawing is unreadable")
			return report.Picture{Missing: "drawing lost from the cache; fetched again while the hit lives"}, true
		}
		return Picture(t), true
	}
	fromFresh := func(key string) (report.Picture, bool) {
		f, ok := fresh[key]
		switch {
		case !ok:
			return report.Picture{}, false
		case f.err != nil:
			return report.Picture{Missing: "not fetched: " + f.err.Error()}, true
		}
		return Picture(f.thumb), true
	}
	// The queries of the searches rep shows, not the spec's whole list:
	// an e-mail's page shows the few searches its events name.
	inRep := make(map[string]bool, len(rep.Searches))
	for _, s := range rep.Searches {
		inRep[s.Name] = true
	}
	for _, s := range sp.Searches {
		if !inRep[s.Name] {
			continue
		}
		q := report.Query{Line: queryLine(s)}
		entry := idx.Searches[s.Name]
		for _, img := range s.Images {
			key, name := queryKey(img)
			qi := report.QueryImage{Name: name}
			if pic, ok := fromFresh(key); ok {
				qi.Picture = pic
			} else if queryThumb(entry, key) != nil {
				qi.Picture, _ = get(queryThumb(entry, key).Thumb)
			} else if qe := queryEntry(entry, key); qe != nil && qe.Error != "" {
				qi.Missing = "not fetched: " + qe.Error
			} else {
				qi.Missing = "no query image kept yet"
			}
			q.Images = append(q.Images, qi)
		}
		p.Queries[s.Name] = q
	}
	for _, s := range rep.Searches {
		pics := map[string]report.Picture{}
		entry := idx.Searches[s.Name]
		for _, hits := range [][]report.HitChange{s.New, s.Dropped} {
			for _, h := range hits {
				if pic, ok := fromFresh(hitKey(s.Name, h.PatentPN)); ok {
					pics[h.PatentPN] = pic
					continue
				}
				var e *drawings.Hit
				if entry != nil {
					e = entry.Hits[h.PatentPN]
				}
				switch {
				case e == nil:
					pics[h.PatentPN] = report.Picture{Missing: "no drawing kept"}
				case !e.Drawing.IsZero():
					pics[h.PatentPN], _ = get(e.Drawing)
				case e.Error != "":
					pics[h.PatentPN] = report.Picture{Missing: "drawing not fetched: " + e.Error}
				default:
					pics[h.PatentPN] = report.Picture{Missing: NotKept}
				}
			}
		}
		p.Drawings[s.Name] = pics
	}
	return p
}

// queryJobs brings entry's query up to date with s: its filters line and
// its images, each thumbnailed once (a local file from its bytes, a URL
// fetched) and again after a failure.
func (r *Runner) queryJobs(ctx context.Context, d *Drawings, s spec.Search, entry *drawings.Search, jobs *fetchJobs) {
	old := entry.Query.Images
	entry.Query = drawings.Query{Line: queryLine(s)}
	for _, img := range s.Images {
		key, name := queryKey(img)
		qi := drawings.QueryImage{Key: key, Name: name}
		for _, o := range old {
			if o.Key == key {
				qi.Thumb, qi.Error = o.Thumb, o.Error
			}
		}
		entry.Query.Images = append(entry.Query.Images, qi)
		if !qi.Thumb.IsZero() && r.has(ctx, d, qi.Thumb) {
			continue
		}
		i := len(entry.Query.Images) - 1
		done := func(t drawings.Thumb, err error) {
			q := &entry.Query.Images[i]
			if err != nil {
				q.Thumb, q.Error = drawings.Ref{}, err.Error()
				return
			}
			q.Thumb, q.Error = t.Ref, ""
		}
		if img.Local() {
			t, err := localThumb(img)
			if err == nil {
				err = d.Cache.Put(ctx, t)
			}
			done(t, err)
			continue
		}
		jobs.add(img.URL, done)
	}
}

func (r *Runner) has(ctx context.Context, d *Drawings, ref drawings.Ref) bool {
	ok, err := d.Cache.Has(ctx, ref)
	if err != nil {
		r.Log.Debug().Err(err).Msg("checking a kept drawing")
	}
	return ok
}

// localThumb thumbnails a local query image, checking that it is still the
// file the spec was loaded with.
func localThumb(img spec.Image) (drawings.Thumb, error) {
	b, err := os.ReadFile(img.Path)
	if err != nil {
		return drawings.Thumb{}, err
	}
	t, err := drawings.Make(b)
	if err != nil {
		return drawings.Thumb{}, fmt.Errorf("%s: %w", filepath.Base(img.Path), err)
	}
	return t, nil
}

func hitKey(search, pn string) string { return search + "\x00" + pn }

// queryKey identifies a query image (a local file by its content, a URL as
// written) and names it for a page: a file by its base
// name, a URL by its host and path (no query: it may be presigned).
func queryKey(img spec.Image) (key, name string) {
	if img.Local() {
		return "sha256:" + img.SHA256, filepath.Base(img.Path)
	}
	name = img.URL
	if u, err := url.Parse(img.URL); err == nil {
		name = u.Host + u.EscapedPath()
	}
	return img.URL, name
}

func queryEntry(entry *drawings.Search, key string) *drawings.QueryImage {
	if entry == nil {
		return nil
	}
	for i := range entry.Query.Images {
		if entry.Query.Images[i].Key == key {
			return &entry.Query.Images[i]
		}
	}
	return nil
}

// queryThumb is the entry of the query image key, when it has a thumbnail.
func queryThumb(entry *drawings.Search, key string) *drawings.QueryImage {
	if q := queryEntry(entry, key); q != nil && !q.Thumb.IsZero() {
		return q
	}
	return nil
}

// queryLine is a search's query in one line, with the spec's own names:
// the patent type and model, every filter set, max_results and min_score.
func queryLine(s spec.Search) string {
	kind := map[string]string{"D": "design (D)", "U": "utility model (U)"}[s.PatentType]
	if kind == "" {
		kind = s.PatentType
	}
	parts := []string{kind + ", model " + strconv.Itoa(s.Model)}
	v := reflect.ValueOf(s.Filters)
	for _, f := range patsnap.FilterFields() {
		fv := v.Field(f.Index)
		var text string
		switch x := fv.Interface().(type) {
		case string:
			text = x
		case []string:
			text = strings.Join(x, ", ")
		case patsnap.Codes:
			var codes []string
			for _, c := range x {
				codes = append(codes, strconv.Itoa(c))
			}
			text = strings.Join(codes, ", ")
		case *int:
			if x != nil {
				text = strconv.Itoa(*x)
			}
		}
		if text != "" {
			parts = append(parts, f.Name+" "+text)
		}
	}
	parts = append(parts, "max_results "+strconv.Itoa(s.MaxResults))
	if s.MinScore > 0 {
		parts = append(parts, "min_score "+strconv.FormatFloat(s.MinScore, 'f', -1, 64))
	}
	return strings.Join(parts, " · ")
}

// fetchJobs are the image links a step fetches, each once however many
// hits share it: links that differ only in their presigned query name the
// same object.
type fetchJobs struct {
	order []string
	byKey map[string]*fetchJob
}

type fetchJob struct {
	url  string
	done []func(drawings.Thumb, error)
}

func (j *fetchJobs) add(rawURL string, done func(drawings.Thumb, error)) {
	if j.byKey == nil {
		j.byKey = map[string]*fetchJob{}
	}
	if rawURL == "" {
		done(drawings.Thumb{}, errors.New("the API gave no image link"))
		return
	}
	key := objectKey(rawURL)
	job := j.byKey[key]
	if job == nil {
		job = &fetchJob{url: rawURL}
		j.byKey[key] = job
		j.order = append(j.order, key)
	}
	job.done = append(job.done, done)
}

// objectKey is a link without its presigning parameters (X-Amz-…).
func objectKey(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	q := u.Query()
	for k := range q {
		if strings.HasPrefix(strings.ToLower(k), "x-amz-") {
			q.Del(k)
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// runFetches downloads every job, Concurrency at once, within Budget, and
// hands each body to as many thumbnail makers as there are CPUs, so that a
// download's slot is free again while its picture is decoded and scaled.
// Each thumbnail goes to put (when set: an apply keeps them), then to the
// job's callbacks, one callback at a time. It returns how many links were
// fetched and how many failed.
func (r *Runner) runFetches(ctx context.Context, d *Drawings, jobs *fetchJobs, put func(drawings.Thumb) error) (fetched, failed int) {
	if len(jobs.order) == 0 {
		return 0, 0
	}
	budget := d.Budget
	if budget <= 0 {
		budget = DefaultDrawingBudget
	}
	workers := d.Concurrency
	if workers <= 0 {
		workers = DefaultDrawingConcurrency
	}
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	f := &drawings.Fetcher{Client: d.Client, Timeout: d.Timeout}
	outOfTime := func(err error) error {
		if err != nil && ctx.Err() != nil {
			return fmt.Errorf("the run's %s for drawings ran out or it was interrupted", budget)
		}
		return err
	}

	type body struct {
		job  *fetchJob
		data []byte
		host string
		err  error
	}
	next := make(chan *fetchJob)
	bodies := make(chan body)
	var downloads, makers sync.WaitGroup
	for range min(workers, len(jobs.order)) {
		downloads.Go(func() {
			for job := range next {
				b := body{job: job, err: ctx.Err()}
				if b.err == nil {
					b.data, b.host, b.err = f.Download(ctx, job.url)
				}
				bodies <- b
			}
		})
	}
	var mu sync.Mutex // serialises the callbacks, which update the index
	for range min(runtime.NumCPU(), len(jobs.order)) {
		makers.Go(func() {
			for b := range bodies {
				var t drawings.Thumb
				err := outOfTime(b.err)
				if err == nil {
					t, err = drawings.MakeFrom(b.host, b.data)
				}
				if err == nil && put != nil {
					if perr := put(t); perr != nil {
						err = fmt.Errorf("not stored: %w", perr)
					}
				}
				if err != nil {
					r.Log.Debug().Err(err).Msg("a drawing was not fetched")
				}
				mu.Lock()
				if err != nil {
					failed++
				} else {
					fetched++
				}
				for _, done := range b.job.done {
					done(t, err)
				}
				mu.Unlock()
			}
		})
	}
	for _, key := range jobs.order {
		next <- jobs.byKey[key]
	}
	close(next)
	downloads.Wait()
	close(bodies)
	makers.Wait()
	return fetched, failed
}
