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
	"net/url"
	"os"

	"github.com/patwatch/patwatch/internal/atomicfile"
)

// MaxDownloadSize caps a downloaded report; real ones are a few MB.
const MaxDownloadSize = 512 << 20

// ErrNotReport is matched by errors.Is for a download that arrived whole
// but is not the report: an HTML page, a JSON envelope, null, a file cut
// short under a length that matches it, a ZIP that is no Word document.
// Such an error is ClassPermanent: asking the same link again in the same
// run would most likely bring the same body; a later run fetches again.
var ErrNotReport = errors.New("the download is not the report")

// Report formats of Download, as in ReportRequest.Format.
const (
	FormatPDF  = "pdf"
	FormatWord = "word"
)

// Download fetches a finished report of format ("pdf" or "word") from its
// presigned link into target. The body is streamed into a temporary file
// beside target, checked against Content-Length when the server sent one,
// checked to be a report of format (a PDF starts with %PDF- and ends with
// %%EOF in its last 1024 bytes; a Word report is a ZIP holding
// [Content_Types].xml and word/document.xml), hashed, synced and then
// renamed over target, so target is either the complete new report or
// untouched; a failed, cut-off or wrong download leaves no file behind. The
// link is presigned: no Authorization header and no apikey are sent to its
// host. 401, 403, 404 and 410 mean the link expired or is wrong
// (ClassNotFound); 5xx and network failures are retried like API calls; a
// body that is not the report matches ErrNotReport. Downloads go to a
// storage host, not the API gateway, so they do not wait on the API rate
// cap.
func (c *Client) Download(ctx context.Context, rawURL, target, format string) (*Download, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &APIError{Endpoint: EndpointDownload, Class: ClassInvalid, Msg: "the download link is not an absolute http or https URL"}
	}
	if format != FormatPDF && format != FormatWord {
		return nil, &APIError{Endpoint: EndpointDownload, Class: ClassInvalid, Msg: fmt.Sprintf("report format %q; want pdf or word", format)}
	}
	for retries := 0; ; retries++ {
		start := c.now()
		d, err := c.downloadOnce(ctx, rawURL, target, format)
		var status int
		var ae *APIError
		if errors.As(err, &ae) {
			status = ae.HTTPStatus
		}
		c.logAttempt(EndpointDownload, retries+1, status, c.now().Sub(start), err)
		if err == nil {
			return d, nil
		}
		if ctx.Err() != nil {
			return nil, c.redactErr(fmt.Errorf("patsnap %s: %w", EndpointDownload, ctx.Err()))
		}
		if ae == nil || ae.Class != ClassRetryable || retries >= c.maxRetries {
			return nil, c.redactErr(err)
		}
		c.stats.retry()
		if err := c.sleep(ctx, c.backoff(retries+1)); err != nil {
			return nil, c.redactErr(fmt.Errorf("patsnap %s: %w (after %v)", EndpointDownload, err, ae))
		}
	}
}

// downloadOnce is one attempt of Download.
func (c *Client) downloadOnce(ctx context.Context, rawURL, target, format string) (*Download, error) {
	actx, cancel := context.WithTimeout(ctx, c.fetchTTL)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, &APIError{Endpoint: EndpointDownload, Class: ClassInvalid, Msg: "cannot build request", Err: redactURLError(err)}
	}
	c.stats.request(EndpointDownload)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, c.downloadError(ctx, actx, 0, err)
	}
	defer resp.Body.Close()
	switch s := resp.StatusCode; {
	case s == http.StatusUnauthorized, s == http.StatusForbidden, s == http.StatusNotFound, s == http.StatusGone:
		return nil, &APIError{Endpoint: EndpointDownload, HTTPStatus: s, Class: ClassNotFound, Msg: "download link expired or invalid"}
	case s < 200 || s > 299:
		return nil, &APIError{Endpoint: EndpointDownload, HTTPStatus: s, Class: httpClass(s), Msg: "download failed"}
	}

	tmp, err := atomicfile.Create(target, 0o644)
	if err != nil {
		return nil, fmt.Errorf("patsnap %s: %w", EndpointDownload, err)
	}
	defer tmp.Abort()
	h := sha256.New()
	var ends fileEnds
	n, err := io.Copy(io.MultiWriter(tmp, h, &ends), io.LimitReader(resp.Body, MaxDownloadSize+1))
	switch {
	case err != nil && isWriteError(err, tmp.Name()):
		return nil, fmt.Errorf("patsnap %s: %w", EndpointDownload, err)
	case err != nil:
		return nil, c.downloadError(ctx, actx, resp.StatusCode, err)
	case n > MaxDownloadSize:
		return nil, &APIError{Endpoint: EndpointDownload, HTTPStatus: resp.StatusCode, Class: ClassPermanent,
			Msg: fmt.Sprintf("file larger than %d bytes", MaxDownloadSize)}
	case resp.ContentLength >= 0 && n != resp.ContentLength:
		return nil, &APIError{Endpoint: EndpointDownload, HTTPStatus: resp.StatusCode, Class: ClassRetryable,
			Msg: fmt.Sprintf("got %d of %d bytes", n, resp.ContentLength)}
	case n == 0:
		return nil, &APIError{Endpoint: EndpointDownload, HTTPStatus: resp.StatusCode, Class: ClassPermanent, Msg: "empty file", Err: ErrNotReport}
	}
	if why := checkReport(format, &ends, tmp.Name(), n); why != "" {
		return nil, &APIError{Endpoint: EndpointDownload, HTTPStatus: resp.StatusCode, Class: ClassPermanent,
			Msg: fmt.Sprintf("the body is not a %s report: %s", formatName(format), why), Err: ErrNotReport}
	}
	if err := tmp.Commit(); err != nil {
		return nil, fmt.Errorf("patsnap %s: %w", EndpointDownload, err)
	}
	return &Download{Path: target, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// pdfTail is how near its end a PDF must hold %%EOF: the PDF specification
// asks readers to look in the last 1024 bytes.
const pdfTail = 1024

// fileEnds keeps the first and the last bytes of what is written to it.
type fileEnds struct {
	head []byte // up to 16 bytes
	tail []byte // the last pdfTail bytes
}

func (e *fileEnds) Write(p []byte) (int, error) {
	if len(e.head) < 16 {
		e.head = append(e.head, p[:min(len(p), 16-len(e.head))]...)
	}
	if len(p) >= pdfTail {
		e.tail = append(e.tail[:0], p[len(p)-pdfTail:]...)
	} else {
		e.tail = append(e.tail, p...)
		if len(e.tail) > pdfTail {
			e.tail = append(e.tail[:0], e.tail[len(e.tail)-pdfTail:]...)
		}
	}
	return len(p), nil
}

// checkReport returns why the n bytes in the file at path are not a report
// of format, or "" when they are.
func checkReport(format string, ends *fileEnds, path string, n int64) string {
	head := ends.head
	if format == FormatPDF {
		switch {
		case !bytes.HasPrefix(head, []byte("%PDF-")):
			return "it begins like " + looksLike(head)
		case !bytes.Contains(ends.tail, []byte("%%EOF")):
			return "it is cut short (no %%EOF in its last 1024 bytes)"
		}
		return ""
	}
	if !bytes.HasPrefix(head, []byte("PK\x03\x04")) {
		return "it begins like " + looksLike(head)
	}
	f, err := os.Open(path)
	if err != nil {
		return "it cannot be read back: " + err.Error()
	}
	defer f.Close()
	zr, err := zip.NewReader(f, n)
	if err != nil {
		return "it is not a complete ZIP archive"
	}
	var types, document bool
	for _, zf := range zr.File {
		switch zf.Name {
		case "[Content_Types].xml":
			types = true
		case "word/document.xml":
			document = true
		}
	}
	if !types || !document {
		return "the ZIP archive lacks [Content_Types].xml or word/document.xml"
	}
	return ""
}

// looksLike names what a body beginning with head appears to be.
func looksLike(head []byte) string {
	t := bytes.TrimLeft(head, " \t\r\n\xef\xbb\xbf")
	switch {
	case len(t) == 0:
		return "white space"
	case t[0] == '<':
		return "an HTML or XML page"
	case bytes.HasPrefix(t, []byte("null")):
		return "the JSON value null"
	case t[0] == '{' || t[0] == '[' || t[0] == '"':
		return "a JSON answer"
	case bytes.HasPrefix(t, []byte("%PDF-")):
		return "a PDF"
	case bytes.HasPrefix(t, []byte("PK")):
		return "a ZIP archive"
	}
	return "something else"
}

func formatName(format string) string {
	if format == FormatWord {
		return "Word (DOCX)"
	}
	return "PDF"
}

// downloadError wraps a failure to fetch or read a download.
func (c *Client) downloadError(ctx, actx context.Context, status int, err error) error {
	err = redactURLError(err)
	if ctx.Err() == nil && actx.Err() != nil {
		return &APIError{Endpoint: EndpointDownload, HTTPStatus: status, Class: ClassRetryable,
			Msg: fmt.Sprintf("not complete within %v", c.fetchTTL), Err: err}
	}
	return &APIError{Endpoint: EndpointDownload, HTTPStatus: status, Class: transportClass(err), Msg: "download failed", Err: err}
}

// isWriteError reports whether err came from writing the file named name
// rather than from reading the network.
func isWriteError(err error, name string) bool {
	var pe *os.PathError
	return errors.As(err, &pe) && pe.Path == name
}
