package console

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/keygate/keygate/backend/audit"
	"github.com/keygate/keygate/backend/auth"
	"github.com/keygate/keygate/backend/i18n"
	"github.com/keygate/keygate/backend/problem"
)

// Me is the caller as the console shows them.
type Me struct {
	User auth.User `json:"user"`
	// Mode is "desktop" (no accounts; the local user is admin everywhere) or "serve".
	Mode string    `json:"mode" enum:"desktop,serve"`
	Orgs []OrgView `json:"orgs"`
	// Invitations are the caller's pending invitations to other organizations.
	Invitations []auth.Invitation `json:"invitations"`
	// CSRFToken goes in the X-CSRF-Token header of every state-changing request ("" on desktop).
	CSRFToken string `json:"csrfToken"`
	// Language is the UI language: the saved preference, else the request's or OS's language.
	Language string `json:"language"`
}

// LoginInput signs a user in.
type LoginInput struct {
	Email    string `json:"email" required:"true" format:"email"`
	Password string `json:"password" required:"true" format:"password"`
}

// SessionOutput is the answer to login and setup; the cookie carries the session itself.
type SessionOutput struct {
	User      auth.User `json:"user"`
	CSRFToken string    `json:"csrfToken"`
}

// SetupStatus says whether the first admin still has to be created.
type SetupStatus struct {
	Needed bool `json:"needed"`
}

// CompleteSetupInput creates the first admin with the token from the setup link.
type CompleteSetupInput struct {
	Token    string `json:"token" required:"true" doc:"The token from the setup link printed by keygate serve."`
	Email    string `json:"email" required:"true" format:"email"`
	Name     string `json:"name"`
	Password string `json:"password" required:"true" format:"password" doc:"10 to 256 characters."`
}

const (
	modeDesktop = "desktop"
	modeServe   = "serve"
)

func (s *Service) getMe(ctx context.Context, c *Call, _ *NoInput) (Me, error) {
	me := Me{Mode: modeServe, Orgs: []OrgView{}, Invitations: []auth.Invitation{}}
	if c.Principal.Local {
		prefs, err := s.desktopPreferences(ctx)
		if err != nil {
			return Me{}, err
		}
		me.Mode = modeDesktop
		me.User = auth.User{ID: audit.ActorLocal, Name: s.localName(), Language: prefs.Language, Theme: prefs.Theme}
		me.Language = i18n.Match(prefs.Language, i18n.FromEnv())
	} else {
		u, err := s.Auth.User(ctx, c.Principal.UserID)
		if err != nil {
			return Me{}, err
		}
		me.User = u
		me.Language = i18n.Match(u.Language, c.accept)
		if me.Invitations, err = s.Auth.Invitations(ctx, u.ID); err != nil {
			return Me{}, err
		}
		if c.session != nil {
			me.CSRFToken = c.session.CSRFToken
		}
	}
	views, err := s.orgViews(ctx, c.Principal)
	if err != nil {
		return Me{}, err
	}
	me.Orgs = views
	return me, nil
}

// unknownAddress is the target of a failed sign-in to an address no account has.
const unknownAddress = "(no account with this address)"

// loginTarget is what the audit log names for a failed sign-in: the account's address when an
// account has the one typed, else unknownAddress. What was typed is not kept: the e-mail field
// is where a password typed into the wrong box or a pasted key ends up.
func (s *Service) loginTarget(ctx context.Context, typed string) string {
	u, err := s.Auth.UserByEmail(ctx, typed)
	if err != nil {
		return unknownAddress
	}
	return u.Email
}

func (s *Service) login(ctx context.Context, c *Call, in *LoginInput) (SessionOutput, error) {
	e := &Error{Status: 400, Code: problem.CodeValidation}
	if strings.TrimSpace(in.Email) == "" {
		e.Fields = append(e.Fields, &problem.Invalid{Field: "email", Code: "required", Msg: "validation.required"})
	}
	if in.Password == "" {
		e.Fields = append(e.Fields, &problem.Invalid{Field: "password", Code: "required", Msg: "validation.required"})
	}
	if len(e.Fields) > 0 {
		return SessionOutput{}, e
	}
	email := strings.TrimSpace(in.Email)
	token, sess, u, err := s.Auth.Recording(s.signedIn(c)).Login(ctx, email, in.Password, c.ClientAddr, c.token)
	if err != nil {
		var rl *auth.RateLimitedError
		switch {
		case errors.Is(err, auth.ErrBadCredentials):
			s.record(ctx, c, "", audit.LoginFail, s.loginTarget(ctx, email), "wrong e-mail address or password")
		case errors.As(err, &rl) && !rl.Repeated:
			// Only a lockout's first refusal: the rest cost an attacker nothing and would each
			// cost the store a synchronous write.
			s.record(ctx, c, "", audit.LoginFail, s.loginTarget(ctx, email), "rate limited")
		}
		return SessionOutput{}, err
	}
	s.Audit.Committed(ctx)
	c.newSession = &startedSession{token: token, session: sess}
	return SessionOutput{User: u, CSRFToken: sess.CSRFToken}, nil
}

// signedIn records a started session's login entry, as its account, in the transaction that
// stores the session.
func (s *Service) signedIn(c *Call) auth.Recorder {
	return func(ctx context.Context, tx *sql.Tx, ch auth.Change) error {
		return s.recordTx(ctx, tx, &Call{Principal: auth.Principal{UserID: ch.User.ID}, ClientAddr: c.ClientAddr}, "",
			audit.Login, ch.User.Email, "")
	}
}

func (s *Service) logout(ctx context.Context, c *Call, _ *NoInput) (Empty, error) {
	if err := s.Auth.Recording(func(ctx context.Context, tx *sql.Tx, _ auth.Change) error {
		return s.recordTx(ctx, tx, c, "", audit.Logout, c.Principal.Email, "")
	}).Logout(ctx, c.token); err != nil {
		return Empty{}, err
	}
	s.Audit.Committed(ctx)
	c.endSession = true
	return Empty{}, nil
}

func (s *Service) getSetup(ctx context.Context, _ *Call, _ *NoInput) (SetupStatus, error) {
	if s.Desktop {
		return SetupStatus{}, nil
	}
	has, err := s.Auth.HasAdmin(ctx)
	if err != nil {
		return SetupStatus{}, err
	}
	return SetupStatus{Needed: !has}, nil
}

func (s *Service) completeSetup(ctx context.Context, c *Call, in *CompleteSetupInput) (SessionOutput, error) {
	if in.Token == "" {
		return SessionOutput{}, auth.ErrSetupToken
	}
	if _, err := s.Orgs.EnsureDefault(ctx); err != nil {
		return SessionOutput{}, err
	}
	all, err := s.Orgs.List(ctx)
	if err != nil {
		return SessionOutput{}, err
	}
	var orgIDs []string
	for _, o := range all {
		orgIDs = append(orgIDs, o.ID)
	}
	u, err := s.Auth.Recording(func(ctx context.Context, tx *sql.Tx, ch auth.Change) error {
		u := ch.User
		return s.recordTx(ctx, tx, &Call{Principal: auth.Principal{UserID: u.ID, Email: u.Email, Name: u.Name}, ClientAddr: c.ClientAddr},
			"", audit.SetupComplete, u.Email, "first admin created")
	}).CompleteSetup(ctx, in.Token, auth.NewUser{Email: in.Email, Name: in.Name, Password: in.Password}, orgIDs, c.ClientAddr)
	if err != nil {
		return SessionOutput{}, err
	}
	s.Audit.Committed(ctx)
	c.Principal = auth.Principal{UserID: u.ID, Email: u.Email, Name: u.Name}
	token, sess, err := s.Auth.Recording(s.signedIn(c)).StartSession(ctx, u.ID, c.token)
	if err != nil {
		return SessionOutput{}, err
	}
	s.Audit.Committed(ctx)
	c.newSession = &startedSession{token: token, session: sess}
	return SessionOutput{User: u, CSRFToken: sess.CSRFToken}, nil
}

// SetupLink makes a one-time setup token when no admin exists and returns the console URL
// that carries it (in the fragment, which browsers never send to a server or a log), e.g.
// http://127.0.0.1:8788/setup#token=…. It returns "" when setup is done.
func (s *Service) SetupLink(ctx context.Context, consoleURL string) (string, error) {
	has, err := s.Auth.HasAdmin(ctx)
	if err != nil || has {
		return "", err
	}
	token, _, err := s.Auth.NewSetupToken(ctx)
	if errors.Is(err, auth.ErrSetupDone) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(consoleURL, "/") + "/setup#token=" + token, nil
}
