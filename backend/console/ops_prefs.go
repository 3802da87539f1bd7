package console

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/keygate/keygate/backend/auth"
	"github.com/keygate/keygate/backend/i18n"
)

// LangInput names a language.
type LangInput struct {
	Lang string `json:"lang"`
}

// Preferences are a user's display choices, and the languages to choose from.
type Preferences struct {
	// Language is a shipped language tag, or "" to follow the browser or OS.
	Language string `json:"language"`
	// Theme is system, light or dark.
	Theme     string          `json:"theme" enum:"system,light,dark"`
	Languages []i18n.Language `json:"languages"`
}

// PreferencesInput saves display choices.
type PreferencesInput struct {
	Language string `json:"language" doc:"A shipped language tag, or empty to follow the browser or OS."`
	Theme    string `json:"theme" enum:"system,light,dark"`
}

// The desktop has no account, so its preferences are settings rows.
const (
	settingLanguage = "console.language"
	settingTheme    = "console.theme"
)

func (s *Service) getCatalog(_ context.Context, _ *Call, in *LangInput) (i18n.Catalog, error) {
	return s.I18n.Catalog(in.Lang), nil
}

func (s *Service) getPreferences(ctx context.Context, c *Call, _ *NoInput) (Preferences, error) {
	if c.Principal.Local {
		return s.desktopPreferences(ctx)
	}
	u, err := s.Auth.User(ctx, c.Principal.UserID)
	if err != nil {
		return Preferences{}, err
	}
	return Preferences{Language: u.Language, Theme: u.Theme, Languages: i18n.Languages()}, nil
}

func (s *Service) updatePreferences(ctx context.Context, c *Call, in *PreferencesInput) (Preferences, error) {
	lang := ""
	if in.Language != "" {
		if !i18n.Supported(in.Language) {
			return Preferences{}, invalid("language", "invalid", "validation.language.invalid", nil)
		}
		lang = i18n.Match(in.Language)
	}
	theme := in.Theme
	if theme == "" {
		theme = "system"
	}
	if c.Principal.Local {
		if err := auth.CheckTheme(theme); err != nil {
			return Preferences{}, err
		}
		err := s.Store.Tx(ctx, func(tx *sql.Tx) error {
			const up = `INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value`
			if _, err := tx.ExecContext(ctx, up, settingLanguage, lang); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, up, settingTheme, theme)
			return err
		})
		if err != nil {
			return Preferences{}, fmt.Errorf("save preferences: %w", err)
		}
		return s.desktopPreferences(ctx)
	}
	u, err := s.Auth.SetPreferences(ctx, c.Principal.UserID, lang, theme)
	if err != nil {
		return Preferences{}, err
	}
	return Preferences{Language: u.Language, Theme: u.Theme, Languages: i18n.Languages()}, nil
}

func (s *Service) desktopPreferences(ctx context.Context) (Preferences, error) {
	p := Preferences{Theme: "system", Languages: i18n.Languages()}
	for name, dst := range map[string]*string{settingLanguage: &p.Language, settingTheme: &p.Theme} {
		err := s.Store.Read.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = ?`, name).Scan(dst)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return Preferences{}, fmt.Errorf("read preferences: %w", err)
		}
	}
	return p, nil
}

// desktopLanguage is the language of the desktop's problem details.
func (s *Service) desktopLanguage(ctx context.Context) string {
	p, err := s.desktopPreferences(ctx)
	if err != nil {
		return i18n.FromEnv()
	}
	return i18n.Match(p.Language, i18n.FromEnv())
}
