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
