package actors

import (
	"math/rand/v2"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/topology/topologytest"
)

// TestSkewedClocks moves partitions between nodes whose emission clocks
// disagree: a runs ten minutes ahead and crashes with rows in flight, b
// runs on time and takes over, c steps back by an hour while it runs,
// then b leaves gracefully and a comes back on its state. Versions rest
// on the reservation each owner commits with its offsets, not on the
// clocks: the sink ends equal to the join, with no fact version going
// back under any key.
func TestSkewedClocks(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("DRIVETRAIN_TEST_SEED"); v != "" {
		seed, _ = strconv.ParseUint(v, 10, 64)
	}
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 7))
	hist := topologytest.Generate(rng, topologytest.Config{Transactions: 400, Snapshot: 6, Partitions: 4, GlobalPartitions: 2})
	h := newHarness(t, nil, 4, 2)
	wall := func() uint64 { return uint64(time.Now().UnixNano()) }
	var stepped atomic.Bool
	h.clocks = func(id string) func() uint64 {
		switch id {
		case "a":
			return func() uint64 { return wall() + uint64(10*time.Minute) }
		case "c":
			return func() uint64 {
				if stepped.Load() {
					return wall() - uint64(time.Hour)
				}
				return wall()
			}
		}
		return wall
	}
	drops := newDropLeaves(h.cluster)
	chunks := split(rng, hist.Interleave(rng, nil), 6)

	h.produce(chunks[0])
	a := h.start("a", nil)
	waitFor(t, 20*time.Second, "a owning every partition", func() bool { return len(a.owns()) == 4 })
	h.produce(chunks[1])
	waitFor(t, 20*time.Second, "a's rows in the sink", func() bool { return a.Stats().RowsWritten > 0 })

	// a crashes with rows in flight; b, on time, takes over.
	h.sink.Stall()
	h.produce(chunks[2])
	waitFor(t, 20*time.Second, "rows in flight on a", func() bool { return a.Stats().InflightRows > 0 })
	drops.add(a.memberID())
	a.crash(t)
	h.sink.Unstall()
	b := h.start("b", nil)
	waitFor(t, 20*time.Second, "b owning every partition", func() bool { return len(b.owns()) == 4 })

	// c joins, and its clock steps back by an hour.
	c := h.start("c", nil)
	waitFor(t, 20*time.Second, "b and c sharing the partitions", func() bool { return len(b.owns()) == 2 && len(c.owns()) == 2 })
	stepped.Store(true)
	h.produce(chunks[3])

	// b leaves; a comes back on its state, ten minutes ahead again.
	require.NoError(t, b.shutdown(t))
	waitFor(t, 20*time.Second, "c owning every partition", func() bool { return len(c.owns()) == 4 })
	h.produce(chunks[4])
	a2 := h.start("a", a.fs)
	waitFor(t, 20*time.Second, "a back in the group", func() bool { return len(a2.owns()) > 0 })
	h.produce(chunks[5])

	h.waitIdle(hist.Final, 60*time.Second)
	assert.Empty(t, h.sink.Regressions())
	for _, n := range []*node{a2, c} {
		assert.NoError(t, n.shutdown(t))
	}
}
