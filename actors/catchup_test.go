package actors

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/topology"
	"github.com/drivetrain-cdc/drivetrain/topology/topologytest"
)

// TestLateRowsWaitForCatchUpDelay: the rows of records that were already
// older than the sinks' catch-up delay when read wait in their batches
// (a node catching up writes fewer, larger batches), and the rows of
// fresh records are written within MaxDelay, taking the waiting rows
// with them.
func TestLateRowsWaitForCatchUpDelay(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	hist := topologytest.Generate(rng, topologytest.Config{Transactions: 200, Snapshot: 4, Partitions: 2, GlobalPartitions: 1})
	// The last two records of each topic partition come fresh, the
	// others two hours old (any interleaving that keeps each partition's
	// order is one Kafka could deliver).
	var old, fresh []topologytest.Record
	left := map[topologytest.Queue]int{}
	recs := hist.Interleave(rng, nil)
	for _, r := range recs {
		left[r.Queue()]++
	}
	tables := map[topology.Table]bool{}
	for _, r := range recs {
		if left[r.Queue()]--; left[r.Queue()] < 2 {
			fresh = append(fresh, r)
			tables[r.Change.Table] = true
		} else {
			old = append(old, r)
		}
	}
	require.Len(t, tables, len(topology.Tables), "fresh records change every table")

	h := newHarness(t, nil, 2, 1)
	h.tweak = func(c *Config) { c.SinkBatch.CatchUpDelay = time.Hour }
	h.prod.Timestamp = time.Now().Add(-2 * time.Hour)
	h.produce(old)
	n := h.start("a", nil)
	waitFor(t, 20*time.Second, "rows handed to the sinks", func() bool { return n.Stats().RowsEmitted > 0 })
	// For 50 times MaxDelay (10ms), nothing is written: every row is late.
	for end := time.Now().Add(500 * time.Millisecond); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		require.Zero(t, n.Stats().RowsWritten, "late rows written before the catch-up delay")
	}
	require.NotZero(t, n.Stats().BufferedRows)

	h.prod.Timestamp = time.Time{}
	h.produce(fresh)
	h.waitIdle(hist.Final, 20*time.Second)
	require.NoError(t, n.shutdown(t))
}
