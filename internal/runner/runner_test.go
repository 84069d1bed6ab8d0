package runner

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"

	"github.com/patwatch/patwatch/internal/hint"
	"github.com/patwatch/patwatch/internal/patsnap"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/reconciler"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
	"github.com/patwatch/patwatch/state/filestore"
)

// memStore is a Store in memory; saveErr, when set, refuses every save,
// and each save takes saveTakes.
type memStore struct {
	st        *state.State
	saved     *state.State
	saves     []*state.State // every state saved, in order
	saveErr   error
	saveTakes time.Duration
}

func (m *memStore) Lock(context.Context, string, time.Duration) (func() error, error) {
	return func() error { return nil }, nil
}
func (m *memStore) Load(context.Context) (*state.State, error) { return m.st, nil }
func (m *memStore) Save(ctx context.Context, st *state.State) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err() // a database store would fail so
	}
	time.Sleep(m.saveTakes)
	if m.saveErr != nil {
		return false, m.saveErr
	}
	m.saved = st
	m.saves = append(m.saves, st)
	return true, nil
}
func (m *memStore) CheckLock(context.Context) error                  { return nil }
func (m *memStore) RecordRun(context.Context, state.RunRecord) error { return nil }
func (m *memStore) ReadAux(context.Context, string) ([]byte, error)  { return nil, fs.ErrNotExist }
func (m *memStore) WriteAux(context.Context, string, []byte) error   { return nil }
func (m *memStore) String() string                                   { return "memory" }

// slowAPI answers the search of "fast" at once and blocks every other one
// until its context ends.
type slowAPI struct{ reconciler.API }

func (slowAPI) Search(ctx context.Context, req patsnap.SearchRequest) (*patsnap.SearchResult, error) {
	if req.URLs[0] == "http://img/fast" {
		return &patsnap.SearchResult{Total: 1, Hits: []patsnap.Hit{{PatentPN: "A"}}}, nil
	}
	<-ctx.Done()
	return nil, ctx.Err()
}

func search(name string) spec.Search {
	return spec.Search{Name: name, Images: []spec.Image{{URL: "http://img/" + name}}, PatentType: "D", Model: 1,
		MaxResults: 10, DropAfter: 1, Fingerprint: "fp-" + name}
}

func newRunner(st Store, api reconciler.API) *Runner {
	return &Runner{
		Store: st, Mode: reconciler.ModeApply, FilesDir: "/nowhere", ReportsDir: "/nowhere/reports",
		Log: zerolog.Nop(),
		Connect: func(context.Context, *spec.Spec) (reconciler.API, func(), error) {
			return api, func() {}, nil
		},
	}
}

// TestOnceEndsAtItsDeadline: at --timeout the run ends as at an interrupt:
// what completed is saved, the rest is reported not done, and the error
// says which deadline passed.
func TestOnceEndsAtItsDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &memStore{st: state.New()}
		r := newRunner(st, slowAPI{})
		r.Timeout = 30 * time.Minute
		started := time.Now()
		rep, err := r.Once(context.Background(), &spec.Spec{Searches: []spec.Search{search("fast"), search("hung")}}, Options{})
		if took := time.Since(started); took != 30*time.Minute {
			t.Errorf("the run took %v, want its deadline of 30m", took)
		}
		if err == nil || !strings.Contains(err.Error(), "deadline of 30m passed") || errors.Is(err, ErrNotSaved) {
			t.Fatalf("error %v; want the deadline's", err)
		}
		if !strings.Contains(strings.Join(hint.Of(err), "\n"), "--timeout") {
			t.Errorf("no hint naming --timeout: %v", err)
		}
		if rep == nil {
			t.Fatal("no change report")
		}
		if s := rep.Searches[1]; s.Status != report.StatusError || !strings.Contains(s.Error, "deadline of 30m passed") {
			t.Errorf("the hung search: %+v", s)
		}
		if st.saved == nil || st.saved.Searches["fast"] == nil || st.saved.Searches["hung"] != nil {
			t.Errorf("saved %+v; want the completed search only", st.saved)
		}
	})
}

// TestOnceReturnsTheReportOfARunNotSaved: a refused save still returns the
// change report, with an error matching ErrNotSaved and the store's.
func TestOnceReturnsTheReportOfARunNotSaved(t *testing.T) {
	refused := &filestore.ReplacedError{Path: "s.json", What: "replaced", Loaded: "serial 1 of lineage x", Found: "serial 2 of lineage x"}
	st := &memStore{st: state.New(), saveErr: refused}
	rep, err := newRunner(st, slowAPI{}).Once(context.Background(), &spec.Spec{Searches: []spec.Search{search("fast")}}, Options{})
	var re *filestore.ReplacedError
	if !errors.Is(err, ErrNotSaved) || !errors.As(err, &re) {
		t.Fatalf("error %v; want ErrNotSaved and the store's error", err)
	}
	if rep == nil || len(rep.Searches) != 1 || rep.Searches[0].Status != report.StatusBaseline || rep.StateChanged {
		t.Fatalf("report %+v; want the baseline found, not saved", rep)
	}
}

// lockRecorder is a memStore that records the holder each lock names.
type lockRecorder struct {
	*memStore
	holders []string
}

func (l *lockRecorder) Lock(ctx context.Context, command string, timeout time.Duration) (func() error, error) {
	l.holders = append(l.holders, command)
	return l.memStore.Lock(ctx, command, timeout)
}

// TestOnceNamesItsCommandInTheLock: an apply's lock names the command
// that runs it: apply, or watch, whose runs are applies; its change report
// says apply either way.
func TestOnceNamesItsCommandInTheLock(t *testing.T) {
	for _, c := range []struct{ command, holder string }{{"", "apply"}, {"watch", "watch"}} {
		st := &lockRecorder{memStore: &memStore{st: state.New()}}
		r := newRunner(st, slowAPI{})
		r.Command = c.command
		rep, err := r.Once(context.Background(), &spec.Spec{Searches: []spec.Search{search("fast")}}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(st.holders) != 1 || st.holders[0] != c.holder || rep.Command != "apply" {
			t.Errorf("command %q: lock holders %q, report's command %q; want [%q], apply", c.command, st.holders, rep.Command, c.holder)
		}
	}
}

// TestOnceOfflinePlanCallsNothing: an offline plan takes no lock, connects
// to no API and saves nothing; its change report is stamped as every run's
// is and states the worst case of the apply it previews, which it does not
// refuse for api.max_calls.
func TestOnceOfflinePlanCallsNothing(t *testing.T) {
	st := &lockRecorder{memStore: &memStore{st: state.New()}}
	now := time.Date(2026, 12, 1, 11, 31, 9, 500_000_000, time.UTC)
	r := &Runner{Store: st, Mode: reconciler.ModeOffline, FilesDir: t.TempDir(), Version: "v1.2.3", SpecPath: "watch.yaml",
		Now: func() time.Time { return now }, Log: zerolog.Nop(),
		Connect: func(context.Context, *spec.Spec) (reconciler.API, func(), error) {
			t.Error("an offline plan connected to the API")
			return nil, nil, errors.New("offline")
		}}
	big := search("big")
	big.MaxResults = 300 // three pages
	sp := &spec.Spec{Searches: []spec.Search{big, search("other")}, API: spec.API{MaxCalls: 2}}
	rep, err := r.Once(context.Background(), sp, Options{Select: reconciler.Selection{Target: []string{"big"}}, CheckNames: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.holders) != 0 || st.saved != nil {
		t.Errorf("locks %q, saved %v; want neither", st.holders, st.saved)
	}
	if rep.Command != "plan" || !rep.Offline || rep.Calls.Made != nil || rep.Calls.Estimated != 3 {
		t.Errorf("report %q offline %v, calls made %v, estimated %d; want an offline plan, none made, 3 estimated",
			rep.Command, rep.Offline, rep.Calls.Made, rep.Calls.Estimated)
	}
	if !rep.GeneratedAt.Equal(now.Truncate(time.Second)) || rep.Spec != "watch.yaml" || rep.PatwatchVersion != "v1.2.3" {
		t.Errorf("stamped at %v, spec %q, version %q", rep.GeneratedAt, rep.Spec, rep.PatwatchVersion)
	}
	if len(rep.Searches) != 2 || rep.Searches[0].Status != report.StatusBaseline || rep.Searches[1].Status != report.StatusSkipped {
		t.Errorf("searches %+v; want big's baseline, other skipped", rep.Searches)
	}
	_, err = r.Once(context.Background(), sp, Options{Select: reconciler.Selection{Target: []string{"bgi"}}, CheckNames: true})
	var ue *reconciler.UnknownNameError
	if !errors.As(err, &ue) {
		t.Errorf("an unknown --target: %v; want an *UnknownNameError", err)
	}
}
