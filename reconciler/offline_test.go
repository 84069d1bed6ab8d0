package reconciler

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestRenderOfflinePlanGolden(t *testing.T) {
	st := state.New()
	st.Searches["kept"] = &state.Search{Fingerprint: "f1", Hits: map[string]*state.Hit{"A": {}}}
	st.Searches["edited"] = &state.Search{Fingerprint: "f2", Hits: map[string]*state.Hit{"A": {}, "B": {}}}
	st.Searches["gone"] = &state.Search{Fingerprint: "f3", Hits: map[string]*state.Hit{"A": {}}}
	st.Searches["old-name"] = &state.Search{Fingerprint: "f4"}
	st.Reports["ready"] = &state.Report{PatentNumber: "CN1", Format: "pdf", Logo: true, JobID: "1", Status: state.ReportDownloaded, File: "reports/ready.pdf"}
	st.Reports["to-word"] = &state.Report{PatentNumber: "CN3", Format: "pdf", Logo: true, JobID: "2", Status: state.ReportDownloaded, File: "reports/to-word.pdf"}
	desired := &spec.Spec{
		Searches: []spec.Search{{Name: "kept", Fingerprint: "f1"}, {Name: "edited", Fingerprint: "f2x"}, {Name: "added", Fingerprint: "f5"}, {Name: "new-name", Fingerprint: "f4"}},
		Reports: []spec.Report{{Name: "ready", PatentNumber: "CN1", Format: "pdf", Logo: true}, {Name: "wanted", PatentNumber: "CN2", Format: "word"},
			{Name: "to-word", PatentNumber: "CN3", Format: "word", Logo: true}},
	}
	rep := reviewOffline(desired, st, nil)
	for _, format := range []string{report.FormatText, report.FormatMarkdown} {
		var buf bytes.Buffer
		if err := report.Render(&buf, rep, format); err != nil {
			t.Fatal(err)
		}
		golden(t, filepath.Join("testdata", "plan-offline."+format+".golden"), buf.Bytes())
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run go test -update after checking):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// TestPlanOfflineExplains: a plan counts the spec's entries as validate
// does, says how many hits a removal retires, and why a report that had a
// job would get another.
func TestPlanOfflineExplains(t *testing.T) {
	rec := func(edit func(*state.Report)) *state.Report {
		r := &state.Report{PatentNumber: "CN1", Format: "pdf", Logo: true, JobID: "100", Status: state.ReportDownloaded, File: "reports/r.pdf"}
		edit(r)
		return r
	}
	d := spec.Report{Name: "r", PatentNumber: "CN1", Format: "pdf", Logo: true}
	tests := []struct {
		name    string
		desired func(*spec.Report)
		rec     *state.Report
		want    string
	}{
		{"format", func(r *spec.Report) { r.Format = "word" }, rec(func(*state.Report) {}), "its format changed from pdf to word"},
		{"patent", func(r *spec.Report) { r.PatentNumber = "CN2" }, rec(func(*state.Report) {}), "its patent changed from CN1 to CN2"},
		{"logo", func(r *spec.Report) { r.Logo = false }, rec(func(*state.Report) {}), "it now asks for no PatSnap logo"},
		{"failed", func(*spec.Report) {}, rec(func(r *state.Report) { r.Status = state.ReportFailed }), "its last job failed"},
		{"never had a job", func(*spec.Report) {}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := state.New()
			if tt.rec != nil {
				st.Reports["r"] = tt.rec
			}
			want := d
			tt.desired(&want)
			got := reviewOffline(&spec.Spec{Reports: []spec.Report{want}}, st, nil).Reports[0]
			if got.Status != report.ReportSubmit || got.Reason != tt.want {
				t.Errorf("%s, reason %q; want submit, %q", got.Status, got.Reason, tt.want)
			}
		})
	}

	st := state.New()
	st.Searches["gone"] = &state.Search{Fingerprint: "f", Hits: map[string]*state.Hit{"A": {}, "B": {}, "C": {}}}
	rep := reviewOffline(&spec.Spec{Searches: []spec.Search{{Name: "kept", Fingerprint: "k"}}}, st, nil)
	if gone := rep.Searches[1]; gone.Status != report.StatusRemoved || gone.Hits != 3 {
		t.Errorf("removed search: %+v; want removed with its 3 hits", gone)
	}
	if got, want := report.Summary(rep), "1 search, 0 reports: 1 baseline, 1 removed"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
}

func TestPlanOfflineRestoresRetiredEntries(t *testing.T) {
	st := state.New()
	st.RetiredSearches = map[string]*state.Search{"back": {Fingerprint: "f", RetiredAt: t0, Hits: map[string]*state.Hit{"A": {}, "B": {}}}}
	st.RetiredReports = map[string]*state.Report{"r": {PatentNumber: "CN1", Format: "pdf", Logo: true, JobID: "100", Status: state.ReportDownloaded, File: "reports/r.pdf", RetiredAt: t0}}
	rep := reviewOffline(&spec.Spec{
		Searches: []spec.Search{{Name: "back", Fingerprint: "f"}},
		Reports:  []spec.Report{{Name: "r", PatentNumber: "CN1", Format: "pdf", Logo: true}},
	}, st, nil)
	if s := rep.Searches[0]; s.Status != report.StatusOK || !s.Restored || s.Hits != 2 {
		t.Errorf("search added back: %+v; want ok, restored with 2 hits", s)
	}
	if r := rep.Reports[0]; r.Status != report.ReportReady || !r.Restored || r.JobID != "100" {
		t.Errorf("report added back: %+v; want ready, restored with job 100", r)
	}
	if got, want := report.Summary(rep), "1 search, 1 report: 2 restored"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
}

// TestPlanOfflineScope: an offline plan lists the entries its scope holds
// as the scope says, and states the worst case of the apply it previews:
// the pages of each search and a job for each new report.
func TestPlanOfflineScope(t *testing.T) {
	big := urlSearch("big")
	big.MaxResults = 300 // three pages
	desired := &spec.Spec{
		Searches: []spec.Search{big, urlSearch("other")},
		Reports:  []spec.Report{{Name: "r", PatentNumber: "CN1B", Format: "pdf", Logo: true}},
	}
	recorded := newState(map[string]*state.Search{"other": recordedSearch("fp-other", "O1")}, nil)
	sc := NewScope(ModeOffline, desired, recorded, Selection{Target: []string{"big", "r"}}, runNow, t.TempDir())
	rep := PlanOffline(sc, nil)
	if rep.Command != "plan" || !rep.Offline || rep.Calls.Made != nil {
		t.Errorf("command %q, offline %v, calls made %v; want an offline plan that made none", rep.Command, rep.Offline, rep.Calls.Made)
	}
	if got, want := rep.Calls.Estimated, 3+callsSubmit; got != want || sc.Estimate() != want {
		t.Errorf("estimated %d (Estimate %d), want %d", got, sc.Estimate(), want)
	}
	var got []string
	for _, s := range rep.Searches {
		got = append(got, s.Name+" "+string(s.Status))
	}
	if want := []string{"big baseline", "other skipped"}; !slices.Equal(got, want) {
		t.Errorf("searches %q, want %q", got, want)
	}
	if len(rep.Reports) != 1 || rep.Reports[0].Status != report.ReportSubmit {
		t.Errorf("reports %+v; want r's job to be submitted", rep.Reports)
	}
}

// TestPlanOfflineSaysHowAQueryChanged: with the query a record was made
// with, a rebaseline says field by field what changed; a removal says
// until when it is kept.
func TestPlanOfflineSaysHowAQueryChanged(t *testing.T) {
	old := spec.Search{Name: "s", Images: []spec.Image{{URL: "https://img.test/a.png"}}, PatentType: "D", Model: 2, MaxResults: 100}
	old.Fingerprint = spec.QueryFingerprint(old)
	now := old
	now.Model = 1
	now.Fingerprint = spec.QueryFingerprint(now)
	st := state.New()
	st.Searches["s"] = &state.Search{Fingerprint: old.Fingerprint}
	st.Searches["gone"] = &state.Search{Fingerprint: "f"}
	desired := &spec.Spec{Searches: []spec.Search{now}}
	rep := PlanOffline(NewScope(ModeOffline, desired, st, Selection{}, t0, t.TempDir()), Queries{old.Fingerprint: old})
	if s := rep.Searches[0]; s.Status != report.StatusRebaseline || len(s.QueryChanges) != 1 || s.QueryChanges[0] != "model 2 → 1" {
		t.Errorf("the rebaseline: %+v", s)
	}
	if g := rep.Searches[1]; g.Status != report.StatusRemoved || g.RetiredUntil == nil || !g.RetiredUntil.Equal(t0.Add(state.RetentionPeriod)) {
		t.Errorf("the removal: %+v", g)
	}
	if rep := PlanOffline(NewScope(ModeOffline, desired, st, Selection{}, t0, t.TempDir()), nil); len(rep.Searches[0].QueryChanges) != 0 {
		t.Errorf("without the old query, the plan made up changes: %q", rep.Searches[0].QueryChanges)
	}
}
