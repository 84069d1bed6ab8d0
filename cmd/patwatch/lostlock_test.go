package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/patwatch/patwatch/internal/patsnap/fake"
	"github.com/patwatch/patwatch/internal/pgstore"
	"github.com/patwatch/patwatch/internal/pgstore/pgtest"
	"github.com/patwatch/patwatch/internal/report"
)

// twoReportsSpec is watchSpec's search and two reports, which an apply
// submits one after the other.
const twoReportsSpec = watchSpec + `
reports:
  - name: first
    patent_number: CN108977442B
    format: pdf
  - name: second
    patent_number: CN110000000A
    format: pdf
`

// endLockAtFirstSubmission makes the harness's API end the session that
// holds the state's lock (pg_terminate_backend, as a database restart
// does) when the first report job is submitted, before it answers; then
// takeOver, if set, runs (another run taking the lock).
func endLockAtFirstSubmission(t *testing.T, h *harness, takeOver func()) {
	t.Helper()
	u, err := url.Parse(h.envs["PATWATCH_STATE"])
	if err != nil {
		t.Fatal(err)
	}
	locks := pgIdent(u.Query().Get("schema")) + ".locks"
	var once sync.Once
	h.setGate(func(r *http.Request) {
		if r.URL.Path != fake.PathReportCreate || !strings.Contains(readBody(r), "CN108977442B") {
			return
		}
		once.Do(func() {
			var ended bool
			err := pgtest.Conn(t).QueryRow(context.Background(),
				"SELECT pg_terminate_backend(backend_pid, 10000) FROM "+locks+" WHERE state = 'e2e' AND kind = 'state'").Scan(&ended)
			if err != nil || !ended {
				t.Errorf("ending the lock's session: %v %v", ended, err)
			}
			if takeOver != nil {
				takeOver()
			}
		})
	})
}

// lostLockHarness has a state in PostgreSQL with watchSpec's baseline,
// and twoReportsSpec to apply.
func lostLockHarness(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t, fake.Options{PollsToFinish: 5})
	h.useStore("postgres")
	h.writeSpec(watchSpec)
	h.api.SetResults(imgA, -1, fakeHits("A1")...)
	if code, _, stderr := h.apply(); code != exitOK {
		t.Fatalf("baseline: exit %d\n%s", code, stderr)
	}
	h.writeSpec(twoReportsSpec)
	return h
}

// submissions counts the report jobs the API was asked to create.
func submissions(h *harness) int {
	n := 0
	for _, r := range h.api.Requests() {
		if r.Endpoint == fake.EndpointReportCreate {
			n++
		}
	}
	return n
}

// TestLostLockStopsTheApply (issue 25.3.6): an apply whose lock's session
// the database ends after its first report job submission submits no
// other job; with no other run holding the state, it takes the lock again,
// saves the job it got, and says what happened; the next apply goes on
// from there.
func TestLostLockStopsTheApply(t *testing.T) {
	h := lostLockHarness(t)
	endLockAtFirstSubmission(t, h, nil)

	code, rep, stderr := h.apply()
	if code != exitError || !strings.Contains(stderr, "the state's lock was lost") ||
		!strings.Contains(stderr, "stopped before its next report job submission") || !strings.Contains(stderr, "taken again") {
		t.Fatalf("exit %d; want 1 saying the lock was lost and taken again\n%s", code, stderr)
	}
	if n := submissions(h); n != 1 {
		t.Errorf("%d report jobs submitted, want the first only", n)
	}
	if first := rep.Reports[0]; first.Status != report.ReportSubmitted || first.JobID == "" {
		t.Errorf("the first report: %+v", first)
	}
	st := h.pulledState()
	if r := st.Reports["first"]; r == nil || r.JobID != rep.Reports[0].JobID || st.Reports["second"] != nil {
		t.Fatalf("saved reports %+v; want the first's job and nothing of the second", st.Reports)
	}
	h.checkNoPassword(stderr)

	h.setGate(nil)
	code, rep, stderr = h.apply()
	if code != exitOK || rep.Reports[1].Status != report.ReportSubmitted || submissions(h) != 2 {
		t.Fatalf("the next apply: exit %d, %+v\n%s", code, rep.Reports, stderr)
	}
}

// TestLostLockTakenByAnotherRun (issue 25.3.6): when another run takes the
// lock after it was lost, the apply submits no other job, saves nothing,
// and names the job it got, which no state records.
func TestLostLockTakenByAnotherRun(t *testing.T) {
	h := lostLockHarness(t)
	before := h.pulled()
	other, err := pgstore.Open(h.envs["PATWATCH_STATE"], pgstore.Options{Host: "other-host", PID: 7})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	var unlock func() error
	endLockAtFirstSubmission(t, h, func() {
		if unlock, err = other.Lock(context.Background(), "apply", 0); err != nil {
			t.Errorf("the other run's lock: %v", err)
		}
	})

	code, rep, stderr := h.apply()
	if unlock != nil {
		unlock()
	}
	job := rep.Reports[0].JobID
	if code != exitError || job == "" || !strings.Contains(stderr, "not saved") ||
		!strings.Contains(stderr, "report jobs this run submitted, which no state records: first (CN108977442B) job "+job) ||
		!strings.Contains(stderr, "pid 7 on host other-host") {
		t.Fatalf("exit %d; want 1, not saved, naming job %q and the other run\n%s", code, job, stderr)
	}
	if n := submissions(h); n != 1 {
		t.Errorf("%d report jobs submitted, want the first only", n)
	}
	if after := h.pulled(); string(after) != string(before) {
		t.Errorf("the state changed:\n%s\nwant\n%s", after, before)
	}
	h.checkNoPassword(stderr)
}
