//go:build !linux

package pgstore

import "syscall"

// control does nothing where TCP_USER_TIMEOUT is not available: the
// keepalives alone notice a vanished peer.
func (ka keepalives) control(string, string, syscall.RawConn) error { return nil }
