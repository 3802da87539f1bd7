package crashtest_test

import (
	"os"
	"testing"

	"github.com/keygate/keygate/backend/servertest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	servertest.Cleanup()
	os.Exit(code)
}
