package gateway

import (
	"context"
	"strings"
	"testing"

	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/store"
)

// TestRemaskStored: rows written before the log mask (masked = 0) are masked in batches and
// marked, in the database itself; rows written since are left alone. On both engines.
func TestRemaskStored(t *testing.T) { onBothEngines(t, "remask", checkRemask) }

func checkRemask(t *testing.T, st *store.Store) {
	ctx := context.Background()
	k, err := keys.Generate("kg")
	if err != nil {
		t.Fatal(err)
	}
	foreign := "imported-plain-key"
	old := `INSERT INTO request_log (at, request_id, method, path, status, latency_us, headers) VALUES (?, ?, 'GET', ?, 200, 1, ?)`
	for i := range 5 {
		if _, err := st.Write.ExecContext(ctx, old, i, k.Raw, "/v1/"+foreign+"/"+k.Raw,
			`{"User-Agent":["sdk (`+k.Raw+`) `+foreign+`"],"Private-Token":["glpat-old"]}`); err != nil {
			t.Fatal(err)
		}
	}
	// A row written by persist since: marked, never rewritten (its path is kept as written).
	if err := persist(ctx, st, []Entry{{Path: "/new/" + foreign, RequestID: "r-new"}}, 1000, logMask{}); err != nil {
		t.Fatal(err)
	}
	m := logMask{&finderFunc{secrets: map[string]bool{foreign: true}}}
	if done, err := remaskStored(ctx, st, m, 2); err != nil || done {
		t.Fatalf("first batch of 2: done %v, %v", done, err)
	}
	for range 3 {
		if _, err := remaskStored(ctx, st, m, 2); err != nil {
			t.Fatal(err)
		}
	}
	if done, err := remaskStored(ctx, st, m, 2); err != nil || !done {
		t.Fatalf("after every row: done %v, %v", done, err)
	}
	rows, err := st.Read.QueryContext(ctx, `SELECT path, request_id, headers, masked FROM request_log ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var path, id, hdr string
		var masked int
		if err := rows.Scan(&path, &id, &hdr, &masked); err != nil {
			t.Fatal(err)
		}
		n++
		all := path + " " + id + " " + hdr
		if masked != 1 {
			t.Errorf("row %d not marked", n)
		}
		if path == "/new/"+foreign {
			continue // written after the mask existed (with no finder here): left alone
		}
		if strings.Contains(all, k.Raw) || strings.Contains(all, foreign) || strings.Contains(all, "glpat-old") {
			t.Errorf("row %d still holds a secret: %s", n, all)
		}
		if !strings.Contains(hdr, "sdk (") {
			t.Errorf("row %d lost its User-Agent: %s", n, hdr)
		}
	}
	if n != 6 {
		t.Fatalf("%d rows, want 6", n)
	}
}
