package actors

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/topology/topologytest"
)

// TestStalled: a partition whose rows the sink does not acknowledge is
// reported stalled once it has had work without progress for longer than
// the threshold, and no longer once the sink takes its rows again; an
// idle partition is never stalled.
func TestStalled(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	hist := topologytest.Generate(rng, topologytest.Config{Transactions: 60, Partitions: 2, GlobalPartitions: 1})
	h := newHarness(t, nil, 2, 1)
	n := h.start("a", nil)
	recs := hist.Interleave(rng, nil)
	h.produce(recs[:len(recs)/2])
	waitFor(t, 20*time.Second, "the first half committed", func() bool {
		behind, err := h.lag(ctx(t))
		return err == nil && len(behind) == 0 && n.Stats().InflightRows == 0
	})
	const threshold = 200 * time.Millisecond
	assert.Empty(t, n.Stalled(threshold), "idle")

	h.sink.Stall()
	h.produce(recs[len(recs)/2:])
	waitFor(t, 20*time.Second, "a partition reported stalled", func() bool { return len(n.Stalled(threshold)) > 0 })
	h.sink.Unstall()
	h.waitIdle(hist.Final, 20*time.Second)
	waitFor(t, 20*time.Second, "no partition stalled", func() bool { return len(n.Stalled(threshold)) == 0 })
	require.NoError(t, n.shutdown(t))
}
