package gateway

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keygate/keygate/backend/store"
)

// Entry is one request in the request log. It never holds a secret: header values are kept
// only for a short allowlist of harmless headers (LoggedHeaders), the path is recorded without
// its query string, and credentials pasted into what is kept are masked (logMask).
type Entry struct {
	ID         int64       `json:"id,omitempty"`
	Time       time.Time   `json:"time"`
	RequestID  string      `json:"requestId"`
	Method     string      `json:"method"`
	Path       string      `json:"path"`
	Status     int         `json:"status"`
	LatencyUS  int64       `json:"latencyUs"`
	KeyID      string      `json:"keyId,omitempty"`
	KeyName    string      `json:"keyName,omitempty"`
	UserID     string      `json:"userId,omitempty"`
	OrgID      string      `json:"orgId,omitempty"`
	Route      string      `json:"route,omitempty"`
	ErrorCode  string      `json:"errorCode,omitempty"`
	ClientAddr string      `json:"clientAddr,omitempty"`
	Headers    http.Header `json:"headers"`

	seq uint64
	// order is when the request ended on the monotonic clock (sinceStart), which merges the
	// rings in the order requests ended, also when the configured clock is a fake one.
	order   int64
	raw     http.Header // the inbound headers, unmasked: only ever read through logMask
	rawHead []byte      // or the raw header block (fasthttp engine), parsed only when read
	// clientIP is ClientAddr before it is formatted (fasthttp engine: when the entry is read).
	clientIP netip.Addr
}

// withClientAddr returns e with ClientAddr formatted from clientIP when it was left to now.
func (e Entry) withClientAddr() Entry {
	if e.ClientAddr == "" && e.clientIP.IsValid() {
		e.ClientAddr = e.clientIP.String()
	}
	return e
}

// inboundHeaders returns the entry's request headers, parsing the raw block when the fasthttp
// engine recorded one.
func (e *Entry) inboundHeaders() http.Header {
	if e.raw != nil || e.rawHead == nil {
		return e.raw
	}
	h := http.Header{}
	for line := range strings.SplitSeq(string(e.rawHead), "\r\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok || name == "" {
			continue
		}
		k := textproto.CanonicalMIMEHeaderKey(name)
		h[k] = append(h[k], strings.Trim(value, " \t"))
	}
	return h
}

// Filter selects request log entries.
type Filter struct {
	// OrgID keeps entries of that organization; IncludeAnonymous also keeps entries that no
	// organization can be told from (requests that failed before a key was known).
	OrgID            string
	IncludeAnonymous bool
	// Status is "", a class ("2xx" … "5xx") or an exact code ("401").
	Status string
	KeyID  string
	Route  string
	// From and To bound the entries' time: From inclusive, To exclusive; zero is unbounded.
	From, To time.Time
	// Limit is 1–1000, default 100.
	Limit int
}

func (f Filter) limit() int {
	switch {
	case f.Limit <= 0:
		return 100
	case f.Limit > 1000:
		return 1000
	}
	return f.Limit
}

func (f Filter) match(e *Entry) bool {
	if f.OrgID != "" && e.OrgID != f.OrgID && !(f.IncludeAnonymous && e.OrgID == "") {
		return false
	}
	if f.KeyID != "" && e.KeyID != f.KeyID || f.Route != "" && e.Route != f.Route {
		return false
	}
	if !f.From.IsZero() && e.Time.Before(f.From) || !f.To.IsZero() && !e.Time.Before(f.To) {
		return false
	}
	if f.Status != "" {
		lo, hi, ok := statusRange(f.Status)
		if !ok || e.Status < lo || e.Status > hi {
			return false
		}
	}
	return true
}

func statusRange(s string) (lo, hi int, ok bool) {
	if len(s) == 3 && s[0] >= '1' && s[0] <= '5' && strings.EqualFold(s[1:], "xx") {
		lo = int(s[0]-'0') * 100
		return lo, lo + 99, true
	}
	if len(s) != 3 || s[0] < '1' || s[0] > '5' {
		return 0, 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, 0, false
	}
	return n, n, true
}

// ValidStatusFilter reports whether s is a status filter Filter understands.
func ValidStatusFilter(s string) bool {
	if s == "" {
		return true
	}
	_, _, ok := statusRange(s)
	return ok
}

// requestLog keeps the latest entries in memory, one ring per shard of the metrics (0 for the
// goroutine engines, one for each event loop: reqState.shard), so that a loop adds its entries
// under a lock no other loop takes, to memory no other loop writes. Each ring keeps the latest
// size entries of its own, so together they hold at least the latest size of all; readers
// merge them, newest first, by time. A background pass persists new ones.
type requestLog struct {
	size    int
	rings   []logRing
	skipped atomic.Uint64 // entries never persisted: more arrived than the budget
}

type logRing struct {
	mu   sync.Mutex
	buf  []Entry // made at the first entry: a shard no request uses costs nothing
	next uint64  // sequence number of the ring's next entry

	persisted uint64 // the ring's entries below this sequence number are persisted or skipped
	_         [64]byte
}

func newRequestLog(size, shards int) *requestLog {
	return &requestLog{size: max(size, 1), rings: make([]logRing, max(shards, 1))}
}

// add keeps e in shard's ring.
func (l *requestLog) add(shard int, e *Entry) {
	r := &l.rings[shard]
	r.mu.Lock()
	if r.buf == nil {
		r.buf = make([]Entry, l.size)
	}
	e.seq = r.next
	r.buf[r.next%uint64(len(r.buf))] = *e
	r.next++
	r.mu.Unlock()
}

// recent returns matching entries, newest first, masked.
func (l *requestLog) recent(ctx context.Context, f Filter, m logMask) []Entry {
	limit := min(f.limit(), l.size) // (the rings together may hold more)
	runs := make([][]Entry, len(l.rings))
	for i := range l.rings {
		r := &l.rings[i]
		r.mu.Lock()
		n := uint64(len(r.buf))
		for s := r.next; s > 0 && r.next-s < n && len(runs[i]) < limit; s-- {
			e := r.buf[(s-1)%n]
			if f.match(&e) {
				runs[i] = append(runs[i], e)
			}
		}
		r.mu.Unlock()
	}
	out := mergeRuns(runs, limit, func(a, b *Entry) bool { return b.endedBefore(a) })
	for i := range out {
		out[i] = out[i].withClientAddr()
	}
	m.entries(ctx, out)
	return out
}

// unpersisted takes the entries added since the last call, oldest first, at most max of them
// (the newest); it reports how many older ones it had to skip.
func (l *requestLog) unpersisted(max int) (batch []Entry, skipped uint64) {
	runs := make([][]Entry, len(l.rings))
	total := 0
	for i := range l.rings {
		r := &l.rings[i]
		r.mu.Lock()
		n := uint64(len(r.buf))
		from := r.persisted
		if r.next-from > n {
			from = r.next - n // overwritten before they were persisted
		}
		if r.next-from > uint64(max) {
			from = r.next - uint64(max) // (more than the budget in this ring alone)
		}
		skipped += from - r.persisted
		for s := from; s < r.next; s++ {
			runs[i] = append(runs[i], r.buf[s%n])
		}
		total += len(runs[i])
		r.persisted = r.next
		r.mu.Unlock()
	}
	batch = mergeRuns(runs, total, (*Entry).endedBefore)
	if len(batch) > max {
		skipped += uint64(len(batch) - max)
		batch = batch[len(batch)-max:]
	}
	l.skipped.Add(skipped)
	return batch, skipped
}

// endedBefore says e's request ended before o's (by order, else by Time).
func (e *Entry) endedBefore(o *Entry) bool {
	if e.order != o.order {
		return e.order < o.order
	}
	return e.Time.Before(o.Time)
}

// sinceStart is how long after the process started t is, on the monotonic clock.
func sinceStart(t time.Time) int64 { return int64(t.Sub(processStart)) }

var processStart = time.Now()

// mergeRuns merges runs, each already in order (first(a, b): a comes before b), into one of at
// most limit entries. Each run keeps its own order; of entries that tie, the earlier run's
// comes first.
func mergeRuns(runs [][]Entry, limit int, first func(a, b *Entry) bool) []Entry {
	var out []Entry
	nonEmpty := 0
	for _, r := range runs {
		if len(r) > 0 {
			nonEmpty++
			out = r
		}
	}
	if nonEmpty <= 1 { // (one ring in use: the common case, nothing to merge)
		if len(out) > limit {
			out = out[:limit]
		}
		if out == nil {
			out = []Entry{}
		}
		return out
	}
	out = make([]Entry, 0, limit)
	for len(out) < limit {
		best := -1
		for i, r := range runs {
			if len(r) > 0 && (best < 0 || first(&r[0], &runs[best][0])) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		out = append(out, runs[best][0])
		runs[best] = runs[best][1:]
	}
	return out
}

// persist writes batch, masked, to the request_log table and prunes it to keep rows.
func persist(ctx context.Context, st *store.Store, batch []Entry, keep int, m logMask) error {
	if len(batch) == 0 {
		return nil
	}
	for i := range batch {
		batch[i] = batch[i].withClientAddr()
	}
	m.entries(ctx, batch) // before the transaction: a lookup must not wait for the writer
	return st.Tx(ctx, func(tx *sql.Tx) error {
		// One multi-row INSERT per chunk: one round trip for up to persistChunk rows instead of
		// one per row (on PostgreSQL each is a network round trip). Rows keep their order, so
		// ids grow with time as before.
		args := make([]any, 0, persistChunk*requestLogColumns)
		for len(batch) > 0 {
			n := min(len(batch), persistChunk)
			args = args[:0]
			for i := range batch[:n] {
				e := &batch[i]
				hb, err := json.Marshal(e.Headers)
				if err != nil {
					return err
				}
				args = append(args, e.Time.UnixMilli(), e.RequestID, e.Method, e.Path, e.Status, e.LatencyUS,
					e.KeyID, e.KeyName, e.UserID, e.OrgID, e.Route, e.ErrorCode, e.ClientAddr, string(hb))
			}
			if _, err := tx.ExecContext(ctx, insertRequestLog(n), args...); err != nil {
				return err
			}
			batch = batch[n:]
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM request_log WHERE id <= (SELECT max(id) FROM request_log) - ?`, keep)
		return err
	})
}

// persistChunk is how many request-log rows one INSERT carries: 64 × 14 = 896 parameters, under
// SQLite's oldest limit of 999 (PostgreSQL allows 65,535).
const (
	persistChunk      = 64
	requestLogColumns = 14
)

// insertFullChunk is the INSERT for a full chunk, built once.
var insertFullChunk = buildInsertRequestLog(persistChunk)

func insertRequestLog(rows int) string {
	if rows == persistChunk {
		return insertFullChunk
	}
	return buildInsertRequestLog(rows)
}

func buildInsertRequestLog(rows int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO request_log (at, request_id, method, path, status, latency_us,
		key_id, key_name, user_id, org_id, route, error_code, client_addr, headers, masked) VALUES `)
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)")
	}
	return b.String()
}

// remaskBatch is how many older rows one pass of remaskStored masks (one pass a second).
const remaskBatch = 500

// remaskStored masks up to limit rows written before logMask existed (masked = 0: path,
// request id and header values as they were kept then) and marks them done; it reports whether
// none is left. The database is written with secure_delete, so the old text does not linger.
func remaskStored(ctx context.Context, st *store.Store, m logMask, limit int) (bool, error) {
	rows, err := st.Read.QueryContext(ctx, `SELECT id, path, request_id, headers FROM request_log
		WHERE masked = 0 ORDER BY id LIMIT ?`, limit)
	if err != nil {
		return false, fmt.Errorf("read older request log rows: %w", err)
	}
	var es []Entry
	for rows.Next() {
		var e Entry
		var hj string
		if err := rows.Scan(&e.ID, &e.Path, &e.RequestID, &hj); err != nil {
			rows.Close()
			return false, fmt.Errorf("read older request log rows: %w", err)
		}
		if json.Unmarshal([]byte(hj), &e.Headers) != nil {
			e.Headers = http.Header{}
		}
		es = append(es, e)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return false, fmt.Errorf("read older request log rows: %w", err)
	}
	if len(es) == 0 {
		return true, nil
	}
	m.entries(ctx, es)
	err = st.Tx(ctx, func(tx *sql.Tx) error {
		for _, e := range es {
			hb, err := json.Marshal(e.Headers)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE request_log SET path = ?, request_id = ?, headers = ?, masked = 1
				WHERE id = ?`, e.Path, e.RequestID, string(hb), e.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("mask older request log rows: %w", err)
	}
	return len(es) < limit, nil
}

// QueryRequests reads the persisted request log, newest first: what the console shows when the
// gateway is not running in this process, or for history older than the in-memory ring. Rows
// are masked again as they are read (logMask, with secrets: nil masks by shape only), so rows
// written before a masking rule existed show no more than new ones.
func QueryRequests(ctx context.Context, st *store.Store, f Filter, secrets SecretFinder) ([]Entry, error) {
	return queryRequests(ctx, st, f, nil, logMask{secrets})
}

// RequestsBetween reads the persisted entries with after < id <= upTo, oldest first, at most
// f's limit of them: the request log's tail, which a follower reads again and again from the
// last id it saw up to LastRequestID. Rows get their ids in commit order (one writer at a time
// on both engines, see store.Store), so no row with a smaller id can appear after a larger one
// was seen: reading on from the last id misses nothing and repeats nothing, whichever node
// wrote the rows. upTo bounds the scan to new rows even when none of them match f.
func RequestsBetween(ctx context.Context, st *store.Store, f Filter, after, upTo int64, secrets SecretFinder) ([]Entry, error) {
	return queryRequests(ctx, st, f, &[2]int64{max(after, 0), upTo}, logMask{secrets})
}

// LastRequestID is the largest id in the persisted request log (0 when it is empty).
func LastRequestID(ctx context.Context, st *store.Store) (int64, error) {
	var id int64
	if err := st.Read.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM request_log`).Scan(&id); err != nil {
		return 0, fmt.Errorf("read request log: %w", err)
	}
	return id, nil
}

// queryRequests reads newest first, or, given ids (after, upTo], those oldest first.
func queryRequests(ctx context.Context, st *store.Store, f Filter, ids *[2]int64, m logMask) ([]Entry, error) {
	var where []string
	var args []any
	if ids != nil {
		where = append(where, "id > ? AND id <= ?")
		args = append(args, ids[0], ids[1])
	}
	if f.OrgID != "" {
		if f.IncludeAnonymous {
			where = append(where, "(org_id = ? OR org_id = '')")
		} else {
			where = append(where, "org_id = ?")
		}
		args = append(args, f.OrgID)
	}
	if f.KeyID != "" {
		where = append(where, "key_id = ?")
		args = append(args, f.KeyID)
	}
	if f.Route != "" {
		where = append(where, "route = ?")
		args = append(args, f.Route)
	}
	if f.Status != "" {
		lo, hi, ok := statusRange(f.Status)
		if !ok {
			return nil, fmt.Errorf("status filter %q must be a class such as 4xx or a code such as 401", f.Status)
		}
		where = append(where, "status BETWEEN ? AND ?")
		args = append(args, lo, hi)
	}
	if !f.From.IsZero() {
		where = append(where, "at >= ?")
		args = append(args, f.From.UnixMilli())
	}
	if !f.To.IsZero() {
		where = append(where, "at < ?")
		args = append(args, f.To.UnixMilli())
	}
	q := `SELECT id, at, request_id, method, path, status, latency_us, key_id, key_name, user_id, org_id, route,
		error_code, client_addr, headers FROM request_log`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	if ids != nil {
		q += " ORDER BY id LIMIT ?"
	} else {
		q += " ORDER BY id DESC LIMIT ?"
	}
	args = append(args, f.limit())
	rows, err := st.Read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("query request log: %w", err)
	}
	defer rows.Close()
	out := []Entry{}
	for rows.Next() {
		var e Entry
		var at int64
		var hj string
		if err := rows.Scan(&e.ID, &at, &e.RequestID, &e.Method, &e.Path, &e.Status, &e.LatencyUS, &e.KeyID, &e.KeyName,
			&e.UserID, &e.OrgID, &e.Route, &e.ErrorCode, &e.ClientAddr, &hj); err != nil {
			return nil, fmt.Errorf("query request log: %w", err)
		}
		e.Time = time.UnixMilli(at).UTC()
		if err := json.Unmarshal([]byte(hj), &e.Headers); err != nil {
			e.Headers = http.Header{}
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query request log: %w", err)
	}
	rows.Close()        // the lookups of m may need a reading connection
	m.entries(ctx, out) // rows written before the allowlist or a masking rule show no more
	return out, nil
}
