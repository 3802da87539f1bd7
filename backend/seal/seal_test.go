package seal_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/keygate/keygate/backend/seal"
)

func TestSealOpen(t *testing.T) {
	t.Setenv(seal.EnvKey, "")
	dir := t.TempDir()
	b, err := seal.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("whsec_c2VjcmV0")
	sealed, err := b.Seal(secret, []byte("wh_1"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, secret) {
		t.Fatal("sealed value holds the plain text")
	}
	again, _ := b.Seal(secret, []byte("wh_1"))
	if bytes.Equal(sealed, again) {
		t.Fatal("two seals of one value are equal: the nonce is not random")
	}
	got, err := b.Open(sealed, []byte("wh_1"))
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	// Another row's context, an altered byte, a truncated value: refused.
	if _, err := b.Open(sealed, []byte("wh_2")); !errors.Is(err, seal.ErrOpen) {
		t.Fatalf("other context: %v", err)
	}
	bad := append([]byte(nil), sealed...)
	bad[len(bad)-1] ^= 1
	if _, err := b.Open(bad, []byte("wh_1")); !errors.Is(err, seal.ErrOpen) {
		t.Fatalf("altered: %v", err)
	}
	if _, err := b.Open(sealed[:10], []byte("wh_1")); !errors.Is(err, seal.ErrOpen) {
		t.Fatalf("truncated: %v", err)
	}

	// The key file is private and reused: a second Load opens what the first sealed.
	fi, err := os.Stat(filepath.Join(dir, seal.FileName))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v", err, fi.Mode())
	}
	b2, err := seal.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := b2.Open(sealed, []byte("wh_1")); err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("reloaded Open = %q, %v", got, err)
	}
	// Another instance's key cannot open it.
	other, _ := seal.Load(t.TempDir())
	if _, err := other.Open(sealed, []byte("wh_1")); !errors.Is(err, seal.ErrOpen) {
		t.Fatalf("other key: %v", err)
	}
}

func TestLoadConcurrentAgree(t *testing.T) {
	t.Setenv(seal.EnvKey, "")
	dir := t.TempDir()
	var wg sync.WaitGroup
	boxes := make([]*seal.Box, 8)
	for i := range boxes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := seal.Load(dir)
			if err != nil {
				t.Error(err)
			}
			boxes[i] = b
		}()
	}
	wg.Wait()
	sealed, _ := boxes[0].Seal([]byte("x"), nil)
	for i, b := range boxes {
		if _, err := b.Open(sealed, nil); err != nil {
			t.Fatalf("box %d has another key: %v", i, err)
		}
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".secrets-*"))
	if len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

func TestLoadFromEnvironment(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	t.Setenv(seal.EnvKey, base64.StdEncoding.EncodeToString(key))
	a, err := seal.Load("")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := seal.New(key)
	sealed, _ := a.Seal([]byte("x"), nil)
	if _, err := b.Open(sealed, nil); err != nil {
		t.Fatal("the variable's key was not used")
	}
	for _, bad := range []string{"not base64!", base64.StdEncoding.EncodeToString([]byte("short"))} {
		t.Setenv(seal.EnvKey, bad)
		if _, err := seal.Load(t.TempDir()); err == nil {
			t.Fatalf("%q accepted", bad)
		}
	}
	t.Setenv(seal.EnvKey, "")
	if _, err := seal.Load(""); err == nil {
		t.Fatal("no variable and no directory accepted")
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, seal.FileName), []byte("garbage"), 0o600)
	if _, err := seal.Load(dir); err == nil {
		t.Fatal("a garbage key file was accepted")
	}
}
