package drawings

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"sync"
	"syscall"
	"time"
)

// Reach says which addresses a Fetcher may connect to.
type Reach uint8

const (
	// PublicOnly admits public addresses only: what an image link of the
	// API or of a spec may lead to.
	PublicOnly Reach = iota
	// WithLoopback admits loopback addresses too: the sandbox's simulation
	// and tests serve images there.
	WithLoopback
)

// RefusedError is a connection a Fetcher would not make: to an address
// that is not public.
type RefusedError struct {
	Host string     // as the link or redirect names it
	Addr netip.Addr // what it resolved to
	What string     // "link-local", "private", …
}

func (e *RefusedError) Error() string {
	at := e.Host
	if h, _, err := net.SplitHostPort(e.Host); err == nil {
		at = h
	}
	if at == e.Addr.String() {
		return fmt.Sprintf("%s is a %s address; image links are fetched from public addresses only", at, e.What)
	}
	return fmt.Sprintf("%s resolves to %s, a %s address; image links are fetched from public addresses only", e.Host, e.Addr, e.What)
}

// notPublic holds the address ranges no image link may lead to, with what
// they are. Loopback comes first: Reach may admit it.
var notPublic = []struct {
	prefix netip.Prefix
	what   string
}{
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	{netip.MustParsePrefix("0.0.0.0/8"), "unspecified"},
	{netip.MustParsePrefix("::/128"), "unspecified"},
	{netip.MustParsePrefix("10.0.0.0/8"), "private"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private"},
	{netip.MustParsePrefix("fc00::/7"), "private"},             // AWS's metadata service fd00:ec2::254 too
	{netip.MustParsePrefix("100.64.0.0/10"), "shared (CGNAT)"}, // Alibaba Cloud's metadata service too
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},    // the metadata service of most clouds
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("192.0.0.0/24"), "reserved"}, // Oracle Cloud's metadata service too
	{netip.MustParsePrefix("198.18.0.0/15"), "reserved"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"}, // and the broadcast address
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
}

// nat64 is the well-known NAT64 prefix, whose addresses reach the IPv4
// address in their last four bytes.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// refuses says what kind of address a is when r does not admit it, ""
// when it does.
func (r Reach) refuses(a netip.Addr) string {
	a = a.Unmap()
	if nat64.Contains(a) {
		b := a.As16()
		a = netip.AddrFrom4([4]byte(b[12:]))
	}
	for _, n := range notPublic {
		if n.prefix.Contains(a) {
			if n.what == "loopback" && r == WithLoopback {
				return ""
			}
			return n.what
		}
	}
	return ""
}

// guard checks the connections of a Fetcher's transport.
type guard struct {
	reach Reach
	// env is the proxy of a request the environment names
	// (http.ProxyFromEnvironment).
	env     func(*http.Request) (*url.URL, error)
	proxies sync.Map // host:port of the proxies env named: dialled unchecked
}

// dial connects to addr, checking each address its host resolves to just
// before connecting to it: what is checked is what is connected to.
func (g *guard) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	if _, ok := g.proxies.Load(addr); !ok {
		d.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return err
			}
			if what := g.reach.refuses(ap.Addr()); what != "" {
				return &RefusedError{Host: addr, Addr: ap.Addr(), What: what}
			}
			return nil
		}
	}
	return d.DialContext(ctx, network, addr)
}

// proxy is the environment's proxy for req (HTTPS_PROXY, HTTP_PROXY,
// NO_PROXY). A request through it is checked before it goes: its host,
// resolved here, must be public. A host that does not resolve here is left
// to the proxy, which is the user's own.
func (g *guard) proxy(req *http.Request) (*url.URL, error) {
	p, err := g.env(req)
	if p == nil || err != nil {
		return p, err
	}
	host := req.URL.Hostname()
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else if found, err := net.DefaultResolver.LookupNetIP(req.Context(), "ip", host); err == nil {
		addrs = found
	}
	for _, a := range addrs {
		if what := g.reach.refuses(a); what != "" {
			return nil, &RefusedError{Host: req.URL.Host, Addr: a, What: what}
		}
	}
	port := p.Port()
	if port == "" {
		port = map[string]string{"https": "443", "socks5": "1080"}[p.Scheme]
		if port == "" {
			port = "80"
		}
	}
	g.proxies.Store(net.JoinHostPort(p.Hostname(), port), true)
	return p, nil
}
