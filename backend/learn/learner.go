package learn

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/keygate/keygate/backend/clock"
	"github.com/keygate/keygate/backend/store"
)

// Defaults for Options.
const (
	DefaultQueueSize     = 1024
	DefaultMaxOperations = 500
	DefaultFlushEvery    = time.Second
)

// ErrRunning is returned by Run when another Run of the same Learner is running.
var ErrRunning = errors.New("learner is already running")

// Options tune a Learner; zero values take the defaults.
type Options struct {
	// QueueSize bounds the observations waiting for the worker; more are dropped and counted.
	QueueSize int
	// MaxOperations bounds the operations kept per route; new ones past it are dropped.
	MaxOperations int
	FlushEvery    time.Duration
	Clock         clock.Clock
	Logger        *slog.Logger
	// Secrets tells which path segments are a key's secret (keys.Service.ForeignSecrets): a
	// segment that reads like a word is stored as it is, and an imported key has no shape to
	// tell it from one. Nil: none is looked up.
	Secrets func(ctx context.Context, words []string) (map[string]bool, error)
}

// Stats are the learner's counters since it started.
type Stats struct {
	// Observed counts observations taken into the queue.
	Observed uint64 `json:"observed"`
	// Dropped counts observations refused because the queue was full.
	Dropped uint64 `json:"dropped"`
	// Overflow counts new operations refused because their route had MaxOperations already.
	Overflow uint64 `json:"overflow"`
}

// Learner takes observations without ever blocking the caller, shapes them in its worker
// (Run) and merges the shapes into the store once a second.
type Learner struct {
	st       *store.Store
	opts     Options
	queue    chan Observation
	syncs    chan chan error
	observed atomic.Uint64
	dropped  atomic.Uint64
	overflow atomic.Uint64
	running  atomic.Bool
	// pending is the worker's: shapes not yet written, by route and operation key.
	pending map[string]map[string]*Operation
	// words is the worker's memo of literal segments looked up in Secrets (an API has few).
	words map[string]bool
}

// New returns a Learner writing to st; start its worker with Run.
func New(st *store.Store, opts Options) *Learner {
	if opts.QueueSize <= 0 {
		opts.QueueSize = DefaultQueueSize
	}
	if opts.MaxOperations <= 0 {
		opts.MaxOperations = DefaultMaxOperations
	}
	if opts.FlushEvery <= 0 {
		opts.FlushEvery = DefaultFlushEvery
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Learner{st: st, opts: opts, queue: make(chan Observation, opts.QueueSize),
		syncs: make(chan chan error), pending: map[string]map[string]*Operation{}}
}

// Observe queues an observation for the worker. It never blocks: when the queue is full the
// observation is dropped and counted.
func (l *Learner) Observe(ob Observation) {
	select {
	case l.queue <- ob:
		l.observed.Add(1)
	default:
		l.dropped.Add(1)
	}
}

// Stats returns the counters.
func (l *Learner) Stats() Stats {
	return Stats{Observed: l.observed.Load(), Dropped: l.dropped.Load(), Overflow: l.overflow.Load()}
}

// Run is the worker: it shapes queued observations and writes the shapes every FlushEvery,
// until ctx ends; then it shapes what is queued and writes one last time.
func (l *Learner) Run(ctx context.Context) error {
	if !l.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer l.running.Store(false)
	tick := time.NewTicker(l.opts.FlushEvery)
	defer tick.Stop()
	for {
		select {
		case ob := <-l.queue:
			l.take(ob)
		case <-tick.C:
			if err := l.flush(ctx); err != nil && ctx.Err() == nil {
				l.opts.Logger.Warn("learn: store shapes", "err", err)
			}
		case done := <-l.syncs:
			l.drain()
			done <- l.flush(ctx)
		case <-ctx.Done():
			l.drain()
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			return l.flush(fctx)
		}
	}
}

// Sync waits until everything observed so far is in the store (Run must be running).
func (l *Learner) Sync(ctx context.Context) error {
	done := make(chan error, 1)
	select {
	case l.syncs <- done:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *Learner) drain() {
	for {
		select {
		case ob := <-l.queue:
			l.take(ob)
		default:
			return
		}
	}
}

// maxMemoWords bounds the memo of looked-up segments; past it the memo starts again.
const maxMemoWords = 10_000

// secretSegment replaces a path segment that is a key's secret: it reads as a token, so the
// learned path has a parameter there, never the secret.
const secretSegment = "{secret}"

// hideSecrets replaces the segments of p that would be kept literally and are a key's secret
// (Options.Secrets), or part of one: a secret that holds '/' spans segments, so runs of up to
// maxSegmentRun neighbouring segments holding a literal one are looked up too. Each segment or
// run is looked up once; when the lookup fails, every literal segment of at least 8 characters
// is replaced (runs are asked again next time).
func (l *Learner) hideSecrets(p string) string {
	if l.opts.Secrets == nil || len(p) < 8 {
		return p
	}
	segs := strings.Split(p, "/")
	literal := make([]bool, len(segs))
	at := make([]int, len(segs)+1) // segs[i] = p[at[i] : at[i+1]-1]
	for i, seg := range segs {
		literal[i] = seg != "" && SegmentKind(seg) == ""
		at[i+1] = at[i] + len(seg) + 1
	}
	var ask []string
	isRun := map[string]bool{}
	for i, seg := range segs {
		if _, known := l.words[seg]; !known && literal[i] && len(seg) >= 8 {
			ask = append(ask, seg)
		}
	}
	for i := range segs {
		some := false
		for j := i; j < len(segs) && j-i < maxSegmentRun; j++ {
			some = some || literal[j]
			run := p[at[i] : at[j+1]-1]
			if len(run) > maxSecretLen {
				break
			}
			if _, known := l.words[run]; j == i || !some || known || isRun[run] || len(run) < 8 || segs[i] == "" || segs[j] == "" {
				continue
			}
			isRun[run] = true
			ask = append(ask, run)
		}
	}
	if len(ask) > 0 {
		found, err := l.opts.Secrets(context.Background(), ask)
		if l.words == nil || len(l.words) > maxMemoWords {
			l.words = map[string]bool{}
		}
		for _, w := range ask {
			if err != nil {
				if !isRun[w] {
					l.words[w] = true // not remembered as a word: asked again next time
					defer delete(l.words, w)
				}
				continue
			}
			l.words[w] = found[w]
		}
	}
	hide := make([]bool, len(segs))
	changed := false
	for i := range segs {
		for j := i; j < len(segs) && j-i < maxSegmentRun; j++ {
			if at[j+1]-1-at[i] > maxSecretLen {
				break
			}
			if l.words[p[at[i]:at[j+1]-1]] {
				for k := i; k <= j; k++ {
					hide[k], changed = true, true
				}
			}
		}
	}
	if !changed {
		return p
	}
	for i := range segs {
		if hide[i] {
			segs[i] = secretSegment
		}
	}
	return strings.Join(segs, "/")
}

// maxSegmentRun bounds the runs of segments looked up as one secret; maxSecretLen is the longest
// secret an import takes.
const (
	maxSegmentRun = 6
	maxSecretLen  = 512
)

// take shapes one observation at once and lets its values go.
func (l *Learner) take(ob Observation) {
	if ob.RouteID == "" || ob.Method == "" {
		return
	}
	ob.Path = l.hideSecrets(ob.Path)
	op := Shape(ob)
	ops := l.pending[ob.RouteID]
	if ops == nil {
		ops = map[string]*Operation{}
		l.pending[ob.RouteID] = ops
	}
	if cur, ok := ops[op.Key()]; ok {
		cur.Merge(op)
		return
	}
	if len(ops) >= l.opts.MaxOperations {
		l.overflow.Add(1)
		return
	}
	ops[op.Key()] = op
}

// flush merges the pending shapes into the store in one transaction.
func (l *Learner) flush(ctx context.Context) error {
	if len(l.pending) == 0 {
		return nil
	}
	now := l.opts.Clock.Now().UnixMilli()
	err := l.st.Tx(ctx, func(tx *sql.Tx) error {
		for routeID, ops := range l.pending {
			var have int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM learned_operations WHERE route_id = ?`, routeID).Scan(&have); err != nil {
				return err
			}
			var exists int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM routes WHERE id = ?`, routeID).Scan(&exists); err != nil {
				return err
			}
			if exists == 0 {
				continue // the route was removed meanwhile: its shapes go with it
			}
			for _, op := range ops {
				var raw string
				err := tx.QueryRowContext(ctx, `SELECT shape FROM learned_operations WHERE route_id = ? AND method = ? AND path = ?`,
					routeID, op.Method, op.Path).Scan(&raw)
				switch {
				case errors.Is(err, sql.ErrNoRows):
					if have >= l.opts.MaxOperations {
						l.overflow.Add(1)
						continue
					}
					have++
				case err != nil:
					return err
				default:
					var cur Operation
					if err := json.Unmarshal([]byte(raw), &cur); err != nil {
						return fmt.Errorf("stored shape %s %s: %w", op.Method, op.Path, err)
					}
					cur.Merge(op)
					op = &cur
				}
				b, err := json.Marshal(op)
				if err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO learned_operations (route_id, method, path, shape, samples, first_seen, last_seen)
					VALUES (?, ?, ?, ?, ?, ?, ?)
					ON CONFLICT (route_id, method, path) DO UPDATE SET shape = excluded.shape, samples = excluded.samples, last_seen = excluded.last_seen`,
					routeID, op.Method, op.Path, string(b), op.Samples, now, now); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("learn: store shapes: %w", err)
	}
	clear(l.pending)
	return nil
}

// Operations returns the stored shapes of a route's operations, by method and path key.
func Operations(ctx context.Context, st *store.Store, routeID string) ([]*Operation, error) {
	rows, err := st.Read.QueryContext(ctx, `SELECT shape FROM learned_operations WHERE route_id = ? ORDER BY path, method`, routeID)
	if err != nil {
		return nil, fmt.Errorf("read learned operations: %w", err)
	}
	defer rows.Close()
	var out []*Operation
	for rows.Next() {
		var raw string
		if err := rows.Scan(&raw); err != nil {
			return nil, fmt.Errorf("read learned operations: %w", err)
		}
		op := &Operation{}
		if err := json.Unmarshal([]byte(raw), op); err != nil {
			return nil, fmt.Errorf("read learned operations: %w", err)
		}
		out = append(out, op)
	}
	return out, rows.Err()
}

// Forget deletes what was learned for a route.
func Forget(ctx context.Context, st *store.Store, routeID string) error {
	if _, err := st.Write.ExecContext(ctx, `DELETE FROM learned_operations WHERE route_id = ?`, routeID); err != nil {
		return fmt.Errorf("forget learned operations: %w", err)
	}
	return nil
}
