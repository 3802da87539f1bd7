package contract_test

import (
	"os"
	"strconv"
	"testing"

	"github.com/keygate/keygate/tests/harness"
)

func TestMain(m *testing.M) {
	code := m.Run()
	harness.Cleanup()
	os.Exit(code)
}

// defaultSeed makes every run send the same requests unless KEYGATE_CONTRACT_SEED says
// otherwise.
const defaultSeed = 17

func seed(t *testing.T) uint64 {
	if s := os.Getenv("KEYGATE_CONTRACT_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("KEYGATE_CONTRACT_SEED=%q: %v", s, err)
		}
		return n
	}
	return defaultSeed
}

// rounds is how many times every operation gets its set of requests: 2 in `make test`, more
// with KEYGATE_CONTRACT_ROUNDS (`make fuzz`).
func rounds(t *testing.T) int {
	if s := os.Getenv("KEYGATE_CONTRACT_ROUNDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("KEYGATE_CONTRACT_ROUNDS=%q: want a positive number", s)
		}
		return n
	}
	return 2
}
