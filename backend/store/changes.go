package store

import (
	"context"
	"database/sql"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// Change is one message of the change feed: the control plane changed something that caches
// (the key verification cache, the gateway's route table) may hold.
type Change struct {
	// Table is the table that changed (keys, key_secrets, routes, settings, sessions, …), or ""
	// when the feed only knows that something changed (another process, seen through the
	// revision on SQLite).
	Table string
	// Lost means the feed stopped hearing about changes made elsewhere (its PostgreSQL connection
	// dropped): a cache must drop everything and keep nothing until Resync, since a change it
	// would miss could be a revocation.
	Lost bool
	// Resync means the feed hears changes again (after Lost, or when it starts): drop everything
	// and re-read.
	Resync bool
}

// Touches reports whether c may concern any of tables; Lost, Resync and unknown changes concern
// every table.
func (c Change) Touches(tables ...string) bool {
	return c.Lost || c.Resync || c.Table == "" || slices.Contains(tables, c.Table)
}

// ChangeChannel is the PostgreSQL channel the revision triggers notify (payload: the table).
const ChangeChannel = "keygate_changes"

// PollEvery is how often, on SQLite, the feed reads the revision to notice other processes'
// changes (the CLI beside a running server).
var PollEvery = 200 * time.Millisecond

// Changes is the store's change feed. The control plane publishes each change after it commits
// (Publish, in this process, synchronously: a revoke has evicted every cache of this process
// when it returns); caches subscribe. Changes made by other processes arrive by the engine's
// own means: on SQLite the revision row, polled every PollEvery; on PostgreSQL, LISTEN on
// ChangeChannel, which the revision triggers notify at commit, with Lost when the listening
// connection drops and Resync when it is back. The watcher runs while there are subscribers.
//
// A write this process makes in Store.Tx reaches this process's subscribers only through
// Publish: on SQLite the poll skips the revisions such a transaction made, so that an edit
// does not drop every cache a second time a poll later as a change it cannot name. (Writes
// outside Store.Tx still come back that way. On PostgreSQL the notification of this process's
// own commit comes back too, naming its table.)
type Changes struct {
	st *Store

	mu      sync.Mutex
	subs    map[uint64]func(Change)
	next    uint64
	stop    context.CancelFunc
	stopped chan struct{}
	closed  bool

	listening atomic.Bool
	lost      atomic.Uint64
	log       atomic.Pointer[slog.Logger]

	// own are the revision spans this process's transactions made (Store.Tx, SQLite), not
	// yet passed by the poll: (from, to] each. ownMu is held by Store.Tx over its commit and
	// the noting of its span, and by the poll over its read of the revision and its check, so
	// that the poll never sees a revision of this process's that is not noted yet.
	ownMu sync.Mutex
	own   []revSpan
}

// revSpan is the revisions one transaction made: from (exclusive) to to (inclusive).
type revSpan struct{ from, to int64 }

// SetLogger sets where the feed reports a lost and a restored connection (default: slog's).
func (c *Changes) SetLogger(l *slog.Logger) { c.log.Store(l) }

func (c *Changes) logger() *slog.Logger {
	if l := c.log.Load(); l != nil {
		return l
	}
	return slog.Default()
}

func newChanges(st *Store) *Changes {
	return &Changes{st: st, subs: map[uint64]func(Change){}}
}

// Changes returns the store's change feed.
func (s *Store) Changes() *Changes { return s.changes }

// Publish tells every subscriber in this process that table changed. Other processes learn it
// from the database (the revision triggers), not from this call.
func (c *Changes) Publish(table string) { c.emit(Change{Table: table}) }

// Subscribe calls fn for every change until the returned function is called. fn runs on the
// publisher's goroutine or the watcher's: it must be quick and must not block (drop a cache,
// signal a reloader), and must not unsubscribe.
//
// Before Subscribe returns, fn is called once with an unknown change (Table ""): whatever its
// owner read before subscribing may already be stale, since a change published before the
// subscription reached nobody. (The first subscriber also gets the watcher's Resync.)
func (c *Changes) Subscribe(fn func(Change)) (unsubscribe func()) {
	unsubscribe = c.subscribe(fn)
	fn(Change{})
	return unsubscribe
}

func (c *Changes) subscribe(fn func(Change)) (unsubscribe func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := c.next
	c.next++
	c.subs[id] = fn
	if c.stop == nil && !c.closed {
		ctx, cancel := context.WithCancel(context.Background())
		c.stop, c.stopped = cancel, make(chan struct{})
		go c.watch(ctx, c.stopped)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			delete(c.subs, id)
			var done chan struct{}
			if len(c.subs) == 0 && c.stop != nil {
				c.stop()
				done = c.stopped
				c.stop, c.stopped = nil, nil
			}
			c.mu.Unlock()
			if done != nil {
				<-done
			}
		})
	}
}

// Listening reports whether the feed currently hears other processes' changes (always on
// SQLite while watching; on PostgreSQL, while its LISTEN connection is up).
func (c *Changes) Listening() bool { return c.listening.Load() }

// LostCount is how many times the feed lost its connection, for the logs and tests.
func (c *Changes) LostCount() uint64 { return c.lost.Load() }

func (c *Changes) close() {
	c.mu.Lock()
	c.closed = true
	stop, done := c.stop, c.stopped
	c.stop, c.stopped = nil, nil
	c.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

func (c *Changes) emit(ch Change) {
	c.mu.Lock()
	fns := make([]func(Change), 0, len(c.subs))
	for _, fn := range c.subs {
		fns = append(fns, fn)
	}
	c.mu.Unlock()
	for _, fn := range fns {
		fn(ch)
	}
}

func (c *Changes) watch(ctx context.Context, done chan struct{}) {
	defer close(done)
	defer c.listening.Store(false)
	if c.st.Dialect == Postgres {
		c.listen(ctx)
		return
	}
	c.poll(ctx)
}

// poll follows the revision row (SQLite).
func (c *Changes) poll(ctx context.Context) {
	t := time.NewTicker(PollEvery)
	defer t.Stop()
	defer func() {
		c.ownMu.Lock()
		c.own = nil
		c.ownMu.Unlock()
	}()
	last, err := c.st.Revision(ctx)
	// Entries cached before that first read may predate a change it already counts.
	c.emit(Change{Resync: true})
	c.listening.Store(err == nil)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		c.ownMu.Lock()
		rev, err := c.st.Revision(ctx)
		mine := err == nil && rev != last && c.madeHere(last, rev)
		c.ownMu.Unlock()
		if err != nil {
			continue
		}
		c.listening.Store(true)
		if rev != last {
			last = rev
			if !mine {
				c.emit(Change{})
			}
		}
	}
}

// maxOwnSpans bounds what made keeps between two polls; a span let go only costs its
// subscribers one unnamed change.
const maxOwnSpans = 1024

// commit commits tx, which made the revisions (from, to], and notes them while the poll runs
// (without it there is nothing to skip). The poll does not read the revision meanwhile.
func (c *Changes) commit(tx *sql.Tx, from, to int64) error {
	c.ownMu.Lock()
	defer c.ownMu.Unlock()
	if err := tx.Commit(); err != nil {
		return err
	}
	if to == from || !c.listening.Load() {
		return nil
	}
	if len(c.own) >= maxOwnSpans {
		c.own = c.own[:copy(c.own, c.own[maxOwnSpans/2:])]
	}
	c.own = append(c.own, revSpan{from, to})
	return nil
}

// madeHere reports whether every revision in (last, rev] was made by this process's
// transactions, and forgets the spans the poll has now passed. Any revision it cannot account
// for — another process's, a write outside Store.Tx, a revision that went back (a restored
// file) — makes it false. The caller holds ownMu.
func (c *Changes) madeHere(last, rev int64) bool {
	// The spans are in commit order, which is revision order: commits go through the one
	// write connection, each noted before the next can commit. (Were one out of order, the
	// step would only go unaccounted for and be announced.)
	covered := last
	if rev > last {
		for _, s := range c.own {
			if s.from <= covered && s.to > covered {
				covered = s.to
			}
		}
	}
	// Spans at or below rev are passed; a span above it (committed after this read) stays.
	c.own = slices.DeleteFunc(c.own, func(s revSpan) bool { return s.to <= rev || rev < last })
	return rev > last && covered >= rev
}

// listenCheckEvery is how long the PostgreSQL listener waits for a notification before it
// checks that its connection is alive (a silently dead peer is noticed within this plus
// listenPingTimeout).
const (
	listenCheckEvery  = 5 * time.Second
	listenPingTimeout = 3 * time.Second
)

// listen follows ChangeChannel (PostgreSQL) on a connection of its own, reconnecting with
// backoff; every loss is announced as Lost at once and every (re)connection as Resync.
func (c *Changes) listen(ctx context.Context) {
	log := c.logger().With("database", c.st.Name)
	backoff := 50 * time.Millisecond
	everConnected := false
	for ctx.Err() == nil {
		conn, err := c.connectListener(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			log.Debug("change feed: cannot listen yet", "err", redactError(err, c.st.url))
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 2*time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		if everConnected {
			log.Info("change feed: listening again; caches re-read")
		}
		everConnected = true
		c.emit(Change{Resync: true})
		c.listening.Store(true)
		err = c.follow(ctx, conn)
		c.listening.Store(false)
		conn.Close(context.Background())
		if ctx.Err() != nil {
			return
		}
		c.lost.Add(1)
		log.Warn("change feed: lost the connection to PostgreSQL; caches dropped until it is back", "err", redactError(err, c.st.url))
		c.emit(Change{Lost: true})
	}
}

func (c *Changes) connectListener(ctx context.Context) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(c.st.url)
	if err != nil {
		return nil, err
	}
	if cfg.ConnectTimeout == 0 || cfg.ConnectTimeout > 5*time.Second {
		cfg.ConnectTimeout = 5 * time.Second
	}
	cfg.RuntimeParams["application_name"] = "keygate-feed"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+ChangeChannel); err != nil {
		conn.Close(context.Background())
		return nil, err
	}
	return conn, nil
}

func (c *Changes) follow(ctx context.Context, conn *pgx.Conn) error {
	for {
		wctx, cancel := context.WithTimeout(ctx, listenCheckEvery)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			c.emit(Change{Table: n.Payload})
		case ctx.Err() != nil:
			return ctx.Err()
		case wctx.Err() != nil && !conn.PgConn().IsClosed(): // no notification for a while: is the peer alive?
			pctx, cancel := context.WithTimeout(ctx, listenPingTimeout)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				return err
			}
		default:
			return err
		}
	}
}
