// Package keys holds API keys: their format, their lifecycle (create, list, get, rename,
// revoke, roll) and their verification, with a cache that keeps the gateway's hot path off SQLite.
package keys

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
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
	// StatusDisabled is a key that is neither revoked nor expired but turned off for now.
	StatusDisabled Status = "disabled"
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
	// ErrRevoked means the key is revoked and cannot be rolled, edited, disabled or enabled.
	ErrRevoked = errors.New("key is revoked")
	// ErrExpired means the key has expired and cannot be rolled (a rolled secret would be
	// expired too): give it a new expiry first, or create a key.
	ErrExpired = errors.New("key is expired")
	// ErrInvalidRateLimit means a negative limit, or one over a billion.
	ErrInvalidRateLimit error = &problem.Invalid{Field: "rateLimit", Code: "range", Msg: "validation.key.rate_limit.range",
		Text: "rate limit must be 0 to 1000000000 requests per window"}
	// ErrInvalidRateWindow means a rate window outside 1 s to 24 h.
	ErrInvalidRateWindow error = &problem.Invalid{Field: "rateWindowSeconds", Code: "range", Msg: "validation.key.rate_limit.range",
		Text: "rate window must be 1s to 24h"}
	// ErrInvalidSort means a list order other than created, name, expires or lastUsed.
	ErrInvalidSort error = &problem.Invalid{Field: "sort", Code: "invalid", Msg: "validation.key.sort.invalid",
		Text: "sort must be created, name, expires or lastUsed"}
	// ErrInvalidExpiring means an "expiring within" filter outside 0 to 3650 days.
	ErrInvalidExpiring error = &problem.Invalid{Field: "expiringWithinDays", Code: "range", Msg: "validation.key.expiring.range",
		Text: "expiring within must be 0 to 3650 days"}
	// ErrInvalidSearch means a search text longer than a name can be.
	ErrInvalidSearch error = &problem.Invalid{Field: "search", Code: "too_long", Msg: "validation.key.search.too_long",
		Data: map[string]any{"Count": MaxNameLen}, Text: fmt.Sprintf("search must be at most %d characters", MaxNameLen)}
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
	Status       Status     `json:"status" enum:"active,disabled,expired,revoked"`
	CreatedAt    time.Time  `json:"createdAt"`
	CreatedBy    string     `json:"createdBy"`
	ExpiresAt    *time.Time `json:"expiresAt"`
	RevokedAt    *time.Time `json:"revokedAt"`
	RevokeReason string     `json:"revokeReason,omitempty"`
	LastUsedAt   *time.Time `json:"lastUsedAt"`
	UsageCount   int64      `json:"usageCount"`
	// RateLimit is the number of requests allowed per RateWindow; 0 means no limit.
	RateLimit         int           `json:"rateLimit"`
	RateWindow        time.Duration `json:"-"`
	RateWindowSeconds int64         `json:"rateWindowSeconds"`
	// Scopes are what the key may do (`*`, `resource`, `resource:action`, `resource:*`),
	// sorted; see ScopesAllow.
	Scopes []string `json:"scopes"`
	// Metadata is up to 16 string pairs the upstream may trust; never logged.
	Metadata map[string]string `json:"metadata"`
	// AllowIPs are CIDR prefixes (canonical, sorted) the key may be used from; none means any.
	AllowIPs   []string   `json:"allowIps"`
	DisabledAt *time.Time `json:"disabledAt"`
	DisabledBy string     `json:"disabledBy,omitempty"`
	// QuotaRemaining is how many requests the key may still make; null means no quota.
	QuotaRemaining *int64 `json:"quotaRemaining"`
	// RefillAmount is what QuotaRemaining is set back to every RefillIntervalSeconds (a refill
	// resets, it does not add up, as in Better Auth and Unkey); 0 means no refill.
	RefillAmount          int64      `json:"refillAmount"`
	RefillIntervalSeconds int64      `json:"refillIntervalSeconds"`
	LastRefillAt          *time.Time `json:"lastRefillAt"`

	allow    []netip.Prefix // AllowIPs parsed, for the hot path
	quotaGen int64          // bumped by every quota edit; see quotas
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
	Scopes     []string
	Metadata   map[string]string
	AllowIPs   []string
	// Quota, when set, is the number of requests the key may make.
	Quota *int64
	// Refill sets the quota back to RefillAmount every RefillInterval (both 0: never).
	RefillAmount   int64
	RefillInterval time.Duration
}

// UpdateParams are the inputs of Update: a nil field is left as it is.
type UpdateParams struct {
	Name *string
	// Expires is as on create; "never" clears the expiry. A new expiry revives an expired key.
	Expires    *string
	Scopes     *[]string
	Metadata   *map[string]string
	AllowIPs   *[]string
	RateLimit  *int
	RateWindow *time.Duration // nil keeps the window; 0 means one minute
	// Quota sets the remaining requests (and restarts the refill interval from now).
	Quota *int64
	// NoQuota removes the quota and its refill.
	NoQuota bool
	// Refill sets the refill (an amount of 0 and interval of 0 stop refilling).
	Refill *Refill
}

// Refill is a quota's refill: RefillAmount every Interval.
type Refill struct {
	Amount   int64
	Interval time.Duration
}

// Sort orders a key list.
type Sort string

// The orders of a key list.
const (
	SortCreated  Sort = "created"  // creation time (default: newest first)
	SortName     Sort = "name"     // name, case-insensitively
	SortExpires  Sort = "expires"  // expiry; keys that never expire last (ascending)
	SortLastUsed Sort = "lastUsed" // last use; never used counts as oldest
)

// ListParams are the inputs of List.
type ListParams struct {
	OrgID  string // "" lists every organization's keys
	Status Status // "" means all
	Limit  int    // 1–500, default 50
	Cursor string // from the previous Page
	// Search keeps keys whose name contains it, case-insensitively.
	Search string
	Sort   Sort // "" means SortCreated
	// Asc sorts ascending; the default is descending.
	Asc bool
	// ExpiringWithin, when positive, keeps keys that are not revoked and expire within that
	// time from now (not already expired).
	ExpiringWithin time.Duration
}

// Page is one page of a list.
type Page struct {
	Keys       []Key  `json:"keys"`
	NextCursor string `json:"nextCursor,omitempty"`
	// Total is how many keys match the filters, on every page.
	Total int `json:"total"`
}

// Service manages keys in a store.
type Service struct {
	st    *store.Store
	clock clock.Clock
	cache *cache
	usage *usage
	grace time.Duration // see WithOutageGrace
	// quotas counts quota use; quotaInStore overrides where (see WithQuotaInStore).
	quotas       *quotas
	quotaInStore *bool
	// foreign says whether imported keys in another format exist (see foreignHash).
	foreign foreignFlag
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
	inStore := st.Dialect == store.Postgres
	if s.quotaInStore != nil {
		inStore = *s.quotaInStore
	}
	s.quotas = newQuotas(st, inStore)
	return s
}

// Create makes a key and returns it with its secret, which is never retrievable again.
func (s *Service) Create(ctx context.Context, p CreateParams) (Created, error) {
	return s.create(ctx, p, nil)
}

func (s *Service) create(ctx context.Context, p CreateParams, rec Recorder) (Created, error) {
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
	scopes, err := ValidScopes(p.Scopes)
	if err != nil {
		return Created{}, err
	}
	meta, err := ValidMetadata(p.Metadata)
	if err != nil {
		return Created{}, err
	}
	allow, err := ValidAllowIPs(p.AllowIPs)
	if err != nil {
		return Created{}, err
	}
	var quota, lastRefill any
	if p.Quota != nil {
		if err := ValidQuota(*p.Quota, p.RefillAmount, p.RefillInterval); err != nil {
			return Created{}, err
		}
		quota, lastRefill = *p.Quota, now.UnixMilli()
	} else if p.RefillAmount != 0 || p.RefillInterval != 0 {
		return Created{}, ErrInvalidRefill
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
			(id, org_id, name, prefix, start, created_at, created_by, expires_at, rate_limit, rate_window_ms,
			 scopes, metadata, allow_ips, quota_remaining, refill_amount, refill_interval_ms, last_refill_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, p.OrgID, name, k.Prefix, k.Start(), now.UnixMilli(), p.CreatedBy, millis(expires),
			p.RateLimit, window.Milliseconds(), encodeList(scopes), encodeMap(meta), encodeList(allow),
			quota, p.RefillAmount, p.RefillInterval.Milliseconds(), lastRefill); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO key_secrets (hash, key_id, created_at) VALUES (?, ?, ?)`,
			h[:], id, now.UnixMilli()); err != nil {
			return err
		}
		return s.record(ctx, tx, rec, Key{}, id, true)
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
	s.quotas.overlay(&k)
	return k, nil
}

// List returns a page of keys matching the filters, in the order asked (newest first by
// default).
func (s *Service) List(ctx context.Context, p ListParams) (Page, error) {
	if p.Limit == 0 {
		p.Limit = 50
	}
	if p.Limit < 1 || p.Limit > MaxPageSize {
		return Page{}, ErrInvalidLimit
	}
	if p.Sort == "" {
		p.Sort = SortCreated
	}
	order, ok := sortExprs[p.Sort]
	if !ok {
		return Page{}, ErrInvalidSort
	}
	if p.ExpiringWithin < 0 || p.ExpiringWithin > 3650*24*time.Hour {
		return Page{}, ErrInvalidExpiring
	}
	search := strings.TrimSpace(p.Search)
	if utf8.RuneCountInString(search) > MaxNameLen {
		return Page{}, ErrInvalidSearch
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
		where = append(where, "revoked_at IS NULL AND disabled_at IS NULL AND (expires_at IS NULL OR expires_at > ?)")
		args = append(args, now)
	case StatusDisabled:
		where = append(where, "revoked_at IS NULL AND disabled_at IS NOT NULL AND (expires_at IS NULL OR expires_at > ?)")
		args = append(args, now)
	case StatusExpired:
		where = append(where, "revoked_at IS NULL AND expires_at <= ?")
		args = append(args, now)
	case StatusRevoked:
		where = append(where, "revoked_at IS NOT NULL")
	default:
		return Page{}, ErrInvalidStatus
	}
	if search != "" {
		where = append(where, `LOWER(name) LIKE ? ESCAPE '\'`)
		args = append(args, "%"+likeEscaper.Replace(strings.ToLower(search))+"%")
	}
	if p.ExpiringWithin > 0 {
		where = append(where, "revoked_at IS NULL AND expires_at > ? AND expires_at <= ?")
		args = append(args, now, now+p.ExpiringWithin.Milliseconds())
	}
	var total int
	countQ := `SELECT COUNT(*) FROM keys`
	if len(where) > 0 {
		countQ += ` WHERE ` + strings.Join(where, " AND ")
	}
	if err := s.st.Read.QueryRowContext(ctx, countQ, args...).Scan(&total); err != nil {
		return Page{}, fmt.Errorf("count keys: %w", err)
	}
	cmp, dir := "<", "DESC"
	if p.Asc {
		cmp, dir = ">", "ASC"
	}
	if p.Cursor != "" {
		v, id, err := decodeCursor(p.Cursor, p.Sort, p.Asc)
		if err != nil {
			return Page{}, err
		}
		where = append(where, fmt.Sprintf("(%[1]s %[2]s ? OR (%[1]s = ? AND id %[2]s ?))", order, cmp))
		args = append(args, v, v, id)
	}
	q := `SELECT ` + keyColumns + ` FROM keys`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += fmt.Sprintf(` ORDER BY %s %s, id %s LIMIT ?`, order, dir, dir)
	args = append(args, p.Limit+1)
	rows, err := s.st.Read.QueryContext(ctx, q, args...)
	if err != nil {
		return Page{}, fmt.Errorf("list keys: %w", err)
	}
	defer rows.Close()
	page := Page{Keys: []Key{}, Total: total}
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
		page.NextCursor = encodeCursor(p.Sort, p.Asc, sortValue(p.Sort, &last), last.ID)
	}
	for i := range page.Keys {
		s.quotas.overlay(&page.Keys[i])
	}
	return page, nil
}

// sortExprs are the SQL expressions a list is ordered by; NULLs are mapped to values so that
// keyset paging compares them like any other.
var sortExprs = map[Sort]string{
	SortCreated:  "created_at",
	SortName:     "LOWER(name)",
	SortExpires:  "COALESCE(expires_at, 9223372036854775807)",
	SortLastUsed: "COALESCE(last_used_at, 0)",
}

// sortValue is k's value of the expression of sort, as a cursor carries it.
func sortValue(sort Sort, k *Key) any {
	switch sort {
	case SortName:
		return strings.ToLower(k.Name)
	case SortExpires:
		if k.ExpiresAt == nil {
			return int64(9223372036854775807)
		}
		return k.ExpiresAt.UnixMilli()
	case SortLastUsed:
		if k.LastUsedAt == nil {
			return int64(0)
		}
		return k.LastUsedAt.UnixMilli()
	}
	return k.CreatedAt.UnixMilli()
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// Rename changes a key's name.
func (s *Service) Rename(ctx context.Context, orgID, id, name string) (Key, error) {
	return s.Update(ctx, orgID, id, UpdateParams{Name: &name})
}

// SetRateLimit sets how many requests per window a key may make (0: unlimited).
func (s *Service) SetRateLimit(ctx context.Context, orgID, id string, limit int, window time.Duration) (Key, error) {
	return s.Update(ctx, orgID, id, UpdateParams{RateLimit: &limit, RateWindow: &window})
}

// Update changes what p sets, all or nothing: the first invalid input is returned and nothing
// changes. A revoked key cannot be changed (ErrRevoked). The next request sees the change: this
// process's cache is dropped before Update returns, other processes' by the change feed.
func (s *Service) Update(ctx context.Context, orgID, id string, p UpdateParams) (Key, error) {
	return s.update(ctx, orgID, id, p, nil)
}

func (s *Service) update(ctx context.Context, orgID, id string, p UpdateParams, rec Recorder) (Key, error) {
	now := s.now()
	var set []string
	var args []any
	add := func(col string, v any) {
		set = append(set, col+" = ?")
		args = append(args, v)
	}
	if p.Name != nil {
		name, err := ValidName(*p.Name)
		if err != nil {
			return Key{}, err
		}
		add("name", name)
	}
	if p.Expires != nil {
		expires, err := ParseExpiry(*p.Expires, now)
		if err != nil {
			return Key{}, err
		}
		add("expires_at", millis(expires))
	}
	if p.Scopes != nil {
		scopes, err := ValidScopes(*p.Scopes)
		if err != nil {
			return Key{}, err
		}
		add("scopes", encodeList(scopes))
	}
	if p.Metadata != nil {
		meta, err := ValidMetadata(*p.Metadata)
		if err != nil {
			return Key{}, err
		}
		add("metadata", encodeMap(meta))
	}
	if p.AllowIPs != nil {
		allow, err := ValidAllowIPs(*p.AllowIPs)
		if err != nil {
			return Key{}, err
		}
		add("allow_ips", encodeList(allow))
	}
	if p.Quota != nil && p.NoQuota {
		return Key{}, ErrInvalidQuota
	}
	if p.NoQuota && p.Refill != nil && (p.Refill.Amount != 0 || p.Refill.Interval != 0) {
		return Key{}, ErrInvalidRefill
	}
	k, err := s.Get(ctx, orgID, id)
	if err != nil {
		return Key{}, err
	}
	if k.RevokedAt != nil {
		return Key{}, ErrRevoked
	}
	if p.RateLimit != nil || p.RateWindow != nil {
		limit, window := k.RateLimit, k.RateWindow
		if p.RateLimit != nil {
			limit = *p.RateLimit
		}
		if p.RateWindow != nil {
			window = *p.RateWindow
		}
		window, err := validRate(limit, window)
		if err != nil {
			return Key{}, err
		}
		add("rate_limit", limit)
		add("rate_window_ms", window.Milliseconds())
	}
	quotaEdited := p.Quota != nil || p.NoQuota || p.Refill != nil
	var next *quotaState // the key's quota after the edit, as the in-memory count starts it
	if quotaEdited {
		next = &quotaState{none: p.NoQuota, lastRefill: now}
		if !p.NoQuota {
			if k.QuotaRemaining != nil {
				next.remaining, next.refillAmount, next.refillInterval = *k.QuotaRemaining, k.RefillAmount, k.refillInterval()
				if p.Quota == nil && k.LastRefillAt != nil {
					next.lastRefill = *k.LastRefillAt
				}
			} else if p.Quota == nil {
				return Key{}, ErrInvalidRefill // a refill needs a quota
			}
			if p.Quota != nil {
				next.remaining = *p.Quota
			}
			if p.Refill != nil {
				next.refillAmount, next.refillInterval = p.Refill.Amount, p.Refill.Interval
				next.lastRefill = now // the new interval starts now
			}
			if err := ValidQuota(next.remaining, next.refillAmount, next.refillInterval); err != nil {
				return Key{}, err
			}
		}
	}
	if len(set) == 0 && !quotaEdited {
		return k, nil
	}
	// write runs the UPDATE and records it, in one transaction; remaining is the count to store
	// (memory mode: the count in force at the moment of writing, so no request taken meanwhile
	// is lost).
	inMemoryEdit := quotaEdited && !s.quotas.inStore
	write := func(remaining int64) (int64, error) {
		set, args := set, args
		if quotaEdited {
			switch {
			case next.none:
				set = append(set, "quota_remaining = NULL", "refill_amount = 0", "refill_interval_ms = 0", "last_refill_at = NULL")
			case p.Quota == nil && s.quotas.inStore:
				// Only the refill changes: keep the count the nodes are taking from.
				set = append(set, "refill_amount = ?", "refill_interval_ms = ?", "last_refill_at = ?")
				args = append(args, next.refillAmount, next.refillInterval.Milliseconds(), next.lastRefill.UnixMilli())
			default:
				set = append(set, "quota_remaining = ?", "refill_amount = ?", "refill_interval_ms = ?", "last_refill_at = ?")
				args = append(args, remaining, next.refillAmount, next.refillInterval.Milliseconds(), next.lastRefill.UnixMilli())
			}
			set = append(set, "quota_gen = quota_gen + 1")
		}
		var gen int64
		err := s.st.Tx(ctx, func(tx *sql.Tx) error {
			if err := tx.QueryRowContext(ctx, `UPDATE keys SET `+strings.Join(set, ", ")+` WHERE id = ? RETURNING quota_gen`,
				append(args, id)...).Scan(&gen); err != nil {
				return err
			}
			return s.record(ctx, tx, rec, k, id, !inMemoryEdit)
		})
		if err != nil {
			return 0, fmt.Errorf("update key %s: %w", id, err)
		}
		return gen, nil
	}
	switch {
	case inMemoryEdit:
		err = s.quotas.edit(&k, next, p.Quota != nil, write)
	case quotaEdited:
		_, err = write(next.remaining)
	default:
		_, err = write(0)
	}
	if err != nil {
		return Key{}, err
	}
	s.changed(id)
	return s.Get(ctx, orgID, id)
}

// Disable turns a key off without revoking it: it answers DISABLED until Enable. Disabling a
// disabled key changes nothing; the bool says whether this call changed the key.
func (s *Service) Disable(ctx context.Context, orgID, id, by string) (Key, bool, error) {
	return s.setDisabled(ctx, orgID, id, by, true, nil)
}

// Enable turns a disabled key back on; enabling an enabled key changes nothing.
func (s *Service) Enable(ctx context.Context, orgID, id string) (Key, bool, error) {
	return s.setDisabled(ctx, orgID, id, "", false, nil)
}

func (s *Service) setDisabled(ctx context.Context, orgID, id, by string, off bool, rec Recorder) (Key, bool, error) {
	k, err := s.Get(ctx, orgID, id)
	if err != nil {
		return Key{}, false, err
	}
	if k.RevokedAt != nil {
		return Key{}, false, ErrRevoked
	}
	if (k.DisabledAt != nil) == off {
		return k, false, nil
	}
	q, args := `UPDATE keys SET disabled_at = NULL, disabled_by = '' WHERE id = ? AND disabled_at IS NOT NULL`, []any{id}
	if off {
		q, args = `UPDATE keys SET disabled_at = ?, disabled_by = ? WHERE id = ? AND disabled_at IS NULL`, []any{s.now().UnixMilli(), by, id}
	}
	var n int64
	err = s.st.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		return s.record(ctx, tx, rec, k, id, true)
	})
	if err != nil {
		verb := "enable"
		if off {
			verb = "disable"
		}
		return Key{}, false, fmt.Errorf("%s key %s: %w", verb, id, err)
	}
	s.changed(id)
	k, err = s.Get(ctx, orgID, id)
	return k, n > 0, err
}

// Revoke tombstones a key: every secret of it stops working before Revoke returns.
// Revoking a revoked key changes nothing and is not an error.
func (s *Service) Revoke(ctx context.Context, orgID, id, reason string) (Key, error) {
	return s.revoke(ctx, orgID, id, reason, nil)
}

func (s *Service) revoke(ctx context.Context, orgID, id, reason string, rec Recorder) (Key, error) {
	k, err := s.Get(ctx, orgID, id)
	if err != nil {
		return Key{}, err
	}
	if k.RevokedAt == nil {
		reason = strings.TrimSpace(reason)
		if utf8.RuneCountInString(reason) > MaxReasonLen {
			return Key{}, ErrInvalidReason
		}
		err := s.st.Tx(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, `UPDATE keys SET revoked_at = ?, revoke_reason = ? WHERE id = ? AND revoked_at IS NULL`,
				s.now().UnixMilli(), reason, id)
			if err != nil {
				return err
			}
			// Only the call that revoked the key records it (not one that lost a race to another).
			if n, err := res.RowsAffected(); err != nil || n == 0 {
				return err
			}
			return s.record(ctx, tx, rec, k, id, true)
		})
		if err != nil {
			return Key{}, fmt.Errorf("revoke key %s: %w", id, err)
		}
	}
	s.changed(id)
	return s.Get(ctx, orgID, id)
}

// Roll gives a key a new secret under the same id. The old secrets keep working for grace,
// then answer REVOKED.
func (s *Service) Roll(ctx context.Context, orgID, id string, grace time.Duration) (Created, error) {
	return s.roll(ctx, orgID, id, grace, nil)
}

func (s *Service) roll(ctx context.Context, orgID, id string, grace time.Duration, rec Recorder) (Created, error) {
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
	if k.Status == StatusExpired {
		return Created{}, ErrExpired
	}
	prefix := k.Prefix
	if !ValidPrefix(prefix) {
		// An imported key's prefix is another product's ("ba_", "Proj-"): its new secret
		// takes the organization's.
		if prefix, err = s.orgPrefix(ctx, k.OrgID); err != nil {
			return Created{}, err
		}
	}
	nk, err := Generate(prefix)
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
		if _, err := tx.ExecContext(ctx, `UPDATE keys SET prefix = ?, start = ? WHERE id = ?`, nk.Prefix, nk.Start(), id); err != nil {
			return err
		}
		return s.record(ctx, tx, rec, k, id, true)
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
	revoke_reason, last_used_at, usage_count, rate_limit, rate_window_ms, scopes, metadata, allow_ips,
	disabled_at, disabled_by, quota_remaining, refill_amount, refill_interval_ms, last_refill_at, quota_gen`

type scanner interface{ Scan(...any) error }

func scanKey(r scanner, now time.Time) (Key, error) {
	var k Key
	var created, window, refillAmount, refillInterval int64
	var expires, revoked, used, disabled, quota, lastRefill sql.NullInt64
	var scopes, meta, allow string
	if err := r.Scan(&k.ID, &k.OrgID, &k.Name, &k.Prefix, &k.Start, &created, &k.CreatedBy, &expires, &revoked,
		&k.RevokeReason, &used, &k.UsageCount, &k.RateLimit, &window, &scopes, &meta, &allow,
		&disabled, &k.DisabledBy, &quota, &refillAmount, &refillInterval, &lastRefill, &k.quotaGen); err != nil {
		return Key{}, err
	}
	k.CreatedAt = time.UnixMilli(created).UTC()
	k.ExpiresAt = fromMillis(expires)
	k.RevokedAt = fromMillis(revoked)
	k.LastUsedAt = fromMillis(used)
	k.DisabledAt = fromMillis(disabled)
	k.RateWindow = time.Duration(window) * time.Millisecond
	k.RateWindowSeconds = window / 1000
	if err := json.Unmarshal([]byte(scopes), &k.Scopes); err != nil {
		return Key{}, fmt.Errorf("key %s scopes: %w", k.ID, err)
	}
	if err := json.Unmarshal([]byte(meta), &k.Metadata); err != nil {
		return Key{}, fmt.Errorf("key %s metadata: %w", k.ID, err)
	}
	if err := json.Unmarshal([]byte(allow), &k.AllowIPs); err != nil {
		return Key{}, fmt.Errorf("key %s IP allowlist: %w", k.ID, err)
	}
	if k.Scopes == nil {
		k.Scopes = []string{}
	}
	if k.Metadata == nil {
		k.Metadata = map[string]string{}
	}
	if k.AllowIPs == nil {
		k.AllowIPs = []string{}
	}
	var err error
	if k.allow, err = parseAllowIPs(k.AllowIPs); err != nil {
		return Key{}, fmt.Errorf("key %s IP allowlist: %w", k.ID, err)
	}
	if quota.Valid {
		k.QuotaRemaining = &quota.Int64
		k.RefillAmount, k.RefillIntervalSeconds, k.LastRefillAt = refillAmount, refillInterval/1000, fromMillis(lastRefill)
	}
	k.Status = status(&k, now)
	return k, nil
}

func status(k *Key, now time.Time) Status {
	switch {
	case k.RevokedAt != nil:
		return StatusRevoked
	case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
		return StatusExpired
	case k.DisabledAt != nil:
		return StatusDisabled
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

// A cursor is the sort, the direction, the last row's sort value and id, base64url-encoded.
type cursor struct {
	Sort Sort   `json:"s"`
	Asc  bool   `json:"a,omitempty"`
	Num  *int64 `json:"n,omitempty"`
	Str  string `json:"v,omitempty"`
	ID   string `json:"i"`
}

func encodeCursor(sort Sort, asc bool, v any, id string) string {
	c := cursor{Sort: sort, Asc: asc, ID: id}
	switch v := v.(type) {
	case int64:
		c.Num = &v
	case string:
		c.Str = v
	}
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string, sort Sort, asc bool) (any, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, "", ErrInvalidCursor
	}
	var c cursor
	if err := json.Unmarshal(b, &c); err != nil || c.ID == "" || c.Sort != sort || c.Asc != asc {
		return nil, "", ErrInvalidCursor
	}
	if sort == SortName {
		return c.Str, c.ID, nil
	}
	if c.Num == nil {
		return nil, "", ErrInvalidCursor
	}
	return *c.Num, c.ID, nil
}
