package drawings

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io/fs"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/patwatch/patwatch/state"
)

func gifEncode(w *bytes.Buffer, img image.Image) error { return gif.Encode(w, img, nil) }

// encode returns img as PNG or JPEG bytes.
func encode(t testing.TB, img image.Image, format string) []byte {
	t.Helper()
	var buf bytes.Buffer
	var err error
	if format == JPEG {
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90})
	} else {
		err = png.Encode(&buf, img)
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// lines is a w×h white picture with thin black lines, as a patent
// drawing is.
func lines(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for y := h / 4; y < h*3/4; y++ {
		img.Set(w/3, y, color.Black)
		img.Set(w*2/3, y, color.Black)
	}
	return img
}

// noise is a w×h opaque picture of random colours: a photo's worst case.
func noise(w, h int) *image.RGBA {
	r := rand.New(rand.NewPCG(1, 2))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = byte(r.IntN(256))
		if i%4 == 3 {
			img.Pix[i] = 0xff
		}
	}
	return img
}

func TestMake(t *testing.T) {
	cases := []struct {
		name   string
		src    []byte
		w, h   int
		format string
	}{
		{"a large drawing is scaled to 320 on its long side", encode(t, lines(800, 600), PNG), 320, 240, PNG},
		{"a tall one too", encode(t, lines(160, 640), PNG), 80, 320, PNG},
		{"a small one keeps its size", encode(t, lines(200, 100), PNG), 200, 100, PNG},
		{"a big small one is made smaller", encode(t, noise(300, 300), PNG), 300, 300, JPEG},
		{"a JPEG drawing in grey becomes the PNG of its pixels", encode(t, lines(480, 360), JPEG), 320, 240, ""},
		{"a photo-like picture becomes a JPEG", encode(t, noise(480, 360), PNG), 320, 240, JPEG},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			th, err := makeThumb(tc.src)
			if err != nil {
				t.Fatal(err)
			}
			if th.Width != tc.w || th.Height != tc.h {
				t.Errorf("size %d×%d, want %d×%d", th.Width, th.Height, tc.w, tc.h)
			}
			if tc.format != "" && th.Format != tc.format {
				t.Errorf("format %s, want %s", th.Format, tc.format)
			}
			if w, h, err := Verify(th.Ref, th.Data); err != nil || w != th.Width || h != th.Height {
				t.Errorf("Verify = %d×%d, %v", w, h, err)
			}
			again, _ := makeThumb(tc.src)
			if again.SHA256 != th.SHA256 {
				t.Error("the same input gave another thumbnail")
			}
		})
	}
	t.Run("a PNG or JPEG of thumbnail size is kept as it came", func(t *testing.T) {
		for _, format := range []string{PNG, JPEG} {
			src := encode(t, lines(320, 200), format)
			th, err := makeThumb(src)
			if err != nil || !bytes.Equal(th.Data, src) || th.Format != format {
				t.Errorf("%s: kept %v, format %s, %v", format, bytes.Equal(th.Data, src), th.Format, err)
			}
		}
		var gif bytes.Buffer
		if err := gifEncode(&gif, lines(100, 80)); err != nil {
			t.Fatal(err)
		}
		if th, err := makeThumb(gif.Bytes()); err != nil || th.Format != PNG {
			t.Errorf("a GIF: format %s, %v; want a PNG thumbnail", th.Format, err)
		}
	})
	t.Run("grey drawings are stored in grey", func(t *testing.T) {
		th, err := makeThumb(encode(t, lines(480, 360), PNG))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(th.Data))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := img.(*image.Gray); !ok {
			t.Errorf("a black-and-white drawing is a %T", img)
		}
	})
	t.Run("thin lines survive the scaling", func(t *testing.T) {
		th, err := makeThumb(encode(t, lines(960, 720), PNG))
		if err != nil {
			t.Fatal(err)
		}
		img, _ := png.Decode(bytes.NewReader(th.Data))
		darkest := uint8(255)
		for x := 0; x < th.Width; x++ {
			darkest = min(darkest, color.GrayModel.Convert(img.At(x, th.Height/2)).(color.Gray).Y)
		}
		if darkest > 0xd0 {
			t.Errorf("the 1-pixel lines of a 960-pixel drawing vanished (darkest grey %#x)", darkest)
		}
	})
}

func TestMakeRefusesWhatIsNotAnImage(t *testing.T) {
	good := encode(t, lines(100, 100), PNG)
	bomb := encode(t, image.NewGray(image.Rect(0, 0, 1, 1)), PNG)
	// Claim 100000×100000 pixels in the header (IHDR width and height).
	bomb = append([]byte(nil), bomb...)
	copy(bomb[16:24], []byte{0, 1, 0x86, 0xa0, 0, 1, 0x86, 0xa0})
	for name, src := range map[string][]byte{
		"html":            []byte("<html><body>Access denied</body></html>"),
		"json":            []byte(`{"status":false,"error_code":403}`),
		"empty":           nil,
		"truncated png":   good[:len(good)/2],
		"a pixel bomb":    bomb,
		"svg with script": []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`),
	} {
		if _, err := makeThumb(src); !errors.Is(err, ErrNotImage) {
			t.Errorf("%s: err = %v, want ErrNotImage", name, err)
		}
	}
}

// fetch downloads the image at rawURL and thumbnails it, as a run does.
func fetch(ctx context.Context, f *Fetcher, rawURL string) (Thumb, error) {
	a, err := f.Download(ctx, rawURL, Validators{})
	if err != nil {
		return Thumb{}, err
	}
	t, err := makeThumb(a.Body)
	if err != nil {
		return Thumb{}, fmt.Errorf("the answer from %s: %w", a.Host, err)
	}
	return t, nil
}

func TestFetch(t *testing.T) {
	drawing := encode(t, lines(640, 480), PNG)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok.png":
			w.Write(drawing)
		case "/html.png":
			w.Header().Set("Content-Type", "image/png") // says PNG, is not
			w.Write([]byte("<html><script>alert(1)</script></html>"))
		case "/slow.png":
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		case "/huge.png":
			w.Write(bytes.Repeat([]byte{0}, maxBody+10))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	f := &Fetcher{Reach: WithLoopback, Timeout: 2 * time.Second} // only /slow.png, which never answers, meets it
	const sig = "?X-Amz-Signature=secret-signature"

	th, err := fetch(t.Context(), f, srv.URL+"/ok.png"+sig)
	if err != nil || th.Width != 320 {
		t.Fatalf("Fetch = %d×%d, %v", th.Width, th.Height, err)
	}
	for path, want := range map[string]string{
		"/gone.png":  "HTTP 404",
		"/html.png":  "not an image",
		"/slow.png":  "no answer within 2s",
		"/huge.png":  "larger than 16 MB",
		"ftp://x/a":  "not an http or https link",
		"javascript": "not an http or https link",
	} {
		u := srv.URL + path + sig
		if !strings.HasPrefix(path, "/") {
			u = path
		}
		ff := f
		if path == "/huge.png" {
			ff = &Fetcher{Reach: WithLoopback, Timeout: time.Minute}
		}
		_, err := fetch(t.Context(), ff, u)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want it to say %q", path, err, want)
		}
		if err != nil && (strings.Contains(err.Error(), "secret-signature") || strings.Contains(err.Error(), path+"?")) {
			t.Errorf("%s: the error shows the presigned link: %v", path, err)
		}
	}
	// A refused connection names no link either.
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	if _, err := fetch(t.Context(), f, dead.URL+"/a.png"+sig); err == nil || strings.Contains(err.Error(), "secret-signature") {
		t.Errorf("refused connection: %v", err)
	}
}

func TestFileStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := ForStateFile(filepath.Join(dir, "patwatch.state.json"))
	th, err := makeThumb(encode(t, lines(640, 480), PNG))
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Has(ctx, th.Ref); ok || err != nil {
		t.Fatalf("Has before Put = %v, %v", ok, err)
	}
	if _, err := s.Get(ctx, th.Ref); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Get before Put: %v, want ErrNotExist", err)
	}
	if err := s.Put(ctx, th); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, th); err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(dir, ".patwatch", "drawings", "patwatch.state.json", th.SHA256+".png")
	if _, err := os.Stat(want); err != nil {
		t.Fatalf("the thumbnail is not at %s: %v", want, err)
	}
	got, err := s.Get(ctx, th.Ref)
	if err != nil || !bytes.Equal(got.Data, th.Data) || got.Width != 320 {
		t.Fatalf("Get = %d×%d, %v", got.Width, got.Height, err)
	}

	// A file whose bytes changed is refused, never embedded.
	if err := os.WriteFile(want, []byte("<script>alert(1)</script>"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, th.Ref); err == nil {
		t.Error("Get returned a thumbnail whose bytes do not match its digest")
	}
	// A Ref that is not a digest never becomes a path.
	for _, bad := range []Ref{{SHA256: "../../etc/passwd", Format: PNG}, {SHA256: strings.Repeat("a", 64), Format: "svg"}} {
		if _, err := s.Get(ctx, bad); err == nil || errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Get(%v) = %v, want a refusal", bad, err)
		}
	}
	if err := s.Put(ctx, Thumb{Ref: Ref{SHA256: strings.Repeat("0", 64), Format: PNG}, Data: th.Data}); err == nil {
		t.Error("Put stored bytes under another digest")
	}
}

func TestIndexSaveLoad(t *testing.T) {
	ctx := context.Background()
	s := ForStateFile(filepath.Join(t.TempDir(), "patwatch.state.json"))
	x, err := s.LoadIndex(ctx)
	if err != nil || len(x.Searches) != 0 {
		t.Fatalf("LoadIndex with none = %+v, %v", x, err)
	}
	h := x.Search("phones").Hit("CN1S")
	h.Want, h.Score, h.Drawing = true, 0.9, Ref{SHA256: strings.Repeat("a", 64), Format: PNG}
	if err := s.SaveIndex(ctx, x); err != nil {
		t.Fatal(err)
	}
	info1, _ := os.Stat(s.index)
	back, err := s.LoadIndex(ctx)
	if err != nil || back.Searches["phones"].Hits["CN1S"].Drawing != h.Drawing {
		t.Fatalf("LoadIndex = %+v, %v", back, err)
	}
	// Saving equal content writes nothing.
	old := time.Now().Add(-time.Hour)
	os.Chtimes(s.index, old, old)
	if err := s.SaveIndex(ctx, back); err != nil {
		t.Fatal(err)
	}
	if info2, _ := os.Stat(s.index); !info2.ModTime().Equal(old) || info2.Size() != info1.Size() {
		t.Error("an unchanged index was written again")
	}
	os.WriteFile(s.index, []byte(`{"format_version": 9}`), 0o644)
	if _, err := s.LoadIndex(ctx); err == nil || !strings.Contains(err.Error(), s.index) {
		t.Errorf("an index of another format: %v", err)
	}
}

func TestRetain(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	x := NewIndex()
	x.Search("kept").Hit("A")
	x.Search("kept").Hit("B")
	x.Search("gone").Hit("C")
	st := &state.State{Searches: map[string]*state.Search{"kept": {Hits: map[string]*state.Hit{"A": {}}}}}

	x.Retain(st, t0)
	if x.Searches["kept"].Hits["B"].GoneSince != t0 || x.Searches["gone"].GoneSince != t0 || !x.Searches["kept"].Hits["A"].GoneSince.IsZero() {
		t.Fatalf("after the first run: %+v", x)
	}
	x.Retain(st, t0.Add(Retention-time.Second))
	if x.Searches["kept"].Hits["B"] == nil || x.Searches["gone"] == nil {
		t.Fatal("entries went before their retention ended")
	}
	// A search added back within the retention finds its entry again.
	st.Searches["gone"] = &state.Search{Hits: map[string]*state.Hit{"C": {}}}
	x.Retain(st, t0.Add(Retention-time.Second))
	if !x.Searches["gone"].GoneSince.IsZero() || !x.Searches["gone"].Hits["C"].GoneSince.IsZero() {
		t.Error("an entry held again is still marked gone")
	}
	delete(st.Searches, "gone")
	x.Retain(st, t0.Add(Retention))
	if x.Searches["kept"].Hits["B"] != nil {
		t.Error("a hit no search has held for the retention is still kept")
	}
	if x.Searches["gone"] == nil {
		t.Error("the search gone again went at once; its retention starts anew")
	}
	x.Retain(st, t0.Add(2*Retention))
	if x.Searches["gone"] != nil || x.Searches["kept"].Hits["A"] == nil {
		t.Errorf("after the retention: %+v", x.Searches)
	}
}

func TestSweep(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a := ForStateFile(filepath.Join(dir, "patwatch.state.json"))
	b := ForStateFile(filepath.Join(dir, "sandbox.state.json")) // beside it, apart from it
	if a.Dir() == b.Dir() {
		t.Fatalf("two state files share %s", a.Dir())
	}
	var thumbs []Thumb
	for i := range 3 {
		th, err := makeThumb(encode(t, lines(100+i, 100), PNG))
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Put(ctx, th); err != nil {
			t.Fatal(err)
		}
		thumbs = append(thumbs, th)
	}
	if err := b.Put(ctx, thumbs[2]); err != nil {
		t.Fatal(err)
	}
	fresh := filepath.Join(a.Dir(), "."+thumbs[0].SHA256+".png.tmp-0123456789abcdef")
	stale := filepath.Join(a.Dir(), "."+thumbs[1].SHA256+".png.tmp-fedcba9876543210")
	os.WriteFile(fresh, []byte("half"), 0o644)
	os.WriteFile(stale, []byte("half"), 0o644)
	old := time.Now().Add(-2 * tempGrace)
	os.Chtimes(stale, old, old)

	n, err := a.Sweep(ctx, map[string]bool{thumbs[0].SHA256: true})
	if n != 2 || err != nil {
		t.Fatalf("Sweep = %d, %v; want the 2 thumbnails the index does not name", n, err)
	}
	for i, want := range []bool{true, false, false} {
		if ok, _ := a.Has(ctx, thumbs[i].Ref); ok != want {
			t.Errorf("thumbnail %d kept: %v, want %v", i, ok, want)
		}
	}
	if ok, _ := b.Has(ctx, thumbs[2].Ref); !ok {
		t.Error("sweeping one state's drawings removed another's")
	}
	if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
		t.Error("an old temporary file was left")
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Error("a fresh temporary file, maybe of a write under way, was removed")
	}
}

// TestEncodeIndexIsMarshalIndent: the index, encoded a search at a time,
// is byte for byte what the library writes for it whole, so that files
// written before compare equal and diffs stay clean; SaveIndex writes only
// when that differs from the file.
func TestEncodeIndexIsMarshalIndent(t *testing.T) {
	at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	full := NewIndex()
	for _, name := range []string{"tables", "<phone> & \"designs\"", "a"} {
		s := full.Search(name)
		s.Query.Line = "design (D), model 1"
		s.Query.Images = []QueryImage{{Key: "https://img.test/" + name, Name: name, Error: "HTTP 404"}}
		for i, pn := range []string{"CN1S", "US2S", "EU3S"} {
			e := s.Hit(pn)
			e.Score, e.Want = 0.9-float64(i)/10, i == 0
			if i == 1 {
				e.Error, e.FetchedAt = "not an image", at
			}
		}
	}
	full.Search("gone").GoneSince = at
	cases := map[string]*Index{"full": full, "empty": NewIndex(), "nil searches": {FormatVersion: IndexVersion}}
	for name, x := range cases {
		t.Run(name, func(t *testing.T) {
			want := encodesAsLibrary(t, x)
			st := &FileStore{dir: t.TempDir()}
			st.index = filepath.Join(st.dir, "index.json")
			if err := st.SaveIndex(context.Background(), x); err != nil {
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(st.index); !bytes.Equal(b, want) {
				t.Fatalf("saved:\n%s", b)
			}
			before, _ := os.Stat(st.index)
			if err := st.SaveIndex(context.Background(), x); err != nil {
				t.Fatal(err)
			}
			if after, _ := os.Stat(st.index); !os.SameFile(before, after) {
				t.Error("an unchanged index was written again")
			}
			// A file that holds more, or differs in its last byte, is rewritten.
			for _, damaged := range [][]byte{append(append([]byte{}, want...), ' '), append(append([]byte{}, want[:len(want)-2]...), ']', '\n')} {
				os.WriteFile(st.index, damaged, 0o644)
				if err := st.SaveIndex(context.Background(), x); err != nil {
					t.Fatal(err)
				}
				if b, _ := os.ReadFile(st.index); !bytes.Equal(b, want) {
					t.Errorf("a differing file was not rewritten:\n%s", b)
				}
			}
		})
	}
}

// TestSaveIndexFromTheFirstDifference: an index that differs from the
// file in its middle, far past the first buffer's worth, is written whole
// and right: the bytes before the difference copied from the old file, the
// rest encoded; no temporary file stays behind.
func TestSaveIndexFromTheFirstDifference(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	large := func() *Index {
		x := NewIndex()
		for i := range 300 {
			s := x.Search(fmt.Sprintf("search %03d", i))
			s.Query.Line = "design (D), model 1"
			for j := range 20 {
				e := s.Hit(fmt.Sprintf("CN%05dS", j))
				e.Score, e.Want, e.FetchedAt = 0.5+float64(j)/100, j%2 == 0, at
			}
		}
		return x
	}
	changed := large()
	changed.Searches["search 150"].Hits["CN00007S"].Error = "HTTP 404"
	fewer := large()
	delete(fewer.Searches, "search 150")
	st := &FileStore{dir: t.TempDir()}
	st.index = filepath.Join(st.dir, "index.json")
	orig := encodesAsLibrary(t, large())
	if len(orig) < 256<<10 {
		t.Fatalf("the index is %d bytes; want more than a buffer's worth", len(orig))
	}
	flipped := append([]byte{}, orig...)
	flipped[len(flipped)/2] ^= 1
	for name, c := range map[string]struct {
		old []byte
		x   *Index
	}{
		"a hit changed":          {orig, changed},
		"a search fewer":         {orig, fewer},
		"a search more":          {encodesAsLibrary(t, fewer), large()},
		"the old file cut short": {orig[:len(orig)/2], large()},
		"the old file damaged":   {flipped, large()},
	} {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(st.index, c.old, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := st.SaveIndex(ctx, c.x); err != nil {
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(st.index); !bytes.Equal(b, encodesAsLibrary(t, c.x)) {
				t.Errorf("saved %d bytes, not the index's encoding", len(b))
			}
			if entries, _ := os.ReadDir(st.dir); len(entries) != 1 {
				t.Errorf("the directory holds %d files; want the index only", len(entries))
			}
		})
	}
}

// TestEachSearch: the index read a search at a time is the index saved,
// in the file's order, decoded as the library decodes it whole; what is not
// an index of this format is an error naming the file, and an error of the
// caller's stops the reading and comes back as it was.
func TestEachSearch(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	x := NewIndex()
	for i, name := range []string{"tables", "chairs", "<lamps> & \"more\""} {
		s := x.Search(name)
		s.Query = Query{Line: "design (D), model 1", Images: []QueryImage{{Key: "https://img.test/" + name, Name: name, Error: "HTTP 404"}}}
		e := s.Hit("CN" + name)
		e.Want, e.Score, e.FetchedAt = true, 0.5+float64(i)/10, at
		e.Drawing = Ref{SHA256: strings.Repeat("ab", 32), Format: JPEG}
		s.Hit("US1S").GoneSince = at
	}
	x.Search("gone").GoneSince = at
	s := ForStateFile(filepath.Join(t.TempDir(), "patwatch.state.json"))

	if err := s.EachSearch(ctx, func(string, *Search) error { t.Error("an index not there yet gave a search"); return nil }); err != nil {
		t.Fatalf("no index yet: %v", err)
	}
	if err := s.SaveIndex(ctx, x); err != nil {
		t.Fatal(err)
	}
	var order []string
	got := NewIndex()
	if err := s.EachSearch(ctx, func(name string, e *Search) error {
		order = append(order, name)
		got.Searches[name] = e
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"<lamps> & \"more\"", "chairs", "gone", "tables"}; !slices.Equal(order, want) {
		t.Errorf("searches in the order %q, want the file's %q", order, want)
	}
	raw, _ := os.ReadFile(s.index)
	whole := NewIndex()
	if err := json.Unmarshal(raw, whole); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, whole) || !reflect.DeepEqual(got, x) {
		t.Errorf("read a search at a time:\n%+v\nwhole:\n%+v\nsaved:\n%+v", got, whole, x)
	}
	loaded, err := s.LoadIndex(ctx)
	if err != nil || !reflect.DeepEqual(loaded, x) {
		t.Errorf("LoadIndex = %+v, %v", loaded, err)
	}

	stop := errors.New("enough")
	calls := 0
	if err := s.EachSearch(ctx, func(string, *Search) error { calls++; return stop }); err != stop || calls != 1 {
		t.Errorf("an error of fn's: %v after %d calls, want it as it was after 1", err, calls)
	}

	for _, c := range []struct{ name, file, want string }{
		{"another format", `{"format_version": 2, "searches": {}}`, "format_version 2; this patwatch reads 1"},
		{"no format", `{"searches": {}}`, "searches before format_version"},
		{"no format at all", `{}`, "no format_version"},
		{"not an object", `[1]`, "not a JSON object"},
		{"searches not an object", `{"format_version": 1, "searches": []}`, "searches: want an object"},
		{"a bad entry", `{"format_version": 1, "searches": {"a": {"hits": {"X": {"want": "yes"}}}}}`, "want"},
		{"cut short", `{"format_version": 1, "searches": {"a": {`, "unexpected EOF"},
		{"trailing data", `{"format_version": 1, "searches": null} {}`, "data after"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := os.WriteFile(s.index, []byte(c.file), 0o644); err != nil {
				t.Fatal(err)
			}
			err := s.EachSearch(ctx, func(string, *Search) error { return nil })
			if err == nil || !strings.Contains(err.Error(), s.index) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("EachSearch = %v, want an error naming %s and saying %q", err, s.index, c.want)
			}
			if _, err := s.LoadIndex(ctx); err == nil {
				t.Error("LoadIndex read it")
			}
		})
	}
	t.Run("null searches", func(t *testing.T) {
		os.WriteFile(s.index, []byte(`{"format_version": 1, "searches": null}`), 0o644)
		if got, err := s.LoadIndex(ctx); err != nil || got.Searches == nil || len(got.Searches) != 0 {
			t.Errorf("LoadIndex = %+v, %v; want an empty index", got, err)
		}
	})
}

// TestEncodeIndexAnyContent: encodeIndex, which encodes hits by hand, is
// the library's MarshalIndent on indexes of random content, with the
// strings, numbers and times the hand encoding leaves to the library among
// them.
func TestEncodeIndexAnyContent(t *testing.T) {
	rnd := rand.New(rand.NewPCG(11, 4))
	strs := []string{"", "CN1234567S", "a\"b", `back\slash`, "<b>&amp;</b>", "a<b", "x>y", "tab\there", "é", "\u2028", "\xff\xfe", "日本", "\x00", strings.Repeat("z", 70)}
	floats := []float64{0, 0.912, 1, -0.5, 1e-7, 3e-6, 1e21, 123456789.125, math.Copysign(0, -1), 0.1 + 0.2}
	times := []time.Time{{}, time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC), time.Date(2026, 1, 2, 3, 4, 5, 678900, time.UTC),
		time.Date(2025, 6, 30, 23, 59, 59, 0, time.FixedZone("", 5*3600+1800))}
	pick := func(s []string) string { return s[rnd.IntN(len(s))] }
	for range 200 {
		x := NewIndex()
		for range rnd.IntN(4) {
			s := x.Search(pick(strs) + strconv.Itoa(rnd.IntN(3)))
			if rnd.IntN(4) == 0 {
				s.Hits = nil
			}
			s.GoneSince = times[rnd.IntN(len(times))]
			s.Query.Line = pick(strs)
			for range rnd.IntN(3) {
				s.Query.Images = append(s.Query.Images, QueryImage{Key: pick(strs), Name: pick(strs), Error: pick(strs)})
			}
			for range rnd.IntN(6) {
				if s.Hits == nil {
					break
				}
				pn := pick(strs) + strconv.Itoa(rnd.IntN(5))
				if rnd.IntN(8) == 0 {
					s.Hits[pn] = nil
					continue
				}
				s.Hits[pn] = &Hit{Want: rnd.IntN(2) == 0, Error: pick(strs), Score: floats[rnd.IntN(len(floats))],
					FetchedAt: times[rnd.IntN(len(times))], GoneSince: times[rnd.IntN(len(times))],
					Drawing: []Ref{{}, {Format: PNG}, {SHA256: pick(strs)}, {SHA256: strings.Repeat("0f", 32), Format: JPEG}}[rnd.IntN(4)]}
			}
		}
		if rnd.IntN(10) == 0 {
			x.Searches["nil entry"] = nil
		}
		encodesAsLibrary(t, x)
	}
}

// encodesAsLibrary checks that encodeIndex writes x as MarshalIndent and a
// newline do, and returns those bytes.
func encodesAsLibrary(t *testing.T, x *Index) []byte {
	t.Helper()
	want, err := json.MarshalIndent(x, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, '\n')
	var got bytes.Buffer
	if err := encodeIndex(&got, x); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("encodeIndex:\n%s\nwant MarshalIndent's\n%s", got.Bytes(), want)
	}
	return want
}
