package main

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// machineTicks reads the "cpu" line of /proc/stat field by field: busy is user + nice +
// system, steal the eighth figure.
func TestMachineTicksReadTheCPULine(t *testing.T) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		t.Skip("no /proc/stat here")
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if f[0] != "cpu" || len(f) < 9 {
		t.Skipf("an unexpected /proc/stat: %q", line)
	}
	n := func(i int) int64 { v, _ := strconv.ParseInt(f[i], 10, 64); return v }
	busy, steal := machineTicks()
	// The counters only grow between the two reads, by far less than 1000 ticks (10 s).
	if want := n(1) + n(2) + n(3); busy < want || busy > want+1000 {
		t.Errorf("busy %d, want user+nice+system, %d", busy, want)
	}
	if steal < n(8) || steal > n(8)+1000 {
		t.Errorf("steal %d, want the eighth figure, %d", steal, n(8))
	}
}
