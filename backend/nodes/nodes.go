// Package nodes is the registry of the gateway nodes that share one database: each running
// `keygate serve` registers itself and refreshes its row every few seconds (Heartbeat); List
// shows the cluster, with a node whose row went stale marked as gone.
package nodes

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"time"

	"github.com/keygate/keygate/backend/ids"
	"github.com/keygate/keygate/backend/store"
)

// Every is how often a node refreshes its row; GoneAfter is when a silent node counts as gone.
const (
	Every     = 5 * time.Second
	GoneAfter = 15 * time.Second
)

// Node is one registered node.
type Node struct {
	ID                string    `json:"id"`
	Name              string    `json:"name"`
	Version           string    `json:"version"`
	Address           string    `json:"address"`
	StartedAt         time.Time `json:"startedAt"`
	LastSeenAt        time.Time `json:"lastSeenAt"`
	RequestsPerSecond int64     `json:"requestsPerSecond"`
	Live              bool      `json:"live"`
}

// Self describes this process for Heartbeat.
type Self struct {
	Version string
	Address string
	// AddressOf, when set, gives the address at each beat instead of Address: the gateway's
	// port can change while it runs (the Gateway screen's Ports).
	AddressOf func() string
	// Requests returns the requests answered since start (the rate is computed from it).
	Requests func() uint64
}

// Heartbeat registers this process and refreshes its row every Every until ctx ends, then
// removes it (a killed node's row simply goes stale). It returns the node's id at once through
// registered, after the first write.
func Heartbeat(ctx context.Context, st *store.Store, self Self, registered chan<- string) error {
	id, err := ids.New("node")
	if err != nil {
		return err
	}
	name, _ := os.Hostname()
	started := time.Now()
	var lastN uint64
	lastT := started
	beat := func(rps int64) error {
		now := time.Now().UnixMilli()
		addr := self.Address
		if self.AddressOf != nil {
			addr = self.AddressOf()
		}
		_, err := st.Write.ExecContext(ctx, `INSERT INTO nodes (id, name, version, address, started_at, last_seen_at, requests_per_second)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET last_seen_at = excluded.last_seen_at,
			requests_per_second = excluded.requests_per_second, address = excluded.address`,
			id, name, self.Version, addr, started.UnixMilli(), now, rps)
		return err
	}
	if err := beat(0); err != nil {
		return fmt.Errorf("register node: %w", err)
	}
	if registered != nil {
		registered <- id
	}
	t := time.NewTicker(Every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			defer cancel()
			st.Write.ExecContext(dctx, `DELETE FROM nodes WHERE id = ?`, id)
			return nil
		case now := <-t.C:
			var rps int64
			if self.Requests != nil {
				n := self.Requests()
				if secs := now.Sub(lastT).Seconds(); secs > 0 && n >= lastN {
					rps = int64(float64(n-lastN)/secs + 0.5)
				}
				lastN, lastT = n, now
			}
			_ = beat(rps) // the database may be away; the next beat tries again
			// Rows gone stale for a day are forgotten.
			st.Write.ExecContext(ctx, `DELETE FROM nodes WHERE last_seen_at < ?`, now.Add(-24*time.Hour).UnixMilli())
		}
	}
}

// List returns the registered nodes, live ones first, then by name.
func List(ctx context.Context, st *store.Store) ([]Node, error) {
	rows, err := st.Read.QueryContext(ctx, `SELECT id, name, version, address, started_at, last_seen_at, requests_per_second
		FROM nodes ORDER BY last_seen_at DESC, name, id`)
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	defer rows.Close()
	now := time.Now()
	out := []Node{}
	for rows.Next() {
		var n Node
		var started, seen int64
		if err := rows.Scan(&n.ID, &n.Name, &n.Version, &n.Address, &started, &seen, &n.RequestsPerSecond); err != nil {
			return nil, fmt.Errorf("list nodes: %w", err)
		}
		n.StartedAt, n.LastSeenAt = time.UnixMilli(started).UTC(), time.UnixMilli(seen).UTC()
		n.Live = now.Sub(n.LastSeenAt) <= GoneAfter
		out = append(out, n)
	}
	return out, rows.Err()
}

// Others counts the live nodes other than id.
func Others(ctx context.Context, st *store.Store, id string) (int, error) {
	var n int
	err := st.Read.QueryRowContext(ctx, `SELECT count(*) FROM nodes WHERE id != ? AND last_seen_at >= ?`,
		id, time.Now().Add(-GoneAfter).UnixMilli()).Scan(&n)
	if err == sql.ErrNoRows {
		return 0, nil
	}
	return n, err
}
