package actors

import (
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/topology"
	"github.com/drivetrain-cdc/drivetrain/topology/topologytest"
)

// bigOrderItems is the size of the order TestBigOrder writes: a fleet
// sale.
const bigOrderItems = 5000

// bigOrderHistory returns a small history with exactly one order of
// bigOrderItems items, inserted in one transaction and then updated item
// by item, each update a transaction of its own.
func bigOrderHistory(t *testing.T) *topologytest.History {
	t.Helper()
	for seed := uint64(1); seed < 200; seed++ {
		h := topologytest.Generate(rand.New(rand.NewPCG(seed, 11)), topologytest.Config{
			Transactions: 30, Snapshot: 4, Partitions: 2, GlobalPartitions: 1,
			BigOrders: 0.05, BigOrderItems: [2]int{bigOrderItems, bigOrderItems},
		})
		perOrder := map[int64]int{}
		for _, it := range h.Final.Items {
			perOrder[it.Row.OrderID]++
		}
		big := 0
		for _, n := range perOrder {
			if n >= bigOrderItems {
				big++
			}
		}
		if big == 1 {
			return h
		}
	}
	t.Fatal("no seed gives exactly one big order")
	return nil
}

// TestBigOrder writes an order of 5,000 items in one transaction, then
// updates every item in a transaction of its own, through a node: the
// facts end equal to the join, a batch of records builds each fact
// once (the facts emitted stay linear in the records), and the heap in
// use once the node is idle stays under 300 MB.
func TestBigOrder(t *testing.T) {
	hist := bigOrderHistory(t)
	recs := hist.Interleave(rand.New(rand.NewPCG(5, 5)), nil)
	h := newHarness(t, nil, 2, 1)
	n := h.start("a", nil)
	waitFor(t, 20*time.Second, "the node in the group", func() bool { return len(n.owns()) == 2 })
	h.produce(recs)
	h.waitIdle(hist.Final, 120*time.Second)

	st := n.Stats()
	// Each poll of the order's records builds the order's facts once, a
	// few hundred thousand rows in all; record by record it would be
	// 5,000²/2 = 12.5 million for the inserts alone.
	assert.Less(t, st.RowsEmitted, int64(bigOrderItems*bigOrderItems/20), "rows emitted for %d records", len(recs))
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("%d records, %d rows emitted; heap in use once idle: %.0f MB", len(recs), st.RowsEmitted, float64(ms.HeapInuse)/(1<<20))
	assert.Less(t, ms.HeapInuse, uint64(300<<20), "heap in use once idle")
	assert.Empty(t, h.sink.Regressions())
	require.NoError(t, n.shutdown(t))
}

// deleteBigOrder appends to h the delete of its order of bigOrderItems
// items, with the deletes of its items and payments that the cascade
// makes, and takes them out of h.Final.
func deleteBigOrder(t *testing.T, h *topologytest.History) {
	t.Helper()
	perOrder := map[int64]int{}
	for _, it := range h.Final.Items {
		perOrder[it.Row.OrderID]++
	}
	var id int64
	for o, n := range perOrder {
		if n >= bigOrderItems {
			id = o
		}
	}
	require.NotZero(t, id)
	var lsn uint64
	var ts int64
	for _, recs := range h.Queues {
		for _, r := range recs {
			lsn, ts = max(lsn, r.Change.LSN), max(ts, r.Change.SourceTsMs)
		}
	}
	part := topology.OrderPartition(id, h.Config.Partitions)
	add := func(row topology.Row) {
		lsn++
		q := topologytest.Queue{Topic: topologytest.Topic(row.Table), Partition: part}
		ch := topology.Change{Table: row.Table, Op: topology.OpDelete, LSN: lsn, SourceTsMs: ts + 1000,
			Before: topology.Some(row), Pos: topology.Position{Partition: part, Offset: int64(len(h.Queues[q]))}}
		h.Queues[q] = append(h.Queues[q], topologytest.Record{Topic: q.Topic, Change: ch})
	}
	add(topology.OrderRow(h.Final.Orders[id].Row))
	delete(h.Final.Orders, id)
	for itemID, it := range h.Final.Items {
		if it.Row.OrderID == id {
			add(topology.ItemRow(it.Row))
			delete(h.Final.Items, itemID)
		}
	}
	for payID, p := range h.Final.Payments {
		if p.Row.OrderID == id {
			add(topology.PaymentRow(p.Row))
			delete(h.Final.Payments, payID)
		}
	}
}

// TestBigOrderUnderCredit runs the 5,000-item order — inserted, updated
// item by item, then deleted — through a node whose credit
// (MaxInflightRows) is 2,000 rows per partition, and a second node that
// takes the partitions over from the crashed first mid-way: the facts a
// batch makes due leave in shares as credit allows, so the rows in flight
// never pass the credit by more than one share and a poll's mirror rows,
// however many facts one batch makes due (5,000 per batch of the order's
// records, and for its delete); the sink ends equal to the join, and the
// heap in use once idle stays under 300 MB.
func TestBigOrderUnderCredit(t *testing.T) {
	hist := bigOrderHistory(t)
	deleteBigOrder(t, hist)
	recs := hist.Interleave(rand.New(rand.NewPCG(7, 7)), nil)
	h := newHarness(t, nil, 2, 1)
	const credit = 2000
	h.tweak = func(c *Config) { c.MaxInflightRows = credit }
	a := h.start("a", nil)
	waitFor(t, 20*time.Second, "a in the group", func() bool { return len(a.owns()) == 2 })
	h.produce(recs[:len(recs)/2])
	waitFor(t, 60*time.Second, "a's rows in the sink", func() bool { return a.Stats().RowsWritten > credit })
	newDropLeaves(h.cluster).add(a.memberID())
	a.crash(t)
	h.produce(recs[len(recs)/2:])
	b := h.start("b", nil)
	h.waitIdle(hist.Final, 120*time.Second)

	// The credit is per partition (2) and global table (2, mirror rows
	// only); a partition passes it by at most one share of facts and the
	// mirror rows of one poll, or, in a quiet start, by the mirror rows of
	// one order (the big one's 5,001: see actors/doc.go, "Backpressure").
	poll := int64(h.config("b").MaxPollRecords)
	bound := 2*(credit+minFactChunk+poll) + 2*(credit+poll) + bigOrderItems + 1
	for _, n := range []*node{a, b} {
		st := n.Stats()
		t.Logf("node %s: at most %d rows in flight (bound %d), %d emitted", n.id, st.MaxInflightRows, bound, st.RowsEmitted)
		assert.LessOrEqual(t, st.MaxInflightRows, bound, "node %s", n.id)
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("heap in use once idle: %.0f MB", float64(ms.HeapInuse)/(1<<20))
	assert.Less(t, ms.HeapInuse, uint64(300<<20), "heap in use once idle")
	assert.Empty(t, h.sink.Regressions())
	require.NoError(t, b.shutdown(t))
}
