package webhooks

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/keygate/keygate/backend/audit"
	"github.com/keygate/keygate/backend/ids"
	"github.com/keygate/keygate/backend/keys"
)

// Message is the body of every delivery: Standard Webhooks' recommended shape.
type Message struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      KeyData   `json:"data"`
}

// KeyData is what a key event says: the key as it is after the event (never a secret), and
// for key.expiring how long it has left ("7d" or "1d").
type KeyData struct {
	OrgID string   `json:"orgId"`
	Key   keys.Key `json:"key"`
	// Actor is who made the change ("cli", "local", a user id); "" for what the scheduler or
	// the gateway noticed.
	Actor     string `json:"actor,omitempty"`
	ExpiresIn string `json:"expiresIn,omitempty"`
}

// auditEvents maps the audit log's key actions to event types: the audit log is the one seam
// through which every key change made by the console, the desktop or the CLI passes, and its
// hook runs in the transaction of the key change itself (see keys.Recorder), which passes the
// key as it changed it.
var auditEvents = map[string]string{
	audit.KeyCreate:  KeyCreated,
	audit.KeyRename:  KeyUpdated,
	audit.KeyRevoke:  KeyRevoked,
	audit.KeyRoll:    KeyRolled,
	audit.KeyUpdate:  KeyUpdated,
	audit.KeyDisable: KeyDisabled,
	audit.KeyEnable:  KeyEnabled,
}

// ErrNoKey means a key action reached the hook with a subject that is not the key it names.
var ErrNoKey = errors.New("key event without its key")

// AuditHook is the audit.Hook that turns recorded key changes into events, in the change's
// transaction, from the key that transaction passes as the subject. An entry recorded without
// a subject (audit.Log.Record, outside any key change) makes no event: nothing here reads a key
// outside the transaction that changed it.
func (s *Service) AuditHook(ctx context.Context, tx *sql.Tx, e audit.Entry, subject any) error {
	event, ok := auditEvents[e.Action]
	if !ok || e.OrgID == "" || e.Target == "" || subject == nil {
		return nil
	}
	k, ok := subject.(keys.Key)
	if !ok || k.ID != e.Target || k.OrgID != e.OrgID {
		return fmt.Errorf("enqueue %s for %s: %w", event, e.Target, ErrNoKey)
	}
	return s.enqueue(ctx, tx, event, e.At, KeyData{OrgID: e.OrgID, Key: k, Actor: e.Actor})
}

// enqueue writes one delivery per endpoint of the organization that wants the event, in tx.
func (s *Service) enqueue(ctx context.Context, tx *sql.Tx, event string, at time.Time, d KeyData) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, events FROM webhook_endpoints WHERE org_id = ?`, d.OrgID)
	if err != nil {
		return fmt.Errorf("enqueue %s: %w", event, err)
	}
	var targets []string
	for rows.Next() {
		var id, ev string
		if err := rows.Scan(&id, &ev); err != nil {
			rows.Close()
			return fmt.Errorf("enqueue %s: %w", event, err)
		}
		var want []string
		if json.Unmarshal([]byte(ev), &want) == nil && (len(want) == 0 || contains(want, event)) {
			targets = append(targets, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("enqueue %s: %w", event, err)
	}
	if len(targets) == 0 {
		return nil
	}
	body, err := json.Marshal(Message{Type: event, Timestamp: at.UTC(), Data: d})
	if err != nil {
		return fmt.Errorf("enqueue %s: %w", event, err)
	}
	now := s.now().UnixMilli()
	for _, ep := range targets {
		id, err := ids.New("msg")
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries
			(id, endpoint_id, org_id, event, payload, created_at, status, next_attempt_at)
			VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)`, id, ep, d.OrgID, event, string(body), now, now); err != nil {
			return fmt.Errorf("enqueue %s: %w", event, err)
		}
	}
	// The worker is woken once tx has committed (Nudge): woken now, it would look before the
	// deliveries are there and sleep until its next poll.
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Nudge wakes this process's delivery worker (other nodes find the deliveries at their next
// poll). Call it once a transaction that may have enqueued deliveries has committed: the audit
// log does, for the entries whose hooks ran (audit.Log.OnCommitted).
func (s *Service) Nudge() { s.nudge() }

func (s *Service) nudge() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

const deliveryColumns = `d.id, d.endpoint_id, coalesce(e.url, ''), d.org_id, d.event, d.status, d.attempts, d.created_at,
	d.next_attempt_at, d.last_attempt_at, d.last_status, d.last_error, d.delivered_at, d.payload`

func scanDelivery(r interface{ Scan(...any) error }) (Delivery, error) {
	var d Delivery
	var created, next int64
	var last, delivered sql.NullInt64
	if err := r.Scan(&d.ID, &d.EndpointID, &d.URL, &d.OrgID, &d.Event, &d.Status, &d.Attempts, &created, &next, &last,
		&d.LastStatus, &d.LastError, &delivered, &d.Payload); err != nil {
		return Delivery{}, err
	}
	d.CreatedAt = time.UnixMilli(created).UTC()
	if d.Status == StatusPending {
		t := time.UnixMilli(next).UTC()
		d.NextAttemptAt = &t
	}
	d.LastAttemptAt = fromMillis(last)
	d.DeliveredAt = fromMillis(delivered)
	return d, nil
}

func fromMillis(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := time.UnixMilli(v.Int64).UTC()
	return &t
}

// Deliveries lists an organization's deliveries, newest first.
func (s *Service) Deliveries(ctx context.Context, f DeliveryFilter) (DeliveryPage, error) {
	if f.Limit == 0 {
		f.Limit = defaultPage
	}
	if f.Limit < 1 || f.Limit > MaxPageSize {
		return DeliveryPage{}, ErrInvalidLimit
	}
	where := []string{"d.org_id = ?"}
	args := []any{f.OrgID}
	switch f.Status {
	case "", "all":
	case StatusPending, StatusDelivered, StatusFailed:
		where = append(where, "d.status = ?")
		args = append(args, f.Status)
	default:
		return DeliveryPage{}, ErrInvalidStatus
	}
	if f.EndpointID != "" {
		if _, err := s.Get(ctx, f.OrgID, f.EndpointID); err != nil {
			return DeliveryPage{}, err
		}
		where = append(where, "d.endpoint_id = ?")
		args = append(args, f.EndpointID)
	}
	if f.Cursor != "" {
		at, id, err := decodeCursor(f.Cursor)
		if err != nil {
			return DeliveryPage{}, err
		}
		where = append(where, "(d.created_at < ? OR (d.created_at = ? AND d.id < ?))")
		args = append(args, at, at, id)
	}
	args = append(args, f.Limit+1)
	rows, err := s.st.Read.QueryContext(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries d
		LEFT JOIN webhook_endpoints e ON e.id = d.endpoint_id WHERE `+strings.Join(where, " AND ")+`
		ORDER BY d.created_at DESC, d.id DESC LIMIT ?`, args...)
	if err != nil {
		return DeliveryPage{}, fmt.Errorf("list webhook deliveries: %w", err)
	}
	defer rows.Close()
	page := DeliveryPage{Deliveries: []Delivery{}}
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return DeliveryPage{}, fmt.Errorf("list webhook deliveries: %w", err)
		}
		page.Deliveries = append(page.Deliveries, d)
	}
	if err := rows.Err(); err != nil {
		return DeliveryPage{}, fmt.Errorf("list webhook deliveries: %w", err)
	}
	if len(page.Deliveries) > f.Limit {
		page.Deliveries = page.Deliveries[:f.Limit]
		last := page.Deliveries[f.Limit-1]
		page.NextCursor = encodeCursor(last.CreatedAt.UnixMilli(), last.ID)
	}
	return page, nil
}

// Delivery returns one delivery of an organization.
func (s *Service) Delivery(ctx context.Context, orgID, id string) (Delivery, error) {
	d, err := scanDelivery(s.st.Read.QueryRowContext(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries d
		LEFT JOIN webhook_endpoints e ON e.id = d.endpoint_id WHERE d.id = ? AND d.org_id = ?`, id, orgID))
	if errors.Is(err, sql.ErrNoRows) {
		return Delivery{}, ErrDeliveryNotFound
	}
	if err != nil {
		return Delivery{}, fmt.Errorf("get webhook delivery %s: %w", id, err)
	}
	return d, nil
}

// Retry sends a delivery again now: a failed one gets a fresh round of attempts, a pending
// one is moved forward. A delivered one is sent again too (a receiver that lost it asks).
func (s *Service) Retry(ctx context.Context, orgID, id string) (Delivery, error) {
	return s.retry(ctx, orgID, id, nil)
}

func (s *Service) retry(ctx context.Context, orgID, id string, rec RetryRecorder) (Delivery, error) {
	if _, err := s.Delivery(ctx, orgID, id); err != nil {
		return Delivery{}, err
	}
	err := s.st.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET status = 'pending', attempts = 0,
			next_attempt_at = ?, delivered_at = NULL WHERE id = ? AND org_id = ?`, s.now().UnixMilli(), id, orgID); err != nil {
			return err
		}
		if rec == nil {
			return nil
		}
		d, err := scanDelivery(tx.QueryRowContext(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries d
			LEFT JOIN webhook_endpoints e ON e.id = d.endpoint_id WHERE d.id = ? AND d.org_id = ?`, id, orgID))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrDeliveryNotFound
		}
		if err != nil {
			return err
		}
		return rec(ctx, tx, d)
	})
	if errors.Is(err, ErrDeliveryNotFound) {
		return Delivery{}, err
	}
	if err != nil {
		return Delivery{}, fmt.Errorf("retry webhook delivery %s: %w", id, err)
	}
	s.nudge()
	return s.Delivery(ctx, orgID, id)
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
