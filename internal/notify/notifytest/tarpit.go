// Package notifytest holds what the tests of notification delivery share:
// servers that misbehave as real ones do.
package notifytest

import (
	"errors"
	"io"
	"net"
	"slices"
	"sync"
	"testing"
	"time"
)

// Tarpit is a server that accepts connections on loopback and never
// answers, as an overloaded or hostile SMTP server does. It closes every
// connection when the test ends.
type Tarpit struct {
	Addr  string // host:port
	mu    sync.Mutex
	conns []net.Conn
}

// NewTarpit starts a tarpit for the test t.
func NewTarpit(t testing.TB) *Tarpit {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tp := &Tarpit{Addr: l.Addr().String()}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			tp.mu.Lock()
			tp.conns = append(tp.conns, c)
			tp.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		tp.mu.Lock()
		defer tp.mu.Unlock()
		for _, c := range tp.conns {
			c.Close()
		}
	})
	return tp
}

// Sockets counts the connections the other end opened, and those it has
// not closed. One it closed has its end of file waiting at the tarpit
// already; one it left open is found by a read that waits out wait. A
// read that fails otherwise is the error.
func (tp *Tarpit) Sockets(wait time.Duration) (opened, open int, err error) {
	tp.mu.Lock()
	conns := slices.Clone(tp.conns)
	tp.mu.Unlock()
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(wait))
		if _, err := io.Copy(io.Discard, c); err != nil {
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				return 0, 0, err
			}
			open++
		}
	}
	return len(conns), open, nil
}
