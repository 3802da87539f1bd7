//go:build unix

package gateway

import "syscall"

// CloseWrite ends the connection's sending side (a WebSocket tunnel passes on the upstream's).
func (hc *handConn) CloseWrite() error {
	return syscall.Shutdown(hc.c.Fd(), syscall.SHUT_WR)
}
