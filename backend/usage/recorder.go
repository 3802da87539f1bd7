// Package usage keeps the gateway's traffic as per-minute rollups per organization, key and
// route — requests, answers by class, requests the gateway refused (by problem code) and a
// mergeable latency histogram — so that charts over an hour, a day or 90 days are read from a
// small table that the request log's row cap does not touch.
//
// The gateway hands each answered request to Recorder.Record, which only adds to counters in
// memory (one short lock, no allocation once the minute's cell exists); Run writes them every
// few seconds in one transaction. Each write adds to what the row already holds, so several
// nodes sharing one database write the same rows and their counts add up.
package usage

import (
	"context"
	"database/sql"
	"fmt"
	"hash/maphash"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/keygate/keygate/backend/clock"
	"github.com/keygate/keygate/backend/store"
)

// Sample is one request the gateway answered.
type Sample struct {
	At    time.Time
	OrgID string
	KeyID string
	// Route is the route's prefix ("" when no route matched).
	Route  string
	Status int
	// Code is the gateway's own problem code when it answered the request itself ("" when the
	// upstream answered).
	Code      string
	LatencyUS int64
	// Shard, when above 0, picks the lock the sample is counted under: a caller recording from
	// several cores at once (the gateway's event loops) gives each its own, so that they do not
	// take turns at one lock. 0 picks by key.
	Shard int
}

// Counts are the request counters of a rollup.
type Counts struct {
	Total        int64 `json:"total"`
	OK           int64 `json:"ok" doc:"Answers below 400."`
	ClientErrors int64 `json:"clientErrors" doc:"4xx answers, the gateway's refusals included."`
	ServerErrors int64 `json:"serverErrors" doc:"5xx answers, the gateway's own 502/504 included."`
	Rejected     int64 `json:"rejected" doc:"Requests the gateway refused itself with a 4xx (credential, limits, path, route, body size) before any upstream saw them."`
}

func (c *Counts) add(o Counts) {
	c.Total += o.Total
	c.OK += o.OK
	c.ClientErrors += o.ClientErrors
	c.ServerErrors += o.ServerErrors
	c.Rejected += o.Rejected
}

// count adds one answer with status; refused tells whether the gateway refused it.
func (c *Counts) count(status int, refused bool) {
	c.Total++
	switch {
	case status >= 500:
		c.ServerErrors++
	case status >= 400:
		c.ClientErrors++
		if refused {
			c.Rejected++
		}
	default:
		c.OK++
	}
}

type cellKey struct {
	minute          int64 // Unix milliseconds of the minute's start
	org, key, route string
}

type cell struct {
	Counts
	codes map[string]int64 // refusals by problem code
	hist  Histogram
}

func (c *cell) merge(o *cell) {
	c.mergeCounts(o)
	c.hist.Merge(&o.hist)
}

// mergeCounts merges o's counters but not its histogram.
func (c *cell) mergeCounts(o *cell) {
	c.Counts.add(o.Counts)
	for code, n := range o.codes {
		if c.codes == nil {
			c.codes = map[string]int64{}
		}
		c.codes[code] += n
	}
}

const shardCount = 16

type shard struct {
	mu    sync.Mutex
	cells map[cellKey]*cell
	// last is the cell of the last sample counted here, under lastKey (a loop's samples come
	// mostly from one key and route within a minute); nil after take.
	last    *cell
	lastKey cellKey
	_       [64]byte // keep neighbouring shards' locks off one cache line
}

// Options configure a Recorder.
type Options struct {
	Clock  clock.Clock  // nil: the real clock
	Logger *slog.Logger // nil: slog.Default()
	// FlushEvery is how often Run writes the counters (DefaultFlushEvery when 0).
	FlushEvery time.Duration
}

// DefaultFlushEvery is how often Run writes rollups: a chart is at most this far behind.
const DefaultFlushEvery = 5 * time.Second

// pruneEvery is how often Run deletes rollups past the retention.
const pruneEvery = time.Hour

// Recorder aggregates samples in memory and writes them to the usage_minutes table.
type Recorder struct {
	st     *store.Store
	clock  clock.Clock
	log    *slog.Logger
	every  time.Duration
	seed   maphash.Seed
	shards [shardCount]shard

	flushMu  sync.Mutex // one Flush at a time
	prunedAt time.Time
}

// NewRecorder returns a Recorder writing to st.
func NewRecorder(st *store.Store, o Options) *Recorder {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.FlushEvery <= 0 {
		o.FlushEvery = DefaultFlushEvery
	}
	r := &Recorder{st: st, clock: o.Clock, log: o.Logger.With("component", "usage"), every: o.FlushEvery,
		seed: maphash.MakeSeed()}
	for i := range r.shards {
		r.shards[i].cells = map[cellKey]*cell{}
	}
	return r
}

// Record counts one answered request. It is called on the gateway's request path: it takes
// one of several short locks and allocates only for the first request of a minute, key and
// route.
func (r *Recorder) Record(s Sample) {
	ms := s.At.UnixMilli()
	k := cellKey{minute: ms - ms%60_000, org: s.OrgID, key: s.KeyID, route: s.Route}
	i := uint64(s.Shard)
	if s.Shard <= 0 {
		i = maphash.String(r.seed, s.KeyID)
	}
	sh := &r.shards[i%shardCount]
	sh.mu.Lock()
	c := sh.last
	if c == nil || sh.lastKey != k { // (the same cell as the last sample: no hashing of the key)
		c = sh.cells[k]
		if c == nil {
			c = &cell{}
			sh.cells[k] = c
		}
		sh.last, sh.lastKey = c, k
	}
	refused := s.Code != "" && s.Status >= 400 && s.Status < 499 // 499: the client left, nothing was refused
	c.count(s.Status, refused)
	if refused {
		if c.codes == nil {
			c.codes = map[string]int64{}
		}
		c.codes[s.Code]++
	}
	c.hist.Add(s.LatencyUS)
	sh.mu.Unlock()
}

// take empties the shards and returns what they held.
func (r *Recorder) take() map[cellKey]*cell {
	out := map[cellKey]*cell{}
	for i := range r.shards {
		sh := &r.shards[i]
		sh.mu.Lock()
		cells := sh.cells
		if len(cells) == 0 {
			sh.mu.Unlock()
			continue
		}
		sh.cells = map[cellKey]*cell{}
		sh.last = nil // (taken with the rest)
		sh.mu.Unlock()
		for k, c := range cells {
			if have := out[k]; have != nil { // (counted under two locks)
				have.merge(c)
			} else {
				out[k] = c
			}
		}
	}
	return out
}

// giveBack returns cells that could not be written, so the next Flush tries again.
func (r *Recorder) giveBack(cells map[cellKey]*cell) {
	for k, c := range cells {
		sh := &r.shards[maphash.String(r.seed, k.key)%shardCount]
		sh.mu.Lock()
		if have := sh.cells[k]; have != nil {
			have.merge(c)
		} else {
			sh.cells[k] = c
		}
		sh.mu.Unlock()
	}
}

// Run writes the counters every FlushEvery and prunes rollups past the retention once an hour,
// until ctx ends; then it writes once more and returns what that last write could not save.
func (r *Recorder) Run(ctx context.Context) error {
	t := time.NewTicker(r.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return r.Flush(fctx)
		case <-t.C:
			if err := r.Flush(ctx); err != nil && ctx.Err() == nil {
				r.log.Warn("write usage", "err", err)
			}
			if now := r.clock.Now(); now.Sub(r.prunedAt) >= pruneEvery {
				if err := Prune(ctx, r.st, now); err != nil && ctx.Err() == nil {
					r.log.Warn("prune usage", "err", err)
				} else {
					r.prunedAt = now
				}
			}
		}
	}
}

// Flush writes the counters gathered since the last Flush, adding them to the stored rows in
// one transaction. When the store fails, the counters are kept for the next Flush.
func (r *Recorder) Flush(ctx context.Context) error {
	r.flushMu.Lock()
	defer r.flushMu.Unlock()
	cells := r.take()
	if len(cells) == 0 {
		return nil
	}
	if err := write(ctx, r.st, cells); err != nil {
		r.giveBack(cells)
		return err
	}
	return nil
}

// write adds cells to usage_minutes. The rows already stored for those minutes (by this node
// or another) are read inside the transaction — the store runs one writer at a time, on
// PostgreSQL across nodes too — so their histograms merge exactly.
func write(ctx context.Context, st *store.Store, cells map[cellKey]*cell) error {
	keys := make([]cellKey, 0, len(cells))
	minutes := map[int64]bool{}
	for k := range cells {
		keys = append(keys, k)
		minutes[k.minute] = true
	}
	// A stable order: rows of one minute together, the same order on every node.
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.minute != b.minute {
			return a.minute < b.minute
		}
		if a.org != b.org {
			return a.org < b.org
		}
		if a.key != b.key {
			return a.key < b.key
		}
		return a.route < b.route
	})
	return st.Tx(ctx, func(tx *sql.Tx) error {
		stored := map[cellKey]*cell{}
		mins := make([]any, 0, len(minutes))
		for m := range minutes {
			mins = append(mins, m)
		}
		for len(mins) > 0 {
			n := min(len(mins), 500)
			rows, err := tx.QueryContext(ctx, `SELECT minute, org_id, key_id, route, total, ok, client_errors,
				server_errors, rejected, rejected_codes, latency FROM usage_minutes WHERE minute IN (?`+
				strings.Repeat(", ?", n-1)+`)`, mins[:n]...)
			if err != nil {
				return fmt.Errorf("read usage: %w", err)
			}
			for rows.Next() {
				var k cellKey
				c := &cell{}
				var codes, hist string
				if err := rows.Scan(&k.minute, &k.org, &k.key, &k.route, &c.Total, &c.OK, &c.ClientErrors,
					&c.ServerErrors, &c.Rejected, &codes, &hist); err != nil {
					rows.Close()
					return fmt.Errorf("read usage: %w", err)
				}
				if _, ok := cells[k]; !ok {
					continue
				}
				c.codes = decodeCodes(codes)
				if err := c.hist.DecodeInto(hist); err != nil {
					rows.Close()
					return err
				}
				stored[k] = c
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("read usage: %w", err)
			}
			mins = mins[n:]
		}
		for len(keys) > 0 {
			n := min(len(keys), writeChunk)
			args := make([]any, 0, n*11)
			for _, k := range keys[:n] {
				c := &cell{}
				if s := stored[k]; s != nil {
					c.merge(s)
				}
				c.merge(cells[k])
				args = append(args, k.minute, k.org, k.key, k.route, c.Total, c.OK, c.ClientErrors, c.ServerErrors,
					c.Rejected, encodeCodes(c.codes), c.hist.Encode())
			}
			if _, err := tx.ExecContext(ctx, upsertSQL(n), args...); err != nil {
				return fmt.Errorf("write usage: %w", err)
			}
			keys = keys[n:]
		}
		return nil
	})
}

// writeChunk rows per INSERT: 11 parameters each, under SQLite's oldest limit of 999.
const writeChunk = 64

func upsertSQL(rows int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO usage_minutes (minute, org_id, key_id, route, total, ok, client_errors, server_errors,
		rejected, rejected_codes, latency) VALUES `)
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
	}
	b.WriteString(` ON CONFLICT (minute, org_id, key_id, route) DO UPDATE SET total = excluded.total,
		ok = excluded.ok, client_errors = excluded.client_errors, server_errors = excluded.server_errors,
		rejected = excluded.rejected, rejected_codes = excluded.rejected_codes, latency = excluded.latency`)
	return b.String()
}

// encodeCodes writes refusal counts as "CODE:n" pairs in code order.
func encodeCodes(m map[string]int64) string {
	if len(m) == 0 {
		return ""
	}
	codes := make([]string, 0, len(m))
	for c := range m {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	var b strings.Builder
	for i, c := range codes {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(c)
		b.WriteByte(':')
		b.WriteString(strconv.FormatInt(m[c], 10))
	}
	return b.String()
}

// decodeCodes reads encodeCodes' format; a malformed pair is skipped (codes are the gateway's
// own constants, so none is expected).
func decodeCodes(s string) map[string]int64 {
	if s == "" {
		return nil
	}
	m := map[string]int64{}
	for pair := range strings.SplitSeq(s, ",") {
		c, ns, ok := strings.Cut(pair, ":")
		n, err := strconv.ParseInt(ns, 10, 64)
		if ok && err == nil && c != "" {
			m[c] += n
		}
	}
	return m
}
