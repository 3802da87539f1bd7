package gateway

import (
	"bytes"
	"os"
	"runtime"
	"testing"
)

// The loops leave the Go scheduler a processor of its own (loopCount), unless GOMAXPROCS says
// how many to use.
func TestLoopsLeaveTheSchedulerAProcessor(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	n := loopCount()
	if os.Getenv("GOMAXPROCS") != "" {
		if n != before || runtime.GOMAXPROCS(0) != before {
			t.Fatalf("GOMAXPROCS=%s: %d loops and %d processors, want %d of each", os.Getenv("GOMAXPROCS"), n, runtime.GOMAXPROCS(0), before)
		}
		return
	}
	if n < 1 || runtime.GOMAXPROCS(0) != n+1 {
		t.Fatalf("%d loops, %d processors: want one processor more than loops", n, runtime.GOMAXPROCS(0))
	}
}

// A loop's copies of heads come from shared chunks: each copy must be its own, its spare room
// too, and what is written into one (the request id in the spare room) must not reach another.
func TestHeadArenaCopiesStayApart(t *testing.T) {
	var a headArena
	type held struct {
		copy []byte
		want []byte
	}
	var all []held
	for i := range 200 { // several chunks' worth
		head := bytes.Repeat([]byte{byte('a' + i%26)}, 100+i%150)
		c := a.copyHead(head, requestIDMax)
		if !bytes.Equal(c, head) || cap(c) != len(head)+requestIDMax {
			t.Fatalf("copy %d: len %d cap %d, want the head (%d) with room for %d", i, len(c), cap(c), len(head), requestIDMax)
		}
		head[0] = '!' // the copy is a copy
		// Fill the spare room, as a generated request id does.
		c = append(c, bytes.Repeat([]byte{'#'}, requestIDMax)...)
		want := append(bytes.Repeat([]byte{byte('a' + i%26)}, 100+i%150), bytes.Repeat([]byte{'#'}, requestIDMax)...)
		all = append(all, held{c, want})
	}
	for i, h := range all {
		if !bytes.Equal(h.copy, h.want) {
			t.Fatalf("copy %d was overwritten by a later one", i)
		}
	}
	// One more byte than the room reallocates instead of writing into the next copy.
	x := a.copyHead([]byte("GET / HTTP/1.1\r\n\r\n"), 4)
	y := a.copyHead([]byte("NEXT"), 0)
	x = append(x, "12345"...)
	if string(y) != "NEXT" || string(x) != "GET / HTTP/1.1\r\n\r\n12345" {
		t.Fatalf("appending past the room: x %q, y %q", x, y)
	}
	// A head too large for the chunks gets its own.
	big := bytes.Repeat([]byte{'z'}, headChunk)
	if c := a.copyHead(big, requestIDMax); !bytes.Equal(c, big) || cap(c) != len(big)+requestIDMax {
		t.Fatalf("a large head: len %d cap %d", len(c), cap(c))
	}
}
