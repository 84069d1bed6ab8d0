package reconciler

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/patwatch/patwatch/internal/patsnap"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

// runNow is the clock of the Run tests; it has a fraction of a second so
// that the truncation of recorded times shows.
var runNow = time.Date(2026, 11, 2, 10, 30, 15, 250_000_000, time.UTC)

func newTestReconciler(t *testing.T, api *fakeAPI) *Reconciler {
	t.Helper()
	api.t = t
	dir := t.TempDir()
	return &Reconciler{
		API:         api,
		StateDir:    dir,
		ReportsDir:  filepath.Join(dir, "reports"),
		Concurrency: 2,
		Now:         func() time.Time { return runNow },
		Log:         zerolog.Nop(),
	}
}

func newState(searches map[string]*state.Search, reports map[string]*state.Report) *state.State {
	st := state.New()
	if searches != nil {
		st.Searches = searches
	}
	if reports != nil {
		st.Reports = reports
	}
	return st
}

// run runs r over every entry and checks that the recorded state was left
// as it was.
func run(t *testing.T, ctx context.Context, r *Reconciler, mode Mode, desired *spec.Spec, recorded *state.State) *Outcome {
	t.Helper()
	before, err := json.Marshal(recorded)
	if err != nil {
		t.Fatal(err)
	}
	out := r.Run(ctx, NewScope(mode, desired, recorded, Selection{}, r.now(), r.StateDir))
	after, _ := json.Marshal(recorded)
	if string(before) != string(after) {
		t.Errorf("Run modified the recorded state:\nbefore %s\nafter  %s", before, after)
	}
	return out
}

func urlSearch(name string) spec.Search {
	return spec.Search{Name: name, Images: []spec.Image{{URL: "http://img/" + name}}, PatentType: "D", Model: 1,
		MaxResults: 100, DropAfter: 1, Fingerprint: "fp-" + name}
}

// answers serves each search's hits by the search's image URL; a URL with
// no entry is an API failure.
func answers(bySearch map[string][]string) func(context.Context, patsnap.SearchRequest) (*patsnap.SearchResult, error) {
	return func(_ context.Context, req patsnap.SearchRequest) (*patsnap.SearchResult, error) {
		name := strings.TrimPrefix(req.URLs[0], "http://img/")
		pns, ok := bySearch[name]
		if !ok {
			return nil, apiError(patsnap.EndpointSearchSingle, patsnap.ClassRetryable, "HTTP 503")
		}
		return &patsnap.SearchResult{Total: len(pns), Hits: hits(pns...), Calls: 1}, nil
	}
}

func searchByName(t *testing.T, rep *report.ChangeReport, name string) report.SearchChange {
	t.Helper()
	for _, s := range rep.Searches {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no search %q in the change report: %+v", name, rep.Searches)
	return report.SearchChange{}
}

func hitPNs(s *state.Search) []string {
	if s == nil {
		return nil
	}
	return slices.Sorted(maps.Keys(s.Hits))
}

func TestRunSearchBaselineThenChanges(t *testing.T) {
	api := &fakeAPI{search: answers(map[string][]string{"s": {"A", "B"}})}
	r := newTestReconciler(t, api)
	desired := &spec.Spec{Searches: []spec.Search{urlSearch("s")}}

	first := run(t, context.Background(), r, ModeApply, desired, state.New())
	if ch := searchByName(t, first.Report, "s"); ch.Status != report.StatusBaseline || ch.Hits != 2 || ch.Total != 2 || len(ch.New) != 0 {
		t.Errorf("first run: %+v; want a baseline of 2 hits, none new", ch)
	}
	if !first.Report.Changed {
		t.Error("a baseline is not reported as a change")
	}
	rec := first.State.Searches["s"]
	if got := hitPNs(rec); !reflect.DeepEqual(got, []string{"A", "B"}) || !rec.BaselineAt.Equal(runNow.Truncate(time.Second)) {
		t.Fatalf("recorded after the baseline: hits %v, baseline at %v", got, rec.BaselineAt)
	}

	api.search = answers(map[string][]string{"s": {"B", "C"}})
	second := run(t, context.Background(), r, ModeApply, desired, first.State)
	ch := searchByName(t, second.Report, "s")
	if ch.Status != report.StatusOK || !reflect.DeepEqual(pnsOf(ch.New), []string{"C"}) || !reflect.DeepEqual(pnsOf(ch.Dropped), []string{"A"}) {
		t.Errorf("second run: %+v; want C new and A dropped", ch)
	}
	if got := hitPNs(second.State.Searches["s"]); !reflect.DeepEqual(got, []string{"B", "C"}) {
		t.Errorf("recorded hits %v, want B C", got)
	}

	api.search = answers(map[string][]string{"s": {"B", "C"}})
	third := run(t, context.Background(), r, ModeApply, desired, second.State)
	if third.Report.Changed {
		t.Errorf("an unchanged search is reported as a change: %+v", third.Report.Searches)
	}
}

func TestRunSearchFailureIsIsolated(t *testing.T) {
	api := &fakeAPI{search: answers(map[string][]string{"ok": {"A"}})}
	r := newTestReconciler(t, api)
	failing := &state.Search{Fingerprint: "fp-bad", BaselineAt: t0, Hits: map[string]*state.Hit{"X": {FirstSeen: t0}}}
	recordedState := newState(map[string]*state.Search{"bad": failing}, nil)
	desired := &spec.Spec{Searches: []spec.Search{urlSearch("bad"), urlSearch("ok")}}

	out := run(t, context.Background(), r, ModeApply, desired, recordedState)
	bad := searchByName(t, out.Report, "bad")
	if bad.Status != report.StatusError || !strings.Contains(bad.Error, "HTTP 503") || bad.Hits != 1 || len(bad.Dropped) != 0 {
		t.Errorf("failed search: %+v; want error, its one hit kept, nothing dropped", bad)
	}
	if out.State.Searches["bad"] != failing {
		t.Errorf("the failed search's record was replaced: %+v", out.State.Searches["bad"])
	}
	if ok := searchByName(t, out.Report, "ok"); ok.Status != report.StatusBaseline || ok.Hits != 1 {
		t.Errorf("the other search: %+v; want its baseline", ok)
	}
	if !out.Report.Failed() {
		t.Error("the change report does not say a search failed")
	}
}

func TestRunInterruptedLeavesTheRestAsTheyWere(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	api := &fakeAPI{search: func(_ context.Context, req patsnap.SearchRequest) (*patsnap.SearchResult, error) {
		cancel() // the user presses ^C while the first search is answered
		return &patsnap.SearchResult{Hits: hits("A")}, nil
	}}
	r := newTestReconciler(t, api)
	r.Concurrency = 1
	second := &state.Search{Fingerprint: "fp-second", Hits: map[string]*state.Hit{"Z": {}}}
	rec := &state.Report{PatentNumber: "CN1", Format: "pdf", Logo: true, JobID: "100", Status: state.ReportPending, File: "reports/r.pdf"}
	desired := &spec.Spec{
		Searches: []spec.Search{urlSearch("first"), urlSearch("second")},
		Reports:  []spec.Report{{Name: "r", PatentNumber: "CN1", Format: "pdf", Logo: true}, {Name: "new", PatentNumber: "CN2", Format: "pdf"}},
	}

	out := run(t, ctx, r, ModeApply, desired, newState(map[string]*state.Search{"second": second}, map[string]*state.Report{"r": rec}))
	if ch := searchByName(t, out.Report, "first"); ch.Status != report.StatusBaseline {
		t.Errorf("the search answered before the interrupt: %+v; want its baseline", ch)
	}
	if ch := searchByName(t, out.Report, "second"); ch.Status != report.StatusError || ch.Error != "interrupted before it ran" || ch.Hits != 1 {
		t.Errorf("the search after the interrupt: %+v", ch)
	}
	if out.State.Searches["second"] != second {
		t.Error("the interrupted search's record was replaced")
	}
	want := []report.ReportChange{
		{Name: "r", Patent: "CN1", Status: report.ReportError, JobID: "100", File: "reports/r.pdf", Error: "interrupted before it ran", Origin: report.OriginSpec},
		{Name: "new", Patent: "CN2", Status: report.ReportError, Error: "interrupted before it ran", Origin: report.OriginSpec},
	}
	if !reflect.DeepEqual(out.Report.Reports, want) {
		t.Errorf("reports after the interrupt:\n got %+v\nwant %+v", out.Report.Reports, want)
	}
	if out.State.Reports["r"] != rec || len(out.State.Reports) != 1 {
		t.Errorf("reports recorded after the interrupt: %+v", out.State.Reports)
	}
	if got := api.Calls(); !reflect.DeepEqual(got, []string{"search [http://img/first]"}) {
		t.Errorf("calls %v", got)
	}
}

func TestRunSearchCutByTheInterruptSaysSo(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	api := &fakeAPI{search: func(ctx context.Context, req patsnap.SearchRequest) (*patsnap.SearchResult, error) {
		cancel()
		return nil, ctx.Err()
	}}
	r := newTestReconciler(t, api)
	out := run(t, ctx, r, ModeApply, &spec.Spec{Searches: []spec.Search{urlSearch("s")}}, state.New())
	if ch := searchByName(t, out.Report, "s"); ch.Status != report.StatusError || ch.Error != "interrupted before it finished" {
		t.Errorf("got %+v; want an error saying the run was interrupted", ch)
	}
	if _, ok := out.State.Searches["s"]; ok {
		t.Error("an interrupted first search was recorded")
	}
}

func TestRunSuspendRenameRemove(t *testing.T) {
	api := &fakeAPI{search: answers(map[string][]string{"new-name": {"A", "B"}})}
	r := newTestReconciler(t, api)
	paused := &state.Search{Fingerprint: "fp-paused", Hits: map[string]*state.Hit{"P": {}, "Q": {}}}
	old := &state.Search{Fingerprint: "fp-new-name", BaselineAt: t0, Hits: map[string]*state.Hit{"A": {FirstSeen: t0}}}
	recordedState := newState(map[string]*state.Search{
		"paused":   paused,
		"old-name": old,
		"gone":     {Fingerprint: "fp-gone"},
	}, nil)
	pausedSpec := urlSearch("paused")
	pausedSpec.Suspend = true
	desired := &spec.Spec{Searches: []spec.Search{pausedSpec, urlSearch("new-name")}}

	out := run(t, context.Background(), r, ModeApply, desired, recordedState)
	if ch := searchByName(t, out.Report, "paused"); ch.Status != report.StatusSuspended || ch.Hits != 2 {
		t.Errorf("suspended: %+v", ch)
	}
	if out.State.Searches["paused"] != paused {
		t.Error("a suspended search's record was replaced")
	}
	ch := searchByName(t, out.Report, "new-name")
	if ch.Status != report.StatusOK || ch.RenamedFrom != "old-name" || !reflect.DeepEqual(pnsOf(ch.New), []string{"B"}) {
		t.Errorf("renamed: %+v; want ok, renamed from old-name, B new", ch)
	}
	if got := out.State.Searches["new-name"]; got == nil || !got.BaselineAt.Equal(t0) || !got.Hits["A"].FirstSeen.Equal(t0) {
		t.Errorf("the renamed search did not keep its history: %+v", got)
	}
	if ch := searchByName(t, out.Report, "gone"); ch.Status != report.StatusRemoved {
		t.Errorf("removed: %+v", ch)
	}
	if got := slices.Sorted(maps.Keys(out.State.Searches)); !reflect.DeepEqual(got, []string{"new-name", "paused"}) {
		t.Errorf("recorded searches %v, want new-name and paused", got)
	}
	if len(out.Report.Searches) != 3 {
		t.Errorf("change report lists %d searches, want 3 (the old name is no removal): %+v", len(out.Report.Searches), out.Report.Searches)
	}
	if got := api.Calls(); !reflect.DeepEqual(got, []string{"search [http://img/new-name]"}) {
		t.Errorf("calls %v; want only the renamed search's", got)
	}
}

func TestRunReportsOnlyCarriesTheSearchesOver(t *testing.T) {
	api := &fakeAPI{status: func(string) (*patsnap.ReportStatus, error) {
		return &patsnap.ReportStatus{JobStatus: patsnap.JobExporting, QueueNum: 4}, nil
	}}
	r := newTestReconciler(t, api)
	var progress []Progress
	r.Progress = func(p Progress) { progress = append(progress, p) }
	kept := &state.Search{Fingerprint: "fp-s"}
	recordedState := newState(
		map[string]*state.Search{"s": kept, "gone": {Fingerprint: "fp-gone"}},
		map[string]*state.Report{"r": {PatentNumber: "CN1", Format: "pdf", Logo: true, JobID: "100", Status: state.ReportPending}, "old": {PatentID: "id-9", JobID: "9"}},
	)
	desired := &spec.Spec{Searches: []spec.Search{urlSearch("s")}, Reports: []spec.Report{{Name: "r", PatentNumber: "CN1", Format: "pdf", Logo: true}}}

	out := runSelected(t, r, ModeApply, desired, recordedState, Selection{ReportsOnly: true})
	if len(out.Report.Searches) != 0 {
		t.Errorf("a reports-only run lists searches: %+v", out.Report.Searches)
	}
	if out.State.Searches["s"] != kept || out.State.Searches["gone"] == nil {
		t.Errorf("searches not carried over: %+v", out.State.Searches)
	}
	want := []report.ReportChange{
		{Name: "r", Patent: "CN1", Status: report.ReportPending, JobID: "100", QueueNum: 4, Origin: report.OriginSpec},
		{Name: "old", Patent: "id-9", Status: report.ReportRemoved, JobID: "9", Origin: report.OriginSpec},
	}
	if !reflect.DeepEqual(out.Report.Reports, want) {
		t.Errorf("reports:\n got %+v\nwant %+v", out.Report.Reports, want)
	}
	if _, ok := out.State.Reports["old"]; ok {
		t.Error("a removed report is still recorded")
	}
	last := progress[len(progress)-1]
	if wantLast := (Progress{ReportsDone: 1, ReportsTotal: 1, Queue: []int{4}}); !reflect.DeepEqual(last, wantLast) {
		t.Errorf("last progress %+v, want %+v", last, wantLast)
	}
}

func TestRunProgressCountsEverySearch(t *testing.T) {
	api := &fakeAPI{search: answers(map[string][]string{"a": {"A"}, "b": {"B"}, "c": {"C"}})}
	r := newTestReconciler(t, api)
	var mu sync.Mutex
	var done []int
	r.Progress = func(p Progress) {
		mu.Lock()
		defer mu.Unlock()
		if p.SearchesTotal != 3 {
			t.Errorf("progress total %d, want 3", p.SearchesTotal)
		}
		done = append(done, p.SearchesDone)
	}
	run(t, context.Background(), r, ModeApply, &spec.Spec{Searches: []spec.Search{urlSearch("a"), urlSearch("b"), urlSearch("c")}}, state.New())
	if !reflect.DeepEqual(done, []int{0, 1, 2, 3}) {
		t.Errorf("searches done as told: %v, want 0 1 2 3", done)
	}
}

// localSearch is a search of one local image file.
func localSearch(t *testing.T, name, path string) spec.Search {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := urlSearch(name)
	s.Images = []spec.Image{{Path: path, SHA256: sha256Hex(b)}}
	return s
}

// reusedUploadAPI uploads img from the cache (a stale URL the API refuses)
// and afresh on demand. When both is set, the stale searches are held until
// two have arrived, so that both fail before either uploads again.
func reusedUploadAPI(both bool) *fakeAPI {
	arrived := make(chan struct{}, 2)
	held := make(chan struct{})
	var once sync.Once
	return &fakeAPI{
		upload:   func(string) (patsnap.Upload, error) { return patsnap.Upload{URL: "http://up/stale", Reused: true}, nil },
		reupload: func(string) (patsnap.Upload, error) { return patsnap.Upload{URL: "http://up/fresh"}, nil },
		search: func(ctx context.Context, req patsnap.SearchRequest) (*patsnap.SearchResult, error) {
			if req.URLs[0] != "http://up/stale" {
				return &patsnap.SearchResult{Hits: hits("A")}, nil
			}
			if both {
				arrived <- struct{}{}
				if len(arrived) == 2 {
					once.Do(func() { close(held) })
				}
				select {
				case <-held:
				case <-ctx.Done():
				}
			}
			return nil, apiError(patsnap.EndpointSearchSingle, patsnap.ClassInvalid, "invalid image url")
		},
	}
}

func TestRunUploadsAgainWhenAReusedUploadIsRefused(t *testing.T) {
	img := filepath.Join(t.TempDir(), "chair.png")
	if err := os.WriteFile(img, []byte("png bytes"), 0o644); err != nil {
		t.Fatal(err)
	}
	api := reusedUploadAPI(false)
	r := newTestReconciler(t, api)
	r.Concurrency = 1
	desired := &spec.Spec{Searches: []spec.Search{localSearch(t, "one", img), localSearch(t, "two", img)}}

	out := run(t, context.Background(), r, ModeApply, desired, state.New())
	for _, name := range []string{"one", "two"} {
		if ch := searchByName(t, out.Report, name); ch.Status != report.StatusBaseline {
			t.Errorf("%s: %+v; want a baseline after the fresh upload", name, ch)
		}
	}
	want := []string{"reupload " + img, "search [http://up/fresh]", "search [http://up/fresh]", "search [http://up/stale]", "upload " + img}
	if got := api.Calls(); !reflect.DeepEqual(got, want) {
		t.Errorf("calls:\n got %q\nwant %q", got, want)
	}
}

// TestRunUploadsAgainForSearchesRefusedTogether is the same with both
// searches refused before either uploads the image again.
func TestRunUploadsAgainForSearchesRefusedTogether(t *testing.T) {
	img := filepath.Join(t.TempDir(), "chair.png")
	if err := os.WriteFile(img, []byte("png bytes"), 0o644); err != nil {
		t.Fatal(err)
	}
	api := reusedUploadAPI(true)
	r := newTestReconciler(t, api)
	desired := &spec.Spec{Searches: []spec.Search{localSearch(t, "one", img), localSearch(t, "two", img)}}

	out := run(t, context.Background(), r, ModeApply, desired, state.New())
	for _, name := range []string{"one", "two"} {
		if ch := searchByName(t, out.Report, name); ch.Status != report.StatusBaseline {
			t.Errorf("%s: %+v; want a baseline after the fresh upload", name, ch)
		}
	}
	want := []string{"reupload " + img, "search [http://up/fresh]", "search [http://up/fresh]", "search [http://up/stale]", "search [http://up/stale]", "upload " + img}
	if got := api.Calls(); !reflect.DeepEqual(got, want) {
		t.Errorf("calls:\n got %q\nwant %q", got, want)
	}
}

func TestRunRefusedFreshUploadIsAnError(t *testing.T) {
	img := filepath.Join(t.TempDir(), "chair.png")
	if err := os.WriteFile(img, []byte("png bytes"), 0o644); err != nil {
		t.Fatal(err)
	}
	api := &fakeAPI{
		upload: func(string) (patsnap.Upload, error) { return patsnap.Upload{URL: "http://up/fresh"}, nil },
		search: func(context.Context, patsnap.SearchRequest) (*patsnap.SearchResult, error) {
			return nil, apiError(patsnap.EndpointSearchSingle, patsnap.ClassInvalid, "invalid image url")
		},
	}
	r := newTestReconciler(t, api)
	out := run(t, context.Background(), r, ModeApply, &spec.Spec{Searches: []spec.Search{localSearch(t, "s", img)}}, state.New())
	if ch := searchByName(t, out.Report, "s"); ch.Status != report.StatusError || !strings.Contains(ch.Error, "invalid image url") {
		t.Errorf("got %+v; want the API's refusal", ch)
	}
	if got := api.Calls(); len(got) != 2 {
		t.Errorf("calls %v; want one upload and one search, no second upload of a fresh URL", got)
	}
}

func TestRunImageProblemsFailTheirSearch(t *testing.T) {
	dir := t.TempDir()
	changed := filepath.Join(dir, "changed.png")
	refused := filepath.Join(dir, "refused.png")
	for _, p := range []string{changed, refused} {
		if err := os.WriteFile(p, []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	changedSearch := localSearch(t, "changed", changed)
	if err := os.WriteFile(changed, []byte("edited after the spec was loaded"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := urlSearch("missing")
	missing.Images = []spec.Image{{Path: filepath.Join(dir, "missing.png"), SHA256: "00"}}
	api := &fakeAPI{
		upload: func(string) (patsnap.Upload, error) {
			return patsnap.Upload{}, apiError(patsnap.EndpointUpload, patsnap.ClassInvalid, "image too large")
		},
	}
	r := newTestReconciler(t, api)
	desired := &spec.Spec{Searches: []spec.Search{changedSearch, localSearch(t, "refused", refused), missing}}

	out := run(t, context.Background(), r, ModeApply, desired, state.New())
	for name, want := range map[string]string{
		"changed": "changed since the spec was loaded; run again",
		"refused": "upload " + refused + ": patsnap P010: image too large",
		"missing": "missing.png: no such file",
	} {
		if ch := searchByName(t, out.Report, name); ch.Status != report.StatusError || !strings.Contains(ch.Error, want) {
			t.Errorf("%s: %+v; want an error with %q", name, ch, want)
		}
	}
	if got := api.Calls(); !reflect.DeepEqual(got, []string{"upload " + refused}) {
		t.Errorf("calls %v; want only the one upload attempt", got)
	}
}

func TestRunGivesNewAndDroppedHitsTheirDurableLink(t *testing.T) {
	api := &fakeAPI{search: answers(map[string][]string{"s": {"A", "B"}})}
	r := newTestReconciler(t, api)
	desired := &spec.Spec{Searches: []spec.Search{urlSearch("s")}, Links: spec.Links{Patent: "https://example.test/p?q=pn%3D{patent_pn}"}}
	first := run(t, context.Background(), r, ModeApply, desired, state.New())
	api.search = answers(map[string][]string{"s": {"B", "C/1"}})
	ch := searchByName(t, run(t, context.Background(), r, ModeApply, desired, first.State).Report, "s")
	if len(ch.New) != 1 || ch.New[0].Link != "https://example.test/p?q=pn%3DC%2F1" {
		t.Errorf("new hits %+v; want C/1 linked with its number query-escaped", ch.New)
	}
	if len(ch.Dropped) != 1 || ch.Dropped[0].Link != "https://example.test/p?q=pn%3DA" {
		t.Errorf("dropped hits %+v; want A linked", ch.Dropped)
	}
}

func accountError(code int) error {
	return &patsnap.APIError{Endpoint: patsnap.EndpointSearchSingle, HTTPStatus: 200, Code: code, Msg: "account problem", Class: patsnap.ClassAccount}
}

// TestRunStopsAtAnAccountWideError checks that the first account-wide error
// ends the run: what is not done yet is left as it was, reported as an
// error, and the change report says once what to check.
func TestRunStopsAtAnAccountWideError(t *testing.T) {
	tests := []struct {
		name        string
		code        int
		credentials string
		wantCheck   string
	}{
		{"balance", 67200005, "PATSNAP_API_KEY", "balance is used up"},
		{"expired client", 67200006, "PATSNAP_CLIENT_ID and PATSNAP_CLIENT_SECRET", "client has expired"},
		{"daily limit", 67200007, "PATSNAP_API_KEY", "daily call limit"},
		{"credentials refused with a key", 67200003, "PATSNAP_API_KEY", "refused the credentials: check PATSNAP_API_KEY"},
		{"credentials refused in mode A", 0, "PATSNAP_CLIENT_ID and PATSNAP_CLIENT_SECRET", "check PATSNAP_CLIENT_ID and PATSNAP_CLIENT_SECRET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &fakeAPI{search: func(_ context.Context, req patsnap.SearchRequest) (*patsnap.SearchResult, error) {
				if req.URLs[0] == "http://img/b" {
					return nil, accountError(tt.code)
				}
				return &patsnap.SearchResult{Hits: hits("A"), Total: 1}, nil
			}}
			r := newTestReconciler(t, api)
			r.Concurrency = 1 // in spec order
			r.Credentials = tt.credentials
			keptC := recorded("fp-c", map[string]int{"C": 0})
			pending := recordedReport(nil)
			recordedState := newState(map[string]*state.Search{"c": keptC}, map[string]*state.Report{"r": pending})
			desired := &spec.Spec{Searches: []spec.Search{urlSearch("a"), urlSearch("b"), urlSearch("c"), urlSearch("d")}, Reports: []spec.Report{wantedReport}}

			out := run(t, context.Background(), r, ModeApply, desired, recordedState)
			if got := api.Calls(); !reflect.DeepEqual(got, []string{"search [http://img/a]", "search [http://img/b]"}) {
				t.Errorf("calls %q; want a's and b's searches only", got)
			}
			stop := out.Report.Stopped
			if stop == nil || !strings.Contains(stop.Error, "account problem") || !strings.Contains(stop.Check, tt.wantCheck) {
				t.Fatalf("stopped: %+v; want the error and a check saying %q", stop, tt.wantCheck)
			}
			if a := searchByName(t, out.Report, "a"); a.Status != report.StatusBaseline {
				t.Errorf("a, done before the error: %+v", a)
			}
			if b := searchByName(t, out.Report, "b"); b.Status != report.StatusError || !strings.Contains(b.Error, "account problem") {
				t.Errorf("b: %+v; want its own error", b)
			}
			for _, name := range []string{"c", "d"} {
				if ch := searchByName(t, out.Report, name); ch.Status != report.StatusError || ch.Error != errAccountStopped.Error() {
					t.Errorf("%s: %+v; want error %q", name, ch, errAccountStopped)
				}
			}
			if r := out.Report.Reports[0]; r.Status != report.ReportError || r.Error != errAccountStopped.Error() || r.JobID != "100" {
				t.Errorf("report: %+v; want error %q with its job", r, errAccountStopped)
			}
			if out.State.Searches["c"] != keptC || out.State.Reports["r"] != pending {
				t.Error("the entries left undone did not keep their records")
			}
			if _, ok := out.State.Searches["d"]; ok {
				t.Error("a search never run was recorded")
			}
		})
	}
}

func TestRunStopsAtAnAccountWideErrorOfAReport(t *testing.T) {
	api := &fakeAPI{create: func(req patsnap.ReportRequest) (string, error) {
		return "", &patsnap.APIError{Endpoint: patsnap.EndpointReportCreate, Code: 67200005, Class: patsnap.ClassAccount}
	}}
	r := newTestReconciler(t, api)
	second := spec.Report{Name: "second", PatentNumber: "CN2", Format: "pdf", Logo: true}
	out := run(t, context.Background(), r, ModeApply, &spec.Spec{Reports: []spec.Report{wantedReport, second}}, state.New())
	if got := api.Calls(); !reflect.DeepEqual(got, []string{callCreate}) {
		t.Errorf("calls %q; want the first create only", got)
	}
	if out.Report.Stopped == nil || out.Report.Reports[1].Error != errAccountStopped.Error() {
		t.Errorf("stopped %+v, second report %+v", out.Report.Stopped, out.Report.Reports[1])
	}
}

func TestRunAllowMassDrop(t *testing.T) {
	many := map[string]int{}
	for i := range 12 {
		many[fmt.Sprintf("P%02d", i)] = 0
	}
	for _, allow := range []bool{false, true} {
		api := &fakeAPI{search: answers(map[string][]string{"s": {"P00"}})}
		r := newTestReconciler(t, api)
		r.AllowMassDrop = allow
		out := run(t, context.Background(), r, ModeApply, &spec.Spec{Searches: []spec.Search{urlSearch("s")}},
			newState(map[string]*state.Search{"s": recorded("fp-s", many)}, nil))
		ch := searchByName(t, out.Report, "s")
		if allow && (ch.Status != report.StatusOK || len(ch.Dropped) != 11) {
			t.Errorf("allowed: %+v; want 11 dropped", ch)
		}
		if !allow && (ch.Status != report.StatusError || len(out.State.Searches["s"].Hits) != 12) {
			t.Errorf("not allowed: %+v; want an error and the 12 hits kept", ch)
		}
	}
}

// TestRunRetiresAndRestores checks the life of a removed entry: retired,
// reported removed once, given back to an entry added back under its name
// with the same query or request, and dropped after the retention period.
func TestRunRetiresAndRestores(t *testing.T) {
	api := &fakeAPI{search: answers(map[string][]string{"kept": {"K"}, "gone": {"A", "B"}})}
	r := newTestReconciler(t, api)
	gone := &state.Search{Fingerprint: "fp-gone", BaselineAt: t0, Hits: map[string]*state.Hit{"A": {FirstSeen: t0}}}
	goneReport := recordedReport(downloaded("reports/r.pdf", earlierPDF, linkEnd))
	if err := os.MkdirAll(filepath.Join(r.StateDir, "reports"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(r.StateDir, "reports/r.pdf"), []byte(earlierPDF), 0o644); err != nil {
		t.Fatal(err)
	}
	recordedState := newState(map[string]*state.Search{"kept": recorded("fp-kept", map[string]int{"K": 0}), "gone": gone},
		map[string]*state.Report{"r": goneReport})
	keptOnly := &spec.Spec{Searches: []spec.Search{urlSearch("kept")}}
	retiredAt := runNow.Truncate(time.Second)

	// Removed: reported once, retired with the time.
	first := run(t, context.Background(), r, ModeApply, keptOnly, recordedState)
	if ch := searchByName(t, first.Report, "gone"); ch.Status != report.StatusRemoved || ch.Hits != 1 {
		t.Errorf("removed search: %+v", ch)
	}
	if rs := first.Report.Reports; len(rs) != 1 || rs[0].Status != report.ReportRemoved {
		t.Errorf("removed report: %+v", rs)
	}
	ret := first.State.RetiredSearches["gone"]
	if ret == nil || !ret.RetiredAt.Equal(retiredAt) || len(ret.Hits) != 1 || first.State.Searches["gone"] != nil {
		t.Fatalf("retired search: %+v; live: %+v", ret, first.State.Searches["gone"])
	}
	if rr := first.State.RetiredReports["r"]; rr == nil || !rr.RetiredAt.Equal(retiredAt) || rr.JobID != "100" {
		t.Fatalf("retired report: %+v", rr)
	}
	if gone.RetiredAt != (time.Time{}) {
		t.Error("retiring modified the recorded search")
	}

	// The next run does not report it again, and keeps it retired.
	second := run(t, context.Background(), r, ModeApply, keptOnly, first.State)
	if len(second.Report.Searches) != 1 || len(second.Report.Reports) != 0 || second.State.RetiredSearches["gone"] != ret {
		t.Errorf("second run: %+v %+v; retired %+v", second.Report.Searches, second.Report.Reports, second.State.RetiredSearches)
	}

	// Added back with the same query and request: the records come back.
	back := &spec.Spec{Searches: []spec.Search{urlSearch("kept"), urlSearch("gone")}, Reports: []spec.Report{wantedReport}}
	third := run(t, context.Background(), r, ModeApply, back, second.State)
	ch := searchByName(t, third.Report, "gone")
	if ch.Status != report.StatusOK || !ch.Restored || !reflect.DeepEqual(pnsOf(ch.New), []string{"B"}) {
		t.Errorf("restored search: %+v; want ok, restored, B new", ch)
	}
	if got := third.State.Searches["gone"]; got == nil || !got.BaselineAt.Equal(t0) || !got.Hits["A"].FirstSeen.Equal(t0) || !got.RetiredAt.IsZero() {
		t.Errorf("restored record: %+v", got)
	}
	if rc := third.Report.Reports[0]; rc.Status != report.ReportReady || !rc.Restored || rc.JobID != "100" {
		t.Errorf("restored report: %+v; want ready from job 100", rc)
	}
	if third.State.RetiredSearches != nil || third.State.RetiredReports != nil {
		t.Errorf("still retired: %+v %+v", third.State.RetiredSearches, third.State.RetiredReports)
	}
	if !third.Report.Changed {
		t.Error("a restoration is not reported as a change")
	}
	for _, c := range api.Calls() {
		if strings.HasPrefix(c, "create") {
			t.Errorf("a restored report submitted a job: %v", api.Calls())
		}
	}
}

func TestRunRetiredEntriesAddedBackOtherwiseOrLateStartAfresh(t *testing.T) {
	retired := func(at time.Time) *state.State {
		st := newState(nil, nil)
		s := recorded("fp-gone", map[string]int{"A": 0})
		s.RetiredAt = at
		st.RetiredSearches = map[string]*state.Search{"gone": s}
		rep := recordedReport(nil)
		rep.RetiredAt = at
		st.RetiredReports = map[string]*state.Report{"r": rep}
		return st
	}
	otherQuery := urlSearch("gone")
	otherQuery.Fingerprint = "fp-other"
	otherFormat := wantedReport
	otherFormat.Format = "word"
	tests := []struct {
		name    string
		desired *spec.Spec
		at      time.Time
		want    report.SearchStatus
	}{
		{"another query", &spec.Spec{Searches: []spec.Search{otherQuery}, Reports: []spec.Report{otherFormat}}, runNow.Add(-time.Hour), report.StatusBaseline},
		{"past the retention", &spec.Spec{Searches: []spec.Search{urlSearch("gone")}, Reports: []spec.Report{wantedReport}}, runNow.Add(-state.RetentionPeriod - time.Second), report.StatusBaseline},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &fakeAPI{search: answers(map[string][]string{"gone": {"A", "B"}}), create: createJob}
			r := newTestReconciler(t, api)
			out := run(t, context.Background(), r, ModeApply, tt.desired, retired(tt.at))
			if ch := searchByName(t, out.Report, "gone"); ch.Status != tt.want || ch.Restored {
				t.Errorf("search: %+v; want %s, not restored", ch, tt.want)
			}
			if rc := out.Report.Reports[0]; rc.Status != report.ReportSubmitted || rc.Restored {
				t.Errorf("report: %+v; want a new job", rc)
			}
			if out.State.RetiredSearches != nil || out.State.RetiredReports != nil {
				t.Errorf("the retired records stayed: %+v %+v", out.State.RetiredSearches, out.State.RetiredReports)
			}
		})
	}

	// Past the retention, a retired entry is dropped even if not added back.
	r := newTestReconciler(t, &fakeAPI{})
	out := run(t, context.Background(), r, ModeApply, &spec.Spec{}, retired(runNow.Add(-state.RetentionPeriod-time.Second)))
	if out.State.RetiredSearches != nil || out.State.RetiredReports != nil {
		t.Errorf("expired retired entries kept: %+v %+v", out.State.RetiredSearches, out.State.RetiredReports)
	}
	out = run(t, context.Background(), r, ModeApply, &spec.Spec{}, retired(runNow.Add(-state.RetentionPeriod+time.Minute)))
	if out.State.RetiredSearches == nil || out.State.RetiredReports == nil {
		t.Error("retired entries within the retention were dropped")
	}
}

// TestObservedKeepsOnlyWhatIsAsked: the run keeps of each answer what
// Observe asks for each hit: its number, rank, score and image link, the
// same without the link, or nothing; Observe sees each hit's rank and
// whether it is new. A refreshed search of which nothing is kept is still
// in Observed (it was refreshed), without hits.
func TestObservedKeepsOnlyWhatIsAsked(t *testing.T) {
	api := &fakeAPI{search: answers(map[string][]string{"a": {"A1", "A2", "A3"}, "b": {"B1", "B2"}, "c": {"C1"}})}
	r := newTestReconciler(t, api)
	var mu sync.Mutex
	var asked []string
	r.Observe = func(ch *report.SearchChange, rank int, hit *patsnap.Hit, isNew bool) Keep {
		pn := hit.PatentPN
		mu.Lock()
		defer mu.Unlock()
		asked = append(asked, fmt.Sprintf("%s %s %d %s %v", ch.Name, ch.Status, rank, pn, isNew))
		switch {
		case isNew || (ch.Status == report.StatusBaseline && rank == 0):
			return KeepLink
		case pn == "A1" || ch.Name == "c":
			return KeepNothing
		}
		return KeepHit
	}
	recordedState := newState(map[string]*state.Search{"a": recorded("fp-a", map[string]int{"A1": 0, "A2": 0}), "c": recorded("fp-c", map[string]int{"C1": 0})}, nil)
	out := run(t, context.Background(), r, ModeApply, &spec.Spec{Searches: []spec.Search{urlSearch("a"), urlSearch("b"), urlSearch("c")}}, recordedState)

	slices.Sort(asked)
	want := []string{"a ok 0 A1 false", "a ok 1 A2 false", "a ok 2 A3 true", "b baseline 0 B1 false", "b baseline 1 B2 false", "c ok 0 C1 false"}
	if !reflect.DeepEqual(asked, want) {
		t.Errorf("Observe asked\n%q\nwant\n%q", asked, want)
	}
	kept := func(name string) (got []string) {
		for _, h := range out.Observed[name] {
			if h.Score == 0 {
				t.Errorf("%s: %s has no score", name, h.PatentPN)
			}
			got = append(got, fmt.Sprintf("%s %d %q %v", h.PatentPN, h.Rank, h.URL, h.LinkLeft))
		}
		return got
	}
	if got, want := kept("a"), []string{`A2 1 "" true`, `A3 2 "http://img/A3?X-Amz-Signature=s" false`}; !reflect.DeepEqual(got, want) {
		t.Errorf("a: %q, want %q", got, want)
	}
	if got, want := kept("b"), []string{`B1 0 "http://img/B1?X-Amz-Signature=s" false`, `B2 1 "" true`}; !reflect.DeepEqual(got, want) {
		t.Errorf("b: %q, want %q", got, want)
	}
	if hits, ok := out.Observed["c"]; !ok || hits == nil || len(hits) != 0 {
		t.Errorf("c: %v (in Observed: %v), want refreshed with no hit kept", hits, ok)
	}
}
