package drawings

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/reconciler"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

// progressiveJPEG is a valid progressive JPEG of w×h pixels and three
// components, a few hundred KB for 6,320 × 6,320: one interleaved DC scan
// whose every block is grey (a one-bit code), no AC scan.
func progressiveJPEG(w, h int) []byte {
	var b bytes.Buffer
	segment := func(marker byte, data []byte) {
		b.Write([]byte{0xff, marker})
		binary.Write(&b, binary.BigEndian, uint16(len(data)+2))
		b.Write(data)
	}
	b.Write([]byte{0xff, 0xd8}) // SOI
	quant := bytes.Repeat([]byte{1}, 65)
	quant[0] = 0 // table 0, 8-bit
	segment(0xdb, quant)
	frame := []byte{8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), 3}
	for c := byte(1); c <= 3; c++ {
		frame = append(frame, c, 0x11, 0) // 1×1 sampling: no subsampling
	}
	segment(0xc2, frame) // SOF2: progressive
	huffman := append([]byte{0x00, 1}, make([]byte, 15)...)
	segment(0xc4, append(huffman, 0)) // DC table 0: one code, "0", for a difference of 0
	segment(0xda, []byte{3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 0, 0})
	blocks := ((w + 7) / 8) * ((h + 7) / 8) * 3
	b.Write(make([]byte, (blocks+7)/8))
	b.Write([]byte{0xff, 0xd9}) // EOI
	return b.Bytes()
}

// png16 is a valid 16-bit RGBA PNG of w×h transparent pixels, made without
// compressing its rows one by one: its deflate stream repeats the one
// block of a row (sync-flushed, so byte-aligned and not final) h times,
// each copy's references reaching only zeros, then ends with an empty
// final block and the Adler-32 of all those zeros.
func png16(w, h int) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(kind string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		sum := crc32.NewIEEE()
		sum.Write([]byte(kind))
		sum.Write(data)
		b.WriteString(kind)
		b.Write(data)
		binary.Write(&b, binary.BigEndian, sum.Sum32())
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr, uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = 16, 6 // 16 bits, RGBA
	chunk("IHDR", ihdr)
	row := make([]byte, 1+w*8) // filter 0, then the pixels
	var block bytes.Buffer
	fw, _ := flate.NewWriter(&block, flate.BestSpeed)
	fw.Write(row)
	fw.Flush()
	z := bytes.NewBuffer([]byte{0x78, 0x01}) // zlib, deflate, fastest
	for range h {
		z.Write(block.Bytes())
	}
	z.Write([]byte{0x03, 0x00}) // an empty final block
	n := uint32(h) * uint32(len(row))
	binary.Write(z, binary.BigEndian, (n%65521)<<16|1) // Adler-32 of n zeros
	chunk("IDAT", z.Bytes())
	chunk("IEND", nil)
	return b.Bytes()
}

// hostile is the pair: a 6,320 × 6,320 progressive JPEG and a
// 16-bit PNG of that size, a few hundred KB each, half a gigabyte each to
// decode.
var hostile = sync.OnceValues(func() ([]byte, []byte) {
	return progressiveJPEG(6320, 6320), png16(6320, 6320)
})

// TestCostCoversDecoding checks costOf against what Make allocates for
// every kind of image it decodes: a Step that reserves an image's cost
// holds at least what decoding it takes.
func TestCostCoversDecoding(t *testing.T) {
	var paletted bytes.Buffer
	pal := image.NewPaletted(image.Rect(0, 0, 900, 700), color.Palette{color.White, color.Black, color.RGBA{200, 0, 0, 255}})
	png.Encode(&paletted, pal)
	var gifBytes bytes.Buffer
	gif.Encode(&gifBytes, pal, nil)
	cmyk := image.NewCMYK(image.Rect(0, 0, 800, 600))
	var cmykJPEG bytes.Buffer
	jpeg.Encode(&cmykJPEG, cmyk, nil)
	for name, src := range map[string][]byte{
		"progressive jpeg": progressiveJPEG(1000, 700),
		"baseline jpeg":    encode(t, lines(1000, 700), JPEG),
		"grey jpeg":        encode(t, image.NewGray(image.Rect(0, 0, 1000, 700)), JPEG),
		"cmyk jpeg":        cmykJPEG.Bytes(),
		"16-bit png":       png16(1000, 700),
		"rgba png":         encode(t, noise(1000, 700), PNG),
		"grey png":         encode(t, image.NewGray(image.Rect(0, 0, 1000, 700)), PNG),
		"paletted png":     paletted.Bytes(),
		"gif":              gifBytes.Bytes(),
	} {
		h, err := inspect(src)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		allocated := allocatedBy(func() {
			if _, err := h.make(src); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		})
		if allocated > uint64(h.cost) {
			t.Errorf("%s of %d×%d: decoding allocated %d bytes, its cost is %d", name, h.cfg.Width, h.cfg.Height, allocated, h.cost)
		}
	}
}

// allocatedBy is how many bytes fn allocated.
func allocatedBy(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestHostileImagesAreTooLarge checks that the images are refused
// from their headers, before anything is decoded.
func TestHostileImagesAreTooLarge(t *testing.T) {
	jpg, pn := hostile()
	for name, src := range map[string][]byte{"progressive jpeg": jpg, "16-bit png": pn} {
		var err error
		allocated := allocatedBy(func() { _, err = makeThumb(src) })
		if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "6320×6320") {
			t.Errorf("%s: err = %v, want ErrTooLarge", name, err)
		}
		if allocated > 4<<20 {
			t.Errorf("%s: refusing it allocated %d MB", name, allocated>>20)
		}
	}
	if jpegProgressive(encode(t, lines(64, 64), JPEG)) {
		t.Error("a baseline JPEG is taken for progressive")
	}
}

// hostileRun is an apply of one search whose new hits link to images
// served by srv at paths: an apply's step, Started and Kept.
func hostileRun(t testing.TB, srv *httptest.Server, paths []string) (*Step, *reconciler.Outcome, *spec.Spec) {
	sp := &spec.Spec{Searches: []spec.Search{{Name: "s", PatentType: "D", Model: 1, MaxResults: 100}}}
	ch := report.SearchChange{Name: "s", Status: report.StatusOK}
	out := &reconciler.Outcome{Report: &report.ChangeReport{}, State: &state.State{Searches: map[string]*state.Search{"s": {Hits: map[string]*state.Hit{}}}},
		Observed: map[string][]reconciler.ObservedHit{}}
	for i, p := range paths {
		pn := fmt.Sprintf("CN%dS", i)
		ch.New = append(ch.New, report.HitChange{PatentPN: pn, ImageURL: srv.URL + p})
		out.Observed["s"] = append(out.Observed["s"], reconciler.ObservedHit{PatentPN: pn, Rank: i, Score: 0.9, URL: srv.URL + p})
		out.State.Searches["s"].Hits[pn] = &state.Hit{}
	}
	out.Report.Searches = []report.SearchChange{ch}
	step := &Step{Cache: ForStateFile(filepath.Join(t.TempDir(), "s.json")), Fetcher: Fetcher{Reach: WithLoopback, Timeout: time.Minute}, Budget: 10 * time.Minute}
	return step, out, sp
}

// serveImages serves each body at its path.
func serveImages(t testing.TB, bodies map[string][]byte) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write(bodies[r.URL.Path])
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestStepKeepsHostileDrawingsMissing checks that eight hostile drawings
// in one run are recorded as missing, too large, beside a good one that is
// kept, and that the run's page says so.
func TestStepKeepsHostileDrawingsMissing(t *testing.T) {
	jpg, pn := hostile()
	bodies := map[string][]byte{"/good.png": encode(t, lines(640, 480), PNG)}
	paths := []string{"/good.png"}
	for i := range 8 {
		p := fmt.Sprintf("/hostile-%d", i)
		bodies[p] = map[bool][]byte{true: jpg, false: pn}[i%2 == 0]
		paths = append(paths, p)
	}
	step, out, sp := hostileRun(t, serveImages(t, bodies), paths)
	step.Start(t.Context(), sp)
	page := step.Keep(t.Context(), out)()
	idx, err := step.Cache.LoadIndex(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for pn, e := range idx.Searches["s"].Hits {
		switch {
		case pn == "CN0S" && e.Drawing.IsZero():
			t.Errorf("the good drawing was not kept: %s", e.Error)
		case pn != "CN0S" && (!e.Drawing.IsZero() || !strings.Contains(e.Error, "too large")):
			t.Errorf("%s: drawing %v, error %q; want it missing, too large", pn, e.Drawing, e.Error)
		}
	}
	if p := page.Drawings["s"]["CN3S"]; p.Image != nil || !strings.Contains(p.Missing, "too large") {
		t.Errorf("the page shows a hostile drawing as %+v", p)
	}
}

// TestGeneratedImagesDecode checks the hostile images' generators on
// small sizes and on the width.
func TestGeneratedImagesDecode(t *testing.T) {
	for _, size := range [][2]int{{300, 200}, {6320, 3}} {
		img, err := png.Decode(bytes.NewReader(png16(size[0], size[1])))
		if err != nil || img.Bounds().Dx() != size[0] || img.Bounds().Dy() != size[1] {
			t.Fatalf("png16 %v: %v", size, err)
		}
		if _, ok := img.(*image.NRGBA64); !ok {
			t.Errorf("png16 decodes as %T", img)
		}
		img, err = jpeg.Decode(bytes.NewReader(progressiveJPEG(size[0], size[1])))
		if err != nil || img.Bounds().Dx() != size[0] || !jpegProgressive(progressiveJPEG(size[0], size[1])) {
			t.Fatalf("progressiveJPEG %v: %v", size, err)
		}
	}
}

// makeThumb makes the thumbnail of src as a Step does.
func makeThumb(src []byte) (Thumb, error) {
	return (&Step{}).thumb(context.Background(), src)
}
