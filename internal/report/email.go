package report

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"math"
	"path"
	"strconv"
	"strings"
)

// Email is a change report as the HTML part of an e-mail: HTML laid out
// for mail clients, whose pictures are cid: references to Images, the
// message's inline parts (multipart/related).
type Email struct {
	HTML string
	// Images holds each distinct picture the HTML refers to once, however
	// many times it is shown, in the order it is first shown.
	Images []InlineImage
}

// InlineImage is a picture an e-mail's HTML refers to as cid:CID.
type InlineImage struct {
	CID  string // a content id (an addr-spec, without the angle brackets)
	Name string // a file name for the part, for clients that list it
	Image
}

// Size is how many bytes the HTML and the images of e add up to.
func (e *Email) Size() int {
	n := len(e.HTML)
	for _, img := range e.Images {
		n += len(img.Data)
	}
	return n
}

// The boxes pictures are fitted into, in CSS pixels: a thumbnail is
// shown at most this wide and high, at its own aspect ratio.
const (
	emailHitBox   = 140
	emailQueryBox = 96
)

var emailTemplate = template.Must(template.New("").Funcs(template.FuncMap{"css": emailCSS}).ParseFS(htmlFiles, "html/email.tmpl"))

// emailStyles are the inline styles of the e-mail's elements, in the
// properties mail clients support (caniemail.com): no custom property,
// no flex or grid, lengths in px.
var emailStyles = map[string]string{
	"body":       "margin:0;padding:0;background-color:#f5f6f8;",
	"outer":      "background-color:#f5f6f8;",
	"outercell":  "padding:16px 8px;",
	"frame":      "width:600px;background-color:#ffffff;border:1px solid #d8dde3;font-family:Arial,Helvetica,sans-serif;font-size:14px;line-height:20px;color:#1c2530;",
	"head":       "padding:16px 20px 8px 20px;",
	"section":    "padding:12px 20px;border-top:1px solid #d8dde3;",
	"foot":       "padding:12px 20px 16px 20px;border-top:1px solid #d8dde3;font-size:12px;line-height:17px;color:#5a6675;",
	"h1":         "margin:0;padding:0 0 4px 0;font-size:20px;line-height:26px;font-weight:bold;",
	"h2":         "margin:0;padding:0 0 8px 0;font-size:17px;line-height:23px;font-weight:bold;",
	"h3":         "margin:0;padding:14px 0 6px 0;font-size:12px;line-height:16px;font-weight:bold;text-transform:uppercase;letter-spacing:1px;color:#5a6675;",
	"badge":      "font-size:12px;font-weight:bold;",
	"bold":       "font-weight:bold;",
	"line":       "padding:0 0 4px 0;",
	"meta":       "padding:0 0 4px 0;font-size:13px;color:#5a6675;",
	"tally":      "padding:0 0 4px 0;font-size:15px;font-weight:bold;",
	"simulated":  "padding:8px 12px;background-color:#fff4cc;border:1px solid #e2c062;",
	"stopped":    "margin:8px 0 4px 0;padding:8px 12px;background-color:#fde8e8;border:1px solid #d9534f;",
	"filters":    "padding:0 0 4px 0;font-family:Consolas,Menlo,Courier,monospace;font-size:12px;line-height:17px;",
	"cell":       "padding:0 0 0 12px;",
	"querycell":  "padding:0 12px 0 0;",
	"caption":    "padding:2px 0 0 0;font-size:11px;line-height:15px;color:#5a6675;",
	"spacer":     "padding:0 0 10px 0;",
	"hit":        "border:1px solid #d8dde3;",
	"gone":       "border:1px dashed #d8dde3;",
	"hitpicture": "padding:8px 0 8px 8px;",
	"pn":         "padding:8px 0 2px 0;font-family:Consolas,Menlo,Courier,monospace;font-weight:bold;font-size:13px;",
	"title":      "padding:0 0 2px 0;font-weight:bold;",
	"muted":      "padding:0 0 2px 0;font-size:13px;color:#5a6675;",
	"img":        "display:block;border:1px solid #d8dde3;background-color:#ffffff;",
	"missing":    "border:1px solid #d8dde3;background-color:#eef0f3;color:#5a6675;font-size:11px;line-height:15px;text-align:center;",
	"scorebox":   "padding:2px 0 4px 0;",
	"scorefill":  "background-color:#17703a;font-size:1px;line-height:1px;",
	"scorerest":  "background-color:#d8dde3;font-size:1px;line-height:1px;",
	"scoretext":  "padding:0 0 0 8px;font-size:13px;line-height:16px;",
	"decision":   "padding:0 0 4px 0;font-size:12px;line-height:16px;font-weight:bold;",
	"a":          "color:#0b57d0;",
	"th":         "padding:6px 8px 6px 0;border-bottom:1px solid #d8dde3;font-size:11px;text-transform:uppercase;color:#5a6675;",
	"td":         "padding:6px 8px 6px 0;border-bottom:1px solid #d8dde3;font-size:13px;",
}

// decisionColors are the colours of a hit's decision, as the report
// page's badges have them.
var decisionColors = map[string]string{"relevant": "#0b57d0", "report": "#17703a"}

// badgeColors are the colours of searchBadge's classes.
var badgeColors = map[string]string{"ok": "#5a6675", "new": "#17703a", "dropped-badge": "#a34f00", "error": "#b3261e", "baseline": "#0b57d0"}

func emailCSS(name string) template.CSS {
	s, ok := emailStyles[name]
	if !ok {
		panic("report: no e-mail style " + name)
	}
	return template.CSS(s)
}

// RenderEmail renders c as the HTML part of an e-mail, with the pictures
// of p (which may be nil) as inline images, each distinct image once. It
// shows what RenderHTML shows of a notification (Page.Notification), a
// hit's decision included, for
// mail clients: a table layout with inline styles, pictures of a fixed
// size with alt text, the score as text and a table bar, the base name of
// a report's file rather than a path on the machine that ran patwatch,
// and every string from the API with its control characters escaped
// (Printable), then HTML-escaped.
func RenderEmail(c *ChangeReport, p *Page) (*Email, error) {
	if p == nil {
		p = &Page{}
	}
	in := &inlineImages{byHash: map[string]string{}}
	v := emailView{
		Heading:   "patwatch: what a run found",
		Meta:      emailMeta(c),
		Tally:     Summary(c),
		Simulated: c.Simulated,
		Version:   Printable(cmp.Or(c.PatwatchVersion, "(unknown version)")),
	}
	v.Title = titleOf(v.Heading, Printable(FileName(c.Spec)), c.GeneratedAt)
	if c.Stopped != nil {
		v.Stopped = &Stop{Error: Printable(c.Stopped.Error), Check: Printable(c.Stopped.Check)}
	}
	for _, s := range c.Searches {
		v.Searches = append(v.Searches, emailSearchView(c, s, p, in))
	}
	for _, r := range c.Reports {
		r.File = FileName(r.File)
		v.Reports = append(v.Reports, emailReport{Name: Printable(r.Name), Patent: Printable(r.Patent), Status: Printable(reportText(r)), File: Printable(r.File)})
	}
	var buf bytes.Buffer
	if err := emailTemplate.ExecuteTemplate(&buf, "email", v); err != nil {
		return nil, fmt.Errorf("e-mail: %w", err)
	}
	return &Email{HTML: buf.String(), Images: in.list}, nil
}

func emailSearchView(c *ChangeReport, s SearchChange, p *Page, in *inlineImages) emailSearch {
	sv := emailSearch{Name: Printable(s.Name)}
	class, badge := searchBadge(false, s)
	sv.Badge, sv.Color = badge, badgeColors[class]
	q := p.Queries[s.Name]
	sv.Line = Printable(q.Line)
	for _, img := range q.Images {
		// The caption is the name's last element: a URL's host and path
		// would not wrap in a 96 px column.
		sv.Images = append(sv.Images, emailQueryImage{Name: Printable(FileName(img.Name)),
			Picture: in.picture(img.Picture, "query image "+Printable(img.Name), emailQueryBox)})
	}
	sv.Facts = searchFacts(c, false, s)
	if p.Notification && s.Status == StatusOK {
		sv.Facts = []string{fmt.Sprintf("%d new, %d dropped.", len(s.New), len(s.Dropped))}
	}
	for i := range sv.Facts {
		sv.Facts[i] = Printable(sv.Facts[i])
	}
	drawings := p.Drawings[s.Name]
	for _, h := range s.New {
		sv.New = append(sv.New, emailHitView(h, in.picture(drawings[h.PatentPN], "drawing of "+Printable(h.PatentPN), emailHitBox)))
	}
	for _, h := range s.Dropped {
		sv.Dropped = append(sv.Dropped, emailHitView(h, in.picture(drawings[h.PatentPN], "drawing of "+Printable(h.PatentPN), emailQueryBox)))
	}
	return sv
}

func emailHitView(h HitChange, pic emailPicture) emailHit {
	v := emailHit{PatentPN: Printable(h.PatentPN), Title: Printable(h.Title), Assignee: Printable(h.CurrentAssignee),
		Decision: Printable(h.Decision), DecisionColor: cmp.Or(decisionColors[h.Decision], "#5a6675"), Link: httpsLink(h.Link), Picture: pic}
	if h.Score > 0 && !math.IsInf(h.Score, 0) {
		score := min(h.Score, 1)
		v.ScoreText = strconv.FormatFloat(score, 'f', 3, 64)
		v.ScoreFill = max(1, int(math.Round(score*100)))
		v.ScoreRest = 100 - v.ScoreFill
	}
	var dates []string
	if h.Apdt != 0 {
		dates = append(dates, "filed "+ymd(h.Apdt))
	}
	if h.Pbdt != 0 {
		dates = append(dates, "published "+ymd(h.Pbdt))
	}
	v.Dates = strings.Join(dates, " · ")
	return v
}

// emailMeta is the line under the heading: the spec's file name (not its
// path on the machine that ran patwatch), the time and patwatch's version.
func emailMeta(c *ChangeReport) string {
	var parts []string
	if c.Spec != "" {
		parts = append(parts, "spec "+Printable(FileName(c.Spec)))
	}
	if !c.GeneratedAt.IsZero() {
		parts = append(parts, c.GeneratedAt.UTC().Format("2006-01-02 15:04 UTC"))
	}
	if c.PatwatchVersion != "" {
		parts = append(parts, "patwatch "+Printable(c.PatwatchVersion))
	}
	return strings.Join(parts, " · ")
}

// FileName is the last element of a path written on any system, "" for
// "": what a message may say of a file on the machine that ran patwatch.
func FileName(p string) string {
	if p == "" {
		return ""
	}
	return path.Base(strings.ReplaceAll(p, `\`, "/"))
}

// inlineImages are the pictures an e-mail refers to, each once: a
// picture is known by the digest of its bytes.
type inlineImages struct {
	byHash map[string]string // sha256 → cid
	list   []InlineImage
}

// picture is p as the e-mail shows it, fitted into a box of box pixels: an
// inline image, once its bytes decode as the image its media type says,
// or the reason it is missing in a box of that size.
func (in *inlineImages) picture(p Picture, alt string, box int) emailPicture {
	out := emailPicture{Alt: alt, Box: box, Missing: Printable(p.Missing)}
	if p.Image != nil {
		w, h, err := decodes(*p.Image)
		if err == nil {
			out.CID = in.add(*p.Image)
			out.Width, out.Height = fit(w, h, box)
			return out
		}
		out.Missing = "drawing unreadable: " + err.Error()
	}
	if out.Missing == "" {
		out.Missing = "no drawing kept"
	}
	return out
}

func (in *inlineImages) add(img Image) string {
	sum := sha256.Sum256(img.Data)
	key := hex.EncodeToString(sum[:])
	if cid, ok := in.byHash[key]; ok {
		return cid
	}
	name := "drawing-" + key[:16] + ".png"
	if img.MediaType == "image/jpeg" {
		name = "drawing-" + key[:16] + ".jpg"
	}
	cid := key[:32] + "@patwatch"
	in.byHash[key] = cid
	in.list = append(in.list, InlineImage{CID: cid, Name: name, Image: img})
	return cid
}

// fit scales w×h down, keeping its aspect ratio, to fit a box×box square.
func fit(w, h, box int) (int, int) {
	if w <= box && h <= box {
		return w, h
	}
	if w >= h {
		return box, max(1, int(math.Round(float64(h)*float64(box)/float64(w))))
	}
	return max(1, int(math.Round(float64(w)*float64(box)/float64(h)))), box
}

type emailView struct {
	Title, Heading, Meta, Tally string
	Simulated                   bool
	Stopped                     *Stop
	Searches                    []emailSearch
	Reports                     []emailReport
	Version                     string
}

type emailSearch struct {
	Name, Badge, Color string
	Line               string
	Images             []emailQueryImage
	Facts              []string
	New, Dropped       []emailHit
}

type emailQueryImage struct {
	Name    string
	Picture emailPicture
}

type emailHit struct {
	PatentPN, Title, Assignee string
	ScoreText                 string // three decimals, as the text report shows it
	ScoreFill, ScoreRest      int    // the bar's two cells, in px of 100
	Dates                     string
	Decision, DecisionColor   string       // the analyst's verdict, "" for none, and its colour
	Link                      template.URL // "" unless an https link
	Picture                   emailPicture
}

type emailReport struct{ Name, Patent, Status, File string }

// emailPicture is a picture as the e-mail draws it: an inline image (CID
// set) at Width×Height, or the reason it is missing in a Box×Box square.
type emailPicture struct {
	CID           string
	Width, Height int
	Box           int
	Alt, Missing  string
}
