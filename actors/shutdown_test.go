package actors

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/topology/topologytest"
)

// TestShutdownUnderLoad: a node stopped while records arrive and rows
// are in flight stops intake, drains, commits and closes its state after
// everything that reads it (the race detector, with which make test runs
// the unit tests, watches the state's readers); no commit runs ahead of
// what the sink acknowledged, and a node started on the same state ends
// equal to the join.
func TestShutdownUnderLoad(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 7))
	hist := topologytest.Generate(rng, topologytest.Config{Transactions: 600, Snapshot: 20, Partitions: 3, GlobalPartitions: 2})
	h := newHarness(t, nil, 3, 2)
	checker := newCommitChecker(h)
	chunks := split(rng, hist.Interleave(rng, nil), 30)
	h.produce(chunks[0])
	checker.sync()
	a := h.start("a", nil)
	waitFor(t, 20*time.Second, "a running", a.Ready)

	produced := make(chan struct{})
	go func() {
		defer close(produced)
		for _, c := range chunks[1:] {
			h.produce(c)
			checker.sync()
		}
	}()
	waitFor(t, 20*time.Second, "rows in flight", func() bool { return a.Stats().InflightRows > 0 })
	require.NoError(t, a.shutdown(t))
	<-produced

	b := h.start("b", a.fs)
	h.waitIdle(hist.Final, 60*time.Second)
	assert.Empty(t, h.sink.Regressions())
	violations, _ := checker.result()
	assert.Empty(t, violations, "commits ahead of the sink")
	require.NoError(t, b.shutdown(t))
}
