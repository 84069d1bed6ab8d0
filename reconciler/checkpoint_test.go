package reconciler

import (
	"context"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/patwatch/patwatch/internal/patsnap"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

// checkpoints is a Checkpointer that keeps every outcome it is given; due
// says what Due answers, and onSave, when set, sees each outcome as it
// comes.
type checkpoints struct {
	due    bool
	onSave func(*Outcome)

	mu    sync.Mutex
	saved []*Outcome
}

func (c *checkpoints) Due() bool { return c.due }

func (c *checkpoints) Save(out *Outcome) {
	c.mu.Lock()
	c.saved = append(c.saved, out)
	c.mu.Unlock()
	if c.onSave != nil {
		c.onSave(out)
	}
}

func changeNames(rep *report.ChangeReport) []string {
	var names []string
	for _, s := range rep.Searches {
		names = append(names, s.Name)
	}
	for _, r := range rep.Reports {
		names = append(names, r.Name)
	}
	return names
}

// TestCheckpointHoldsWhatSettled: a checkpoint taken while a search still
// runs holds the searches settled with their new records, the one running
// as it was recorded, and the removal of a search gone from the spec; the
// run's outcome at the end is what it is without checkpoints.
func TestCheckpointHoldsWhatSettled(t *testing.T) {
	release := make(chan struct{})
	search := answers(map[string][]string{"a": {"A1"}, "b": {"B1"}, "slow": {"S1", "S2"}})
	api := &fakeAPI{search: func(ctx context.Context, req patsnap.SearchRequest) (*patsnap.SearchResult, error) {
		if strings.HasSuffix(req.URLs[0], "/slow") {
			<-release
		}
		return search(ctx, req)
	}}
	r := newTestReconciler(t, api)
	cp := &checkpoints{due: true}
	cp.onSave = func(*Outcome) {
		if len(cp.saved) == 2 { // a and b settled; slow waits for this
			close(release)
		}
	}
	r.Checkpoints = cp
	desired := &spec.Spec{Searches: []spec.Search{urlSearch("slow"), urlSearch("a"), urlSearch("b")}}
	slowRec := &state.Search{Fingerprint: "fp-slow", BaselineAt: t0, Hits: map[string]*state.Hit{"S1": {FirstSeen: t0}}}
	gone := &state.Search{Fingerprint: "fp-gone", BaselineAt: t0}
	recorded := newState(map[string]*state.Search{"slow": slowRec, "gone": gone}, nil)

	out := run(t, context.Background(), r, ModeApply, desired, recorded)

	if len(cp.saved) != 2 {
		t.Fatalf("%d checkpoints, want one for each search but the last, whose outcome is the run's", len(cp.saved))
	}
	second := cp.saved[1]
	if got, want := changeNames(second.Report), []string{"a", "b", "gone"}; !reflect.DeepEqual(got, want) {
		t.Errorf("the second checkpoint reports %v, want %v: the searches settled and the removal", got, want)
	}
	if second.State.Searches["slow"] != slowRec {
		t.Errorf("the second checkpoint holds slow as %+v, want its record as it was", second.State.Searches["slow"])
	}
	if got := hitPNs(second.State.Searches["a"]); !reflect.DeepEqual(got, []string{"A1"}) {
		t.Errorf("the second checkpoint holds a's hits %v, want its baseline", got)
	}
	if second.State.RetiredSearches["gone"] == nil || second.State.Searches["gone"] != nil {
		t.Error("the second checkpoint does not hold the removed search as retired")
	}
	if got := hitPNs(out.State.Searches["slow"]); !reflect.DeepEqual(got, []string{"S1", "S2"}) {
		t.Errorf("at the end slow holds %v", got)
	}
	if got, want := changeNames(out.Report), []string{"slow", "a", "b", "gone"}; !reflect.DeepEqual(got, want) {
		t.Errorf("the run's change report lists %v, want %v", got, want)
	}

	// The same run without checkpoints ends the same.
	plain := run(t, context.Background(), newTestReconciler(t, &fakeAPI{search: search}), ModeApply, desired, recorded)
	if !reflect.DeepEqual(plain.Report, out.Report) || !reflect.DeepEqual(plain.State, out.State) {
		t.Errorf("with checkpoints the run ends as\n%+v\nwithout\n%+v", out.Report, plain.Report)
	}
}

// TestCheckpointAtOnceForASubmittedJob: a job's id is saved as soon as
// the job is created, checkpoint due or not; a report that only polls
// waits for its turn.
func TestCheckpointAtOnceForASubmittedJob(t *testing.T) {
	n := 0
	api := &fakeAPI{
		create: func(patsnap.ReportRequest) (string, error) { n++; return "90" + string(rune('0'+n)), nil },
		status: statusAnswer(&patsnap.ReportStatus{JobID: "100", JobStatus: patsnap.JobWaiting, QueueNum: 3}, nil),
	}
	r := newTestReconciler(t, api)
	cp := &checkpoints{}
	r.Checkpoints = cp
	polled := spec.Report{Name: "polled", PatentNumber: "CN1", Format: "pdf", Logo: true}
	desired := &spec.Spec{Reports: []spec.Report{
		{Name: "first", PatentNumber: "CN2", Format: "pdf", Logo: true},
		{Name: "second", PatentNumber: "CN3", Format: "pdf", Logo: true}, polled,
	}}
	run(t, context.Background(), r, ModeApply, desired, newState(nil, map[string]*state.Report{"polled": recordedReport(nil)}))

	if len(cp.saved) != 2 {
		t.Fatalf("%d checkpoints, want one for each job submitted", len(cp.saved))
	}
	first := cp.saved[0].State.Reports
	if first["first"] == nil || first["first"].JobID != "901" || first["second"] != nil {
		t.Errorf("the first checkpoint holds reports %+v, want first's job 901 and no second", first)
	}
	if got := cp.saved[1].State.Reports["second"]; got == nil || got.JobID != "902" {
		t.Errorf("the second checkpoint holds second as %+v, want job 902", got)
	}

	// A plan submits nothing and keeps nothing.
	cp.saved, cp.due = nil, true
	run(t, context.Background(), r, ModePlan, desired, newState(nil, map[string]*state.Report{"polled": recordedReport(nil)}))
	if len(cp.saved) != 0 {
		t.Errorf("a plan handed %d outcomes to its checkpoints", len(cp.saved))
	}
}
