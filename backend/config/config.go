// Package config resolves where Keygate keeps its data and how it is told so.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// EnvDataDir names the environment variable that overrides the default data directory.
const EnvDataDir = "KEYGATE_DATA_DIR"

// EnvDatabaseURL names the environment variable that selects a PostgreSQL database instead of
// the SQLite file in the data directory.
const EnvDatabaseURL = "KEYGATE_DATABASE_URL"

// DatabaseURL picks the database: the flag value, else $KEYGATE_DATABASE_URL; "" means the
// SQLite file in the data directory.
func DatabaseURL(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	return os.Getenv(EnvDatabaseURL)
}

// EnvRedisURL names the environment variable that gives `serve` the Redis holding rate limits
// shared by all nodes.
const EnvRedisURL = "KEYGATE_REDIS_URL"

// RedisURL picks the Redis URL: the flag value, else $KEYGATE_REDIS_URL; "" means each node
// enforces its own limits.
func RedisURL(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	return os.Getenv(EnvRedisURL)
}

// DataDir picks the data directory: the flag value, else $KEYGATE_DATA_DIR, else
// os.UserConfigDir()/keygate. It returns an absolute path and does not create it.
func DataDir(flagValue string) (string, error) {
	dir := flagValue
	if dir == "" {
		dir = os.Getenv(EnvDataDir)
	}
	if dir == "" {
		base, err := os.UserConfigDir()
		if err != nil {
			return "", fmt.Errorf("find the user config directory (set --data-dir or %s): %w", EnvDataDir, err)
		}
		dir = filepath.Join(base, "keygate")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("data dir %q: %w", dir, err)
	}
	if fi, err := os.Stat(abs); err == nil && !fi.IsDir() {
		return "", errors.New("data dir " + abs + " exists and is not a directory")
	}
	return abs, nil
}

// EnvJWKSMaxAge names the environment variable that sets how long upstreams may cache the
// gateway's signed-identity key set (/.well-known/jwks.json, default 5m): the Cache-Control
// max-age it is served with, and how long after `keygate identity rotate` the new key starts
// signing. Set the same value for `serve` and for the CLI that rotates.
const EnvJWKSMaxAge = "KEYGATE_JWKS_MAX_AGE"

// JWKSMaxAge reads $KEYGATE_JWKS_MAX_AGE, a Go duration of whole seconds between 1s and 24h;
// 0 when unset (the identity package's default).
func JWKSMaxAge() (time.Duration, error) {
	v := os.Getenv(EnvJWKSMaxAge)
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Second || d > 24*time.Hour || d%time.Second != 0 {
		return 0, fmt.Errorf("%s=%q: want whole seconds between 1s and 24h, e.g. 300s or 5m", EnvJWKSMaxAge, v)
	}
	return d, nil
}
