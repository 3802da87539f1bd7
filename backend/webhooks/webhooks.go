// Package webhooks tells an organization's own endpoints what happens to its keys: endpoints
// (URL, events wanted, a whsec_ secret sealed at rest), events written to a persistent outbox
// in the transaction that records the change, and a worker that delivers them signed as
// Standard Webhooks, retrying with backoff, one node per delivery.
package webhooks

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/keygate/keygate/backend/clock"
	"github.com/keygate/keygate/backend/ids"
	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/problem"
	"github.com/keygate/keygate/backend/seal"
	"github.com/keygate/keygate/backend/store"
)

// Event types.
const (
	KeyCreated        = "key.created"
	KeyUpdated        = "key.updated"
	KeyDisabled       = "key.disabled"
	KeyEnabled        = "key.enabled"
	KeyRevoked        = "key.revoked"
	KeyRolled         = "key.rolled"
	KeyExpiring       = "key.expiring"
	KeyExpired        = "key.expired"
	KeyQuotaExhausted = "key.quota_exhausted"
)

// Events lists every event type an endpoint may ask for.
var Events = []string{KeyCreated, KeyUpdated, KeyDisabled, KeyEnabled, KeyRevoked, KeyRolled, KeyExpiring,
	KeyExpired, KeyQuotaExhausted}

// Delivery statuses.
const (
	StatusPending   = "pending"
	StatusDelivered = "delivered"
	StatusFailed    = "failed"
)

// Bounds.
const (
	MaxURLLen      = 2048
	MaxEndpoints   = 50 // per organization
	MaxPageSize    = 500
	defaultPage    = 50
	maxErrorLen    = 300
	deliveryWindow = 30 * 24 * time.Hour // finished deliveries are kept this long
)

var (
	// ErrNotFound means no endpoint has that id in that organization.
	ErrNotFound = errors.New("webhook endpoint not found")
	// ErrDeliveryNotFound means no delivery has that id in that organization.
	ErrDeliveryNotFound = errors.New("webhook delivery not found")
	// ErrTooMany means the organization already has MaxEndpoints endpoints.
	ErrTooMany = errors.New("too many webhook endpoints")
	// ErrInvalidURL means a URL that is not an absolute http(s) URL with a host.
	ErrInvalidURL error = &problem.Invalid{Field: "url", Code: "invalid", Msg: "validation.webhook.url.invalid",
		Text: "url must be an absolute http:// or https:// URL with a host"}
	// ErrURLCredentials means a URL holding a user name or password, which would be stored in
	// plain text: the signature is how a receiver knows the sender.
	ErrURLCredentials error = &problem.Invalid{Field: "url", Code: "credentials", Msg: "validation.webhook.url.credentials",
		Text: "url must not contain a user name or password; receivers check the signature instead"}
	// ErrURLTooLong means a URL over MaxURLLen bytes.
	ErrURLTooLong error = &problem.Invalid{Field: "url", Code: "too_long", Msg: "validation.webhook.url.too_long",
		Data: map[string]any{"Count": MaxURLLen}, Text: fmt.Sprintf("url must be at most %d characters", MaxURLLen)}
	// ErrInvalidEvent means an event type that is not one of Events.
	ErrInvalidEvent error = &problem.Invalid{Field: "events", Code: "invalid", Msg: "validation.webhook.event.invalid",
		Data: map[string]any{"Events": strings.Join(Events, ", ")}, Text: "events must be among " + strings.Join(Events, ", ")}
	// ErrInvalidStatus means a delivery filter other than pending, delivered, failed or all.
	ErrInvalidStatus error = &problem.Invalid{Field: "status", Code: "invalid", Msg: "validation.webhook.status.invalid",
		Text: "status must be pending, delivered, failed or all"}
	// ErrInvalidLimit means a page size outside 1 to MaxPageSize.
	ErrInvalidLimit error = &problem.Invalid{Field: "limit", Code: "range", Msg: "validation.limit.range",
		Data: map[string]any{"Count": MaxPageSize}, Text: fmt.Sprintf("limit must be between 1 and %d", MaxPageSize)}
	// ErrInvalidCursor means a page cursor this package did not make.
	ErrInvalidCursor error = &problem.Invalid{Field: "cursor", Code: "invalid", Msg: "validation.cursor.invalid",
		Text: "invalid page cursor"}
)

// Endpoint is a receiver of an organization's events (never its secret).
type Endpoint struct {
	ID    string `json:"id"`
	OrgID string `json:"orgId"`
	URL   string `json:"url"`
	// Events are the event types sent to it; empty means every event.
	Events    []string  `json:"events"`
	CreatedAt time.Time `json:"createdAt"`
	CreatedBy string    `json:"createdBy"`
}

// CreatedEndpoint is a new endpoint with its secret: shown once, never again.
type CreatedEndpoint struct {
	ID        string    `json:"id"`
	OrgID     string    `json:"orgId"`
	URL       string    `json:"url"`
	Events    []string  `json:"events"`
	CreatedAt time.Time `json:"createdAt"`
	CreatedBy string    `json:"createdBy"`
	// Secret is the whsec_ signing secret: the receiver verifies deliveries with it.
	Secret string `json:"secret"`
}

// AddParams are the inputs of Add.
type AddParams struct {
	OrgID     string
	URL       string
	Events    []string
	CreatedBy string
}

// Delivery is one event on its way to one endpoint.
type Delivery struct {
	// ID is the webhook-id the receiver sees, the same on every attempt.
	ID            string     `json:"id"`
	EndpointID    string     `json:"endpointId"`
	URL           string     `json:"url"`
	OrgID         string     `json:"orgId"`
	Event         string     `json:"event"`
	Status        string     `json:"status" enum:"pending,delivered,failed"`
	Attempts      int        `json:"attempts"`
	CreatedAt     time.Time  `json:"createdAt"`
	NextAttemptAt *time.Time `json:"nextAttemptAt"`
	LastAttemptAt *time.Time `json:"lastAttemptAt"`
	// LastStatus is the HTTP status of the last attempt (0: no answer, see LastError).
	LastStatus  int        `json:"lastStatus"`
	LastError   string     `json:"lastError"`
	DeliveredAt *time.Time `json:"deliveredAt"`
	// Payload is the JSON body sent.
	Payload string `json:"payload"`
}

// DeliveryFilter selects deliveries for Deliveries.
type DeliveryFilter struct {
	OrgID      string
	EndpointID string // "" for every endpoint
	Status     string // pending, delivered, failed, all or ""
	Limit      int    // 1–500, default 50
	Cursor     string
}

// DeliveryPage is a page of deliveries, newest first.
type DeliveryPage struct {
	Deliveries []Delivery `json:"deliveries"`
	NextCursor string     `json:"nextCursor,omitempty"`
}

// Options configure a Service.
type Options struct {
	Clock  clock.Clock
	Logger *slog.Logger
	// Keys loads the key an event is about (its state after the change).
	Keys *keys.Service
	// Seal returns the box that seals endpoint secrets; it is called on first need (adding an
	// endpoint, delivering), so an instance that never uses webhooks never makes a key.
	Seal func() (*seal.Box, error)
	// Client sends deliveries (default: 15 s timeout, no redirects followed).
	Client *http.Client
	// Backoff are the waits before the second, third, … attempt; after the last, a delivery
	// is failed. Default: DefaultBackoff.
	Backoff []time.Duration
	// PollEvery is how often the worker looks for due deliveries (default 1 s); ScanEvery how
	// often the scheduler looks for expiring keys (default 1 min).
	PollEvery time.Duration
	ScanEvery time.Duration
}

// DefaultBackoff: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h — eight attempts over about 28 hours.
var DefaultBackoff = []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour,
	5 * time.Hour, 10 * time.Hour, 10 * time.Hour}

// Service manages endpoints and delivers events.
type Service struct {
	st     *store.Store
	o      Options
	seal   func() (*seal.Box, error)
	node   string // this process's lease owner name
	kick   chan struct{}
	client *http.Client
}

// New returns a Service over st.
func New(st *store.Store, o Options) *Service {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Backoff == nil {
		o.Backoff = DefaultBackoff
	}
	if o.PollEvery <= 0 {
		o.PollEvery = time.Second
	}
	if o.ScanEvery <= 0 {
		o.ScanEvery = time.Minute
	}
	s := &Service{st: st, o: o, kick: make(chan struct{}, 1), client: o.Client}
	if s.client == nil {
		s.client = &http.Client{Timeout: 15 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if o.Seal == nil {
		o.Seal = func() (*seal.Box, error) { return nil, errors.New("webhooks: no secrets key configured") }
	}
	s.seal = sync.OnceValues(o.Seal)
	b := make([]byte, 8)
	rand.Read(b)
	s.node = "node_" + hex.EncodeToString(b)
	return s
}

func (s *Service) now() time.Time { return s.o.Clock.Now().UTC().Truncate(time.Millisecond) }

// ValidURL checks an endpoint URL: absolute http(s) with a host (loopback is fine: developers
// test against local receivers), no credentials, no fragment, at most MaxURLLen bytes.
func ValidURL(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", &problem.Invalid{Field: "url", Code: "required", Msg: "validation.webhook.url.invalid", Text: "url is required", Err: ErrInvalidURL}
	}
	if len(raw) > MaxURLLen {
		return "", ErrURLTooLong
	}
	for _, r := range raw {
		if r <= 0x20 || r == 0x7f {
			return "", ErrInvalidURL
		}
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" || u.Opaque != "" {
		return "", ErrInvalidURL
	}
	if u.User != nil {
		return "", ErrURLCredentials
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return "", ErrInvalidURL
	}
	if !utf8.ValidString(raw) {
		return "", ErrInvalidURL
	}
	return u.String(), nil
}

// ValidEvents checks and normalizes an event list: known types, no repeats, in Events'
// order. Empty means every event.
func ValidEvents(in []string) ([]string, error) {
	want := map[string]bool{}
	for _, e := range in {
		e = strings.TrimSpace(e)
		if !slices.Contains(Events, e) {
			return nil, ErrInvalidEvent
		}
		want[e] = true
	}
	out := []string{}
	for _, e := range Events {
		if want[e] {
			out = append(out, e)
		}
	}
	return out, nil
}

// Add creates an endpoint and returns it with its secret, which is never shown again.
func (s *Service) Add(ctx context.Context, p AddParams) (CreatedEndpoint, error) {
	return s.add(ctx, p, nil)
}

func (s *Service) add(ctx context.Context, p AddParams, rec Recorder) (CreatedEndpoint, error) {
	u, uerr := ValidURL(p.URL)
	events, eerr := ValidEvents(p.Events)
	if err := errors.Join(uerr, eerr); err != nil {
		return CreatedEndpoint{}, err
	}
	if p.OrgID == "" || p.CreatedBy == "" {
		return CreatedEndpoint{}, errors.New("add webhook endpoint: organization and creator are required")
	}
	box, err := s.seal()
	if err != nil {
		return CreatedEndpoint{}, fmt.Errorf("add webhook endpoint: %w", err)
	}
	id, err := ids.New("wh")
	if err != nil {
		return CreatedEndpoint{}, err
	}
	secret, err := NewSecret()
	if err != nil {
		return CreatedEndpoint{}, err
	}
	sealed, err := box.Seal([]byte(secret), []byte(id))
	if err != nil {
		return CreatedEndpoint{}, err
	}
	ev, _ := json.Marshal(events)
	now := s.now()
	err = s.st.Tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM webhook_endpoints WHERE org_id = ?`, p.OrgID).Scan(&n); err != nil {
			return err
		}
		if n >= MaxEndpoints {
			return ErrTooMany
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO webhook_endpoints (id, org_id, url, events, secret, created_at, created_by)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, id, p.OrgID, u, string(ev), sealed, now.UnixMilli(), p.CreatedBy)
		if err != nil || rec == nil {
			return err
		}
		return rec(ctx, tx, Endpoint{ID: id, OrgID: p.OrgID, URL: u, Events: events, CreatedAt: now, CreatedBy: p.CreatedBy})
	})
	if err != nil {
		if errors.Is(err, ErrTooMany) {
			return CreatedEndpoint{}, err
		}
		return CreatedEndpoint{}, fmt.Errorf("add webhook endpoint: %w", err)
	}
	return CreatedEndpoint{ID: id, OrgID: p.OrgID, URL: u, Events: events, CreatedAt: now, CreatedBy: p.CreatedBy,
		Secret: secret}, nil
}

const endpointColumns = `id, org_id, url, events, created_at, created_by`

func scanEndpoint(r interface{ Scan(...any) error }) (Endpoint, error) {
	var e Endpoint
	var ev string
	var created int64
	if err := r.Scan(&e.ID, &e.OrgID, &e.URL, &ev, &created, &e.CreatedBy); err != nil {
		return Endpoint{}, err
	}
	e.Events = []string{}
	if err := json.Unmarshal([]byte(ev), &e.Events); err != nil {
		return Endpoint{}, fmt.Errorf("endpoint %s: events: %w", e.ID, err)
	}
	e.CreatedAt = time.UnixMilli(created).UTC()
	return e, nil
}

// List returns an organization's endpoints, oldest first.
func (s *Service) List(ctx context.Context, orgID string) ([]Endpoint, error) {
	rows, err := s.st.Read.QueryContext(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints WHERE org_id = ?
		ORDER BY created_at, id`, orgID)
	if err != nil {
		return nil, fmt.Errorf("list webhook endpoints: %w", err)
	}
	defer rows.Close()
	out := []Endpoint{}
	for rows.Next() {
		e, err := scanEndpoint(rows)
		if err != nil {
			return nil, fmt.Errorf("list webhook endpoints: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Get returns one endpoint of an organization.
func (s *Service) Get(ctx context.Context, orgID, id string) (Endpoint, error) {
	e, err := scanEndpoint(s.st.Read.QueryRowContext(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints
		WHERE id = ? AND org_id = ?`, id, orgID))
	if errors.Is(err, sql.ErrNoRows) {
		return Endpoint{}, ErrNotFound
	}
	if err != nil {
		return Endpoint{}, fmt.Errorf("get webhook endpoint %s: %w", id, err)
	}
	return e, nil
}

// Remove deletes an endpoint with its deliveries, pending ones included: nothing more is sent
// to it.
func (s *Service) Remove(ctx context.Context, orgID, id string) (Endpoint, error) {
	return s.remove(ctx, orgID, id, nil)
}

func (s *Service) remove(ctx context.Context, orgID, id string, rec Recorder) (Endpoint, error) {
	e, err := s.Get(ctx, orgID, id)
	if err != nil {
		return Endpoint{}, err
	}
	err = s.st.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM webhook_deliveries WHERE endpoint_id = ?`, id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM webhook_endpoints WHERE id = ? AND org_id = ?`, id, orgID)
		if err != nil || rec == nil {
			return err
		}
		// Only the call that removed the endpoint records it (not one that lost a race).
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		return rec(ctx, tx, e)
	})
	if err != nil {
		return Endpoint{}, fmt.Errorf("remove webhook endpoint %s: %w", id, err)
	}
	return e, nil
}
