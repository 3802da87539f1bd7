package webhooks_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/audit"
	"github.com/keygate/keygate/backend/console"
	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/webhooks"
)

// setOutbox takes the webhooks' outbox table away (on = false), so that queuing an event
// fails, or puts it back.
func setOutbox(t *testing.T, r *rig, on bool) {
	t.Helper()
	from, to := "webhook_deliveries", "webhook_deliveries_away"
	if on {
		from, to = to, from
	}
	if _, err := r.inst.Store.Write.Exec(`ALTER TABLE ` + from + ` RENAME TO ` + to); err != nil {
		t.Fatal(err)
	}
}

// TestKeyChangeCommitsWithItsEvent: a key change made through the console, its audit entry and
// its webhook event commit in one transaction. When the outbox cannot take the event, each
// operation fails and leaves neither the change, nor an audit entry, nor an event (the change
// and its entry used to commit while the event was lost); the in-memory quota count of a
// failed quota edit is not installed either. When it can, the event carries the key as the
// change left it.
func TestKeyChangeCommitsWithItsEvent(t *testing.T) {
	r := newRig(t)
	rc := newReceiver(t, r.clock)
	r.add(t, rc)
	ctx := context.Background()
	quota := int64(10)
	k := do[keys.Created](t, r, "CreateKey", console.CreateKeyInput{Name: "ci", Quota: &quota})
	off := do[keys.Created](t, r, "CreateKey", console.CreateKeyInput{Name: "off"})
	do[keys.Key](t, r, "DisableKey", console.KeyInput{ID: off.ID})
	entries := func() []string {
		es, err := r.inst.Audit.List(ctx, audit.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range es {
			out = append(out, e.Action+" "+e.Target)
		}
		return out
	}
	wantEntries := entries()

	setOutbox(t, r, false)
	name, less := "renamed", int64(3)
	for _, op := range []struct {
		name string
		in   any
	}{
		{"CreateKey", console.CreateKeyInput{Name: "lost"}},
		{"UpdateKey", console.UpdateKeyInput{ID: k.ID, Name: &name}},
		{"UpdateKey", console.UpdateKeyInput{ID: k.ID, Quota: &less}},
		{"DisableKey", console.KeyInput{ID: k.ID}},
		{"EnableKey", console.KeyInput{ID: off.ID}},
		{"RollKey", console.RollKeyInput{ID: k.ID}},
		{"RevokeKey", console.RevokeKeyInput{ID: k.ID, Reason: "leaked"}},
	} {
		if _, err := r.cli.Call(ctx, op.name, op.in); err == nil {
			t.Errorf("%s %+v succeeded while its webhook event could not be queued", op.name, op.in)
		}
		got, err := r.inst.Keys.Get(ctx, r.org, k.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "ci" || got.Status != keys.StatusActive || got.RevokeReason != "" || got.Start != k.Start ||
			got.QuotaRemaining == nil || *got.QuotaRemaining != quota {
			t.Fatalf("after a failed %s the key is %+v (quota %v): the change outlived its record", op.name, got, got.QuotaRemaining)
		}
		if got, _ := r.inst.Keys.Get(ctx, r.org, off.ID); got.Status != keys.StatusDisabled {
			t.Fatalf("after a failed %s the disabled key is %s", op.name, got.Status)
		}
		if got := entries(); !reflect.DeepEqual(got, wantEntries) {
			t.Fatalf("after a failed %s the audit log is %v, want %v", op.name, got, wantEntries)
		}
	}
	if p, err := r.inst.Keys.List(ctx, keys.ListParams{OrgID: r.org}); err != nil || p.Total != 2 {
		t.Fatalf("keys after a failed create: %d %v", p.Total, err)
	}
	if res, err := r.inst.Keys.Verify(ctx, k.Key); err != nil || !res.Valid {
		t.Fatalf("the key's secret after a failed roll and revoke: %+v %v", res, err)
	}
	setOutbox(t, r, true)
	if ds := r.deliveries(t, webhooks.DeliveryFilter{}); len(ds) != 3 {
		t.Fatalf("%d deliveries, want the 3 of the changes that committed", len(ds))
	}

	// The event is the key as the change's transaction left it: the key the operation returns.
	r.clock.Advance(time.Second) // deliveries list newest first
	disabled := do[keys.Key](t, r, "DisableKey", console.KeyInput{ID: k.ID})
	ds := r.deliveries(t, webhooks.DeliveryFilter{})
	if len(ds) != 4 || ds[0].Event != webhooks.KeyDisabled {
		t.Fatalf("deliveries %+v", ds)
	}
	var msg webhooks.Message
	if err := json.Unmarshal([]byte(ds[0].Payload), &msg); err != nil {
		t.Fatal(err)
	}
	var want keys.Key
	b, _ := json.Marshal(disabled)
	json.Unmarshal(b, &want)
	if !reflect.DeepEqual(msg.Data.Key, want) || msg.Data.Key.Status != keys.StatusDisabled || msg.Data.Actor != audit.ActorCLI {
		t.Fatalf("key.disabled carries %+v, the operation returned %+v", msg.Data, want)
	}
	if got := entries(); len(got) != len(wantEntries)+1 || got[0] != audit.KeyDisable+" "+k.ID {
		t.Fatalf("audit log %v", got)
	}
}

// TestAuditHookTakesTheKeyItIsGiven: the hook makes a key event only from the key the
// recording transaction hands it: an entry recorded without one (audit.Log.Record) makes none,
// and a subject that is not the entry's key is refused, rolling the transaction back.
func TestAuditHookTakesTheKeyItIsGiven(t *testing.T) {
	r := newRig(t)
	r.add(t, newReceiver(t, r.clock))
	ctx := context.Background()
	a := do[keys.Created](t, r, "CreateKey", console.CreateKeyInput{Name: "a"})
	b := do[keys.Created](t, r, "CreateKey", console.CreateKeyInput{Name: "b"})
	before := len(r.deliveries(t, webhooks.DeliveryFilter{}))
	if err := r.inst.Audit.Record(ctx, audit.Entry{Actor: audit.ActorCLI, OrgID: r.org, Action: audit.KeyDisable, Target: a.ID}); err != nil {
		t.Fatal(err)
	}
	if n := len(r.deliveries(t, webhooks.DeliveryFilter{})); n != before {
		t.Fatalf("an entry without its key made %d events", n-before)
	}
	kb, err := r.inst.Keys.Get(ctx, r.org, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	err = r.inst.Store.Tx(ctx, func(tx *sql.Tx) error {
		return r.inst.Audit.RecordTx(ctx, tx, audit.Entry{Actor: audit.ActorCLI, OrgID: r.org, Action: audit.KeyDisable, Target: a.ID}, kb)
	})
	if !errors.Is(err, webhooks.ErrNoKey) {
		t.Fatalf("another key as the subject: %v", err)
	}
	if n := len(r.deliveries(t, webhooks.DeliveryFilter{})); n != before {
		t.Fatalf("a refused subject made %d events", n-before)
	}
}
