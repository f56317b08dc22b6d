package actors

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/topology/topologytest"
)

func TestNodeStateMetrics(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	hist := topologytest.Generate(rng, topologytest.Config{Transactions: 50, Snapshot: 4, Partitions: 3, GlobalPartitions: 2})
	h := newHarness(t, nil, 3, 2)
	h.produce(hist.Interleave(rng, nil))
	n := h.start("a", nil)
	h.waitIdle(hist.Final, 20*time.Second)
	m, ok := n.StateMetrics()
	require.True(t, ok, "open while running")
	assert.Positive(t, m.WALBytesInTotal)
	assert.Positive(t, m.DiskBytes)
	u, ok, err := n.StateUsage()
	require.NoError(t, err)
	require.True(t, ok)
	assert.Len(t, u.Partitions, 3, "the only node holds every partition")
	require.NoError(t, n.shutdown(t))
	_, ok = n.StateMetrics()
	assert.False(t, ok, "closed after Run")
	_, ok, err = n.StateUsage()
	assert.NoError(t, err)
	assert.False(t, ok)
}
