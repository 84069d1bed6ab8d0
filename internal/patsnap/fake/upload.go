package fake

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"time"
)

// MaxUpload is the largest image P010 accepts.
const MaxUpload = 4 << 20

// uploadLifetime is how long an uploaded image's URL lives (the answer's expire).
const uploadLifetime = 32400 * time.Second

// upload is what the fake remembers of an uploaded image.
type upload struct {
	Ext  string    `json:"ext"`
	Size int       `json:"size"`
	At   time.Time `json:"at"`
}

type uploadData struct {
	URL    string `json:"url"`
	Expire int    `json:"expire"`
}

// upload answers P010: one multipart field "image" holding a JPEG or PNG of
// at most 4 MB. The answer's URL is served by no one; searches accept it
// while it is unexpired and rank by the image's content hash.
func (s *Server) upload(r *http.Request, body []byte) *answer {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return errAnswer(http.StatusOK, CodeBadRequest, "Bad request! multipart/form-data expected")
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	var img []byte
	found := false
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return errAnswer(http.StatusOK, CodeBadRequest, "")
		}
		if part.FormName() != "image" {
			continue
		}
		var buf bytes.Buffer
		buf.Grow(min(len(body), MaxUpload+1) + bytes.MinRead)
		_, err = buf.ReadFrom(io.LimitReader(part, MaxUpload+1))
		img = buf.Bytes()
		if err != nil {
			return errAnswer(http.StatusOK, CodeBadRequest, "")
		}
		found = true
		break
	}
	if !found {
		return invalid("image is required")
	}
	ext := imageExt(img)
	if ext == "" || len(img) > MaxUpload {
		return errAnswer(http.StatusOK, CodeBadUpload, "")
	}
	sum := sha256.Sum256(img)
	sha := hex.EncodeToString(sum[:])
	s.mu.Lock()
	s.uploads[sha] = upload{Ext: ext, Size: len(img), At: s.now().UTC()}
	s.mu.Unlock()
	u := s.presign(baseURL(r)+PathImagePrefix+sha+"."+ext, uploadLifetime)
	return okAnswer(uploadData{URL: u, Expire: int(uploadLifetime / time.Second)})
}

// imageExt names the format of img by its magic bytes: "jpg", "png" or "".
func imageExt(img []byte) string {
	switch {
	case bytes.HasPrefix(img, []byte{0xFF, 0xD8, 0xFF}):
		return "jpg"
	case bytes.HasPrefix(img, []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	}
	return ""
}

// UploadedImages returns the hex sha256 of every image uploaded so far.
func (s *Server) UploadedImages() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.uploads))
	for k := range s.uploads {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
