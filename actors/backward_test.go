package actors

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/topology"
	"github.com/drivetrain-cdc/drivetrain/topology/topologytest"
)

// TestBootstrapNewestFirst starts a node on topics that already hold a
// whole history, with rounds of a few records, so that the global tables
// are read newest first over many rounds per partition: the sink must
// equal the join, and the records the bootstrap did not apply must be
// exactly those that a later complete image of their row replaced. Read
// oldest first (BootstrapChunkBytes negative), the same history gives the
// same sink and skips nothing.
func TestBootstrapNewestFirst(t *testing.T) {
	for _, tc := range []struct {
		name  string
		chunk int64
	}{{"newest first", 4 << 10}, {"oldest first", -1}} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(21, 22))
			hist := topologytest.Generate(rng, topologytest.Config{Transactions: 300, Snapshot: 10, Partitions: 2, GlobalPartitions: 2})
			h := newHarness(t, nil, 2, 2)
			h.tweak = func(c *Config) { c.BootstrapChunkBytes = tc.chunk }
			h.produce(hist.Interleave(rng, nil))
			n := h.start("a", nil)
			h.waitIdle(hist.Final, 20*time.Second)
			want := int64(0)
			if tc.chunk > 0 {
				want = superseded(hist)
				assert.Positive(t, want, "the history has rows with several versions")
			}
			assert.Equal(t, want, n.Stats().BootstrapSkipped)
			assert.NoError(t, n.shutdown(t))
		})
	}
}

// TestCrashDuringNewestFirstBootstrap: a bootstrap read newest first
// stores no offsets before it ends, but its rows reach the disk whenever
// the stage flushes (here at every round). A crash in the middle leaves
// rows without offsets; the node started again on that state reads the
// topics newest first again and ends equal to the join.
func TestCrashDuringNewestFirstBootstrap(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	hist := topologytest.Generate(rng, topologytest.Config{Transactions: 400, Snapshot: 100, Partitions: 2, GlobalPartitions: 1})
	h := newHarness(t, nil, 2, 1)
	h.tweak = func(c *Config) { c.BootstrapChunkBytes = 512 }
	h.tweakDeps = func(d *Deps) { d.State.StageBytes = 1 }
	h.produce(hist.Interleave(rng, nil))
	mem := vfs.NewCrashableMem()
	a := h.start("a", mem)
	waitFor(t, 20*time.Second, "the bootstrap under way", func() bool {
		return a.Stats().BootstrapSkipped > 0
	})
	require.False(t, a.Ready(), "bootstrapped before the test could crash it")
	a.crash(t)

	crashed := mem.CrashClone(vfs.CrashCloneCfg{})
	offs, rows := globalState(t, crashed, hist)
	assert.Empty(t, offs, "offsets stored before the bootstrap ended")
	stored := 0
	for _, lsn := range rows {
		if lsn != 0 {
			stored++
		}
	}
	assert.Positive(t, stored, "rows on disk from the first rounds")

	b := h.start("b", crashed)
	h.waitIdle(hist.Final, 30*time.Second)
	assert.Empty(t, h.sink.Regressions())
	assert.NoError(t, b.shutdown(t))
}

// superseded counts the changes of the global tables in hist that come
// before the last complete image of their row (see complete).
func superseded(hist *topologytest.History) int64 {
	var n int64
	for _, tab := range []topology.Table{topology.TableCustomers, topology.TableVehicles} {
		for q, recs := range hist.Queues {
			if q.Topic != topologytest.Topic(tab) {
				continue
			}
			last := map[int64]int{} // row → index of its last complete change
			for i := range recs {
				if ch := &recs[i].Change; complete(ch) {
					last[ch.ID()] = i
				}
			}
			for i := range recs {
				if j, ok := last[recs[i].Change.ID()]; ok && i < j {
					n++
				}
			}
		}
	}
	return n
}
