// Package reconciler reconciles a watch list (package spec) with what the
// state records (package state) and what the PatSnap API answers now, and
// describes the outcome as a change report.
//
// The decisions are pure functions: DiffSearch for a search, nextReportStep
// for a report's next step, PlanOffline for a spec-against-state review. The
// Reconciler around them does the calls, concurrently and through the API
// client's shared rate cap, and returns a new state value for the caller to
// save; it never writes the state itself. A plan takes the same decisions
// and only the steps that change nothing.
package reconciler

import (
	"context"
	"fmt"
	"maps"
	"math"
	"os"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/patwatch/patwatch/internal/patsnap"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

// API is what the reconciler needs of the PatSnap client.
type API interface {
	Search(ctx context.Context, req patsnap.SearchRequest) (*patsnap.SearchResult, error)
	UploadImage(ctx context.Context, name string, data []byte) (patsnap.Upload, error)
	ReuploadImage(ctx context.Context, name string, data []byte) (patsnap.Upload, error)
	CreateReport(ctx context.Context, req patsnap.ReportRequest) (string, error)
	ReportStatus(ctx context.Context, jobID string) (*patsnap.ReportStatus, error)
	Download(ctx context.Context, url, target string) (*patsnap.Download, error)
}

// Mode says how much a run may do.
type Mode int

const (
	// ModeApply calls the API, submits and polls report jobs, downloads
	// finished reports, and returns the state to save.
	ModeApply Mode = iota
	// ModePlan reads the live API (searches, report statuses) but creates no
	// job and writes no file; the returned state is only for inspection.
	ModePlan
)

// DefaultConcurrency is how many searches run at once when Concurrency is
// unset. The client's rate cap bounds the request rate; concurrency only has
// to cover the API's latency (see ConcurrencyFor).
const DefaultConcurrency = 8

// ConcurrencyFor is how many searches to run at once so that a rate cap of
// qps requests per second is reached even when every answer takes as long
// as the API's documented maximum (about 10 s): qps × 12, between 8 and 64.
func ConcurrencyFor(qps float64) int {
	return min(max(int(math.Ceil(qps*12)), DefaultConcurrency), 64)
}

// Reconciler runs one reconciliation. Its zero value is not usable: API,
// StateDir and ReportsDir are required.
type Reconciler struct {
	API         API
	StateDir    string // absolute; recorded report files are relative to it
	ReportsDir  string // absolute; where finished reports are downloaded
	Concurrency int
	Now         func() time.Time // nil: time.Now
	Log         zerolog.Logger
	// ReportsOnly skips the searches: their recorded state is carried over
	// untouched and the change report lists none. Watch mode polls pending
	// report jobs this way between full runs.
	ReportsOnly bool
	// Progress, when set, is told how the run advances. It is called from
	// the goroutine that runs Run, never concurrently.
	Progress func(Progress)
}

// Progress is a snapshot of a run's advance, for a live progress line.
type Progress struct {
	SearchesDone, SearchesTotal int
	ReportsDone, ReportsTotal   int
	// Queue holds the queue position of each report job found waiting.
	Queue []int
}

func (r *Reconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Outcome is the result of a run.
type Outcome struct {
	Report *report.ChangeReport
	// State is the reconciled state: recorded with every successful change
	// applied and every failed item as it was. It shares unchanged entries
	// with the recorded state, which is never modified.
	State *state.State
	// Observed holds, by search name, the hits the API answered for each
	// search refreshed successfully in this run, in rank order, with their
	// presigned image links (which the state does not keep).
	Observed map[string][]patsnap.Hit
}

// Run reconciles desired with recorded. Failures of single searches and
// reports are part of the outcome (status error), never a reason to drop
// what succeeded. When ctx ends, the items not yet done are reported as
// errors and left as they were.
func (r *Reconciler) Run(ctx context.Context, mode Mode, desired *spec.Spec, recorded *state.State) *Outcome {
	next := &state.State{
		FormatVersion:   recorded.FormatVersion,
		Serial:          recorded.Serial,
		Lineage:         recorded.Lineage,
		PatwatchVersion: recorded.PatwatchVersion,
		Searches:        make(map[string]*state.Search, len(desired.Searches)),
		Reports:         make(map[string]*state.Report, len(desired.Reports)),
	}
	rep := &report.ChangeReport{Command: commandName(mode)}
	observed := map[string][]patsnap.Hit{}
	rn := findRenames(desired, recorded)
	prog := Progress{SearchesTotal: len(desired.Searches), ReportsTotal: len(desired.Reports)}
	r.tell(prog)

	if r.ReportsOnly {
		prog.SearchesTotal = 0
		for name, rec := range recorded.Searches {
			next.Searches[name] = rec
		}
	} else {
		searches := r.runSearches(ctx, desired, recorded, rn, &prog)
		for i, s := range desired.Searches {
			if rec := searches[i].rec; rec != nil {
				next.Searches[s.Name] = rec
			}
			if searches[i].observed != nil {
				observed[s.Name] = searches[i].observed
			}
			ch := searches[i].change
			ch.RenamedFrom = rn.searches[s.Name]
			rep.Searches = append(rep.Searches, ch)
		}
	}

	for _, d := range desired.Reports {
		rec := recorded.Reports[d.Name]
		if old, ok := rn.reports[d.Name]; ok {
			rec = recorded.Reports[old]
		}
		var ch report.ReportChange
		if ctx.Err() != nil {
			ch = errorChange(report.ReportChange{Name: d.Name, Patent: d.Patent()}, errInterrupted)
			if rec != nil {
				ch.JobID, ch.File = rec.JobID, rec.File
			}
		} else {
			rec, ch = r.reconcileReport(ctx, mode, d, rec, rn.reports[d.Name])
		}
		if rec != nil {
			next.Reports[d.Name] = rec
		}
		ch.RenamedFrom = rn.reports[d.Name]
		rep.Reports = append(rep.Reports, ch)
		prog.ReportsDone++
		if ch.Status == report.ReportPending {
			prog.Queue = append(prog.Queue, ch.QueueNum)
		}
		r.tell(prog)
	}
	gone, goneReports := removed(desired, recorded, rn)
	if !r.ReportsOnly {
		rep.Searches = append(rep.Searches, gone...)
	}
	rep.Reports = append(rep.Reports, goneReports...)
	addLinks(rep, desired.Links)
	rep.Finish()
	return &Outcome{Report: rep, State: next, Observed: observed}
}

type searchOutcome struct {
	rec      *state.Search
	change   report.SearchChange
	observed []patsnap.Hit // the API's answer, when the search succeeded
}

// runSearches refreshes every search with at most Concurrency at once and
// returns their outcomes in spec order.
func (r *Reconciler) runSearches(ctx context.Context, desired *spec.Spec, recorded *state.State, rn renames, prog *Progress) []searchOutcome {
	out := make([]searchOutcome, len(desired.Searches))
	uploads := r.uploadImages(ctx, desired)

	workers := r.Concurrency
	if workers <= 0 {
		workers = DefaultConcurrency
	}
	type done struct{ i int }
	jobs := make(chan int)
	results := make(chan done)
	var wg sync.WaitGroup
	for range min(workers, max(len(desired.Searches), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				name := desired.Searches[i].Name
				if old, ok := rn.searches[name]; ok {
					name = old
				}
				out[i] = r.refreshSearch(ctx, desired.Searches[i], recorded.Searches[name], uploads)
				results <- done{i}
			}
		}()
	}
	go func() {
		defer close(jobs)
		for i := range desired.Searches {
			jobs <- i
		}
	}()
	go func() {
		wg.Wait()
		close(results)
	}()
	for range results {
		prog.SearchesDone++
		r.tell(*prog)
	}
	return out
}

// refreshSearch calls the API for one search and diffs the answer.
func (r *Reconciler) refreshSearch(ctx context.Context, s spec.Search, rec *state.Search, uploads *imageUploads) searchOutcome {
	if s.Suspend {
		ch := report.SearchChange{Name: s.Name, Status: report.StatusSuspended}
		if rec != nil {
			ch.Hits = len(rec.Hits)
		}
		return searchOutcome{rec: rec, change: ch}
	}
	var obs SearchObservation
	if err := ctx.Err(); err != nil {
		obs.Err = errInterrupted
	} else if req, reused, err := searchRequest(s, uploads); err != nil {
		obs.Err = err
	} else {
		obs.Result, obs.Err = r.API.Search(ctx, req)
		if obs.Err != nil && patsnap.ClassOf(obs.Err) == patsnap.ClassInvalid && reused {
			// An upload URL remembered from an earlier run can stop working
			// before its stated expiry, or belong to another account: upload
			// the images afresh (unless another search refused with the same
			// URL did already) and ask once more.
			r.Log.Info().Str("search", s.Name).Err(obs.Err).Msg("the API refused the request with a reused image upload; uploading the image again")
			uploads.refresh(ctx, r, s)
			if req, _, err := searchRequest(s, uploads); err != nil {
				obs.Err = err
			} else {
				obs.Result, obs.Err = r.API.Search(ctx, req)
			}
		}
		if obs.Err != nil && ctx.Err() != nil {
			obs.Err = fmt.Errorf("interrupted: %w", obs.Err)
		}
	}
	if obs.Err != nil {
		r.Log.Warn().Str("search", s.Name).Err(obs.Err).Msg("search failed; its recorded hits are kept")
	}
	next, ch := DiffSearch(s, rec, obs, r.now())
	out := searchOutcome{rec: next, change: ch}
	if obs.Err == nil {
		r.Log.Debug().Str("search", s.Name).Str("status", string(ch.Status)).Int("hits", ch.Hits).Int("calls", obs.Result.Calls).Msg("search refreshed")
		if ch.Status != report.StatusError {
			out.observed = obs.Result.Hits
		}
	}
	return out
}

type uploaded struct {
	url    string
	reused bool // from the upload cache, not uploaded in this run
	err    error
}

// imageUploads are a run's uploads of local images, by digest. Searches
// read them concurrently; a search whose reused URL the API refuses has the
// image uploaded afresh, once per run.
type imageUploads struct {
	mu       sync.Mutex
	byDigest map[string]uploaded
	paths    map[string]string // digest → a path with that content
}

// uploadImages uploads each distinct local image once (the client reuses an
// upload still valid from an earlier run).
func (r *Reconciler) uploadImages(ctx context.Context, desired *spec.Spec) *imageUploads {
	u := &imageUploads{byDigest: map[string]uploaded{}, paths: map[string]string{}}
	for _, s := range desired.Searches {
		if s.Suspend {
			continue
		}
		for _, img := range s.Images {
			if img.Local() {
				u.paths[img.SHA256] = img.Path
			}
		}
	}
	for _, digest := range slices.Sorted(maps.Keys(u.paths)) {
		u.byDigest[digest] = r.upload(ctx, u.paths[digest], digest, r.API.UploadImage)
	}
	return u
}

func (u *imageUploads) get(digest string) (uploaded, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	up, ok := u.byDigest[digest]
	return up, ok
}

// refresh uploads afresh every reused image of s, unless another search did
// already in this run.
func (u *imageUploads) refresh(ctx context.Context, r *Reconciler, s spec.Search) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, img := range s.Images {
		if up, ok := u.byDigest[img.SHA256]; img.Local() && ok && up.reused {
			u.byDigest[img.SHA256] = r.upload(ctx, u.paths[img.SHA256], img.SHA256, r.API.ReuploadImage)
		}
	}
}

func (r *Reconciler) upload(ctx context.Context, path, digest string, send func(context.Context, string, []byte) (patsnap.Upload, error)) uploaded {
	data, err := os.ReadFile(path)
	if err != nil {
		return uploaded{err: fmt.Errorf("image %s: %w", path, err)}
	}
	if got := sha256Hex(data); got != digest {
		return uploaded{err: fmt.Errorf("image %s changed since the spec was loaded; run again", path)}
	}
	u, err := send(ctx, path, data)
	if err != nil {
		return uploaded{err: fmt.Errorf("upload %s: %w", path, err)}
	}
	return uploaded{url: u.URL, reused: u.Reused}
}

// searchRequest translates a spec search into the API's request. The
// filters pass as they are (spec and client share one type), and the API
// client applies max_results and min_score.
// reused says an image's URL came from the upload cache rather than from an
// upload of this run.
func searchRequest(s spec.Search, uploads *imageUploads) (req patsnap.SearchRequest, reused bool, err error) {
	req = patsnap.SearchRequest{
		PatentType: s.PatentType,
		Model:      s.Model,
		Filters:    s.Filters,
		MaxResults: s.MaxResults,
		MinScore:   s.MinScore,
	}
	for _, img := range s.Images {
		if !img.Local() {
			req.URLs = append(req.URLs, img.URL)
			continue
		}
		u, ok := uploads.get(img.SHA256)
		if !ok {
			return req, false, fmt.Errorf("image %s was not uploaded", img.Path)
		}
		if u.err != nil {
			return req, false, u.err
		}
		req.URLs = append(req.URLs, u.url)
		reused = reused || u.reused
	}
	return req, reused, nil
}

func (r *Reconciler) tell(p Progress) {
	if r.Progress != nil {
		p.Queue = append([]int(nil), p.Queue...)
		sort.Ints(p.Queue)
		r.Progress(p)
	}
}

func commandName(m Mode) string {
	if m == ModePlan {
		return "plan"
	}
	return "apply"
}

// addLinks gives every new and dropped hit its durable link.
func addLinks(rep *report.ChangeReport, links spec.Links) {
	for i := range rep.Searches {
		for _, hits := range [][]report.HitChange{rep.Searches[i].New, rep.Searches[i].Dropped} {
			for j := range hits {
				hits[j].Link = links.PatentURL(hits[j].PatentPN, hits[j].PatentID)
			}
		}
	}
}
