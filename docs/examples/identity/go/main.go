// Command upstream is an API behind Keygate that serves only requests carrying a valid
// X-Keygate-Jwt, and answers with who called. KEYGATE_URL is the gateway's public URL (the
// tokens' iss; the keys are at KEYGATE_URL/.well-known/jwks.json), AUDIENCE the route prefix,
// LISTEN the address to serve on.
package main

import (
	"encoding/json"
	"errors"
	"log"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Identity is what the token says about the caller.
type Identity struct {
	jwt.Claims
	Org    string            `json:"org"`
	Scopes []string          `json:"scopes"`
	Meta   map[string]string `json:"meta"`
}

// Verifier checks tokens with the gateway's published keys, fetched again when a token names
// a key it does not know (after a rotation).
type Verifier struct {
	JWKSURL, Issuer, Audience string
	mu                        sync.Mutex
	keys                      jose.JSONWebKeySet
}

func (v *Verifier) key(kid string) (any, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if ks := v.keys.Key(kid); len(ks) == 1 {
		return ks[0].Key, nil
	}
	res, err := http.Get(v.JWKSURL)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(res.Body).Decode(&set); err != nil {
		return nil, err
	}
	v.keys = set
	if ks := v.keys.Key(kid); len(ks) == 1 {
		return ks[0].Key, nil
	}
	return nil, errors.New("unknown signing key")
}

// Verify checks the X-Keygate-Jwt of r and returns who called.
func (v *Verifier) Verify(r *http.Request) (*Identity, error) {
	tok, err := jwt.ParseSigned(r.Header.Get("X-Keygate-Jwt"), []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return nil, err
	}
	key, err := v.key(tok.Headers[0].KeyID)
	if err != nil {
		return nil, err
	}
	var id Identity
	if err := tok.Claims(key, &id); err != nil {
		return nil, err
	}
	expected := jwt.Expected{Issuer: v.Issuer, AnyAudience: jwt.Audience{v.Audience}, Time: time.Now()}
	if err := id.Claims.ValidateWithLeeway(expected, 5*time.Second); err != nil {
		return nil, err
	}
	return &id, nil
}

func main() {
	gateway := os.Getenv("KEYGATE_URL") // e.g. http://127.0.0.1:8787
	v := &Verifier{JWKSURL: gateway + "/.well-known/jwks.json", Issuer: gateway, Audience: os.Getenv("AUDIENCE")}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		who, err := v.Verify(r)
		if err != nil {
			http.Error(w, "not signed by Keygate: "+err.Error(), http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(who) // who.Subject is the key id (or the console user's id)
	})
	log.Fatal(http.ListenAndServe(os.Getenv("LISTEN"), nil))
}
