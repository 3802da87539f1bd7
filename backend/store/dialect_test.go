package store_test

import (
	"database/sql"
	"errors"
	"strconv"
	"sync"
	"testing"

	"github.com/keygate/keygate/backend/store"
)

func TestRebind(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`SELECT * FROM t WHERE a = ? AND b IN (?, ?)`, `SELECT * FROM t WHERE a = $1 AND b IN ($2, $3)`},
		{`SELECT '?', "a?b", ? -- what?` + "\n" + `, ?`, `SELECT '?', "a?b", $1 -- what?` + "\n" + `, $2`},
		{`SELECT 'it''s ?', ? /* ? */ , ?`, `SELECT 'it''s ?', $1 /* ? */ , $2`},
		{`SELECT $1`, `SELECT $1`},
		{`SELECT 'open ?`, `SELECT 'open ?`},
	} {
		if got := store.Rebind(c.in); got != c.want {
			t.Errorf("Rebind(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestPortableSQL checks, on both engines, the constructs the packages rely on: placeholders,
// booleans, upserts, 64-bit integers, bytes, unique address keys, foreign keys, and a
// reader pool that cannot write.
func TestPortableSQL(t *testing.T) {
	dialects(t, func(t *testing.T, open func() (*store.Store, error)) {
		st, err := open()
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := st.Write.ExecContext(ctx, q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		exec(`INSERT INTO orgs (id, name, created_at) VALUES (?, ?, ?)`, "org_a", "A", int64(1)<<41)
		exec(`INSERT INTO routes (id, prefix, upstream, strip_prefix, org_id, auth_required, created_at, updated_at)
			VALUES (?, ?, ?, ?, nullif(?, ''), ?, ?, ?)`, "rt_1", "/a", "http://x", true, "", false, 1, 1)
		var strip, auth bool
		var org string
		if err := st.Read.QueryRowContext(ctx, `SELECT strip_prefix, auth_required, coalesce(org_id, '') FROM routes WHERE id = ?`, "rt_1").
			Scan(&strip, &auth, &org); err != nil || !strip || auth || org != "" {
			t.Errorf("booleans/nullif: %v %v %q %v", strip, auth, org, err)
		}

		const up = `INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value
			WHERE settings.value != excluded.value`
		exec(up, "s", "1")
		exec(up, "s", "2")
		var v string
		st.Read.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = ?`, "s").Scan(&v)
		if v != "2" {
			t.Errorf("upsert left %q, want 2", v)
		}

		var created int64
		st.Read.QueryRowContext(ctx, `SELECT created_at FROM orgs WHERE id = ?`, "org_a").Scan(&created)
		if created != int64(1)<<41 {
			t.Errorf("64-bit integer came back as %d", created)
		}

		exec(`INSERT INTO users (id, email, email_key, password_hash, created_at) VALUES (?, ?, ?, ?, ?)`,
			"usr_1", "Ann@Example.com", "ann@example.com", "x", 1)
		var id string
		if err := st.Read.QueryRowContext(ctx, `SELECT id FROM users WHERE email_key = ?`, "ann@example.com").Scan(&id); err != nil || id != "usr_1" {
			t.Errorf("address lookup by key: %q %v", id, err)
		}
		if _, err := st.Write.ExecContext(ctx, `INSERT INTO users (id, email, email_key, password_hash, created_at) VALUES (?, ?, ?, ?, ?)`,
			"usr_2", "ANN@example.com", "ann@example.com", "x", 1); err == nil {
			t.Error("a second account with the same address key was accepted")
		}

		hash := []byte{0, 1, 2, 255}
		exec(`INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
			hash, "usr_1", "c", 1, 1, 2)
		var n int
		if err := st.Read.QueryRowContext(ctx, `SELECT count(*) FROM sessions WHERE id_hash = ?`, hash).Scan(&n); err != nil || n != 1 {
			t.Errorf("bytes key: %d %v", n, err)
		}

		if _, err := st.Write.ExecContext(ctx, `INSERT INTO keys (id, org_id, name, prefix, start, created_at, created_by)
			VALUES ('k', 'org_missing', 'n', 'kg', 'kg_x', 0, 't')`); err == nil {
			t.Error("a key referencing a missing organization was accepted")
		}
		if _, err := st.Read.ExecContext(ctx, `INSERT INTO settings (name, value) VALUES ('r', 'w')`); err == nil {
			t.Error("the reader pool accepted a write")
		}

		exec(`INSERT INTO audit_log (at, actor, action) VALUES (?, ?, ?)`, 1, "cli", "a")
		exec(`INSERT INTO audit_log (at, actor, action) VALUES (?, ?, ?)`, 2, "cli", "b")
		var first, second int64
		st.Read.QueryRowContext(ctx, `SELECT min(id), max(id) FROM audit_log`).Scan(&first, &second)
		if first < 1 || second != first+1 {
			t.Errorf("generated ids %d, %d", first, second)
		}
	})
}

// TestRevisionTriggers: every change that can alter a verification answer bumps the revision in
// both dialects; usage counting does not.
func TestRevisionTriggers(t *testing.T) {
	dialects(t, func(t *testing.T, open func() (*store.Store, error)) {
		st, err := open()
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		setup := []string{
			`INSERT INTO orgs (id, name, created_at) VALUES ('o', 'O', 0)`,
			`INSERT INTO keys (id, org_id, name, prefix, start, created_at, created_by) VALUES ('k', 'o', 'n', 'kg', 'kg_x', 0, 't')`,
			`INSERT INTO users (id, email, email_key, password_hash, created_at) VALUES ('u', 'u@x', 'u@x', 'x', 0)`,
			`INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at) VALUES ('\x01', 'u', 'c', 0, 0, 1)`,
		}
		if st.Dialect == store.Postgres {
			setup[3] = `INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at) VALUES ('\x01'::bytea, 'u', 'c', 0, 0, 1)`
		}
		for _, q := range setup {
			if _, err := st.Write.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		for _, c := range []struct {
			q    string
			bump bool
		}{
			{`INSERT INTO key_secrets (hash, key_id, created_at) VALUES (?, 'k', 0)`, true},
			{`UPDATE key_secrets SET retires_at = 5`, true},
			{`UPDATE keys SET revoked_at = 1 WHERE id = 'k'`, true},
			{`UPDATE keys SET name = 'm' WHERE id = 'k'`, true},
			{`UPDATE keys SET usage_count = usage_count + 1, last_used_at = 9 WHERE id = 'k'`, false},
			{`DELETE FROM key_secrets`, true},
			{`INSERT INTO routes (id, prefix, upstream, created_at, updated_at) VALUES ('r', '/r', 'http://u', 0, 0)`, true},
			{`UPDATE routes SET upstream = 'http://v'`, true},
			{`DELETE FROM routes`, true},
			{`INSERT INTO settings (name, value) VALUES ('a', 'b')`, true},
			{`UPDATE settings SET value = 'c'`, true},
			{`DELETE FROM settings`, true},
			{`DELETE FROM sessions`, true},
			{`INSERT INTO audit_log (at, actor, action) VALUES (0, 'cli', 'x')`, false},
		} {
			before, err := st.Revision(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var args []any
			if c.bump && c.q[:6] == "INSERT" && c.q[12:23] == "key_secrets" {
				args = append(args, []byte{9})
			}
			if _, err := st.Write.ExecContext(ctx, c.q, args...); err != nil {
				t.Fatalf("%s: %v", c.q, err)
			}
			after, _ := st.Revision(ctx)
			if got := after > before; got != c.bump {
				t.Errorf("%s: revision %d -> %d, want bumped=%v", c.q, before, after, c.bump)
			}
		}
	})
}

// TestWritersQueue: check-then-insert transactions from many connections at once behave as
// under SQLite's single writer — none sees a stale "absent" and none fails.
func TestWritersQueue(t *testing.T) {
	dialects(t, func(t *testing.T, open func() (*store.Store, error)) {
		st, err := open()
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		other, err := open() // a second node on the same database
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		var wg sync.WaitGroup
		errs := make(chan error, 40)
		for i := range 40 {
			s := st
			if i%2 == 1 {
				s = other
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- s.Tx(ctx, func(tx *sql.Tx) error {
					var v string
					err := tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = ?`, "counter").Scan(&v)
					if errors.Is(err, sql.ErrNoRows) {
						_, err := tx.ExecContext(ctx, `INSERT INTO settings (name, value) VALUES (?, ?)`, "counter", "1")
						return err
					}
					if err != nil {
						return err
					}
					n, _ := strconv.Atoi(v)
					_, err = tx.ExecContext(ctx, `UPDATE settings SET value = ? WHERE name = ?`, strconv.Itoa(n+1), "counter")
					return err
				})
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("a writer failed: %v", err)
			}
		}
		var v string
		st.Read.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = 'counter'`).Scan(&v)
		if v != "40" {
			t.Fatalf("counter %s after 40 serialized increments, want 40", v)
		}
	})
}
