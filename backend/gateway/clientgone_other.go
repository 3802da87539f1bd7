//go:build !unix

package gateway

import "syscall"

// peekGone cannot peek at a socket without waiting here (Windows has no MSG_DONTWAIT): the
// client counts as present, and a gone one is noticed when its answer is written.
func peekGone(syscall.RawConn) bool { return false }
