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
	hist, old, fresh := lateHistory(t, 41)
	h := newHarness(t, nil, 2, 1)
	h.tweak = func(c *Config) { c.SinkBatch.CatchUpDelay = time.Hour }
	h.prod.Timestamp = time.Now().Add(-2 * time.Hour)
	h.produce(old)
	n := h.start("a", nil)
	waitFor(t, 20*time.Second, "rows handed to the sinks", func() bool { return n.Stats().RowsEmitted > 0 })
	// For 50 times MaxDelay (10ms), no row of a record is written: every
	// one is late. (The mirror rows of the global tables, which partition
	// 0 sends from the state, are written once the last is sent.)
	fromRecords := func() int {
		_, rows := h.sink.Stats()
		return rows - h.sink.MirrorRows(topology.TableCustomers) - h.sink.MirrorRows(topology.TableVehicles)
	}
	for end := time.Now().Add(500 * time.Millisecond); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		require.Zero(t, fromRecords(), "late rows written before the catch-up delay")
	}
	require.NotZero(t, n.Stats().BufferedRows)

	h.prod.Timestamp = time.Time{}
	h.produce(fresh)
	h.waitIdle(hist.Final, 20*time.Second)
	require.NoError(t, n.shutdown(t))
}

// TestLateRowsYieldToCredit: a partition or global table out of credit
// has the sinks write the late rows it waits for, rather than wait the
// catch-up delay.
func TestLateRowsYieldToCredit(t *testing.T) {
	hist, old, fresh := lateHistory(t, 43)
	h := newHarness(t, nil, 2, 1)
	h.tweak = func(c *Config) { c.SinkBatch.CatchUpDelay, c.MaxInflightRows = time.Hour, 20 }
	h.prod.Timestamp = time.Now().Add(-2 * time.Hour)
	h.produce(old)
	n := h.start("a", nil)
	h.prod.Timestamp = time.Time{}
	h.produce(fresh)
	h.waitIdle(hist.Final, 20*time.Second)
	require.NoError(t, n.shutdown(t))
}

// lateHistory returns a random history, and its records split into old
// ones and the last two of each topic partition, which change every
// table (any interleaving that keeps each partition's order is one
// Kafka could deliver).
func lateHistory(t *testing.T, seed uint64) (hist *topologytest.History, old, fresh []topologytest.Record) {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	hist = topologytest.Generate(rng, topologytest.Config{Transactions: 200, Snapshot: 4, Partitions: 2, GlobalPartitions: 1})
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
	return hist, old, fresh
}

// TestBootstrapMirrorsYieldToCredit: the mirror writer of a group that
// never committed, sending the global tables' rows from the state (late
// rows, all of them), has the sinks write them when it runs out of
// credit, with no order record behind them.
func TestBootstrapMirrorsYieldToCredit(t *testing.T) {
	hist, _, _ := lateHistory(t, 45)
	var global []topologytest.Record
	ids := map[topology.Table]map[int64]bool{topology.TableCustomers: {}, topology.TableVehicles: {}}
	for _, r := range hist.Interleave(rand.New(rand.NewPCG(1, 2)), nil) {
		if set := ids[r.Change.Table]; set != nil {
			global = append(global, r)
			set[r.Change.ID()] = true
		}
	}
	// More rows per table than credit: the one unit that sends them all
	// waits for credit.
	require.Greater(t, len(ids[topology.TableCustomers]), 1)
	require.Greater(t, len(ids[topology.TableVehicles]), 1)
	h := newHarness(t, nil, 2, 1)
	h.tweak = func(c *Config) { c.SinkBatch.CatchUpDelay, c.MaxInflightRows = time.Hour, 1 }
	h.prod.Timestamp = time.Now().Add(-2 * time.Hour)
	h.produce(global)
	n := h.start("a", nil)
	waitFor(t, 20*time.Second, "every customer's and vehicle's mirror row written", func() bool {
		v := h.sink.MirrorVersions()
		return n.Stats().Snapshots == 0 &&
			len(v[topology.TableCustomers]) == len(ids[topology.TableCustomers]) &&
			len(v[topology.TableVehicles]) == len(ids[topology.TableVehicles])
	})
	require.NoError(t, n.shutdown(t))
}
