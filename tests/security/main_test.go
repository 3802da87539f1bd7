package security_test

import (
	"os"
	"testing"

	"github.com/keygate/keygate/tests/harness"
)

func TestMain(m *testing.M) {
	code := m.Run()
	harness.Cleanup()
	os.Exit(code)
}
