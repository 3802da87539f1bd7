package routes

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/keygate/keygate/backend/problem"
)

// DefaultUpstreamTimeout is how long the gateway waits for an upstream's response headers.
const DefaultUpstreamTimeout = 30 * time.Second

const (
	settingOrigins = "gateway.allowed_origins"
	settingTimeout = "gateway.upstream_timeout_ms"
)

var (
	// ErrInvalidOrigin means an allowed origin is not scheme://host[:port].
	ErrInvalidOrigin error = &problem.Invalid{Field: "allowedOrigins", Code: "invalid", Msg: "validation.settings.origin.invalid",
		Text: "allowed origin must be scheme://host[:port] with no path, such as https://app.example.com"}
	// ErrInvalidTimeout means an upstream timeout outside 1 s to 10 min.
	ErrInvalidTimeout error = &problem.Invalid{Field: "upstreamTimeoutSeconds", Code: "range", Msg: "validation.settings.timeout.range",
		Text: "upstream timeout must be between 1s and 10m"}
)

// Settings are the gateway-wide options stored beside the routes.
type Settings struct {
	// AllowedOrigins are the exact browser origins CORS admits (besides the console's own).
	AllowedOrigins []string `json:"allowedOrigins"`
	// UpstreamTimeout bounds the wait for an upstream's response headers.
	UpstreamTimeout time.Duration `json:"-"`
}

// Settings reads the stored settings, with defaults for what was never set.
func (s *Service) Settings(ctx context.Context) (Settings, error) {
	out := Settings{AllowedOrigins: []string{}, UpstreamTimeout: DefaultUpstreamTimeout}
	rows, err := s.st.Read.QueryContext(ctx, `SELECT name, value FROM settings WHERE name IN (?, ?)`, settingOrigins, settingTimeout)
	if err != nil {
		return Settings{}, fmt.Errorf("read gateway settings: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, value string
		if err := rows.Scan(&name, &value); err != nil {
			return Settings{}, fmt.Errorf("read gateway settings: %w", err)
		}
		switch name {
		case settingOrigins:
			if err := json.Unmarshal([]byte(value), &out.AllowedOrigins); err != nil {
				return Settings{}, fmt.Errorf("read gateway settings: %s is not a JSON array of strings: %w", name, err)
			}
		case settingTimeout:
			ms, err := strconv.ParseInt(value, 10, 64)
			if err != nil {
				return Settings{}, fmt.Errorf("read gateway settings: %s is not a number of milliseconds", name)
			}
			out.UpstreamTimeout = time.Duration(ms) * time.Millisecond
		}
	}
	return out, rows.Err()
}

// UpdateSettings validates and stores all settings at once.
func (s *Service) UpdateSettings(ctx context.Context, in Settings) (Settings, error) {
	origins := make([]string, 0, len(in.AllowedOrigins))
	seen := map[string]bool{}
	for _, o := range in.AllowedOrigins {
		n, err := NormalizeOrigin(o)
		if err != nil {
			return Settings{}, fmt.Errorf("%w (got %q)", ErrInvalidOrigin, o)
		}
		if !seen[n] {
			seen[n] = true
			origins = append(origins, n)
		}
	}
	if in.UpstreamTimeout < time.Second || in.UpstreamTimeout > 10*time.Minute {
		return Settings{}, ErrInvalidTimeout
	}
	b, err := json.Marshal(origins)
	if err != nil {
		return Settings{}, fmt.Errorf("store gateway settings: %w", err)
	}
	err = s.st.Tx(ctx, func(tx *sql.Tx) error {
		const up = `INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value
			WHERE settings.value != excluded.value`
		if _, err := tx.ExecContext(ctx, up, settingOrigins, string(b)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, up, settingTimeout, strconv.FormatInt(in.UpstreamTimeout.Milliseconds(), 10))
		return err
	})
	if err != nil {
		return Settings{}, fmt.Errorf("store gateway settings: %w", err)
	}
	return s.Settings(ctx)
}

// NormalizeOrigin checks an origin and returns it as browsers send it in the Origin header:
// lowercase scheme and host, no default port, no trailing slash.
func NormalizeOrigin(s string) (string, error) {
	s = strings.TrimSpace(s)
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") ||
		u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" || strings.ContainsAny(s, "*") {
		return "", ErrInvalidOrigin
	}
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if host == "" { // "x://:" has a Host (":") but no host name
		return "", ErrInvalidOrigin
	}
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	if strings.Contains(host, ":") {
		// Only an IPv6 literal (without a zone) may hold colons: "[:]" is no host.
		if a, err := netip.ParseAddr(host); err != nil || !a.Is6() || a.Zone() != "" {
			return "", ErrInvalidOrigin
		}
		host = "[" + host + "]"
	}
	if port != "" {
		if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			return "", ErrInvalidOrigin
		}
		return scheme + "://" + host + ":" + port, nil
	}
	return scheme + "://" + host, nil
}
