package gateway

import (
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// TestCanonicalHeaderNames checks the names set with SetCanonical against fasthttp's own
// normalizing: a name that is not canonical would be added beside a header the request or
// answer already has instead of replacing it.
func TestCanonicalHeaderNames(t *testing.T) {
	for _, name := range [][]byte{hnRequestID, hnAllowOrigin, hnAllowCredentials, hnExposeHeaders, hnContentTypeOpts,
		hnCacheControl, hnWWWAuthenticate, hnKeyID, hnKeyName, hnOrgID, hnUserID, hnJWT, hnForwardedHost, hnForwardedProto} {
		var h fasthttp.RequestHeader
		h.Set(string(name), "spoofed") // normalized by fasthttp, as a client's header is
		setReq(&h, name, "set")
		n := 0
		for k, v := range h.All() {
			if strings.EqualFold(string(k), string(name)) {
				n++
				if string(v) != "set" {
					t.Errorf("%s: %q, want the value set", name, v)
				}
			}
		}
		if n != 1 {
			t.Errorf("%s: %d headers of that name after setting it over a client's, want 1", name, n)
		}
	}
}
