package patsnap

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// pngBytes returns a small byte slice that sniffs as PNG; tag varies it.
func pngBytes(tag string) []byte {
	return append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), tag...)
}

// uploadHandler checks the P010 multipart body and answers a fresh URL.
func uploadHandler(t *testing.T) http.HandlerFunc {
	var n atomic.Int32
	return func(w http.ResponseWriter, r *http.Request) {
		f, h, err := r.FormFile("image")
		if err != nil {
			t.Errorf("upload without an image field: %v", err)
			apiErr(w, 200, 68300010, "bad file")
			return
		}
		defer f.Close()
		data, _ := io.ReadAll(f)
		if !strings.HasPrefix(string(data), "\x89PNG") || h.Header.Get("Content-Type") != "image/png" {
			t.Errorf("upload part %q type %q", h.Filename, h.Header.Get("Content-Type"))
		}
		okData(w, fmt.Sprintf(`{"url":"https://img.example/u%d.png?sign=s3cr3t-upload","expire":32400}`, n.Add(1)))
	}
}

func TestUploadReuseByContent(t *testing.T) {
	s := newStubAPI(t)
	s.handle(uploadPath, uploadHandler(t))
	c, clk := s.client(nil)
	ctx := context.Background()
	img := pngBytes("a")

	before := clk.Now()
	u1, err := c.UploadImage(ctx, "dir/a.png", img)
	if err != nil {
		t.Fatal(err)
	}
	// The lifetime counts from before the request: never later than real.
	if want := before.Add(9 * time.Hour); !u1.Expires.Equal(want) {
		t.Errorf("expires %v, want %v", u1.Expires, want)
	}
	clk.Advance(before.Add(7*time.Hour + 59*time.Minute).Sub(clk.Now())) // 61 min left: reused
	u2, err := c.UploadImage(ctx, "other-name.png", img)
	if err != nil || u2.URL != u1.URL || !u2.Expires.Equal(u1.Expires) || !u2.Reused || u1.Reused {
		t.Fatalf("second upload %v %v, want the cached %v marked reused", u2, err, u1)
	}
	if n := s.count(uploadPath); n != 1 {
		t.Fatalf("%d uploads, want 1", n)
	}
	clk.Advance(2 * time.Minute) // 59 min left: uploaded again
	u3, err := c.UploadImage(ctx, "a.png", img)
	if err != nil {
		t.Fatal(err)
	}
	if u3.URL == u1.URL || s.count(uploadPath) != 2 {
		t.Errorf("expired upload reused: %v", u3)
	}
	if _, err := c.UploadImage(ctx, "b.png", pngBytes("b")); err != nil {
		t.Fatal(err)
	}
	if n := s.count(uploadPath); n != 3 {
		t.Errorf("%d uploads for a new image, want 3", n)
	}
}

// mapCache is an UploadCache a caller might persist.
type mapCache map[string]Upload

func (m mapCache) Get(k string) (Upload, bool) { u, ok := m[k]; return u, ok }
func (m mapCache) Put(k string, u Upload)      { m[k] = u }

func TestUploadUsesGivenCache(t *testing.T) {
	s := newStubAPI(t)
	s.handle(uploadPath, uploadHandler(t))
	img := pngBytes("persisted")
	sum := sha256.Sum256(img)
	clk := newFakeClock()
	cache := mapCache{hex.EncodeToString(sum[:]): {URL: "https://img.example/earlier.png", Expires: clk.Now().Add(5 * time.Hour)}}
	c, _ := s.client(func(cfg *Config) { cfg.Uploads, cfg.Now = cache, clk.Now })
	u, err := c.UploadImage(context.Background(), "x.png", img)
	if err != nil || u.URL != "https://img.example/earlier.png" || s.count(uploadPath) != 0 {
		t.Fatalf("upload %v %v, %d requests", u, err, s.count(uploadPath))
	}
	u, err = c.UploadImage(context.Background(), "y.png", pngBytes("fresh"))
	if err != nil || len(cache) != 2 {
		t.Fatalf("upload %v %v, cache %v", u, err, cache)
	}
}

func TestUploadRejectsBadImages(t *testing.T) {
	s := newStubAPI(t)
	c, _ := s.client(nil)
	for name, data := range map[string][]byte{
		"empty": nil,
		"gif":   []byte("GIF89a......"),
		"text":  []byte("hello"),
		"large": append(pngBytes(""), make([]byte, MaxUploadSize)...),
	} {
		_, err := c.UploadImage(context.Background(), name, data)
		mustClass(t, err, ClassInvalid)
	}
	if n := s.count(""); n != 0 {
		t.Errorf("%d requests", n)
	}
}

// downloadServer serves the presigned link; handler decides the answer.
func downloadStub(t *testing.T, h http.HandlerFunc) (*stubAPI, string) {
	s := newStubAPI(t)
	s.handle(downloadPath, h)
	return s, s.srv.URL + downloadPath + "?sign=q-sign-algorithm%3Dsha1%26q-signature%3Dfeedface0123&X-Amz-Signature=deadbeef4567"
}

// dirNames lists a directory's entries.
func dirNames(t *testing.T, dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestDownload(t *testing.T) {
	content := strings.Repeat("%PDF-1.7 report body\n", 1000) + "%%EOF\n"
	s, link := downloadStub(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(content)))
		io.WriteString(w, content)
	})
	s.handle(statusPath, func(w http.ResponseWriter, r *http.Request) {
		okData(w, fmt.Sprintf(`{"job_status":2,"download_url":%q}`, link))
	})
	c, _ := s.client(nil)
	st, err := c.ReportStatus(context.Background(), "1") // fetches a token first
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	target := filepath.Join(dir, "cn1.pdf")
	d, err := c.Download(context.Background(), st.DownloadURL, target, "pdf")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(content))
	if d.Path != target || d.Size != int64(len(content)) || d.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("download %+v", d)
	}
	got, err := os.ReadFile(target)
	if err != nil || string(got) != content {
		t.Fatalf("file: %v", err)
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"cn1.pdf"}) {
		t.Errorf("directory holds %v", names)
	}
	r := s.requests(downloadPath)[0]
	if r.Header.Get("Authorization") != "" || r.Query.Has("apikey") {
		t.Errorf("credentials sent to the download host: %v %v", r.Header, r.Query)
	}
	if r.Query.Get("X-Amz-Signature") != "deadbeef4567" {
		t.Errorf("presigned query not sent verbatim: %v", r.Query)
	}
}

// TestDownloadLeavesNothingOnFailure: a cut connection, a bad status or an
// expired link never leaves a partial file, and an earlier file survives.
func TestDownloadLeavesNothingOnFailure(t *testing.T) {
	tests := []struct {
		name     string
		h        http.HandlerFunc
		class    Class
		attempts int
	}{
		{"cut after half", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "4096")
			io.WriteString(w, strings.Repeat("x", 2048))
			w.(http.Flusher).Flush()
			cutConnection(w)
		}, ClassRetryable, 4},
		{"cut chunked", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, strings.Repeat("x", 2048))
			w.(http.Flusher).Flush()
			cutConnection(w)
		}, ClassRetryable, 4},
		{"403 expired", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(403) }, ClassNotFound, 1},
		{"404", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404) }, ClassNotFound, 1},
		{"410", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(410) }, ClassNotFound, 1},
		{"500", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }, ClassRetryable, 4},
		{"empty", func(w http.ResponseWriter, r *http.Request) {}, ClassPermanent, 1},
	}
	for _, tt := range tests {
		for _, existing := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/existing=%v", tt.name, existing), func(t *testing.T) {
				s, link := downloadStub(t, tt.h)
				c, _ := s.client(nil)
				dir := t.TempDir()
				target := filepath.Join(dir, "r.pdf")
				if existing {
					if err := os.WriteFile(target, []byte("old"), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				d, err := c.Download(context.Background(), link, target, "pdf")
				if d != nil {
					t.Fatalf("download %+v", d)
				}
				mustClass(t, err, tt.class)
				if n := s.count(downloadPath); n != tt.attempts {
					t.Errorf("%d attempts, want %d", n, tt.attempts)
				}
				want := []string(nil)
				if existing {
					want = []string{"r.pdf"}
					if b, _ := os.ReadFile(target); string(b) != "old" {
						t.Errorf("earlier file changed to %q", b)
					}
				}
				if names := dirNames(t, dir); !slices.Equal(names, want) {
					t.Errorf("directory holds %v, want %v", names, want)
				}
			})
		}
	}
}

func TestDownloadRejectsBadLinks(t *testing.T) {
	s := newStubAPI(t)
	c, _ := s.client(nil)
	for _, link := range []string{"", "ftp://x/y", "/relative?sign=x", "http://%zz"} {
		_, err := c.Download(context.Background(), link, filepath.Join(t.TempDir(), "x"), "pdf")
		mustClass(t, err, ClassInvalid)
	}
}

// docx builds a ZIP holding the named parts.
func docx(t *testing.T, names ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, n := range names {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, "<x/>")
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestDownloadChecksTheReport: a body that is not a report of the asked
// format is refused, once, and leaves the earlier file as it was (issue
// 10.1: an HTML page answering 200 was saved as the report).
func TestDownloadChecksTheReport(t *testing.T) {
	pdf := []byte("%PDF-1.4\n" + strings.Repeat("1 0 obj\n<< >>\nendobj\n", 200) + "trailer\n<< >>\nstartxref\n9\n%%EOF\n")
	word := docx(t, "[Content_Types].xml", "_rels/.rels", "word/document.xml")
	tests := []struct {
		name   string
		format string
		body   []byte
		ok     bool
	}{
		{"pdf", "pdf", pdf, true},
		{"docx", "word", word, true},
		{"pdf with a final CRLF", "pdf", append(bytes.TrimSuffix(pdf, []byte("\n")), "\r\n"...), true},
		{"html maintenance page", "pdf", []byte("<!DOCTYPE html><html><body>Service maintenance</body></html>"), false},
		{"json envelope", "pdf", []byte(`{"data":null,"status":false,"error_code":68300008,"error_msg":"Service error"}`), false},
		{"null", "pdf", []byte("null"), false},
		{"half a pdf", "pdf", pdf[:len(pdf)/2], false},
		{"pdf for a word report", "word", pdf, false},
		{"docx for a pdf report", "pdf", word, false},
		{"half a docx", "word", word[:len(word)/2], false},
		{"a zip that is no document", "word", docx(t, "readme.txt"), false},
		{"html for a word report", "word", []byte("<html></html>"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, link := downloadStub(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", fmt.Sprint(len(tt.body)))
				w.Write(tt.body)
			})
			c, _ := s.client(nil)
			dir := t.TempDir()
			target := filepath.Join(dir, "r.report")
			if err := os.WriteFile(target, []byte("old"), 0o644); err != nil {
				t.Fatal(err)
			}
			d, err := c.Download(context.Background(), link, target, tt.format)
			got, _ := os.ReadFile(target)
			if tt.ok {
				if err != nil || d.Size != int64(len(tt.body)) || !bytes.Equal(got, tt.body) {
					t.Fatalf("download %+v, err %v", d, err)
				}
				return
			}
			if !errors.Is(err, ErrNotReport) || d != nil {
				t.Fatalf("download %+v, err %v; want ErrNotReport", d, err)
			}
			mustClass(t, err, ClassPermanent)
			if string(got) != "old" {
				t.Errorf("the earlier file became %q", got)
			}
			if names := dirNames(t, dir); !slices.Equal(names, []string{"r.report"}) {
				t.Errorf("directory holds %v", names)
			}
			if n := s.count(downloadPath); n != 1 {
				t.Errorf("%d attempts, want 1", n)
			}
		})
	}
	s := newStubAPI(t)
	c, _ := s.client(nil)
	_, err := c.Download(context.Background(), s.srv.URL+downloadPath, filepath.Join(t.TempDir(), "x"), "docx")
	mustClass(t, err, ClassInvalid)
}
