package drawings

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/patwatch/patwatch/internal/patsnap"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/reconciler"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

// newTestStep is a Step keeping its drawings in a temporary directory,
// fetching from loopback.
func newTestStep(t testing.TB) *Step {
	return &Step{Cache: ForStateFile(filepath.Join(t.TempDir(), "s.json")), Fetcher: Fetcher{Reach: WithLoopback, Timeout: 10 * time.Second},
		Baseline: DefaultBaseline}
}

// quietApply is an apply of sp that found nothing: Start, then Keep.
func quietApply(t testing.TB, s *Step, sp *spec.Spec) {
	s.Start(t.Context(), sp)
	out := &reconciler.Outcome{Report: &report.ChangeReport{}, State: &state.State{Searches: map[string]*state.Search{}}}
	for _, q := range sp.Searches {
		out.Report.Searches = append(out.Report.Searches, report.SearchChange{Name: q.Name, Status: report.StatusOK})
		out.State.Searches[q.Name] = &state.Search{Hits: map[string]*state.Hit{}}
	}
	s.Keep(t.Context(), out)
}

// TestObserveFetchesAtOnce checks that a new hit's drawing is fetched as
// soon as observe sees it, not when Keep is called, and that Keep records
// it.
func TestObserveFetchesAtOnce(t *testing.T) {
	png := encode(t, lines(100, 80), PNG)
	asked := make(chan string, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked <- r.URL.Path
		w.Write(png)
	}))
	defer srv.Close()
	s := newTestStep(t)
	sp := &spec.Spec{Searches: []spec.Search{{Name: "a", PatentType: "D", Model: 1, MaxResults: 10}}}
	observe := s.Start(t.Context(), sp)
	ch := &report.SearchChange{Name: "a", Status: report.StatusOK, New: []report.HitChange{{PatentPN: "N1"}}}
	if keep := observe(ch, 0, &patsnap.Hit{PatentPN: "N1", Score: 0.9, URL: srv.URL + "/n1.png"}, true); keep != reconciler.KeepHit {
		t.Errorf("observe kept %v of a new hit whose drawing it fetches, want its number and score", keep)
	}
	if keep := observe(ch, 1, &patsnap.Hit{PatentPN: "OLD", Score: 0.8, URL: srv.URL + "/old.png"}, false); keep != reconciler.KeepHit {
		t.Errorf("observe kept %v of a hit the index has no score for", keep)
	}
	select {
	case p := <-asked:
		if p != "/n1.png" {
			t.Errorf("fetched %s", p)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the new hit's drawing was not fetched before Keep")
	}
	out := &reconciler.Outcome{Report: &report.ChangeReport{Searches: []report.SearchChange{*ch}},
		State:    &state.State{Searches: map[string]*state.Search{"a": {Hits: map[string]*state.Hit{"N1": {}, "OLD": {}}}}},
		Observed: map[string][]reconciler.ObservedHit{"a": {{PatentPN: "N1", Rank: 0, Score: 0.9, LinkLeft: true}, {PatentPN: "OLD", Rank: 1, Score: 0.8, LinkLeft: true}}}}
	page := s.Keep(t.Context(), out)()
	idx, err := s.Cache.LoadIndex(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if e := idx.Searches["a"].Hits["N1"]; e == nil || e.Drawing.IsZero() || !e.Want || e.Score != 0.9 {
		t.Errorf("the new hit's entry: %+v", e)
	}
	if e := idx.Searches["a"].Hits["OLD"]; e == nil || !e.Drawing.IsZero() || e.Want || e.Score != 0.8 {
		t.Errorf("the old hit's entry: %+v", e)
	}
	if page.Drawings["a"]["N1"].Image == nil {
		t.Errorf("the page lacks the new hit's drawing: %+v", page.Drawings["a"]["N1"])
	}
	if len(asked) != 0 {
		t.Errorf("fetched again: %s", <-asked)
	}
}

// TestGiveUpOnAFailingHost checks that a host that fails three times in a
// row is not asked again in the run, while another host is.
func TestGiveUpOnAFailingHost(t *testing.T) {
	png := encode(t, lines(100, 80), PNG)
	var down atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.Host, "127.0.0.1") {
			down.Add(1)
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Write(png)
	}))
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]
	s := newTestStep(t)
	s.Concurrency = 1 // one at a time: the count of requests is exact
	rep := &report.ChangeReport{Searches: []report.SearchChange{{Name: "a", Status: report.StatusOK}}}
	for i := range 10 {
		host := "127.0.0.1:" + port // down
		if i%5 == 4 {
			host = "localhost:" + port // up
		}
		rep.Searches[0].New = append(rep.Searches[0].New, report.HitChange{PatentPN: fmt.Sprint("H", i), ImageURL: fmt.Sprintf("http://%s/%d.png", host, i)})
	}
	page := s.Plan(t.Context(), &spec.Spec{}, rep)
	if n := down.Load(); n != giveUpAfter {
		t.Errorf("the failing host was asked %d times, want %d", n, giveUpAfter)
	}
	for i := range 10 {
		p := page.Drawings["a"][fmt.Sprint("H", i)]
		switch {
		case i%5 == 4 && p.Image == nil:
			t.Errorf("H%d, on the working host: %s", i, p.Missing)
		case i%5 != 4 && i >= giveUpAfter && !strings.Contains(p.Missing, "failed 3 times in a row"):
			t.Errorf("H%d, after the host was given up: %q", i, p.Missing)
		case i < giveUpAfter && !strings.Contains(p.Missing, "HTTP 503"):
			t.Errorf("H%d: %q", i, p.Missing)
		}
	}
}

// TestQueryImagesRevalidated checks that a query image given by URL is
// asked for again only if it changed (If-None-Match): unchanged, its
// thumbnail stays without being made again; changed, it is replaced.
func TestQueryImagesRevalidated(t *testing.T) {
	images := map[string][]byte{`"v1"`: encode(t, lines(100, 80), PNG), `"v2"`: encode(t, lines(90, 120), PNG)}
	var mu sync.Mutex
	current, conditional, full := `"v1"`, 0, 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("ETag", current)
		if r.Header.Get("If-None-Match") == current {
			conditional++
			w.WriteHeader(http.StatusNotModified)
			return
		}
		full++
		w.Write(images[current])
	}))
	defer srv.Close()
	s := newTestStep(t)
	sp := &spec.Spec{Searches: []spec.Search{{Name: "a", PatentType: "D", Model: 1, MaxResults: 10, Images: []spec.Image{{URL: srv.URL + "/q.png"}}}}}
	query := func() QueryImage {
		t.Helper()
		idx, err := s.Cache.LoadIndex(t.Context())
		if err != nil || len(idx.Searches["a"].Query.Images) != 1 {
			t.Fatalf("index: %v", err)
		}
		return idx.Searches["a"].Query.Images[0]
	}
	quietApply(t, s, sp)
	first := query()
	if first.Thumb.IsZero() || first.ETag != `"v1"` || full != 1 {
		t.Fatalf("first apply: %+v, %d fetches", first, full)
	}
	s = &Step{Cache: s.Cache, Fetcher: Fetcher{Reach: WithLoopback}}
	quietApply(t, s, sp)
	if got := query(); got != first || conditional != 1 || full != 1 {
		t.Errorf("an unchanged image: %+v, %d conditional and %d full fetches; want it kept after one conditional", got, conditional, full)
	}
	mu.Lock()
	current = `"v2"`
	mu.Unlock()
	s = &Step{Cache: s.Cache, Fetcher: Fetcher{Reach: WithLoopback}}
	quietApply(t, s, sp)
	if got := query(); got.Thumb == first.Thumb || got.ETag != `"v2"` || full != 2 {
		t.Errorf("a changed image: %+v, %d full fetches", got, full)
	}
	srv.Close() // the server gone: the thumbnail stays
	s = &Step{Cache: s.Cache, Fetcher: Fetcher{Reach: WithLoopback}}
	quietApply(t, s, sp)
	if got := query(); got.Thumb.IsZero() || got.Error != "" {
		t.Errorf("a revalidation that failed lost the thumbnail: %+v", got)
	}
}

// TestUnwritableDirectory checks that a drawings directory that cannot be
// written is one warning that says what to set, and a run that fetches
// nothing.
func TestUnwritableDirectory(t *testing.T) {
	var logs bytes.Buffer
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s := newTestStep(t)
	s.Cache = ForStateFile(filepath.Join(file, "s.json")) // beneath a file: never a directory
	s.Log = zerolog.New(&logs)
	quietApply(t, s, &spec.Spec{Searches: []spec.Search{{Name: "a", Images: []spec.Image{{URL: "http://127.0.0.1:9/q.png"}}}}})
	if n := strings.Count(logs.String(), "\n"); n != 1 || !strings.Contains(logs.String(), "--drawings-dir") || !strings.Contains(logs.String(), "PATWATCH_DRAWINGS_DIR") {
		t.Errorf("%d log lines:\n%s", n, logs.String())
	}
}
