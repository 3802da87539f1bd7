package store_test

import (
	"context"
	"errors"
	"fmt"
	"syscall"
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

func TestIsUnavailableNotOwnDeadline(t *testing.T) {
	for _, err := range []error{context.DeadlineExceeded, context.Canceled,
		fmt.Errorf("verify key: %w", context.DeadlineExceeded), fmt.Errorf("login: %w", context.Canceled)} {
		if store.IsUnavailable(err) {
			t.Errorf("IsUnavailable(%v) = true; a request's own deadline or cancel is not an outage", err)
		}
	}
	if !store.IsUnavailable(fmt.Errorf("verify key: %w", syscall.ECONNREFUSED)) {
		t.Error("a refused connection is not recognized")
	}
}
