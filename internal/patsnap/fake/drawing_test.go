package fake

import (
	"bytes"
	"image/png"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestDrawings checks the image links of hits: each answers a PNG drawing
// of its own, the same on every call, with no API key; an expired presigned
// link answers 403; faults apply; and no image call counts against the QPS
// cap.
func TestDrawings(t *testing.T) {
	e := newEnv(t, Options{Seed: 1, QPS: 1})
	hits, _ := e.hits(e.search(`{"url":"https://img.example/phone.png","patent_type":"D","model":1,"limit":3}`))
	seen := map[string]bool{}
	for _, h := range hits {
		u := h.URL
		if !strings.HasPrefix(u, "http://patsnap-imagefulltext240.cdn.zhihuiya.com/") {
			t.Fatalf("hit link %s is not on the image CDN", u)
		}
		// A client routes the CDN's host to the fake, as the sandbox does.
		local := e.ts.URL + PathImagePrefix + "remote/" + strings.TrimPrefix(u, "http://")
		a, b := e.get(local), e.get(local)
		if a.status != http.StatusOK || a.header.Get("Content-Type") != "image/png" || !bytes.Equal(a.body, b.body) {
			t.Fatalf("GET of a drawing: HTTP %d %s, equal twice: %v", a.status, a.header.Get("Content-Type"), bytes.Equal(a.body, b.body))
		}
		img, err := png.Decode(bytes.NewReader(a.body))
		if err != nil || max(img.Bounds().Dx(), img.Bounds().Dy()) != 320 {
			t.Fatalf("the drawing does not decode as a PNG 320 pixels on its long side: %v", err)
		}
		seen[string(a.body)] = true
	}
	if len(seen) != len(hits) {
		t.Errorf("%d hits share %d drawings", len(hits), len(seen))
	}
	for i := range 5 { // over the QPS cap of 1: images do not count
		if r := e.get(e.ts.URL + PathImagePrefix + "x" + itoa(i) + ".png"); r.status != http.StatusOK {
			t.Fatalf("image %d: HTTP %d", i, r.status)
		}
	}

	signed := e.ts.URL + PathImagePrefix + "remote/cdn.example/a.png?X-Amz-Date=" + e.clock.Now().UTC().Format("20060102T150405Z") + "&X-Amz-Expires=604800"
	if r := e.get(signed); r.status != http.StatusOK {
		t.Errorf("a live presigned link: HTTP %d", r.status)
	}
	e.clock.Add(7*24*time.Hour + time.Second)
	if r := e.get(signed); r.status != http.StatusForbidden || !strings.Contains(string(r.body), "Request has expired") {
		t.Errorf("an expired presigned link: HTTP %d %s", r.status, r.body)
	}

	e.srv.AddFault(Fault{Endpoint: EndpointImage, HTTPStatus: http.StatusNotFound, Times: 1})
	e.srv.AddFault(Fault{Endpoint: EndpointImage, Malformed: true, Times: 1})
	if r := e.get(e.ts.URL + PathImagePrefix + "a.png"); r.status != http.StatusNotFound {
		t.Errorf("a 404 fault: HTTP %d", r.status)
	}
	if r := e.get(e.ts.URL + PathImagePrefix + "a.png"); r.status != http.StatusOK || bytes.HasPrefix(r.body, []byte("\x89PNG")) {
		t.Errorf("a malformed fault: HTTP %d, a PNG: %v", r.status, bytes.HasPrefix(r.body, []byte("\x89PNG")))
	}
	if r := e.get(e.ts.URL + PathImagePrefix + "a.png"); r.status != http.StatusOK || !bytes.HasPrefix(r.body, []byte("\x89PNG")) {
		t.Errorf("after the faults: HTTP %d", r.status)
	}
}
