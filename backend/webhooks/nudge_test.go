package webhooks_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/audit"
	"github.com/keygate/keygate/backend/console"
	"github.com/keygate/keygate/backend/instance"
	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/testutil"
	"github.com/keygate/keygate/backend/webhooks"
)

// TestWorkerWakesOnceTheEventHasCommitted: a key change's event is delivered at once, by the
// worker being woken after the change's transaction commits, not at the worker's next poll
// (an hour here). The transaction is held open a second after the event is queued: the worker
// used to be woken from inside it, looked before the event was there, and slept until its
// next poll.
func TestWorkerWakesOnceTheEventHasCommitted(t *testing.T) {
	if testutil.Postgres() {
		t.Setenv("KEYGATE_SECRETS_KEY", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
	}
	clk := testutil.NewClock()
	inst, err := instance.Open(context.Background(), instance.Options{Store: testutil.NewStore(t), Clock: clk,
		Logger: quiet, DataDir: t.TempDir(), Webhooks: webhooks.Options{PollEvery: time.Hour, ScanEvery: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inst.Close(context.Background()) })
	r := &rig{inst: inst, clock: clk, cli: inst.Console.CLI("en"), wh: inst.Webhooks, org: inst.Org.ID}
	rc := newReceiver(t, clk)
	r.add(t, rc, webhooks.KeyCreated)
	inst.Audit.OnRecord(func(_ context.Context, _ *sql.Tx, e audit.Entry, _ any) error {
		if e.Action == audit.KeyCreate {
			time.Sleep(time.Second) // after the webhooks' hook queued the event, before the commit
		}
		return nil
	})

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- inst.Webhooks.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	do[keys.Created](t, r, "CreateKey", console.CreateKeyInput{Name: "prompt"})
	deadline := time.Now().Add(10 * time.Second)
	for len(rc.received()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("key.created was not delivered within 10 s: the worker was not woken after the commit")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := rc.types(t); len(got) != 1 || got[0] != webhooks.KeyCreated {
		t.Fatalf("delivered %v, want one %s", got, webhooks.KeyCreated)
	}
}
