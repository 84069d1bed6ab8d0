package report

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"
)

//go:embed html/page.tmpl html/style.css html/email.tmpl
var htmlFiles embed.FS

var (
	pageTemplate = template.Must(template.New("").ParseFS(htmlFiles, "html/page.tmpl"))
	pageStyle    = mustRead("html/style.css")
	// pageCSP allows nothing but the page's own style sheet (by its hash)
	// and images embedded as data: URLs: no script, no font, no frame, no
	// request of any kind when the page is opened.
	pageCSP = "default-src 'none'; img-src data:; style-src '" + styleHash(pageStyle) + "'; base-uri 'none'; form-action 'none'"
)

func mustRead(name string) string {
	b, err := htmlFiles.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return strings.TrimSpace(string(b))
}

func styleHash(css string) string {
	sum := sha256.Sum256([]byte(css))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

// Image is a picture a page embeds: a PNG or JPEG thumbnail's bytes.
type Image struct {
	MediaType string // image/png or image/jpeg
	Data      []byte
}

// Picture is an image a page shows, or why it has none.
type Picture struct {
	Image *Image // nil: missing
	// Missing says why there is no image ("drawing not fetched: HTTP 404
	// from …"); a page shows it in the image's place.
	Missing string
}

// Query is what a page shows of a search's query.
type Query struct {
	Line   string // the query's type, model and filters in one line
	Images []QueryImage
}

// QueryImage is one query image with the name the spec gives it.
type QueryImage struct {
	Name string
	Picture
}

// Page is what an HTML change report shows beyond the change report
// itself. Every part is optional: a picture that is not there is shown as
// missing, never as a broken page.
type Page struct {
	Queries  map[string]Query              // by search name
	Drawings map[string]map[string]Picture // search name → patent_pn → drawing
	// Files holds the link of each finished report's file, relative to
	// where the page is written, by report name.
	Files map[string]string
	// Notification marks the page of a notification message: the report
	// holds the message's events only, so a search's line counts its new
	// and dropped hits and claims no total.
	Notification bool
}

// RenderHTML writes c as one self-contained HTML page: every image is
// embedded, a Content-Security-Policy forbids script and every request, and
// every string from the API or the spec is escaped by html/template. p may
// be nil.
func RenderHTML(w io.Writer, c *ChangeReport, p *Page) error {
	if p == nil {
		p = &Page{}
	}
	v := pageView{
		shell:   newShell(c.Simulated, c.PatwatchVersion),
		Heading: "patwatch " + c.Command,
		Meta:    pageMeta(c),
		Tally:   Summary(c),
		Stopped: c.Stopped,
	}
	if p.Notification {
		v.Heading = "patwatch: what a run found"
	}
	v.Title = titleOf(v.Heading, c.Spec, c.GeneratedAt)
	plan := c.Command == "plan"
	for _, s := range c.Searches {
		sv := searchView{ID: anchor(s.Name), Name: s.Name, Query: queryView(p.Queries[s.Name])}
		sv.Class, sv.Badge = searchBadge(plan, s)
		sv.Query.Facts = searchFacts(c, plan, s)
		if p.Notification && s.Status == StatusOK {
			sv.Query.Facts = []string{fmt.Sprintf("%d new, %d dropped.", len(s.New), len(s.Dropped))}
		}
		drawings := p.Drawings[s.Name]
		for _, h := range s.New {
			hv := hitView(h, drawings[h.PatentPN], "new")
			if h.Decision == "" {
				hv.Mark = MarkCommand(h.PatentPN)
				v.How = true
			}
			sv.New = append(sv.New, hv)
		}
		for _, h := range s.Dropped {
			sv.Dropped = append(sv.Dropped, hitView(h, drawings[h.PatentPN], "dropped"))
		}
		v.Searches = append(v.Searches, sv)
	}
	for _, r := range c.Reports {
		rv := reportView{Name: r.Name, Patent: r.Patent, Status: reportText(r), File: r.File}
		if r.RenamedFrom != "" {
			rv.Status += " (renamed from " + r.RenamedFrom + ")"
		}
		if o := originNote(r); o != "" {
			rv.Status += " (" + o + ")"
		}
		if href, ok := p.Files[r.Name]; ok && r.File != "" {
			rv.Href = relativeLink(href)
		}
		v.Reports = append(v.Reports, rv)
	}
	return execute(w, "page", v)
}

// Gallery is what show --format html draws: every hit each search of a
// state holds, best score first.
type Gallery struct {
	State           string // the state's path as given
	Serial          uint64
	PatwatchVersion string // of the patwatch drawing the page
	GeneratedAt     time.Time
	Simulated       bool // the state was written by --sandbox runs
	Searches        []GallerySearch
}

// GallerySearch is one search of a gallery.
type GallerySearch struct {
	Name       string
	BaselineAt time.Time
	Query      Query
	Hits       []GalleryHit // in the order shown
}

// GalleryHit is one hit a state holds.
type GalleryHit struct {
	PatentPN, Title, CurrentAssignee string
	Apdt, Pbdt                       int
	Score                            float64 // as last seen; 0: unknown
	FirstSeen                        time.Time
	Missing                          int // successful runs it was missing from
	Link                             string
	Decision                         string // its verdict in the spec's decisions file; "" for none
	Drawing                          Picture
}

// RenderGallery writes g as one self-contained HTML page, with the same
// guarantees as RenderHTML: each hit a card of the report page's, with its
// decision's badge when it has one.
func RenderGallery(w io.Writer, g *Gallery) error {
	hits := 0
	for _, s := range g.Searches {
		hits += len(s.Hits)
	}
	v := pageView{
		shell:   newShell(g.Simulated, g.PatwatchVersion),
		Heading: "patwatch show",
		Tally:   fmt.Sprintf("%s, %s", count(len(g.Searches), "search", "searches"), count(hits, "hit", "hits")),
	}
	var meta []string
	if g.State != "" {
		meta = append(meta, "state "+g.State)
	}
	meta = append(meta, "serial "+strconv.FormatUint(g.Serial, 10))
	if !g.GeneratedAt.IsZero() {
		meta = append(meta, g.GeneratedAt.UTC().Format(time.RFC3339))
	}
	v.Meta = strings.Join(meta, " · ")
	v.Title = titleOf(v.Heading, g.State, g.GeneratedAt)
	for _, s := range g.Searches {
		sv := searchView{ID: anchor(s.Name), Name: s.Name, Query: queryView(s.Query), Class: "ok", Badge: count(len(s.Hits), "hit", "hits")}
		if !s.BaselineAt.IsZero() {
			sv.Query.Facts = append(sv.Query.Facts, "baseline "+s.BaselineAt.UTC().Format(time.DateOnly))
		}
		for _, h := range s.Hits {
			hv := hitView(HitChange{PatentPN: h.PatentPN, Title: h.Title, Score: h.Score, CurrentAssignee: h.CurrentAssignee,
				Apdt: h.Apdt, Pbdt: h.Pbdt, Link: h.Link, Decision: h.Decision}, h.Drawing, "")
			if !h.FirstSeen.IsZero() {
				hv.Seen = "first seen " + h.FirstSeen.UTC().Format(time.DateOnly)
			}
			if h.Missing > 0 {
				hv.Seen += fmt.Sprintf(" · missing from the last %s", count(h.Missing, "run", "runs"))
			}
			sv.New = append(sv.New, hv)
		}
		v.Searches = append(v.Searches, sv)
	}
	return execute(w, "gallery", v)
}

func execute(w io.Writer, name string, v pageView) error {
	var buf bytes.Buffer
	if err := pageTemplate.ExecuteTemplate(&buf, name, v); err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// shell is what the head, banner and footer of both pages show.
type shell struct {
	CSP       string
	Style     template.CSS
	Version   string
	Simulated bool
}

func newShell(simulated bool, version string) shell {
	if version == "" {
		version = "(unknown version)"
	}
	return shell{CSP: pageCSP, Style: template.CSS(pageStyle), Version: version, Simulated: simulated}
}

type pageView struct {
	shell
	Title, Heading, Meta, Tally string
	Stopped                     *Stop
	// How, when set, says on the page how to decide the new hits: their
	// cards carry the command.
	How      bool
	Searches []searchView
	Reports  []reportView
}

type searchView struct {
	ID, Name     string
	Class, Badge string
	Query        queryShown
	New          []hitShown
	Dropped      []hitShown
}

type queryShown struct {
	Line   string
	Images []queryImageShown
	Facts  []string
}

type queryImageShown struct {
	Name string
	// NameParts is Name cut after each '/', where its caption may break
	// (never inside a word).
	NameParts []string
	Picture   pictureShown
}

type hitShown struct {
	PatentPN, Title, Assignee string
	ScoreText                 string // three decimals, as the text report shows it
	Dates, Seen               string
	Decision                  string       // the analyst's verdict; "" for none
	Mark                      string       // the command that decides it, to copy; "" for none
	Link                      template.URL // "" unless an https link
	Picture                   pictureShown
}

type reportView struct {
	Name, Patent, Status, File string
	Href                       template.URL
}

// pictureShown is a picture as the template draws it: an image that decoded
// (Src set), or the reason it is missing.
type pictureShown struct {
	Src           template.HTMLAttr // src="data:…"
	Width, Height int
	Alt, Missing  string
	Class         string
}

func queryView(q Query) queryShown {
	out := queryShown{Line: q.Line}
	for _, img := range q.Images {
		out.Images = append(out.Images, queryImageShown{Name: img.Name, NameParts: strings.SplitAfter(img.Name, "/"),
			Picture: picture(img.Picture, "query image "+img.Name, "")})
	}
	return out
}

func hitView(h HitChange, pic Picture, kind string) hitShown {
	v := hitShown{PatentPN: h.PatentPN, Title: h.Title, Assignee: h.CurrentAssignee, Link: httpsLink(h.Link), Decision: h.Decision}
	if h.Score > 0 {
		v.ScoreText = strconv.FormatFloat(min(h.Score, 1), 'f', 3, 64)
	}
	var dates []string
	if h.Apdt != 0 {
		dates = append(dates, "filed "+ymd(h.Apdt))
	}
	if h.Pbdt != 0 {
		dates = append(dates, "published "+ymd(h.Pbdt))
	}
	v.Dates = strings.Join(dates, " · ")
	v.Picture = picture(pic, "drawing of "+h.PatentPN, kind)
	return v
}

// picture makes the data: URL of p's image, only once its bytes decode as
// the image its media type says; anything else is shown as missing.
func picture(p Picture, alt, class string) pictureShown {
	out := pictureShown{Alt: alt, Class: class, Missing: p.Missing}
	if p.Image != nil {
		w, h, err := decodes(*p.Image)
		if err == nil {
			// An attribute written whole: base64 needs no escaping, and
			// html/template would write each '+' as "&#43;".
			out.Src = template.HTMLAttr(`src="data:` + p.Image.MediaType + `;base64,` + base64.StdEncoding.EncodeToString(p.Image.Data) + `"`)
			out.Width, out.Height = w, h
			return out
		}
		out.Missing = "drawing unreadable: " + err.Error()
	}
	if out.Missing == "" {
		out.Missing = "no drawing kept"
	}
	return out
}

// decodes decodes img in full and returns its size.
func decodes(img Image) (int, int, error) {
	var m image.Image
	var err error
	switch img.MediaType {
	case "image/png":
		m, err = png.Decode(bytes.NewReader(img.Data))
	case "image/jpeg":
		m, err = jpeg.Decode(bytes.NewReader(img.Data))
	default:
		return 0, 0, fmt.Errorf("not a PNG or JPEG image")
	}
	if err != nil {
		return 0, 0, fmt.Errorf("not a %s image", strings.TrimPrefix(img.MediaType, "image/"))
	}
	b := m.Bounds()
	if b.Empty() {
		return 0, 0, fmt.Errorf("an empty image")
	}
	return b.Dx(), b.Dy(), nil
}

// httpsLink passes an absolute https:// link with a host, and nothing else:
// the only URLs a page holds are links the reader chooses to follow.
func httpsLink(s string) template.URL {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
		return ""
	}
	return template.URL(u.String())
}

// relativeLink passes a relative path to a file beside the page (no
// scheme, no host, not absolute), escaped as a URL path.
func relativeLink(p string) template.URL {
	if p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, ":") || strings.Contains(p, `\`) {
		return ""
	}
	return template.URL((&url.URL{Path: p}).EscapedPath())
}

func pageMeta(c *ChangeReport) string {
	var parts []string
	if c.Spec != "" {
		parts = append(parts, "spec "+c.Spec)
	}
	if !c.GeneratedAt.IsZero() {
		parts = append(parts, c.GeneratedAt.UTC().Format(time.RFC3339))
	}
	if c.PatwatchVersion != "" {
		parts = append(parts, "patwatch "+c.PatwatchVersion)
	}
	if c.Trigger != "" {
		parts = append(parts, "watch trigger: "+c.Trigger)
	}
	if c.Offline {
		parts = append(parts, "offline: the spec compared with the state, no API call")
	}
	return strings.Join(parts, " · ")
}

func titleOf(heading, subject string, at time.Time) string {
	parts := []string{heading}
	if subject != "" {
		parts = append(parts, subject)
	}
	if !at.IsZero() {
		parts = append(parts, at.UTC().Format("2006-01-02 15:04 UTC"))
	}
	return strings.Join(parts, " · ")
}

// anchor is an element id for a search name (names are lower-case letters,
// digits, '-', '_' and '.'; anything else is dropped).
func anchor(name string) string {
	var b strings.Builder
	b.WriteString("search-")
	for _, r := range name {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// searchBadge is the short status a search's heading shows, and its class.
func searchBadge(plan bool, s SearchChange) (class, text string) {
	switch s.Status {
	case StatusBaseline:
		if plan {
			return "baseline", "new search"
		}
		return "baseline", "baseline"
	case StatusRebaseline:
		if plan {
			return "baseline", "query changed"
		}
		return "baseline", "rebaselined"
	case StatusError:
		return "error", "error"
	case StatusRemoved:
		return "dropped-badge", "removed"
	case StatusSuspended:
		return "ok", "suspended"
	case StatusSkipped:
		return "ok", "skipped"
	}
	switch {
	case len(s.New) > 0 && len(s.Dropped) > 0:
		return "new", fmt.Sprintf("%d new, %d dropped", len(s.New), len(s.Dropped))
	case len(s.New) > 0:
		return "new", fmt.Sprintf("%d new", len(s.New))
	case len(s.Dropped) > 0:
		return "dropped-badge", fmt.Sprintf("%d dropped", len(s.Dropped))
	case s.RenamedFrom != "":
		return "ok", "renamed"
	}
	return "ok", "no change"
}

// searchFacts are the sentences under a search's query: what the run did
// with it, as the text report says it.
func searchFacts(c *ChangeReport, plan bool, s SearchChange) []string {
	hits := count(s.Hits, "hit", "hits")
	total := ""
	if s.Total > 0 {
		total = fmt.Sprintf(" (%s in all)", count(s.Total, "match", "matches"))
	}
	var facts []string
	if s.RenamedFrom != "" {
		facts = append(facts, "Renamed from "+s.RenamedFrom+"; its recorded hits carried over.")
	}
	switch s.Status {
	case StatusBaseline:
		switch {
		case c.Offline:
			facts = append(facts, "New in the spec: apply records its baseline.")
		case plan:
			facts = append(facts, fmt.Sprintf("New in the spec: apply records a baseline of %s%s; none is reported new.", hits, total))
		default:
			facts = append(facts, fmt.Sprintf("Baseline: %s recorded%s; none is reported new.", hits, total))
		}
	case StatusRebaseline:
		switch {
		case c.Offline:
			facts = append(facts, fmt.Sprintf("The query changed: apply rebaselines it (%s recorded now).", hits))
		case plan:
			facts = append(facts, fmt.Sprintf("The query changed: apply rebaselines it with %s%s.", hits, total))
		default:
			facts = append(facts, fmt.Sprintf("The query changed: rebaselined with %s%s.", hits, total))
		}
	case StatusError:
		facts = append(facts, "Error: "+s.Error+". Its recorded hits are kept.")
	case StatusRemoved:
		facts = append(facts, fmt.Sprintf("Removed from the spec; its %s retired.", count(s.Hits, "recorded hit", "recorded hits")))
	case StatusSuspended:
		facts = append(facts, "Suspended: not called.")
	case StatusSkipped:
		facts = append(facts, "Skipped: "+defaultSkipReason+".")
	default:
		line := fmt.Sprintf("%d new, %d dropped, %s%s%s%s.", len(s.New), len(s.Dropped), hits, missingNote(s), suppressedNote(s), total)
		facts = append(facts, line)
	}
	return facts
}
