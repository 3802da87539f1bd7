package cli

import (
	"bytes"
	"strings"
	"testing"
)

// TestProgressOnlyOnATerminal: piped or redirected (not a terminal) a long action draws
// nothing; on a terminal the bar shows its label and count and clears its line at the end.
func TestProgressOnlyOnATerminal(t *testing.T) {
	var piped bytes.Buffer
	report, done := newProgress(&piped, false, "Copying", false)
	report(0, 10)
	report(10, 10)
	done()
	if piped.Len() != 0 {
		t.Fatalf("progress written when not on a terminal: %q", piped.String())
	}
	if isTerminal(&piped) {
		t.Fatal("a buffer is a terminal")
	}

	var tty bytes.Buffer
	report, done = newProgress(&tty, true, "Copying", false)
	report(0, 1000)
	report(400, 1000)
	report(1000, 1000)
	done()
	out := tty.String()
	if !strings.Contains(out, "Copying") || !strings.Contains(out, "/1000)") {
		t.Fatalf("bar: %q", out)
	}
	if !strings.HasSuffix(out, "\x1b[2K\r") {
		t.Fatalf("the bar's line is not cleared at the end: %q", out)
	}

	var bytesBar bytes.Buffer
	report, done = newProgress(&bytesBar, true, "Backing up", true)
	report(512<<10, 1<<20)
	report(1<<20, 1<<20)
	done()
	if !strings.Contains(bytesBar.String(), "Backing up") || !strings.Contains(bytesBar.String(), "50%") {
		t.Fatalf("byte units: %q", bytesBar.String())
	}
}
