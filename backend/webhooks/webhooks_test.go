package webhooks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/audit"
	"github.com/keygate/keygate/backend/clock"
	"github.com/keygate/keygate/backend/console"
	"github.com/keygate/keygate/backend/instance"
	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/problem"
	"github.com/keygate/keygate/backend/store"
	"github.com/keygate/keygate/backend/testutil"
	"github.com/keygate/keygate/backend/webhooks"
)

// receiver is a real local HTTP server that checks every delivery's signature as a receiver
// would, against the clock the sender uses.
type receiver struct {
	*httptest.Server
	clock  clock.Clock
	mu     sync.Mutex
	secret string
	got    []received
	// answer is the status of the nth request (from 0); nil answers 204.
	answer func(n int) int
}

type received struct {
	id        string
	msg       webhooks.Message
	raw       string
	verifyErr error
}

func newReceiver(t *testing.T, clk clock.Clock) *receiver {
	r := &receiver{clock: clk}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		rec := received{id: req.Header.Get("webhook-id"), raw: string(body)}
		rec.verifyErr = webhooks.Verify(r.secret, req.Header, body, r.clock.Now())
		if err := json.Unmarshal(body, &rec.msg); err != nil && rec.verifyErr == nil {
			rec.verifyErr = err
		}
		if ct := req.Header.Get("Content-Type"); ct != "application/json" && rec.verifyErr == nil {
			rec.verifyErr = errors.New("content type " + ct)
		}
		n := len(r.got)
		r.got = append(r.got, rec)
		status := http.StatusNoContent
		if r.answer != nil {
			status = r.answer(n)
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) received() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

func (r *receiver) types(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, g := range r.received() {
		if g.verifyErr != nil {
			t.Fatalf("delivery %s does not verify: %v", g.id, g.verifyErr)
		}
		out = append(out, g.msg.Type)
	}
	return out
}

type rig struct {
	inst  *instance.Instance
	clock *clock.Fake
	cli   *console.Local
	wh    *webhooks.Service
	org   string
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func newRigOn(t *testing.T, st *store.Store, clk *clock.Fake) *rig {
	t.Helper()
	inst, err := instance.Open(context.Background(), instance.Options{Store: st, Clock: clk, Logger: quiet,
		DataDir: t.TempDir(), Webhooks: webhooks.Options{Backoff: []time.Duration{time.Minute, 10 * time.Minute}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inst.Close(context.Background()) })
	return &rig{inst: inst, clock: clk, cli: inst.Console.CLI("en"), wh: inst.Webhooks, org: inst.Org.ID}
}

func newRig(t *testing.T) *rig {
	if testutil.Postgres() {
		t.Setenv("KEYGATE_SECRETS_KEY", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
	}
	return newRigOn(t, testutil.NewStore(t), testutil.NewClock())
}

func (r *rig) add(t *testing.T, rc *receiver, events ...string) webhooks.CreatedEndpoint {
	t.Helper()
	e, err := r.wh.Add(context.Background(), webhooks.AddParams{OrgID: r.org, URL: rc.URL + "/hook", Events: events, CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	rc.mu.Lock()
	rc.secret = e.Secret
	rc.mu.Unlock()
	return e
}

func (r *rig) deliver(t *testing.T) int {
	t.Helper()
	n, err := r.wh.DeliverDue(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func do[Out any](t *testing.T, r *rig, name string, in any) Out {
	t.Helper()
	out, err := console.Do[Out](context.Background(), r.cli, name, in)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return out
}

func (r *rig) deliveries(t *testing.T, f webhooks.DeliveryFilter) []webhooks.Delivery {
	t.Helper()
	f.OrgID = r.org
	p, err := r.wh.Deliveries(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return p.Deliveries
}

func TestAddValidates(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	for _, c := range []struct {
		url    string
		events []string
		field  string
		code   string
	}{
		{"", nil, "url", "required"},
		{"   ", nil, "url", "required"},
		{"ftp://example.com/x", nil, "url", "invalid"},
		{"/relative", nil, "url", "invalid"},
		{"http://", nil, "url", "invalid"},
		{"http://user:pw@example.com/", nil, "url", "credentials"},
		{"http://example.com/#frag", nil, "url", "invalid"},
		{"http://example.com/a b", nil, "url", "invalid"},
		{"http://example.com/\x00", nil, "url", "invalid"},
		{"javascript:alert(1)", nil, "url", "invalid"},
		{"http://example.com/" + strings.Repeat("a", 2100), nil, "url", "too_long"},
		{"http://example.com/", []string{"key.created", "key.eaten"}, "events", "invalid"},
		{"http://example.com/", []string{""}, "events", "invalid"},
	} {
		_, err := r.wh.Add(ctx, webhooks.AddParams{OrgID: r.org, URL: c.url, Events: c.events, CreatedBy: "t"})
		inv := problem.Invalids(err)
		if len(inv) != 1 || inv[0].Field != c.field || inv[0].Code != c.code {
			t.Errorf("Add(%.40q, %v): %v, want %s %s", c.url, c.events, err, c.field, c.code)
		}
	}
	if l, _ := r.wh.List(ctx, r.org); len(l) != 0 {
		t.Fatalf("bad input stored endpoints: %+v", l)
	}
	// Loopback and ports are fine; events are deduplicated and put in a stable order.
	e, err := r.wh.Add(ctx, webhooks.AddParams{OrgID: r.org, URL: " http://127.0.0.1:9/in?x=1 ",
		Events: []string{"key.revoked", "key.created", "key.revoked"}, CreatedBy: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if e.URL != "http://127.0.0.1:9/in?x=1" || strings.Join(e.Events, ",") != "key.created,key.revoked" || !strings.HasPrefix(e.Secret, "whsec_") {
		t.Fatalf("added %+v", e)
	}
	// The secret is not in the database in plain text, not even in part.
	raw := e.Secret[len("whsec_"):]
	var sealed []byte
	if err := r.inst.Store.Read.QueryRow(`SELECT secret FROM webhook_endpoints WHERE id = ?`, e.ID).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte(raw[:12])) || len(sealed) < 32 {
		t.Fatal("the endpoint secret is stored in plain text")
	}
	list, _ := r.wh.List(ctx, r.org)
	if len(list) != 1 || list[0].ID != e.ID {
		t.Fatalf("List = %+v", list)
	}
	b, _ := json.Marshal(list)
	if strings.Contains(string(b), raw[:12]) {
		t.Fatal("List shows the secret")
	}
	if _, err := r.wh.Get(ctx, "org_other", e.ID); !errors.Is(err, webhooks.ErrNotFound) {
		t.Fatalf("another organization's endpoint: %v", err)
	}
	if _, err := r.wh.Remove(ctx, "org_other", e.ID); !errors.Is(err, webhooks.ErrNotFound) {
		t.Fatalf("removing through another organization: %v", err)
	}
}

// TestKeyEventsDelivered: every key change made through the console's operations (here the
// CLI's executor) reaches a real receiver, signed, in order, with the key's state after the
// change and never its secret.
func TestKeyEventsDelivered(t *testing.T) {
	r := newRig(t)
	rc := newReceiver(t, r.clock)
	all := r.add(t, rc)
	onlyRevoked := newReceiver(t, r.clock)
	r.add(t, onlyRevoked, webhooks.KeyRevoked)

	k := do[keys.Created](t, r, "CreateKey", console.CreateKeyInput{Name: "ci"})
	newName := "ci-2"
	do[keys.Key](t, r, "UpdateKey", console.UpdateKeyInput{ID: k.ID, Name: &newName})
	scopes := []string{"pets:read"}
	do[keys.Key](t, r, "UpdateKey", console.UpdateKeyInput{ID: k.ID, Scopes: &scopes})
	do[keys.Key](t, r, "DisableKey", console.KeyInput{ID: k.ID})
	do[keys.Key](t, r, "EnableKey", console.KeyInput{ID: k.ID})
	rolled := do[keys.Created](t, r, "RollKey", console.RollKeyInput{ID: k.ID})
	do[keys.Key](t, r, "RevokeKey", console.RevokeKeyInput{ID: k.ID, Reason: "leaked"})
	do[keys.Key](t, r, "RevokeKey", console.RevokeKeyInput{ID: k.ID}) // idempotent: no second event

	if ds := r.deliveries(t, webhooks.DeliveryFilter{Status: "pending"}); len(ds) != 8 {
		var evs []string
		for _, d := range ds {
			evs = append(evs, d.Event)
		}
		es, _ := r.inst.Audit.List(context.Background(), audit.Filter{})
		for _, e := range es {
			t.Logf("audit %s %s", e.Action, e.Detail)
		}
		t.Fatalf("pending deliveries %v, want 7 + 1", evs)
	}
	r.deliver(t)
	// Deliveries go out in parallel: receivers order by the message's timestamp.
	types := rc.types(t)
	slices.Sort(types)
	if got := strings.Join(types, " "); got != "key.created key.disabled key.enabled key.revoked key.rolled key.updated key.updated" {
		t.Fatalf("received %q", got)
	}
	if got := strings.Join(onlyRevoked.types(t), " "); got != "key.revoked" {
		t.Fatalf("the key.revoked endpoint received %q", got)
	}
	for _, g := range rc.received() {
		if strings.Contains(g.raw, k.Key) || strings.Contains(g.raw, rolled.Key) {
			t.Fatalf("a delivery holds a key's secret: %s", g.raw)
		}
		if g.msg.Data.Key.ID != k.ID || g.msg.Data.OrgID != r.org || g.msg.Data.Actor != "cli" || g.msg.Timestamp.IsZero() {
			t.Fatalf("delivery data %+v", g.msg)
		}
	}
	var last keys.Key
	for _, g := range rc.received() {
		switch g.msg.Type {
		case webhooks.KeyRevoked:
			last = g.msg.Data.Key
		case webhooks.KeyDisabled:
			if g.msg.Data.Key.Status != "disabled" {
				t.Fatalf("key.disabled carries status %s", g.msg.Data.Key.Status)
			}
		}
	}
	if last.Status != keys.StatusRevoked || last.RevokeReason != "leaked" || last.Name != "ci-2" {
		t.Fatalf("key.revoked carries %+v", last)
	}
	ds := r.deliveries(t, webhooks.DeliveryFilter{EndpointID: all.ID})
	if len(ds) != 7 {
		t.Fatalf("%d deliveries of the endpoint", len(ds))
	}
	for _, d := range ds {
		if d.Status != webhooks.StatusDelivered || d.Attempts != 1 || d.LastStatus != 204 || d.DeliveredAt == nil ||
			d.NextAttemptAt != nil || d.URL != all.URL || d.Payload == "" {
			t.Fatalf("delivery %+v", d)
		}
	}
	// Nothing is sent twice.
	if n := r.deliver(t); n != 0 || len(rc.received()) != 7 {
		t.Fatalf("a second pass sent %d", n)
	}
}

// TestRetryBackoff: a failing receiver is retried after each backoff step; after the last
// step the delivery is failed; 410 Gone fails at once; Retry starts a new round.
func TestRetryBackoff(t *testing.T) {
	r := newRig(t)
	rc := newReceiver(t, r.clock)
	rc.answer = func(n int) int {
		if n < 2 {
			return 500
		}
		return 200
	}
	r.add(t, rc)
	do[keys.Created](t, r, "CreateKey", console.CreateKeyInput{Name: "a"})
	r.deliver(t)
	d := r.deliveries(t, webhooks.DeliveryFilter{})[0]
	if d.Status != "pending" || d.Attempts != 1 || d.LastStatus != 500 || !strings.Contains(d.LastError, "500") ||
		!d.NextAttemptAt.Equal(r.clock.Now().Add(time.Minute)) {
		t.Fatalf("after a 500: %+v", d)
	}
	if r.deliver(t) != 0 {
		t.Fatal("retried before the backoff")
	}
	r.clock.Advance(time.Minute)
	r.deliver(t)
	r.clock.Advance(9 * time.Minute)
	if r.deliver(t) != 0 {
		t.Fatal("retried before the second backoff step")
	}
	r.clock.Advance(time.Minute)
	r.deliver(t)
	d = r.deliveries(t, webhooks.DeliveryFilter{})[0]
	if d.Status != "delivered" || d.Attempts != 3 || d.LastStatus != 200 || d.LastError != "" {
		t.Fatalf("after the third attempt: %+v", d)
	}
	got := rc.received()
	if len(got) != 3 || got[0].id != got[2].id || got[0].id != d.ID {
		t.Fatalf("attempts must share the webhook-id: %+v", got)
	}

	// Always failing: three attempts (the first and two backoff steps), then failed.
	rc.answer = func(int) int { return 503 }
	do[keys.Created](t, r, "CreateKey", console.CreateKeyInput{Name: "b"})
	for range 5 {
		r.deliver(t)
		r.clock.Advance(10 * time.Minute)
	}
	d = r.deliveries(t, webhooks.DeliveryFilter{})[0]
	if d.Status != "failed" || d.Attempts != 3 || d.NextAttemptAt != nil {
		t.Fatalf("after the last attempt: %+v", d)
	}
	if n := len(r.deliveries(t, webhooks.DeliveryFilter{Status: "failed"})); n != 1 {
		t.Fatalf("%d failed", n)
	}
	// Retry: a new round, delivered now that the receiver is back.
	rc.answer = nil
	if _, err := r.wh.Retry(context.Background(), r.org, d.ID); err != nil {
		t.Fatal(err)
	}
	r.deliver(t)
	if d2, _ := r.wh.Delivery(context.Background(), r.org, d.ID); d2.Status != "delivered" {
		t.Fatalf("after Retry: %+v", d2)
	}
	if _, err := r.wh.Retry(context.Background(), "org_other", d.ID); !errors.Is(err, webhooks.ErrDeliveryNotFound) {
		t.Fatalf("Retry in another organization: %v", err)
	}

	// 410 Gone: the receiver says it will never take it; no more attempts.
	rc.answer = func(int) int { return 410 }
	do[keys.Created](t, r, "CreateKey", console.CreateKeyInput{Name: "c"})
	r.deliver(t)
	if d = r.deliveries(t, webhooks.DeliveryFilter{})[0]; d.Status != "failed" || d.Attempts != 1 {
		t.Fatalf("after 410: %+v", d)
	}

	// A receiver that is not there at all: status 0 and the error.
	rc.Close()
	r.clock.Advance(time.Second)
	do[keys.Created](t, r, "CreateKey", console.CreateKeyInput{Name: "d"})
	r.deliver(t)
	if d = r.deliveries(t, webhooks.DeliveryFilter{})[0]; d.Status != "pending" || d.LastStatus != 0 || d.LastError == "" {
		t.Fatalf("unreachable receiver: %+v", d)
	}
}

// TestOutboxSurvivesRestart: events queued by one process (the CLI, with no worker) are
// delivered by the next one to start on the same database, with the same secret.
func TestOutboxSurvivesRestart(t *testing.T) {
	st := testutil.NewStore(t)
	if testutil.Postgres() {
		t.Setenv("KEYGATE_SECRETS_KEY", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
	}
	clk := testutil.NewClock()
	first := newRigOn(t, st, clk)
	rc := newReceiver(t, clk)
	first.add(t, rc)
	do[keys.Created](t, first, "CreateKey", console.CreateKeyInput{Name: "before restart"})
	first.inst.Close(context.Background())

	st2, err := st.OpenAgain(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st2.Close() })
	second := newRigOn(t, st2, clk)
	second.deliver(t)
	if got := strings.Join(rc.types(t), " "); got != "key.created" {
		t.Fatalf("after restart received %q", got)
	}
}

// TestOneNodeDelivers: two nodes on one database deliver concurrently; every delivery reaches
// the receiver exactly once. A node that claimed deliveries and died frees them when its lease
// runs out.
func TestOneNodeDelivers(t *testing.T) {
	if testutil.Postgres() {
		t.Setenv("KEYGATE_SECRETS_KEY", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
	}
	st := testutil.NewStore(t)
	clk := testutil.NewClock()
	a := newRigOn(t, st, clk)
	st2, err := st.OpenAgain(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st2.Close() })
	b := newRigOn(t, st2, clk)
	rc := newReceiver(t, clk)
	a.add(t, rc)
	const n = 40
	for i := range n {
		do[keys.Created](t, a, "CreateKey", console.CreateKeyInput{Name: "k" + string(rune('A'+i%26))})
	}
	var wg sync.WaitGroup
	for _, node := range []*rig{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				m, err := node.wh.DeliverDue(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				if m == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
	seen := map[string]int{}
	for _, g := range rc.received() {
		if g.verifyErr != nil {
			t.Fatal(g.verifyErr)
		}
		seen[g.id]++
	}
	if len(seen) != n {
		t.Fatalf("%d distinct deliveries, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Fatalf("%s delivered %d times", id, c)
		}
	}
}

func TestLeaseExpiry(t *testing.T) {
	r := newRig(t)
	rc := newReceiver(t, r.clock)
	r.add(t, rc)
	do[keys.Created](t, r, "CreateKey", console.CreateKeyInput{Name: "a"})
	// A node claimed it and died before answering.
	if _, err := r.inst.Store.Write.Exec(`UPDATE webhook_deliveries SET lease_owner = 'node_dead', lease_until = ?`,
		r.clock.Now().Add(time.Minute).UnixMilli()); err != nil {
		t.Fatal(err)
	}
	if r.deliver(t) != 0 {
		t.Fatal("a leased delivery was taken")
	}
	r.clock.Advance(time.Minute)
	if r.deliver(t) != 1 || len(rc.types(t)) != 1 {
		t.Fatal("the expired lease was not taken over")
	}
}

func TestRemoveStopsDeliveries(t *testing.T) {
	r := newRig(t)
	rc := newReceiver(t, r.clock)
	e := r.add(t, rc)
	do[keys.Created](t, r, "CreateKey", console.CreateKeyInput{Name: "a"})
	if _, err := r.wh.Remove(context.Background(), r.org, e.ID); err != nil {
		t.Fatal(err)
	}
	if r.deliver(t) != 0 || len(rc.received()) != 0 {
		t.Fatal("a removed endpoint got a delivery")
	}
	if _, err := r.wh.Get(context.Background(), r.org, e.ID); !errors.Is(err, webhooks.ErrNotFound) {
		t.Fatal(err)
	}
	if _, err := r.wh.Deliveries(context.Background(), webhooks.DeliveryFilter{OrgID: r.org, EndpointID: e.ID}); !errors.Is(err, webhooks.ErrNotFound) {
		t.Fatalf("deliveries of a removed endpoint: %v", err)
	}
}

// TestExpiryNotices: key.expiring 7 days and 1 day before, key.expired after, each once, on
// whichever node scans; a key first seen within a day gets only the 1-day notice; revoked keys
// get none.
func TestExpiryNotices(t *testing.T) {
	r := newRig(t)
	rc := newReceiver(t, r.clock)
	r.add(t, rc, webhooks.KeyExpiring, webhooks.KeyExpired)
	ctx := context.Background()
	do[keys.Created](t, r, "CreateKey", console.CreateKeyInput{Name: "30d", Expires: "30d"})
	revoked := do[keys.Created](t, r, "CreateKey", console.CreateKeyInput{Name: "revoked", Expires: "7d"})
	do[keys.Key](t, r, "RevokeKey", console.RevokeKeyInput{ID: revoked.ID})
	scan := func() []string {
		t.Helper()
		if err := r.wh.ScanExpiring(ctx); err != nil {
			t.Fatal(err)
		}
		if err := r.wh.ScanExpiring(ctx); err != nil { // twice: nothing is sent twice
			t.Fatal(err)
		}
		r.deliver(t)
		var out []string
		for _, g := range rc.received() {
			if g.verifyErr != nil {
				t.Fatal(g.verifyErr)
			}
			out = append(out, g.msg.Type+"/"+g.msg.Data.ExpiresIn+"/"+g.msg.Data.Key.Name)
		}
		return out
	}
	if got := scan(); len(got) != 0 {
		t.Fatalf("30 days ahead: %v", got)
	}
	r.clock.Advance(23*24*time.Hour - time.Hour) // 7 days and an hour left
	if got := scan(); len(got) != 0 {
		t.Fatalf("7 days and an hour ahead: %v", got)
	}
	r.clock.Advance(2 * time.Hour)
	if got := strings.Join(scan(), " "); got != "key.expiring/7d/30d" {
		t.Fatalf("7 days ahead: %q", got)
	}
	// Expiring at the end of today: only the 1-day notice.
	do[keys.Created](t, r, "CreateKey", console.CreateKeyInput{Name: "short", Expires: r.clock.Now().Format("2006-01-02")})
	if got := strings.Join(scan(), " "); got != "key.expiring/7d/30d key.expiring/1d/short" {
		t.Fatalf("a key expiring today: %q", got)
	}
	r.clock.Advance(6 * 24 * time.Hour)
	next := scan()[2:]
	slices.Sort(next)
	if got := strings.Join(next, " "); got != "key.expired//short key.expiring/1d/30d" {
		t.Fatalf("a day ahead: %q", got)
	}
	r.clock.Advance(24 * time.Hour)
	got := scan()
	if len(got) != 5 || got[4] != "key.expired//30d" {
		t.Fatalf("expired: %q", got)
	}
	// Another node sends nothing more.
	st2, _ := r.inst.Store.OpenAgain(ctx)
	t.Cleanup(func() { st2.Close() })
	other := newRigOn(t, st2, r.clock)
	if err := other.wh.ScanExpiring(ctx); err != nil {
		t.Fatal(err)
	}
	if other.deliver(t) != 0 {
		t.Fatal("another node sent a notice again")
	}
}

// TestQuotaExhausted: one event per quota round, however often it is reported.
func TestQuotaExhausted(t *testing.T) {
	r := newRig(t)
	rc := newReceiver(t, r.clock)
	r.add(t, rc, webhooks.KeyQuotaExhausted)
	k := do[keys.Created](t, r, "CreateKey", console.CreateKeyInput{Name: "q"})
	round := r.clock.Now()
	for range 3 {
		if err := r.wh.QuotaExhausted(context.Background(), r.org, k.ID, round); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.wh.QuotaExhausted(context.Background(), r.org, k.ID, round.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	r.deliver(t)
	if got := strings.Join(rc.types(t), " "); got != "key.quota_exhausted key.quota_exhausted" {
		t.Fatalf("received %q", got)
	}
}

// TestQuotaExhaustedThroughKeys: the request that uses the last of a key's quota (keys'
// TakeQuota, as the gateway calls it) queues key.quota_exhausted through the seam that
// instance.Open wires.
func TestQuotaExhaustedThroughKeys(t *testing.T) {
	r := newRig(t)
	rc := newReceiver(t, r.clock)
	r.add(t, rc, webhooks.KeyQuotaExhausted)
	quota := int64(2)
	k := do[keys.Created](t, r, "CreateKey", console.CreateKeyInput{Name: "metered", Quota: &quota})
	ctx := context.Background()
	for i := range 3 {
		res, err := r.inst.Keys.Verify(ctx, k.Key)
		if err != nil || !res.Valid {
			t.Fatalf("verify: %+v %v", res, err)
		}
		take, err := r.inst.Keys.TakeQuota(ctx, res.Key, r.clock.Now())
		if err != nil || take.Allowed != (i < 2) {
			t.Fatalf("take %d: %+v %v", i, take, err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(rc.received()) == 0 && time.Now().Before(deadline) {
		r.deliver(t)
		time.Sleep(20 * time.Millisecond)
	}
	got := rc.types(t)
	if len(got) != 1 || got[0] != webhooks.KeyQuotaExhausted || rc.received()[0].msg.Data.Key.ID != k.ID {
		t.Fatalf("received %v", got)
	}
}

func TestDeliveriesPaging(t *testing.T) {
	r := newRig(t)
	rc := newReceiver(t, r.clock)
	r.add(t, rc)
	for range 5 {
		do[keys.Created](t, r, "CreateKey", console.CreateKeyInput{Name: "p"})
		r.clock.Advance(time.Second)
	}
	seen := map[string]bool{}
	f := webhooks.DeliveryFilter{OrgID: r.org, Limit: 2}
	for {
		p, err := r.wh.Deliveries(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range p.Deliveries {
			seen[d.ID] = true
		}
		if p.NextCursor == "" {
			break
		}
		f.Cursor = p.NextCursor
	}
	if len(seen) != 5 {
		t.Fatalf("paging saw %d", len(seen))
	}
	for _, f := range []webhooks.DeliveryFilter{{Limit: 501}, {Limit: -1}, {Status: "done"}, {Cursor: "!!"}} {
		f.OrgID = r.org
		if _, err := r.wh.Deliveries(context.Background(), f); len(problem.Invalids(err)) != 1 {
			t.Errorf("%+v: %v", f, err)
		}
	}
}
