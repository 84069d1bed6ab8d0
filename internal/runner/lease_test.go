package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patwatch/patwatch/internal/hint"
	"github.com/patwatch/patwatch/internal/patsnap"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

// lossyStore is a memStore whose lock is lost on demand, as a database's
// is when it restarts: CheckLock and Save then fail with state.ErrLockLost
// until the lock is taken again, which another run may hold by then.
type lossyStore struct {
	*memStore
	mu         sync.Mutex
	lost       bool
	otherHolds bool // a lock taken after the loss is refused
	locks      int
}

var errSessionGone = errors.New("the lock's session is gone")

func (s *lossyStore) lose(otherHolds bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lost, s.otherHolds = true, otherHolds
}

func (s *lossyStore) Lock(ctx context.Context, command string, timeout time.Duration) (func() error, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.locks++
	if s.otherHolds {
		return nil, state.ErrLocked
	}
	s.lost = false
	return func() error { return nil }, nil
}

func (s *lossyStore) CheckLock(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lost {
		return errors.Join(state.ErrLockLost, errSessionGone)
	}
	return nil
}

func (s *lossyStore) Save(ctx context.Context, st *state.State) (bool, error) {
	if err := s.CheckLock(ctx); err != nil {
		return false, err
	}
	return s.memStore.Save(ctx, st)
}

// reportAPI submits report jobs, numbered from 1, and calls after each
// submission; its reports stay queued.
type reportAPI struct {
	slowAPI
	mu      sync.Mutex
	creates []string
	after   func()
}

func (a *reportAPI) CreateReport(_ context.Context, req patsnap.ReportRequest) (string, error) {
	a.mu.Lock()
	a.creates = append(a.creates, req.PatentNumber)
	id := fmt.Sprintf("900%d", len(a.creates))
	a.mu.Unlock()
	if a.after != nil {
		a.after()
	}
	return id, nil
}

func (a *reportAPI) ReportStatus(_ context.Context, jobID string) (*patsnap.ReportStatus, error) {
	return &patsnap.ReportStatus{JobID: jobID, JobStatus: patsnap.JobWaiting, QueueNum: 3}, nil
}

func twoReports() *spec.Spec {
	return &spec.Spec{Reports: []spec.Report{{Name: "r1", PatentNumber: "CN1", Format: "pdf"}, {Name: "r2", PatentNumber: "CN2", Format: "pdf"}}}
}

// TestLostLockStopsBeforeTheNextPaidCall (issue 25.3.6): a lock lost
// after the first report job was submitted stops the run before the
// second. With no other holder, the run takes the lock again and saves
// the job it got, and says what happened.
func TestLostLockStopsBeforeTheNextPaidCall(t *testing.T) {
	st := &lossyStore{memStore: &memStore{st: state.New()}}
	api := &reportAPI{}
	api.after = func() { st.lose(false) }
	rep, err := newRunner(st, api).Once(context.Background(), twoReports(), Options{})
	if len(api.creates) != 1 {
		t.Fatalf("report jobs submitted: %v; want the first only", api.creates)
	}
	if err == nil || !errors.Is(err, state.ErrLockLost) || errors.Is(err, ErrNotSaved) ||
		!strings.Contains(err.Error(), "stopped before its next report job submission") || !strings.Contains(err.Error(), "taken again") {
		t.Fatalf("error %v; want the lost lock, taken again and saved", err)
	}
	if !strings.Contains(strings.Join(hint.Of(err), "\n"), "run apply again") {
		t.Errorf("no hint: %v", err)
	}
	if st.saved == nil || st.saved.Reports["r1"] == nil || st.saved.Reports["r1"].JobID != "9001" || st.saved.Reports["r2"] != nil {
		t.Errorf("saved %+v; want r1's job and nothing of r2", st.saved)
	}
	if r2 := rep.Reports[1]; r2.Status != report.ReportError || !strings.Contains(r2.Error, "lock was lost") {
		t.Errorf("r2: %+v; want an error naming the lost lock", r2)
	}
	if st.locks != 2 {
		t.Errorf("%d locks taken, want 2 (the run's, then again to save)", st.locks)
	}
}

// TestLostLockHeldByAnotherRunNamesTheJobs: when another run holds the
// lock by the save, nothing is saved and the error names the job the
// run submitted, so that it is not lost without a trace.
func TestLostLockHeldByAnotherRunNamesTheJobs(t *testing.T) {
	st := &lossyStore{memStore: &memStore{st: state.New()}}
	api := &reportAPI{}
	api.after = func() { st.lose(true) }
	_, err := newRunner(st, api).Once(context.Background(), twoReports(), Options{})
	if len(api.creates) != 1 || st.saved != nil {
		t.Fatalf("submitted %v, saved %v; want one job and no save", api.creates, st.saved != nil)
	}
	if !errors.Is(err, ErrNotSaved) || !errors.Is(err, state.ErrLockLost) || !errors.Is(err, state.ErrLocked) ||
		!strings.Contains(err.Error(), "report jobs this run submitted, which no state records: r1 (CN1) job 9001") {
		t.Fatalf("error %v; want the job named", err)
	}
	if h := strings.Join(hint.Of(err), "\n"); !strings.Contains(h, "paid for already") {
		t.Errorf("hint %q", h)
	}
}

// TestHeldLockIsProvedBeforeEachPaidCall: while the lock holds, each
// report job submission is preceded by a proof, and the run is as before.
func TestHeldLockIsProvedBeforeEachPaidCall(t *testing.T) {
	st := &countingChecks{lossyStore: &lossyStore{memStore: &memStore{st: state.New()}}}
	api := &reportAPI{}
	if _, err := newRunner(st, api).Once(context.Background(), twoReports(), Options{}); err != nil {
		t.Fatal(err)
	}
	if len(api.creates) != 2 || st.checks != 2 {
		t.Errorf("%d jobs, %d proofs of the lock; want 2 and 2", len(api.creates), st.checks)
	}
}

type countingChecks struct {
	*lossyStore
	checks int
}

func (c *countingChecks) CheckLock(ctx context.Context) error {
	c.checks++
	return c.lossyStore.CheckLock(ctx)
}
