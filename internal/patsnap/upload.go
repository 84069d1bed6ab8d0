package patsnap

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// P010 limits and the reuse policy of uploaded images.
const (
	MaxUploadSize = 4 << 20 // P010 accepts JPG or PNG images up to 4 MB
	// UploadReuseMargin is how long a cached upload's URL must still be
	// valid to be reused: long enough for the searches of one run.
	UploadReuseMargin = time.Hour
	defaultUploadTTL  = 9 * time.Hour // P010's documented expire of 32400 s
)

// UploadImage returns a URL the search endpoints can fetch the image data
// from. An earlier upload of the same bytes (by sha256) is reused while its
// URL stays valid for UploadReuseMargin; otherwise the image is uploaded
// through P010 and the result stored in the upload cache. name is only the
// file name sent with the upload.
func (c *Client) UploadImage(ctx context.Context, name string, data []byte) (Upload, error) {
	return c.upload(ctx, name, data, true)
}

// ReuploadImage uploads the image through P010 whatever the cache holds, and
// replaces the cached URL: for a reused URL the API refused (a search
// answering that it cannot fetch the image).
func (c *Client) ReuploadImage(ctx context.Context, name string, data []byte) (Upload, error) {
	return c.upload(ctx, name, data, false)
}

func (c *Client) upload(ctx context.Context, name string, data []byte, reuse bool) (Upload, error) {
	sum := sha256.Sum256(data)
	key := hex.EncodeToString(sum[:])
	if u, ok := c.uploads.Get(key); reuse && ok && u.URL != "" && u.Expires.After(c.now().Add(UploadReuseMargin)) {
		u.Reused = true
		return u, nil
	}
	invalid := func(msg string) (Upload, error) {
		return Upload{}, &APIError{Endpoint: EndpointUpload, Class: ClassInvalid, Msg: msg}
	}
	if len(data) == 0 {
		return invalid("empty image")
	}
	if len(data) > MaxUploadSize {
		return invalid(fmt.Sprintf("image of %d bytes; P010 takes at most %d", len(data), MaxUploadSize))
	}
	ctype := http.DetectContentType(data)
	ext := ""
	switch ctype {
	case "image/png":
		ext = ".png"
	case "image/jpeg":
		ext = ".jpg"
	default:
		return invalid(fmt.Sprintf("image is %s; P010 takes only JPG or PNG", ctype))
	}
	body, contentType, err := multipartImage(uploadFileName(name, ext), ctype, data)
	if err != nil {
		return Upload{}, &APIError{Endpoint: EndpointUpload, Class: ClassPermanent, Msg: "cannot encode the upload", Err: err}
	}
	cl := &call{endpoint: EndpointUpload, method: http.MethodPost, path: pathUpload, body: body, contentType: contentType}
	start := c.now()
	var u Upload
	err = c.do(ctx, cl, func(status int, answer []byte) error {
		data, err := c.checkEnvelope(EndpointUpload, status, answer)
		if err != nil {
			return err
		}
		url, ttl, err := decodeUpload(data)
		if err != nil {
			return malformed(EndpointUpload, status, err)
		}
		u = Upload{URL: url, Expires: start.Add(ttl)}
		return nil
	})
	if err != nil {
		return Upload{}, err
	}
	c.uploads.Put(key, u)
	return u, nil
}

// decodeUpload reads the data of a P010 answer: {"url": …, "expire": s}.
func decodeUpload(data json.RawMessage) (string, time.Duration, error) {
	var d struct {
		URL    string  `json:"url"`
		Expire flexInt `json:"expire"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return "", 0, err
	}
	if strings.TrimSpace(d.URL) == "" {
		return "", 0, fmt.Errorf("no url in the answer")
	}
	ttl := defaultUploadTTL
	if d.Expire.set && d.Expire.v > 0 && d.Expire.v < int64(30*24*time.Hour/time.Second) {
		ttl = time.Duration(d.Expire.v) * time.Second
	}
	return d.URL, ttl, nil
}

// uploadFileName is the file name sent with an upload: the base of name
// with characters that would need quoting replaced, or a generic name.
func uploadFileName(name, ext string) string {
	base := filepath.Base(name)
	base = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '"' || r == '\\' {
			return '_'
		}
		return r
	}, base)
	if base == "." || base == string(filepath.Separator) || base == "" {
		return "image" + ext
	}
	return base
}

// multipartImage builds the P010 body: one form field "image" holding the file.
func multipartImage(filename, ctype string, data []byte) ([]byte, string, error) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="image"; filename="%s"`, filename))
	h.Set("Content-Type", ctype)
	part, err := w.CreatePart(h)
	if err != nil {
		return nil, "", err
	}
	if _, err := part.Write(data); err != nil {
		return nil, "", err
	}
	if err := w.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), w.FormDataContentType(), nil
}

// memoryUploads is the UploadCache used when Config gives none.
type memoryUploads struct {
	mu sync.Mutex
	m  map[string]Upload
}

func (m *memoryUploads) Get(sum string) (Upload, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.m[sum]
	return u, ok
}

func (m *memoryUploads) Put(sum string, u Upload) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.m[sum] = u
}
