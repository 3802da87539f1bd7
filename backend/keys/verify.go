package keys

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keygate/keygate/backend/store"
)

// Code is the outcome of a verification; it is stable and shown to API callers.
type Code string

const (
	CodeValid     Code = "VALID"
	CodeMalformed Code = "MALFORMED"
	CodeNotFound  Code = "NOT_FOUND"
	CodeExpired   Code = "EXPIRED"
	CodeRevoked   Code = "REVOKED"
	// CodeDisabled is a key turned off for now (Disable); it is not a failed authentication.
	CodeDisabled Code = "DISABLED"
)

// Result is the answer to Verify. Key is set when the key exists; callers must not modify it.
type Result struct {
	Valid bool `json:"valid"`
	Code  Code `json:"code"`
	Key   *Key `json:"key,omitempty"`
}

// Verifier checks a presented key; the gateway depends on this, not on Service.
type Verifier interface {
	Verify(ctx context.Context, raw string) (Result, error)
}

var _ Verifier = (*Service)(nil)

// Verify checks a key: its format and checksum first (no lookup for a malformed key while no
// imported key exists, see foreignHash), then the cache, then the store on a miss. An error
// means the store could not answer, not that the key is bad.
func (s *Service) Verify(ctx context.Context, raw string) (Result, error) {
	var h Hash
	p, err := Parse(raw)
	parsed := err == nil
	if parsed {
		h = p.Hash()
	} else if h, err = s.foreignHash(ctx, raw); err != nil {
		return Result{Code: CodeMalformed}, nil
	}
	now := s.clock.Now()
	e, stamp, ok := s.cache.get(h)
	if !ok {
		s.cache.misses.Add(1)
		e, err = s.load(ctx, h)
		if err != nil {
			if last := s.cache.lastGood(h); last != nil && s.grace > 0 && store.IsUnavailable(err) &&
				now.Sub(time.Unix(0, last.seen.Load())) <= s.grace {
				// An answer from memory does not stamp seen: only a real store verification
				// does, so the grace runs from then and an outage cannot be ridden out by use.
				s.cache.outageAnswers.Add(1)
				return last.result(now), nil
			}
			return Result{}, err
		}
		e.seen.Store(now.UnixNano())
		e.parsed = parsed
		s.cache.put(h, e, stamp)
		return e.result(now), nil
	}
	return s.hit(e, now), nil
}

// hit answers from a cached entry.
func (s *Service) hit(e *entry, now time.Time) Result {
	s.cache.hits.Add(1)
	return s.answer(e, now)
}

// answer is a cached entry's answer now.
func (s *Service) answer(e *entry, now time.Time) Result {
	// A hot key is verified by every core at once: stamping it at most once per seenEvery
	// keeps its cache line from bouncing between them on each request.
	if n := now.UnixNano(); n-e.seen.Load() >= int64(seenEvery) || n < e.seen.Load() {
		e.seen.Store(n)
	}
	return e.result(now)
}

// seenEvery is how stale a cached entry's seen may be: the outage grace runs up to this much
// less than WithOutageGrace says, for a key verified from the cache.
const seenEvery = time.Second

// OutageAnswers counts verifications answered from memory while the store could not be reached
// (see WithOutageGrace).
func (s *Service) OutageAnswers() uint64 { return s.cache.outageAnswers.Load() }

// CacheStats reports verification cache hits and misses since start.
func (s *Service) CacheStats() (hits, misses uint64) {
	hits = s.cache.hits.Load()
	s.cache.mu.RLock()
	for _, h := range s.cache.localHits {
		hits += h.n.Load()
	}
	s.cache.mu.RUnlock()
	return hits, s.cache.misses.Load()
}

func (s *Service) load(ctx context.Context, h Hash) (*entry, error) {
	row := s.st.Read.QueryRowContext(ctx, `SELECT s.retires_at, `+prefixed("k.", keyColumns)+`
		FROM key_secrets s JOIN keys k ON k.id = s.key_id WHERE s.hash = ?`, h[:])
	var retires sql.NullInt64
	k, err := scanKey(scanFunc(func(dest ...any) error {
		return row.Scan(append([]any{&retires}, dest...)...)
	}), s.now())
	if errors.Is(err, sql.ErrNoRows) {
		return &entry{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("verify key: %w", err)
	}
	k.Status = StatusActive // the cached snapshot; result() decides the status at each use
	return &entry{key: &k, retiresAt: fromMillis(retires)}, nil
}

// entry is a cached lookup: key == nil is a negative entry (no such key). seen is when it was
// last used to answer (Unix nanoseconds), for the outage grace. parsed says the string looked
// up is in Keygate's format with a good checksum (Parse takes it): a negative entry's hash is of
// one string only, so what Parse said of it holds for every later lookup of the entry.
type entry struct {
	key       *Key
	retiresAt *time.Time
	seen      atomic.Int64
	parsed    bool
}

func (e *entry) result(now time.Time) Result {
	if e.key == nil {
		return Result{Code: CodeNotFound}
	}
	k := e.key
	var code Code
	switch {
	case k.RevokedAt != nil || e.retiresAt != nil && !now.Before(*e.retiresAt):
		code = CodeRevoked
	case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
		code = CodeExpired
	case k.DisabledAt != nil:
		code = CodeDisabled
	default:
		return Result{Valid: true, Code: CodeValid, Key: k}
	}
	c := *k
	switch code {
	case CodeRevoked:
		c.Status = StatusRevoked
	case CodeExpired:
		c.Status = StatusExpired
	default:
		c.Status = StatusDisabled
	}
	return Result{Code: code, Key: &c}
}

// cache maps key hashes to lookups. Any change that can alter an answer invalidates it whole
// and bumps gen, so that a lookup which raced with the change cannot put a stale answer back.
type cache struct {
	mu sync.RWMutex
	// gen is written under mu, and read without it by Local views (their entries are good
	// while it stays the same).
	gen atomic.Uint64
	// forgets counts this process's own key changes (forgetKey); a load that began before one
	// does not refresh good (an invalidation alone, such as another node's change, does).
	forgets uint64
	// good remembers the last lookup of each existing key, across invalidations: while the
	// store cannot be reached, a key verified within the outage grace keeps its last answer.
	good          map[Hash]*entry
	outageAnswers atomic.Uint64
	paused        bool // the change feed is lost: answer from the store only
	max           int
	m             map[Hash]*entry
	hits          atomic.Uint64
	misses        atomic.Uint64
	localHits     []*localHits // the Locals' hit counts (under mu)
}

func newCache(max int) *cache {
	if max < 1 {
		max = 1
	}
	return &cache{max: max, m: make(map[Hash]*entry), good: make(map[Hash]*entry)}
}

// stamp is the cache's state when a lookup began: put compares it with the state at its end.
type stamp struct{ gen, forgets uint64 }

func (c *cache) get(h Hash) (*entry, stamp, bool) {
	c.mu.RLock()
	e, ok := c.m[h]
	st := stamp{c.gen.Load(), c.forgets}
	c.mu.RUnlock()
	return e, st, ok
}

func (c *cache) put(h Hash, e *entry, st stamp) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// What outages may answer from: fresh from the store, unless this process changed a key
	// since the load began: a load that read a key before its revocation and is put after it
	// must not bring the revoked key back for the outage grace.
	if e.key != nil && st.forgets == c.forgets {
		if len(c.good) >= c.max {
			drop := c.max/10 + 1
			for k := range c.good {
				delete(c.good, k)
				if drop--; drop == 0 {
					break
				}
			}
		}
		c.good[h] = e
	}
	if st.gen != c.gen.Load() || c.paused {
		return
	}
	if len(c.m) >= c.max {
		// Drop about a tenth, in map order (effectively random): cheap and keeps it bounded.
		drop := c.max/10 + 1
		for k := range c.m {
			delete(c.m, k)
			if drop--; drop == 0 {
				break
			}
		}
	}
	c.m[h] = e
}

func (c *cache) lastGood(h Hash) *entry {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.good[h]
}

// forgetKey drops what the cache remembers of key id for outages: a key changed here (revoked,
// rolled) must not come back from memory.
func (c *cache) forgetKey(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.forgets++
	for h, e := range c.good {
		if e.key.ID == id {
			delete(c.good, h)
		}
	}
}

func (c *cache) forget(h Hash) {
	c.mu.Lock()
	c.gen.Add(1)
	delete(c.m, h)
	c.mu.Unlock()
}

// pause stops (or resumes) caching and drops every entry: while the change feed is lost, a
// cached answer could hide a revocation made elsewhere.
func (c *cache) pause(on bool) {
	c.mu.Lock()
	c.paused = on
	c.gen.Add(1)
	clear(c.m)
	c.mu.Unlock()
}

func (c *cache) invalidate() {
	c.mu.Lock()
	c.gen.Add(1)
	clear(c.m)
	c.mu.Unlock()
}

type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

func prefixed(p, cols string) string {
	out := make([]byte, 0, len(cols)*2)
	start := true
	for i := 0; i < len(cols); i++ {
		c := cols[i]
		if start && c != ' ' && c != '\n' && c != '\t' {
			out = append(out, p...)
			start = false
		}
		if c == ',' {
			start = true
		}
		out = append(out, c)
	}
	return string(out)
}

// MinForeignSecret is the shortest secret in another format an import takes (a plain key of
// fewer characters is refused): the log mask looks up words of this length and more, since
// shorter ones are as common as ordinary words, so a shorter secret could not be masked.
const MinForeignSecret = 8

// maxForeignLen bounds a key in another product's format (the gateway takes credentials of at
// most 512 bytes).
const maxForeignLen = 512

// errNotForeign means a string that fails Keygate's format check is not looked up.
var errNotForeign = errors.New("not a key")

// foreignHash is the lookup hash of raw, a string that failed Keygate's format check, when
// some key has secrets in another format (imported): those cannot be checked offline, so they
// are looked up by hash like any key. While no such key exists — the flag says so in one
// atomic load — it returns errNotForeign and Verify answers MALFORMED without a lookup.
func (s *Service) foreignHash(ctx context.Context, raw string) (Hash, error) {
	if len(raw) == 0 || len(raw) > maxForeignLen {
		return Hash{}, errNotForeign
	}
	some, known := s.foreign.accepts(func() (bool, error) { return s.anyForeign(ctx) })
	if known && !some {
		return Hash{}, errNotForeign
	}
	h := sha256.Sum256([]byte(raw))
	if !known && s.cache.lastGood(h) == nil {
		// The store cannot say (an outage): only a key this node verified before may get the
		// outage grace; anything else is refused as malformed without a lookup.
		return Hash{}, errNotForeign
	}
	return h, nil
}

// anyForeign asks the store whether any key has secrets in another format.
func (s *Service) anyForeign(ctx context.Context) (bool, error) {
	var some bool
	err := s.st.Read.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM keys WHERE foreign_secret)`).Scan(&some)
	return some, err
}

// ForeignKeys reports whether this instance holds imported keys whose secrets are not in
// Keygate's format (so the offline format check cannot reject strings before a lookup).
func (s *Service) ForeignKeys(ctx context.Context) (bool, error) { return s.anyForeign(ctx) }

// HasForeignSecrets reports whether any key has secrets in another format: one atomic load
// while the answer is known, else one query. An error means the store cannot say.
func (s *Service) HasForeignSecrets(ctx context.Context) (bool, error) {
	some, known := s.foreign.accepts(func() (bool, error) { return s.anyForeign(ctx) })
	if !known {
		return false, errors.New("the store cannot say whether imported keys exist")
	}
	return some, nil
}

// ForeignSecrets reports which of words are the secret of a key (of any status: a revoked,
// expired or rolled-away secret is a secret still), for masking them where logs keep text a
// client sent: keys with secrets in another format (imported) have no shape to be told by.
// While no such key exists it answers nothing at once (one atomic load); otherwise it hashes
// the words and reads the store in batches, never the verification cache, whose entries for
// the keys in use the words must not evict. An error means the store could not say.
func (s *Service) ForeignSecrets(ctx context.Context, words []string) (map[string]bool, error) {
	if len(words) == 0 {
		return nil, nil
	}
	some, known := s.foreign.accepts(func() (bool, error) { return s.anyForeign(ctx) })
	if !known {
		return nil, errors.New("look up secrets: the store cannot say whether imported keys exist")
	}
	if !some {
		return nil, nil
	}
	byHash := make(map[Hash]string, len(words))
	hashes := make([]any, 0, len(words))
	for _, w := range words {
		if len(w) == 0 || len(w) > maxForeignLen {
			continue
		}
		h := Hash(sha256.Sum256([]byte(w)))
		if _, dup := byHash[h]; !dup {
			byHash[h] = w
			hashes = append(hashes, h[:])
		}
	}
	found := map[string]bool{}
	for len(hashes) > 0 {
		n := min(len(hashes), foreignLookupChunk)
		q := `SELECT hash FROM key_secrets WHERE hash IN (?` + strings.Repeat(", ?", n-1) + `)`
		rows, err := s.st.Read.QueryContext(ctx, q, hashes[:n]...)
		if err != nil {
			return nil, fmt.Errorf("look up secrets: %w", err)
		}
		for rows.Next() {
			var b []byte
			if err := rows.Scan(&b); err != nil {
				rows.Close()
				return nil, fmt.Errorf("look up secrets: %w", err)
			}
			var h Hash
			copy(h[:], b)
			found[byHash[h]] = true
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("look up secrets: %w", err)
		}
		hashes = hashes[n:]
	}
	return found, nil
}

// foreignLookupChunk is how many hashes one ForeignSecrets query asks about (under SQLite's
// oldest limit of 999 parameters).
const foreignLookupChunk = 500

// foreignFlag remembers whether any key has secrets in another format: the state in the low two
// bits (unknown, none, some) and a generation above them, in one word, so the hot path reads it
// with one atomic load and a reload that raced with a change cannot store a stale answer.
type foreignFlag struct{ v atomic.Uint64 }

const (
	foreignUnknown uint64 = iota
	foreignNone
	foreignSome
)

// reset forgets the answer (a key changed here or elsewhere); the next check asks the store.
func (f *foreignFlag) reset() {
	for {
		old := f.v.Load()
		if f.v.CompareAndSwap(old, (old>>2+1)<<2|foreignUnknown) {
			return
		}
	}
}

// accepts reports whether foreign secrets exist, asking load when the answer is unknown;
// known is false when load failed (nothing is remembered then).
func (f *foreignFlag) accepts(load func() (bool, error)) (some, known bool) {
	v := f.v.Load()
	switch v & 3 {
	case foreignNone:
		return false, true
	case foreignSome:
		return true, true
	}
	some, err := load()
	if err != nil {
		return false, false
	}
	state := foreignNone
	if some {
		state = foreignSome
	}
	f.v.CompareAndSwap(v, v&^3|state)
	return some, true
}

// VerifyCached is Verify answered from memory alone, for a caller that must not wait (the
// gateway's event loops): ok is false when the answer needs the store — a key not in the
// cache, or a string in another format while it is not known whether imported keys exist — and
// the caller then verifies it with Verify somewhere it may wait. now is the caller's reading of
// the service's clock. A goroutine that verifies many requests answers faster with a Local.
func (s *Service) VerifyCached(raw string, now time.Time) (res Result, ok bool) {
	return s.verifyCached(nil, raw, now)
}

// verifyCached is VerifyCached through l's own map when l is not nil.
//
// A cached key is looked up by its hash before its checksum is checked: the entry exists only
// because a stored key has that hash, so the key passes the check (a stored imported key in
// another format is looked up by the same hash, and found, by Verify too). What is not a
// cached key gets Verify's checks: the checksum, and whether strings in another format are
// looked up at all.
func (s *Service) verifyCached(l *Local, raw string, now time.Time) (res Result, ok bool) {
	if len(raw) == 0 || len(raw) > maxForeignLen {
		return Result{Code: CodeMalformed}, true
	}
	foreign := s.foreign.v.Load() & 3
	if foreign == foreignNone {
		if _, _, shapedOK := shaped(raw); !shapedOK {
			return Result{Code: CodeMalformed}, true // garbage is not hashed
		}
	}
	h := sha256.Sum256(bytesOf(raw))
	var e *entry
	if l != nil {
		e = l.get(h)
	} else if c, _, hit := s.cache.get(h); hit {
		e = c
	}
	if e == nil || e.key == nil {
		// Not cached, or cached as no such key: a string that fails the checksum is
		// MALFORMED, not NOT_FOUND, unless strings in another format are looked up. (A
		// negative entry remembers whether its string passed; one made while imported keys
		// existed may be of a string that does not.)
		if foreign != foreignSome && (e == nil || !e.parsed) {
			if _, err := Parse(raw); err != nil {
				if foreign == foreignNone {
					return Result{Code: CodeMalformed}, true
				}
				return Result{}, false // unknown whether imported keys exist: ask the store
			}
		}
		if e == nil {
			return Result{}, false
		}
	}
	if l != nil {
		l.counted()
		return s.answer(e, now), true
	}
	return s.hit(e, now), true
}

// Local is one goroutine's view of the verification cache, for a goroutine that verifies many
// requests (an event loop of the gateway). It keeps the entries it used in a map of its own,
// good while the cache's generation stays the same (every change that can alter an answer
// bumps it): a hot key is answered without the shared lock, and without writing memory that
// other cores use, which costs each of them a cache miss per request. Not safe for concurrent
// use.
type Local struct {
	s   *Service
	gen uint64
	m   map[Hash]*entry
	use *usageShard // where RecordUse counts
	// hits counts the answers from the cache: only this Local writes it, CacheStats reads it.
	hits *localHits
}

type localHits struct {
	n atomic.Uint64
	_ [56]byte // (a cache line of its own)
}

// Local returns a new view of the verification cache for one goroutine.
func (s *Service) Local() *Local {
	h := &localHits{}
	s.cache.mu.Lock()
	s.cache.localHits = append(s.cache.localHits, h) // (the count outlives the Local)
	s.cache.mu.Unlock()
	return &Local{s: s, m: make(map[Hash]*entry), use: s.usage.shard(), hits: h}
}

// VerifyCached is Service.VerifyCached, answered from l's map when it can.
func (l *Local) VerifyCached(raw string, now time.Time) (Result, bool) {
	return l.s.verifyCached(l, raw, now)
}

// get returns the entry for h: from l's map, else from the cache (then kept), else nil.
func (l *Local) get(h Hash) *entry {
	c := l.s.cache
	if g := c.gen.Load(); g != l.gen {
		// Read before the lookup: an entry found now is at least as new as g.
		l.reset()
		l.gen = g
	}
	if e, ok := l.m[h]; ok {
		return e
	}
	e, _, ok := c.get(h)
	if !ok {
		return nil
	}
	if len(l.m) >= c.max {
		l.reset()
	}
	l.m[h] = e
	return e
}

// reset empties l's map. A large one is replaced rather than cleared: clearing walks all of it,
// on the event loop, at every key change anywhere.
func (l *Local) reset() {
	if len(l.m) > 1024 {
		l.m = make(map[Hash]*entry)
		return
	}
	clear(l.m)
}

func (l *Local) counted() {
	l.hits.n.Store(l.hits.n.Load() + 1) // (one writer: no locked add)
}

// QuotaInStore reports whether key quotas are counted in the store (several nodes), so that
// taking one waits for it.
func (s *Service) QuotaInStore() bool { return s.quotas.inStore }
