//go:build linux && cgo

package store

import (
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// TestMallocArenasAreCapped: C allocations made on many threads at once (as SQLite's are, on
// whichever thread runs the goroutine) share at most mallocArenas arenas, instead of glibc's
// default of a new one per thread up to eight per core.
func TestMallocArenasAreCapped(t *testing.T) {
	if cArenas() < 0 {
		t.Skip("malloc_info is glibc's")
	}
	if os.Getenv("MALLOC_ARENA_MAX") != "" || strings.Contains(os.Getenv("GLIBC_TUNABLES"), "arena_max") {
		t.Skip("the environment sets the cap")
	}
	const threads = 12
	var ready, done sync.WaitGroup
	ready.Add(threads)
	done.Add(threads)
	release := make(chan struct{})
	for range threads {
		go func() {
			defer done.Done()
			runtime.LockOSThread() // a thread of its own until it returns, then gone
			defer runtime.UnlockOSThread()
			cMallocOnThisThread()
			ready.Done()
			<-release // all threads alive at once, so none inherits another's freed arena
		}()
	}
	ready.Wait()
	n := cArenas()
	close(release)
	done.Wait()
	if n > mallocArenas {
		t.Fatalf("%d malloc arenas after C allocations on %d threads, want at most %d", n, threads, mallocArenas)
	}
	t.Logf("%d arenas for %d threads", n, threads)
}
