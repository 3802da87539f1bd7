package main

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// cpuStat reads the "cpu" line of /proc/stat field by field: machineTicks is user + nice +
// system, stealTicks the eighth figure.
func TestCPUStatReadsTheCPULine(t *testing.T) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		t.Skip("no /proc/stat here")
	}
	line, _, _ := strings.Cut(string(b), "\n")
	fields := strings.Fields(line)
	if fields[0] != "cpu" || len(fields) < 9 {
		t.Skipf("an unexpected /proc/stat: %q", line)
	}
	want := func(i int) int64 { n, _ := strconv.ParseInt(fields[i], 10, 64); return n }
	f := cpuStat()
	// The counters only grow between the two reads.
	for i := 1; i < 9; i++ {
		if f[i] < want(i) {
			t.Errorf("field %d: %d, /proc/stat said %d before", i, f[i], want(i))
		}
	}
	if m := machineTicks(); m < f[1]+f[2]+f[3] || m <= 0 {
		t.Errorf("machineTicks %d, want user+nice+system ≥ %d", m, f[1]+f[2]+f[3])
	}
	if s := stealTicks(); s < f[8] {
		t.Errorf("stealTicks %d, want the steal field ≥ %d", s, f[8])
	}
}
