package nodes_test

import (
	"os"
	"testing"

	"github.com/keygate/keygate/backend/testutil/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
