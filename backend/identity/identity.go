// Package identity is the gateway's signed identity for upstreams: routes that ask for it
// (routes add|update --identity-jwt) get, with each request, an X-Keygate-Jwt header holding
// an ES256 JWT that says who called (the key, or the console user) with its organization,
// scopes and metadata. Upstreams verify it with the public keys the gateway serves at
// /.well-known/jwks.json, so they can trust those facts without asking Keygate.
//
// Signing keys live in the identity_keys table: the public key as a JWK, the private key
// sealed with the instance's secrets key (backend/seal: AES-256-GCM, $KEYGATE_SECRETS_KEY or
// secrets.key in the data directory), never in plain text. One key signs; Rotate adds a new
// one and keeps the old one published for RetireAfter (24 h) so that tokens and caches
// upstream keep verifying. Every node of a PostgreSQL cluster reads the same keys, so every
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
	"slices"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/keygate/keygate/backend/clock"
	"github.com/keygate/keygate/backend/ids"
	"github.com/keygate/keygate/backend/seal"
	"github.com/keygate/keygate/backend/store"
)

// Header is the request header the upstream receives the token in.
const Header = "X-Keygate-Jwt"

// JWKSPath is where the gateway serves the public keys.
const JWKSPath = "/.well-known/jwks.json"

// RetireAfter is how long a rotated-out key stays published.
const RetireAfter = 24 * time.Hour

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
	ID        string     `json:"id"`
	CreatedAt time.Time  `json:"createdAt"`
	RetiresAt *time.Time `json:"retiresAt"`
	// Active is the key that signs; the others are only published until they retire.
	Active bool `json:"active"`
}

// Options tune a Service.
type Options struct {
	// Seal returns the box that seals private keys; it is called on first use.
	Seal  func() (*seal.Box, error)
	Clock clock.Clock
}

// Service keeps the signing keys and mints tokens.
type Service struct {
	st    *store.Store
	seal  func() (*seal.Box, error)
	clock clock.Clock

	mu      sync.Mutex // guards set, gen and the last failure
	set     *keySet
	gen     uint64 // bumped by Invalidate; a load that raced with it is not kept
	failed  time.Time
	failErr error
	tokMu   sync.RWMutex
	tokens  map[tokenKey]*token
}

type keySet struct {
	kid    string
	signer jose.Signer
	jwks   []byte
	// until is when the published set changes on its own (a rotated-out key retires).
	until time.Time
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
	return &Service{st: st, seal: o.Seal, clock: o.Clock, tokens: map[tokenKey]*token{}}
}

// Invalidate drops what is loaded, so the next use reads the keys again: the store's change
// feed calls it when identity_keys changes (a rotation on another node or by the CLI).
func (s *Service) Invalidate() {
	s.mu.Lock()
	s.set, s.failErr = nil, nil
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
	}
	return set, nil
}

type row struct {
	id        string
	created   int64
	retires   sql.NullInt64
	publicJWK string
	private   []byte
}

func (s *Service) rows(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, now time.Time) ([]row, error) {
	rs, err := q.QueryContext(ctx, `SELECT id, created_at, retires_at, public_jwk, private_key FROM identity_keys
		WHERE retires_at IS NULL OR retires_at > ? ORDER BY created_at DESC, id`, now.UnixMilli())
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []row
	for rs.Next() {
		var r row
		if err := rs.Scan(&r.id, &r.created, &r.retires, &r.publicJWK, &r.private); err != nil {
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
	if !hasActive(rs) {
		if err := s.st.Tx(ctx, func(tx *sql.Tx) error {
			// Checked again under the write lock: nodes starting together make one key.
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM identity_keys WHERE retires_at IS NULL`).Scan(&n); err != nil || n > 0 {
				return err
			}
			return s.insertKey(ctx, tx, now)
		}); err != nil {
			return nil, fmt.Errorf("make identity key: %w", err)
		}
		s.st.Changes().Publish("identity_keys")
		if rs, err = s.rows(ctx, s.st.Read, now); err != nil {
			return nil, fmt.Errorf("load identity keys: %w", err)
		}
	}
	return s.buildSet(rs)
}

func hasActive(rs []row) bool {
	for _, r := range rs {
		if !r.retires.Valid {
			return true
		}
	}
	return false
}

func (s *Service) buildSet(rs []row) (*keySet, error) {
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
			continue
		}
		if set.signer != nil {
			continue // two active keys cannot happen (load and Rotate write under the lock); the newest signs
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
		set.kid, set.signer = r.id, signer
	}
	if set.signer == nil {
		return nil, errors.New("no active identity key")
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

func (s *Service) insertKey(ctx context.Context, tx *sql.Tx, now time.Time) error {
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
	_, err = tx.ExecContext(ctx, `INSERT INTO identity_keys (id, created_at, retires_at, public_jwk, private_key) VALUES (?, ?, NULL, ?, ?)`,
		id, now.UnixMilli(), string(pub), sealed)
	return err
}

// Rotate makes a new signing key; the one that signed until now stays published for
// RetireAfter, and keys retired before now are deleted. It returns the keys as they are then.
func (s *Service) Rotate(ctx context.Context) ([]Key, error) {
	now := s.clock.Now()
	if _, err := s.box(); err != nil {
		return nil, err // before anything changes
	}
	err := s.st.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM identity_keys WHERE retires_at IS NOT NULL AND retires_at <= ?`, now.UnixMilli()); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE identity_keys SET retires_at = ? WHERE retires_at IS NULL`, now.Add(RetireAfter).UnixMilli()); err != nil {
			return err
		}
		return s.insertKey(ctx, tx, now)
	})
	if err != nil {
		return nil, fmt.Errorf("rotate identity key: %w", err)
	}
	s.Invalidate()
	s.st.Changes().Publish("identity_keys")
	return s.List(ctx)
}

// List returns the published keys, newest first (the active one first of all).
func (s *Service) List(ctx context.Context) ([]Key, error) {
	rs, err := s.rows(ctx, s.st.Read, s.clock.Now())
	if err != nil {
		return nil, fmt.Errorf("list identity keys: %w", err)
	}
	out := []Key{}
	for _, r := range rs {
		k := Key{ID: r.id, CreatedAt: time.UnixMilli(r.created).UTC(), Active: !r.retires.Valid}
		if r.retires.Valid {
			t := time.UnixMilli(r.retires.Int64).UTC()
			k.RetiresAt = &t
		}
		out = append(out, k)
	}
	slices.SortStableFunc(out, func(a, b Key) int { // the active key first, then newest first
		switch {
		case a.Active != b.Active && a.Active:
			return -1
		case a.Active != b.Active:
			return 1
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
	now := s.clock.Now()
	minute := now.Unix() / 60
	k := tokenKey{c.Subject, c.Audience}
	s.tokMu.RLock()
	t := s.tokens[k]
	s.tokMu.RUnlock()
	set, err := s.keys(ctx)
	if err != nil {
		return "", err
	}
	if t != nil && t.minute == minute && t.kid == set.kid {
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
	encoded, err := jwt.Signed(set.signer).Claims(p).Serialize()
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
	s.tokens[k] = &token{minute: minute, kid: set.kid, claims: c, encoded: encoded}
	s.tokMu.Unlock()
	return encoded, nil
}

func sameFacts(a, b Claims) bool {
	return a.Issuer == b.Issuer && a.Org == b.Org && slices.Equal(a.Scopes, b.Scopes) && maps.Equal(a.Meta, b.Meta)
}
