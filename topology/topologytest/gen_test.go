package topologytest

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

// TestGenerateProducesThePatterns guards the property tests against a
// generator that stops producing the update patterns of real
// applications (docs/design.md, Rows that move), at the default rates and at
// raised ones with big orders of hundreds of items.
func TestGenerateProducesThePatterns(t *testing.T) {
	tests := []struct {
		name  string
		n     int
		cfg   func(rng *rand.Rand) Config
		extra []string
	}{
		{name: "defaults", n: 40, cfg: RandomConfig},
		{name: "raised rates, big orders", n: 4, cfg: func(*rand.Rand) Config {
			return Config{
				Transactions: 300, Snapshot: 3, Partitions: 4, GlobalPartitions: 2,
				Moves: 0.1, Recreates: 0.05, Redates: 0.05, Reinserts: 0.05, BigOrders: 0.01,
				BigOrderItems: [2]int{200, 500},
			}
		}, extra: []string{"order of 200+ items"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			seen := map[string]int{}
			for range tt.n {
				h := Generate(rng, tt.cfg(rng))
				checkCommitOrder(t, h)
				for k, v := range patterns(h) {
					seen[k] += v
				}
			}
			t.Log(seen)
			for _, name := range append([]string{
				"item moved across partitions in one transaction",
				"item moved across partitions later",
				"payment moved across partitions",
				"order re-created in another month",
				"item id reused by a re-created order",
				"order_date moved to another month",
				"customer re-inserted",
				"customer re-inserted while referenced",
				"vehicle re-inserted",
				"big order updated item by item",
			}, tt.extra...) {
				assert.Positive(t, seen[name], name)
			}
		})
	}
}

// TestGenerateOff checks that negative rates turn the patterns off.
func TestGenerateOff(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 10 {
		h := Generate(rng, Config{Transactions: 200, Moves: -1, Recreates: -1, Redates: -1, Reinserts: -1, BigOrders: -1})
		checkCommitOrder(t, h)
		p := patterns(h)
		for _, name := range []string{"item moved across partitions in one transaction", "item moved across partitions later",
			"payment moved across partitions", "order re-created in another month", "order_date moved to another month",
			"customer re-inserted", "vehicle re-inserted", "big order updated item by item"} {
			assert.Zero(t, p[name], name)
		}
	}
}

// commitOrder returns the records of h in commit order: by LSN, the
// snapshot reads (which share one) first.
func commitOrder(h *History) []Record {
	var recs []Record
	for _, q := range h.queueOrder() {
		recs = append(recs, h.Queues[q]...)
	}
	slices.SortStableFunc(recs, func(a, b Record) int { return cmp.Compare(a.Change.LSN, b.Change.LSN) })
	return recs
}

// checkCommitOrder checks what PostgreSQL guarantees of a history: LSNs
// unique and growing in commit order across topics (the snapshot's below
// the streamed ones), and with them transaction ids, source.ts_ms and
// each queue's offsets; order-stream records in their order's partition;
// and final tables equal to the replay of the records in commit order.
func checkCommitOrder(t *testing.T, h *History) {
	t.Helper()
	recs := commitOrder(h)
	next := map[Queue]int64{}
	var last Record
	for i, r := range recs {
		ch := &r.Change
		q := r.Queue()
		require.Equal(t, next[q], ch.Pos.Offset, "offsets of %v in commit order", q)
		next[q]++
		if !ch.Table.Global() {
			require.Equal(t, topology.OrderPartition(ch.Image().OrderID(), h.Config.Partitions), ch.Pos.Partition, "partition of %v", ch)
		}
		if i > 0 {
			if ch.Op == topology.OpRead {
				require.Equal(t, topology.OpRead, last.Change.Op, "snapshot read after a streamed change")
				require.Equal(t, last.Change.LSN, ch.LSN, "snapshot LSNs")
			} else {
				require.Greater(t, ch.LSN, last.Change.LSN, "LSNs in commit order")
			}
			require.GreaterOrEqual(t, ch.TxID, last.Change.TxID)
			require.GreaterOrEqual(t, ch.SourceTsMs, last.Change.SourceTsMs)
		}
		last = r
	}
	for q, recs := range h.Queues {
		require.Equal(t, int64(len(recs)), next[q], "records of %v", q)
	}
	require.Equal(t, replay(recs), h.Final, "final tables")
}

// replay returns the tables that the records, in commit order, leave in
// PostgreSQL.
func replay(recs []Record) *Tables {
	t := NewTables()
	for _, r := range recs {
		ch := &r.Change
		if ch.Op == topology.OpDelete {
			img := ch.Before.V
			switch ch.Table {
			case topology.TableCustomers:
				delete(t.Customers, img.ID())
			case topology.TableVehicles:
				delete(t.Vehicles, img.ID())
			case topology.TableOrders:
				delete(t.Orders, img.ID())
			case topology.TableOrderItems:
				delete(t.Items, img.ID())
				t.Gone[img.OrderID()] = max(t.Gone[img.OrderID()], ch.SourceTsMs)
			case topology.TablePayments:
				delete(t.Payments, img.ID())
				t.Gone[img.OrderID()] = max(t.Gone[img.OrderID()], ch.SourceTsMs)
			}
			continue
		}
		row := ch.After.V
		switch ch.Table {
		case topology.TableCustomers:
			t.Customers[row.ID()] = topology.Stored[topology.Customer]{Row: row.Customer, LSN: ch.LSN, SourceTsMs: ch.SourceTsMs}
		case topology.TableVehicles:
			// Unchanged TOAST columns keep the stored value.
			prev := topology.VehicleRow(t.Vehicles[row.ID()].Row)
			for n := range rowValue(&row).NumField() {
				if ch.Unchanged.Has(n) {
					rowValue(&row).Field(n).Set(rowValue(&prev).Field(n))
				}
			}
			t.Vehicles[row.ID()] = topology.Stored[topology.Vehicle]{Row: row.Vehicle, LSN: ch.LSN, SourceTsMs: ch.SourceTsMs}
		case topology.TableOrders:
			t.Orders[row.ID()] = topology.Stored[topology.Order]{Row: row.Order, LSN: ch.LSN, SourceTsMs: ch.SourceTsMs}
		case topology.TableOrderItems:
			t.Items[row.ID()] = topology.Stored[topology.OrderItem]{Row: row.Item, LSN: ch.LSN, SourceTsMs: ch.SourceTsMs}
		case topology.TablePayments:
			t.Payments[row.ID()] = topology.Stored[topology.Payment]{Row: row.Payment, LSN: ch.LSN, SourceTsMs: ch.SourceTsMs}
		}
	}
	return t
}

// patterns counts the update patterns in h, found by replaying its
// records in commit order.
func patterns(h *History) map[string]int {
	type key struct {
		t  topology.Table
		id int64
	}
	seen := map[string]int{}
	lastChange := map[key]topology.Change{} // deletes included
	live := map[key]topology.Row{}
	orderDeletedIn := map[int64]uint64{} // order id → tx of its last delete
	recs := commitOrder(h)
	// Big orders: 20 items or more created in one transaction.
	txSize := map[uint64]int{}
	created := map[[2]uint64][]int64{} // (tx, order id) → items created
	for _, r := range recs {
		ch := &r.Change
		txSize[ch.TxID]++
		if ch.Table == topology.TableOrderItems && ch.Op == topology.OpCreate {
			k := [2]uint64{ch.TxID, uint64(ch.After.V.Item.OrderID)}
			created[k] = append(created[k], ch.ID())
		}
	}
	bigOrders := map[int64]map[int64]bool{}
	for k, items := range created {
		if len(items) >= 20 {
			bigOrders[int64(k[1])] = map[int64]bool{}
			for _, id := range items {
				bigOrders[int64(k[1])][id] = true
			}
		}
	}
	bigUpdated := map[int64]int{}
	for _, r := range recs {
		ch := r.Change
		k := key{ch.Table, ch.ID()}
		prev, hadPrev := lastChange[k]
		lastChange[k] = ch
		img := ch.Image()
		if ch.Op == topology.OpDelete {
			if ch.Table == topology.TableOrders {
				orderDeletedIn[ch.ID()] = ch.TxID
			}
			if ch.Table == topology.TableCustomers {
				for _, row := range live {
					if row.Table == topology.TableOrders && row.Order.CustomerID == ch.ID() {
						seen["customer deleted while referenced"]++
						break
					}
				}
			}
			delete(live, k)
			continue
		}
		before, wasLive := live[k]
		live[k] = *img
		reinserted := ch.Op == topology.OpCreate && hadPrev && prev.Op == topology.OpDelete
		switch ch.Table {
		case topology.TableCustomers:
			if reinserted {
				seen["customer re-inserted"]++
				for _, row := range live {
					if row.Table == topology.TableOrders && row.Order.CustomerID == ch.ID() {
						seen["customer re-inserted while referenced"]++
						break
					}
				}
			}
		case topology.TableVehicles:
			if reinserted {
				seen["vehicle re-inserted"]++
			}
		case topology.TableOrders:
			if reinserted && month(prev.Before.V.Order.OrderDate) != month(img.Order.OrderDate) {
				seen["order re-created in another month"]++
			}
			if wasLive && month(before.Order.OrderDate) != month(img.Order.OrderDate) {
				seen["order_date moved to another month"]++
			}
		case topology.TableOrderItems:
			from := prev.Before.V.Item.OrderID
			switch {
			case reinserted && from != img.Item.OrderID && prev.Pos.Partition != ch.Pos.Partition && prev.TxID == ch.TxID:
				seen["item moved across partitions in one transaction"]++
			case reinserted && from != img.Item.OrderID && prev.Pos.Partition != ch.Pos.Partition:
				seen["item moved across partitions later"]++
			case reinserted && from == img.Item.OrderID && orderDeletedIn[from] == prev.TxID:
				seen["item id reused by a re-created order"]++
			}
			if ch.Op == topology.OpUpdate && txSize[ch.TxID] == 1 && bigOrders[img.Item.OrderID][ch.ID()] {
				bigUpdated[img.Item.OrderID]++
			}
		case topology.TablePayments:
			if reinserted && prev.Before.V.Payment.OrderID != img.Payment.OrderID && prev.Pos.Partition != ch.Pos.Partition {
				seen["payment moved across partitions"]++
			}
		}
	}
	for id, items := range bigOrders {
		if bigUpdated[id] >= len(items)/2 {
			seen["big order updated item by item"]++
		}
		if len(items) >= 200 {
			seen["order of 200+ items"]++
		}
	}
	return seen
}

// TestOracleKeysMovedItems checks that the expected join keys facts by
// (order_id, order_item_id): an item moved to another order has its fact
// under the new order only, and a sink that still holds the old order's
// fact live, or the new one's under a month the order left, differs.
func TestOracleKeysMovedItems(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var h *History
	var moved topology.ItemRef // the item's old order and id
	for moved.ItemID == 0 {
		h = Generate(rng, Config{Transactions: 200, Moves: 0.2})
		old := map[int64]int64{}
		for _, r := range commitOrder(h) {
			ch := &r.Change
			if ch.Table != topology.TableOrderItems {
				continue
			}
			if ch.Op == topology.OpDelete {
				old[ch.ID()] = ch.Before.V.Item.OrderID
				continue
			}
			it, ok := h.Final.Items[ch.ID()]
			if from := old[ch.ID()]; ok && from != 0 && from != it.Row.OrderID {
				moved = topology.ItemRef{OrderID: from, ItemID: ch.ID()}
			}
		}
	}
	facts := h.Final.Facts()
	var live topology.Fact
	for _, f := range facts {
		require.NotEqual(t, moved, topology.ItemRef{OrderID: f.OrderID, ItemID: f.OrderItemID}, "fact under the old order")
		if f.OrderItemID == moved.ItemID {
			live = f
		}
	}
	require.Equal(t, h.Final.Items[moved.ItemID].Row.OrderID, live.OrderID)

	sink := func(extra ...topology.Fact) *Sink {
		s := NewSink()
		for _, m := range h.Final.Mirrors() {
			s.InsertMirror(m)
		}
		for _, f := range slices.Concat(facts, extra) {
			s.InsertFact(f)
		}
		return s
	}
	require.Empty(t, Diff(h.Final, sink()))
	stale := live
	stale.OrderID = moved.OrderID
	assert.Contains(t, Diff(h.Final, sink(stale)), "unexpected in the sink")
	elsewhere := live
	elsewhere.OrderDate = h.Final.Orders[live.OrderID].Row.OrderDate + 62*86400e6
	assert.Contains(t, Diff(h.Final, sink(elsewhere)), "more than one live row")
}
