package pgstore

import (
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// control sets TCP_USER_TIMEOUT on a TCP socket: data the peer does not
// acknowledge within it ends the connection, where without it the kernel
// retransmits for about fifteen minutes.
func (ka keepalives) control(network, _ string, c syscall.RawConn) error {
	if ka.userTimeout <= 0 || !strings.HasPrefix(network, "tcp") {
		return nil
	}
	var serr error
	if err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, int(ka.userTimeout.Milliseconds()))
	}); err != nil {
		return err
	}
	return serr
}
