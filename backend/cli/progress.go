package cli

import (
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/keygate/keygate/backend/store"
)

// Progress returns a store.Progress that draws a progress bar for a long action (store copy,
// backup, restore, key import) on the command's standard error, and the function that ends it
// (the bar's line is cleared, so the command's own result follows on a clean line). The bar
// shows only on a terminal: piped, redirected or with --json (quiet) nothing is drawn, so
// scripts read exactly what they read before. label is already localized; bytes says the
// units are bytes (else a count such as rows or keys).
func (e *Env) Progress(label string, bytes, quiet bool) (store.Progress, func()) {
	return newProgress(e.Stderr, !quiet && isTerminal(e.Stderr), label, bytes)
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// newProgress is Progress with the terminal decision made.
func newProgress(w io.Writer, tty bool, label string, bytes bool) (store.Progress, func()) {
	if !tty {
		return func(int64, int64) {}, func() {}
	}
	opts := []progressbar.Option{
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(label),
		progressbar.OptionSetWidth(28),
		progressbar.OptionThrottle(100 * time.Millisecond),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionUseANSICodes(true),
	}
	if bytes {
		opts = append(opts, progressbar.OptionShowBytes(true))
	} else {
		opts = append(opts, progressbar.OptionShowCount())
	}
	var mu sync.Mutex
	var bar *progressbar.ProgressBar
	report := func(done, total int64) {
		mu.Lock()
		defer mu.Unlock()
		if bar == nil {
			max := total
			if max <= 0 {
				max = -1 // unknown: a spinner
			}
			bar = progressbar.NewOptions64(max, opts...)
		} else if total > 0 && bar.GetMax64() != total {
			bar.ChangeMax64(total)
		}
		bar.Set64(done)
	}
	end := func() {
		mu.Lock()
		defer mu.Unlock()
		if bar != nil {
			bar.Finish()
			bar.Exit()
		}
	}
	return report, end
}
