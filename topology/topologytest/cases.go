package topologytest

import (
	"math/rand/v2"
	"testing"
	"time"
)

// RandomCases calls f with n seeded generators (seeds first, first+1, …;
// first 0 means from the clock) and fails the test at the first case whose
// f returns a message, with its seed and the command that reruns it alone
// (pkg is the package path for go test, such as ./state).
func RandomCases(t *testing.T, pkg string, first uint64, n int, f func(rng *rand.Rand) string) {
	t.Helper()
	if first == 0 {
		first = uint64(time.Now().UnixNano())
	}
	for i := range n {
		s := first + uint64(i)
		if msg := f(rand.New(rand.NewPCG(s, 0x5eed))); msg != "" {
			t.Fatalf("case with seed %d failed (rerun: go test %s -run '^%s$' -seed %d -cases 1):\n%s", s, pkg, t.Name(), s, msg)
		}
	}
}
