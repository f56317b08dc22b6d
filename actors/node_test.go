package actors

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/drivetrain-cdc/drivetrain/topology/topologytest"
)

func TestNodeProcessesHistory(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	hist := topologytest.Generate(rng, topologytest.Config{Transactions: 150, Snapshot: 4, Partitions: 3, GlobalPartitions: 2})
	h := newHarness(t, nil, 3, 2)
	h.produce(hist.Interleave(rng, nil))
	n := h.start("a", nil)
	h.waitIdle(hist.Final, 20*time.Second)
	assert.Empty(t, h.sink.Regressions())
	assert.NoError(t, n.shutdown(t))
}
