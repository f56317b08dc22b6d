package actors

import (
	"fmt"
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

// TestCrashBeforeMirrorsSent: the mirror writer (the owner of partition
// 0) of a group that never committed sends every customer and vehicle
// row from the state once the global tables are bootstrapped. A crash
// before the sinks have them all leaves nothing committed that says they
// were sent; the node started again on that state sends them again and
// ends equal to the join.
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

	// The bootstrap reached the disk.
	crashed := mem.CrashClone(vfs.CrashCloneCfg{})
	inState(t, crashed, func(store *state.Store) {
		offs, err := store.GlobalOffsets()
		require.NoError(t, err)
		assert.NotEmpty(t, offs)
	})

	h.sink.Unstall()
	b := h.start("b", crashed)
	h.waitIdle(hist.Final, 30*time.Second)
	waitFor(t, 20*time.Second, "the mirror rows sent", func() bool { return b.Stats().Snapshots == 0 })
	assert.Empty(t, h.sink.Regressions())
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

// TestCrashDuringMirrorCatchUp: a node started on existing state
// bootstraps the global records added since, then its partition 0 (the
// mirror writer) reads them again from the progress its commit metadata
// holds and writes the mirror rows of the rows they changed with the
// facts they refresh. A crash while the sinks hold them commits nothing
// past them; the node started again on the state that survived writes
// them again and ends equal to the join.
func TestCrashDuringMirrorCatchUp(t *testing.T) {
	rng := rand.New(rand.NewPCG(35, 36))
	hist := topologytest.Generate(rng, topologytest.Config{Transactions: 300, Snapshot: 200, Partitions: 2, GlobalPartitions: 1})
	h := newHarness(t, nil, 2, 1)
	h.tweak = func(c *Config) { c.MaxInflightRows, c.MaxPollRecords = 40, 20 }
	recs := hist.Interleave(rng, nil)
	first := len(recs) / 3
	h.produce(recs[:first])
	mem := vfs.NewCrashableMem()
	a := h.start("a", mem)
	waitFor(t, 20*time.Second, "the first records processed", func() bool {
		behind, err := h.lag(ctx(t))
		st := a.Stats()
		return err == nil && len(behind) == 0 && a.Ready() && st.Snapshots == 0 && st.InflightRows == 0
	})
	require.NoError(t, a.shutdown(t))

	h.produce(recs[first:])
	h.sink.Stall()
	b := h.start("b", mem)
	waitFor(t, 20*time.Second, "rows held by the sink", func() bool { return h.sink.Stalled() > 0 && b.Ready() })
	b.crash(t)

	h.sink.Unstall()
	c := h.start("c", mem.CrashClone(vfs.CrashCloneCfg{}))
	h.waitIdle(hist.Final, 30*time.Second)
	assert.Empty(t, h.sink.Regressions())
	assert.NoError(t, c.shutdown(t))
}

// inState calls fn with the state store in fs, opened and closed around
// it.
func inState(t *testing.T, fs vfs.FS, fn func(*state.Store)) {
	t.Helper()
	store, err := state.Open("/state", state.Options{FS: fs})
	require.NoError(t, err)
	fn(store)
	require.NoError(t, store.Close())
}

// globalState returns the global offsets stored in the state in fs, and
// the version (LSN) stored for each customer and vehicle of the history.
func globalState(t *testing.T, fs vfs.FS, hist *topologytest.History) (offs []state.Offset, rows map[string]uint64) {
	t.Helper()
	inState(t, fs, func(store *state.Store) {
		var err error
		offs, err = store.GlobalOffsets()
		require.NoError(t, err)
		rows = map[string]uint64{}
		for id := range hist.Final.Customers {
			c, _, err := store.Customer(id)
			require.NoError(t, err)
			rows[fmt.Sprint("customer ", id)] = c.LSN
		}
		for id := range hist.Final.Vehicles {
			v, _, err := store.Vehicle(id)
			require.NoError(t, err)
			rows[fmt.Sprint("vehicle ", id)] = v.LSN
		}
	})
	return offs, rows
}
