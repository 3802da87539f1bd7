package cli_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/keygate/keygate/backend/store"
)

type keyJSON struct {
	ID                    string
	Name                  string
	Status                string
	Scopes                []string
	Metadata              map[string]string
	AllowIPs              []string `json:"allowIps"`
	RateLimit             int
	RateWindowSeconds     int
	QuotaRemaining        *int64
	RefillAmount          int64
	RefillIntervalSeconds int64
	ExpiresAt             *string
	DisabledAt            *string
}

func TestKeysCreateAndUpdateFlags(t *testing.T) {
	dir := t.TempDir()
	var c struct{ ID, Key string }
	ok(t, dir, "", &c, "keys", "create", "--name", "full", "--json",
		"--scope", "orders:read", "--scope", "invoices:*", "--meta", "plan=pro", "--meta", "team=a=b",
		"--allow-ip", "10.1.2.3/8", "--allow-ip", "::1", "--rate-limit", "100/1m",
		"--quota", "500", "--refill", "500/24h", "--expires", "30d")
	var k keyJSON
	ok(t, dir, "", &k, "keys", "get", c.ID, "--json")
	if !slices.Equal(k.Scopes, []string{"invoices:*", "orders:read"}) || k.Metadata["plan"] != "pro" || k.Metadata["team"] != "a=b" ||
		!slices.Equal(k.AllowIPs, []string{"10.0.0.0/8", "::1/128"}) || k.RateLimit != 100 || k.RateWindowSeconds != 60 ||
		k.QuotaRemaining == nil || *k.QuotaRemaining != 500 || k.RefillAmount != 500 || k.RefillIntervalSeconds != 86400 || k.ExpiresAt == nil {
		t.Fatalf("created: %+v", k)
	}
	// The plain view shows them too.
	plain := ok(t, dir, "", nil, "keys", "get", c.ID).stdout
	for _, want := range []string{"invoices:* orders:read", "pro", "10.0.0.0/8 ::1/128", "500 left, set to 500 every 24h0m0s", "100/1m0s"} {
		if !strings.Contains(plain, want) {
			t.Errorf("keys get does not show %q:\n%s", want, plain)
		}
	}

	// A repeated flag replaces its whole list; what is not given stays.
	ok(t, dir, "", &k, "keys", "update", c.ID, "--json", "--scope", "a:b", "--expires", "never", "--quota", "7", "--refill", "none")
	if !slices.Equal(k.Scopes, []string{"a:b"}) || k.ExpiresAt != nil || *k.QuotaRemaining != 7 || k.RefillAmount != 0 ||
		k.Metadata["plan"] != "pro" || len(k.AllowIPs) != 2 || k.RateLimit != 100 {
		t.Fatalf("updated: %+v", k)
	}
	k = keyJSON{} // decoding into a map adds to it
	ok(t, dir, "", &k, "keys", "update", c.ID, "--json", "--scope", "", "--meta", "", "--allow-ip", "", "--quota", "none", "--rate-limit", "0")
	if len(k.Scopes) != 0 || len(k.Metadata) != 0 || len(k.AllowIPs) != 0 || k.QuotaRemaining != nil || k.RateLimit != 0 {
		t.Fatalf("emptied: %+v", k)
	}
	if got := auditActions(t, dir); got["key.update"] != 2 {
		t.Errorf("audit: %v", got)
	}

	// Bad input: a clear message, exit 1 (or 2 for a malformed flag), and nothing changes.
	for _, bad := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--scope", "a b"}, 1, "is not a scope"},
		{[]string{"--allow-ip", "10.0.0.300"}, 1, "neither an IP address nor a CIDR range"},
		{[]string{"--meta", "novalue"}, 2, "NAME=VALUE"},
		{[]string{"--rate-limit", "100/1.5s"}, 2, "whole number of seconds"},
		{[]string{"--refill", "10"}, 2, "N/DURATION"},
		{[]string{"--refill", "10/1h"}, 1, "refill needs a quota"},
		{[]string{"--quota", "-3"}, 2, "--quota"},
		{[]string{"--name", ""}, 1, "name"},
		{nil, 2, "nothing to change"},
	} {
		r := run(t, dir, "", append([]string{"keys", "update", c.ID}, bad.args...)...)
		if r.code != bad.code || !strings.Contains(strings.ToLower(r.stderr), strings.ToLower(bad.want)) {
			t.Errorf("update %v: exit %d %q, want exit %d mentioning %q", bad.args, r.code, r.stderr, bad.code, bad.want)
		}
	}
	var after keyJSON
	ok(t, dir, "", &after, "keys", "get", c.ID, "--json")
	if after.Name != "full" || len(after.Scopes) != 0 {
		t.Errorf("a refused update changed the key: %+v", after)
	}
}

func TestKeysDisableEnableAndList(t *testing.T) {
	dir := t.TempDir()
	var a, b struct{ ID, Key string }
	ok(t, dir, "", &a, "keys", "create", "--name", "Alpha service", "--json", "--expires", "7d")
	ok(t, dir, "", &b, "keys", "create", "--name", "beta", "--json")
	r := ok(t, dir, "", nil, "keys", "disable", a.ID)
	if !strings.Contains(r.stdout, a.ID) {
		t.Errorf("disable printed %q", r.stdout)
	}
	if v := run(t, dir, a.Key+"\n", "keys", "verify"); v.code != 1 || !strings.Contains(v.stdout, `"DISABLED"`) {
		t.Errorf("verify a disabled key: %+v", v)
	}
	var page struct {
		Keys  []keyJSON
		Total int
	}
	ok(t, dir, "", &page, "keys", "list", "--status", "disabled", "--json")
	if page.Total != 1 || len(page.Keys) != 1 || page.Keys[0].ID != a.ID || page.Keys[0].DisabledAt == nil {
		t.Errorf("disabled list: %+v", page)
	}
	ok(t, dir, "", &page, "keys", "list", "--search", "ALPHA", "--json")
	if len(page.Keys) != 1 || page.Keys[0].ID != a.ID {
		t.Errorf("search: %+v", page)
	}
	ok(t, dir, "", &page, "keys", "list", "--expiring-within", "7d", "--json")
	if len(page.Keys) != 1 || page.Keys[0].ID != a.ID {
		t.Errorf("expiring: %+v", page)
	}
	ok(t, dir, "", &page, "keys", "list", "--sort", "name", "--asc", "--json")
	if len(page.Keys) != 2 || page.Keys[0].ID != a.ID {
		t.Errorf("sorted by name: %+v", page)
	}
	if r := run(t, dir, "", "keys", "list", "--sort", "size"); r.code != 1 || !strings.Contains(r.stderr, "lastUsed") {
		t.Errorf("bad sort: %+v", r)
	}
	ok(t, dir, "", nil, "keys", "enable", a.ID)
	if v := run(t, dir, a.Key+"\n", "keys", "verify"); v.code != 0 {
		t.Errorf("verify an enabled key: %+v", v)
	}
	// Idempotent: a second enable changes nothing and records nothing.
	ok(t, dir, "", nil, "keys", "enable", a.ID)
	if got := auditActions(t, dir); got["key.disable"] != 1 || got["key.enable"] != 1 {
		t.Errorf("audit: %v", got)
	}
	ok(t, dir, "", nil, "keys", "revoke", a.ID)
	if r := run(t, dir, "", "keys", "disable", a.ID); r.code != 1 || !strings.Contains(r.stderr, "revoked") {
		t.Errorf("disable a revoked key: %+v", r)
	}
}

func TestKeysRollRefusesExpired(t *testing.T) {
	dir := t.TempDir()
	var c struct{ ID, Key string }
	ok(t, dir, "", &c, "keys", "create", "--name", "old", "--json", "--expires", "7d")
	// Let it expire: the store is the only clock a separate process shares.
	st, err := store.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Write.Exec(`UPDATE keys SET expires_at = 1000 WHERE id = ?`, c.ID); err != nil {
		t.Fatal(err)
	}
	st.Close()
	r := run(t, dir, "", "keys", "roll", c.ID)
	if r.code != 1 || !strings.Contains(r.stderr, "expired key cannot be rolled") || r.stdout != "" {
		t.Fatalf("roll an expired key: %+v", r)
	}
	if v := run(t, dir, c.Key+"\n", "keys", "verify"); !strings.Contains(v.stdout, `"EXPIRED"`) {
		t.Errorf("the refused roll changed the key: %+v", v)
	}
	// A new expiry revives it, and then it rolls.
	ok(t, dir, "", nil, "keys", "update", c.ID, "--expires", "30d")
	ok(t, dir, "", nil, "keys", "roll", c.ID, "--grace", "0s")
}
