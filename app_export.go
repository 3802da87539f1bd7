package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// SaveExport asks where to save an export of a screen (the request or audit log as CSV or
// NDJSON, the organization's keys as Keygate's JSON file, made by the window) with the native "save as" dialog and writes content there. It
// returns the chosen path, or "" when the user cancelled. name is only the suggested file name.
func (a *App) SaveExport(name, content string) (string, error) {
	if a.ctx == nil {
		return "", errors.New("keygate is not ready")
	}
	name = filepath.Base(name)
	if !strings.HasSuffix(name, ".csv") && !strings.HasSuffix(name, ".ndjson") && !strings.HasSuffix(name, ".json") {
		return "", fmt.Errorf("export %q: the name must end in .csv, .ndjson or .json", name)
	}
	path, err := saveFileDialog(a.ctx, name, "Save export")
	if err != nil || path == "" {
		return "", err
	}
	// 0600: a request or audit log names keys, users and addresses; a key export holds hashes.
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		return "", fmt.Errorf("save %s: %w", path, err)
	}
	return path, nil
}
