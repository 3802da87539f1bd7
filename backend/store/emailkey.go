package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/keygate/keygate/backend/mailaddr"
)

// goSteps are the parts of migrations that SQL cannot do alike on both engines, by migration
// file name. Each runs in the migration's transaction right after its file.
var goSteps = map[string]func(context.Context, *sql.Tx) error{
	"0015_email_key.sql": keyEmails,
}

// ErrSameAddress means two stored accounts have addresses that mailaddr.Key calls the same:
// the migration that introduces the key refuses to pick one.
var ErrSameAddress = errors.New("accounts with the same e-mail address")

// keyEmails fills users.email_key and re-keys invitations.email_key (0015_email_key). Accounts
// whose addresses share a key (two accounts on SQLite, whose NOCASE folds ASCII only) fail the
// migration with their ids and addresses: merging them would hand one person's organizations
// to the other. Invitations of one organization to one key are merged by the rule Invite
// follows, the newest one stands.
func keyEmails(ctx context.Context, tx *sql.Tx) error {
	type account struct{ id, email string }
	rows, err := tx.QueryContext(ctx, `SELECT id, email FROM users ORDER BY created_at, id`)
	accounts, err := collect(rows, err, func(r *sql.Rows) (a account, err error) { return a, r.Scan(&a.id, &a.email) })
	if err != nil {
		return fmt.Errorf("read accounts: %w", err)
	}
	byKey := map[string][]account{}
	var order []string
	for _, a := range accounts {
		k := mailaddr.Key(a.email)
		if len(byKey[k]) == 0 {
			order = append(order, k)
		}
		byKey[k] = append(byKey[k], a)
	}
	var clashes []string
	for _, k := range order {
		if same := byKey[k]; len(same) > 1 {
			names := make([]string, len(same))
			for i, a := range same {
				names[i] = fmt.Sprintf("%s (%s)", a.id, a.email)
			}
			clashes = append(clashes, strings.Join(names, ", "))
		}
	}
	if len(clashes) > 0 {
		return fmt.Errorf("%w, which Keygate now compares without regard to case in all of Unicode: %s; "+
			"keep one account of each (keygate users remove USER_ID, with the Keygate that wrote this database), then open it again",
			ErrSameAddress, strings.Join(clashes, "; "))
	}
	for _, a := range accounts {
		if _, err := tx.ExecContext(ctx, `UPDATE users SET email_key = ? WHERE id = ?`, mailaddr.Key(a.email), a.id); err != nil {
			return fmt.Errorf("key account %s: %w", a.id, err)
		}
	}

	type invitation struct{ id, org, key string }
	rows, err = tx.QueryContext(ctx, `SELECT id, org_id, email_key FROM invitations ORDER BY created_at DESC, id DESC`)
	invs, err := collect(rows, err, func(r *sql.Rows) (i invitation, err error) { return i, r.Scan(&i.id, &i.org, &i.key) })
	if err != nil {
		return fmt.Errorf("read invitations: %w", err)
	}
	kept := map[[2]string]bool{}
	var rekey []invitation
	for _, inv := range invs {
		k := [2]string{inv.org, mailaddr.Key(inv.key)}
		if kept[k] {
			if _, err := tx.ExecContext(ctx, `DELETE FROM invitations WHERE id = ?`, inv.id); err != nil {
				return fmt.Errorf("merge invitation %s: %w", inv.id, err)
			}
			continue
		}
		kept[k] = true
		if k[1] != inv.key {
			rekey = append(rekey, invitation{id: inv.id, key: k[1]})
		}
	}
	// After the deletions: a key is its own key, so no re-keyed invitation meets one not yet
	// re-keyed in the (org_id, email_key) constraint.
	for _, inv := range rekey {
		if _, err := tx.ExecContext(ctx, `UPDATE invitations SET email_key = ? WHERE id = ?`, inv.key, inv.id); err != nil {
			return fmt.Errorf("key invitation %s: %w", inv.id, err)
		}
	}
	return nil
}
