package runner

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/patwatch/patwatch/internal/patsnap"
	"github.com/patwatch/patwatch/reconciler"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

// pacedAPI answers the search of the image http://img/sN after N times
// step, with one hit, N.
type pacedAPI struct {
	reconciler.API
	step time.Duration
}

func (a pacedAPI) Search(ctx context.Context, req patsnap.SearchRequest) (*patsnap.SearchResult, error) {
	n := strings.TrimPrefix(req.URLs[0], "http://img/s")
	d := time.Duration(n[0]-'0') * a.step
	select {
	case <-time.After(d):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return &patsnap.SearchResult{Total: 1, Hits: []patsnap.Hit{{PatentPN: "PN" + n, Score: 0.9}}, Calls: 1}, nil
}

func searchNames(st *state.State) []string {
	var names []string
	for name := range st.Searches {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// TestCheckpointsKeepTheirRhythm: searches that settle every 10 s are saved
// as they settle while saves are quick, and the time between checkpoints
// grows with what a save costs, never past MaxCheckpointEvery.
func TestCheckpointsKeepTheirRhythm(t *testing.T) {
	sp := &spec.Spec{Searches: []spec.Search{search("s1"), search("s2"), search("s3"), search("s4"), search("s5"), search("s6")}}
	for _, c := range []struct {
		name      string
		saveTakes time.Duration
		want      [][]string // the searches each checkpoint holds
	}{
		// The last search settled is saved by the run's end.
		{"a quick save", 0, [][]string{{"s1"}, {"s1", "s2"}, {"s1", "s2", "s3"}, {"s1", "s2", "s3", "s4"}, {"s1", "s2", "s3", "s4", "s5"}}},
		// Saved at 10 s, done at 12 s: the next is due 20 s later, at 40 s.
		{"a save of 2 s", 2 * time.Second, [][]string{{"s1"}, {"s1", "s2", "s3", "s4"}}},
		// Saved at 10 s, done at 14 s: 40 s would be due at 54 s, but 30 s
		// is the most, at 44 s.
		{"a save of 4 s", 4 * time.Second, [][]string{{"s1"}, {"s1", "s2", "s3", "s4", "s5"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				st := &memStore{st: state.New(), saveTakes: c.saveTakes}
				r := newRunner(st, pacedAPI{step: 10 * time.Second})
				if _, err := r.Once(context.Background(), sp, Options{}); err != nil {
					t.Fatal(err)
				}
				var got [][]string
				for _, saved := range st.saves[:len(st.saves)-1] {
					got = append(got, searchNames(saved))
				}
				if !reflect.DeepEqual(got, c.want) {
					t.Errorf("checkpoints held %v, want %v", got, c.want)
				}
				if last := st.saves[len(st.saves)-1]; len(last.Searches) != 6 {
					t.Errorf("the last save holds %v, want every search", searchNames(last))
				}
			})
		})
	}
}

// TestCheckpointsSaveTheirMessages: a checkpoint's save holds the
// notification message of the changes it saves; a later save holds the
// run's message composed afresh, not a second one.
func TestCheckpointsSaveTheirMessages(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		recorded := state.New()
		for _, n := range []string{"s1", "s2"} {
			recorded.Searches[n] = &state.Search{Fingerprint: "fp-" + n, BaselineAt: time.Now().Add(-time.Hour), Hits: map[string]*state.Hit{}}
		}
		st := &memStore{st: recorded}
		r := newRunner(st, pacedAPI{step: 10 * time.Second})
		sp := &spec.Spec{Searches: []spec.Search{search("s1"), search("s2")},
			Notify: []spec.Channel{{Name: "team", URL: "https://hooks.test/x", On: []string{"new"}}}}
		if _, err := r.Once(context.Background(), sp, Options{}); err != nil {
			t.Fatal(err)
		}
		if len(st.saves) != 2 {
			t.Fatalf("%d saves, want a checkpoint and the end's", len(st.saves))
		}
		for i, want := range [][]string{{"PN1"}, {"PN1", "PN2"}} {
			outbox := st.saves[i].Outbox
			var got []string
			for _, m := range outbox {
				for _, e := range m.Events {
					got = append(got, e.PatentPN)
				}
			}
			if len(outbox) != 1 || !reflect.DeepEqual(got, want) {
				t.Errorf("save %d holds %d messages of the new hits %v, want one of %v", i+1, len(outbox), got, want)
			}
		}
	})
}

// failingAPI fails every search.
type failingAPI struct{ reconciler.API }

func (failingAPI) Search(context.Context, patsnap.SearchRequest) (*patsnap.SearchResult, error) {
	time.Sleep(10 * time.Second)
	return nil, &patsnap.APIError{Endpoint: patsnap.EndpointSearchSingle, Class: patsnap.ClassPermanent, Msg: "refused"}
}

// TestFirstApplyThatFailsLeavesNoState: a first apply whose every search
// failed saves nothing, at its end or at a checkpoint; the same failure
// over a state saved before is saved as ever (its serial stays).
func TestFirstApplyThatFailsLeavesNoState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sp := &spec.Spec{Searches: []spec.Search{search("s1"), search("s2")}}
		st := &memStore{st: state.New()}
		rep, err := newRunner(st, failingAPI{}).Once(context.Background(), sp, Options{})
		if err != nil || !rep.Failed() {
			t.Fatalf("Once: %v, failed %v", err, rep.Failed())
		}
		if len(st.saves) != 0 || rep.StateChanged {
			t.Errorf("a first apply that failed entirely saved %d times", len(st.saves))
		}
		saved := state.New()
		saved.Serial = 3
		st = &memStore{st: saved}
		if _, err := newRunner(st, failingAPI{}).Once(context.Background(), sp, Options{}); err != nil {
			t.Fatal(err)
		}
		if len(st.saves) == 0 {
			t.Error("an apply over a saved state did not save")
		}
	})
}

// TestCheckpointsSkipARunThatChangedNothing: searches that find what the
// state records give the store nothing to compare until the run's end.
func TestCheckpointsSkipARunThatChangedNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		recorded := state.New()
		recorded.Serial = 4
		sp := &spec.Spec{}
		for i := 1; i <= 4; i++ {
			s := search(fmt.Sprintf("s%d", i))
			sp.Searches = append(sp.Searches, s)
			recorded.Searches[s.Name] = &state.Search{Fingerprint: s.Fingerprint, BaselineAt: time.Now().Add(-time.Hour),
				Hits: map[string]*state.Hit{fmt.Sprintf("PN%d", i): {FirstSeen: time.Now().Add(-time.Hour)}}}
		}
		st := &memStore{st: recorded}
		rep, err := newRunner(st, pacedAPI{step: 10 * time.Second}).Once(context.Background(), sp, Options{})
		if err != nil || rep.Changed {
			t.Fatalf("Once: %v, changed %v; want a run that changes nothing", err, rep.Changed)
		}
		if len(st.saves) != 1 {
			t.Errorf("%d saves, want the run's end's alone", len(st.saves))
		}
	})
}
