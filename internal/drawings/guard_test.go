package drawings

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestReachRefuses(t *testing.T) {
	for _, tc := range []struct {
		addr  string
		reach Reach
		want  string
	}{
		{"93.184.216.34", PublicOnly, ""},
		{"8.8.8.8", PublicOnly, ""},
		{"2606:4700:4700::1111", PublicOnly, ""},
		{"127.0.0.1", PublicOnly, "loopback"},
		{"127.3.2.1", PublicOnly, "loopback"},
		{"::1", PublicOnly, "loopback"},
		{"127.0.0.1", WithLoopback, ""},
		{"::1", WithLoopback, ""},
		{"169.254.169.254", WithLoopback, "link-local"},
		{"fe80::1", PublicOnly, "link-local"},
		{"10.1.2.3", WithLoopback, "private"},
		{"172.16.0.1", PublicOnly, "private"},
		{"172.31.255.255", PublicOnly, "private"},
		{"172.32.0.1", PublicOnly, ""},
		{"192.168.1.1", PublicOnly, "private"},
		{"fd00:ec2::254", PublicOnly, "private"},
		{"100.64.0.1", PublicOnly, "shared (CGNAT)"},
		{"100.100.100.200", PublicOnly, "shared (CGNAT)"},
		{"100.128.0.1", PublicOnly, ""},
		{"0.0.0.0", WithLoopback, "unspecified"},
		{"::", WithLoopback, "unspecified"},
		{"192.0.0.192", PublicOnly, "reserved"},
		{"255.255.255.255", PublicOnly, "reserved"},
		{"224.0.0.1", PublicOnly, "multicast"},
		{"ff02::1", PublicOnly, "multicast"},
		{"::ffff:10.0.0.1", PublicOnly, "private"},
		{"::ffff:127.0.0.1", WithLoopback, ""},
		{"64:ff9b::a9fe:a9fe", PublicOnly, "link-local"}, // 169.254.169.254 through NAT64
		{"64:ff9b::5db8:d822", PublicOnly, ""},
	} {
		if got := tc.reach.refuses(netip.MustParseAddr(tc.addr)); got != tc.want {
			t.Errorf("Reach %d refuses %s as %q, want %q", tc.reach, tc.addr, got, tc.want)
		}
	}
}

// countingServer counts the requests that reach it.
func countingServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// TestFetchRefusesWhatIsNotPublic checks that a link to loopback is not
// fetched unless the fetcher admits loopback, by its address or by a name
// that resolves to it, and that nothing reaches the server.
func TestFetchRefusesWhatIsNotPublic(t *testing.T) {
	png := encode(t, lines(100, 80), PNG)
	srv, hits := countingServer(t, func(w http.ResponseWriter, r *http.Request) { w.Write(png) })
	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]
	f := &Fetcher{Timeout: 5 * time.Second}
	for _, link := range []string{srv.URL + "/a.png", "http://localhost:" + port + "/a.png"} {
		_, err := f.Download(t.Context(), link+"?X-Amz-Signature=secret", Validators{})
		var refused *RefusedError
		if !errors.As(err, &refused) || refused.What != "loopback" || !strings.Contains(err.Error(), "public addresses only") {
			t.Errorf("%s: err = %v, want a refused loopback address", link, err)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("the error shows the presigned link: %v", err)
		}
	}
	if _, err := f.Download(t.Context(), "http://localhost:"+port+"/a.png", Validators{}); err == nil || !strings.Contains(err.Error(), "localhost:"+port+" resolves to") {
		t.Errorf("a name that resolves to loopback is not named with what it resolved to: %v", err)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("%d requests reached the loopback server", n)
	}
	admitted := &Fetcher{Reach: WithLoopback, Timeout: 5 * time.Second}
	if a, err := admitted.Download(t.Context(), srv.URL+"/a.png", Validators{}); err != nil || len(a.Body) != len(png) {
		t.Errorf("with loopback admitted: %d bytes, %v", len(a.Body), err)
	}
}

// TestFetchChecksRedirects checks that every hop of a redirect is checked
// where it connects, and that an error names the host that failed: the
// redirect's, not the link's.
func TestFetchChecksRedirects(t *testing.T) {
	png := encode(t, lines(100, 80), PNG)
	other, otherHits := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ok.png" {
			w.Write(png)
			return
		}
		http.NotFound(w, r)
	})
	otherHost := "localhost:" + other.URL[strings.LastIndex(other.URL, ":")+1:]
	to := map[string]string{
		"/metadata": "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
		"/private":  "http://10.0.0.7:8080/internal.png",
		"/v6":       "http://[fd00:ec2::254]/latest/meta-data/",
		"/ftp":      "ftp://files.example/a.png",
		"/gone":     "http://" + otherHost + "/gone.png",
		"/ok":       "http://" + otherHost + "/ok.png",
		"/loop":     "/loop",
	}
	first, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, to[r.URL.Path], http.StatusFound)
	})
	f := &Fetcher{Reach: WithLoopback, Timeout: 5 * time.Second}
	for path, want := range map[string]string{
		"/metadata": "169.254.169.254 is a link-local address",
		"/private":  "10.0.0.7 is a private address",
		"/v6":       "fd00:ec2::254 is a private address",
		"/ftp":      "not an http or https link",
		"/gone":     "HTTP 404 Not Found from " + otherHost,
		"/loop":     "more than 10 redirects",
	} {
		_, err := f.Download(t.Context(), first.URL+path+"?X-Amz-Signature=secret", Validators{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want it to say %q", path, err, want)
		}
		if err != nil && (strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "meta-data")) {
			t.Errorf("%s: the error shows a link: %v", path, err)
		}
	}
	a, err := f.Download(t.Context(), first.URL+"/ok", Validators{})
	if err != nil || a.Host != otherHost || len(a.Body) != len(png) {
		t.Errorf("a redirect that works: host %q, %d bytes, %v", a.Host, len(a.Body), err)
	}
	if n := otherHits.Load(); n != 2 {
		t.Errorf("the redirects' server got %d requests, want 2", n)
	}

	// A fetcher of public addresses only refuses the first hop already.
	_, err = (&Fetcher{Timeout: 5 * time.Second}).Download(t.Context(), first.URL+"/ok", Validators{})
	if !strings.Contains(err.Error(), "loopback") {
		t.Errorf("a link to loopback: %v", err)
	}
}

// TestFetchThroughProxy checks a proxy from the environment: the link's
// host is checked before the request goes to the proxy, which is itself
// connected to unchecked (it is the user's own).
func TestFetchThroughProxy(t *testing.T) {
	png := encode(t, lines(100, 80), PNG)
	var asked atomic.Value
	proxy, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		asked.Store(r.URL.String()) // a proxy is asked for the absolute URL
		w.Write(png)
	})
	proxyURL, _ := url.Parse(proxy.URL)
	g := &guard{reach: PublicOnly, env: func(*http.Request) (*url.URL, error) { return proxyURL, nil }}
	tr := &http.Transport{Proxy: g.proxy, DialContext: g.dial}
	t.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr}

	get := func(link string) error {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, link, nil)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	if err := get("http://93.184.216.34/a.png"); err != nil || asked.Load() != "http://93.184.216.34/a.png" {
		t.Errorf("a public address through the proxy: %v (the proxy was asked for %v)", err, asked.Load())
	}
	for _, link := range []string{"http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:9/a.png", "http://localhost/a.png"} {
		var refused *RefusedError
		if err := get(link); !errors.As(err, &refused) {
			t.Errorf("%s through the proxy: err = %v, want it refused", link, err)
		}
	}
}

// TestDialChecksWhatItConnects checks the dialler on its own: a refused
// address gets no connection at all (the first connection the listener
// accepts is the admitted one).
func TestDialChecksWhatItConnects(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	first := make(chan net.Addr, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			first <- c.RemoteAddr()
			c.Close()
		}
	}()
	g := &guard{reach: PublicOnly}
	if c, err := g.dial(t.Context(), "tcp", ln.Addr().String()); err == nil {
		c.Close()
		t.Fatal("dialled a loopback address")
	}
	g.reach = WithLoopback
	c, err := g.dial(t.Context(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := <-first; got.String() != c.LocalAddr().String() {
		t.Errorf("the first connection came from %s, the admitted one from %s", got, c.LocalAddr())
	}
}
