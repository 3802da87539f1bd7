package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/keygate/keygate/backend/console"
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

// chooseSavePath asks where to save a file (the native dialog; tests replace it).
var chooseSavePath = saveFileDialog

// saveFile saves the file a download operation made (a backup) with the native "save as"
// dialog and deletes the temporary one. The window's fetch could read it too, but its bytes
// would then cross the bridge as text; here they go from disk to disk. Path in the answer is
// where it went, "" when the user cancelled.
func (a *App) saveFile(f console.File, err error) (console.File, error) {
	if err != nil {
		return console.File{}, err
	}
	defer f.Close()
	path, err := chooseSavePath(a.ctx, f.Name, "Save backup")
	if err != nil || path == "" {
		return console.File{Name: f.Name, Size: f.Size}, err
	}
	if err := copyFile(f, path); err != nil {
		return console.File{}, err
	}
	return console.File{Name: f.Name, Size: f.Size, Path: path}, nil
}

// copyFile writes f's content to path, 0600 (a backup holds every key's hash and the request
// log), through a temporary file beside it so that path is never left half written.
func copyFile(f console.File, path string) error {
	src, err := f.Open()
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if err := tmp.Chmod(0o600); err == nil {
		_, err = io.Copy(tmp, src)
		if err == nil {
			err = tmp.Sync()
		}
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp.Name(), path)
		}
	} else {
		tmp.Close()
	}
	if err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	return nil
}
