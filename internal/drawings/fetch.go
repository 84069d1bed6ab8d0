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

// Download gets the body at rawURL (at most 16 MB, within Timeout) and
// the host that answered it (a redirect's), for messages. Its errors name
// the host that failed and never hold the URL: image links are presigned,
// and whoever holds one can use it until it expires.
func (f *Fetcher) Download(ctx context.Context, rawURL string) (body []byte, host string, err error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, "", errNotHTTP
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
		return nil, "", errNotHTTP
	}
	req.Header.Set("Accept", "image/png, image/jpeg, image/gif;q=0.8, */*;q=0.1")
	resp, err := f.httpClient().Do(req)
	if err != nil {
		return nil, failedHost(u, err), fetchError(parent, ctx, timeout, u, err)
	}
	defer resp.Body.Close()
	host = resp.Request.URL.Host
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return nil, host, fmt.Errorf("HTTP %d %s from %s", resp.StatusCode, http.StatusText(resp.StatusCode), host)
	}
	body, err = io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, host, fetchError(parent, ctx, timeout, resp.Request.URL, err)
	}
	if len(body) > maxBody {
		return nil, host, fmt.Errorf("the image from %s is larger than %d MB", host, maxBody>>20)
	}
	return body, host, nil
}

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
		return fmt.Errorf("no answer within %s from %s", timeout, host)
	}
	var refused *RefusedError
	if errors.As(err, &refused) {
		return refused
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("%s: %w", host, err)
}
