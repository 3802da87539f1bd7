// Package keys holds API keys: their format, their lifecycle (create, list, get, rename,
// revoke, roll) and their verification, with a cache that keeps the gateway's hot path off SQLite.
package keys

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/keygate/keygate/backend/clock"
	"github.com/keygate/keygate/backend/ids"
	"github.com/keygate/keygate/backend/problem"
	"github.com/keygate/keygate/backend/store"
)

// Status is where a key is in its life.
type Status string

const (
	StatusActive  Status = "active"
	StatusExpired Status = "expired"
	StatusRevoked Status = "revoked"
	// StatusAll is a list filter, never a key's status.
	StatusAll Status = "all"
)

// Bounds of a key's inputs.
const (
	MaxNameLen   = 64  // characters of a name, trimmed
	MaxReasonLen = 200 // characters of a revoke reason, trimmed
	MaxPageSize  = 500 // keys in one List page
)

var (
	// ErrNotFound means no key has that id (in that organization).
	ErrNotFound = errors.New("key not found")
	// ErrInvalidName means the trimmed name is empty or longer than 64 characters.
	ErrInvalidName error = &problem.Invalid{Field: "name", Code: "invalid", Msg: "validation.key.name.invalid", Data: map[string]any{"Count": 64},
		Text: "key name must be 1 to 64 characters and not only spaces"}
	// ErrInvalidExpiry means the expiry is none of never, 7d, 30d, 60d, 90d, 1y or YYYY-MM-DD.
	ErrInvalidExpiry error = &problem.Invalid{Field: "expires", Code: "invalid", Msg: "validation.key.expires.invalid",
		Text: "expiry must be never, 7d, 30d, 60d, 90d, 1y or a date YYYY-MM-DD"}
	// ErrExpiryInPast means the expiry date has already ended.
	ErrExpiryInPast error = &problem.Invalid{Field: "expires", Code: "past", Msg: "validation.key.expires.past",
		Text: "expiry date is in the past"}
	// ErrInvalidStatus means a list filter other than active, expired, revoked or all.
	ErrInvalidStatus error = &problem.Invalid{Field: "status", Code: "invalid", Msg: "validation.key.status.invalid",
		Text: "status must be active, expired, revoked or all"}
	// ErrInvalidCursor means a pagination cursor this package did not make.
	ErrInvalidCursor error = &problem.Invalid{Field: "cursor", Code: "invalid", Msg: "validation.cursor.invalid",
		Text: "invalid page cursor"}
	// ErrInvalidGrace means a roll grace period that is negative or longer than 30 days.
	ErrInvalidGrace error = &problem.Invalid{Field: "graceSeconds", Code: "range", Msg: "validation.key.grace.range", Data: map[string]any{"Count": 30},
		Text: "grace period must be between 0 and 30 days"}
	// ErrRevoked means the key is revoked and cannot be rolled or renamed.
	ErrRevoked = errors.New("key is revoked")
	// ErrInvalidRateLimit means a negative limit, or one over a billion.
	ErrInvalidRateLimit error = &problem.Invalid{Field: "rateLimit", Code: "range", Msg: "validation.key.rate_limit.range",
		Text: "rate limit must be 0 to 1000000000 requests per window"}
	// ErrInvalidRateWindow means a rate window outside 1 s to 24 h.
	ErrInvalidRateWindow error = &problem.Invalid{Field: "rateWindowSeconds", Code: "range", Msg: "validation.key.rate_limit.range",
		Text: "rate window must be 1s to 24h"}
	// ErrInvalidLimit means a page size outside 1 to MaxPageSize.
	ErrInvalidLimit error = &problem.Invalid{Field: "limit", Code: "range", Msg: "validation.limit.range",
		Data: map[string]any{"Count": MaxPageSize}, Text: fmt.Sprintf("limit must be between 1 and %d", MaxPageSize)}
	// ErrInvalidReason means a revoke reason longer than MaxReasonLen characters.
	ErrInvalidReason error = &problem.Invalid{Field: "reason", Code: "too_long", Msg: "validation.key.reason.too_long",
		Data: map[string]any{"Count": MaxReasonLen}, Text: fmt.Sprintf("revoke reason must be at most %d characters", MaxReasonLen)}

	// errNameEmpty and errNameTooLong are ErrInvalidName with a more precise explanation.
	errNameEmpty = &problem.Invalid{Field: "name", Code: "required", Msg: "validation.key.name.empty",
		Text: "key name is empty", Err: ErrInvalidName}
	errNameTooLong = &problem.Invalid{Field: "name", Code: "too_long", Msg: "validation.key.name.too_long",
		Data: map[string]any{"Count": MaxNameLen}, Text: fmt.Sprintf("key name must be at most %d characters", MaxNameLen), Err: ErrInvalidName}
)

// Key is what may be shown about a key: never its hash or secret.
type Key struct {
	ID           string     `json:"id"`
	OrgID        string     `json:"orgId"`
	Name         string     `json:"name"`
	Prefix       string     `json:"prefix"`
	Start        string     `json:"start"`
	Status       Status     `json:"status" enum:"active,expired,revoked"`
	CreatedAt    time.Time  `json:"createdAt"`
	CreatedBy    string     `json:"createdBy"`
	ExpiresAt    *time.Time `json:"expiresAt"`
	RevokedAt    *time.Time `json:"revokedAt"`
	RevokeReason string     `json:"revokeReason,omitempty"`
	LastUsedAt   *time.Time `json:"lastUsedAt"`
	UsageCount   int64      `json:"usageCount"`
	// RateLimit is the number of requests allowed per RateWindow; 0 means no limit.
	RateLimit  int           `json:"rateLimit"`
	RateWindow time.Duration `json:"-"`
}

// Created is a new (or rolled) key with its secret: returned once, never stored.
type Created struct {
	ID        string     `json:"id"`
	Key       string     `json:"key"`
	Name      string     `json:"name"`
	Start     string     `json:"start"`
	Prefix    string     `json:"prefix"`
	OrgID     string     `json:"orgId"`
	CreatedAt time.Time  `json:"createdAt"`
	ExpiresAt *time.Time `json:"expiresAt"`
}

// CreateParams are the inputs of Create.
type CreateParams struct {
	OrgID     string
	Name      string
	Expires   string // never, 7d, 30d, 60d, 90d, 1y or YYYY-MM-DD; "" means never
	CreatedBy string
	RateLimit int
	// RateWindow defaults to one minute.
	RateWindow time.Duration
}

// ListParams are the inputs of List.
type ListParams struct {
	OrgID  string // "" lists every organization's keys
	Status Status // "" means all
	Limit  int    // 1–500, default 50
	Cursor string // from the previous Page
}

// Page is one page of a list, newest first.
type Page struct {
	Keys       []Key  `json:"keys"`
	NextCursor string `json:"nextCursor,omitempty"`
}

// Service manages keys in a store.
type Service struct {
	st    *store.Store
	clock clock.Clock
	cache *cache
	usage *usage
	grace time.Duration // see WithOutageGrace
}

// Option configures a Service.
type Option func(*Service)

// WithClock sets the clock used for expiry and timestamps.
func WithClock(c clock.Clock) Option { return func(s *Service) { s.clock = c } }

// DefaultOutageGrace is how long after its last verification a key keeps working while the
// store cannot be reached.
const DefaultOutageGrace = time.Minute

// WithOutageGrace sets how long after its last verification a key keeps working while the store
// cannot be reached (0: not at all; an unreachable store then fails every uncached lookup).
// The trade-off: a revocation made on another node just before the store went away may not be
// seen for that long.
func WithOutageGrace(d time.Duration) Option { return func(s *Service) { s.grace = d } }

// WithCacheSize bounds the verification cache (positive and negative entries together).
func WithCacheSize(n int) Option { return func(s *Service) { s.cache = newCache(n) } }

// New returns a Service over st.
func New(st *store.Store, opts ...Option) *Service {
	s := &Service{st: st, clock: clock.Real{}, cache: newCache(100_000), grace: DefaultOutageGrace}
	for _, o := range opts {
		o(s)
	}
	s.usage = newUsage(st)
	return s
}

// Create makes a key and returns it with its secret, which is never retrievable again.
func (s *Service) Create(ctx context.Context, p CreateParams) (Created, error) {
	name, err := ValidName(p.Name)
	if err != nil {
		return Created{}, err
	}
	now := s.now()
	expires, err := ParseExpiry(p.Expires, now)
	if err != nil {
		return Created{}, err
	}
	window, err := validRate(p.RateLimit, p.RateWindow)
	if err != nil {
		return Created{}, err
	}
	if p.OrgID == "" {
		return Created{}, errors.New("create key: no organization given")
	}
	if p.CreatedBy == "" {
		return Created{}, errors.New("create key: no creator given")
	}
	prefix, err := s.orgPrefix(ctx, p.OrgID)
	if err != nil {
		return Created{}, err
	}
	k, err := Generate(prefix)
	if err != nil {
		return Created{}, err
	}
	id, err := ids.New("key")
	if err != nil {
		return Created{}, fmt.Errorf("create key: %w", err)
	}
	h := k.Hash()
	err = s.st.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO keys
			(id, org_id, name, prefix, start, created_at, created_by, expires_at, rate_limit, rate_window_ms)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, p.OrgID, name, k.Prefix, k.Start(), now.UnixMilli(), p.CreatedBy, millis(expires),
			p.RateLimit, window.Milliseconds()); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO key_secrets (hash, key_id, created_at) VALUES (?, ?, ?)`,
			h[:], id, now.UnixMilli())
		return err
	})
	if err != nil {
		return Created{}, fmt.Errorf("create key: %w", err)
	}
	s.cache.forget(h)
	c := Created{ID: id, Key: k.Raw, Name: name, Start: k.Start(), Prefix: k.Prefix, OrgID: p.OrgID,
		CreatedAt: now, ExpiresAt: expires}
	if c.ID == "" || c.Key == "" || c.Start == "" {
		return Created{}, errors.New("create key: incomplete result")
	}
	return c, nil
}

// Get returns one key. An orgID of "" matches any organization.
func (s *Service) Get(ctx context.Context, orgID, id string) (Key, error) {
	q := `SELECT ` + keyColumns + ` FROM keys WHERE id = ?`
	args := []any{id}
	if orgID != "" {
		q += ` AND org_id = ?`
		args = append(args, orgID)
	}
	k, err := scanKey(s.st.Read.QueryRowContext(ctx, q, args...), s.now())
	if errors.Is(err, sql.ErrNoRows) {
		return Key{}, ErrNotFound
	}
	if err != nil {
		return Key{}, fmt.Errorf("get key %s: %w", id, err)
	}
	return k, nil
}

// List returns a page of keys, newest first.
func (s *Service) List(ctx context.Context, p ListParams) (Page, error) {
	if p.Limit == 0 {
		p.Limit = 50
	}
	if p.Limit < 1 || p.Limit > MaxPageSize {
		return Page{}, ErrInvalidLimit
	}
	now := s.now().UnixMilli()
	var where []string
	var args []any
	if p.OrgID != "" {
		where = append(where, "org_id = ?")
		args = append(args, p.OrgID)
	}
	switch p.Status {
	case "", StatusAll:
	case StatusActive:
		where = append(where, "revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)")
		args = append(args, now)
	case StatusExpired:
		where = append(where, "revoked_at IS NULL AND expires_at <= ?")
		args = append(args, now)
	case StatusRevoked:
		where = append(where, "revoked_at IS NOT NULL")
	default:
		return Page{}, ErrInvalidStatus
	}
	if p.Cursor != "" {
		at, id, err := decodeCursor(p.Cursor)
		if err != nil {
			return Page{}, err
		}
		where = append(where, "(created_at < ? OR (created_at = ? AND id < ?))")
		args = append(args, at, at, id)
	}
	q := `SELECT ` + keyColumns + ` FROM keys`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY created_at DESC, id DESC LIMIT ?`
	args = append(args, p.Limit+1)
	rows, err := s.st.Read.QueryContext(ctx, q, args...)
	if err != nil {
		return Page{}, fmt.Errorf("list keys: %w", err)
	}
	defer rows.Close()
	page := Page{Keys: []Key{}}
	for rows.Next() {
		k, err := scanKey(rows, s.now())
		if err != nil {
			return Page{}, fmt.Errorf("list keys: %w", err)
		}
		page.Keys = append(page.Keys, k)
	}
	if err := rows.Err(); err != nil {
		return Page{}, fmt.Errorf("list keys: %w", err)
	}
	if len(page.Keys) > p.Limit {
		page.Keys = page.Keys[:p.Limit]
		last := page.Keys[len(page.Keys)-1]
		page.NextCursor = encodeCursor(last.CreatedAt.UnixMilli(), last.ID)
	}
	return page, nil
}

// Rename changes a key's name.
func (s *Service) Rename(ctx context.Context, orgID, id, name string) (Key, error) {
	name, err := ValidName(name)
	if err != nil {
		return Key{}, err
	}
	if _, err := s.Get(ctx, orgID, id); err != nil {
		return Key{}, err
	}
	if _, err := s.st.Write.ExecContext(ctx, `UPDATE keys SET name = ? WHERE id = ?`, name, id); err != nil {
		return Key{}, fmt.Errorf("rename key %s: %w", id, err)
	}
	s.changed(id)
	return s.Get(ctx, orgID, id)
}

// SetRateLimit sets how many requests per window a key may make (0: unlimited).
func (s *Service) SetRateLimit(ctx context.Context, orgID, id string, limit int, window time.Duration) (Key, error) {
	window, err := validRate(limit, window)
	if err != nil {
		return Key{}, err
	}
	if _, err := s.Get(ctx, orgID, id); err != nil {
		return Key{}, err
	}
	if _, err := s.st.Write.ExecContext(ctx, `UPDATE keys SET rate_limit = ?, rate_window_ms = ? WHERE id = ?`,
		limit, window.Milliseconds(), id); err != nil {
		return Key{}, fmt.Errorf("set rate limit of key %s: %w", id, err)
	}
	s.changed(id)
	return s.Get(ctx, orgID, id)
}

// Revoke tombstones a key: every secret of it stops working before Revoke returns.
// Revoking a revoked key changes nothing and is not an error.
func (s *Service) Revoke(ctx context.Context, orgID, id, reason string) (Key, error) {
	k, err := s.Get(ctx, orgID, id)
	if err != nil {
		return Key{}, err
	}
	if k.RevokedAt == nil {
		reason = strings.TrimSpace(reason)
		if utf8.RuneCountInString(reason) > MaxReasonLen {
			return Key{}, ErrInvalidReason
		}
		if _, err := s.st.Write.ExecContext(ctx,
			`UPDATE keys SET revoked_at = ?, revoke_reason = ? WHERE id = ? AND revoked_at IS NULL`,
			s.now().UnixMilli(), reason, id); err != nil {
			return Key{}, fmt.Errorf("revoke key %s: %w", id, err)
		}
	}
	s.changed(id)
	return s.Get(ctx, orgID, id)
}

// Roll gives a key a new secret under the same id. The old secrets keep working for grace,
// then answer REVOKED.
func (s *Service) Roll(ctx context.Context, orgID, id string, grace time.Duration) (Created, error) {
	if grace < 0 || grace > 30*24*time.Hour {
		return Created{}, ErrInvalidGrace
	}
	k, err := s.Get(ctx, orgID, id)
	if err != nil {
		return Created{}, err
	}
	if k.Status == StatusRevoked {
		return Created{}, ErrRevoked
	}
	nk, err := Generate(k.Prefix)
	if err != nil {
		return Created{}, err
	}
	now := s.now()
	retire := now.Add(grace).UnixMilli()
	h := nk.Hash()
	err = s.st.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx,
			`UPDATE key_secrets SET retires_at = ? WHERE key_id = ? AND (retires_at IS NULL OR retires_at > ?)`,
			retire, id, retire); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO key_secrets (hash, key_id, created_at) VALUES (?, ?, ?)`,
			h[:], id, now.UnixMilli()); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE keys SET start = ? WHERE id = ?`, nk.Start(), id)
		return err
	})
	if err != nil {
		return Created{}, fmt.Errorf("roll key %s: %w", id, err)
	}
	s.changed(id)
	return Created{ID: id, Key: nk.Raw, Name: k.Name, Start: nk.Start(), Prefix: nk.Prefix, OrgID: k.OrgID,
		CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt}, nil
}

func (s *Service) orgPrefix(ctx context.Context, orgID string) (string, error) {
	var prefix string
	err := s.st.Read.QueryRowContext(ctx, `SELECT key_prefix FROM orgs WHERE id = ?`, orgID).Scan(&prefix)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("create key: organization %s not found", orgID)
	}
	if err != nil {
		return "", fmt.Errorf("create key: %w", err)
	}
	return prefix, nil
}

func (s *Service) now() time.Time { return s.clock.Now().UTC().Truncate(time.Millisecond) }

// ValidName trims a key name and checks it is 1–64 characters.
func ValidName(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		return "", errNameEmpty
	case n > MaxNameLen:
		return "", errNameTooLong
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return "", ErrInvalidName
		}
	}
	return name, nil
}

// ParseExpiry turns the expiry vocabulary into an instant: nil for never; a date means the
// end of that day in UTC.
func ParseExpiry(s string, now time.Time) (*time.Time, error) {
	s = strings.TrimSpace(s)
	var t time.Time
	switch s {
	case "", "never":
		return nil, nil
	case "7d", "30d", "60d", "90d":
		days, _ := strconv.Atoi(strings.TrimSuffix(s, "d"))
		t = now.Add(time.Duration(days) * 24 * time.Hour)
	case "1y":
		t = now.AddDate(1, 0, 0)
	default:
		d, err := time.Parse("2006-01-02", s)
		if err != nil {
			return nil, ErrInvalidExpiry
		}
		t = d.AddDate(0, 0, 1).Add(-time.Second)
		if !t.After(now) {
			return nil, ErrExpiryInPast
		}
	}
	t = t.UTC().Truncate(time.Millisecond)
	return &t, nil
}

func validRate(limit int, window time.Duration) (time.Duration, error) {
	if window == 0 {
		window = time.Minute
	}
	if limit < 0 || limit > 1_000_000_000 {
		return 0, ErrInvalidRateLimit
	}
	if window < time.Second || window > 24*time.Hour {
		return 0, ErrInvalidRateWindow
	}
	return window, nil
}

const keyColumns = `id, org_id, name, prefix, start, created_at, created_by, expires_at, revoked_at,
	revoke_reason, last_used_at, usage_count, rate_limit, rate_window_ms`

type scanner interface{ Scan(...any) error }

func scanKey(r scanner, now time.Time) (Key, error) {
	var k Key
	var created, window int64
	var expires, revoked, used sql.NullInt64
	if err := r.Scan(&k.ID, &k.OrgID, &k.Name, &k.Prefix, &k.Start, &created, &k.CreatedBy, &expires, &revoked,
		&k.RevokeReason, &used, &k.UsageCount, &k.RateLimit, &window); err != nil {
		return Key{}, err
	}
	k.CreatedAt = time.UnixMilli(created).UTC()
	k.ExpiresAt = fromMillis(expires)
	k.RevokedAt = fromMillis(revoked)
	k.LastUsedAt = fromMillis(used)
	k.RateWindow = time.Duration(window) * time.Millisecond
	k.Status = status(k.ExpiresAt, k.RevokedAt, now)
	return k, nil
}

func status(expires, revoked *time.Time, now time.Time) Status {
	switch {
	case revoked != nil:
		return StatusRevoked
	case expires != nil && !now.Before(*expires):
		return StatusExpired
	default:
		return StatusActive
	}
}

func millis(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMilli()
}

func fromMillis(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := time.UnixMilli(v.Int64).UTC()
	return &t
}

func encodeCursor(at int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at, 10) + "|" + id))
}

func decodeCursor(c string) (int64, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, "", ErrInvalidCursor
	}
	at, id, ok := strings.Cut(string(b), "|")
	n, err := strconv.ParseInt(at, 10, 64)
	if !ok || err != nil || id == "" {
		return 0, "", ErrInvalidCursor
	}
	return n, id, nil
}
