//go:build desktop || dev || bindings

package main

import (
	"context"
	_ "embed"
	"fmt"
	"net/http"
	"os"

	"github.com/wailsapp/wails/v2"
	"github.com/wailsapp/wails/v2/pkg/options"
	"github.com/wailsapp/wails/v2/pkg/options/assetserver"
	"github.com/wailsapp/wails/v2/pkg/options/linux"
	"github.com/wailsapp/wails/v2/pkg/runtime"
)

// desktop opens the Keygate window. Nothing here opens the database: binding generation runs
// main with no arguments, so the App opens its store in startup, inside wails.Run.
var desktop = func(dataDir string) int {
	app := NewApp(dataDir)
	err := wails.Run(&options.App{
		Title:     "Keygate",
		Width:     1280,
		Height:    820,
		MinWidth:  960,
		MinHeight: 640,
		AssetServer: &assetserver.Options{
			Assets:  assets,
			Handler: http.HandlerFunc(app.serveAsset),
		},
		BackgroundColour: &options.RGBA{R: 255, G: 255, B: 255, A: 1},
		OnStartup:        app.startup,
		OnDomReady:       app.placeWindow,
		OnBeforeClose:    app.rememberWindow,
		OnShutdown:       app.shutdown,
		Linux:            &linux.Options{ProgramName: "keygate", Icon: appIcon},
		Bind:             []interface{}{app},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "keygate: %v\n", err)
		return 1
	}
	return 0
}

// placeWindow puts the window where it was when the app last closed, if that still fits on a
// screen; otherwise the window keeps its default size, centred.
func (a *App) placeWindow(ctx context.Context) {
	p, ok := a.windowPlacement()
	if !ok {
		return
	}
	runtime.WindowSetSize(ctx, p.Width, p.Height)
	if onScreen(ctx, p) {
		runtime.WindowSetPosition(ctx, p.X, p.Y)
	} else {
		runtime.WindowCenter(ctx)
	}
}

// onScreen reports whether at least a corner of the window's title bar area would be on a
// screen (a monitor unplugged since must not leave the window out of reach). Wails reports
// screen sizes, not their origins: the test is against the largest screen at the origin.
func onScreen(ctx context.Context, p placement) bool {
	screens, err := runtime.ScreenGetAll(ctx)
	if err != nil || len(screens) == 0 {
		return false
	}
	for _, s := range screens {
		w, h := s.Size.Width, s.Size.Height
		if p.X+100 <= w && p.X+p.Width >= 100 && p.Y >= 0 && p.Y+40 <= h {
			return true
		}
	}
	return false
}

// rememberWindow keeps the window's size and position for the next run; it never stops the
// window from closing.
func (a *App) rememberWindow(ctx context.Context) bool {
	if !runtime.WindowIsMinimised(ctx) && !runtime.WindowIsMaximised(ctx) && !runtime.WindowIsFullscreen(ctx) {
		w, h := runtime.WindowGetSize(ctx)
		x, y := runtime.WindowGetPosition(ctx)
		a.saveWindowPlacement(placement{X: x, Y: y, Width: w, Height: h})
	}
	return false
}

//go:embed build/appicon.png
var appIcon []byte

// saveDialog shows the native "save as" dialog and returns the chosen path ("" if cancelled).
func saveDialog(ctx context.Context, name string) (string, error) {
	return runtime.SaveFileDialog(ctx, runtime.SaveDialogOptions{
		DefaultFilename:      name,
		Title:                "Save OpenAPI document",
		CanCreateDirectories: true,
	})
}

// emitEvent sends a Wails event to the window (the live request log, app_follow.go).
var emitEvent = func(ctx context.Context, name string, data any) { runtime.EventsEmit(ctx, name, data) }

// saveFileDialog shows the native "save as" dialog with a title; "" if cancelled.
func saveFileDialog(ctx context.Context, name, title string) (string, error) {
	return runtime.SaveFileDialog(ctx, runtime.SaveDialogOptions{
		DefaultFilename:      name,
		Title:                title,
		CanCreateDirectories: true,
	})
}
