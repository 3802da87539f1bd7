// Package identity is the gateway's signed identity for upstreams: routes that ask for it
// (routes add|update --identity-jwt) get, with each request, an X-Keygate-Jwt header holding
// an ES256 JWT that says who called (the key, or the console user) with its organization,
// scopes and metadata. Upstreams verify it with the public keys the gateway serves at
// /.well-known/jwks.json, so they can trust those facts without asking Keygate.
//
// Signing keys live in the identity_keys table: the public key as a JWK, the private key
// sealed with the instance's secrets key (backend/seal: AES-256-GCM, $KEYGATE_SECRETS_KEY or
// secrets.key in the data directory), never in plain text. One key signs at a time. Rotate
// adds a key that is published at once but signs only from signs_from, the key set's max-age
// later (so every cache upstream has it by then), while the current key keeps signing until
// that moment and stays published for RetireAfter (24 h) after it; RotateNow (an emergency: the
// key is compromised) signs with the new key at once. Which key signs is derived from the
// stored times, so every node of a cluster agrees without talking to the others. Every node of a PostgreSQL cluster reads the same keys, so every
// node needs the same secrets key ($KEYGATE_SECRETS_KEY on each, or the same file); a node
// with another one cannot open the signing key and refuses to sign (the request gets 500,
// never an unsigned pass), saying so in its log.
//
// Tokens are minted once per subject, audience and minute and reused (Token), so signing is
// off the request path but for the first request of each minute.
package identity

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/keygate/keygate/backend/clock"
	"github.com/keygate/keygate/backend/ids"
	"github.com/keygate/keygate/backend/seal"
	"github.com/keygate/keygate/backend/settings"
	"github.com/keygate/keygate/backend/store"
)

// Header is the request header the upstream receives the token in.
const Header = "X-Keygate-Jwt"

// JWKSPath is where the gateway serves the public keys.
const JWKSPath = "/.well-known/jwks.json"

// RetireAfter is how long a key stays published after it stopped signing.
const RetireAfter = 24 * time.Hour

// DefaultMaxAge is how long upstreams may cache the key set (the Cache-Control max-age of
// JWKSPath) unless Options.MaxAge says otherwise; a rotated key starts signing this long after
// the rotation.
const DefaultMaxAge = 5 * time.Minute

// The states of a published key.
const (
	StateNext     = "next"     // published, signs from SignsFrom
	StateCurrent  = "current"  // signs now
	StateRetiring = "retiring" // signs no more, published until RetiresAt
)

// Lifetime is how long a token is valid after its iat (the start of its minute).
const Lifetime = 2 * time.Minute

// maxTokens bounds the token cache; entries of past minutes go first.
const maxTokens = 100_000

// Claims are the facts a token asserts. Version is compared with == to tell whether a cached
// token still says the same (the gateway passes the verified key's cached record, which
// changes whenever the key does); a different Version with equal facts reuses the token too.
type Claims struct {
	Issuer   string
	Audience string // the route prefix
	Subject  string // key id, or user id for a console session
	Org      string
	Scopes   []string
	Meta     map[string]string
	Version  any
}

// payload is the token's JSON claims.
type payload struct {
	jwt.Claims
	Org    string            `json:"org,omitempty"`
	Scopes []string          `json:"scopes"`
	Meta   map[string]string `json:"meta"`
}

// Key describes one signing key (never its private part).
type Key struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"createdAt"`
	// State is next (published, signs from SignsFrom), current (signs now) or retiring (signs
	// no more, published until RetiresAt).
	State     string    `json:"state" enum:"next,current,retiring"`
	SignsFrom time.Time `json:"signsFrom"`
	// SignsUntil is when a later key takes over; null while no later key is scheduled.
	SignsUntil *time.Time `json:"signsUntil"`
	// RetiresAt is when the key leaves the key set (SignsUntil + 24 h); null with SignsUntil.
	RetiresAt *time.Time `json:"retiresAt"`
	// Active is State == current: the key that signs now.
	Active bool `json:"active"`
}

// Options tune a Service.
type Options struct {
	// Seal returns the box that seals private keys; it is called on first use.
	Seal  func() (*seal.Box, error)
	Clock clock.Clock
	// MaxAge is how long upstreams may cache the key set, and so how long after a rotation
	// the new key starts signing; DefaultMaxAge when zero.
	MaxAge time.Duration
}

// Service keeps the signing keys and mints tokens.
type Service struct {
	st     *store.Store
	seal   func() (*seal.Box, error)
	clock  clock.Clock
	maxAge time.Duration

	mu  sync.Mutex // guards set, gen and the last failure
	set *keySet
	// loaded is set, for readers that take no lock (Loaded, TokenLoaded: every request on
	// the gateway's event loops).
	loaded  atomic.Pointer[keySet]
	gen     uint64 // bumped by Invalidate; a load that raced with it is not kept
	failed  time.Time
	failErr error
	tokMu   sync.RWMutex
	tokens  map[tokenKey]*token
}

type keySet struct {
	// signers are the keys that sign now or will: each signs from its from to its until
	// (Unix ms), so the switch to a rotated key needs no reload.
	signers []signing
	jwks    []byte
	// until is when the published set changes on its own (a rotated-out key retires).
	until time.Time
}

type signing struct {
	kid         string
	from, until int64 // Unix ms; until is math.MaxInt64 while no later key is scheduled
	signer      jose.Signer
}

// at returns the key that signs at ms, or nil.
func (ks *keySet) at(ms int64) *signing {
	var best *signing
	for i := range ks.signers {
		g := &ks.signers[i]
		if g.from <= ms && ms < g.until && (best == nil || g.from > best.from) {
			best = g
		}
	}
	return best
}

type tokenKey struct{ sub, aud string }

type token struct {
	minute  int64
	kid     string
	claims  Claims
	encoded string
}

// New returns a Service over st.
func New(st *store.Store, o Options) *Service {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.MaxAge <= 0 {
		o.MaxAge = DefaultMaxAge
	}
	return &Service{st: st, seal: o.Seal, clock: o.Clock, maxAge: o.MaxAge, tokens: map[tokenKey]*token{}}
}

// Advertise stores this service's MaxAge as the one the key set is served with, for a process
// that serves it (keygate serve, the desktop app): a rotation by any process — the CLI beside
// it, a node with another setting — then waits for the longer of its own max-age and this one.
func (s *Service) Advertise(ctx context.Context) error {
	secs := strconv.FormatInt(int64(s.maxAge/time.Second), 10)
	if err := settings.New(s.st).Set(ctx, map[string]string{settings.IdentityJWKSMaxAge: secs}); err != nil {
		return fmt.Errorf("store the key set's max-age: %w", err)
	}
	return nil
}

// Lead is how long after a rotation the new key starts signing: this service's max-age, or
// the one a server advertises (Advertise) when that is longer.
func (s *Service) Lead(ctx context.Context) (time.Duration, error) {
	v, err := settings.New(s.st).Get(ctx, settings.IdentityJWKSMaxAge)
	if err != nil {
		return 0, err
	}
	lead := s.maxAge
	if n, err := strconv.ParseInt(v[settings.IdentityJWKSMaxAge], 10, 64); err == nil && n > 0 {
		lead = max(lead, time.Duration(n)*time.Second)
	}
	return lead, nil
}

// MaxAge is how long upstreams may cache the key set: the gateway serves JWKSPath with it as
// Cache-Control max-age, and a rotated key starts signing that long after the rotation.
func (s *Service) MaxAge() time.Duration { return s.maxAge }

// Invalidate drops what is loaded, so the next use reads the keys again: the store's change
// feed calls it when identity_keys changes (a rotation on another node or by the CLI).
func (s *Service) Invalidate() {
	s.mu.Lock()
	s.set, s.failErr = nil, nil
	s.loaded.Store(nil)
	s.gen++
	s.mu.Unlock()
}

// retryLoadAfter is how long a failed load of the keys is answered from memory.
const retryLoadAfter = 5 * time.Second

// Watch follows the store's change feed until ctx ends.
func (s *Service) Watch(ctx context.Context) {
	unsub := s.st.Changes().Subscribe(func(c store.Change) {
		if c.Touches("identity_keys") {
			s.Invalidate()
		}
	})
	<-ctx.Done()
	unsub()
}

// keys returns the loaded key set, loading it (and making the first key) when needed.
func (s *Service) keys(ctx context.Context) (*keySet, error) {
	now := s.clock.Now()
	s.mu.Lock()
	set, gen, failed, failErr := s.set, s.gen, s.failed, s.failErr
	s.mu.Unlock()
	if set != nil && (set.until.IsZero() || now.Before(set.until)) {
		return set, nil
	}
	// A failure (no secrets key, the database away) is remembered for a moment, so that a
	// busy route does not turn each request into a load.
	if failErr != nil && now.Sub(failed) < retryLoadAfter && now.After(failed) {
		return nil, failErr
	}
	set, err := s.load(ctx, now)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		if s.gen == gen {
			s.failed, s.failErr = now, err
		}
		return nil, err
	}
	if s.gen == gen {
		s.set, s.failErr = set, nil
		s.loaded.Store(set)
	}
	return set, nil
}

type row struct {
	id         string
	created    int64
	signsFrom  int64
	signsUntil sql.NullInt64
	retires    sql.NullInt64
	publicJWK  string
	private    []byte
}

// until is the end of the row's signing, math.MaxInt64 while open.
func (r row) until() int64 {
	if r.signsUntil.Valid {
		return r.signsUntil.Int64
	}
	return math.MaxInt64
}

// signerAt is the id of the row that signs at ms ("" for none): of the rows whose signing
// covers ms, the one that started last (keySet.at decides the same way).
func signerAt(rs []row, ms int64) string {
	id, from := "", int64(math.MinInt64)
	for _, r := range rs {
		if r.signsFrom <= ms && ms < r.until() && (id == "" || r.signsFrom > from) {
			id, from = r.id, r.signsFrom
		}
	}
	return id
}

func (s *Service) rows(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, now time.Time) ([]row, error) {
	rs, err := q.QueryContext(ctx, `SELECT id, created_at, signs_from, signs_until, retires_at, public_jwk, private_key FROM identity_keys
		WHERE retires_at IS NULL OR retires_at > ? ORDER BY signs_from DESC, created_at DESC, id`, now.UnixMilli())
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []row
	for rs.Next() {
		var r row
		if err := rs.Scan(&r.id, &r.created, &r.signsFrom, &r.signsUntil, &r.retires, &r.publicJWK, &r.private); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rs.Err()
}

func (s *Service) load(ctx context.Context, now time.Time) (*keySet, error) {
	rs, err := s.rows(ctx, s.st.Read, now)
	if err != nil {
		return nil, fmt.Errorf("load identity keys: %w", err)
	}
	if !hasOpen(rs) {
		if err := s.st.Tx(ctx, func(tx *sql.Tx) error {
			// Checked again under the write lock: nodes starting together make one key.
			if n, err := openKeys(ctx, tx); err != nil || n > 0 {
				return err
			}
			return s.insertKey(ctx, tx, now, now) // no token or cache knows another key: it signs at once
		}); err != nil {
			return nil, fmt.Errorf("make identity key: %w", err)
		}
		s.st.Changes().Publish("identity_keys")
		if rs, err = s.rows(ctx, s.st.Read, now); err != nil {
			return nil, fmt.Errorf("load identity keys: %w", err)
		}
	}
	return s.buildSet(rs, now)
}

// hasOpen tells whether a key without an end of signing is published: the newest one, which
// signs now or will.
func hasOpen(rs []row) bool {
	for _, r := range rs {
		if !r.signsUntil.Valid {
			return true
		}
	}
	return false
}

func openKeys(ctx context.Context, tx *sql.Tx) (n int, err error) {
	err = tx.QueryRowContext(ctx, `SELECT count(*) FROM identity_keys WHERE signs_until IS NULL`).Scan(&n)
	return n, err
}

func (s *Service) buildSet(rs []row, now time.Time) (*keySet, error) {
	set := &keySet{}
	jwks := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	for _, r := range rs {
		var k jose.JSONWebKey
		if err := json.Unmarshal([]byte(r.publicJWK), &k); err != nil {
			return nil, fmt.Errorf("identity key %s: %w", r.id, err)
		}
		jwks.Keys = append(jwks.Keys, k)
		if r.retires.Valid {
			if t := time.UnixMilli(r.retires.Int64); set.until.IsZero() || t.Before(set.until) {
				set.until = t
			}
		}
		if r.until() <= now.UnixMilli() || r.until() <= r.signsFrom {
			continue // signs no more (or never will: superseded by an emergency rotation)
		}
		priv, err := s.open(r)
		if err != nil {
			return nil, err
		}
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: priv, KeyID: r.id, Algorithm: string(jose.ES256)}},
			(&jose.SignerOptions{}).WithType("JWT"))
		if err != nil {
			return nil, fmt.Errorf("identity key %s: %w", r.id, err)
		}
		set.signers = append(set.signers, signing{kid: r.id, from: r.signsFrom, until: r.until(), signer: signer})
	}
	if len(set.signers) == 0 {
		return nil, errors.New("no signing identity key")
	}
	b, err := json.Marshal(jwks)
	if err != nil {
		return nil, err
	}
	set.jwks = b
	return set, nil
}

func (s *Service) box() (*seal.Box, error) {
	if s.seal == nil {
		return nil, errors.New("identity keys: no secrets key configured")
	}
	b, err := s.seal()
	if err != nil {
		return nil, fmt.Errorf("identity keys: %w", err)
	}
	return b, nil
}

func (s *Service) open(r row) (*ecdsa.PrivateKey, error) {
	b, err := s.box()
	if err != nil {
		return nil, err
	}
	der, err := b.Open(r.private, sealContext(r.id))
	if err != nil {
		return nil, fmt.Errorf("identity key %s: %w", r.id, err)
	}
	priv, err := x509.ParseECPrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("identity key %s: %w", r.id, err)
	}
	return priv, nil
}

// sealContext binds a sealed private key to its row: a sealed value copied onto another key's
// row does not open.
func sealContext(kid string) []byte { return []byte("keygate identity key " + kid) }

// insertKey makes a key that signs from signsFrom on, with no end yet.
func (s *Service) insertKey(ctx context.Context, tx *sql.Tx, now, signsFrom time.Time) error {
	b, err := s.box()
	if err != nil {
		return err
	}
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	id, err := ids.New("idk")
	if err != nil {
		return err
	}
	der, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		return err
	}
	sealed, err := b.Seal(der, sealContext(id))
	if err != nil {
		return err
	}
	pub, err := json.Marshal(jose.JSONWebKey{Key: &priv.PublicKey, KeyID: id, Algorithm: string(jose.ES256), Use: "sig"})
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO identity_keys (id, created_at, signs_from, signs_until, retires_at, public_jwk, private_key)
		VALUES (?, ?, ?, NULL, NULL, ?, ?)`, id, now.UnixMilli(), signsFrom.UnixMilli(), string(pub), sealed)
	return err
}

// Rotation is the outcome of Rotate.
type Rotation struct {
	// Key is the new key; it signs from Key.SignsFrom.
	Key Key
	// Keys are the published keys as they are then (List).
	Keys []Key
}

// Rotate makes a new signing key. It is published at once and signs from MaxAge later, when
// every cache of the key set that honours its max-age has it; until then the current key
// keeps signing. With now (an emergency: the current key is compromised) the new key signs at
// once, and upstreams that cached the key set refuse its tokens until they fetch it again (up
// to MaxAge). A key that stops signing stays published for RetireAfter after it stopped; a
// scheduled key that never signed and is overtaken by an emergency rotation stops at once.
// Keys retired before now are deleted.
func (s *Service) Rotate(ctx context.Context, now bool) (Rotation, error) {
	return s.rotate(ctx, now, nil)
}

// Recorder records a rotation in its own transaction tx (the audit entry), so that the new key
// and its record commit together or not at all; its error rolls the rotation back and is
// returned by it. k is the new key (its ID and SignsFrom). A Recorder must not use the store
// outside tx.
type Recorder func(ctx context.Context, tx *sql.Tx, k Key) error

// RotateRecorded is Rotate, recorded with rec.
func (s *Service) RotateRecorded(ctx context.Context, now bool, rec Recorder) (Rotation, error) {
	return s.rotate(ctx, now, rec)
}

func (s *Service) rotate(ctx context.Context, now bool, rec Recorder) (Rotation, error) {
	t := s.clock.Now()
	if _, err := s.box(); err != nil {
		return Rotation{}, err // before anything changes
	}
	lead, err := s.Lead(ctx)
	if err != nil {
		return Rotation{}, fmt.Errorf("rotate identity key: %w", err)
	}
	var id string
	err = s.st.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM identity_keys WHERE retires_at IS NOT NULL AND retires_at <= ?`, t.UnixMilli()); err != nil {
			return err
		}
		at := t.Add(lead)
		if n, err := openKeys(ctx, tx); err != nil {
			return err
		} else if now || n == 0 {
			at = t // nothing signs yet (no token, no cache to wait for), or an emergency
		}
		// Every key that would sign after at stops there: the current key, a key scheduled by
		// an earlier rotation (it signs until this one takes over, or never on an emergency).
		if _, err := tx.ExecContext(ctx, `UPDATE identity_keys SET signs_until = ?, retires_at = ? WHERE signs_until IS NULL OR signs_until > ?`,
			at.UnixMilli(), at.Add(RetireAfter).UnixMilli(), at.UnixMilli()); err != nil {
			return err
		}
		if err := s.insertKey(ctx, tx, t, at); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT id FROM identity_keys WHERE signs_until IS NULL`).Scan(&id); err != nil || rec == nil {
			return err
		}
		return rec(ctx, tx, Key{ID: id, SignsFrom: time.UnixMilli(at.UnixMilli()).UTC()})
	})
	if err != nil {
		return Rotation{}, fmt.Errorf("rotate identity key: %w", err)
	}
	s.Invalidate()
	s.st.Changes().Publish("identity_keys")
	ks, err := s.List(ctx)
	if err != nil {
		return Rotation{}, err
	}
	r := Rotation{Keys: ks}
	for _, k := range ks {
		if k.ID == id {
			r.Key = k
		}
	}
	return r, nil
}

// List returns the published keys: the next one (if a rotation is under way), the one that
// signs, then the retiring ones, newest first.
func (s *Service) List(ctx context.Context) ([]Key, error) {
	now := s.clock.Now()
	rs, err := s.rows(ctx, s.st.Read, now)
	if err != nil {
		return nil, fmt.Errorf("list identity keys: %w", err)
	}
	ms := now.UnixMilli()
	current := signerAt(rs, ms)
	out := []Key{}
	for _, r := range rs {
		k := Key{ID: r.id, CreatedAt: time.UnixMilli(r.created).UTC(), SignsFrom: time.UnixMilli(r.signsFrom).UTC()}
		switch {
		case r.id == current:
			k.State, k.Active = StateCurrent, true
		case r.signsFrom > ms && r.until() > r.signsFrom:
			k.State = StateNext
		default:
			k.State = StateRetiring
		}
		if r.signsUntil.Valid {
			t := time.UnixMilli(r.signsUntil.Int64).UTC()
			k.SignsUntil = &t
		}
		if r.retires.Valid {
			t := time.UnixMilli(r.retires.Int64).UTC()
			k.RetiresAt = &t
		}
		out = append(out, k)
	}
	rank := map[string]int{StateNext: 0, StateCurrent: 1, StateRetiring: 2}
	slices.SortStableFunc(out, func(a, b Key) int {
		if d := rank[a.State] - rank[b.State]; d != 0 {
			return d
		}
		if c := b.SignsFrom.Compare(a.SignsFrom); c != 0 {
			return c
		}
		return b.CreatedAt.Compare(a.CreatedAt)
	})
	return out, nil
}

// JWKS returns the JSON Web Key Set of the published public keys (making the first key when
// there is none yet).
func (s *Service) JWKS(ctx context.Context) ([]byte, error) {
	set, err := s.keys(ctx)
	if err != nil {
		return nil, err
	}
	return set.jwks, nil
}

// Token returns the token for c: the one minted for the same subject and audience in this
// minute when it says the same, else a new one, with iat at the start of the minute and exp
// Lifetime after it.
func (s *Service) Token(ctx context.Context, c Claims) (string, error) {
	set, err := s.keys(ctx)
	if err != nil {
		return "", err
	}
	return s.token(c, s.clock.Now(), set)
}

// Loaded reports whether the key set is in memory and needs no reload now: TokenLoaded then
// signs without the store.
func (s *Service) Loaded() bool {
	set := s.loaded.Load()
	return set != nil && (set.until.IsZero() || s.clock.Now().Before(set.until))
}

// TokenLoaded is Token for a caller that must not wait (the gateway's event loops, after
// Loaded): it signs with the key set in memory, even one whose reload has just come due (its
// keys stay published a day past their signing), and never reads the store.
func (s *Service) TokenLoaded(c Claims) (string, error) {
	set := s.loaded.Load()
	if set == nil {
		return "", errors.New("sign identity token: the identity keys are not loaded")
	}
	return s.token(c, s.clock.Now(), set)
}

// token is Token with the key set at hand.
func (s *Service) token(c Claims, now time.Time, set *keySet) (string, error) {
	minute := now.Unix() / 60
	k := tokenKey{c.Subject, c.Audience}
	s.tokMu.RLock()
	t := s.tokens[k]
	s.tokMu.RUnlock()
	g := set.at(now.UnixMilli())
	if g == nil {
		return "", errors.New("sign identity token: no identity key signs now")
	}
	if t != nil && t.minute == minute && t.kid == g.kid {
		if t.claims.Version == c.Version && c.Version != nil {
			return t.encoded, nil
		}
		if sameFacts(t.claims, c) {
			return t.encoded, nil
		}
	}
	iat := time.Unix(minute*60, 0)
	p := payload{
		Claims: jwt.Claims{Issuer: c.Issuer, Subject: c.Subject, Audience: jwt.Audience{c.Audience},
			IssuedAt: jwt.NewNumericDate(iat), NotBefore: jwt.NewNumericDate(iat), Expiry: jwt.NewNumericDate(iat.Add(Lifetime))},
		Org: c.Org, Scopes: c.Scopes, Meta: c.Meta,
	}
	if p.Scopes == nil {
		p.Scopes = []string{}
	}
	if p.Meta == nil {
		p.Meta = map[string]string{}
	}
	encoded, err := jwt.Signed(g.signer).Claims(p).Serialize()
	if err != nil {
		return "", fmt.Errorf("sign identity token: %w", err)
	}
	s.tokMu.Lock()
	if len(s.tokens) >= maxTokens {
		for k, old := range s.tokens {
			if old.minute != minute {
				delete(s.tokens, k)
			}
		}
		if len(s.tokens) >= maxTokens {
			clear(s.tokens)
		}
	}
	s.tokens[k] = &token{minute: minute, kid: g.kid, claims: c, encoded: encoded}
	s.tokMu.Unlock()
	return encoded, nil
}

func sameFacts(a, b Claims) bool {
	return a.Issuer == b.Issuer && a.Org == b.Org && slices.Equal(a.Scopes, b.Scopes) && maps.Equal(a.Meta, b.Meta)
}
