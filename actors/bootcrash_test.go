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

// TestCrashBeforeMirrorsSent: a node bootstrapping the global tables
// from nothing sends their mirror rows from the state once bootstrapped,
// and its stored offsets run ahead of them meanwhile. A crash before the
// sinks have them all leaves the tables marked; the node started again
// on that state sends them again and ends equal to the join.
func TestCrashBeforeMirrorsSent(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	hist := topologytest.Generate(rng, topologytest.Config{Transactions: 300, Snapshot: 200, Partitions: 2, GlobalPartitions: 1})
	h := newHarness(t, nil, 2, 1)
	h.tweak = func(c *Config) { c.MaxInflightRows, c.MaxPollRecords = 40, 20 }
	h.produce(hist.Interleave(rng, nil))
	h.sink.Stall()
	mem := vfs.NewCrashableMem()
	a := h.start("a", mem)
	waitFor(t, 20*time.Second, "mirror rows held by the sink", func() bool {
		return h.sink.Stalled() > 0 && a.Stats().Snapshots > 0 && a.Ready()
	})
	a.crash(t)

	// The bootstrap reached the disk, and the marks of what was not sent.
	crashed := mem.CrashClone(vfs.CrashCloneCfg{})
	store, err := state.Open("/state", state.Options{FS: crashed})
	require.NoError(t, err)
	offs, err := store.GlobalOffsets()
	require.NoError(t, err)
	assert.NotEmpty(t, offs)
	pending := 0
	for _, tab := range []topology.Table{topology.TableCustomers, topology.TableVehicles} {
		marked, err := store.SnapshotPending(tab)
		require.NoError(t, err)
		if marked {
			pending++
		}
	}
	assert.Positive(t, pending, "a table still to send its mirror rows")
	require.NoError(t, store.Close())

	h.sink.Unstall()
	b := h.start("b", crashed)
	h.waitIdle(hist.Final, 30*time.Second)
	assert.Empty(t, h.sink.Regressions())
	assert.Zero(t, b.Stats().Snapshots)
	assert.NoError(t, b.shutdown(t))
}

// TestBootstrapSendsLastVersions: a node bootstrapping the global tables
// from nothing writes one mirror row per customer and vehicle, not one
// per record, and then marks nothing.
func TestBootstrapSendsLastVersions(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	hist := topologytest.Generate(rng, topologytest.Config{Transactions: 400, Snapshot: 100, Partitions: 2, GlobalPartitions: 2})
	h := newHarness(t, nil, 2, 2)
	// Small polls and batches: coalescing within a batch does not hide
	// a row written more than once.
	h.tweak = func(c *Config) { c.MaxPollRecords, c.SinkBatch.MaxRows = 10, 5 }
	recs := hist.Interleave(rng, nil)
	records := map[topology.Table]int{}
	for _, r := range recs {
		records[r.Change.Table]++
	}
	h.produce(recs)
	mem := vfs.NewMem()
	a := h.start("a", mem)
	h.waitIdle(hist.Final, 30*time.Second)
	waitFor(t, 20*time.Second, "the mirror rows sent", func() bool { return a.Stats().Snapshots == 0 })
	versions := h.sink.MirrorVersions()
	for _, tab := range []topology.Table{topology.TableCustomers, topology.TableVehicles} {
		require.Greater(t, records[tab], len(versions[tab]), "%s: the history changes rows more than once", tab)
		assert.Equal(t, len(versions[tab]), h.sink.MirrorRows(tab), "%s: one mirror row per row", tab)
	}
	require.NoError(t, a.shutdown(t))

	// Started again on its state, the node reads on from where it was.
	b := h.start("b", mem)
	h.waitIdle(hist.Final, 30*time.Second)
	assert.Zero(t, b.Stats().Snapshots)
	require.NoError(t, b.shutdown(t))
}
