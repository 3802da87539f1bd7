package gateway

import "github.com/keygate/keygate/backend/keys"

// TEMPORARY until keys lands Key.Scopes/Metadata and keys.ScopesAllow (LANDED.md plan):
// the same semantics, so that the gateway's scope checks can be built and tested meanwhile.

func keyScopes(k *keys.Key) []string            { return nil }
func keyMetadata(k *keys.Key) map[string]string { return nil }

func scopesAllow(have []string, need string) bool {
	res, _, _ := cut(need)
	for _, h := range have {
		switch {
		case h == "*", h == need, h == res+":*":
			return true
		}
	}
	return false
}

func cut(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
