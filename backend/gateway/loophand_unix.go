//go:build unix

package gateway

import (
	"syscall"

	"github.com/panjf2000/gnet/v2"
)

// CloseWrite ends the connection's sending side (a WebSocket tunnel passes on the upstream's).
// It runs on the loop, after what was written before it, and only while the connection is
// open there: once gnet has closed it, its descriptor may belong to another connection.
func (hc *handConn) CloseWrite() error {
	done := make(chan error, 1)
	if err := hc.c.AsyncWrite(nil, func(c gnet.Conn, err error) error {
		if err == nil {
			err = syscall.Shutdown(c.Fd(), syscall.SHUT_WR)
		}
		done <- err
		return nil
	}); err != nil {
		return err
	}
	select {
	case err := <-done:
		return err
	case <-hc.quit:
		return syscall.EPIPE
	}
}
