package store_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/mattn/go-sqlite3"

	"github.com/keygate/keygate/backend/store"
)

func TestIsFull(t *testing.T) {
	full := fmt.Errorf("create key: %w", sqlite3.Error{Code: sqlite3.ErrFull})
	if !store.IsFull(full) {
		t.Error("a wrapped SQLITE_FULL is not recognized")
	}
	for _, err := range []error{nil, errors.New("database or disk is full"), sqlite3.Error{Code: sqlite3.ErrBusy}} {
		if store.IsFull(err) {
			t.Errorf("IsFull(%v) = true", err)
		}
	}
}
