package patsnap

import (
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

// Download fetches a finished report from its presigned link into target.
// The body is streamed into a temporary file beside target, checked against
// Content-Length when the server sent one, hashed, synced and then renamed
// over target, so target is either the complete new file or untouched; a
// failed or cut-off download leaves no file behind. The link is presigned:
// no Authorization header and no apikey are sent to its host. 401, 403, 404
// and 410 mean the link expired or is wrong (ClassNotFound); 5xx and
// network failures are retried like API calls. Downloads go to a storage
// host, not the API gateway, so they do not wait on the API rate cap.
func (c *Client) Download(ctx context.Context, rawURL, target string) (*Download, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &APIError{Endpoint: EndpointDownload, Class: ClassInvalid, Msg: "the download link is not an absolute http or https URL"}
	}
	for retries := 0; ; retries++ {
		start := c.now()
		d, err := c.downloadOnce(ctx, rawURL, target)
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
			return nil, fmt.Errorf("patsnap %s: %w", EndpointDownload, ctx.Err())
		}
		if ae == nil || ae.Class != ClassRetryable || retries >= c.maxRetries {
			return nil, err
		}
		c.stats.retry()
		if err := c.sleep(ctx, c.backoff(retries+1)); err != nil {
			return nil, fmt.Errorf("patsnap %s: %w (after %v)", EndpointDownload, err, ae)
		}
	}
}

// downloadOnce is one attempt of Download.
func (c *Client) downloadOnce(ctx context.Context, rawURL, target string) (*Download, error) {
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
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(resp.Body, MaxDownloadSize+1))
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
		return nil, &APIError{Endpoint: EndpointDownload, HTTPStatus: resp.StatusCode, Class: ClassPermanent, Msg: "empty file"}
	}
	if err := tmp.Commit(); err != nil {
		return nil, fmt.Errorf("patsnap %s: %w", EndpointDownload, err)
	}
	return &Download{Path: target, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
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
