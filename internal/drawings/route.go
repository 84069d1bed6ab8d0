package drawings

import (
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/patwatch/patwatch/internal/patsnap/fake"
)

// Route is the transport of image links. Once SandboxAt names the
// sandbox's API root it sends every one to the simulation, which draws a
// picture for any path (a link to another host under
// /fake-images/remote/<host>/…), so that a sandbox run makes no request to
// the network; until then it passes them on to Next.
type Route struct {
	Next http.RoundTripper // nil: http.DefaultTransport

	mu   sync.Mutex
	base *url.URL // the sandbox's API root; nil: no rerouting
}

// SandboxAt sends every link from now on to the sandbox whose API root is
// baseURL.
func (t *Route) SandboxAt(baseURL string) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.base = u
}

// RoundTrip sends req on, to the sandbox when there is one.
func (t *Route) RoundTrip(req *http.Request) (*http.Response, error) {
	t.mu.Lock()
	base := t.base
	t.mu.Unlock()
	next := t.Next
	if next == nil {
		next = http.DefaultTransport
	}
	if base == nil {
		return next.RoundTrip(req)
	}
	u := *req.URL
	if u.Host != base.Host || !strings.HasPrefix(u.Path, fake.PathImagePrefix) {
		u.Path = fake.PathImagePrefix + "remote/" + req.URL.Host + req.URL.Path
		u.RawPath = ""
	}
	u.Scheme, u.Host = base.Scheme, base.Host
	out := req.Clone(req.Context())
	out.URL, out.Host = &u, ""
	return next.RoundTrip(out)
}
