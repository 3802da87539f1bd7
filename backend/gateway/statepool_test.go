package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/keygate/keygate/backend/gateway"
	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/routes"
)

// TestConcurrentRequestsKeepTheirOwnState sends many requests at once — valid keys of several
// owners, missing and unknown keys, buffered and streamed answers — and checks that each one's
// identity, request id and path reach its own upstream request, answer and log entry. The fast
// path reuses its per-request state (a pool); a state handed on too early would show here as
// one request's key or id on another's.
func TestConcurrentRequestsKeepTheirOwnState(t *testing.T) {
	e := newEnv(t, func(c *gateway.Config) { c.FailedAuthLimit = -1 })
	ctx := context.Background()
	// A streamed answer (no length) goes through the relay, which finishes after the handler.
	stream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		json.NewEncoder(w).Encode(echo{Path: r.URL.Path, Header: r.Header})
	}))
	t.Cleanup(stream.Close)
	e.addRoute(routes.Params{Prefix: "/stream", Upstream: stream.URL})
	owners := []keys.Created{e.key}
	for i := range 3 {
		k, err := e.keys.Create(ctx, keys.CreateParams{OrgID: e.org.ID, Name: fmt.Sprintf("owner %d", i), CreatedBy: "test"})
		if err != nil {
			t.Fatal(err)
		}
		owners = append(owners, k)
	}
	unknown, err := keys.Generate("kg")
	if err != nil {
		t.Fatal(err)
	}

	type sent struct{ id, path, keyID string }
	const workers, each = 8, 40
	results := make(chan sent, workers*each)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			client := &http.Client{}
			for n := range each {
				s := sent{id: fmt.Sprintf("t-%d-%d", w, n), path: fmt.Sprintf("/w%d/n%d", w, n)}
				if n%3 == 1 {
					s.path = "/stream" + s.path
				}
				req, _ := http.NewRequest(http.MethodGet, e.srv.URL+s.path, nil)
				req.Header.Set("X-Request-Id", s.id)
				want := http.StatusOK
				switch n % 5 {
				case 3:
					want = http.StatusUnauthorized // no key
				case 4:
					req.Header.Set("X-Api-Key", unknown.Raw)
					want = http.StatusUnauthorized
				default:
					k := owners[(w+n)%len(owners)]
					req.Header.Set("X-Api-Key", k.Key)
					s.keyID = k.ID
				}
				resp, err := client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != want || resp.Header.Get("X-Request-Id") != s.id {
					t.Errorf("%s %s: status %d, request id %q; want %d, %q", s.id, s.path, resp.StatusCode,
						resp.Header.Get("X-Request-Id"), want, s.id)
					continue
				}
				if want == http.StatusOK {
					var got echo
					if err := json.Unmarshal(body, &got); err != nil {
						t.Errorf("%s: %v in %q", s.id, err, body)
						continue
					}
					up := http.Header(got.Header)
					if got.Path != s.path || up.Get("X-Request-Id") != s.id || up.Get("X-Keygate-Key-Id") != s.keyID {
						t.Errorf("%s: upstream saw path %q, request id %q, key %q; want %q, %q, %q", s.id, got.Path,
							up.Get("X-Request-Id"), up.Get("X-Keygate-Key-Id"), s.path, s.id, s.keyID)
					}
				}
				results <- s
			}
		})
	}
	wg.Wait()
	close(results)

	logged := map[string]gateway.Entry{}
	for _, en := range e.gw.Requests(gateway.Filter{IncludeAnonymous: true, OrgID: e.org.ID, Limit: 1000}) {
		logged[en.RequestID] = en
	}
	count := 0
	for s := range results {
		count++
		en, ok := logged[s.id]
		if !ok {
			t.Errorf("%s: not in the request log", s.id)
			continue
		}
		if en.Path != s.path || en.KeyID != s.keyID {
			t.Errorf("%s: logged path %q, key %q; want %q, %q", s.id, en.Path, en.KeyID, s.path, s.keyID)
		}
	}
	if count != workers*each {
		t.Fatalf("%d requests completed, want %d", count, workers*each)
	}
}
