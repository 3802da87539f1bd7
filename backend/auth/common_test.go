package auth_test

import (
	"errors"
	"testing"

	"github.com/keygate/keygate/backend/auth"
)

func TestCommonPasswords(t *testing.T) {
	if n := auth.CommonPasswordCount(); n < 10_000 {
		t.Fatalf("the common-password list has %d entries, want at least 10,000", n)
	}
	for _, pw := range []string{"1234567890", "qwertyuiop", "password123", "PASSWORD123", "Qwertyuiop", "iloveyou12",
		"dragondragon", "monkey2024!!", "baseball12345", "trustno1trustno1", "1q2w3e4r5t"} {
		if err := auth.ValidPassword(pw); !errors.Is(err, auth.ErrCommonPassword) {
			t.Errorf("ValidPassword(%q) = %v, want ErrCommonPassword", pw, err)
		}
	}
	for _, pw := range []string{"correct horse battery", "kq7-Vaporous-lantern", "admin-Password-7f3k2"} {
		if err := auth.ValidPassword(pw); err != nil {
			t.Errorf("ValidPassword(%q) = %v, want nil", pw, err)
		}
	}
}
