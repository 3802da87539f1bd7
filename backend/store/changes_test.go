package store_test

import (
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/store"
)

func TestPublishReachesSubscribersBeforeReturning(t *testing.T) {
	st, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var got []store.Change
	var mu sync.Mutex
	stop := st.Changes().Subscribe(func(c store.Change) {
		mu.Lock()
		defer mu.Unlock()
		if !c.Resync {
			got = append(got, c)
		}
	})
	mu.Lock()
	defer mu.Unlock()
	// A change published before the subscription reached nobody, so the subscriber starts
	// with an unknown change: whatever it read before may be stale.
	if len(got) != 1 || got[0] != (store.Change{}) || !got[0].Touches("routes") {
		t.Fatalf("on Subscribe: %+v, want one unknown change", got)
	}
	mu.Unlock()
	st.Changes().Publish("keys")
	mu.Lock()
	if len(got) != 2 || got[1].Table != "keys" || !got[1].Touches("keys") || got[1].Touches("routes") {
		t.Fatalf("after Publish: %+v", got)
	}
	mu.Unlock()
	stop()
	st.Changes().Publish("keys")
	mu.Lock()
	if len(got) != 2 {
		t.Fatal("an unsubscribed function was called")
	}
	if st.Changes().Listening() {
		t.Error("the watcher runs without subscribers")
	}
}

// TestFeedCarriesOtherProcessesChanges: a change committed through another Store (another
// process, another node) reaches this Store's subscribers — through the polled revision on
// SQLite, through NOTIFY (naming the table) on PostgreSQL.
func TestFeedCarriesOtherProcessesChanges(t *testing.T) {
	dialects(t, func(t *testing.T, open func() (*store.Store, error)) {
		st, err := open()
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		other, err := st.OpenAgain(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		changes := make(chan store.Change, 100)
		defer st.Changes().Subscribe(func(c store.Change) { changes <- c })()
		deadline := time.After(5 * time.Second)
		for !st.Changes().Listening() {
			select {
			case <-deadline:
				t.Fatal("the feed never started listening")
			case <-time.After(5 * time.Millisecond):
			}
		}
		// The subscription's own unknown change and the watcher's Resync, in either order.
		first, second := <-changes, <-changes
		if first.Resync {
			first, second = second, first
		}
		if first != (store.Change{}) || !second.Resync {
			t.Fatalf("first changes %+v, %+v; want the subscription's unknown change and Resync", first, second)
		}
		start := time.Now()
		if _, err := other.Write.ExecContext(ctx, `INSERT INTO settings (name, value) VALUES (?, ?)`, "x", "1"); err != nil {
			t.Fatal(err)
		}
		if _, err := other.Write.ExecContext(ctx, `INSERT INTO audit_log (at, actor, action) VALUES (?, ?, ?)`, 1, "cli", "x"); err != nil {
			t.Fatal(err)
		}
		select {
		case c := <-changes:
			if !c.Touches("settings") || c.Lost {
				t.Fatalf("change %+v", c)
			}
			if st.Dialect == store.Postgres && c.Table != "settings" {
				t.Fatalf("PostgreSQL change names %q, want settings", c.Table)
			}
			t.Logf("%s: seen after %v", st.Dialect, time.Since(start))
		case <-time.After(10 * time.Second):
			t.Fatal("another process's change did not arrive within 10 s")
		}
		select {
		case c := <-changes:
			t.Fatalf("an audit entry (no cache holds it) was announced: %+v", c)
		case <-time.After(3 * store.PollEvery):
		}
	})
}

// TestPollSkipsThisProcessesTransactions: on SQLite the poll does not announce again, as a
// change it cannot name, the revisions this process's own transactions made (their
// subscribers had those from Publish); a change of another process still comes, also when it
// lands between or right after this process's own, and so does this process's write made
// outside Store.Tx (which notes nothing).
func TestPollSkipsThisProcessesTransactions(t *testing.T) {
	defer func(was time.Duration) { store.PollEvery = was }(store.PollEvery)
	store.PollEvery = 10 * time.Millisecond
	st, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	other, err := st.OpenAgain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	unknown := make(chan struct{}, 1000)
	defer st.Changes().Subscribe(func(c store.Change) {
		if c == (store.Change{}) {
			unknown <- struct{}{}
		}
	})()
	for !st.Changes().Listening() {
		time.Sleep(time.Millisecond)
	}
	drain := func(d time.Duration) int { // unknown changes seen within d
		n := 0
		for end := time.After(d); ; {
			select {
			case <-unknown:
				n++
			case <-end:
				return n
			}
		}
	}
	drain(5 * store.PollEvery) // the subscription's own unknown change
	n := 0
	ownWrite := func(s *store.Store) {
		t.Helper()
		n++
		err := s.Tx(ctx, func(tx *sql.Tx) error {
			// Two revisions in one transaction.
			_, err := tx.ExecContext(ctx, `INSERT INTO settings (name, value) VALUES (?, '1'), (?, '2')`,
				fmt.Sprintf("own-%d-a", n), fmt.Sprintf("own-%d-b", n))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for range 30 {
		ownWrite(st)
		time.Sleep(store.PollEvery / 3)
	}
	if got := drain(10 * store.PollEvery); got != 0 {
		t.Fatalf("this process's own transactions came back as %d unknown changes, want none", got)
	}

	for i := range 20 {
		ownWrite(st)
		ownWrite(other) // another process: in between, or last
		if i%2 == 0 {
			ownWrite(st)
		}
		if got := drain(10 * store.PollEvery); got == 0 {
			t.Fatalf("round %d: another process's change, between this one's, never came", i)
		}
	}
	if _, err := st.Write.ExecContext(ctx, `INSERT INTO settings (name, value) VALUES ('outside', '1')`); err != nil {
		t.Fatal(err)
	}
	if got := drain(10 * store.PollEvery); got == 0 {
		t.Fatal("a write outside Store.Tx, which notes nothing, never came")
	}
	// A transaction that rolls back notes nothing, and the revisions it would have made are
	// another process's to make: that change must come.
	err = st.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings (name, value) VALUES ('rolled', '1')`); err != nil {
			return err
		}
		return errors.New("roll back")
	})
	if err == nil {
		t.Fatal("the transaction did not fail")
	}
	ownWrite(other)
	if got := drain(10 * store.PollEvery); got == 0 {
		t.Fatal("another process's change after this process's rollback never came")
	}
}
