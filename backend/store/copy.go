package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrTargetNotEmpty is returned by Copy when the target database holds data.
var ErrTargetNotEmpty = errors.New("the target database is not empty")

// CopyResult says what Copy copied: rows per table, checked on both sides.
type CopyResult struct {
	Tables map[string]int64
	Rows   int64
}

// internalTables are kept by each database itself, not copied.
var internalTables = map[string]bool{"schema_version": true, "revision": true, "sqlite_sequence": true}

// Copy copies every row of src (a SQLite store) into the empty PostgreSQL database at dstURL,
// migrated to the same schema version, in one transaction: a failure leaves the target as empty
// as it was. Ids, hashes, sessions and the audit log are kept as they are, so every key, session
// and link keeps working. It refuses a target that holds any row, and checks the row count of
// every table on both sides before committing.
//
// progress, if given, is told how many rows are copied out of how many.
func Copy(ctx context.Context, src *Store, dstURL string, progress ...Progress) (CopyResult, error) {
	res := CopyResult{Tables: map[string]int64{}}
	if src.Dialect != SQLite {
		return res, errors.New("store copy reads the SQLite store (run it without --database, on the data directory to copy)")
	}
	if !IsPostgresURL(dstURL) {
		return res, fmt.Errorf("--to %s: the target must be a postgres:// or postgresql:// URL", RedactURL(dstURL))
	}
	dst, err := OpenPostgres(ctx, dstURL) // creates the schema in an empty database
	if err != nil {
		return res, err
	}
	defer dst.Close()
	sv, err := src.SchemaVersion(ctx)
	if err != nil {
		return res, err
	}
	dv, err := dst.SchemaVersion(ctx)
	if err != nil {
		return res, err
	}
	if sv != dv {
		return res, fmt.Errorf("schema versions differ: %s has %d, %s has %d", src.Name, sv, dst.Name, dv)
	}
	tables, err := copyOrder(ctx, src)
	if err != nil {
		return res, err
	}
	report := func(done, total int64) {}
	if len(progress) > 0 && progress[0] != nil {
		report = progress[0]
	}
	var total int64
	for _, t := range tables {
		var n int64
		if err := src.Read.QueryRowContext(ctx, `SELECT count(*) FROM `+quoteIdent(t)).Scan(&n); err != nil {
			return res, fmt.Errorf("count %s: %w", t, err)
		}
		total += n
	}
	report(0, total)
	err = dst.Tx(ctx, func(tx *sql.Tx) error {
		for _, t := range tables {
			var n int64
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM `+quoteIdent(t)).Scan(&n); err != nil {
				return fmt.Errorf("target table %s: %w", t, err)
			}
			if n > 0 {
				return fmt.Errorf("%w: %s has %d rows in %s (copy into a new, empty database)", ErrTargetNotEmpty, dst.Name, n, t)
			}
		}
		for _, t := range tables {
			base := res.Rows
			n, err := copyTable(ctx, src, tx, t, func(n int64) { report(min(base+n, total), total) })
			if err != nil {
				return fmt.Errorf("copy %s: %w", t, err)
			}
			var want, got int64
			if err := src.Read.QueryRowContext(ctx, `SELECT count(*) FROM `+quoteIdent(t)).Scan(&want); err != nil {
				return err
			}
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM `+quoteIdent(t)).Scan(&got); err != nil {
				return err
			}
			if got != want || n != want {
				return fmt.Errorf("copy %s: %d rows in the source, %d copied, %d in the target", t, want, n, got)
			}
			res.Tables[t] = got
			res.Rows += got
			report(min(res.Rows, total), total)
		}
		return resetIdentities(ctx, tx)
	})
	if err != nil {
		return CopyResult{}, err
	}
	return res, nil
}

// copyOrder lists the source's tables so that every table comes after those it references.
func copyOrder(ctx context.Context, src *Store) ([]string, error) {
	rows, err := src.Read.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
	all, err := collect(rows, err, scanOne[string])
	if err != nil {
		return nil, fmt.Errorf("list the tables: %w", err)
	}
	var names []string
	for _, n := range all {
		if !internalTables[n] {
			names = append(names, n)
		}
	}
	deps := map[string][]string{}
	for _, n := range names {
		rows, err := src.Read.QueryContext(ctx, `SELECT "table" FROM pragma_foreign_key_list(?)`, n)
		refs, err := collect(rows, err, scanOne[string])
		if err != nil {
			return nil, fmt.Errorf("read the foreign keys of %s: %w", n, err)
		}
		for _, ref := range refs {
			if ref != n {
				deps[n] = append(deps[n], ref)
			}
		}
	}
	var order []string
	done := map[string]bool{}
	var visit func(string, int) error
	visit = func(n string, depth int) error {
		if done[n] {
			return nil
		}
		if depth > len(names) {
			return fmt.Errorf("tables reference each other in a cycle at %s", n)
		}
		for _, d := range deps[n] {
			if err := visit(d, depth+1); err != nil {
				return err
			}
		}
		done[n] = true
		order = append(order, n)
		return nil
	}
	sort.Strings(names)
	for _, n := range names {
		if err := visit(n, 0); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// copyTable inserts every row of table t of src through tx, converting SQLite's 0/1 flags to
// PostgreSQL booleans; a table whose PostgreSQL side has rowid (orgs) gets SQLite's rowid, which
// keeps insertion order.
func copyTable(ctx context.Context, src *Store, tx *sql.Tx, t string, copied func(int64)) (int64, error) {
	type column struct{ name, kind string }
	crows, err := tx.QueryContext(ctx, `SELECT column_name, data_type FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = ?`, t)
	columns, err := collect(crows, err, func(r *sql.Rows) (c column, err error) {
		return c, r.Scan(&c.name, &c.kind)
	})
	if err != nil {
		return 0, fmt.Errorf("read the PostgreSQL columns of %s: %w", t, err)
	}
	types := map[string]string{}
	for _, c := range columns {
		types[c.name] = c.kind
	}
	if len(types) == 0 {
		return 0, fmt.Errorf("the PostgreSQL schema has no table %s", t)
	}
	probe, err := src.Read.QueryContext(ctx, `SELECT * FROM `+quoteIdent(t)+` LIMIT 0`)
	if err != nil {
		return 0, err
	}
	cols, err := probe.Columns()
	probe.Close()
	if err != nil {
		return 0, err
	}
	if _, ok := types["rowid"]; ok {
		cols = append(cols, "rowid")
	}
	for _, c := range cols {
		if _, ok := types[c]; !ok {
			return 0, fmt.Errorf("column %s.%s is missing from the PostgreSQL schema", t, c)
		}
	}
	quoted := make([]string, len(cols))
	marks := make([]string, len(cols))
	for i, c := range cols {
		quoted[i], marks[i] = quoteIdent(c), "?"
	}
	list := strings.Join(quoted, ", ")
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO `+quoteIdent(t)+` (`+list+`) VALUES (`+strings.Join(marks, ", ")+`)`)
	if err != nil {
		return 0, err
	}
	defer stmt.Close()
	rows, err := src.Read.QueryContext(ctx, `SELECT `+list+` FROM `+quoteIdent(t))
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var n int64
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, err
		}
		args := make([]any, len(cols))
		for i, v := range vals {
			args[i] = convert(v, types[cols[i]])
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return n, err
		}
		n++
		if n%256 == 0 {
			copied(n)
		}
	}
	return n, rows.Err()
}

func convert(v any, pgType string) any {
	switch pgType {
	case "boolean":
		if i, ok := v.(int64); ok {
			return i != 0
		}
	case "text":
		if b, ok := v.([]byte); ok {
			return string(b)
		}
	}
	return v
}

// resetIdentities moves every identity sequence past the copied ids.
func resetIdentities(ctx context.Context, tx *sql.Tx) error {
	type col struct{ t, c string }
	rows, err := tx.QueryContext(ctx, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND is_identity = 'YES'`)
	cols, err := collect(rows, err, func(r *sql.Rows) (c col, err error) {
		return c, r.Scan(&c.t, &c.c)
	})
	if err != nil {
		return fmt.Errorf("list the identity columns: %w", err)
	}
	for _, c := range cols {
		q := fmt.Sprintf(`SELECT setval(pg_get_serial_sequence('%s', '%s'), coalesce(max(%s), 0) + 1, false) FROM %s`,
			c.t, c.c, quoteIdent(c.c), quoteIdent(c.t))
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("reset the ids of %s: %w", c.t, err)
		}
	}
	return nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// collect reads every row of a query with scan, and fails on the query's, any row's or the
// iteration's error: a row that does not scan is never skipped silently.
func collect[T any](rows *sql.Rows, err error, scan func(*sql.Rows) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// scanOne scans a row of one column.
func scanOne[T any](r *sql.Rows) (v T, err error) { return v, r.Scan(&v) }
