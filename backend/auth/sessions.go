package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/keygate/keygate/backend/cookies"
	"github.com/keygate/keygate/backend/ids"
	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/mailaddr"
)

// Cookie names. Over HTTPS the __Secure- prefix makes browsers refuse the cookie unless it is
// Secure and was set over HTTPS, so a plain-HTTP page on the same host cannot plant one.
const (
	CookieName       = cookies.Session
	SecureCookieName = cookies.SecureSession
)

// tokenBytes is the entropy of a session id: 256 bits.
const tokenBytes = 32

// Session is a live console session. Its id exists only in the cookie; the store keeps its
// SHA-256.
type Session struct {
	UserID     string
	CSRFToken  string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time // absolute expiry
}

// CookieNameFor returns the session cookie's name for a console served over HTTPS or not.
func CookieNameFor(secure bool) string {
	if secure {
		return SecureCookieName
	}
	return CookieName
}

// SessionCookie is the cookie that carries a new session: HttpOnly, SameSite=Lax, Secure over
// HTTPS, kept by the browser for the session's absolute lifetime (Max-Age is relative, so a
// skewed client clock does not matter; the server enforces both expiries anyway).
func SessionCookie(token string, sess Session, secure bool) *http.Cookie {
	return &http.Cookie{
		Name:     CookieNameFor(secure),
		Value:    token,
		Path:     "/",
		MaxAge:   int(sess.ExpiresAt.Sub(sess.CreatedAt).Seconds()),
		HttpOnly: true,
		Secure:   secure,
		SameSite: http.SameSiteLaxMode,
	}
}

// ClearCookie is the cookie that makes the browser forget the session.
func ClearCookie(secure bool) *http.Cookie {
	return &http.Cookie{Name: CookieNameFor(secure), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode}
}

// TokenFromRequest returns the session cookie's value ("" when absent, or when copies of it
// disagree). It parses with backend/cookies, as the gateway does, so "keygate_session =x" is
// the session cookie here exactly when it is there.
func TokenFromRequest(r *http.Request, secure bool) string {
	v, _ := cookies.Single(r.Header["Cookie"], CookieNameFor(secure))
	return v
}

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// wellFormed checks a session id's shape so that garbage never reaches the store.
func wellFormed(token string) bool {
	if len(token) != base64.RawURLEncoding.EncodedLen(tokenBytes) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(token)
	return err == nil
}

// Login checks an address and password and starts a new session. previous is the session
// cookie the request carried (may be ""): it is revoked, so a session id planted before login
// is worthless after it. Attempts count against the address and the client address (reserved
// before the password is checked, given back when it is right).
func (s *Service) Login(ctx context.Context, email, password, clientAddr, previous string) (string, Session, User, error) {
	return s.login(ctx, email, password, clientAddr, previous, nil)
}

func (s *Service) login(ctx context.Context, email, password, clientAddr, previous string, rec Recorder) (string, Session, User, error) {
	// Reserve the attempt before the password is hashed. Only bad credentials keep it: a
	// success gives it back, and so does a server-side failure (store error, cancelled while
	// waiting for a hash slot), which says nothing about the password.
	release, err := s.attempts.reserve(ctx, email, clientAddr, s.clock.Now())
	if err != nil {
		return "", Session{}, User{}, err
	}
	badCredentials := false
	defer func() {
		if !badCredentials {
			release()
		}
	}()
	var phc string
	var userID string
	err = s.st.Read.QueryRowContext(ctx, `SELECT id, password_hash FROM users WHERE email_key = ?`, mailaddr.Key(email)).Scan(&userID, &phc)
	if errors.Is(err, sql.ErrNoRows) {
		// Same work as for a real account, so timing does not reveal which addresses exist.
		if phc, err = s.dummyHash(); err != nil {
			return "", Session{}, User{}, fmt.Errorf("login: %w", err)
		}
		userID = ""
	} else if err != nil {
		return "", Session{}, User{}, fmt.Errorf("login: %w", err)
	}
	ok, err := s.check(ctx, phc, password)
	if err != nil && userID != "" {
		return "", Session{}, User{}, fmt.Errorf("login: %w", err)
	}
	if !ok || userID == "" {
		badCredentials = true
		return "", Session{}, User{}, ErrBadCredentials
	}
	token, sess, err := s.startSession(ctx, userID, previous, rec)
	if err != nil {
		return "", Session{}, User{}, err
	}
	u, err := s.User(ctx, userID)
	if err != nil {
		return "", Session{}, User{}, err
	}
	return token, sess, u, nil
}

// StartSession creates a session for userID with a fresh random id and CSRF token, revoking
// previous (if it names a session) and pruning expired ones.
func (s *Service) StartSession(ctx context.Context, userID, previous string) (string, Session, error) {
	return s.startSession(ctx, userID, previous, nil)
}

func (s *Service) startSession(ctx context.Context, userID, previous string, rec Recorder) (string, Session, error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", Session{}, fmt.Errorf("start session: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	csrf, err := ids.Random(32)
	if err != nil {
		return "", Session{}, fmt.Errorf("start session: %w", err)
	}
	now := s.now()
	sess := Session{UserID: userID, CSRFToken: csrf, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(s.absolute)}
	err = s.st.Tx(ctx, func(tx *sql.Tx) error {
		if previous != "" {
			if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = ?`, hashToken(previous)); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at <= ?`,
			now.UnixMilli(), now.Add(-s.idle).UnixMilli()); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?)`, hashToken(token), userID, csrf, now.UnixMilli(), now.UnixMilli(), sess.ExpiresAt.UnixMilli())
		if err != nil || rec == nil {
			return err
		}
		u, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, userID))
		if err != nil {
			return err
		}
		return rec(ctx, tx, Change{User: u})
	})
	if err != nil {
		return "", Session{}, fmt.Errorf("start session: %w", err)
	}
	return token, sess, nil
}

// Session returns the live session token names, or ErrNoSession. A session unused for the idle
// timeout, or older than the absolute one, is over. Use refreshes the idle timer (at most once
// a minute, to keep reads off the writer).
func (s *Service) Session(ctx context.Context, token string) (Session, error) {
	sess, _, err := s.lookup(ctx, token)
	return sess, err
}

// lookup is Session, also telling an expired session (expired true) from an unknown one.
func (s *Service) lookup(ctx context.Context, token string) (Session, bool, error) {
	if !wellFormed(token) {
		return Session{}, false, ErrNoSession
	}
	h := hashToken(token)
	var sess Session
	var created, seen, expires int64
	err := s.st.Read.QueryRowContext(ctx, `SELECT user_id, csrf_token, created_at, last_seen_at, expires_at
		FROM sessions WHERE id_hash = ?`, h).Scan(&sess.UserID, &sess.CSRFToken, &created, &seen, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, false, ErrNoSession
	}
	if err != nil {
		return Session{}, false, fmt.Errorf("read session: %w", err)
	}
	sess.CreatedAt = time.UnixMilli(created).UTC()
	sess.LastSeenAt = time.UnixMilli(seen).UTC()
	sess.ExpiresAt = time.UnixMilli(expires).UTC()
	now := s.now()
	if !now.Before(sess.ExpiresAt) || !now.Before(sess.LastSeenAt.Add(s.idle)) {
		if _, err := s.st.Write.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = ?`, h); err != nil {
			return Session{}, false, fmt.Errorf("end expired session: %w", err)
		}
		return Session{}, true, ErrNoSession
	}
	if now.Sub(sess.LastSeenAt) >= s.touchPeriod {
		if _, err := s.st.Write.ExecContext(ctx, `UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?`,
			now.UnixMilli(), h); err != nil {
			return Session{}, false, fmt.Errorf("refresh session: %w", err)
		}
		sess.LastSeenAt = now
	}
	return sess, false, nil
}

// SessionCheck is what a session cookie proves when it is used as a credential.
type SessionCheck struct {
	// Code is keys.CodeValid, or why not: keys.CodeNotFound or keys.CodeExpired.
	Code   keys.Code
	UserID string
	// OrgIDs are the organizations the user belongs to, sorted.
	OrgIDs []string
}

// VerifySession checks a session cookie's value for the gateway, which accepts a console
// session as a credential (the docs viewer's "try it"). A live session answers keys.CodeValid
// with the user and their organizations; an idle or too old one keys.CodeExpired; anything
// else (unknown, logged out, garbage) keys.CodeNotFound. An error means the store failed.
// The gateway's adapter is in backend/instance: auth does not depend on the gateway.
func (s *Service) VerifySession(ctx context.Context, cookieValue string) (SessionCheck, error) {
	sess, expired, err := s.lookup(ctx, cookieValue)
	switch {
	case errors.Is(err, ErrNoSession) && expired:
		return SessionCheck{Code: keys.CodeExpired}, nil
	case errors.Is(err, ErrNoSession):
		return SessionCheck{Code: keys.CodeNotFound}, nil
	case err != nil:
		return SessionCheck{}, err
	}
	roles, err := s.Roles(ctx, sess.UserID)
	if err != nil {
		return SessionCheck{}, err
	}
	orgIDs := make([]string, 0, len(roles))
	for org := range roles {
		orgIDs = append(orgIDs, org)
	}
	sort.Strings(orgIDs)
	return SessionCheck{Code: keys.CodeValid, UserID: sess.UserID, OrgIDs: orgIDs}, nil
}

// Logout revokes the session token names; an unknown token is not an error.
func (s *Service) Logout(ctx context.Context, token string) error { return s.logout(ctx, token, nil) }

func (s *Service) logout(ctx context.Context, token string, rec Recorder) error {
	if token == "" {
		return nil
	}
	err := s.st.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = ?`, hashToken(token)); err != nil {
			return err
		}
		return record(ctx, tx, rec, Change{})
	})
	if err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	return nil
}

// EndSessions revokes every session of a user.
func (s *Service) EndSessions(ctx context.Context, userID string) error {
	if _, err := s.st.Write.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID); err != nil {
		return fmt.Errorf("end sessions of %s: %w", userID, err)
	}
	return nil
}
