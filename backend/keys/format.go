package keys

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
	"unsafe"

	"github.com/keygate/keygate/backend/ids"
)

const (
	// SecretLen is the number of random base62 characters in a new key's secret.
	SecretLen = 32
	// ChecksumLen is the number of base62 characters that encode the CRC32 checksum.
	ChecksumLen = 6
	// StartLen is how many secret characters `start` shows after the prefix and '_'.
	StartLen = 4
	// maxKeyLen bounds what Parse looks at, so a huge header is refused cheaply.
	maxKeyLen = 256
	maxPrefix = 16
)

// Hash is the SHA-256 of a whole key string: the only form in which a key is stored.
type Hash [sha256.Size]byte

// ErrMalformed means a string is not a Keygate key: bad shape or bad checksum.
var ErrMalformed = errors.New("malformed key")

// Parsed is a key that passed the format and checksum checks.
type Parsed struct {
	Raw    string
	Prefix string
	Secret string
}

// Hash returns the key's lookup hash.
func (p Parsed) Hash() Hash { return sha256.Sum256(bytesOf(p.Raw)) }

// Start returns the displayable beginning of the key: prefix, '_' and 4 secret characters.
func (p Parsed) Start() string { return p.Prefix + "_" + p.Secret[:StartLen] }

// ValidPrefix reports whether s can prefix a key: 1–16 lowercase letters or digits.
func ValidPrefix(s string) bool {
	if len(s) < 1 || len(s) > maxPrefix {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// Generate makes a new key with the given prefix and a fresh secret from crypto/rand.
func Generate(prefix string) (Parsed, error) {
	if !ValidPrefix(prefix) {
		return Parsed{}, fmt.Errorf("key prefix %q must be 1 to %d lowercase letters or digits", prefix, maxPrefix)
	}
	secret, err := ids.Random(SecretLen)
	if err != nil {
		return Parsed{}, fmt.Errorf("generate key secret: %w", err)
	}
	body := prefix + "_" + secret
	sum := checksum(body)
	raw := body + string(sum[:])
	if len(secret) != SecretLen || len(raw) != len(body)+ChecksumLen {
		return Parsed{}, errors.New("generate key: incomplete key material")
	}
	return Parsed{Raw: raw, Prefix: prefix, Secret: secret}, nil
}

// Parse checks a key's shape and checksum without any lookup.
func Parse(s string) (Parsed, error) {
	prefix, secret, ok := shaped(s)
	if !ok {
		return Parsed{}, ErrMalformed
	}
	// The checksum covers everything before it: prefix, '_' and secret.
	if c := checksum(s[:len(s)-ChecksumLen]); string(c[:]) != s[len(s)-ChecksumLen:] {
		return Parsed{}, ErrMalformed
	}
	return Parsed{Raw: s, Prefix: prefix, Secret: secret}, nil
}

// shaped is Parse without the checksum: a prefix, '_', then base62 secret and checksum.
func shaped(s string) (prefix, secret string, ok bool) {
	if len(s) > maxKeyLen {
		return "", "", false
	}
	prefix, rest, ok := strings.Cut(s, "_")
	if !ok || !ValidPrefix(prefix) || len(rest) < SecretLen+ChecksumLen || !ids.IsBase62(rest) {
		return "", "", false
	}
	return prefix, rest[:len(rest)-ChecksumLen], true
}

// checksum encodes CRC32 (IEEE) of body as 6 base62 characters, most significant first.
// Verification parses every presented key, so neither step allocates.
func checksum(body string) [ChecksumLen]byte {
	n := crc32.ChecksumIEEE(bytesOf(body))
	var b [ChecksumLen]byte
	for i := ChecksumLen - 1; i >= 0; i-- {
		b[i] = ids.Alphabet[n%62]
		n /= 62
	}
	return b
}

// bytesOf views s as bytes without a copy, for functions that only read them.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
