package webhooks

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Worker tuning.
const (
	batchSize   = 16
	parallel    = 8
	leaseLength = time.Minute // longer than the client's timeout: a live node never loses its lease
	userAgent   = "Keygate-Webhooks/1"
)

// Run delivers due events and runs the expiry scheduler until ctx ends. Every long-running
// node runs it; the lease taken in a write transaction makes each delivery one node's.
func (s *Service) Run(ctx context.Context) error {
	poll := time.NewTicker(s.o.PollEvery)
	defer poll.Stop()
	scan := time.NewTicker(s.o.ScanEvery)
	defer scan.Stop()
	s.scanOnce(ctx)
	for {
		for {
			n, err := s.DeliverDue(ctx)
			if err != nil && ctx.Err() == nil {
				s.o.Logger.Warn("webhook deliveries", "err", err)
			}
			if n < batchSize || err != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-poll.C:
		case <-s.kick:
		case <-scan.C:
			s.scanOnce(ctx)
		}
	}
}

func (s *Service) scanOnce(ctx context.Context) {
	if err := s.ScanExpiring(ctx); err != nil && ctx.Err() == nil {
		s.o.Logger.Warn("webhook expiry scan", "err", err)
	}
	if err := s.prune(ctx); err != nil && ctx.Err() == nil {
		s.o.Logger.Warn("webhook deliveries prune", "err", err)
	}
}

type claimed struct {
	id, endpoint, url, payload string
	attempts                   int
	secret                     []byte
}

// DeliverDue claims up to a batch of due deliveries, sends them and records each result. It
// returns how many it claimed.
func (s *Service) DeliverDue(ctx context.Context) (int, error) {
	now := s.now().UnixMilli()
	// A cheap read first: most polls find nothing and take no write lock.
	var due int
	if err := s.st.Read.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM webhook_deliveries
		WHERE status = 'pending' AND next_attempt_at <= ? AND lease_until <= ? LIMIT 1) x`, now, now).Scan(&due); err != nil {
		return 0, err
	}
	if due == 0 {
		return 0, nil
	}
	var batch []claimed
	err := s.st.Tx(ctx, func(tx *sql.Tx) error {
		batch = batch[:0]
		rows, err := tx.QueryContext(ctx, `SELECT d.id, d.endpoint_id, e.url, d.payload, d.attempts, e.secret
			FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
			WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND d.lease_until <= ?
			ORDER BY d.next_attempt_at, d.id LIMIT ?`, now, now, batchSize)
		if err != nil {
			return err
		}
		for rows.Next() {
			var c claimed
			if err := rows.Scan(&c.id, &c.endpoint, &c.url, &c.payload, &c.attempts, &c.secret); err != nil {
				rows.Close()
				return err
			}
			batch = append(batch, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		// The attempt counts from its claim: one cut short by a crash, whose result was never
		// saved, is still an attempt (record writes the same count, c.attempts+1).
		for _, c := range batch {
			if _, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET lease_owner = ?, lease_until = ?, attempts = attempts + 1 WHERE id = ?`,
				s.node, now+leaseLength.Milliseconds(), c.id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("claim webhook deliveries: %w", err)
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, parallel)
	for _, c := range batch {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			status, sendErr := s.send(ctx, c)
			if ctx.Err() != nil && status == 0 {
				// Shutting down before an answer: the lease runs out and the delivery is tried
				// again. An answer that did arrive is recorded, or the receiver would get it twice.
				return
			}
			if err := s.record(context.WithoutCancel(ctx), c, status, sendErr); err != nil {
				s.o.Logger.Warn("webhook delivery result not saved", "delivery", c.id, "err", err)
			}
		}()
	}
	wg.Wait()
	return len(batch), nil
}

// send makes one attempt: the signed POST. It returns the HTTP status (0 without an answer).
func (s *Service) send(ctx context.Context, c claimed) (int, error) {
	box, err := s.seal()
	if err != nil {
		return 0, err
	}
	secret, err := box.Open(c.secret, []byte(c.endpoint))
	if err != nil {
		return 0, err
	}
	at := s.o.Clock.Now()
	sig, err := Sign(string(secret), c.id, at, []byte(c.payload))
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader([]byte(c.payload)))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set(HeaderID, c.id)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(at.Unix(), 10))
	req.Header.Set(HeaderSignature, sig)
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("answered %s", resp.Status)
	}
	return resp.StatusCode, nil
}

// record saves an attempt's result: delivered, or pending with the next attempt after the
// backoff, or failed after the last attempt (or at once for 410 Gone).
func (s *Service) record(ctx context.Context, c claimed, status int, sendErr error) error {
	now := s.now().UnixMilli()
	attempts := c.attempts + 1
	if sendErr == nil {
		_, err := s.st.Write.ExecContext(ctx, `UPDATE webhook_deliveries SET status = 'delivered', attempts = ?,
			last_attempt_at = ?, last_status = ?, last_error = '', delivered_at = ?, lease_owner = '', lease_until = 0
			WHERE id = ? AND lease_owner = ?`, attempts, now, status, now, c.id, s.node)
		return err
	}
	msg := sendErr.Error()
	if len(msg) > maxErrorLen {
		msg = msg[:maxErrorLen]
	}
	next, state := now, StatusPending
	if attempts > len(s.o.Backoff) || status == http.StatusGone {
		state = StatusFailed
	} else {
		next = now + s.o.Backoff[attempts-1].Milliseconds()
	}
	_, err := s.st.Write.ExecContext(ctx, `UPDATE webhook_deliveries SET status = ?, attempts = ?, last_attempt_at = ?,
		last_status = ?, last_error = ?, next_attempt_at = ?, lease_owner = '', lease_until = 0
		WHERE id = ? AND lease_owner = ?`, state, attempts, now, status, msg, next, c.id, s.node)
	return err
}

// prune deletes finished deliveries older than thirty days.
func (s *Service) prune(ctx context.Context) error {
	cut := s.now().Add(-deliveryWindow).UnixMilli()
	_, err := s.st.Write.ExecContext(ctx, `DELETE FROM webhook_deliveries WHERE status <> 'pending' AND created_at < ?`, cut)
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
