// Package orgs holds organizations: the tenants that own keys, routes and members.
package orgs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/keygate/keygate/backend/clock"
	"github.com/keygate/keygate/backend/ids"
	"github.com/keygate/keygate/backend/problem"
	"github.com/keygate/keygate/backend/store"
)

// DefaultName is the name of the organization created on first run.
const DefaultName = "Default"

// DefaultPrefix is the key prefix of a new organization.
const DefaultPrefix = "kg"

var (
	// ErrNotFound means no organization has that id.
	ErrNotFound = errors.New("organization not found")
	// ErrInvalidName means the name is empty or longer than 64 characters.
	ErrInvalidName error = &problem.Invalid{Field: "name", Code: "invalid", Msg: "validation.org.name.invalid", Data: map[string]any{"Count": 64},
		Text: "organization name must be 1 to 64 characters"}
)

// Org is an organization.
type Org struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	KeyPrefix string    `json:"keyPrefix"`
	CreatedAt time.Time `json:"createdAt"`
}

// Service reads and changes organizations.
type Service struct {
	st    *store.Store
	clock clock.Clock
}

// New returns a Service over st.
func New(st *store.Store, c clock.Clock) *Service {
	if c == nil {
		c = clock.Real{}
	}
	return &Service{st: st, clock: c}
}

// EnsureDefault creates the Default organization when there is none and returns the oldest.
func (s *Service) EnsureDefault(ctx context.Context) (Org, error) {
	var o Org
	err := s.st.Tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM orgs`).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			var err error
			if o, err = insert(ctx, tx, DefaultName, s.clock.Now()); err != nil {
				return err
			}
			return nil
		}
		row := tx.QueryRowContext(ctx, `SELECT id, name, key_prefix, created_at FROM orgs ORDER BY created_at, id LIMIT 1`)
		var err error
		o, err = scan(row)
		return err
	})
	if err != nil {
		return Org{}, fmt.Errorf("ensure default organization: %w", err)
	}
	return o, nil
}

// Create makes an organization named name (trimmed, 1–64 characters).
func (s *Service) Create(ctx context.Context, name string) (Org, error) {
	name, err := ValidName(name)
	if err != nil {
		return Org{}, err
	}
	var o Org
	err = s.st.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		o, err = insert(ctx, tx, name, s.clock.Now())
		return err
	})
	if err != nil {
		return Org{}, fmt.Errorf("create organization: %w", err)
	}
	return o, nil
}

// Rename changes an organization's name.
func (s *Service) Rename(ctx context.Context, id, name string) (Org, error) {
	name, err := ValidName(name)
	if err != nil {
		return Org{}, err
	}
	res, err := s.st.Write.ExecContext(ctx, `UPDATE orgs SET name = ? WHERE id = ?`, name, id)
	if err != nil {
		return Org{}, fmt.Errorf("rename organization %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Org{}, ErrNotFound
	}
	return s.Get(ctx, id)
}

// Get returns one organization.
func (s *Service) Get(ctx context.Context, id string) (Org, error) {
	o, err := scan(s.st.Read.QueryRowContext(ctx, `SELECT id, name, key_prefix, created_at FROM orgs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Org{}, ErrNotFound
	}
	if err != nil {
		return Org{}, fmt.Errorf("get organization %s: %w", id, err)
	}
	return o, nil
}

// List returns every organization, oldest first.
func (s *Service) List(ctx context.Context) ([]Org, error) {
	rows, err := s.st.Read.QueryContext(ctx, `SELECT id, name, key_prefix, created_at FROM orgs ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list organizations: %w", err)
	}
	defer rows.Close()
	out := []Org{}
	for rows.Next() {
		o, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("list organizations: %w", err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// ValidName trims name and checks its length.
func ValidName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if n := utf8.RuneCountInString(name); n < 1 || n > 64 {
		return "", ErrInvalidName
	}
	return name, nil
}

func insert(ctx context.Context, tx *sql.Tx, name string, now time.Time) (Org, error) {
	id, err := ids.New("org")
	if err != nil {
		return Org{}, err
	}
	now = now.Truncate(time.Millisecond)
	if _, err := tx.ExecContext(ctx, `INSERT INTO orgs (id, name, key_prefix, created_at) VALUES (?, ?, ?, ?)`,
		id, name, DefaultPrefix, now.UnixMilli()); err != nil {
		return Org{}, err
	}
	return Org{ID: id, Name: name, KeyPrefix: DefaultPrefix, CreatedAt: now}, nil
}

type scanner interface{ Scan(...any) error }

func scan(r scanner) (Org, error) {
	var o Org
	var created int64
	if err := r.Scan(&o.ID, &o.Name, &o.KeyPrefix, &created); err != nil {
		return Org{}, err
	}
	o.CreatedAt = time.UnixMilli(created).UTC()
	return o, nil
}
