package keys_test

import (
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/testutil"
)

// TestForeignSecrets: words are found as secrets only once imported keys in another format
// exist, then for every secret a key has (a native key's too, a revoked key's too), never for
// other words.
func TestForeignSecrets(t *testing.T) {
	st := testutil.NewStore(t)
	svc := keys.New(st)
	org := testutil.DefaultOrg(t, st).ID
	native, err := svc.Create(ctx, keys.CreateParams{OrgID: org, Name: "native", CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	foreign := "ba_" + strings.Repeat("Qx", 32)
	revoked := "plain-secret-of-a-revoked-key"
	words := []string{foreign, revoked, native.Key, "Mozilla/5.0", "ba_" + strings.Repeat("Qx", 31)}

	if got, err := svc.ForeignSecrets(ctx, words); err != nil || len(got) != 0 {
		t.Fatalf("no imported key yet: %v %v, want nothing", got, err)
	}
	if _, err := svc.Import(ctx, org, "test", []keys.Record{
		{Name: "imported", Foreign: true, Secrets: []keys.Secret{{Hash: sha256.Sum256([]byte(foreign))}}},
		{Name: "imported revoked", Foreign: true, RevokedAt: ptr(testutil.NewClock().Now()), Secrets: []keys.Secret{{Hash: sha256.Sum256([]byte(revoked))}}},
	}, false); err != nil {
		t.Fatal(err)
	}
	got, err := svc.ForeignSecrets(ctx, words)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{foreign: true, revoked: true, native.Key: true}
	if len(got) != len(want) {
		t.Fatalf("found %v, want %v", got, want)
	}
	for w := range want {
		if !got[w] {
			t.Errorf("%q not found", w)
		}
	}
	// More words than one query asks about.
	many := make([]string, 0, 1200)
	for i := range 1200 {
		many = append(many, strings.Repeat("w", i%300+1)+string(rune('a'+i%26)))
	}
	many = append(many, foreign)
	if got, err := svc.ForeignSecrets(ctx, many); err != nil || len(got) != 1 || !got[foreign] {
		t.Fatalf("1,201 words: %v %v", got, err)
	}
}
