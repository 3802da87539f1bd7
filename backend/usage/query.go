package usage

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/keygate/keygate/backend/problem"
	"github.com/keygate/keygate/backend/store"
)

// Bucket is the usage of one time bucket.
type Bucket struct {
	Start time.Time `json:"start"`
	Counts
	// RejectedByCode counts the refusals by the gateway's problem code (RATE_LIMITED, …).
	RejectedByCode map[string]int64 `json:"rejectedByCode"`
	// P50Ms and P95Ms are latency quantiles in milliseconds over the bucket's requests (null
	// without requests), from a histogram whose buckets are at most 6.25 % wide.
	P50Ms *float64 `json:"p50Ms"`
	P95Ms *float64 `json:"p95Ms"`
}

// Series is the answer of Query.
type Series struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Bucket is the buckets' width, such as 1m, 5m, 1h or 1d.
	Bucket  string   `json:"bucket"`
	Buckets []Bucket `json:"buckets"`
	// Summary is the whole range as one bucket (Start = From).
	Summary Bucket `json:"summary"`
}

// Limits of a query.
const (
	MaxBuckets = 1500
	MaxRange   = MaxRetentionDays * 24 * time.Hour
)

// Input errors of Query and Top.
var (
	ErrInvalidFrom error = &problem.Invalid{Field: "from", Code: "invalid", Msg: "validation.usage.time",
		Text: "from must be a date and time such as 2026-11-30T12:00:00Z"}
	ErrInvalidTo error = &problem.Invalid{Field: "to", Code: "invalid", Msg: "validation.usage.time",
		Text: "to must be a date and time such as 2026-11-30T12:00:00Z"}
	ErrRangeOrder error = &problem.Invalid{Field: "to", Code: "range", Msg: "validation.usage.order",
		Text: "to must be after from, and the range at most 3650 days"}
	ErrInvalidBucket error = &problem.Invalid{Field: "bucket", Code: "invalid", Msg: "validation.usage.bucket",
		Text: "bucket must be a whole number of minutes, hours or days, such as 1m, 5m, 1h or 1d"}
	ErrTooManyBuckets error = &problem.Invalid{Field: "bucket", Code: "range", Msg: "validation.usage.buckets",
		Data: map[string]any{"Max": MaxBuckets}, Text: "at most 1500 buckets: choose a larger bucket or a shorter range"}
	ErrInvalidBy error = &problem.Invalid{Field: "by", Code: "invalid", Msg: "validation.usage.by",
		Text: "by must be key or route"}
	ErrInvalidTopLimit error = &problem.Invalid{Field: "limit", Code: "range", Msg: "validation.usage.limit",
		Data: map[string]any{"Max": MaxTop}, Text: "limit must be 1 to 50"}
)

// MaxTop is the most items Top returns; DefaultTop how many without a limit.
const (
	MaxTop     = 50
	DefaultTop = 10
)

// Range is a validated time range with its bucket width.
type Range struct {
	From, To time.Time
	Bucket   time.Duration
}

// ParseRange reads the API's from, to (RFC 3339; to defaults to now, from to an hour before
// to) and bucket (1m … 31d; by default one giving at most about 60 buckets). From is rounded
// down to its minute.
func ParseRange(from, to, bucket string, now time.Time) (Range, error) {
	var r Range
	var err error
	r.To = now
	if to != "" {
		if r.To, err = time.Parse(time.RFC3339, to); err != nil {
			return Range{}, ErrInvalidTo
		}
	}
	r.From = r.To.Add(-time.Hour)
	if from != "" {
		if r.From, err = time.Parse(time.RFC3339, from); err != nil {
			return Range{}, ErrInvalidFrom
		}
	}
	r.From, r.To = r.From.UTC().Truncate(time.Minute), r.To.UTC()
	if !r.To.After(r.From) || r.To.Sub(r.From) > MaxRange {
		return Range{}, ErrRangeOrder
	}
	if bucket == "" {
		r.Bucket = autoBucket(r.To.Sub(r.From))
	} else if r.Bucket, err = ParseBucket(bucket); err != nil {
		return Range{}, err
	}
	if r.count() > MaxBuckets {
		return Range{}, ErrTooManyBuckets
	}
	return r, nil
}

func (r Range) count() int64 {
	span := r.To.Sub(r.From)
	return int64((span + r.Bucket - 1) / r.Bucket)
}

// ParseBucket reads a bucket width: a whole number of minutes (m), hours (h) or days (d)
// from 1m to 31d.
func ParseBucket(s string) (time.Duration, error) {
	if len(s) < 2 {
		return 0, ErrInvalidBucket
	}
	unit := map[byte]time.Duration{'m': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour}[s[len(s)-1]]
	n, err := strconv.Atoi(s[:len(s)-1])
	if unit == 0 || err != nil || n < 1 || s[0] == '+' || s[0] == '0' {
		return 0, ErrInvalidBucket
	}
	d := time.Duration(n) * unit
	if d > 31*24*time.Hour {
		return 0, ErrInvalidBucket
	}
	return d, nil
}

// FormatBucket writes d as ParseBucket reads it.
func FormatBucket(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0:
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	}
	return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
}

// autoBucket picks the smallest usual width giving at most 60 buckets over span.
func autoBucket(span time.Duration) time.Duration {
	for _, d := range []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour, 3 * time.Hour,
		6 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour} {
		if span/d <= 60 {
			return d
		}
	}
	return 31 * 24 * time.Hour
}

// Filter selects rollups. OrgID is required by the console (an empty one reads every
// organization's, which only the command line does).
type Filter struct {
	OrgID string
	// IncludeAnonymous adds the requests no organization can be told from (no or a bad
	// credential on a route bound to none): the instance organization's admins see them.
	IncludeAnonymous bool
	KeyID            string
	Route            string
}

func (f Filter) where(r Range) (string, []any) {
	where := []string{"minute >= ?", "minute < ?"}
	args := []any{r.From.UnixMilli(), r.To.UnixMilli()}
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
	return strings.Join(where, " AND "), args
}

// Query returns the usage matching f over r, one bucket per r.Bucket from r.From (empty
// buckets included, so a chart has no holes), and the whole range as a summary.
func Query(ctx context.Context, st *store.Store, f Filter, r Range) (Series, error) {
	n := int(r.count())
	cells := make([]cell, n)
	var all cell
	where, args := f.where(r)
	rows, err := st.Read.QueryContext(ctx, `SELECT minute, total, ok, client_errors, server_errors, rejected,
		rejected_codes, latency FROM usage_minutes WHERE `+where, args...)
	if err != nil {
		return Series{}, fmt.Errorf("query usage: %w", err)
	}
	defer rows.Close()
	from, width := r.From.UnixMilli(), r.Bucket.Milliseconds()
	var row cell // counters only: histograms are decoded into their bucket
	for rows.Next() {
		var minute int64
		var codes, hist string
		row = cell{}
		if err := rows.Scan(&minute, &row.Total, &row.OK, &row.ClientErrors, &row.ServerErrors, &row.Rejected,
			&codes, &hist); err != nil {
			return Series{}, fmt.Errorf("query usage: %w", err)
		}
		i := int((minute - from) / width)
		if i < 0 || i >= n {
			continue
		}
		row.codes = decodeCodes(codes)
		// The histogram goes straight into the bucket and the summary: merging a whole one per
		// row would cost ~600 additions a minute of data.
		if err := cells[i].hist.DecodeInto(hist, &all.hist); err != nil {
			return Series{}, err
		}
		cells[i].mergeCounts(&row)
		all.mergeCounts(&row)
	}
	if err := rows.Err(); err != nil {
		return Series{}, fmt.Errorf("query usage: %w", err)
	}
	out := Series{From: r.From, To: r.To, Bucket: FormatBucket(r.Bucket), Buckets: make([]Bucket, n)}
	for i := range cells {
		out.Buckets[i] = cells[i].bucket(r.From.Add(time.Duration(i) * r.Bucket))
	}
	out.Summary = all.bucket(r.From)
	return out, nil
}

func (c *cell) bucket(start time.Time) Bucket {
	b := Bucket{Start: start, Counts: c.Counts, RejectedByCode: map[string]int64{}}
	for code, n := range c.codes {
		b.RejectedByCode[code] = n
	}
	if p, ok := c.hist.Quantile(0.50); ok {
		b.P50Ms = &p
	}
	if p, ok := c.hist.Quantile(0.95); ok {
		b.P95Ms = &p
	}
	return b
}

// TopItem is the usage of one key or route over a range.
type TopItem struct {
	// KeyID and KeyName name the key (by key); Route the route's prefix (by route). An empty
	// one is traffic without a key, or that matched no route.
	KeyID   string `json:"keyId"`
	KeyName string `json:"keyName"`
	Route   string `json:"route"`
	Counts
	P50Ms *float64 `json:"p50Ms"`
	P95Ms *float64 `json:"p95Ms"`
}

// Top returns the keys or routes (by: "key" or "route") with the most requests matching f over
// r, at most limit of them (0: DefaultTop), most requests first.
func Top(ctx context.Context, st *store.Store, f Filter, r Range, by string, limit int) ([]TopItem, error) {
	col := map[string]string{"key": "key_id", "route": "route"}[by]
	if col == "" {
		return nil, ErrInvalidBy
	}
	if limit < 0 || limit > MaxTop {
		return nil, ErrInvalidTopLimit
	}
	if limit == 0 {
		limit = DefaultTop
	}
	where, args := f.where(r)
	rows, err := st.Read.QueryContext(ctx, `SELECT `+col+`, total, ok, client_errors, server_errors, rejected, latency
		FROM usage_minutes WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("query usage: %w", err)
	}
	defer rows.Close()
	groups := map[string]*cell{}
	var row cell // counters only: histograms are decoded into their group
	for rows.Next() {
		var name, hist string
		row = cell{}
		if err := rows.Scan(&name, &row.Total, &row.OK, &row.ClientErrors, &row.ServerErrors, &row.Rejected, &hist); err != nil {
			return nil, fmt.Errorf("query usage: %w", err)
		}
		g := groups[name]
		if g == nil {
			g = &cell{}
			groups[name] = g
		}
		if err := g.hist.DecodeInto(hist); err != nil {
			return nil, err
		}
		g.mergeCounts(&row)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query usage: %w", err)
	}
	out := make([]TopItem, 0, len(groups))
	for name, g := range groups {
		b := g.bucket(r.From)
		it := TopItem{Counts: g.Counts, P50Ms: b.P50Ms, P95Ms: b.P95Ms}
		if by == "key" {
			it.KeyID = name
		} else {
			it.Route = name
		}
		out = append(out, it)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Total != out[j].Total {
			return out[i].Total > out[j].Total
		}
		return out[i].KeyID+out[i].Route < out[j].KeyID+out[j].Route
	})
	if len(out) > limit {
		out = out[:limit]
	}
	if by == "key" {
		if err := nameKeys(ctx, st, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// nameKeys fills the items' key names from the keys table (a key's row is kept after revoke).
func nameKeys(ctx context.Context, st *store.Store, items []TopItem) error {
	var ids []any
	for _, it := range items {
		if it.KeyID != "" {
			ids = append(ids, it.KeyID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	rows, err := st.Read.QueryContext(ctx, `SELECT id, name FROM keys WHERE id IN (?`+strings.Repeat(", ?", len(ids)-1)+`)`, ids...)
	if err != nil {
		return fmt.Errorf("query usage: key names: %w", err)
	}
	defer rows.Close()
	names := map[string]string{}
	for rows.Next() {
		var id, name string
		if err := rows.Scan(&id, &name); err != nil {
			return fmt.Errorf("query usage: key names: %w", err)
		}
		names[id] = name
	}
	for i := range items {
		items[i].KeyName = names[items[i].KeyID]
	}
	return rows.Err()
}
