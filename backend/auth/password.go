package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/keygate/keygate/backend/problem"
	"golang.org/x/crypto/argon2"
)

// PasswordParams are argon2id's cost parameters. They are written into every hash (PHC string
// form), so raising them later leaves existing hashes verifiable.
type PasswordParams struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
}

// DefaultPasswordParams follow RFC 9106's second recommendation (64 MiB, 3 passes), with two
// lanes for the small machines Keygate runs on.
var DefaultPasswordParams = PasswordParams{Memory: 64 * 1024, Time: 3, Threads: 2}

const (
	saltLen = 16
	hashLen = 32
	// MinPasswordLen and MaxPasswordLen bound a password in characters.
	MinPasswordLen = 10
	MaxPasswordLen = 256
)

// ErrInvalidPassword means a password shorter than MinPasswordLen or longer than MaxPasswordLen.
var ErrInvalidPassword error = &problem.Invalid{Field: "password", Code: "length", Msg: "validation.password.length",
	Data: map[string]any{"Count": MinPasswordLen, "Max": MaxPasswordLen},
	Text: fmt.Sprintf("password must be %d to %d characters", MinPasswordLen, MaxPasswordLen)}

// errBadHash means a stored hash is not an argon2id PHC string this package can read.
var errBadHash = errors.New("stored password hash is not an argon2id PHC string")

// ValidPassword checks a new password: its length (it does not trim: spaces are characters),
// and that it is not one of the most common passwords (ErrCommonPassword).
func ValidPassword(pw string) error {
	if n := utf8.RuneCountInString(pw); n < MinPasswordLen || n > MaxPasswordLen {
		return ErrInvalidPassword
	}
	if commonPassword(pw) {
		return ErrCommonPassword
	}
	return nil
}

// HashPassword returns the argon2id hash of pw in PHC string form:
// $argon2id$v=19$m=65536,t=3,p=2$<salt>$<hash> (unpadded standard base64).
func HashPassword(pw string, p PasswordParams) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	sum := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, hashLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(sum)), nil
}

// CheckPassword reports whether pw matches the PHC string phc, comparing in constant time.
func CheckPassword(phc, pw string) (bool, error) {
	p, salt, want, err := parsePHC(phc)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

var b64 = base64.RawStdEncoding

func parsePHC(phc string) (PasswordParams, []byte, []byte, error) {
	parts := strings.Split(phc, "$")
	// "", "argon2id", "v=19", "m=…,t=…,p=…", salt, hash
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return PasswordParams{}, nil, nil, errBadHash
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return PasswordParams{}, nil, nil, errBadHash
	}
	var p PasswordParams
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return PasswordParams{}, nil, nil, errBadHash
	}
	// Refuse parameters that would make a check absurdly expensive (a tampered row).
	if p.Memory < 8 || p.Memory > 4*1024*1024 || p.Time < 1 || p.Time > 100 || p.Threads < 1 {
		return PasswordParams{}, nil, nil, errBadHash
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return PasswordParams{}, nil, nil, errBadHash
	}
	sum, err := b64.DecodeString(parts[5])
	if err != nil || len(sum) < 16 {
		return PasswordParams{}, nil, nil, errBadHash
	}
	return p, salt, sum, nil
}
