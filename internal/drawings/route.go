package drawings

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/patwatch/patwatch/internal/patsnap/fake"
)

// Route returns where a request for link goes instead; link itself when
// nowhere else.
type Route func(link *url.URL) *url.URL

// Sandbox sends every link, from the next fetch on, to the sandbox whose
// API root is baseURL (on loopback, which it admits): its simulation draws
// a picture for any path, so that a sandbox run makes no request to the
// network.
func (f *Fetcher) Sandbox(baseURL string) {
	if base, err := url.Parse(baseURL); err == nil {
		f.Route, f.Reach = SandboxRoute(base), WithLoopback
	}
}

// SandboxRoute sends every link to the sandbox whose API root is base. Its
// simulation draws a picture for any path under fake.PathImagePrefix; a
// link to another host goes under /fake-images/remote/<host>/….
func SandboxRoute(base *url.URL) Route {
	return func(link *url.URL) *url.URL {
		u := *link
		if u.Host != base.Host || !strings.HasPrefix(u.Path, fake.PathImagePrefix) {
			u.Path = fake.PathImagePrefix + "remote/" + link.Host + link.Path
			u.RawPath = ""
		}
		u.Scheme, u.Host = base.Scheme, base.Host
		return &u
	}
}

// routed sends each request where its route says.
type routed struct {
	route Route
	next  http.RoundTripper
}

func (t routed) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.route == nil {
		return t.next.RoundTrip(req)
	}
	out := req.Clone(req.Context())
	out.URL, out.Host = t.route(req.URL), ""
	return t.next.RoundTrip(out)
}
