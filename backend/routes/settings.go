package routes

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/keygate/keygate/backend/problem"
	"github.com/keygate/keygate/backend/settings"
)

// DefaultUpstreamTimeout is how long the gateway waits for an upstream's response headers.
const DefaultUpstreamTimeout = 30 * time.Second

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

// Settings reads the gateway settings (kept by package settings), with defaults for what was
// never set.
func (s *Service) Settings(ctx context.Context) (Settings, error) {
	out := Settings{AllowedOrigins: []string{}, UpstreamTimeout: DefaultUpstreamTimeout}
	vals, err := settings.New(s.st).Get(ctx, settings.GatewayAllowedOrigins, settings.GatewayUpstreamTimeout)
	if err != nil {
		return Settings{}, fmt.Errorf("read gateway settings: %w", err)
	}
	if v, ok := vals[settings.GatewayAllowedOrigins]; ok {
		if err := json.Unmarshal([]byte(v), &out.AllowedOrigins); err != nil {
			return Settings{}, fmt.Errorf("read gateway settings: %s is not a JSON array of strings: %w", settings.GatewayAllowedOrigins, err)
		}
	}
	if v, ok := vals[settings.GatewayUpstreamTimeout]; ok {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return Settings{}, fmt.Errorf("read gateway settings: %s is not a number of milliseconds", settings.GatewayUpstreamTimeout)
		}
		out.UpstreamTimeout = time.Duration(ms) * time.Millisecond
	}
	return out, nil
}

// UpdateSettings validates and stores all gateway settings at once.
func (s *Service) UpdateSettings(ctx context.Context, in Settings) (Settings, error) {
	_, values, err := SettingsValues(in)
	if err != nil {
		return Settings{}, err
	}
	if err := settings.New(s.st).Set(ctx, values); err != nil {
		return Settings{}, fmt.Errorf("store gateway settings: %w", err)
	}
	return s.Settings(ctx)
}

// SettingsValues checks in and returns it as UpdateSettings stores it (origins normalized, each
// once) with the settings rows that store it, for a caller that writes them in a transaction
// with other settings and their audit entry.
func SettingsValues(in Settings) (Settings, map[string]string, error) {
	origins := make([]string, 0, len(in.AllowedOrigins))
	seen := map[string]bool{}
	for _, o := range in.AllowedOrigins {
		n, err := NormalizeOrigin(o)
		if err != nil {
			return Settings{}, nil, fmt.Errorf("%w (got %q)", ErrInvalidOrigin, o)
		}
		if !seen[n] {
			seen[n] = true
			origins = append(origins, n)
		}
	}
	if in.UpstreamTimeout < time.Second || in.UpstreamTimeout > 10*time.Minute {
		return Settings{}, nil, ErrInvalidTimeout
	}
	b, err := json.Marshal(origins)
	if err != nil {
		return Settings{}, nil, fmt.Errorf("store gateway settings: %w", err)
	}
	return Settings{AllowedOrigins: origins, UpstreamTimeout: in.UpstreamTimeout.Truncate(time.Millisecond)}, map[string]string{
		settings.GatewayAllowedOrigins:  string(b),
		settings.GatewayUpstreamTimeout: strconv.FormatInt(in.UpstreamTimeout.Milliseconds(), 10),
	}, nil
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
