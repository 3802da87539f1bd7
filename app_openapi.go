package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/keygate/keygate/backend/openapi"
)

// The desktop window's OpenAPI methods. They are not console operations (the browser fetches
// /openapi/… from the console instead), so app_test.go lists them as desktop-only.

// GenerateOpenAPI returns the console or gateway document ("console", "gateway") as JSON or
// YAML text for the docs viewer, with Keygate's own texts in lang ("" is English).
func (a *App) GenerateOpenAPI(api, format, lang string) (string, error) {
	if a.docs == nil {
		return "", errors.New("keygate is not ready")
	}
	f, err := openapi.ParseFormat(format)
	if err != nil {
		return "", err
	}
	b, _, err := a.docs.Generate(a.ctx, api, f, lang)
	return string(b), err
}

// SaveOpenAPI asks where to save a document with the native "save as" dialog and writes it
// there, in English as every export is. It returns the chosen path, or "" when the user
// cancelled.
func (a *App) SaveOpenAPI(api, format string) (string, error) {
	text, err := a.GenerateOpenAPI(api, format, "")
	if err != nil {
		return "", err
	}
	path, err := saveDialog(a.ctx, fmt.Sprintf("keygate-%s.%s", api, format))
	if err != nil || path == "" {
		return "", err
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		return "", fmt.Errorf("save %s: %w", path, err)
	}
	return path, nil
}
