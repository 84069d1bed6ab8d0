package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/patwatch/patwatch/internal/patsnap/fake"
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

// analystPage is what TestTheAnalystsPage measures of a report page.
type analystPage struct {
	QueryWidth   float64  `json:"queryWidth"`   // the first query image, rendered
	CardWidth    float64  `json:"cardWidth"`    // a new hit's drawing, rendered
	DroppedWidth float64  `json:"droppedWidth"` // a dropped hit's drawing, rendered
	Beside       bool     `json:"beside"`       // the query is left of the first card, at its height
	MidWord      []string `json:"midWord"`      // caption pieces broken across lines
	Font         string   `json:"font"`
	Marks        []string `json:"marks"`
	How          bool     `json:"how"`
}

const measureAnalystPage = `(() => {
	const w = e => e ? e.getBoundingClientRect().width : 0;
	const q = document.querySelector('.query .pic'), card = document.querySelector('.card .pic');
	const midWord = [];
	for (const cap of document.querySelectorAll('figcaption')) {
		const walk = document.createTreeWalker(cap, NodeFilter.SHOW_TEXT);
		for (let n = walk.nextNode(); n; n = walk.nextNode()) {
			const r = document.createRange(); r.selectNodeContents(n);
			const tops = new Set(Array.from(r.getClientRects(), x => Math.round(x.top)));
			if (tops.size > 1) midWord.push(n.textContent);
		}
	}
	return {
		queryWidth: w(q), cardWidth: w(card), droppedWidth: w(document.querySelector('.gone .pic')),
		beside: !!q && !!card && q.getBoundingClientRect().right <= card.getBoundingClientRect().left &&
			Math.abs(q.getBoundingClientRect().top - card.getBoundingClientRect().top) < 80,
		midWord, font: getComputedStyle(document.body).fontFamily,
		marks: Array.from(document.querySelectorAll('.card .mark'), e => e.textContent),
		how: !!document.querySelector('header .how'),
	};
})()`

// TestTheAnalystsPage opens a report page as a new user reads it: the
// query image large and beside its hits, its long URL caption broken only
// between path segments, dropped hits' drawings large enough to see,
// Chinese titles asking for the common CJK fonts, and each undecided new
// hit with the command that decides it.
func TestTheAnalystsPage(t *testing.T) {
	ctx := browser(t)
	h := newHarness(t, fake.Options{})
	const longImage = "https://static-open.zhihuiya.com/sample/common_demo_phone_front_view.png"
	h.writeSpec(strings.Replace(twoSearches, imgA, longImage, 1))
	h.api.SetResults(longImage, -1, fakeHits("CN0000001S", "CN0000002S")...)
	h.api.SetResults(imgB, -1)
	h.apply()
	hits := fakeHits("CN0000001S", "CN0000003S", "CN0000004S")
	hits[1].Title, hits[1].CurrentAssignee = "手机（带摄像头的移动通信终端）", "华为技术有限公司"
	h.api.SetResults(longImage, -1, hits...)
	page := h.path("changes.html")
	if code, _, stderr := h.run(t.Context(), "apply", "--format", "html", "--out", page); code != exitOK {
		t.Fatalf("apply: exit %d\n%s", code, stderr)
	}
	for _, view := range []struct {
		name   string
		width  int64
		beside bool
	}{{"html-analyst.png", 1100, true}, {"html-analyst-phone.png", 390, false}} {
		tb := tab(t, ctx)
		got, left, shot := open(t, tb, page, view.width, false)
		keepArtifact(t, view.name, shot)
		checkLoaded(t, got, left, page)
		m, err := chromedp.Run(tb, chromedp.Evaluate[analystPage](measureAnalystPage))
		if err != nil {
			t.Fatal(err)
		}
		if view.beside && (!m.Beside || m.QueryWidth < 200) {
			t.Errorf("%s: the query image is %.0f px wide, beside its hits %v; want at least 200 px, beside", view.name, m.QueryWidth, m.Beside)
		}
		if !view.beside && m.QueryWidth < 140 {
			t.Errorf("%s: the query image is %.0f px wide", view.name, m.QueryWidth)
		}
		if len(m.MidWord) > 0 {
			t.Errorf("%s: the caption breaks inside %q", view.name, m.MidWord)
		}
		if m.DroppedWidth < 96 {
			t.Errorf("%s: a dropped hit's drawing is %.0f px wide, want at least 96", view.name, m.DroppedWidth)
		}
		for _, f := range []string{"Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", "Source Han Sans SC"} {
			if !strings.Contains(m.Font, f) {
				t.Errorf("%s: the font stack %q does not ask for %s", view.name, m.Font, f)
			}
		}
		want := "patwatch mark CN0000003S --as not_relevant,patwatch mark CN0000004S --as not_relevant"
		if strings.Join(m.Marks, ",") != want || !m.How {
			t.Errorf("%s: the cards' commands %q, the page's explanation %v", view.name, m.Marks, m.How)
		}
	}
}
