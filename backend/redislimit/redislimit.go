// Package redislimit keeps rate limits in Redis so that every gateway node enforces the same
// limit exactly: one Lua script per request runs GCRA atomically in Redis, on Redis's own clock
// (nodes' clocks may differ). When Redis does not answer, each node falls back to its own
// limiter with a logged warning, and goes back to the shared limits, with a log line, as soon
// as Redis answers again.
package redislimit

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/keygate/keygate/backend/ratelimit"
)

// The scripts run the GCRA of ratelimit.Memory in Redis: a key holds its theoretical arrival
// time (TAT) in microseconds of Redis's clock, so nodes whose clocks differ still agree. ARGV:
// the emission interval T in microseconds (window / limit), and the limit. take and peek return
// {allowed, remaining, reset µs, retry-after µs}; a refused take changes nothing. A key expires
// when its burst is whole again.
var (
	take = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local T = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local w = T * limit
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local nxt = tat + T
local allow_at = nxt - w
if now < allow_at then
  return {0, 0, tat - now, allow_at - now}
end
redis.call('SET', KEYS[1], string.format('%d', nxt), 'PX', math.ceil((nxt - now) / 1000) + 1)
return {1, math.floor((now + w - nxt) / T), nxt - now, 0}
`)
	peek = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local T = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local w = T * limit
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local allow_at = tat + T - w
if now < allow_at then
  return {0, 0, tat - now, allow_at - now}
end
return {1, math.floor((now + w - tat) / T), tat - now, 0}
`)
	release = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat then return 0 end
tat = tat - tonumber(ARGV[1])
if tat <= now then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], string.format('%d', tat), 'PX', math.ceil((tat - now) / 1000) + 1)
end
return 1
`)
)

// Options tune a Limiter.
type Options struct {
	// Prefix starts every Redis key (default "keygate:rl:").
	Prefix string
	// Timeout bounds one request to Redis before the node decides alone (default 250 ms).
	Timeout time.Duration
	// RetryEvery is how often a Limiter that fell back checks whether Redis is back (default 1 s).
	RetryEvery time.Duration
	// Logger gets the fallback warning and the recovery line (default slog's).
	Logger *slog.Logger
}

// Limiter is a ratelimit.Limiter shared by all nodes through Redis.
type Limiter struct {
	rdb   *redis.Client
	opts  Options
	local *ratelimit.Memory

	shared    atomic.Bool // Redis answers: decisions are shared
	watching  atomic.Bool // a goroutine waits for Redis to answer again
	fallbacks atomic.Uint64
	closed    chan struct{}
	closeOnce sync.Once
}

var _ ratelimit.Limiter = (*Limiter)(nil)

// Open connects to the Redis at rawURL (redis://[user:password@]host:port[/db], or rediss://
// for TLS). A URL that cannot be parsed is an error; a Redis that does not answer yet is not —
// the Limiter starts on per-node limits and switches to shared ones when Redis answers.
func Open(ctx context.Context, rawURL string, opts Options) (*Limiter, error) {
	o, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("redis URL %s: %w", RedactURL(rawURL), err)
	}
	if opts.Prefix == "" {
		opts.Prefix = "keygate:rl:"
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 250 * time.Millisecond
	}
	if opts.RetryEvery <= 0 {
		opts.RetryEvery = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	o.DialTimeout = opts.Timeout * 10
	o.ReadTimeout = opts.Timeout
	o.WriteTimeout = opts.Timeout
	o.MaxRetries = 0 // a retry would double the latency of a request; the fallback decides
	o.ClientName = "keygate"
	o.DisableIdentity = true
	l := &Limiter{rdb: redis.NewClient(o), opts: opts, local: ratelimit.NewMemory(1 << 20), closed: make(chan struct{})}
	pctx, cancel := context.WithTimeout(ctx, o.DialTimeout)
	defer cancel()
	if err := l.rdb.Ping(pctx).Err(); err != nil {
		l.fallBack(err)
	} else {
		l.shared.Store(true)
	}
	return l, nil
}

// Shared reports whether decisions are currently shared through Redis.
func (l *Limiter) Shared() bool { return l.shared.Load() }

// Fallbacks counts the times the Limiter fell back to per-node limits.
func (l *Limiter) Fallbacks() uint64 { return l.fallbacks.Load() }

// Close stops the recovery loop and closes the connections.
func (l *Limiter) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.rdb.Close()
}

// Take spends one event for key if its rate allows. now is used only by the per-node
// fallback: the shared limit runs on Redis's clock. It never returns an error: when Redis does
// not answer, the node decides alone.
func (l *Limiter) Take(ctx context.Context, key string, r ratelimit.Rate, now time.Time) (ratelimit.Decision, error) {
	if r.Limit <= 0 || r.Window <= 0 {
		return ratelimit.Decision{Allowed: true}, nil
	}
	if d, ok := l.run(ctx, take, key, r); ok {
		return d, nil
	}
	return l.local.TakeNow(key, r, now), nil
}

// Peek reports whether a Take now would be allowed, spending nothing.
func (l *Limiter) Peek(ctx context.Context, key string, r ratelimit.Rate, now time.Time) (ratelimit.Decision, error) {
	if r.Limit <= 0 || r.Window <= 0 {
		return ratelimit.Decision{Allowed: true}, nil
	}
	if d, ok := l.run(ctx, peek, key, r); ok {
		return d, nil
	}
	return l.local.Peek(ctx, key, r, now)
}

// Release gives back one event taken earlier.
func (l *Limiter) Release(ctx context.Context, key string, r ratelimit.Rate, now time.Time) error {
	if r.Limit <= 0 || r.Window <= 0 {
		return nil
	}
	if l.shared.Load() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.opts.Timeout)
		defer cancel()
		err := release.Run(ctx, l.rdb, []string{l.opts.Prefix + key}, interval(r)).Err()
		if err == nil {
			return nil
		}
		l.fallBack(err)
	}
	return l.local.Release(ctx, key, r, now)
}

// run asks Redis; ok is false when Redis did not answer (the caller decides alone).
func (l *Limiter) run(ctx context.Context, script *redis.Script, key string, r ratelimit.Rate) (ratelimit.Decision, bool) {
	if !l.shared.Load() {
		return ratelimit.Decision{}, false
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.opts.Timeout)
	defer cancel()
	res, err := script.Run(ctx, l.rdb, []string{l.opts.Prefix + key}, interval(r), r.Limit).Int64Slice()
	if err == nil && len(res) != 4 {
		err = fmt.Errorf("unexpected answer %v", res)
	}
	if err != nil {
		l.fallBack(err)
		return ratelimit.Decision{}, false
	}
	return ratelimit.Decision{
		Allowed:    res[0] == 1,
		Limit:      r.Limit,
		Remaining:  int(res[1]),
		Reset:      time.Duration(res[2]) * time.Microsecond,
		RetryAfter: time.Duration(res[3]) * time.Microsecond,
	}, true
}

// interval is the GCRA emission interval in microseconds.
func interval(r ratelimit.Rate) int64 { return max(r.Window.Microseconds()/int64(r.Limit), 1) }

// fallBack switches to per-node limits (once per outage) and starts watching for Redis.
func (l *Limiter) fallBack(err error) {
	if !l.watching.CompareAndSwap(false, true) {
		return // already watching
	}
	l.shared.Store(false)
	l.fallbacks.Add(1)
	l.opts.Logger.Warn("redis unavailable: rate limits are enforced per node until it answers again",
		"redis", RedactURL(l.rdb.Options().Addr), "err", err)
	go func() {
		t := time.NewTicker(l.opts.RetryEvery)
		defer t.Stop()
		for {
			select {
			case <-l.closed:
				l.watching.Store(false)
				return
			case <-t.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), l.opts.Timeout*10)
			err := l.rdb.Ping(ctx).Err()
			cancel()
			if err == nil {
				l.watching.Store(false) // first: a failure from now on starts a new watch
				l.shared.Store(true)
				l.opts.Logger.Info("redis answers again: rate limits are shared by all nodes again")
				return
			}
		}
	}()
}

// RedactURL returns a Redis URL without its password.
func RedactURL(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	at := strings.LastIndexByte(rest, '@')
	if at < 0 {
		return u
	}
	user, _, _ := strings.Cut(rest[:at], ":")
	return scheme + "://" + user + ":xxxxx@" + rest[at+1:]
}
