package console

import (
	"context"
	"database/sql"
	"strings"

	"github.com/keygate/keygate/backend/audit"
	"github.com/keygate/keygate/backend/auth"
)

// UserList is the answer of ListUsers.
type UserList struct {
	Users []auth.Account `json:"users"`
}

// UserInput names an account by id or e-mail address.
type UserInput struct {
	User string `json:"user" required:"true" doc:"A user id or e-mail address."`
}

// UserPasswordInput sets an account's password.
type UserPasswordInput struct {
	User     string `json:"user" required:"true" doc:"A user id or e-mail address."`
	Password string `json:"password" required:"true" format:"password" doc:"10 to 256 characters."`
}

func (s *Service) listUsers(ctx context.Context, _ *Call, _ *NoInput) (UserList, error) {
	us, err := s.Auth.Accounts(ctx)
	if us == nil {
		us = []auth.Account{}
	}
	return UserList{Users: us}, err
}

// user finds an account by id or, when ref holds an @, by e-mail address.
func (s *Service) user(ctx context.Context, ref string) (auth.User, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return auth.User{}, invalid("user", "required", "validation.user.required", nil)
	}
	if strings.Contains(ref, "@") {
		return s.Auth.UserByEmail(ctx, ref)
	}
	return s.Auth.User(ctx, ref)
}

func (s *Service) removeUser(ctx context.Context, c *Call, in *UserInput) (auth.User, error) {
	u, err := s.user(ctx, in.User)
	if err != nil {
		return auth.User{}, err
	}
	if u, err = s.Auth.Recording(func(ctx context.Context, tx *sql.Tx, ch auth.Change) error {
		return s.recordTx(ctx, tx, c, "", audit.UserRemove, ch.User.ID, ch.User.Email)
	}).DeleteUser(ctx, u.ID); err != nil {
		return auth.User{}, err
	}
	s.Audit.Committed(ctx)
	return u, nil
}

func (s *Service) setUserPassword(ctx context.Context, c *Call, in *UserPasswordInput) (auth.User, error) {
	u, err := s.user(ctx, in.User)
	if err != nil {
		return auth.User{}, err
	}
	if u, err = s.Auth.Recording(func(ctx context.Context, tx *sql.Tx, ch auth.Change) error {
		return s.recordTx(ctx, tx, c, "", audit.UserPassword, ch.User.ID, ch.User.Email)
	}).SetPassword(ctx, u.ID, in.Password); err != nil {
		return auth.User{}, err
	}
	s.Audit.Committed(ctx)
	return u, nil
}
