package fake

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The fake serves pictures under PathImagePrefix, as PatSnap's image CDN
// serves the presigned drawing links of search hits: GET of any path there
// answers a PNG line drawing generated from the path, the same one every
// time, with no API key (the link is the credential). A link whose
// presigned lifetime (X-Amz-Date + X-Amz-Expires) has passed answers 403
// as an object store does. Generated hits link to
// patsnap-imagefulltext240.cdn.zhihuiya.com; a client that routes that host
// to the fake (the sandbox does) gets the drawings from here.

// image answers GET PathImagePrefix….
func (s *Server) image(r *http.Request) *answer {
	if q := r.URL.Query(); q.Has("X-Amz-Date") && presignedExpired(q, s.now()) {
		return xmlError(http.StatusForbidden, "AccessDenied", "Request has expired")
	}
	a := &answer{status: http.StatusOK, body: s.drawing(strings.TrimPrefix(r.URL.Path, PathImagePrefix))}
	a.setHeader("Content-Type", "image/png")
	return a
}

// presignedExpired says whether a presigned image link (X-Amz-Date plus
// X-Amz-Expires seconds) has expired at now; one that does not state both
// has.
func presignedExpired(q url.Values, now time.Time) bool {
	at, err1 := time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
	secs, err2 := strconv.Atoi(q.Get("X-Amz-Expires"))
	return err1 != nil || err2 != nil || !now.Before(at.Add(time.Duration(secs)*time.Second))
}

// maxDrawings bounds the drawings a server keeps drawn.
const maxDrawings = 4096

// drawing is Drawing(key), drawn once: a real image CDN spends none of the
// client's CPU, and in a benchmark the fake shares the client's.
func (s *Server) drawing(key string) []byte {
	s.mu.Lock()
	b, ok := s.drawn[key]
	s.mu.Unlock()
	if ok {
		return b
	}
	b = Drawing(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.drawn) >= maxDrawings {
		clear(s.drawn)
	}
	s.drawn[key] = b
	return b
}

// Drawing returns the PNG line drawing the fake serves for key: a product
// outline (a rounded body or a disc) with a panel, lenses or buttons and the
// parallel shading strokes of a design patent's views, all chosen by the
// key's hash. It is 320×240 or 240×320, as the "imagefulltext240" in the
// image CDN's name suggests PatSnap's are: thumbnail size already.
func Drawing(key string) []byte {
	h := hashString(0, key)
	next := func(n int) int {
		h = mix64(h + 0x9e3779b97f4a7c15)
		return int(h % uint64(n))
	}
	w, ht := 320, 240
	if next(2) == 0 {
		w, ht = 240, 320
	}
	img := image.NewPaletted(image.Rect(0, 0, w, ht), color.Palette{color.White, color.Black})
	cx, cy := float64(w)/2, float64(ht)/2
	u := float64(min(w, ht)) / 360 // the sizes below are for a 360-pixel short side
	var shapes []shape
	if next(4) == 0 { // a disc: a lamp, a lens, a knob
		r := float64(min(w, ht))*0.36 + float64(next(20))*u
		shapes = append(shapes, ring(cx, cy, r), ring(cx, cy, r*(0.45+float64(next(30))/100)))
		for i := range 3 + next(4) {
			a := float64(i) * 2 * math.Pi / 7
			shapes = append(shapes, ring(cx+r*0.7*math.Cos(a), cy+r*0.7*math.Sin(a), (6+float64(next(6)))*u))
		}
	} else { // a rounded body: a phone, a case, a speaker
		bw := float64(w) * (0.45 + float64(next(30))/100) / 2
		bh := float64(ht) * (0.55 + float64(next(30))/100) / 2
		rad := (10 + float64(next(40))) * u
		shapes = append(shapes, roundRect(cx, cy, bw, bh, rad))
		if next(3) > 0 {
			m := (14 + float64(next(14))) * u
			shapes = append(shapes, roundRect(cx, cy+float64(next(20))*u, bw-m, bh-m*2, max(rad-m, 4*u)))
		}
		for i := range 1 + next(3) {
			shapes = append(shapes, ring(cx-bw*0.55+float64(i)*26*u, cy-bh*0.72, (8+float64(next(8)))*u))
		}
		if next(2) == 0 {
			shapes = append(shapes, roundRect(cx+bw+4*u, cy-bh*0.3, 4*u, (20+float64(next(20)))*u, 3*u))
		}
	}
	slope, gap := 0.6+float64(next(60))/100, int((14+float64(next(10)))*u)
	set := func(x, y int) {
		if x >= 0 && x < w && y >= 0 && y < ht {
			img.Pix[y*img.Stride+x] = 1
		}
	}
	pen := func(x, y float64) { // a pen about two pixels wide
		px, py := int(math.Floor(x)), int(math.Floor(y))
		set(px, py)
		set(px+1, py)
		set(px, py+1)
		set(px+1, py+1)
	}
	for _, sh := range shapes { // outlines, traced along their paths
		sh.trace(pen)
	}
	body := shapes[0] // shading strokes along one side, inside the body only
	for y := max(body.y0, 0); y < min(body.y1, ht); y++ {
		for x := max(body.x0, 0); x < min(body.x1, w, int(cx)-w/8); x++ {
			if (x+int(float64(y)*slope))%gap < 2 && body.d(float64(x)+0.5, float64(y)+0.5) < 0 {
				set(x, y)
			}
		}
	}
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, img); err != nil {
		return nil // a Paletted image in memory always encodes
	}
	return buf.Bytes()
}

// shape is an outline: trace draws it with a pen, d is its signed
// distance (negative inside), and outside its box d is above zero.
type shape struct {
	trace          func(pen func(x, y float64))
	d              func(x, y float64) float64
	x0, y0, x1, y1 int
}

func box(trace func(func(x, y float64)), d func(x, y float64) float64, cx, cy, hw, hh float64) shape {
	return shape{trace: trace, d: d, x0: int(cx - hw - 3), y0: int(cy - hh - 3), x1: int(cx+hw) + 4, y1: int(cy+hh) + 4}
}

// arc traces a circle's arc from angle a0 to a1 (radians), in half-pixel
// steps.
func arc(pen func(x, y float64), cx, cy, r, a0, a1 float64) {
	step := 0.5 / max(r, 1)
	for a := a0; a <= a1; a += step {
		pen(cx+r*math.Cos(a)-0.5, cy+r*math.Sin(a)-0.5)
	}
}

// line traces a straight line in half-pixel steps.
func line(pen func(x, y float64), x0, y0, x1, y1 float64) {
	n := int(math.Hypot(x1-x0, y1-y0)*2) + 1
	for i := 0; i <= n; i++ {
		t := float64(i) / float64(n)
		pen(x0+(x1-x0)*t-0.5, y0+(y1-y0)*t-0.5)
	}
}

// ring is a circle's outline.
func ring(cx, cy, r float64) shape {
	return box(func(pen func(x, y float64)) { arc(pen, cx, cy, r, 0, 2*math.Pi) },
		func(x, y float64) float64 { return math.Hypot(x-cx, y-cy) - r }, cx, cy, r, r)
}

// roundRect is a rounded rectangle of half sizes hw, hh and corner radius
// rad, centred at cx, cy.
func roundRect(cx, cy, hw, hh, rad float64) shape {
	rad = min(rad, hw, hh)
	l, r, t, b := cx-hw, cx+hw, cy-hh, cy+hh
	trace := func(pen func(x, y float64)) {
		line(pen, l+rad, t, r-rad, t)
		line(pen, l+rad, b, r-rad, b)
		line(pen, l, t+rad, l, b-rad)
		line(pen, r, t+rad, r, b-rad)
		arc(pen, r-rad, t+rad, rad, -math.Pi/2, 0)
		arc(pen, r-rad, b-rad, rad, 0, math.Pi/2)
		arc(pen, l+rad, b-rad, rad, math.Pi/2, math.Pi)
		arc(pen, l+rad, t+rad, rad, math.Pi, 3*math.Pi/2)
	}
	return box(trace, func(x, y float64) float64 {
		qx := math.Abs(x-cx) - hw + rad
		qy := math.Abs(y-cy) - hh + rad
		return math.Hypot(max(qx, 0), max(qy, 0)) + min(max(qx, qy), 0) - rad
	}, cx, cy, hw, hh)
}
