package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html"
	"image"
	"image/color"
	"image/png"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/patwatch/patwatch/internal/patsnap/fake"
)

// tinyPNG is a w×h PNG of one colour.
func tinyPNG(t testing.TB, w, h int, c color.Color) *Image {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range w * h {
		img.Set(i%w, i/w, c)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return &Image{MediaType: "image/png", Data: buf.Bytes()}
}

// samplePage gives sampleReport's pictures: a drawing for the new hit, none
// for the dropped one, a query image, and the finished report's file.
func samplePage(t testing.TB) *Page {
	return &Page{
		Queries: map[string]Query{
			"phone-designs": {Line: "design (D), model 1 · country US, EU · max_results 100", Images: []QueryImage{
				{Name: "phone.png", Picture: Picture{Image: tinyPNG(t, 3, 2, color.Black)}},
				{Name: "static-open.zhihuiya.com/sample/common_demo.png", Picture: Picture{Missing: "query image not fetched: HTTP 404 from static-open.zhihuiya.com"}},
			}},
		},
		Drawings: map[string]map[string]Picture{
			"phone-designs": {
				"EU0065350760001S": {Image: tinyPNG(t, 2, 2, color.White)},
				"CN305123456S":     {Missing: "drawing not fetched: HTTP 404 Not Found from img.example"},
			},
		},
		Files: map[string]string{"cn108977442b": "reports/cn108977442b.pdf"},
	}
}

func TestRenderHTMLGolden(t *testing.T) {
	rep := sampleReport("apply")
	rep.Simulated = true
	rep.Searches[0].New[0].Link = "https://worldwide.espacenet.com/patent/search?q=pn%3DEU0065350760001S"
	var buf bytes.Buffer
	if err := RenderHTML(&buf, rep, samplePage(t)); err != nil {
		t.Fatal(err)
	}
	golden(t, filepath.Join("testdata", "report.html.golden"), buf.Bytes())

	buf.Reset()
	if err := RenderHTML(&buf, planReport(), nil); err != nil {
		t.Fatal(err)
	}
	golden(t, filepath.Join("testdata", "plan-offline.html.golden"), buf.Bytes())
}

func TestRenderGalleryGolden(t *testing.T) {
	g := &Gallery{
		State: "patwatch.state.json", Serial: 7, PatwatchVersion: "v1.2.3", GeneratedAt: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC),
		Searches: []GallerySearch{
			{Name: "phone-designs", BaselineAt: time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC),
				Query: Query{Line: "design (D), model 1", Images: []QueryImage{{Name: "phone.png", Picture: Picture{Image: tinyPNG(t, 3, 2, color.Black)}}}},
				Hits: []GalleryHit{
					{PatentPN: "CN305104902S", Title: "相机镜头", CurrentAssignee: "BYD COMPANY LIMITED", Score: 0.964, Apdt: 20240606, Pbdt: 20260111,
						FirstSeen: time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC), Drawing: Picture{Image: tinyPNG(t, 2, 3, color.Black)}},
					{PatentPN: "USD815332S", Title: "Smartphone", Missing: 1, FirstSeen: time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC),
						Drawing: Picture{Missing: "no drawing kept: beyond the baseline's 20"}},
				}},
			{Name: "empty"},
		},
	}
	var buf bytes.Buffer
	if err := RenderGallery(&buf, g); err != nil {
		t.Fatal(err)
	}
	golden(t, filepath.Join("testdata", "gallery.html.golden"), buf.Bytes())
}

// hostile are strings from the API (or a spec) that try to add markup or
// script to a page.
var hostile = []string{
	`<img src=x onerror=alert(1)>`,
	`</style><script>alert(1)</script>`,
	`"><svg onload=alert(1)>`,
	`</title><script>alert(1)</script>`,
	`javascript:alert(1)`,
	"\u202eevil",
}

func TestRenderHTMLEscapesEveryAPIString(t *testing.T) {
	for _, evil := range hostile {
		rep := &ChangeReport{Command: "apply", Spec: evil, PatwatchVersion: evil, Trigger: evil,
			Searches: []SearchChange{{Name: "s", Status: StatusOK, Hits: 2,
				New:     []HitChange{{PatentPN: evil, Title: evil, CurrentAssignee: evil, Link: evil, ImageURL: "http://img.example/a.png?sig=" + evil, Score: 0.9}},
				Dropped: []HitChange{{PatentPN: "X" + evil, Title: evil, CurrentAssignee: evil}}},
				{Name: "e", Status: StatusError, Error: evil}},
			Reports: []ReportChange{{Name: "r", Patent: evil, Status: ReportFailed, JobID: evil, Error: evil, File: evil}},
		}
		rep.Finish()
		page := &Page{
			Queries:  map[string]Query{"s": {Line: evil, Images: []QueryImage{{Name: evil, Picture: Picture{Missing: evil}}}}},
			Drawings: map[string]map[string]Picture{"s": {evil: {Image: tinyPNG(t, 2, 2, color.Black)}}},
			Files:    map[string]string{"r": evil},
		}
		var buf bytes.Buffer
		if err := RenderHTML(&buf, rep, page); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		for _, bad := range []string{"<script", "<svg", "<img src=x", `href="javascript`, `src="javascript`, "img.example"} {
			if strings.Contains(out, bad) {
				t.Errorf("%q: the page holds %q:\n%s", evil, bad, out)
			}
		}
		if n := strings.Count(out, "<img "); n != 1 {
			t.Errorf("%q: %d img elements, want the 1 drawing", evil, n)
		}
		checkPageShape(t, out)
	}
}

// checkPageShape asserts what every page must hold: the CSP meta tag with
// the hash of its one style element, no script, no style attribute, no
// image but data: URLs, and no link but https and relative ones.
func checkPageShape(t *testing.T, out string) {
	t.Helper()
	csp := regexp.MustCompile(`<meta http-equiv="Content-Security-Policy" content="([^"]*)">`).FindStringSubmatch(out)
	if csp == nil {
		t.Fatalf("no Content-Security-Policy meta tag:\n%s", out)
	}
	policy := html.UnescapeString(csp[1]) // as the browser reads the attribute: &#39; is ', &#43; is +
	for _, want := range []string{"default-src 'none'", "img-src data:", "base-uri 'none'", "form-action 'none'"} {
		if !strings.Contains(policy, want) {
			t.Errorf("the policy %q lacks %q", policy, want)
		}
	}
	styles := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindAllStringSubmatch(out, -1)
	if len(styles) != 1 {
		t.Fatalf("%d style elements, want 1", len(styles))
	}
	sum := sha256.Sum256([]byte(styles[0][1]))
	if want := "style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(policy, want) {
		t.Errorf("the policy %q does not allow the page's style by its hash (%s)", policy, want)
	}
	if strings.Contains(out, " style=") || strings.Contains(out, "<script") {
		t.Error("the page has a style attribute or a script")
	}
	for _, m := range regexp.MustCompile(` src="([^"]*)"`).FindAllStringSubmatch(out, -1) {
		if !strings.HasPrefix(m[1], "data:image/png;base64,") && !strings.HasPrefix(m[1], "data:image/jpeg;base64,") {
			t.Errorf("an image from %q", m[1])
		}
	}
	for _, m := range regexp.MustCompile(` href="([^"]*)"`).FindAllStringSubmatch(out, -1) {
		if strings.Contains(m[1], ":") && !strings.HasPrefix(m[1], "https://") {
			t.Errorf("a link to %q", m[1])
		}
	}
}

func TestRenderHTMLEmbedsOnlyImagesThatDecode(t *testing.T) {
	good := tinyPNG(t, 4, 3, color.Black)
	cases := []struct {
		name string
		img  *Image
		want bool
	}{
		{"png", good, true},
		{"html as png", &Image{MediaType: "image/png", Data: []byte("<html><script>alert(1)</script></html>")}, false},
		{"png named jpeg", &Image{MediaType: "image/jpeg", Data: good.Data}, false},
		{"svg", &Image{MediaType: "image/svg+xml", Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`)}, false},
		{"truncated png", &Image{MediaType: "image/png", Data: good.Data[:len(good.Data)/2]}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep := &ChangeReport{Command: "apply", Searches: []SearchChange{{Name: "s", Status: StatusOK, New: []HitChange{{PatentPN: "CN1S"}}}}}
			rep.Finish()
			var buf bytes.Buffer
			if err := RenderHTML(&buf, rep, &Page{Drawings: map[string]map[string]Picture{"s": {"CN1S": {Image: tc.img}}}}); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			if got := strings.Contains(out, "<img "); got != tc.want {
				t.Errorf("embedded: %v, want %v\n%s", got, tc.want, out)
			}
			if !tc.want && !strings.Contains(out, "drawing unreadable") {
				t.Errorf("the missing drawing does not say why:\n%s", out)
			}
			checkPageShape(t, out)
		})
	}
}

func TestRenderHTMLLinks(t *testing.T) {
	for link, want := range map[string]string{
		"https://worldwide.espacenet.com/patent/search?q=pn%3DCN1S": `href="https://worldwide.espacenet.com/patent/search?q=pn%3DCN1S"`,
		"http://example.com/CN1S":                                   "",
		"//example.com/CN1S":                                        "",
		"https://user:pw@example.com/x":                             "",
		"data:text/html,hi":                                         "",
		"":                                                          "",
	} {
		rep := &ChangeReport{Command: "apply", Searches: []SearchChange{{Name: "s", Status: StatusOK, New: []HitChange{{PatentPN: "CN1S", Link: link}}}}}
		rep.Finish()
		var buf bytes.Buffer
		if err := RenderHTML(&buf, rep, nil); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		got := regexp.MustCompile(`href="[^"]*"`).FindString(out)
		if got != want {
			t.Errorf("link %q: got %s, want %s", link, got, want)
		}
	}
	for file, want := range map[string]string{
		"reports/a b.pdf":           `href="reports/a%20b.pdf"`,
		"../reports/a.pdf":          `href="../reports/a.pdf"`,
		"/abs/a.pdf":                "",
		"C:/x.pdf":                  "",
		"javascript:alert(1)//.pdf": "",
	} {
		rep := &ChangeReport{Command: "apply", Reports: []ReportChange{{Name: "r", Status: ReportFinished, File: "x.pdf"}}}
		rep.Finish()
		var buf bytes.Buffer
		if err := RenderHTML(&buf, rep, &Page{Files: map[string]string{"r": file}}); err != nil {
			t.Fatal(err)
		}
		if got := regexp.MustCompile(`href="[^"]*"`).FindString(buf.String()); got != want {
			t.Errorf("file %q: got %s, want %s", file, got, want)
		}
	}
}

// BenchmarkRenderHTML renders the page of 50 searches with 20 new hits
// each, every hit with a drawing's thumbnail of its own (made as a run
// makes them, from the fake's drawings), and reports the page's size.
//
//	go test -run '^$' -bench RenderHTML -benchmem ./internal/report
func BenchmarkRenderHTML(b *testing.B) {
	rep, page := bigPage(b, 50, 20)
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := RenderHTML(&buf, rep, page); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len())/(1<<20), "MiB/page")
	b.ReportMetric(float64(buf.Len())/float64(50*20), "bytes/hit")
}

// bigPage is a change report of searches × hits new hits, each with a
// thumbnail of its own.
func bigPage(tb testing.TB, searches, hits int) (*ChangeReport, *Page) {
	rep := &ChangeReport{Command: "apply", Spec: "patwatch.yaml", GeneratedAt: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)}
	page := &Page{Drawings: map[string]map[string]Picture{}, Queries: map[string]Query{}}
	for i := range searches {
		name := fmt.Sprintf("search-%02d", i)
		s := SearchChange{Name: name, Status: StatusOK, Hits: 100, Total: 1000}
		page.Drawings[name] = map[string]Picture{}
		page.Queries[name] = Query{Line: "design (D), model 1 · country US, EU, CN · max_results 100",
			Images: []QueryImage{{Name: "q.png", Picture: Picture{Image: thumbnail(tb, "query/"+name)}}}}
		for j := range hits {
			pn := fmt.Sprintf("CN30%02d%04dS", i, j)
			s.New = append(s.New, HitChange{PatentPN: pn, Title: "Mobile phone with a camera lens", CurrentAssignee: "HUAWEI TECHNOLOGIES CO., LTD.",
				Score: 0.9 - float64(j)/100, Apdt: 20240101, Pbdt: 20250101, Link: "https://worldwide.espacenet.com/patent/search?q=pn%3D" + pn})
			page.Drawings[name][pn] = Picture{Image: thumbnail(tb, "CN/S/"+pn+".png")}
		}
		rep.Searches = append(rep.Searches, s)
	}
	rep.Finish()
	return rep, page
}

// thumbnail is the thumbnail of the fake's drawing for key: the drawing
// itself, a PNG of thumbnail size already (as package drawings keeps it).
func thumbnail(tb testing.TB, key string) *Image {
	b := fake.Drawing(key)
	if cfg, err := png.DecodeConfig(bytes.NewReader(b)); err != nil || max(cfg.Width, cfg.Height) > 320 {
		tb.Fatalf("the fake's drawing of %s is no thumbnail: %v", key, err)
	}
	return &Image{MediaType: "image/png", Data: b}
}
