// Package reconciler reconciles a watch list (package spec) with what the
// state records (package state) and what the PatSnap API answers now, and
// describes the outcome as a change report.
//
// A run is a Scope carried out in one Mode. NewScope decides, before any
// call, which entries the run touches, in what order and within which
// budget, reading nothing but the report files the state records. The
// decisions within the run are pure functions: DiffSearch for a search,
// nextReportStep for a report's next step, PlanOffline for a
// spec-against-state review. The Reconciler's Run does the calls,
// concurrently and through the API client's shared rate cap, and returns a
// new state value for the caller to save; it never writes the state itself,
// and hands the outcome so far to a Checkpointer of the caller's while an
// apply goes on.
// A plan takes the same decisions and only the steps that change nothing.
//
// The analyst's decisions (spec.Decisions) are followed after each
// search's diff (applyDecisions): a not_relevant hit is recorded but never
// reported. Automatic value reports (auto.go) are reports the scope and
// the run add to the spec's own, and then live like them.
package reconciler

import (
	"context"
	"errors"
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
	Download(ctx context.Context, url, target, format string) (*patsnap.Download, error)
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
	// ModeOffline calls nothing: PlanOffline compares the spec with the
	// state alone, and states the worst case of the apply it previews.
	ModeOffline
)

// Command is the name of the command whose runs are of mode m, as a
// change report gives it: apply, or plan (offline or not).
func (m Mode) Command() string {
	if m == ModeApply {
		return "apply"
	}
	return "plan"
}

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

// Reconciler carries out a Scope: it makes the calls of one run. Its zero
// value is not usable: API, StateDir and ReportsDir are required. Run must
// not be called on one Reconciler from two goroutines at once.
type Reconciler struct {
	API         API
	StateDir    string // absolute; recorded report files are relative to it
	ReportsDir  string // absolute; where finished reports are downloaded
	Concurrency int
	Now         func() time.Time // nil: time.Now
	Log         zerolog.Logger
	// AllowMassDrop accepts, for every search, an answer that drops more
	// than half of its recorded hits at once (--allow-mass-drop), as the
	// spec's allow_mass_drop does for one.
	AllowMassDrop bool
	// Resubmit names the reports that may be submitted again past
	// MaxResubmissions in this run (--resubmit).
	Resubmit []string
	// Rebaseline names the searches whose answer is a new baseline in this
	// run, as if their query had changed (--rebaseline): their hits are
	// recorded afresh, none reported new or dropped.
	Rebaseline []string
	// Credentials names the environment variables that hold the run's
	// credentials, for the message of a run stopped because the API refused
	// them ("PATSNAP_API_KEY"); empty when there are none (the sandbox).
	Credentials string
	// Progress, when set, is told how the run advances. It is called from
	// the goroutine that runs Run, never concurrently.
	Progress func(Progress)
	// Observe, when set, says what Outcome.Observed keeps of each hit of a
	// refreshed search: ch is the search's change, rank the hit's place in
	// the answer and isNew whether ch reports it new; hit is the API's,
	// with its image link, as soon as the search is diffed (the drawings
	// step starts fetching then). nil keeps every hit with its link.
	// Called from the searches' goroutines at once.
	Observe func(ch *report.SearchChange, rank int, hit *patsnap.Hit, isNew bool) Keep
	// Record, when set on a plan, is filled with what the run saw and
	// decided, for a saved plan (see Recording); the recording it holds is
	// replaced.
	Record *Recording
	// Checkpoints, when set, keeps an apply's outcome while it runs (see
	// Checkpointer); nil: the outcome is only returned at the end.
	Checkpoints Checkpointer

	// replay is the saved plan's recording the run carries out (the
	// scope's); set by Run.
	replay *Recording
	// stop ends the run at its first account-wide error; set by Run.
	stop context.CancelCauseFunc
	// files holds the report files checked before the run (the scope's);
	// Run drops it when it returns.
	files fileChecks
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
	// presigned image links (which the state does not keep): those that
	// Reconciler.Observe asked for.
	Observed map[string][]ObservedHit

	// origins says why each automatic report of the run is asked for,
	// for the change report (setOrigins).
	origins map[string]autoOrigin
}

// Keep is what Outcome.Observed keeps of a hit.
type Keep uint8

const (
	KeepLink    Keep = iota // the hit with its image link
	KeepHit                 // its number, rank and score, not its link
	KeepNothing             // nothing: the steps after the save need nothing of it
)

// ObservedHit is what a run keeps of each hit an answer held, for the
// steps after the save (the drawings): the rest of the answer goes as soon
// as its search is diffed. Keeping whole answers to the end of a run held
// 0.8 KB a hit: on a million hits, more than twice the state's size.
type ObservedHit struct {
	PatentPN string
	Rank     int // its place in the answer, 0 first
	Score    float64
	URL      string // presigned; expires
	// LinkLeft marks a hit whose link Observe left out, or that had none
	// (a saved plan keeps no link of a hit it had recorded): URL is "".
	LinkLeft bool
}

// checkAccount stops the run if err is an account-wide error.
func (r *Reconciler) checkAccount(err error) {
	if err != nil && patsnap.IsAccountWide(err) && r.stop != nil {
		r.stop(&accountStop{err: err})
	}
}

// accountStop is the cause of a run stopped at an account-wide error.
type accountStop struct{ err error }

func (s *accountStop) Error() string {
	return "the run stopped at an account-wide error: " + s.err.Error()
}
func (s *accountStop) Unwrap() error { return s.err }

func accountStopOf(ctx context.Context) *accountStop {
	var as *accountStop
	if errors.As(context.Cause(ctx), &as) {
		return as
	}
	return nil
}

// errAccountStopped is the error of the items a run stopped at an
// account-wide error left undone; the change report states the error once.
var errAccountStopped = errors.New(report.NotDoneStopped)

// notDone is the error of an item left undone because ctx ended.
func notDone(ctx context.Context) error { return endedBy(ctx, errInterrupted) }

// cutShort is the error of an item whose call was under way when ctx
// ended: the call's own error (a cancelled request) says nothing more.
func cutShort(ctx context.Context) error { return endedBy(ctx, errCut) }

// endedBy is the error of an item that ctx's end left undone: the
// account-wide error's, interrupt for an interrupt, or the cause that
// ended ctx (a deadline, which says which).
func endedBy(ctx context.Context, interrupt error) error {
	cause := context.Cause(ctx)
	switch {
	case accountStopOf(ctx) != nil:
		return errAccountStopped
	case cause == nil || errors.Is(cause, context.Canceled):
		return interrupt
	}
	return fmt.Errorf("not done: %w", cause)
}

// Account error codes that say what to check (api/NOTES.md).
const (
	codeBalance       = 67200005
	codeClientExpired = 67200006
	codeDailyLimit    = 67200007
)

// accountAdvice says what to check after the account-wide error err.
// credentials names the variables that hold the credentials in use.
func accountAdvice(err error, credentials string) string {
	if errors.Is(err, patsnap.ErrAlwaysRateLimited) {
		return patsnap.Hint(err)
	}
	var ae *patsnap.APIError
	code := 0
	if errors.As(err, &ae) {
		code = ae.Code
	}
	switch code {
	case codeBalance:
		return "the PatSnap account's balance is used up: top it up on PatSnap's open platform, then run again"
	case codeClientExpired:
		return "the PatSnap client has expired: renew it on PatSnap's open platform, or set the credentials of a current client"
	case codeDailyLimit:
		return "the account's daily call limit is reached: runs succeed again after PatSnap's daily reset; " +
			"fewer searches, a lower max_results or api.max_calls_per_day keep a day's runs under it"
	}
	if credentials == "" {
		return "check the account on PatSnap's open platform"
	}
	return "PatSnap refused the credentials: check " + credentials +
		" (a key or secret that was rotated, revoked, or copied with a stray character)"
}

// priors are the records each spec entry starts its run from, in spec
// order: its own, the one it was renamed from, or a retired one it takes
// back.
type priors struct {
	searches       []*state.Search
	restoredSearch []bool
	reports        []*state.Report
	restoredReport []bool
}

func priorRecords(desired *spec.Spec, recorded *state.State, rn renames, now time.Time) priors {
	var p priors
	for _, s := range desired.Searches {
		rec, restored := recorded.Searches[s.Name], false
		if old, ok := rn.searches[s.Name]; ok {
			rec = recorded.Searches[old]
		} else if ret := recorded.RetiredSearches[s.Name]; rec == nil && ret != nil && ret.Fingerprint == s.Fingerprint && !expired(ret.RetiredAt, now) {
			back := *ret
			back.RetiredAt = time.Time{}
			rec, restored = &back, true
		}
		p.searches = append(p.searches, rec)
		p.restoredSearch = append(p.restoredSearch, restored)
	}
	for _, d := range desired.Reports {
		rec, restored := recorded.Reports[d.Name], false
		if old, ok := rn.reports[d.Name]; ok {
			rec = recorded.Reports[old]
		} else if ret := recorded.RetiredReports[d.Name]; rec == nil && ret != nil && sameRequest(d, ret) && !expired(ret.RetiredAt, now) {
			back := *ret
			back.RetiredAt = time.Time{}
			rec, restored = &back, true
		}
		p.reports = append(p.reports, rec)
		p.restoredReport = append(p.restoredReport, restored)
	}
	return p
}

// expired reports whether an entry retired at t is past its retention; with
// a zero now (no clock) none is.
func expired(t, now time.Time) bool {
	return !now.Before(t.Add(state.RetentionPeriod))
}

// keptRetired is the retired entries that stay retired: those within their
// retention whose name is not in the spec again (an entry back in the spec
// took its record back, or started afresh). It returns nil for none.
func keptRetired[T any](retired map[string]*T, inSpec map[string]bool, now time.Time, at func(*T) time.Time) map[string]*T {
	var kept map[string]*T
	for name, e := range retired {
		if inSpec[name] || expired(at(e), now) {
			continue
		}
		if kept == nil {
			kept = make(map[string]*T, len(retired))
		}
		kept[name] = e
	}
	return kept
}

// retire adds a copy of rec, retired at now, to retired under name.
func retire[T any](retired map[string]*T, name string, rec *T, now time.Time, set func(*T, time.Time)) map[string]*T {
	if rec == nil {
		return retired
	}
	if retired == nil {
		retired = map[string]*T{}
	}
	c := *rec
	set(&c, now)
	retired[name] = &c
	return retired
}

func desiredSearchNames(desired *spec.Spec) map[string]bool {
	names := make(map[string]bool, len(desired.Searches))
	for _, s := range desired.Searches {
		names[s.Name] = true
	}
	return names
}

func desiredReportNames(desired *spec.Spec) map[string]bool {
	names := make(map[string]bool, len(desired.Reports))
	for _, d := range desired.Reports {
		names[d.Name] = true
	}
	return names
}

type searchOutcome struct {
	rec      *state.Search
	change   report.SearchChange
	observed []ObservedHit // the API's answer, when the search succeeded
	// autos are the hits that meet the search's auto_report.
	autos []autoCandidate
	// answer is what Record keeps of a successful answer; nil when the
	// run records nothing.
	answer *RecordedSearch
}

// runSearches refreshes every search with at most Concurrency at once, each
// from its prior record, and hands each outcome to settled as it comes, in
// the calling goroutine. A search that has settled never waits for the
// next to be taken in: settled may take its time (a checkpoint's save).
func (r *Reconciler) runSearches(ctx context.Context, desired *spec.Spec, prior []*state.Search, settled func(i int, o searchOutcome)) {
	uploads := &imageUploads{}
	if r.replay == nil { // a saved plan's answers need no image
		uploads = r.uploadImages(ctx, desired)
	}

	workers := r.Concurrency
	if workers <= 0 {
		workers = DefaultConcurrency
	}
	type done struct {
		i int
		o searchOutcome
	}
	jobs := make(chan int)
	results := make(chan done, len(desired.Searches))
	var wg sync.WaitGroup
	for range min(workers, max(len(desired.Searches), 1)) {
		wg.Go(func() {
			for i := range jobs {
				results <- done{i, r.refreshSearch(ctx, desired.Searches[i], prior[i], uploads, desired.Decisions)}
			}
		})
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
	for d := range results {
		settled(d.i, d.o)
	}
}

// refreshSearch calls the API for one search and diffs the answer, whose
// new and dropped hits then follow the decisions ds.
func (r *Reconciler) refreshSearch(ctx context.Context, s spec.Search, rec *state.Search, uploads *imageUploads, ds *spec.Decisions) searchOutcome {
	if s.Suspend {
		ch := report.SearchChange{Name: s.Name, Status: report.StatusSuspended}
		if rec != nil {
			ch.Hits = len(rec.Hits)
		}
		return searchOutcome{rec: rec, change: ch}
	}
	if r.AllowMassDrop {
		s.AllowMassDrop = true
	}
	var obs SearchObservation
	if err := ctx.Err(); err != nil {
		obs.Err = notDone(ctx)
	} else if r.replay != nil {
		obs = r.replay.replayed(s, rec)
	} else if req, reused, err := searchRequest(s, uploads); err != nil {
		obs.Err = err
	} else {
		obs.Result, obs.Err = r.API.Search(ctx, req)
		r.checkAccount(obs.Err)
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
				r.checkAccount(obs.Err)
			}
		}
		if obs.Err != nil && ctx.Err() != nil && !patsnap.IsAccountWide(obs.Err) {
			// Cut by the run's end, which the change report states once.
			r.Log.Debug().Str("search", s.Name).Err(obs.Err).Msg("search cut short")
			obs.Err = cutShort(ctx)
		}
	}
	switch {
	case obs.Err == nil:
	case ctx.Err() != nil: // the run ended (an interrupt, an account-wide error): said once, at its end
		r.Log.Debug().Str("search", s.Name).Err(obs.Err).Msg("search not done; its recorded hits are kept")
	default:
		r.Log.Warn().Str("search", s.Name).Err(obs.Err).Msg("search failed; its recorded hits are kept")
	}
	next, ch := DiffSearch(s, r.rebaselined(s.Name, rec), obs, r.now())
	applyDecisions(&ch, ds)
	out := searchOutcome{rec: next, change: ch}
	if obs.Err == nil {
		r.Log.Debug().Str("search", s.Name).Str("status", string(ch.Status)).Int("hits", ch.Hits).Int("calls", obs.Result.Calls).Msg("search refreshed")
		if ch.Status != report.StatusError {
			out.observed = r.observed(&ch, obs.Result.Hits)
		}
		out.autos = autoCandidates(s, next, obs.Result.Hits, ch, ds)
		if r.Record != nil {
			answer := recordAnswer(s, rec, obs.Result)
			out.answer = &answer
		}
	}
	return out
}

// rebaselined is the record the answer of the search name is compared
// with: rec, or, for a search named in Rebaseline, rec as a record of no
// query, which makes the answer a new baseline.
func (r *Reconciler) rebaselined(name string, rec *state.Search) *state.Search {
	if rec == nil || !slices.Contains(r.Rebaseline, name) {
		return rec
	}
	forced := *rec
	forced.Fingerprint = ""
	return &forced
}

// observed is what Observe asks to keep of hits, the answer of the search
// whose change is ch.
func (r *Reconciler) observed(ch *report.SearchChange, hits []patsnap.Hit) []ObservedHit {
	isNew := make(map[string]bool, len(ch.New))
	for _, h := range ch.New {
		isNew[h.PatentPN] = true
	}
	keeps := make([]Keep, len(hits)) // KeepLink, unless Observe says less
	kept := len(keeps)
	for i, h := range hits {
		if r.Observe != nil {
			if keeps[i] = r.Observe(ch, i, &hits[i], isNew[h.PatentPN]); keeps[i] == KeepNothing {
				kept--
			}
		}
	}
	out := make([]ObservedHit, 0, kept) // what a run holds to its end: no spare room
	for i, h := range hits {
		switch {
		case keeps[i] == KeepLink && h.URL != "":
			out = append(out, ObservedHit{PatentPN: h.PatentPN, Rank: i, Score: h.Score, URL: h.URL})
		case keeps[i] != KeepNothing: // a saved plan keeps no link of a hit it had recorded
			out = append(out, ObservedHit{PatentPN: h.PatentPN, Rank: i, Score: h.Score, LinkLeft: true})
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
		r.checkAccount(err)
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
