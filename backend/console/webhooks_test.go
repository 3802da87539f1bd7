package console_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/keygate/keygate/backend/audit"
	"github.com/keygate/keygate/backend/auth"
	"github.com/keygate/keygate/backend/testutil"
	"github.com/keygate/keygate/backend/webhooks"
)

// TestWebhooksOverHTTP: an admin adds an endpoint (secret shown once), a member sees it
// without the secret and cannot change it, a key created over HTTP reaches a real receiver
// signed with that secret, the delivery is listed with its status and can be retried, and
// removing the endpoint is audited.
func TestWebhooksOverHTTP(t *testing.T) {
	srv := testutil.NewServer(t)
	srv.AddUser(t, "admin@example.com", auth.RoleAdmin, srv.Org.ID)
	srv.AddUser(t, "dev@example.com", auth.RoleDeveloper, srv.Org.ID)
	srv.AddUser(t, "m@example.com", auth.RoleMember, srv.Org.ID)
	admin := srv.Login(t, "admin@example.com")
	member := srv.Login(t, "m@example.com")
	dev := srv.Login(t, "dev@example.com")

	var mu sync.Mutex
	var secret string
	var got []error
	var bodies []string
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		got = append(got, webhooks.Verify(secret, r.Header, b, srv.Clock.Now()))
		bodies = append(bodies, string(b))
	}))
	t.Cleanup(rc.Close)

	// Bad input: 400 naming the fields, nothing stored.
	p := admin.Problem("POST", "/api/v1/webhooks", map[string]any{"url": "ftp://x", "events": []string{"key.nope"}})
	if p.Status != 400 || p.Code != "VALIDATION" || len(p.Fields) != 2 {
		t.Fatalf("bad input: %+v", p)
	}
	for _, c := range []*testutil.Client{member, dev} {
		if st := c.Call("POST", "/api/v1/webhooks", map[string]any{"url": rc.URL}, nil); st != 403 {
			t.Fatalf("a non-admin added an endpoint: %d", st)
		}
	}

	var created webhooks.CreatedEndpoint
	if st := admin.Call("POST", "/api/v1/webhooks", map[string]any{"url": rc.URL + "/in", "events": []string{"key.created", "key.revoked"}}, &created); st != 201 {
		t.Fatalf("add: %d", st)
	}
	if !strings.HasPrefix(created.Secret, "whsec_") || created.URL != rc.URL+"/in" || len(created.Events) != 2 {
		t.Fatalf("added %+v", created)
	}
	mu.Lock()
	secret = created.Secret
	mu.Unlock()

	resp, body := member.Do("GET", "/api/v1/webhooks", nil)
	if resp.StatusCode != 200 || strings.Contains(string(body), created.Secret[6:20]) || !strings.Contains(string(body), created.ID) {
		t.Fatalf("member list: %d %s", resp.StatusCode, body)
	}

	var key struct{ ID, Key string }
	if st := dev.Call("POST", "/api/v1/keys", map[string]any{"name": "hooked"}, &key); st != 201 {
		t.Fatalf("create key: %d", st)
	}
	if st := dev.Call("PATCH", "/api/v1/keys/"+key.ID, map[string]any{"name": "renamed"}, nil); st != 200 { // key.updated: not wanted
		t.Fatalf("update key: %d", st)
	}
	if _, err := srv.Webhooks.DeliverDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(got) != 1 || got[0] != nil || !strings.Contains(bodies[0], `"type":"key.created"`) || strings.Contains(bodies[0], key.Key) {
		t.Fatalf("receiver got %v %v", got, bodies)
	}
	mu.Unlock()

	var page webhooks.DeliveryPage
	if st := member.Call("GET", "/api/v1/webhook-deliveries?status=delivered&endpointId="+created.ID, nil, &page); st != 200 ||
		len(page.Deliveries) != 1 || page.Deliveries[0].Event != "key.created" || page.Deliveries[0].Attempts != 1 {
		t.Fatalf("deliveries: %d %+v", st, page)
	}
	if p := member.Problem("GET", "/api/v1/webhook-deliveries?status=done", nil); p.Status != 400 || p.Fields[0].Field != "status" {
		t.Fatalf("bad status filter: %+v", p)
	}
	if p := member.Problem("GET", "/api/v1/webhook-deliveries?endpointId=wh_nope", nil); p.Status != 404 {
		t.Fatalf("unknown endpoint filter: %+v", p)
	}
	d := page.Deliveries[0]
	if st := member.Call("POST", "/api/v1/webhook-deliveries/"+d.ID+"/retry", nil, nil); st != 403 {
		t.Fatalf("a member retried: %d", st)
	}
	var retried webhooks.Delivery
	if st := admin.Call("POST", "/api/v1/webhook-deliveries/"+d.ID+"/retry", nil, &retried); st != 200 || retried.Status != "pending" {
		t.Fatalf("retry: %d %+v", st, retried)
	}
	srv.Webhooks.DeliverDue(context.Background())
	mu.Lock()
	if len(got) != 2 || got[1] != nil {
		t.Fatalf("the retry was not delivered: %v", got)
	}
	mu.Unlock()
	if p := admin.Problem("POST", "/api/v1/webhook-deliveries/msg_nope/retry", nil); p.Status != 404 {
		t.Fatalf("retry unknown: %+v", p)
	}

	if st := member.Call("DELETE", "/api/v1/webhooks/"+created.ID, nil, nil); st != 403 {
		t.Fatalf("a member removed: %d", st)
	}
	if st := admin.Call("DELETE", "/api/v1/webhooks/"+created.ID, nil, nil); st != 204 {
		t.Fatalf("remove: %d", st)
	}
	if p := admin.Problem("DELETE", "/api/v1/webhooks/"+created.ID, nil); p.Status != 404 || p.Code != "NOT_FOUND" {
		t.Fatalf("remove again: %+v", p)
	}
	var list struct{ Endpoints []webhooks.Endpoint }
	admin.Call("GET", "/api/v1/webhooks", nil, &list)
	if len(list.Endpoints) != 0 {
		t.Fatalf("still listed: %+v", list)
	}
	es, _ := srv.Audit.List(context.Background(), audit.Filter{OrgID: srv.Org.ID})
	var actions []string
	for _, e := range es {
		if strings.HasPrefix(e.Action, "webhook.") {
			actions = append(actions, e.Action)
			if strings.Contains(e.Detail, created.Secret[6:]) {
				t.Fatal("an audit entry holds the secret")
			}
		}
	}
	if strings.Join(actions, " ") != "webhook.remove webhook.retry webhook.add" {
		t.Fatalf("audit: %v", actions)
	}
	b, _ := json.Marshal(es)
	if strings.Contains(string(b), created.Secret[6:]) {
		t.Fatal("the audit log holds the secret")
	}
}
