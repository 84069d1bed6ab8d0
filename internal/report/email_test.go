package report

import (
	"bytes"
	"image/color"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// emailPage is samplePage's pictures with the new hit's drawing also the
// query image: the e-mail holds it once.
func emailPage(t *testing.T) *Page {
	p := samplePage(t)
	q := p.Queries["phone-designs"]
	q.Images = append(q.Images, QueryImage{Name: "again.png", Picture: p.Drawings["phone-designs"]["EU0065350760001S"]})
	p.Queries["phone-designs"] = q
	p.Notification = true
	return p
}

func TestRenderEmailGolden(t *testing.T) {
	rep := sampleReport("apply")
	rep.Simulated = true
	rep.Searches[0].New[0].Link = "https://worldwide.espacenet.com/patent/search?q=pn%3DEU0065350760001S"
	e, err := RenderEmail(rep, emailPage(t))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, filepath.Join("testdata", "email.html.golden"), []byte(e.HTML))
	checkEmailShape(t, e)
	if len(e.Images) != 2 {
		t.Errorf("%d inline images, want 2: the query image and the drawing, which is shown twice", len(e.Images))
	}
	for _, local := range []string{"watch/", "reports/"} {
		if strings.Contains(e.HTML, local) {
			t.Errorf("the e-mail names a path on the machine that ran patwatch (%q)", local)
		}
	}
}

// checkEmailShape asserts what every e-mail must hold: no data: image and
// no style sheet; only inline styles in what mail clients support; every
// cid: reference is an inline image and every inline image is referred
// to; every picture has a fixed size and alt text.
func checkEmailShape(t *testing.T, e *Email) {
	t.Helper()
	out := e.HTML
	for _, never := range []string{"data:", "<style", "<script", "<meter", "var(", ":root", "display:flex", "display:grid", "aspect-ratio",
		"::after", "object-fit", "rem;", "em;", "gap:", "overflow-wrap", "position:", "\r"} {
		if strings.Contains(out, never) {
			t.Errorf("the e-mail holds %q", never)
		}
	}
	cids := map[string]bool{}
	for _, img := range e.Images {
		if cids[img.CID] {
			t.Errorf("inline image %s twice", img.CID)
		}
		cids[img.CID] = true
		if !strings.Contains(out, `src="cid:`+img.CID+`"`) {
			t.Errorf("inline image %s is not referred to", img.CID)
		}
	}
	imgs := regexp.MustCompile(`<img [^>]*>`).FindAllString(out, -1)
	for _, img := range imgs {
		src := regexp.MustCompile(`src="cid:([^"]+)"`).FindStringSubmatch(img)
		if src == nil || !cids[src[1]] {
			t.Errorf("an image that is no inline part: %s", img)
		}
		for _, attr := range []string{` width="`, ` height="`, ` alt="`} {
			if !strings.Contains(img, attr) {
				t.Errorf("an image without%s: %s", strings.TrimSuffix(attr, `"`), img)
			}
		}
	}
	for _, m := range regexp.MustCompile(` href="([^"]*)"`).FindAllStringSubmatch(out, -1) {
		if !strings.HasPrefix(m[1], "https://") {
			t.Errorf("a link to %q", m[1])
		}
	}
}

// TestRenderEmailEscapesEveryAPIString: no string from the API adds markup,
// and no control character (a bare CR, the start of SMTP smuggling) is
// left in the HTML as it was.
func TestRenderEmailEscapesEveryAPIString(t *testing.T) {
	for _, evil := range append(hostile, "title\r.\r\nMAIL FROM:<x@evil.example>\r\n", "bell\x07 nul\x00 esc\x1b[2J") {
		rep := &ChangeReport{Command: "apply", Spec: evil, PatwatchVersion: evil, Stopped: &Stop{Error: evil, Check: evil},
			Searches: []SearchChange{{Name: "s", Status: StatusOK, Hits: 2,
				New:     []HitChange{{PatentPN: evil, Title: evil, CurrentAssignee: evil, Link: evil, Score: 0.9}},
				Dropped: []HitChange{{PatentPN: "X" + evil, Title: evil, CurrentAssignee: evil}}},
				{Name: "e", Status: StatusError, Error: evil}},
			Reports: []ReportChange{{Name: "r", Patent: evil, Status: ReportFailed, JobID: evil, Error: evil, File: evil}},
		}
		rep.Finish()
		page := &Page{
			Queries:  map[string]Query{"s": {Line: evil, Images: []QueryImage{{Name: evil, Picture: Picture{Missing: evil}}}}},
			Drawings: map[string]map[string]Picture{"s": {evil: {Image: tinyPNG(t, 2, 2, color.Black)}}},
		}
		e, err := RenderEmail(rep, page)
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"<script", "<svg", "<img src=x", `href="javascript`, "\r", "\x00", "\x07", "\x1b", "\u202e"} {
			if strings.Contains(e.HTML, bad) {
				t.Errorf("%q: the e-mail holds %q", evil, bad)
			}
		}
		if n := strings.Count(e.HTML, "<img "); n != 1 {
			t.Errorf("%q: %d img elements, want the 1 drawing", evil, n)
		}
		checkEmailShape(t, e)
	}
}

// TestRenderEmailPictureSizes: a picture is fitted into its box at its
// own aspect ratio, and one that does not decode is a box of that size
// saying why, as is one that is missing.
func TestRenderEmailPictureSizes(t *testing.T) {
	rep := &ChangeReport{Command: "apply", Searches: []SearchChange{{Name: "s", Status: StatusOK,
		New: []HitChange{{PatentPN: "WIDE"}, {PatentPN: "TALL"}, {PatentPN: "SMALL"}, {PatentPN: "BROKEN"}, {PatentPN: "GONE"}}}}}
	rep.Finish()
	page := &Page{Drawings: map[string]map[string]Picture{"s": {
		"WIDE":   {Image: tinyPNG(t, 320, 160, color.Black)},
		"TALL":   {Image: tinyPNG(t, 100, 280, color.White)},
		"SMALL":  {Image: tinyPNG(t, 30, 20, color.Gray{Y: 128})},
		"BROKEN": {Image: &Image{MediaType: "image/png", Data: []byte("<html>")}},
		"GONE":   {Missing: "drawing not fetched: HTTP 404"},
	}}}
	e, err := RenderEmail(rep, page)
	if err != nil {
		t.Fatal(err)
	}
	for pn, want := range map[string]string{"WIDE": `width="140" height="70"`, "TALL": `width="50" height="140"`, "SMALL": `width="30" height="20"`} {
		if !regexp.MustCompile(`<img [^>]*` + want + ` alt="drawing of ` + pn + `"`).MatchString(e.HTML) {
			t.Errorf("%s is not shown at %s", pn, want)
		}
	}
	for _, why := range []string{"drawing unreadable: not a png image", "drawing not fetched: HTTP 404"} {
		if !regexp.MustCompile(`width="140" height="140" [^>]*>` + why + `<`).MatchString(e.HTML) {
			t.Errorf("no 140 px box saying %q", why)
		}
	}
	if len(e.Images) != 3 || e.Size() <= len(e.HTML) {
		t.Errorf("%d inline images (size %d), want 3", len(e.Images), e.Size())
	}
	checkEmailShape(t, e)
}

// TestRenderEmailScoreBar: the score is text and a bar of two table
// cells, 100 px in all.
func TestRenderEmailScoreBar(t *testing.T) {
	rep := &ChangeReport{Command: "apply", Searches: []SearchChange{{Name: "s", Status: StatusOK,
		New: []HitChange{{PatentPN: "A", Score: 0.8884816}, {PatentPN: "B", Score: 1.2}, {PatentPN: "C"}}}}}
	rep.Finish()
	e, err := RenderEmail(rep, nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	buf.WriteString(e.HTML)
	for _, want := range []string{`<td width="89" height="8"`, `<td width="11" height="8"`, "score 0.888", `<td width="100" height="8"`, "score 1.000"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("the e-mail lacks %q", want)
		}
	}
	if n := strings.Count(buf.String(), "score "); n != 2 {
		t.Errorf("%d scores shown, want 2 (C has none)", n)
	}
}

// TestEmailMarksDecisions: a new or dropped hit with a decision says it on
// its card, inline-styled like the rest; a hit without one says nothing.
func TestEmailMarksDecisions(t *testing.T) {
	rep := sampleReport("apply")
	rep.Searches[0].New[0].Decision = "relevant"
	rep.Searches[0].Dropped[0].Decision = "report"
	e, err := RenderEmail(rep, emailPage(t))
	if err != nil {
		t.Fatal(err)
	}
	checkEmailShape(t, e)
	for _, want := range []string{
		`<div style="padding:0 0 4px 0;font-size:12px;line-height:16px;font-weight:bold;color:#0b57d0">decision: relevant</div>`,
		`color:#17703a">decision: report</div>`,
	} {
		if !strings.Contains(e.HTML, want) {
			t.Errorf("the e-mail lacks %q", want)
		}
	}
	if n := strings.Count(e.HTML, "decision: "); n != 2 {
		t.Errorf("%d decisions shown, want the 2 the hits have", n)
	}
}
