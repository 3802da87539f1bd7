//go:build unix

package gateway

import "syscall"

// peekGone peeks at the socket without waiting: the end of the stream, or a reset, means the
// peer closed its side.
func peekGone(rc syscall.RawConn) bool {
	gone := false
	rc.Control(func(fd uintptr) {
		var b [1]byte
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		gone = n == 0 && err == nil || err == syscall.ECONNRESET
	})
	return gone
}
