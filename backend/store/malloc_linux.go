//go:build linux && cgo

package store

/*
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEYGATE_MALLOC_ARENAS 2

// keygate_limit_arenas caps glibc's malloc arenas (other C libraries have no such option)
// unless the environment sets the cap. It runs as the program is loaded, before the Go
// runtime starts its threads: an arena a thread has taken stays.
__attribute__((constructor)) static void keygate_limit_arenas(void) {
#ifdef M_ARENA_MAX
	const char *tunables = getenv("GLIBC_TUNABLES");
	if (getenv("MALLOC_ARENA_MAX") == NULL && (tunables == NULL || strstr(tunables, "arena_max") == NULL))
		mallopt(M_ARENA_MAX, KEYGATE_MALLOC_ARENAS);
#endif
}

// keygate_arenas counts the arenas malloc_info reports (glibc), or returns -1.
static int keygate_arenas(void) {
#ifdef M_ARENA_MAX
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (f == NULL) return -1;
	if (malloc_info(0, f) != 0) { fclose(f); free(buf); return -1; }
	fclose(f);
	int n = 0;
	for (char *p = buf; (p = strstr(p, "<heap nr=")) != NULL; p++) n++;
	free(buf);
	return n;
#else
	return -1;
#endif
}
*/
import "C"

// mallocArenas is how many malloc arenas the C side may use (keygate_limit_arenas, above).
// SQLite is called from whichever of the Go runtime's threads runs the goroutine, and glibc
// gives each new thread an arena of its own, up to eight per core: each keeps the pages
// SQLite's page caches and statements once used, so the C heap was 6.1–6.4 MiB after a
// minute of gateway load where two arenas hold it in 3.4–4.6 MiB (docs/performance.md,
// "Memory"). SQLite's writes go through one connection, so two arenas are not a point of
// contention. MALLOC_ARENA_MAX or glibc.malloc.arena_max in the environment still wins.
const mallocArenas = C.KEYGATE_MALLOC_ARENAS

// cArenas is the number of malloc arenas in use, or -1 where it cannot be told (tests).
func cArenas() int { return int(C.keygate_arenas()) }

// cMallocOnThisThread allocates and frees a block with C's malloc, so that the calling
// thread takes an arena (tests).
func cMallocOnThisThread() { C.free(C.malloc(1 << 10)) }
