package learn_test

import (
	"os"
	"testing"

	"github.com/keygate/keygate/backend/testutil/pgtest"
)

// TestMain starts PostgreSQL for the run when KEYGATE_TEST_STORE=postgres asks the tests to use it.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
