package routes_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/routes"
	"github.com/keygate/keygate/backend/store"
	"github.com/keygate/keygate/backend/testutil"
)

func TestMatches(t *testing.T) {
	for _, tt := range []struct {
		prefix, path string
		want         bool
	}{
		{"/", "/", true},
		{"/", "/anything/at/all", true},
		{"/api", "/api", true},
		{"/api", "/api/", true},
		{"/api", "/api/x", true},
		{"/api", "/apix", false},
		{"/api", "/ap", false},
		{"/api", "/", false},
		{"/api/v1", "/api/v1/pets", true},
		{"/api/v1", "/api/v10", false},
		{"/", "", false},
	} {
		if got := routes.Matches(tt.prefix, tt.path); got != tt.want {
			t.Errorf("Matches(%q, %q) = %v", tt.prefix, tt.path, got)
		}
	}
}

func TestTableLongestPrefixWins(t *testing.T) {
	tab := routes.NewTable([]string{"/", "/api", "/api/v2", "/apiary"}, []string{"root", "api", "v2", "apiary"})
	for path, want := range map[string]string{
		"/":            "root",
		"/api":         "api",
		"/api/v1/x":    "api",
		"/api/v2":      "v2",
		"/api/v2/pets": "v2",
		"/api/v2x":     "api",
		"/apiary/bees": "apiary",
		"/apix":        "root",
	} {
		got, _, ok := tab.Match(path)
		if !ok || got != want {
			t.Errorf("Match(%q) = %q, %v; want %q", path, got, ok, want)
		}
	}
	empty := routes.NewTable[string](nil, nil)
	if _, _, ok := empty.Match("/x"); ok {
		t.Error("empty table matched")
	}
}

func TestNormalizePrefix(t *testing.T) {
	for in, want := range map[string]string{
		"/":        "/",
		"/api":     "/api",
		"/api/":    "/api",
		" /api ":   "/api",
		"/a-b/c.d": "/a-b/c.d",
		"/v1:beta": "/v1:beta",
	} {
		got, err := routes.NormalizePrefix(in)
		if err != nil || got != want {
			t.Errorf("NormalizePrefix(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "api", "//", "/api//x", "/a/../b", "/a/./b", "/..", "/a%2Fb", "/a b", "/a?b", "/a#b",
		"/" + strings.Repeat("a", 300), "/ü"} {
		if got, err := routes.NormalizePrefix(in); !errors.Is(err, routes.ErrInvalidPrefix) {
			t.Errorf("NormalizePrefix(%q) = %q, %v; want ErrInvalidPrefix", in, got, err)
		}
	}
}

func TestNormalizeUpstream(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:9000":      "http://127.0.0.1:9000",
		"http://127.0.0.1:9000/":     "http://127.0.0.1:9000",
		"HTTPS://API.Example.com/v1": "https://api.example.com/v1",
	} {
		got, err := routes.NormalizeUpstream(in)
		if err != nil || got != want {
			t.Errorf("NormalizeUpstream(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "localhost:9000", "ftp://x", "http://", "http://user:pw@x", "http://x/?q=1", "http://x/#f",
		"http://x:port", "/relative"} {
		if _, err := routes.NormalizeUpstream(in); !errors.Is(err, routes.ErrInvalidUpstream) {
			t.Errorf("NormalizeUpstream(%q): %v", in, err)
		}
	}
}

func TestLifecycle(t *testing.T) {
	st := testutil.NewStore(t)
	org := testutil.DefaultOrg(t, st)
	s := routes.New(st, testutil.NewClock())
	ctx := context.Background()

	r, err := s.Add(ctx, routes.Params{Prefix: "/api/", Upstream: "http://127.0.0.1:9000/", StripPrefix: true, OrgID: org.ID,
		QueryKeyParam: "api_key", MaxBodyBytes: 1024, OpenAPISource: "http://127.0.0.1:9000/openapi.json"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Prefix != "/api" || r.Upstream != "http://127.0.0.1:9000" || !r.AuthRequired || !r.StripPrefix || r.OrgID != org.ID ||
		r.QueryKeyParam != "api_key" || r.MaxBodyBytes != 1024 || !strings.HasPrefix(r.ID, "rt_") {
		t.Fatalf("added %+v", r)
	}
	if _, err := s.Add(ctx, routes.Params{Prefix: "/api", Upstream: "http://x"}); !errors.Is(err, routes.ErrDuplicatePrefix) {
		t.Fatalf("duplicate: %v", err)
	}
	if _, err := s.Add(ctx, routes.Params{Prefix: "/b", Upstream: "http://x", OrgID: "org_nope"}); !errors.Is(err, routes.ErrUnknownOrg) {
		t.Fatalf("unknown org: %v", err)
	}
	for _, p := range []routes.Params{
		{Prefix: "/q", Upstream: "http://x", QueryKeyParam: "a b"},
		{Prefix: "/q", Upstream: "http://x", MaxBodyBytes: -1},
		{Prefix: "/q", Upstream: "http://x", OpenAPISource: "a\nb"},
	} {
		if _, err := s.Add(ctx, p); err == nil {
			t.Errorf("Add(%+v) accepted", p)
		}
	}
	f := false
	root, err := s.Add(ctx, routes.Params{Prefix: "/", Upstream: "http://127.0.0.1:9001", AuthRequired: &f})
	if err != nil || root.AuthRequired {
		t.Fatalf("root %+v, %v", root, err)
	}
	list, err := s.List(ctx)
	if err != nil || len(list) != 2 || list[0].Prefix != "/api" {
		t.Fatalf("list %+v, %v", list, err)
	}
	up, err := s.Update(ctx, r.ID, routes.Params{Prefix: "/api", Upstream: "http://127.0.0.1:9002"})
	if err != nil || up.Upstream != "http://127.0.0.1:9002" || up.StripPrefix || up.OrgID != "" {
		t.Fatalf("update %+v, %v", up, err)
	}
	if _, err := s.Update(ctx, r.ID, routes.Params{Prefix: "/", Upstream: "http://x"}); !errors.Is(err, routes.ErrDuplicatePrefix) {
		t.Fatalf("update onto another prefix: %v", err)
	}
	if _, err := s.Update(ctx, "rt_nope", routes.Params{Prefix: "/z", Upstream: "http://x"}); !errors.Is(err, routes.ErrNotFound) {
		t.Fatalf("update missing: %v", err)
	}
	put, err := s.Put(ctx, routes.Params{Prefix: "/api", Upstream: "http://127.0.0.1:9003"})
	if err != nil || put.ID != r.ID || put.Upstream != "http://127.0.0.1:9003" {
		t.Fatalf("put existing %+v, %v", put, err)
	}
	if err := s.RemoveByPrefix(ctx, "/api/"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveByPrefix(ctx, "/api"); !errors.Is(err, routes.ErrNotFound) {
		t.Fatalf("remove twice: %v", err)
	}
	if err := s.Remove(ctx, root.ID); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.List(ctx); len(list) != 0 {
		t.Fatalf("left %+v", list)
	}
}

func TestRouteChangesBumpRevision(t *testing.T) {
	st := testutil.NewStore(t)
	s := routes.New(st, nil)
	ctx := context.Background()
	before, _ := st.Revision(ctx)
	if _, err := s.Add(ctx, routes.Params{Prefix: "/a", Upstream: "http://x"}); err != nil {
		t.Fatal(err)
	}
	after, _ := st.Revision(ctx)
	if after == before {
		t.Fatal("revision unchanged")
	}
}

func TestSettings(t *testing.T) {
	st := testutil.NewStore(t)
	s := routes.New(st, nil)
	ctx := context.Background()
	got, err := s.Settings(ctx)
	if err != nil || got.UpstreamTimeout != routes.DefaultUpstreamTimeout || len(got.AllowedOrigins) != 0 || got.AllowedOrigins == nil {
		t.Fatalf("defaults %+v, %v", got, err)
	}
	got, err = s.UpdateSettings(ctx, routes.Settings{AllowedOrigins: []string{"HTTPS://App.Example.com:443/", "https://app.example.com",
		"http://localhost:5173"}, UpstreamTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.AllowedOrigins) != 2 || got.AllowedOrigins[0] != "https://app.example.com" || got.UpstreamTimeout != 5*time.Second {
		t.Fatalf("stored %+v", got)
	}
	for _, bad := range []routes.Settings{
		{AllowedOrigins: []string{"*"}, UpstreamTimeout: time.Second},
		{AllowedOrigins: []string{"https://a.com/path"}, UpstreamTimeout: time.Second},
		{AllowedOrigins: []string{"app.example.com"}, UpstreamTimeout: time.Second},
		{UpstreamTimeout: 0},
		{UpstreamTimeout: time.Hour},
	} {
		if _, err := s.UpdateSettings(ctx, bad); err == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
	if again, _ := s.Settings(ctx); again.UpstreamTimeout != 5*time.Second || len(again.AllowedOrigins) != 2 {
		t.Fatalf("a refused update changed something: %+v", again)
	}
}

func FuzzPrefixMatch(f *testing.F) {
	f.Add("/api", "/api/x")
	f.Add("/api", "/apix")
	f.Add("/", "/")
	f.Add("/a/b", "/a/b/")
	f.Add("/api/", "/api")
	f.Fuzz(func(t *testing.T, prefix, path string) {
		p, err := routes.NormalizePrefix(prefix)
		if err != nil {
			return
		}
		got := routes.Matches(p, path)
		// Reference: compare whole segments.
		want := strings.HasPrefix(path, "/")
		if p != "/" {
			ps := strings.Split(p, "/")
			xs := strings.Split(path, "/")
			want = len(xs) >= len(ps)
			for i := 0; want && i < len(ps); i++ {
				want = ps[i] == xs[i]
			}
		}
		if got != want {
			t.Fatalf("Matches(%q, %q) = %v, want %v", p, path, got, want)
		}
		if got && p != "/" && !strings.HasPrefix(path, p) {
			t.Fatalf("matched %q without its prefix %q", path, p)
		}
	})
}

// TestPutKeepsConfiguredSettings: `serve --upstream URL` runs Put on every start; it must point
// the route at URL without undoing what an admin set on it since (an organization binding, a
// body limit…), or a restart would quietly widen who may call the API.
func TestPutKeepsConfiguredSettings(t *testing.T) {
	st := testutil.NewStore(t)
	org := testutil.DefaultOrg(t, st)
	s := routes.New(st, nil)
	ctx := context.Background()
	f := false
	r, err := s.Add(ctx, routes.Params{Prefix: "/", Upstream: "http://127.0.0.1:9001", StripPrefix: true, OrgID: org.ID,
		OpenAPISource: "doc.json", AuthRequired: &f, QueryKeyParam: "k", MaxBodyBytes: 100, ValidateRequests: true,
		Scopes: []string{"pets:read"}, IdentityJWT: true})
	if err != nil {
		t.Fatal(err)
	}
	put, err := s.Put(ctx, routes.Params{Prefix: "/", Upstream: "http://127.0.0.1:9002"})
	if err != nil {
		t.Fatal(err)
	}
	want := r
	want.Upstream, want.UpdatedAt = "http://127.0.0.1:9002", put.UpdatedAt
	if !reflect.DeepEqual(put, want) {
		t.Fatalf("put %+v, want %+v", put, want)
	}
	put, err = s.Put(ctx, routes.Params{Prefix: "/", Upstream: "http://127.0.0.1:9002", OpenAPISource: "http://127.0.0.1:9002/openapi.json"})
	if err != nil || put.OpenAPISource != "http://127.0.0.1:9002/openapi.json" || put.OrgID != org.ID || put.MaxBodyBytes != 100 {
		t.Fatalf("put with a document %+v, %v", put, err)
	}
	if _, err := s.Put(ctx, routes.Params{Prefix: "/", Upstream: "ftp://x"}); !errors.Is(err, routes.ErrInvalidUpstream) {
		t.Fatalf("bad upstream: %v", err)
	}
}

// TestChangesArePublished: adding, updating and removing a route reach this process's
// subscribers before the call returns, so the gateway's table follows at once. (On PostgreSQL
// the listener also brings each change back by NOTIFY, at a time of its own: the counts there
// are lower bounds.)
func TestChangesArePublished(t *testing.T) {
	st := testutil.NewStore(t)
	s := routes.New(st, testutil.NewClock())
	ctx := context.Background()
	var mu sync.Mutex
	n := 0
	defer st.Changes().Subscribe(func(c store.Change) {
		mu.Lock()
		defer mu.Unlock()
		if c.Table == "routes" {
			n++
		}
	})()
	want := func(k int, after string) {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		if n < k || (st.Dialect == store.SQLite && n != k) {
			t.Fatalf("after %s: %d announcements, want %d", after, n, k)
		}
	}
	r, err := s.Add(ctx, routes.Params{Prefix: "/a", Upstream: "http://127.0.0.1:9000"})
	if err != nil {
		t.Fatal(err)
	}
	want(1, "Add")
	if _, err := s.Update(ctx, r.ID, routes.Params{Prefix: "/a", Upstream: "http://127.0.0.1:9001"}); err != nil {
		t.Fatal(err)
	}
	want(2, "Update")
	if err := s.Remove(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	want(3, "Remove")
	if err := s.Remove(ctx, r.ID); !errors.Is(err, routes.ErrNotFound) {
		t.Fatalf("removing a removed route: %v", err)
	}
	want(3, "removing a removed route")
	if _, err := s.Add(ctx, routes.Params{Prefix: "/b", Upstream: "::bad"}); err == nil {
		t.Fatal("a bad upstream was accepted")
	}
	want(3, "a refused route")
}
