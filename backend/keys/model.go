package keys

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/keygate/keygate/backend/problem"
)

// Bounds of the keys v2 inputs.
const (
	MaxScopes        = 64  // scopes on one key
	MaxScopeLen      = 128 // characters of one scope
	MaxMetadata      = 16  // metadata pairs on one key
	MaxMetaKeyLen    = 40  // characters of a metadata name
	MaxMetaValueLen  = 256 // characters of a metadata value
	MaxAllowIPs      = 64  // prefixes in one IP allowlist
	MaxQuota         = 1_000_000_000_000
	MinRefillSeconds = 60       // the shortest refill interval
	MaxRefillSeconds = 31622400 // the longest refill interval: 366 days
)

var (
	// ErrInvalidScope means a scope that is not `*`, `resource`, `resource:action` or
	// `resource:*` (resource and action of letters, digits and . _ - /), or too many of them.
	ErrInvalidScope error = &problem.Invalid{Field: "scopes", Code: "invalid", Msg: "validation.key.scopes.invalid",
		Data: map[string]any{"Count": MaxScopes},
		Text: fmt.Sprintf("scopes must be *, resource, resource:action or resource:* (letters, digits, . _ - /), at most %d of %d characters", MaxScopes, MaxScopeLen)}
	// ErrInvalidMetadata means more than 16 pairs, a bad name or a too long value.
	ErrInvalidMetadata error = &problem.Invalid{Field: "metadata", Code: "invalid", Msg: "validation.key.metadata.invalid",
		Data: map[string]any{"Count": MaxMetadata},
		Text: fmt.Sprintf("metadata is at most %d pairs; names are 1 to %d letters, digits, . _ -; values at most %d characters without control characters", MaxMetadata, MaxMetaKeyLen, MaxMetaValueLen)}
	// ErrInvalidAllowIP means an allowlist entry that is neither an IP address nor a CIDR prefix.
	ErrInvalidAllowIP error = &problem.Invalid{Field: "allowIps", Code: "invalid", Msg: "validation.key.allow_ips.invalid",
		Data: map[string]any{"Count": MaxAllowIPs},
		Text: fmt.Sprintf("IP allowlist entries must be IP addresses or CIDR prefixes such as 203.0.113.0/24 or 2001:db8::/32, at most %d", MaxAllowIPs)}
	// ErrInvalidQuota means a quota outside 0 to MaxQuota.
	ErrInvalidQuota error = &problem.Invalid{Field: "quota", Code: "range", Msg: "validation.key.quota.range",
		Text: "quota must be 0 to 1000000000000 requests"}
	// ErrInvalidRefill means a refill amount outside 1 to MaxQuota, an interval outside one
	// minute to 366 days, or a refill on a key without a quota.
	ErrInvalidRefill error = &problem.Invalid{Field: "refill", Code: "invalid", Msg: "validation.key.refill.invalid",
		Text: "refill needs a quota, an amount of 1 to 1000000000000 and an interval of 1 minute to 366 days"}
)

// refillInterval is RefillIntervalSeconds as a duration.
func (k *Key) refillInterval() time.Duration {
	return time.Duration(k.RefillIntervalSeconds) * time.Second
}

// ScopesAllow reports whether a key holding the scopes have may do what need names. A held
// `*` allows everything; `resource:*` allows `resource` and every `resource:action`; any other
// scope allows exactly itself.
func ScopesAllow(have []string, need string) bool {
	res, _, _ := strings.Cut(need, ":")
	for _, h := range have {
		switch {
		case h == need, h == "*":
			return true
		case strings.HasSuffix(h, ":*") && h[:len(h)-2] == res:
			return true
		}
	}
	return false
}

// MissingScope returns the first scope of need that have does not allow, or "".
func MissingScope(have, need []string) string {
	for _, n := range need {
		if !ScopesAllow(have, n) {
			return n
		}
	}
	return ""
}

// ValidScope reports whether s is `*`, `resource`, `resource:action` or `resource:*`.
func ValidScope(s string) bool {
	if s == "*" {
		return true
	}
	if len(s) == 0 || len(s) > MaxScopeLen {
		return false
	}
	res, action, hasAction := strings.Cut(s, ":")
	if !scopePart(res) {
		return false
	}
	return !hasAction || action == "*" || scopePart(action)
}

func scopePart(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c == '/') {
			return false
		}
	}
	return true
}

// ValidScopes trims, checks, de-duplicates and sorts a list of scopes.
func ValidScopes(in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	for _, s := range in {
		s = strings.TrimSpace(s)
		if !ValidScope(s) {
			return nil, &problem.Invalid{Field: "scopes", Code: "invalid", Msg: "validation.key.scope.invalid",
				Data: map[string]any{"Scope": s}, Text: fmt.Sprintf("scope %q must be *, resource, resource:action or resource:*", s), Err: ErrInvalidScope}
		}
		out = append(out, s)
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > MaxScopes {
		return nil, ErrInvalidScope
	}
	return out, nil
}

// ValidMetadata checks a key's metadata; nil becomes an empty map.
func ValidMetadata(in map[string]string) (map[string]string, error) {
	if len(in) > MaxMetadata {
		return nil, ErrInvalidMetadata
	}
	out := make(map[string]string, len(in))
	for k, v := range in {
		if len(k) == 0 || len(k) > MaxMetaKeyLen || !metaName(k) || utf8.RuneCountInString(v) > MaxMetaValueLen || !utf8.ValidString(v) {
			return nil, ErrInvalidMetadata
		}
		for _, r := range v {
			if r < 0x20 || r == 0x7f {
				return nil, ErrInvalidMetadata
			}
		}
		out[k] = v
	}
	return out, nil
}

func metaName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// ValidAllowIPs parses an IP allowlist: CIDR prefixes or single addresses, IPv4 or IPv6. It
// returns them in canonical form (masked, a single address as /32 or /128), de-duplicated.
func ValidAllowIPs(in []string) ([]string, error) {
	ps, err := parseAllowIPs(in)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.String())
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > MaxAllowIPs {
		return nil, ErrInvalidAllowIP
	}
	return out, nil
}

func parseAllowIPs(in []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(in))
	for _, s := range in {
		s = strings.TrimSpace(s)
		if p, err := netip.ParsePrefix(s); err == nil && p.Addr().Zone() == "" {
			if p.Addr().Is4In6() && p.Bits() >= 96 {
				p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return nil, &problem.Invalid{Field: "allowIps", Code: "invalid", Msg: "validation.key.allow_ip.invalid",
				Data: map[string]any{"Value": s}, Text: fmt.Sprintf("%q is neither an IP address nor a CIDR prefix", s), Err: ErrInvalidAllowIP}
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// AllowsIP reports whether a request from a may use the key: true when the key has no IP
// allowlist or a matches one of its prefixes. An invalid address matches no prefix.
func (k *Key) AllowsIP(a netip.Addr) bool {
	if len(k.allow) == 0 {
		return true
	}
	a = a.Unmap()
	for _, p := range k.allow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ValidQuota checks a quota and its refill. refillAmount 0 with interval 0 means no refill.
func ValidQuota(remaining, refillAmount int64, refillInterval time.Duration) error {
	if remaining < 0 || remaining > MaxQuota {
		return ErrInvalidQuota
	}
	if refillAmount == 0 && refillInterval == 0 {
		return nil
	}
	if refillAmount < 1 || refillAmount > MaxQuota ||
		refillInterval < MinRefillSeconds*time.Second || refillInterval > MaxRefillSeconds*time.Second {
		return ErrInvalidRefill
	}
	return nil
}

// encodeList and encodeMap give the JSON text stored in the list and map columns.
func encodeList(l []string) string {
	if len(l) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(l)
	return string(b)
}

func encodeMap(m map[string]string) string {
	if len(m) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(m)
	return string(b)
}
