package main

import (
	"context"
	"strings"
	"testing"

	"github.com/patwatch/patwatch/internal/patsnap/fake"
	"github.com/patwatch/patwatch/internal/report"
)

// TestTargetAnAutomaticReportBeforeItIsRecorded: after 'mark PN --as
// report', --target auto-<pn> names the report the decision orders, in
// plan --offline, plan and apply alike, and selects it alone; a name
// nothing knows is still refused.
func TestTargetAnAutomaticReportBeforeItIsRecorded(t *testing.T) {
	h := newHarness(t, fake.Options{PollsToFinish: -1})
	h.writeSpec(autoSpec)
	h.api.SetResults(imgA, -1, scored("CN0000001U", 0.99)...)
	if code, _, stderr := h.apply(); code != exitOK {
		t.Fatalf("baseline: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := h.run(context.Background(), "mark", "-f", h.path("patwatch.yaml"), "CN215812345U", "--as", "report"); code != exitOK {
		t.Fatalf("mark: exit %d\n%s", code, stderr)
	}
	const name = "auto-cn215812345u"
	selectedAlone := func(cmd string, rep *report.ChangeReport, want report.ReportStatus) {
		t.Helper()
		if r := reportByName(t, rep, name); r.Status != want || r.Origin != report.OriginDecision || r.Patent != "CN215812345U" {
			t.Errorf("%s: the targeted report: %+v, want %s, ordered by the decision", cmd, r, want)
		}
		if r := reportByName(t, rep, "declared"); r.Status != report.ReportSkipped {
			t.Errorf("%s: the declared report: %s, want skipped", cmd, r.Status)
		}
		if s := searchByName(t, rep, "hinges"); s.Status != report.StatusSkipped {
			t.Errorf("%s: the search: %s, want skipped", cmd, s.Status)
		}
	}
	code, rep, stderr := h.report("plan", "--offline", "--target", name)
	if code != exitOK {
		t.Fatalf("plan --offline: exit %d\n%s", code, stderr)
	}
	selectedAlone("plan --offline", rep, report.ReportSubmit)
	calls := len(h.endpoints())
	if code, rep, stderr = h.report("plan", "--target", name); code != exitOK {
		t.Fatalf("plan: exit %d\n%s", code, stderr)
	}
	selectedAlone("plan", rep, report.ReportSubmit)
	if code, rep, stderr = h.apply("--target", name); code != exitOK {
		t.Fatalf("apply: exit %d\n%s", code, stderr)
	}
	selectedAlone("apply", rep, report.ReportSubmitted)
	for _, ep := range h.endpoints()[calls:] {
		if ep == fake.EndpointSearchSingle || ep == fake.EndpointSearchMultiple {
			t.Errorf("a targeted report's run called the search (%s)", ep)
		}
	}
	if rec := h.state().Reports[name]; rec == nil || rec.PatentNumber != "CN215812345U" {
		t.Errorf("the report is not recorded: %+v", rec)
	}

	// A name no spec entry, record or decision knows is refused, before any call.
	calls = len(h.endpoints())
	for _, cmd := range [][]string{{"plan", "--offline"}, {"plan"}, {"apply"}} {
		code, out, errOut := h.run(context.Background(), append(cmd, "-f", h.path("patwatch.yaml"), "--target", "auto-cn999u")...)
		if code != exitError || out != "" || !strings.Contains(errOut, "--target auto-cn999u: no search or report of that name") {
			t.Errorf("%v --target auto-cn999u: exit %d\n%s%s", cmd, code, out, errOut)
		}
	}
	if n := len(h.endpoints()) - calls; n != 0 {
		t.Errorf("%d calls for refused targets", n)
	}
}
