package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestDecisionsPagesInBrowser opens the report page of a run with a decided
// hit and the inbox page in headless Chromium with the network off: the
// decision shows on its card, every drawing loaded, no request left the
// page, and each inbox card carries the command that decides it.
func TestDecisionsPagesInBrowser(t *testing.T) {
	ctx := browser(t)
	h := inboxHarness(t)
	if code, _, stderr := h.run(t.Context(), "mark", "-f", h.path("patwatch.yaml"), "CN0000007S", "--as", "relevant"); code != exitOK {
		t.Fatalf("mark: exit %d\n%s", code, stderr)
	}
	h.api.SetResults(imgA, -1, fakeHits("CN0000001S", "CN0000002S", "CN0000003S", "CN0000007S")...)
	page := h.path("changes.html")
	if code, _, stderr := h.run(t.Context(), "apply", "--format", "html", "--out", page); code != exitOK {
		t.Fatalf("apply: exit %d\n%s", code, stderr)
	}
	tb := tab(t, ctx)
	got, left, shot := open(t, tb, page, 1100, false)
	keepArtifact(t, "html-report-decisions.png", shot)
	checkLoaded(t, got, left, page)
	decisions, err := chromedp.Run(tb, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('.card .decision'), e => e.offsetWidth > 0 ? e.textContent : 'hidden')`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(decisions, ",") != "decision: relevant" {
		t.Errorf("the decisions the cards show: %q, want the one relevant", decisions)
	}

	inbox := h.path("inbox.html")
	if code, _, stderr := h.run(t.Context(), "inbox", "-f", h.path("patwatch.yaml"), "--format", "html", "--out", inbox); code != exitOK {
		t.Fatalf("inbox: exit %d\n%s", code, stderr)
	}
	tb = tab(t, ctx)
	got, left, shot = open(t, tb, inbox, 1100, false)
	keepArtifact(t, "html-inbox.png", shot)
	checkLoaded(t, got, left, inbox)
	if len(got.Images) != 3 || got.Overflow {
		t.Errorf("the inbox shows %d drawings (want 3), overflow %v", len(got.Images), got.Overflow)
	}
	marks, err := chromedp.Run(tb, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('.card .mark'), e => e.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	want := "patwatch mark CN0000005S --as not_relevant,patwatch mark CN0000003S --as not_relevant,patwatch mark CN0000004S --as not_relevant"
	if strings.Join(marks, ",") != want {
		t.Errorf("the inbox cards' commands: %q", marks)
	}
}
