// Package ids makes random identifiers and secrets in base62.
package ids

import (
	"crypto/rand"
	"fmt"
)

// Alphabet is the base62 alphabet, digits first.
const Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// Random returns n base62 characters from crypto/rand, without modulo bias.
func Random(n int) (string, error) {
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/2+8)
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("read random bytes: %w", err)
		}
		for _, b := range buf {
			// 248 = 62*4: values at or above it would favour the first characters.
			if b < 248 {
				out = append(out, Alphabet[b%62])
				if len(out) == n {
					break
				}
			}
		}
	}
	return string(out), nil
}

// New returns an identifier such as "org_3kT9…" with 20 random characters after the kind.
func New(kind string) (string, error) {
	r, err := Random(20)
	if err != nil {
		return "", err
	}
	return kind + "_" + r, nil
}

// IsBase62 reports whether s is non-empty and made only of base62 characters.
func IsBase62(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !base62[s[i]] {
			return false
		}
	}
	return true
}

// base62 marks the bytes of Alphabet (every presented key is checked with it: a table is a
// third of the comparisons' time).
var base62 = func() (t [256]bool) {
	for i := 0; i < len(Alphabet); i++ {
		t[Alphabet[i]] = true
	}
	return t
}()
