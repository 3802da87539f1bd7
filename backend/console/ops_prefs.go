package console

import (
	"context"
	"fmt"

	"github.com/keygate/keygate/backend/auth"
	"github.com/keygate/keygate/backend/i18n"
	"github.com/keygate/keygate/backend/settings"
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

// The desktop has no account, so its preferences are settings (package settings keeps them).

func (s *Service) getCatalog(_ context.Context, _ *Call, in *LangInput) (i18n.Catalog, error) {
	return s.bundle().Catalog(in.Lang), nil
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
		err := settings.New(s.Store).Set(ctx, map[string]string{settings.DesktopLanguage: lang, settings.DesktopTheme: theme})
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
	vals, err := settings.New(s.Store).Get(ctx, settings.DesktopLanguage, settings.DesktopTheme)
	if err != nil {
		return Preferences{}, fmt.Errorf("read preferences: %w", err)
	}
	if v, ok := vals[settings.DesktopLanguage]; ok {
		p.Language = v
	}
	if v, ok := vals[settings.DesktopTheme]; ok {
		p.Theme = v
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
