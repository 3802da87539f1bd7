// Package seal encrypts the few secrets Keygate must be able to read back (a webhook endpoint's
// signing secret) with a key that is not in the database, so that a copy of the database — a
// backup, a dump, a stolen file — does not give them away.
//
// The key is 32 random bytes: $KEYGATE_SECRETS_KEY (base64) when set, else the file
// secrets.key in the data directory, created 0600 on first use. Every process that reads or
// writes sealed values needs the same key: on several nodes sharing PostgreSQL, set the
// variable (or copy the file) on every node and wherever the CLI runs.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// EnvKey names the environment variable holding the key (standard base64 of 32 bytes).
const EnvKey = "KEYGATE_SECRETS_KEY"

// FileName is the key file inside the data directory.
const FileName = "secrets.key"

// version is the first byte of every sealed value: AES-256-GCM, 12-byte nonce.
const version = 1

// ErrOpen means a sealed value could not be decrypted: it was sealed with another key (the
// key file or variable changed), for another context, or it was altered.
var ErrOpen = errors.New("sealed value cannot be opened with this instance's secrets key (was " +
	EnvKey + " or " + FileName + " changed?)")

// Box seals and opens values with one key.
type Box struct{ aead cipher.AEAD }

// New returns a Box over a 32-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("secrets key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plain. context (e.g. the owning row's id) is authenticated but not stored: the
// value opens only with the same context, so a sealed value copied onto another row is refused.
func (b *Box) Seal(plain, context []byte) ([]byte, error) {
	out := make([]byte, 1+b.aead.NonceSize(), 1+b.aead.NonceSize()+len(plain)+b.aead.Overhead())
	out[0] = version
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return b.aead.Seal(out, out[1:], plain, context), nil
}

// Open decrypts what Seal returned for the same context.
func (b *Box) Open(sealed, context []byte) ([]byte, error) {
	n := b.aead.NonceSize()
	if len(sealed) < 1+n+b.aead.Overhead() || sealed[0] != version {
		return nil, ErrOpen
	}
	plain, err := b.aead.Open(nil, sealed[1:1+n], sealed[1+n:], context)
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}

// Load returns the Box of the instance whose data directory is dir: the key from
// $KEYGATE_SECRETS_KEY, else from dir/secrets.key, which is created (0600, 32 bytes from
// crypto/rand) when missing. dir "" with no variable set is an error.
func Load(dir string) (*Box, error) {
	if v := strings.TrimSpace(os.Getenv(EnvKey)); v != "" {
		key, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(key) != 32 {
			return nil, fmt.Errorf("%s must be 32 bytes in base64 (e.g. the output of `head -c 32 /dev/urandom | base64`)", EnvKey)
		}
		return New(key)
	}
	if dir == "" {
		return nil, fmt.Errorf("no secrets key: set %s", EnvKey)
	}
	path := filepath.Join(dir, FileName)
	key, err := readKey(path)
	if errors.Is(err, os.ErrNotExist) {
		key, err = createKey(path)
	}
	if err != nil {
		return nil, err
	}
	return New(key)
}

func readKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("secrets key file %s must hold 32 bytes in base64", path)
	}
	return key, nil
}

// createKey writes a new key to a temporary file and links it into place, which fails when
// the file exists: two processes starting together agree, the loser reads the winner's
// complete file.
func createKey(path string) ([]byte, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("make secrets key: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("make secrets key: %w", err)
	}
	f, err := os.CreateTemp(dir, ".secrets-*.key")
	if err != nil {
		return nil, fmt.Errorf("make secrets key: %w", err)
	}
	defer os.Remove(f.Name())
	_, werr := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	if err := errors.Join(werr, f.Chmod(0o600), f.Sync(), f.Close()); err != nil {
		return nil, fmt.Errorf("write secrets key %s: %w", path, err)
	}
	if err := os.Link(f.Name(), path); errors.Is(err, os.ErrExist) {
		return readKey(path)
	} else if err != nil {
		return nil, fmt.Errorf("write secrets key %s: %w", path, err)
	}
	return key, nil
}
