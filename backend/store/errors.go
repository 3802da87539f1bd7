package store

import (
	"errors"

	"github.com/mattn/go-sqlite3"
)

// IsFull reports whether err is SQLite saying the disk (or the file size limit) is full: the
// write failed and changed nothing, and it will work again once there is space.
func IsFull(err error) bool {
	var se sqlite3.Error
	if errors.As(err, &se) {
		return se.Code == sqlite3.ErrFull
	}
	return false
}
