package store

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/mattn/go-sqlite3"
)

// IsFull reports whether err is the database saying its disk (or SQLite's file size limit) is
// full: the write failed and changed nothing, and it will work again once there is space.
func IsFull(err error) bool {
	var se sqlite3.Error
	if errors.As(err, &se) {
		return se.Code == sqlite3.ErrFull
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "53100" // disk_full
	}
	return false
}
