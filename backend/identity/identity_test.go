package identity_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/keygate/keygate/backend/identity"
	"github.com/keygate/keygate/backend/seal"
	"github.com/keygate/keygate/backend/testutil"
	"github.com/keygate/keygate/backend/testutil/pgtest"
)

// TestMain stops the PostgreSQL server that KEYGATE_TEST_STORE=postgres runs start.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func box(t *testing.T, b byte) func() (*seal.Box, error) {
	t.Helper()
	return func() (*seal.Box, error) { return seal.New(bytes.Repeat([]byte{b}, 32)) }
}

// claimsOf verifies tok against the JWKS the service publishes and returns its claims.
func claimsOf(t *testing.T, s *identity.Service, tok string, now time.Time) (map[string]any, string) {
	t.Helper()
	raw, err := s.JWKS(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(raw, &set); err != nil {
		t.Fatal(err)
	}
	parsed, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	kid := parsed.Headers[0].KeyID
	keys := set.Key(kid)
	if len(keys) != 1 {
		t.Fatalf("kid %q is not published once: %s", kid, raw)
	}
	var std jwt.Claims
	var all map[string]any
	if err := parsed.Claims(keys[0].Key, &std, &all); err != nil {
		t.Fatalf("verify: %v", err)
	}
	if err := std.ValidateWithLeeway(jwt.Expected{Issuer: "https://api.example.com", AnyAudience: jwt.Audience{"/pets"}, Time: now}, 0); err != nil {
		t.Fatalf("validate: %v", err)
	}
	return all, kid
}

func TestTokenIsSignedCachedAndVerifiable(t *testing.T) {
	st := testutil.NewStore(t)
	clk := testutil.NewClock()
	s := identity.New(st, identity.Options{Seal: box(t, 1), Clock: clk})
	ctx := context.Background()
	version := new(int)
	c := identity.Claims{Issuer: "https://api.example.com", Audience: "/pets", Subject: "key_1", Org: "org_1",
		Scopes: []string{"pets:read"}, Meta: map[string]string{"plan": "pro"}, Version: version}
	tok, err := s.Token(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	all, kid := claimsOf(t, s, tok, clk.Now())
	if all["sub"] != "key_1" || all["org"] != "org_1" || all["aud"] != "/pets" || all["iss"] != "https://api.example.com" {
		t.Fatalf("claims %v", all)
	}
	if sc, _ := all["scopes"].([]any); len(sc) != 1 || sc[0] != "pets:read" {
		t.Fatalf("scopes %v", all["scopes"])
	}
	if m, _ := all["meta"].(map[string]any); m["plan"] != "pro" {
		t.Fatalf("meta %v", all["meta"])
	}
	iat, exp := int64(all["iat"].(float64)), int64(all["exp"].(float64))
	if exp-iat != 120 || iat%60 != 0 || iat > clk.Now().Unix() || clk.Now().Unix()-iat >= 60 {
		t.Fatalf("iat %d exp %d now %d", iat, exp, clk.Now().Unix())
	}

	// Reused within the minute; a changed fact or a new minute mints another.
	clk.Advance(10 * time.Second)
	if again, _ := s.Token(ctx, c); again != tok {
		t.Fatal("a second request in the same minute got a new token")
	}
	c2 := c
	c2.Version, c2.Scopes = new(int), []string{"pets:read", "pets:write"}
	changed, err := s.Token(ctx, c2)
	if err != nil || changed == tok {
		t.Fatalf("changed scopes kept the token: %v", err)
	}
	clk.Advance(60 * time.Second)
	later, _ := s.Token(ctx, c2)
	if later == changed {
		t.Fatal("a new minute kept the old token")
	}
	// Other subjects and audiences get their own.
	c3 := c2
	c3.Audience = "/other"
	if other, _ := s.Token(ctx, c3); other == later {
		t.Fatal("another audience got the same token")
	}

	// The private key is sealed: the stored bytes are not a key, nor contain one.
	var priv []byte
	if err := st.Read.QueryRow(`SELECT private_key FROM identity_keys WHERE id = ?`, kid).Scan(&priv); err != nil {
		t.Fatal(err)
	}
	if _, err := x509.ParseECPrivateKey(priv); err == nil {
		t.Fatal("the private key is stored in plain")
	}
	// Another instance with another secrets key cannot sign with it.
	wrong := identity.New(st, identity.Options{Seal: box(t, 2), Clock: clk})
	if _, err := wrong.Token(ctx, c); !errors.Is(err, seal.ErrOpen) {
		t.Fatalf("wrong secrets key: %v", err)
	}
	noSeal := identity.New(st, identity.Options{Clock: clk})
	if _, err := noSeal.Token(ctx, c); err == nil {
		t.Fatal("signed without a secrets key")
	}
}

func TestRotateKeepsTheOldKeyPublishedForADay(t *testing.T) {
	st := testutil.NewStore(t)
	clk := testutil.NewClock()
	s := identity.New(st, identity.Options{Seal: box(t, 1), Clock: clk})
	ctx := context.Background()
	c := identity.Claims{Issuer: "https://api.example.com", Audience: "/pets", Subject: "key_1"}
	old, err := s.Token(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	_, oldKid := claimsOf(t, s, old, clk.Now())

	ks, err := s.Rotate(ctx)
	if err != nil || len(ks) != 2 || !ks[0].Active || ks[1].ID != oldKid || ks[1].Active || ks[1].RetiresAt == nil ||
		!ks[1].RetiresAt.Equal(clk.Now().Add(identity.RetireAfter)) {
		t.Fatalf("after rotate %+v, %v", ks, err)
	}
	tok, err := s.Token(ctx, c)
	if err != nil || tok == old {
		t.Fatalf("the token after a rotation: %v", err)
	}
	if _, kid := claimsOf(t, s, tok, clk.Now()); kid != ks[0].ID {
		t.Fatalf("signed by %s, want the new key %s", kid, ks[0].ID)
	}
	claimsOf(t, s, old, clk.Now()) // the old token still verifies

	clk.Advance(identity.RetireAfter - time.Second)
	if raw, _ := s.JWKS(ctx); !bytes.Contains(raw, []byte(oldKid)) {
		t.Fatal("the old key left before its day was over")
	}
	clk.Advance(2 * time.Second)
	if raw, _ := s.JWKS(ctx); bytes.Contains(raw, []byte(oldKid)) || !bytes.Contains(raw, []byte(ks[0].ID)) {
		t.Fatalf("after a day: %s", raw)
	}
	// A second rotation deletes what retired.
	if ks, err := s.Rotate(ctx); err != nil || len(ks) != 2 {
		t.Fatalf("second rotate %+v %v", ks, err)
	}
	var n int
	st.Read.QueryRow(`SELECT count(*) FROM identity_keys`).Scan(&n)
	if n != 2 {
		t.Fatalf("%d keys stored, want 2", n)
	}

	// Another process's service learns of the rotation through the change feed.
	other := identity.New(st, identity.Options{Seal: box(t, 1), Clock: clk})
	before, _ := other.JWKS(ctx)
	watchCtx, stop := context.WithCancel(ctx)
	defer stop()
	go other.Watch(watchCtx)
	time.Sleep(50 * time.Millisecond)
	if _, err := s.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		after, _ := other.JWKS(ctx)
		if !bytes.Equal(after, before) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the other service still publishes the old set")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestFirstKeyOnce: services starting together make one signing key between them.
func TestFirstKeyOnce(t *testing.T) {
	st := testutil.NewStore(t)
	clk := testutil.NewClock()
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := identity.New(st, identity.Options{Seal: box(t, 1), Clock: clk})
			if _, err := s.JWKS(context.Background()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	var n int
	st.Read.QueryRow(`SELECT count(*) FROM identity_keys`).Scan(&n)
	if n != 1 {
		t.Fatalf("%d keys made, want 1", n)
	}
}

func BenchmarkTokenCached(b *testing.B) {
	st := testutil.NewStore(b)
	s := identity.New(st, identity.Options{Seal: func() (*seal.Box, error) { return seal.New(make([]byte, 32)) }})
	v := new(int)
	c := identity.Claims{Issuer: "https://api.example.com", Audience: "/pets", Subject: "key_1", Version: v}
	if _, err := s.Token(context.Background(), c); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		s.Token(context.Background(), c)
	}
}
