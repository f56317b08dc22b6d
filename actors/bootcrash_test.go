package actors

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/state"
	"github.com/drivetrain-cdc/drivetrain/topology"
	"github.com/drivetrain-cdc/drivetrain/topology/topologytest"
)

// TestCrashDuringBootstrap: the global tables' bootstrap stages its
// writes (state.GlobalBatch.Stage) instead of committing each poll. A
// crash in the middle of it loses them, offsets included; the node
// started again on the state that survived reads the records again and
// ends equal to the join.
func TestCrashDuringBootstrap(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	hist := topologytest.Generate(rng, topologytest.Config{Transactions: 300, Snapshot: 200, Partitions: 2, GlobalPartitions: 1})
	h := newHarness(t, nil, 2, 1)
	// The stalled sink holds the bootstrap after a few polls.
	h.tweak = func(c *Config) { c.MaxInflightRows, c.MaxPollRecords = 40, 20 }
	h.produce(hist.Interleave(rng, nil))
	h.sink.Stall()
	mem := vfs.NewCrashableMem()
	a := h.start("a", mem)
	waitFor(t, 20*time.Second, "the bootstrap held by the sink", func() bool { return h.sink.Stalled() > 0 })
	a.crash(t)

	// Nothing of the global tables reached the disk.
	crashed := mem.CrashClone(vfs.CrashCloneCfg{})
	store, err := state.Open("/state", state.Options{FS: crashed})
	require.NoError(t, err)
	offs, err := store.GlobalOffsets()
	require.NoError(t, err)
	assert.Empty(t, offs)
	for id := range hist.Final.Customers {
		ok, err := store.HasDimension(topology.TableCustomers, id)
		require.NoError(t, err)
		require.False(t, ok, "customer %d survived the crash", id)
	}
	require.NoError(t, store.Close())

	h.sink.Unstall()
	b := h.start("b", crashed)
	h.waitIdle(hist.Final, 30*time.Second)
	assert.Empty(t, h.sink.Regressions())
	assert.NoError(t, b.shutdown(t))
}
