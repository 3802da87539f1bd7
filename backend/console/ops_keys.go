package console

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/keygate/keygate/backend/audit"
	"github.com/keygate/keygate/backend/keys"
)

// ListKeysInput selects a page of keys.
type ListKeysInput struct {
	Org string `json:"org"`
	// Status is active, expired, revoked or all (default).
	Status string `json:"status" enum:"active,expired,revoked,all"`
	// Limit is 1–500, default 50.
	Limit  int    `json:"limit" minimum:"0" maximum:"500"`
	Cursor string `json:"cursor"`
}

// CreateKeyInput creates a key.
type CreateKeyInput struct {
	Org  string `json:"org"`
	Name string `json:"name" required:"true" doc:"1 to 64 characters, trimmed."`
	// Expires is never (default), 7d, 30d, 60d, 90d, 1y or a date YYYY-MM-DD (end of day, UTC).
	Expires string `json:"expires" example:"30d" doc:"never (default), 7d, 30d, 60d, 90d, 1y or a date YYYY-MM-DD (end of that day, UTC)."`
	// RateLimit is requests per RateWindowSeconds (default 60); 0 means no limit.
	RateLimit         int `json:"rateLimit" minimum:"0" maximum:"1000000000"`
	RateWindowSeconds int `json:"rateWindowSeconds" minimum:"0" maximum:"86400"`
}

// KeyInput names a key.
type KeyInput struct {
	ID  string `json:"id"`
	Org string `json:"org"`
}

// RenameKeyInput renames a key.
type RenameKeyInput struct {
	ID   string `json:"id"`
	Org  string `json:"org"`
	Name string `json:"name" required:"true"`
}

// RevokeKeyInput revokes a key.
type RevokeKeyInput struct {
	ID     string `json:"id"`
	Org    string `json:"org"`
	Reason string `json:"reason"`
}

// RollKeyInput rolls a key.
type RollKeyInput struct {
	ID  string `json:"id"`
	Org string `json:"org"`
	// GraceSeconds is how long the old secret keeps working: 0 to 30 days, default 86400.
	GraceSeconds *int `json:"graceSeconds" minimum:"0" maximum:"2592000"`
}

// DefaultGrace is how long a rolled key's old secret works when no grace is given.
const DefaultGrace = 24 * time.Hour

// seconds converts a count of seconds from the input to a duration, saturating instead of
// wrapping around, so the domain package's range check sees an out-of-range value as such.
func seconds(n int) time.Duration {
	const maxSeconds = int(math.MaxInt64 / int64(time.Second))
	switch {
	case n > maxSeconds:
		return math.MaxInt64
	case n < -maxSeconds:
		return math.MinInt64
	}
	return time.Duration(n) * time.Second
}

func (s *Service) listKeys(ctx context.Context, _ *Call, in *ListKeysInput) (keys.Page, error) {
	return s.Keys.List(ctx, keys.ListParams{OrgID: in.Org, Status: keys.Status(in.Status), Limit: in.Limit, Cursor: in.Cursor})
}

func (s *Service) createKey(ctx context.Context, c *Call, in *CreateKeyInput) (keys.Created, error) {
	k, err := s.Keys.Create(ctx, keys.CreateParams{OrgID: in.Org, Name: in.Name, Expires: in.Expires,
		CreatedBy: c.createdBy(), RateLimit: in.RateLimit, RateWindow: seconds(in.RateWindowSeconds)})
	if err != nil {
		return keys.Created{}, err
	}
	detail := quote(k.Name)
	if k.ExpiresAt != nil {
		detail += ", expires " + k.ExpiresAt.Format(time.RFC3339)
	}
	s.record(ctx, c, in.Org, audit.KeyCreate, k.ID, detail)
	return k, nil
}

func (s *Service) getKey(ctx context.Context, _ *Call, in *KeyInput) (keys.Key, error) {
	return s.Keys.Get(ctx, in.Org, in.ID)
}

func (s *Service) renameKey(ctx context.Context, c *Call, in *RenameKeyInput) (keys.Key, error) {
	if _, err := keys.ValidName(in.Name); err != nil {
		return keys.Key{}, err
	}
	old, err := s.Keys.Get(ctx, in.Org, in.ID)
	if err != nil {
		return keys.Key{}, err
	}
	k, err := s.Keys.Rename(ctx, in.Org, in.ID, in.Name)
	if err != nil {
		return keys.Key{}, err
	}
	s.record(ctx, c, in.Org, audit.KeyRename, k.ID, quote(old.Name)+" → "+quote(k.Name))
	return k, nil
}

func (s *Service) revokeKey(ctx context.Context, c *Call, in *RevokeKeyInput) (keys.Key, error) {
	before, err := s.Keys.Get(ctx, in.Org, in.ID)
	if err != nil {
		return keys.Key{}, err
	}
	k, err := s.Keys.Revoke(ctx, in.Org, in.ID, in.Reason)
	if err != nil {
		return keys.Key{}, err
	}
	if before.RevokedAt == nil {
		s.record(ctx, c, in.Org, audit.KeyRevoke, k.ID, strings.TrimSpace(quote(k.Name)+" "+k.RevokeReason))
	}
	return k, nil
}

func (s *Service) rollKey(ctx context.Context, c *Call, in *RollKeyInput) (keys.Created, error) {
	grace := DefaultGrace
	if in.GraceSeconds != nil {
		grace = seconds(*in.GraceSeconds)
	}
	k, err := s.Keys.Roll(ctx, in.Org, in.ID, grace)
	if err != nil {
		return keys.Created{}, err
	}
	s.record(ctx, c, in.Org, audit.KeyRoll, k.ID, fmt.Sprintf("%s, old secret works for %s", quote(k.Name), grace))
	return k, nil
}
