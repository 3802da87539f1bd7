package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/keygate/keygate/backend/ids"
	"github.com/keygate/keygate/backend/mailaddr"
)

// User is what may be shown about an account: never its password hash.
type User struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Language  string    `json:"language"`
	Theme     string    `json:"theme" enum:"system,light,dark"`
	CreatedAt time.Time `json:"createdAt"`
}

// Member is a user as seen from one organization.
type Member struct {
	UserID    string    `json:"userId"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Role      Role      `json:"role" enum:"admin,developer,member"`
	CreatedAt time.Time `json:"createdAt"`
	// Invited is set in AddMember's answer when the address was invited (no membership yet).
	Invited bool `json:"invited,omitempty"`
}

// NewUser are the inputs of CreateUser. With OrgID set, the user joins it with Role.
type NewUser struct {
	Email    string
	Name     string
	Password string
	OrgID    string
	Role     Role
}

// ValidEmail trims an address and checks that it is a bare address of at most 254 bytes.
func ValidEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 254 {
		return "", ErrInvalidEmail
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return "", ErrInvalidEmail
	}
	return s, nil
}

// validNewUser checks a new account's e-mail address, name and password and returns the
// address and name as they are stored.
func validNewUser(nu NewUser) (email, name string, err error) {
	if email, err = ValidEmail(nu.Email); err != nil {
		return "", "", err
	}
	if name, err = ValidName(nu.Name); err != nil {
		return "", "", err
	}
	return email, name, ValidPassword(nu.Password)
}

// ValidName trims a display name and checks it (0–64 characters, no control characters).
func ValidName(s string) (string, error) {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > 64 {
		return "", ErrInvalidName
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return "", ErrInvalidName
		}
	}
	return s, nil
}

// CreateUser makes an account (and its membership when OrgID is set) with an argon2id hash of
// the password.
func (s *Service) CreateUser(ctx context.Context, nu NewUser) (User, error) {
	return s.createUser(ctx, nu, nil)
}

func (s *Service) createUser(ctx context.Context, nu NewUser, rec Recorder) (User, error) {
	email, name, err := validNewUser(nu)
	if err != nil {
		return User{}, err
	}
	if nu.OrgID != "" {
		if _, err := ParseRole(string(nu.Role)); err != nil {
			return User{}, err
		}
	}
	if _, err := s.UserByEmail(ctx, email); err == nil {
		return User{}, ErrEmailTaken
	} else if !errors.Is(err, ErrUserNotFound) {
		return User{}, err
	}
	phc, err := s.hash(ctx, nu.Password)
	if err != nil {
		return User{}, err
	}
	id, err := ids.New("usr")
	if err != nil {
		return User{}, fmt.Errorf("create user: %w", err)
	}
	now := s.now()
	u := User{ID: id, Email: email, Name: name, Theme: "system", CreatedAt: now}
	err = s.st.Tx(ctx, func(tx *sql.Tx) error {
		if err := insertUser(ctx, tx, u, phc); err != nil {
			return err
		}
		c := Change{User: u}
		if nu.OrgID != "" {
			if err := insertMembership(ctx, tx, id, nu.OrgID, nu.Role, now); err != nil {
				return err
			}
			c.Member = Member{UserID: id, Email: email, Name: name, Role: nu.Role, CreatedAt: now.Truncate(time.Millisecond)}
		}
		return record(ctx, tx, rec, c)
	})
	if err != nil {
		return User{}, err
	}
	return u, nil
}

func insertUser(ctx context.Context, tx *sql.Tx, u User, phc string) error {
	var n int
	key := mailaddr.Key(u.Email)
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE email_key = ?`, key).Scan(&n); err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	if n > 0 {
		return ErrEmailTaken
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO users (id, email, email_key, name, password_hash, language, theme, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, u.ID, u.Email, key, u.Name, phc, u.Language, u.Theme, u.CreatedAt.UnixMilli()); err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	return nil
}

func insertMembership(ctx context.Context, tx *sql.Tx, userID, orgID string, role Role, now time.Time) error {
	if _, err := ParseRole(string(role)); err != nil {
		return err
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM orgs WHERE id = ?`, orgID).Scan(&n); err != nil {
		return fmt.Errorf("add membership: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("add membership: organization %s not found", orgID)
	}
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM memberships WHERE user_id = ? AND org_id = ?`,
		userID, orgID).Scan(&n); err != nil {
		return fmt.Errorf("add membership: %w", err)
	}
	if n > 0 {
		return ErrAlreadyMember
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO memberships (user_id, org_id, role, created_at) VALUES (?, ?, ?, ?)`,
		userID, orgID, string(role), now.UnixMilli()); err != nil {
		return fmt.Errorf("add membership: %w", err)
	}
	return nil
}

const userColumns = `id, email, name, language, theme, created_at`

func scanUser(r interface{ Scan(...any) error }) (User, error) {
	var u User
	var created int64
	if err := r.Scan(&u.ID, &u.Email, &u.Name, &u.Language, &u.Theme, &created); err != nil {
		return User{}, err
	}
	u.CreatedAt = time.UnixMilli(created).UTC()
	return u, nil
}

// User returns one user by id.
func (s *Service) User(ctx context.Context, id string) (User, error) {
	u, err := scanUser(s.st.Read.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrUserNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("get user %s: %w", id, err)
	}
	return u, nil
}

// UserByEmail returns one user by address (compared by mailaddr.Key: without regard to case, in
// all of Unicode, on both engines).
func (s *Service) UserByEmail(ctx context.Context, email string) (User, error) {
	u, err := scanUser(s.st.Read.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE email_key = ?`,
		mailaddr.Key(email)))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrUserNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("get user: %w", err)
	}
	return u, nil
}

// Roles returns the user's role in each organization they belong to.
func (s *Service) Roles(ctx context.Context, userID string) (map[string]Role, error) {
	rows, err := s.st.Read.QueryContext(ctx, `SELECT org_id, role FROM memberships WHERE user_id = ?`, userID)
	if err != nil {
		return nil, fmt.Errorf("read memberships: %w", err)
	}
	defer rows.Close()
	out := map[string]Role{}
	for rows.Next() {
		var org, role string
		if err := rows.Scan(&org, &role); err != nil {
			return nil, fmt.Errorf("read memberships: %w", err)
		}
		out[org] = Role(role)
	}
	return out, rows.Err()
}

// Principal loads a user's identity and memberships.
func (s *Service) Principal(ctx context.Context, userID string) (Principal, error) {
	u, err := s.User(ctx, userID)
	if err != nil {
		return Principal{}, err
	}
	roles, err := s.Roles(ctx, userID)
	if err != nil {
		return Principal{}, err
	}
	return Principal{UserID: u.ID, Email: u.Email, Name: u.Name, Roles: roles}, nil
}

// Members lists an organization's members, admins first, then by address key (byte order, the
// same on both engines).
func (s *Service) Members(ctx context.Context, orgID string) ([]Member, error) {
	rows, err := s.st.Read.QueryContext(ctx, `SELECT u.id, u.email, u.name, m.role, m.created_at
		FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = ?
		ORDER BY CASE m.role WHEN 'admin' THEN 0 WHEN 'developer' THEN 1 ELSE 2 END, u.email_key, u.id`, orgID)
	if err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	defer rows.Close()
	out := []Member{}
	for rows.Next() {
		var m Member
		var role string
		var created int64
		if err := rows.Scan(&m.UserID, &m.Email, &m.Name, &role, &created); err != nil {
			return nil, fmt.Errorf("list members: %w", err)
		}
		m.Role = Role(role)
		m.CreatedAt = time.UnixMilli(created).UTC()
		out = append(out, m)
	}
	return out, rows.Err()
}

// Member returns one member of an organization.
func (s *Service) Member(ctx context.Context, orgID, userID string) (Member, error) {
	ms, err := s.Members(ctx, orgID)
	if err != nil {
		return Member{}, err
	}
	for _, m := range ms {
		if m.UserID == userID {
			return m, nil
		}
	}
	return Member{}, ErrNotMember
}

// AddMembership gives an existing user a role in an organization.
func (s *Service) AddMembership(ctx context.Context, userID, orgID string, role Role) (Member, error) {
	if _, err := s.User(ctx, userID); err != nil {
		return Member{}, err
	}
	err := s.st.Tx(ctx, func(tx *sql.Tx) error {
		return insertMembership(ctx, tx, userID, orgID, role, s.now())
	})
	if err != nil {
		return Member{}, err
	}
	return s.Member(ctx, orgID, userID)
}

// AddMembershipTx gives an existing user a role in an organization in the caller's
// transaction tx: an organization's creator becomes its admin in the transaction that creates
// it (and records it), so that there is no organization without them.
func (s *Service) AddMembershipTx(ctx context.Context, tx *sql.Tx, userID, orgID string, role Role) error {
	return insertMembership(ctx, tx, userID, orgID, role, s.now())
}

// ChangeRole sets a member's role; demoting the organization's last admin is refused.
func (s *Service) ChangeRole(ctx context.Context, orgID, userID string, role Role) (Member, error) {
	return s.changeRole(ctx, orgID, userID, role, nil)
}

func (s *Service) changeRole(ctx context.Context, orgID, userID string, role Role, rec Recorder) (Member, error) {
	if _, err := ParseRole(string(role)); err != nil {
		return Member{}, err
	}
	err := s.st.Tx(ctx, func(tx *sql.Tx) error {
		cur, err := roleTx(ctx, tx, orgID, userID)
		if err != nil {
			return err
		}
		if cur == RoleAdmin && role != RoleAdmin {
			if err := keepAnAdmin(ctx, tx, orgID, userID); err != nil {
				return err
			}
		}
		if _, err = tx.ExecContext(ctx, `UPDATE memberships SET role = ? WHERE org_id = ? AND user_id = ?`,
			string(role), orgID, userID); err != nil || rec == nil || cur == role {
			return err
		}
		m, err := memberTx(ctx, tx, orgID, userID)
		if err != nil {
			return err
		}
		return rec(ctx, tx, Change{Member: m, OldRole: cur})
	})
	if err != nil {
		return Member{}, err
	}
	return s.Member(ctx, orgID, userID)
}

// RemoveMembership takes a user out of an organization; removing its last admin is refused.
// The account stays (it may belong to other organizations).
func (s *Service) RemoveMembership(ctx context.Context, orgID, userID string) (Member, error) {
	return s.removeMembership(ctx, orgID, userID, nil)
}

func (s *Service) removeMembership(ctx context.Context, orgID, userID string, rec Recorder) (Member, error) {
	m, err := s.Member(ctx, orgID, userID)
	if err != nil {
		return Member{}, err
	}
	err = s.st.Tx(ctx, func(tx *sql.Tx) error {
		cur, err := roleTx(ctx, tx, orgID, userID)
		if err != nil {
			return err
		}
		if cur == RoleAdmin {
			if err := keepAnAdmin(ctx, tx, orgID, userID); err != nil {
				return err
			}
		}
		if _, err = tx.ExecContext(ctx, `DELETE FROM memberships WHERE org_id = ? AND user_id = ?`, orgID, userID); err != nil {
			return err
		}
		m.Role = cur
		return record(ctx, tx, rec, Change{Member: m})
	})
	if err != nil {
		return Member{}, err
	}
	return m, nil
}

func roleTx(ctx context.Context, tx *sql.Tx, orgID, userID string) (Role, error) {
	var role string
	err := tx.QueryRowContext(ctx, `SELECT role FROM memberships WHERE org_id = ? AND user_id = ?`, orgID, userID).Scan(&role)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotMember
	}
	if err != nil {
		return "", fmt.Errorf("read membership: %w", err)
	}
	return Role(role), nil
}

func keepAnAdmin(ctx context.Context, tx *sql.Tx, orgID, exceptUser string) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM memberships WHERE org_id = ? AND role = 'admin' AND user_id <> ?`,
		orgID, exceptUser).Scan(&n); err != nil {
		return fmt.Errorf("count admins: %w", err)
	}
	if n == 0 {
		return ErrLastAdmin
	}
	return nil
}

// HasAdmin reports whether any user is an admin of any organization.
func (s *Service) HasAdmin(ctx context.Context) (bool, error) {
	var n int
	if err := s.st.Read.QueryRowContext(ctx, `SELECT count(*) FROM memberships WHERE role = 'admin'`).Scan(&n); err != nil {
		return false, fmt.Errorf("look for an admin: %w", err)
	}
	return n > 0, nil
}

// Themes are the accepted theme preferences.
var Themes = []string{"system", "light", "dark"}

// SetPreferences saves a user's language (a tag the caller has checked; "" = automatic) and
// theme.
func (s *Service) SetPreferences(ctx context.Context, userID, language, theme string) (User, error) {
	if err := CheckTheme(theme); err != nil {
		return User{}, err
	}
	res, err := s.st.Write.ExecContext(ctx, `UPDATE users SET language = ?, theme = ? WHERE id = ?`, language, theme, userID)
	if err != nil {
		return User{}, fmt.Errorf("save preferences: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return User{}, ErrUserNotFound
	}
	return s.User(ctx, userID)
}

// CheckTheme refuses a theme preference that is not one of Themes.
func CheckTheme(t string) error {
	for _, v := range Themes {
		if t == v {
			return nil
		}
	}
	return ErrInvalidTheme
}
