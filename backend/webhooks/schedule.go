package webhooks

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/keygate/keygate/backend/keys"
)

// Notice kinds (webhook_notices.kind).
const (
	noticeExpiring7d = "expiring_7d"
	noticeExpiring1d = "expiring_1d"
	noticeExpired    = "expired"
	noticeQuota      = "quota_exhausted"
)

const (
	day = 24 * time.Hour
	// expiredHorizon bounds how late key.expired is still sent (a node down for days sends
	// the ones of the last week, not every key that ever expired).
	expiredHorizon = 7 * day
)

// ScanExpiring sends key.expiring 7 days and 1 day before a key expires, and key.expired once
// it has. Each notice is recorded with the expiry it is about, in the transaction that
// enqueues it, so it is sent once whichever node scans, and again if the expiry changes. A key
// first seen inside the last day gets only the 1-day notice. Revoked keys get none.
func (s *Service) ScanExpiring(ctx context.Context) error {
	now := s.now()
	rows, err := s.st.Read.QueryContext(ctx, `SELECT k.id, k.org_id, k.expires_at FROM keys k
		WHERE k.revoked_at IS NULL AND k.expires_at IS NOT NULL AND k.expires_at > ? AND k.expires_at <= ?
		AND EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.org_id = k.org_id)`,
		now.Add(-expiredHorizon).UnixMilli(), now.Add(7*day).UnixMilli())
	if err != nil {
		return fmt.Errorf("scan expiring keys: %w", err)
	}
	type due struct {
		key, org, kind, in string
		at                 int64
	}
	var todo []due
	for rows.Next() {
		var d due
		if err := rows.Scan(&d.key, &d.org, &d.at); err != nil {
			rows.Close()
			return fmt.Errorf("scan expiring keys: %w", err)
		}
		switch left := time.UnixMilli(d.at).Sub(now); {
		case left <= 0:
			d.kind = noticeExpired
		case left <= day:
			d.kind, d.in = noticeExpiring1d, "1d"
		default:
			d.kind, d.in = noticeExpiring7d, "7d"
		}
		todo = append(todo, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("scan expiring keys: %w", err)
	}
	for _, d := range todo {
		event := KeyExpiring
		if d.kind == noticeExpired {
			event = KeyExpired
		}
		if err := s.notice(ctx, d.org, d.key, d.kind, d.at, event, d.in); err != nil {
			return err
		}
	}
	return nil
}

// notice enqueues event about a key unless the notice (key, kind, at) was already sent.
func (s *Service) notice(ctx context.Context, org, keyID, kind string, at int64, event, expiresIn string) error {
	k, err := s.o.Keys.Get(ctx, org, keyID)
	if err != nil {
		return fmt.Errorf("notice %s of key %s: %w", kind, keyID, err)
	}
	err = s.st.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO webhook_notices (key_id, kind, at) VALUES (?, ?, ?)
			ON CONFLICT (key_id, kind, at) DO NOTHING`, keyID, kind, at)
		if err != nil {
			return fmt.Errorf("notice %s of key %s: %w", kind, keyID, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		return s.enqueue(ctx, tx, event, s.now(), KeyData{OrgID: org, Key: k, ExpiresIn: expiresIn})
	})
	if err == nil {
		s.nudge()
	}
	return err
}

// OnQuotaExhausted is the callback for keys.Service.OnQuotaExhausted: the keys package calls
// it (on a goroutine of its own) when a request uses the last of a key's quota, once per quota
// round on the node whose take emptied it (in memory on one node, an atomic store update on
// several), so the instant of exhaustion names the round.
func (s *Service) OnQuotaExhausted(k keys.Key) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.QuotaExhausted(ctx, k.OrgID, k.ID, s.now()); err != nil {
		s.o.Logger.Warn("key.quota_exhausted not queued", "key", k.ID, "err", err)
	}
}

// QuotaExhausted sends key.quota_exhausted for a key whose quota ran out. period identifies
// the quota's current round (e.g. the instant of its last refill, the same on every node), so
// that each round is announced once however many nodes or requests notice it. It writes to
// the store: call it off the request path.
func (s *Service) QuotaExhausted(ctx context.Context, orgID, keyID string, period time.Time) error {
	return s.notice(ctx, orgID, keyID, noticeQuota, period.UnixMilli(), KeyQuotaExhausted, "")
}
