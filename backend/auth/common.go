package auth

import (
	"strings"
	"sync"

	"github.com/keygate/keygate/backend/problem"

	// The 30,000 most common passwords (xato's list as zxcvbn ships it), from the Go module
	// proxy like every dependency: a bundled list, never fetched at run time.
	"github.com/trustelem/zxcvbn/frequency"
)

// ErrCommonPassword means a new password is one of the most common passwords (or one of them
// doubled), which a guessing attack tries first whatever its length.
var ErrCommonPassword error = &problem.Invalid{Field: "password", Code: "common", Msg: "validation.password.common",
	Text: "password is one of the most common passwords; choose another"}

// commonPasswords is the set of common passwords, lower case, built on first use.
var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	list := frequency.FrequencyLists["passwords"]
	set := make(map[string]struct{}, len(list))
	for _, p := range list {
		set[strings.ToLower(p)] = struct{}{}
	}
	return set
})

// CommonPasswordCount is how many passwords the common-password check knows.
func CommonPasswordCount() int { return len(commonPasswords()) }

// commonPassword reports whether pw, ignoring case, is a common password, a common password
// doubled ("qwertyqwerty"), or one followed only by digits or punctuation that a common one
// already ends with ("password1234" is "password12" plus "34"); it is checked for new
// passwords only.
func commonPassword(pw string) bool {
	set := commonPasswords()
	l := strings.ToLower(pw)
	if _, ok := set[l]; ok {
		return true
	}
	if n := len(l); n%2 == 0 && l[:n/2] == l[n/2:] {
		if _, ok := set[l[:n/2]]; ok {
			return true
		}
	}
	// A common word with digits or punctuation tacked on ("password123456!", "dragon2024").
	trimmed := strings.TrimRight(l, "0123456789!.?*#@$_-")
	if trimmed != l && len(trimmed) >= 4 {
		if _, ok := set[trimmed]; ok {
			return true
		}
	}
	return false
}
