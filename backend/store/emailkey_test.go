package store_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/keygate/keygate/backend/store"
)

// emailKeyBefore is the last schema version without users.email_key.
const emailKeyBefore = 14

// TestEmailKeyMigration: 0015 keys every stored account and invitation by mailaddr.Key on both
// engines, keeps the addresses as typed, merges one organization's invitations to one key
// (newest stands), and from then on both engines refuse and accept the same addresses.
func TestEmailKeyMigration(t *testing.T) {
	dialects(t, func(t *testing.T, open func() (*store.Store, error)) {
		restore := store.MigrateOnlyTo(emailKeyBefore)
		old, err := open()
		restore()
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{
			`INSERT INTO orgs (id, name, created_at) VALUES ('o', 'O', 0)`,
			`INSERT INTO users (id, email, password_hash, created_at) VALUES ('usr_u', 'Ünal@Example.com', 'x', 1)`,
			`INSERT INTO users (id, email, password_hash, created_at) VALUES ('usr_a', 'Ada@Example.com', 'x', 2)`,
			`INSERT INTO invitations (id, org_id, email, role, inviter, created_at, expires_at) VALUES ('inv_1', 'o', 'straße@example.de', 'member', 'local', 1, 9)`,
			`INSERT INTO invitations (id, org_id, email, role, inviter, created_at, expires_at) VALUES ('inv_2', 'o', 'strasse@example.de', 'admin', 'local', 2, 9)`,
			`INSERT INTO invitations (id, org_id, email, role, inviter, created_at, expires_at) VALUES ('inv_3', 'o', 'zoë@example.com', 'member', 'local', 3, 9)`,
		} {
			if _, err := old.Write.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		old.Close()

		st, err := open()
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		for id, want := range map[string][2]string{
			"usr_u": {"Ünal@Example.com", "ünal@example.com"},
			"usr_a": {"Ada@Example.com", "ada@example.com"},
		} {
			var email, key string
			if err := st.Read.QueryRowContext(ctx, `SELECT email, email_key FROM users WHERE id = ?`, id).Scan(&email, &key); err != nil {
				t.Fatal(err)
			}
			if email != want[0] || key != want[1] {
				t.Errorf("%s: email %q key %q, want %q %q", id, email, key, want[0], want[1])
			}
		}
		rows, err := st.Read.QueryContext(ctx, `SELECT id, email_key, role FROM invitations ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for rows.Next() {
			var id, key, role string
			rows.Scan(&id, &key, &role)
			got = append(got, id+" "+key+" "+role)
		}
		rows.Close()
		if want := "inv_2 strasse@example.de admin|inv_3 zoë@example.com member"; strings.Join(got, "|") != want {
			t.Errorf("invitations after the migration:\n%s\nwant\n%s", strings.Join(got, "|"), want)
		}

		insert := func(id, email, key string) error {
			_, err := st.Write.ExecContext(ctx, `INSERT INTO users (id, email, email_key, password_hash, created_at) VALUES (?, ?, ?, 'x', 3)`,
				id, email, key)
			return err
		}
		if err := insert("usr_u2", "ünal@EXAMPLE.com", "ünal@example.com"); err == nil {
			t.Error("a second account with the key ünal@example.com was accepted")
		}
		// A row without a key would escape the unique index and every lookup (0016).
		if _, err := st.Write.ExecContext(ctx, `INSERT INTO users (id, email, password_hash, created_at) VALUES ('usr_n', 'n@example.com', 'x', 3)`); err == nil ||
			!strings.Contains(err.Error(), "email_key") {
			t.Errorf("an account without email_key: %v, want refused", err)
		}
		if _, err := st.Write.ExecContext(ctx, `UPDATE users SET email_key = NULL WHERE id = 'usr_a'`); err == nil ||
			!strings.Contains(err.Error(), "email_key") {
			t.Errorf("clearing email_key: %v, want refused", err)
		}
		// Different keys are different accounts on both engines, whatever PostgreSQL's old ICU
		// collation (which ignored the difference between ² and 2) would have said.
		if err := insert("usr_s", "ada²@example.com", "ada²@example.com"); err != nil {
			t.Errorf("ada²@example.com: %v", err)
		}
		if err := insert("usr_2", "ada2@example.com", "ada2@example.com"); err != nil {
			t.Errorf("ada2@example.com beside ada²@example.com: %v", err)
		}
	})
}

// TestEmailKeyMigrationRefusesCollisions: two accounts that SQLite's NOCASE kept apart but whose
// addresses have the same key fail the migration with both ids and addresses, and the database
// stays as it was. (PostgreSQL's ICU collation already refused such pairs.)
func TestEmailKeyMigrationRefusesCollisions(t *testing.T) {
	dir := t.TempDir()
	restore := store.MigrateOnlyTo(emailKeyBefore)
	old, err := store.Open(ctx, dir)
	restore()
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO users (id, email, password_hash, created_at) VALUES ('usr_1', 'Ünal@example.com', 'x', 1)`,
		`INSERT INTO users (id, email, password_hash, created_at) VALUES ('usr_2', 'ünal@EXAMPLE.com', 'x', 2)`,
		`INSERT INTO users (id, email, password_hash, created_at) VALUES ('usr_3', 'ada@example.com', 'x', 3)`,
	} {
		if _, err := old.Write.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	old.Close()

	_, err = store.Open(ctx, dir)
	if !errors.Is(err, store.ErrSameAddress) {
		t.Fatalf("open: %v, want ErrSameAddress", err)
	}
	for _, want := range []string{"usr_1 (Ünal@example.com)", "usr_2 (ünal@EXAMPLE.com)", "keygate users remove"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "usr_3") {
		t.Errorf("error names an account that collides with none: %v", err)
	}

	restore = store.MigrateOnlyTo(emailKeyBefore)
	defer restore()
	st, err := store.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if v, _ := st.SchemaVersion(ctx); v != emailKeyBefore {
		t.Errorf("schema version %d after the refused migration, want %d", v, emailKeyBefore)
	}
	var n int
	st.Read.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n)
	if n != 3 {
		t.Errorf("%d accounts after the refused migration, want 3", n)
	}
}
