//go:build !(desktop || dev || bindings)

package main

// desktop is nil in the headless build: it links no WebKit and has no window, so running it
// without a command prints how to start the server.
var desktop func(dataDir string) int
