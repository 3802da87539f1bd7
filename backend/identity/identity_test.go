package identity_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
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

// kidOf returns the kid of the token s mints for c now, checking it verifies with the
// published set.
func kidOf(t *testing.T, s *identity.Service, c identity.Claims, now time.Time) string {
	t.Helper()
	tok, err := s.Token(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	_, kid := claimsOf(t, s, tok, now)
	return kid
}

func states(ks []identity.Key) string {
	var b strings.Builder
	for _, k := range ks {
		fmt.Fprintf(&b, "%s:%s ", k.ID, k.State)
	}
	return strings.TrimSpace(b.String())
}

// TestRotateSchedulesTheNewKey: a rotated key is published at once but signs only once the key
// set's max-age has passed (every honest cache upstream has it by then); the current key signs
// until that moment and stays published for a day after it stopped; then it leaves the set.
func TestRotateSchedulesTheNewKey(t *testing.T) {
	st := testutil.NewStore(t)
	clk := testutil.NewClock()
	s := identity.New(st, identity.Options{Seal: box(t, 1), Clock: clk})
	if s.MaxAge() != identity.DefaultMaxAge || identity.DefaultMaxAge != 5*time.Minute {
		t.Fatalf("max-age %v", s.MaxAge())
	}
	ctx := context.Background()
	c := identity.Claims{Issuer: "https://api.example.com", Audience: "/pets", Subject: "key_1", Version: new(int)}
	oldTok, err := s.Token(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	_, oldKid := claimsOf(t, s, oldTok, clk.Now())
	if ks, _ := s.List(ctx); len(ks) != 1 || ks[0].State != identity.StateCurrent || !ks[0].Active || ks[0].SignsUntil != nil || ks[0].RetiresAt != nil {
		t.Fatalf("a fresh instance: %+v", ks)
	}

	clk.Advance(20 * time.Second) // signs_from falls inside a minute: the minute's token must change
	rotatedAt := clk.Now()
	r, err := s.Rotate(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	signsFrom := rotatedAt.Add(identity.DefaultMaxAge)
	newKid := r.Key.ID
	if newKid == oldKid || r.Key.State != identity.StateNext || r.Key.Active || !r.Key.SignsFrom.Equal(signsFrom) || r.Key.SignsUntil != nil || r.Key.RetiresAt != nil {
		t.Fatalf("the new key %+v", r.Key)
	}
	if len(r.Keys) != 2 || r.Keys[0].ID != newKid || r.Keys[1].ID != oldKid || r.Keys[1].State != identity.StateCurrent || !r.Keys[1].Active ||
		r.Keys[1].SignsUntil == nil || !r.Keys[1].SignsUntil.Equal(signsFrom) || !r.Keys[1].RetiresAt.Equal(signsFrom.Add(identity.RetireAfter)) {
		t.Fatalf("after rotate: %+v", r.Keys)
	}
	// Published at once.
	if raw, _ := s.JWKS(ctx); !bytes.Contains(raw, []byte(newKid)) || !bytes.Contains(raw, []byte(oldKid)) {
		t.Fatalf("the set right after the rotation: %s", raw)
	}
	// The old key keeps signing (and the cached token is reused) until signs_from.
	if again, _ := s.Token(ctx, c); again != oldTok {
		t.Fatal("the rotation changed the token before the new key signs")
	}
	clk.Advance(identity.DefaultMaxAge - time.Millisecond)
	if kid := kidOf(t, s, c, clk.Now()); kid != oldKid {
		t.Fatalf("a millisecond before signs_from the token has kid %s, want the old %s", kid, oldKid)
	}
	// Another service on the same store (another node) decides the same from the stored times.
	other := identity.New(st, identity.Options{Seal: box(t, 1), Clock: clk})
	if kid := kidOf(t, other, c, clk.Now()); kid != oldKid {
		t.Fatalf("another node signs with %s before signs_from", kid)
	}
	clk.Advance(time.Millisecond)
	// The token of this minute was minted with the old key: at signs_from it is replaced.
	if kid := kidOf(t, s, c, clk.Now()); kid != newKid {
		t.Fatalf("at signs_from the token has kid %s, want the new %s", kid, newKid)
	}
	if kid := kidOf(t, other, c, clk.Now()); kid != newKid {
		t.Fatalf("another node signs with %s after signs_from", kid)
	}
	claimsOf(t, s, oldTok, rotatedAt) // tokens of the old key still verify
	if ks, _ := s.List(ctx); states(ks) != newKid+":current "+oldKid+":retiring" || ks[1].Active || !ks[1].RetiresAt.Equal(signsFrom.Add(identity.RetireAfter)) {
		t.Fatalf("after signs_from: %+v", ks)
	}

	// Published for a day after it stopped signing, not after the rotation.
	clk.Set(signsFrom.Add(identity.RetireAfter - time.Second))
	if raw, _ := s.JWKS(ctx); !bytes.Contains(raw, []byte(oldKid)) {
		t.Fatal("the old key left before its day was over")
	}
	clk.Advance(time.Second)
	if raw, _ := s.JWKS(ctx); bytes.Contains(raw, []byte(oldKid)) || !bytes.Contains(raw, []byte(newKid)) {
		t.Fatalf("a day after it stopped signing: %s", raw)
	}
	if ks, _ := s.List(ctx); states(ks) != newKid+":current" {
		t.Fatalf("after the retirement: %+v", ks)
	}
	// The next rotation deletes what retired.
	if _, err := s.Rotate(ctx, false); err != nil {
		t.Fatal(err)
	}
	var n int
	st.Read.QueryRow(`SELECT count(*) FROM identity_keys`).Scan(&n)
	if n != 2 {
		t.Fatalf("%d keys stored, want 2", n)
	}
}

// TestRotateNow: an emergency rotation signs with the new key at once and retires the old one
// from then; a key scheduled by an earlier rotation and not signing yet never signs.
func TestRotateNow(t *testing.T) {
	st := testutil.NewStore(t)
	clk := testutil.NewClock()
	s := identity.New(st, identity.Options{Seal: box(t, 1), Clock: clk, MaxAge: 10 * time.Second})
	ctx := context.Background()
	c := identity.Claims{Issuer: "https://api.example.com", Audience: "/pets", Subject: "key_1", Version: new(int)}
	first := kidOf(t, s, c, clk.Now())
	scheduled, err := s.Rotate(ctx, false)
	if err != nil || !scheduled.Key.SignsFrom.Equal(clk.Now().Add(10*time.Second)) {
		t.Fatalf("a rotation with a 10 s max-age: %+v %v", scheduled.Key, err)
	}
	clk.Advance(3 * time.Second)
	at := clk.Now()
	r, err := s.Rotate(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if r.Key.State != identity.StateCurrent || !r.Key.Active || !r.Key.SignsFrom.Equal(at) {
		t.Fatalf("the emergency key %+v", r.Key)
	}
	if got, want := states(r.Keys), r.Key.ID+":current "+scheduled.Key.ID+":retiring "+first+":retiring"; got != want {
		t.Fatalf("after --now: %s, want %s", got, want)
	}
	for _, k := range r.Keys[1:] {
		if k.Active || k.SignsUntil == nil || !k.SignsUntil.Equal(at) || !k.RetiresAt.Equal(at.Add(identity.RetireAfter)) {
			t.Fatalf("a replaced key %+v", k)
		}
	}
	if kid := kidOf(t, s, c, clk.Now()); kid != r.Key.ID {
		t.Fatalf("right after --now the token has kid %s, want %s", kid, r.Key.ID)
	}
	// The key that was scheduled never takes over, also past its signs_from.
	clk.Advance(time.Minute)
	if kid := kidOf(t, s, c, clk.Now()); kid != r.Key.ID {
		t.Fatalf("past the overtaken key's signs_from the token has kid %s", kid)
	}
	fresh := identity.New(st, identity.Options{Seal: box(t, 1), Clock: clk})
	if kid := kidOf(t, fresh, c, clk.Now()); kid != r.Key.ID {
		t.Fatalf("another node signs with %s", kid)
	}
	// All three stay published until a day after the emergency.
	raw, _ := s.JWKS(ctx)
	for _, k := range r.Keys {
		if !bytes.Contains(raw, []byte(k.ID)) {
			t.Fatalf("%s not published: %s", k.ID, raw)
		}
	}
	clk.Set(at.Add(identity.RetireAfter))
	if raw, _ := s.JWKS(ctx); bytes.Contains(raw, []byte(first)) || bytes.Contains(raw, []byte(scheduled.Key.ID)) {
		t.Fatalf("a day after the emergency: %s", raw)
	}
}

// TestRotateTwiceBeforeTheFirstSigns: a second rotation while a key waits to sign lets the
// waiting key sign until the newer one takes over (both published all along).
func TestRotateTwiceBeforeTheFirstSigns(t *testing.T) {
	st := testutil.NewStore(t)
	clk := testutil.NewClock()
	s := identity.New(st, identity.Options{Seal: box(t, 1), Clock: clk, MaxAge: time.Minute})
	ctx := context.Background()
	c := identity.Claims{Issuer: "https://api.example.com", Audience: "/pets", Subject: "key_1", Version: new(int)}
	first := kidOf(t, s, c, clk.Now())
	b, _ := s.Rotate(ctx, false)
	clk.Advance(30 * time.Second)
	cr, err := s.Rotate(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := states(cr.Keys), cr.Key.ID+":next "+b.Key.ID+":next "+first+":current"; got != want {
		t.Fatalf("after two rotations: %s, want %s", got, want)
	}
	for _, step := range []struct {
		advance time.Duration
		want    string
	}{{29 * time.Second, first}, {time.Second, b.Key.ID}, {29 * time.Second, b.Key.ID}, {time.Second, cr.Key.ID}} {
		clk.Advance(step.advance)
		if kid := kidOf(t, s, c, clk.Now()); kid != step.want {
			t.Fatalf("at %v: kid %s, want %s", clk.Now().Sub(testutil.Epoch), kid, step.want)
		}
	}
}

// TestRotationReachesOtherServices: another process's service learns of a rotation through
// the change feed and publishes the new key at once.
func TestRotationReachesOtherServices(t *testing.T) {
	st := testutil.NewStore(t)
	clk := testutil.NewClock()
	s := identity.New(st, identity.Options{Seal: box(t, 1), Clock: clk})
	ctx := context.Background()
	other := identity.New(st, identity.Options{Seal: box(t, 1), Clock: clk})
	before, err := other.JWKS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	watchCtx, stop := context.WithCancel(ctx)
	defer stop()
	go other.Watch(watchCtx)
	time.Sleep(50 * time.Millisecond)
	r, err := s.Rotate(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		after, _ := other.JWKS(ctx)
		if !bytes.Equal(after, before) && bytes.Contains(after, []byte(r.Key.ID)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the other service still publishes the old set")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRotateWithoutSecretsKeyChangesNothing: a rotation that cannot seal the new key fails
// before anything changes.
func TestRotateWithoutSecretsKeyChangesNothing(t *testing.T) {
	st := testutil.NewStore(t)
	clk := testutil.NewClock()
	s := identity.New(st, identity.Options{Seal: box(t, 1), Clock: clk})
	ctx := context.Background()
	if _, err := s.JWKS(ctx); err != nil {
		t.Fatal(err)
	}
	before, _ := s.List(ctx)
	if _, err := identity.New(st, identity.Options{Clock: clk}).Rotate(ctx, false); err == nil {
		t.Fatal("rotated without a secrets key")
	}
	if after, _ := s.List(ctx); states(after) != states(before) || len(after) != 1 {
		t.Fatalf("a failed rotation changed the keys: %+v", after)
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

// TestRotationWaitsForTheAdvertisedMaxAge: a server that serves the key set with a longer
// max-age than the rotating process's own (the CLI beside it, another node) makes the rotation
// wait for that one; a shorter one does not shorten the rotating process's own lead.
func TestRotationWaitsForTheAdvertisedMaxAge(t *testing.T) {
	st := testutil.NewStore(t)
	clk := testutil.NewClock()
	ctx := context.Background()
	server := identity.New(st, identity.Options{Seal: box(t, 1), Clock: clk, MaxAge: time.Hour})
	if err := server.Advertise(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := server.JWKS(ctx); err != nil { // the first key
		t.Fatal(err)
	}
	cli := identity.New(st, identity.Options{Seal: box(t, 1), Clock: clk})
	r, err := cli.Rotate(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := clk.Now().Add(time.Hour); !r.Key.SignsFrom.Equal(want) {
		t.Fatalf("the CLI's rotation signs from %v, want the server's hour: %v", r.Key.SignsFrom, want)
	}
	long := identity.New(st, identity.Options{Seal: box(t, 1), Clock: clk, MaxAge: 2 * time.Hour})
	if r, err = long.Rotate(ctx, false); err != nil {
		t.Fatal(err)
	}
	if want := clk.Now().Add(2 * time.Hour); !r.Key.SignsFrom.Equal(want) {
		t.Fatalf("a longer own max-age: signs from %v, want %v", r.Key.SignsFrom, want)
	}
	if r, err = cli.Rotate(ctx, true); err != nil || !r.Key.SignsFrom.Equal(clk.Now()) {
		t.Fatalf("an emergency rotation still signs at once: %+v %v", r.Key, err)
	}
}

// TestTokenLoaded: a caller that must not wait signs only once the key set is in memory, with
// the token Token gives, a fresh one for other claims (verifiable against the published set),
// and not after an invalidation drops the set.
func TestTokenLoaded(t *testing.T) {
	st := testutil.NewStore(t)
	clk := testutil.NewClock()
	s := identity.New(st, identity.Options{Seal: box(t, 1), Clock: clk})
	c := identity.Claims{Issuer: "https://api.example.com", Audience: "/pets", Subject: "key_1", Org: "org_1"}
	if s.Loaded() {
		t.Fatal("loaded before any use")
	}
	if _, err := s.TokenLoaded(c); err == nil {
		t.Fatal("signed without the keys in memory")
	}
	tok, err := s.Token(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Loaded() {
		t.Fatal("not loaded after Token")
	}
	if got, err := s.TokenLoaded(c); err != nil || got != tok {
		t.Fatalf("TokenLoaded: %v, not Token's token", err)
	}
	other := c
	other.Subject = "key_2"
	got, err := s.TokenLoaded(other)
	if err != nil || got == tok {
		t.Fatalf("TokenLoaded for another key: %v", err)
	}
	if all, _ := claimsOf(t, s, got, clk.Now()); all["sub"] != "key_2" {
		t.Fatalf("claims %v", all)
	}
	s.Invalidate()
	if s.Loaded() {
		t.Fatal("loaded after Invalidate")
	}
	if _, err := s.TokenLoaded(c); err == nil {
		t.Fatal("signed after Invalidate dropped the keys")
	}
}
