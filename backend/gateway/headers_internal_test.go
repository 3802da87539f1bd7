package gateway

import (
	"strings"
	"testing"
)

// TestManagedHeaderSpellings: a header the gateway owns is one in any letter case and with '_'
// for '-', names longer than the stack buffer included, and telling costs no allocation.
func TestManagedHeaderSpellings(t *testing.T) {
	long := "X-Keygate-" + strings.Repeat("Abc_", 20)
	for _, c := range []struct {
		name          string
		trusted, want bool
	}{
		{"X-Api-Key", false, true}, {"x_api_key", false, true}, {"X-API-KEY", true, true},
		{"X-Keygate-Key-Id", false, true}, {"X_KEYGATE_ORG_ID", true, true}, {long, false, true},
		{"X-Request-Id", false, true}, {"X-Original-URL", false, true}, {"X_Envoy_Original_Path", true, true},
		{"X-Forwarded-For", false, true}, {"X-Forwarded-For", true, false}, {"X_Forwarded_For", true, true},
		{"Forwarded", false, true}, {"Forwarded", true, false}, {"X-Real-IP", false, true},
		{"X_Http_Method_Override", true, true}, {"X-Http-Method-Override", false, false},
		{"X-Custom-Thing", false, false}, {"Accept", false, false}, {"X-Api-Keys", false, false},
		{"X-" + strings.Repeat("A", 100), false, false},
	} {
		if got := managedHeader(c.name, c.trusted); got != c.want {
			t.Errorf("managedHeader(%q, trusted %v) = %v, want %v", c.name, c.trusted, got, c.want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { managedHeader("X-Custom-Header-Name", false) }); n != 0 {
		t.Errorf("managedHeader allocates %.0f times a call", n)
	}
}
