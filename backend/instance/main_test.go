package instance_test

import (
	"os"
	"testing"

	"github.com/keygate/keygate/backend/testutil/pgtest"
)

// TestMain stops the PostgreSQL server that KEYGATE_TEST_STORE=postgres runs start.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
