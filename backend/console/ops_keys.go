package console

import (
	"context"
	"database/sql"
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
	// Status is active, disabled, expired, revoked or all (default).
	Status string `json:"status" enum:"active,disabled,expired,revoked,all"`
	// Limit is 1–500, default 50.
	Limit  int    `json:"limit" minimum:"0" maximum:"500"`
	Cursor string `json:"cursor"`
	// Search keeps keys whose name contains it (case-insensitive).
	Search string `json:"search" maxLength:"64"`
	// Sort is created (default), name, expires or lastUsed; Order is desc (default) or asc.
	Sort  string `json:"sort" enum:"created,name,expires,lastUsed"`
	Order string `json:"order" enum:"asc,desc"`
	// ExpiringWithinDays, when positive, keeps keys (not revoked) that expire within that many
	// days and have not yet.
	ExpiringWithinDays int `json:"expiringWithinDays" minimum:"0" maximum:"3650"`
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
	// Scopes are what the key may do: `*`, `resource`, `resource:action` or `resource:*`.
	Scopes []string `json:"scopes" doc:"At most 64 scopes: *, resource, resource:action or resource:*."`
	// Metadata is up to 16 string pairs, sent to the upstream in the signed identity.
	Metadata map[string]string `json:"metadata" doc:"At most 16 pairs; names of letters, digits, . _ -; values at most 256 characters."`
	// AllowIPs are the addresses (CIDR prefixes, IPv4 or IPv6) the key may be used from.
	AllowIPs []string `json:"allowIps" doc:"IP addresses or CIDR prefixes the key may be used from; none means any."`
	// Quota, when given, is how many requests the key may make.
	Quota *int64 `json:"quota" minimum:"0" maximum:"1000000000000"`
	// RefillAmount and RefillIntervalSeconds set the quota back to the amount every interval.
	RefillAmount          int64 `json:"refillAmount" minimum:"0" maximum:"1000000000000"`
	RefillIntervalSeconds int64 `json:"refillIntervalSeconds" minimum:"0" maximum:"31622400"`
}

// UpdateKeyInput changes a key: a field left out is left as it is.
type UpdateKeyInput struct {
	ID   string  `json:"id"`
	Org  string  `json:"org"`
	Name *string `json:"name"`
	// Expires is as on create; never clears the expiry.
	Expires  *string            `json:"expires" example:"90d" doc:"never (clears it), 7d, 30d, 60d, 90d, 1y or a date YYYY-MM-DD."`
	Scopes   *[]string          `json:"scopes" doc:"Replaces the whole list."`
	Metadata *map[string]string `json:"metadata" doc:"Replaces all pairs."`
	AllowIPs *[]string          `json:"allowIps" doc:"Replaces the whole allowlist; an empty list allows any address."`
	// RateLimit and RateWindowSeconds are as on create.
	RateLimit         *int `json:"rateLimit" minimum:"0" maximum:"1000000000"`
	RateWindowSeconds *int `json:"rateWindowSeconds" minimum:"0" maximum:"86400"`
	// Quota sets the remaining requests; RemoveQuota takes the quota away.
	Quota       *int64 `json:"quota" minimum:"0" maximum:"1000000000000"`
	RemoveQuota bool   `json:"removeQuota"`
	// RefillAmount and RefillIntervalSeconds go together; 0 and 0 stop refilling.
	RefillAmount          *int64 `json:"refillAmount" minimum:"0" maximum:"1000000000000"`
	RefillIntervalSeconds *int64 `json:"refillIntervalSeconds" minimum:"0" maximum:"31622400"`
}

// KeyInput names a key.
type KeyInput struct {
	ID  string `json:"id"`
	Org string `json:"org"`
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

// seconds64 is seconds for an int64 count.
func seconds64(n int64) time.Duration {
	const maxSeconds = math.MaxInt64 / int64(time.Second)
	switch {
	case n > maxSeconds:
		return math.MaxInt64
	case n < -maxSeconds:
		return math.MinInt64
	}
	return time.Duration(n) * time.Second
}

func (s *Service) listKeys(ctx context.Context, _ *Call, in *ListKeysInput) (keys.Page, error) {
	var asc bool
	switch in.Order {
	case "", "desc":
	case "asc":
		asc = true
	default:
		return keys.Page{}, invalid("order", "invalid", "validation.key.order.invalid", nil)
	}
	if in.ExpiringWithinDays < 0 || in.ExpiringWithinDays > 3650 {
		return keys.Page{}, keys.ErrInvalidExpiring
	}
	return s.Keys.List(ctx, keys.ListParams{OrgID: in.Org, Status: keys.Status(in.Status), Limit: in.Limit, Cursor: in.Cursor,
		Search: in.Search, Sort: keys.Sort(in.Sort), Asc: asc, ExpiringWithin: time.Duration(in.ExpiringWithinDays) * 24 * time.Hour})
}

func (s *Service) createKey(ctx context.Context, c *Call, in *CreateKeyInput) (keys.Created, error) {
	k, err := s.keyChanges(c, in.Org, func(_, k keys.Key) (string, string) {
		detail := quote(k.Name)
		if k.ExpiresAt != nil {
			detail += ", expires " + k.ExpiresAt.Format(time.RFC3339)
		}
		return audit.KeyCreate, detail
	}).Create(ctx, keys.CreateParams{OrgID: in.Org, Name: in.Name, Expires: in.Expires,
		CreatedBy: c.createdBy(), RateLimit: in.RateLimit, RateWindow: seconds(in.RateWindowSeconds),
		Scopes: in.Scopes, Metadata: in.Metadata, AllowIPs: in.AllowIPs, Quota: in.Quota,
		RefillAmount: in.RefillAmount, RefillInterval: seconds64(in.RefillIntervalSeconds)})
	if err != nil {
		return keys.Created{}, err
	}
	s.Audit.Committed(ctx)
	return k, nil
}

func (s *Service) getKey(ctx context.Context, _ *Call, in *KeyInput) (keys.Key, error) {
	return s.Keys.Get(ctx, in.Org, in.ID)
}

func (s *Service) updateKey(ctx context.Context, c *Call, in *UpdateKeyInput) (keys.Key, error) {
	p := keys.UpdateParams{Name: in.Name, Expires: in.Expires, Scopes: in.Scopes, Metadata: in.Metadata,
		AllowIPs: in.AllowIPs, RateLimit: in.RateLimit, Quota: in.Quota, NoQuota: in.RemoveQuota}
	if in.RateWindowSeconds != nil {
		w := seconds(*in.RateWindowSeconds)
		p.RateWindow = &w
	}
	if (in.RefillAmount == nil) != (in.RefillIntervalSeconds == nil) {
		return keys.Key{}, keys.ErrInvalidRefill
	}
	if in.RefillAmount != nil {
		p.Refill = &keys.Refill{Amount: *in.RefillAmount, Interval: seconds64(*in.RefillIntervalSeconds)}
	}
	// The audit entry names what changed, never metadata values.
	entry := func(old, k keys.Key) (string, string) {
		var changed []string
		renamed := old.Name != k.Name
		if renamed {
			changed = append(changed, quote(old.Name)+" → "+quote(k.Name))
		}
		for _, f := range []struct {
			name string
			set  bool
		}{{"expires", in.Expires != nil}, {"scopes", in.Scopes != nil}, {"metadata", in.Metadata != nil},
			{"allowIps", in.AllowIPs != nil}, {"rateLimit", in.RateLimit != nil || in.RateWindowSeconds != nil},
			{"quota", in.Quota != nil || in.RemoveQuota || in.RefillAmount != nil}} {
			if f.set {
				changed = append(changed, f.name)
			}
		}
		switch {
		case len(changed) == 0:
			return "", ""
		case renamed && len(changed) == 1:
			return audit.KeyRename, changed[0]
		default:
			return audit.KeyUpdate, quote(k.Name) + ": " + strings.Join(changed, ", ")
		}
	}
	k, err := s.keyChanges(c, in.Org, entry).Update(ctx, in.Org, in.ID, p)
	if err != nil {
		return keys.Key{}, err
	}
	s.Audit.Committed(ctx)
	return k, nil
}

func (s *Service) disableKey(ctx context.Context, c *Call, in *KeyInput) (keys.Key, error) {
	k, changed, err := s.keyChanges(c, in.Org, func(_, k keys.Key) (string, string) {
		return audit.KeyDisable, quote(k.Name)
	}).Disable(ctx, in.Org, in.ID, c.createdBy())
	if err != nil {
		return keys.Key{}, err
	}
	if changed {
		s.Audit.Committed(ctx)
	}
	return k, nil
}

func (s *Service) enableKey(ctx context.Context, c *Call, in *KeyInput) (keys.Key, error) {
	k, changed, err := s.keyChanges(c, in.Org, func(_, k keys.Key) (string, string) {
		return audit.KeyEnable, quote(k.Name)
	}).Enable(ctx, in.Org, in.ID)
	if err != nil {
		return keys.Key{}, err
	}
	if changed {
		s.Audit.Committed(ctx)
	}
	return k, nil
}

func (s *Service) revokeKey(ctx context.Context, c *Call, in *RevokeKeyInput) (keys.Key, error) {
	k, err := s.keyChanges(c, in.Org, func(_, k keys.Key) (string, string) {
		return audit.KeyRevoke, strings.TrimSpace(quote(k.Name) + " " + k.RevokeReason)
	}).Revoke(ctx, in.Org, in.ID, in.Reason)
	if err != nil {
		return keys.Key{}, err
	}
	s.Audit.Committed(ctx)
	return k, nil
}

func (s *Service) rollKey(ctx context.Context, c *Call, in *RollKeyInput) (keys.Created, error) {
	grace := DefaultGrace
	if in.GraceSeconds != nil {
		grace = seconds(*in.GraceSeconds)
	}
	k, err := s.keyChanges(c, in.Org, func(_, k keys.Key) (string, string) {
		return audit.KeyRoll, fmt.Sprintf("%s, old secret works for %s", quote(k.Name), grace)
	}).Roll(ctx, in.Org, in.ID, grace)
	if err != nil {
		return keys.Created{}, err
	}
	s.Audit.Committed(ctx)
	return k, nil
}

// keyChanges are the key changes of an operation that record themselves: the audit entry that
// entry describes (an action of "" records none) is written, and the audit log's hooks run
// (the webhook event, from the key as changed), in the key change's own transaction. So the
// change, its entry and its event commit together or not at all, and a failure to record
// fails the operation instead of leaving a change nobody can trace.
func (s *Service) keyChanges(c *Call, org string, entry func(before, after keys.Key) (action, detail string)) keys.Changes {
	return s.Keys.Recording(func(ctx context.Context, tx *sql.Tx, before, after keys.Key) error {
		action, detail := entry(before, after)
		if action == "" {
			return nil
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Actor: c.actor(), OrgID: org, Action: action, Target: after.ID,
			Detail: detail, ClientAddr: c.ClientAddr}, after)
	})
}
