package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/patwatch/patwatch/internal/patsnap/fake"
	"github.com/patwatch/patwatch/internal/report"
)

const autoSpec = `
version: 1
searches:
  - name: hinges
    image: https://images.test/a.png
    patent_type: U
    model: 4
    auto_report:
      min_score: 0.9
      max_per_run: 2
reports:
  - name: declared
    patent_number: CN0000005U
`

// scored is fakeHits with the scores given, pn and score in turn.
func scored(pairs ...any) []fake.Hit {
	var out []fake.Hit
	for i := 0; i+1 < len(pairs); i += 2 {
		h := fakeHits(pairs[i].(string))[0]
		h.Score = pairs[i+1].(float64)
		out = append(out, h)
	}
	return out
}

// autoHits is the second answer of autoSpec's search: one hit of each
// kind that does and does not get an automatic report.
var autoHits = scored(
	"CN0000001U", 0.99, // the baseline's
	"CN1U", 0.985, // the fake refuses the number: refused once, never again
	"CN0000002U", 0.97, "CN0000003U", 0.96, "CN0000004U", 0.95, // qualify, two per run
	"CN0000005U", 0.945, // the spec declares its report
	"CN0000006U", 0.80, // below min_score
	"CN0000007U", 0.93, // decided not_relevant
	"CN0000008S", 0.92, // a design patent: skipped, said once
	"CN0000009A", 0.91, // an application: skipped, said once
)

type autoSeen struct {
	status         report.ReportStatus
	origin, search string
	scored         bool
}

// autoReports is the automatic reports of rep, by name.
func autoReports(rep *report.ChangeReport) map[string]autoSeen {
	out := map[string]autoSeen{}
	for _, r := range rep.Reports {
		if strings.HasPrefix(r.Name, "auto-") {
			out[r.Name] = autoSeen{r.Status, r.Origin, r.Search, r.Score > 0}
		}
	}
	return out
}

// TestAutomaticReports: above min_score and capped per run, best score
// first, the rest waiting; never for the baseline, a silenced hit, or a
// patent the spec declares a report on; a number PatSnap cannot report on
// said once; plan lists them and creates no job.
func TestAutomaticReports(t *testing.T) {
	h := newHarness(t, fake.Options{PollsToFinish: -1})
	h.writeSpec(autoSpec)
	h.writeDecisions("version: 1\ndecisions:\n  CN0000007U: {verdict: not_relevant}\n")
	h.api.SetResults(imgA, -1, scored("CN0000001U", 0.99)...)
	if code, rep, stderr := h.apply(); code != exitOK || len(autoReports(rep)) != 0 {
		t.Fatalf("baseline: exit %d, automatic reports %v\n%s", code, autoReports(rep), stderr)
	}
	h.clock.Advance(time.Hour)
	h.api.SetResults(imgA, -1, autoHits...)
	jobs := h.api.JobsCreated()

	code, plan, stderr := h.report("plan")
	if code != exitOK {
		t.Fatalf("plan: exit %d\n%s", code, stderr)
	}
	wantPlan := map[string]autoSeen{
		"auto-cn1u":       {report.ReportSubmit, "auto", "hinges", true},
		"auto-cn0000002u": {report.ReportSubmit, "auto", "hinges", true},
		"auto-cn0000008s": {report.ReportSkipped, "auto", "hinges", true},
		"auto-cn0000009a": {report.ReportSkipped, "auto", "hinges", true},
	}
	if got := autoReports(plan); !equalAutos(got, wantPlan) {
		t.Errorf("plan's automatic reports:\n%v\nwant\n%v", got, wantPlan)
	}
	if h.api.JobsCreated() != jobs {
		t.Errorf("plan created %d jobs", h.api.JobsCreated()-jobs)
	}

	code, rep, stderr := h.apply()
	if code != exitOK {
		t.Fatalf("apply: exit %d\n%s", code, stderr)
	}
	want := map[string]autoSeen{
		"auto-cn1u":       {report.ReportSkipped, "auto", "hinges", true}, // refused by the API
		"auto-cn0000002u": {report.ReportSubmitted, "auto", "hinges", true},
		"auto-cn0000008s": {report.ReportSkipped, "auto", "hinges", true},
		"auto-cn0000009a": {report.ReportSkipped, "auto", "hinges", true},
	}
	if got := autoReports(rep); !equalAutos(got, want) {
		t.Errorf("apply's automatic reports:\n%v\nwant\n%v", got, want)
	}
	if n := h.api.JobsCreated() - jobs; n != 1 { // auto-cn0000002u's; the API refused auto-cn1u's
		t.Errorf("%d jobs created, want 1", n)
	}
	// The worst case: a page, the declared report's poll, two new jobs.
	if rep.Calls.Made == nil || *rep.Calls.Made > rep.Calls.Estimated || rep.Calls.Estimated < 1+1+2 {
		t.Errorf("calls %+v: the worst case does not count the automatic reports", rep.Calls)
	}

	// The next run: the two that waited, best first; the refused one and
	// the skipped ones are not said again.
	h.clock.Advance(time.Hour)
	code, rep, stderr = h.apply()
	want = map[string]autoSeen{
		"auto-cn0000002u": {report.ReportFinished, "auto", "hinges", true},
		"auto-cn0000003u": {report.ReportSubmitted, "auto", "hinges", true},
		"auto-cn0000004u": {report.ReportSubmitted, "auto", "hinges", true},
	}
	if got := autoReports(rep); code != exitOK || !equalAutos(got, want) {
		t.Errorf("the next apply (exit %d): automatic reports\n%v\nwant\n%v\n%s", code, got, want, stderr)
	}
	st := h.state()
	for _, name := range []string{"auto-cn0000001u", "auto-cn0000005u", "auto-cn0000006u", "auto-cn0000007u"} {
		if _, ok := st.Reports[name]; ok {
			t.Errorf("%s was ordered", name)
		}
	}
	if r := st.Reports["auto-cn1u"]; r == nil || r.JobID != "" || !strings.HasPrefix(r.LastError, "refused: ") {
		t.Errorf("the refused report's record: %+v", r)
	}

	if _, err := os.Stat(h.path("reports/auto-cn0000002u.pdf")); err != nil {
		t.Errorf("the finished automatic report's file: %v", err)
	}

	// Decided not_relevant, an ordered one leaves; decided report, a
	// patent no search holds gets one, which an offline plan lists.
	h.writeDecisions("version: 1\ndecisions:\n  CN0000007U: {verdict: not_relevant}\n  CN0000003U: {verdict: not_relevant}\n  CN0000010U: {verdict: report}\n")
	code, offline, stderr := h.report("plan", "--offline")
	if got := autoReports(offline)["auto-cn0000010u"]; code != exitOK || got != (autoSeen{report.ReportSubmit, "decision", "", false}) {
		t.Errorf("plan --offline (exit %d): auto-cn0000010u %+v\n%s", code, got, stderr)
	}
	code, rep, stderr = h.apply()
	want = map[string]autoSeen{
		"auto-cn0000002u": {report.ReportReady, "auto", "hinges", true},
		"auto-cn0000003u": {report.ReportRemoved, "auto", "", false},
		"auto-cn0000004u": {report.ReportFinished, "auto", "hinges", true},
		"auto-cn0000010u": {report.ReportSubmitted, "decision", "", false},
	}
	if got := autoReports(rep); code != exitOK || !equalAutos(got, want) {
		t.Errorf("after the decisions (exit %d): automatic reports\n%v\nwant\n%v\n%s", code, got, want, stderr)
	}
}

func equalAutos(a, b map[string]autoSeen) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestAutoReportRefusedOnADesignSearch: validate refuses auto_report on a
// design search, located at its key.
func TestAutoReportRefusedOnADesignSearch(t *testing.T) {
	h := newHarness(t, fake.Options{})
	h.writeSpec(strings.Replace(strings.Replace(autoSpec, "patent_type: U", "patent_type: D", 1), "model: 4", "model: 1", 1))
	code, _, errOut := h.run(context.Background(), "validate", "-f", h.path("patwatch.yaml"))
	want := h.path("patwatch.yaml") + ":7:5: searches[0].auto_report: auto_report is for utility-model searches (patent_type U)"
	if code != exitError || !strings.Contains(errOut, want) {
		t.Errorf("validate: exit %d\n%s\nwant %q", code, errOut, want)
	}
}
