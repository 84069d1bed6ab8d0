package drawings

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// DefaultTimeout bounds one fetch: connecting, the answer and its body.
const DefaultTimeout = 20 * time.Second

// maxBody is the largest image body read; a drawing is far smaller.
const maxBody = 16 << 20

// maxRedirects is how many redirects a fetch follows, as a browser would.
const maxRedirects = 10

// Fetcher fetches images over HTTP and makes thumbnails of them. It goes
// through its own client, outside the API client's rate cap: image links
// are presigned object-store URLs, not API calls.
//
// Image links come from the API's answers and from spec authors, so a
// Fetcher fetches only http and https from public addresses: every
// connection, a redirect's included, is checked once its host is resolved
// and refused when it goes to a loopback, private, link-local (the cloud
// metadata services), shared (CGNAT), multicast, unspecified or reserved
// address (see Reach). Through a proxy from the environment (HTTPS_PROXY),
// the link's host is resolved here and checked the same way before the
// request goes to the proxy.
type Fetcher struct {
	Timeout time.Duration // per fetch; 0: DefaultTimeout
	Reach   Reach
	// Route, when set, sends each request of a fetch (a redirect's too)
	// somewhere else than its link says: the sandbox's simulation, a
	// test's server. Set it, and Reach, before the first fetch.
	Route Route

	once   sync.Once
	client *http.Client
}

// Validators name the version of an image its server sent (ETag,
// Last-Modified), so that it can be asked for again only if it changed.
type Validators struct {
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
}

// IsZero reports whether v names no version.
func (v Validators) IsZero() bool { return v == Validators{} }

// Answer is what a fetch got.
type Answer struct {
	Body []byte
	Host string // that answered (a redirect's), for messages
	// Validators are the answer's; NotModified says the server answered
	// 304 to the validators asked with: Body is empty.
	Validators  Validators
	NotModified bool
}

// Download gets the body at rawURL (at most 16 MB, within Timeout). With
// validators, it asks for the body only if it changed since (If-None-Match,
// If-Modified-Since). Its errors name the host that failed (a redirect's)
// and never hold the URL: image links are presigned, and whoever holds one
// can use it until it expires. An error of the host rather than of the
// image (no answer, no connection, a 5xx) matches ErrHostFailed.
func (f *Fetcher) Download(ctx context.Context, rawURL string, since Validators) (Answer, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Answer{}, errNotHTTP
	}
	timeout := f.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return Answer{}, errNotHTTP
	}
	req.Header.Set("Accept", "image/png, image/jpeg, image/gif;q=0.8, */*;q=0.1")
	if since.ETag != "" {
		req.Header.Set("If-None-Match", since.ETag)
	}
	if since.LastModified != "" {
		req.Header.Set("If-Modified-Since", since.LastModified)
	}
	resp, err := f.httpClient().Do(req)
	if err != nil {
		return Answer{Host: failedHost(u, err)}, fetchError(parent, ctx, timeout, u, err)
	}
	defer resp.Body.Close()
	a := Answer{Host: resp.Request.URL.Host,
		Validators: Validators{ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified")}}
	switch {
	case resp.StatusCode == http.StatusNotModified && !since.IsZero():
		a.NotModified = true
		return a, nil
	case resp.StatusCode != http.StatusOK:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		err := fmt.Errorf("HTTP %d %s from %s", resp.StatusCode, http.StatusText(resp.StatusCode), a.Host)
		if resp.StatusCode >= 500 {
			err = &hostError{err}
		}
		return a, err
	}
	a.Body, err = io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return a, fetchError(parent, ctx, timeout, resp.Request.URL, err)
	}
	if len(a.Body) > maxBody {
		return a, fmt.Errorf("the image from %s is larger than %d MB", a.Host, maxBody>>20)
	}
	return a, nil
}

// ErrHostFailed is matched by the error of a fetch that failed for its
// host rather than its image: no answer in time, no connection, a 5xx.
var ErrHostFailed = errors.New("the host failed")

// hostError is an error of the host rather than of the image.
type hostError struct{ err error }

func (e *hostError) Error() string        { return e.err.Error() }
func (e *hostError) Unwrap() error        { return e.err }
func (e *hostError) Is(target error) bool { return target == ErrHostFailed }

var errNotHTTP = errors.New("not an http or https link")

// httpClient is the Fetcher's client: its transport checks every
// connection (guard), and each request goes by Route.
func (f *Fetcher) httpClient() *http.Client {
	f.once.Do(func() {
		g := &guard{reach: f.Reach, env: http.ProxyFromEnvironment}
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.Proxy = g.proxy
		t.DialContext = g.dial
		t.MaxIdleConnsPerHost = 16 // a CDN host serves a run's fetches at once
		f.client = &http.Client{
			Transport: routed{route: f.Route, next: t},
			CheckRedirect: func(req *http.Request, via []*http.Request) error {
				switch {
				case len(via) >= maxRedirects:
					return fmt.Errorf("more than %d redirects", maxRedirects)
				case req.URL.Scheme != "http" && req.URL.Scheme != "https":
					return fmt.Errorf("a redirect to %s: %w", req.URL.Scheme, errNotHTTP)
				}
				return nil
			},
		}
	})
	return f.client
}

// failedHost is the host of the request that failed: a redirect's when
// the client followed one.
func failedHost(link *url.URL, err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil && u.Host != "" {
			return u.Host
		}
	}
	return link.Host
}

// fetchError describes a failed request by the host that failed, without
// the URL that *url.Error would print.
func fetchError(parent, ctx context.Context, timeout time.Duration, link *url.URL, err error) error {
	host := failedHost(link, err)
	if parent.Err() == nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &hostError{fmt.Errorf("no answer within %s from %s", timeout, host)}
	}
	var refused *RefusedError
	if errors.As(err, &refused) {
		return refused
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	err = fmt.Errorf("%s: %w", host, err)
	if parent.Err() != nil { // the run's end, not the host's
		return err
	}
	return &hostError{err}
}
