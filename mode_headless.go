//go:build !(desktop || dev || bindings)

package main

import (
	"context"
	"errors"
)

// desktop is nil in the headless build: it links no WebKit and has no window, so running it
// without a command prints how to start the server.
var desktop func(dataDir string) int

// saveDialog has no window to show in the headless build.
func saveDialog(context.Context, string) (string, error) {
	return "", errors.New("no window: the headless build cannot show a save dialog")
}

// emitEvent has no window to send to in the headless build (tests replace it).
var emitEvent = func(context.Context, string, any) {}

// saveFileDialog has no window to show in the headless build.
func saveFileDialog(context.Context, string, string) (string, error) {
	return "", errors.New("no window: the headless build cannot show a save dialog")
}
