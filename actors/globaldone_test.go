package actors

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/topology"
	"github.com/drivetrain-cdc/drivetrain/topology/topologytest"
)

// TestGlobalDoneWaitsForRefreshes: a customer change counts as done
// (Stats.GlobalDone, which status's lag and idle read) only once its
// mirror row and the facts it refreshes are acknowledged, not when the
// global table has applied it.
func TestGlobalDoneWaitsForRefreshes(t *testing.T) {
	h := newHarness(t, nil, 2, 1)
	customer := func(lsn uint64, city string) topology.Change {
		return topology.Change{Table: topology.TableCustomers, Op: topology.OpCreate, LSN: lsn, SourceTsMs: int64(lsn),
			After: topology.Some(topology.CustomerRow(topology.Customer{ID: 1, Email: "a@example.com", FirstName: "A", LastName: "B",
				City: city, Country: "ES", Segment: "retail"}))}
	}
	order := topology.Change{Table: topology.TableOrders, Op: topology.OpCreate, LSN: 5, SourceTsMs: 5,
		After: topology.Some(topology.OrderRow(topology.Order{ID: 3, CustomerID: 1, Status: "pending", Channel: "web", Currency: "EUR"}))}
	item := topology.Change{Table: topology.TableOrderItems, Op: topology.OpCreate, LSN: 6, SourceTsMs: 6,
		After: topology.Some(topology.ItemRow(topology.OrderItem{ID: 1, OrderID: 3, VehicleID: 1, Quantity: 1}))}
	// Order 3 lives in partition 1 of the order stream (3 mod 2).
	order.Pos.Partition, item.Pos.Partition = 1, 1
	h.produce(records(customer(1, "Madrid"), order, item))
	n := h.start("a", nil)

	tp := newTopics(h.prefix)
	topic := tp.of(topology.TableCustomers)
	end := func() int64 {
		ends, err := h.adm.ListEndOffsets(ctx(t), topic)
		require.NoError(t, err)
		o, _ := ends.Lookup(topic, 0)
		return o.Offset
	}
	// waitDone waits until the customers' GlobalDone of partition 0 is want.
	waitDone := func(want int64) {
		t.Helper()
		require.Eventually(t, func() bool { return n.Stats().GlobalDone[topic][0] == want }, 20*time.Second, 10*time.Millisecond,
			"GlobalDone %v, want %s/0 at %d", n.Stats().GlobalDone, topic, want)
	}
	// Both partitions run, and everything read is committed.
	waitFor(t, 20*time.Second, "both partitions running, nothing behind", func() bool {
		behind, err := h.lag(ctx(t))
		return err == nil && len(behind) == 0 && len(n.owns()) == 2
	})
	waitDone(end())

	// The customer moves city; the fact of order 3 must be re-emitted.
	h.sink.StallFacts()
	h.produce(records(customer(7, "Lyon")))
	e := end()
	require.Eventually(t, func() bool {
		n.metrics.mu.Lock()
		defer n.metrics.mu.Unlock()
		return n.metrics.globalAcked[topology.TableCustomers][0] == e
	}, 20*time.Second, 10*time.Millisecond, "the customers' mirror rows were not acknowledged")
	require.Eventually(t, func() bool { return h.sink.StalledFacts() > 0 }, 20*time.Second, 10*time.Millisecond, "no refreshed fact reached the sink")
	require.Less(t, n.Stats().GlobalDone[topic][0], e, "a change whose refreshed facts are not acknowledged counts as done")

	h.sink.Unstall()
	waitDone(e)
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.Eventually(t, func() bool {
		behind, err := h.lag(c)
		return err == nil && len(behind) == 0
	}, 20*time.Second, 10*time.Millisecond)
	require.NoError(t, n.shutdown(t))
}

// TestOneMirrorWriter: with two nodes sharing the group, each customer
// change is written to the customers mirror once, by the owner of
// partition 0, not once per node; when that node leaves, the other takes
// the mirror rows over with the partition, and changes made while the
// partition moves reach the mirror too.
func TestOneMirrorWriter(t *testing.T) {
	h := newHarness(t, nil, 2, 2)
	var lsn uint64
	customers := func(ids []int64, city string) []topologytest.Record {
		var chs []topology.Change
		for _, id := range ids {
			lsn++
			ch := topology.Change{Table: topology.TableCustomers, Op: topology.OpCreate, LSN: lsn, SourceTsMs: int64(lsn),
				After: topology.Some(topology.CustomerRow(topology.Customer{ID: id, Email: fmt.Sprint(id, "@example.com"), FirstName: "A", LastName: "B",
					City: city, Country: "ES", Segment: "retail"}))}
			ch.Pos.Partition = int32(id % 2)
			chs = append(chs, ch)
		}
		return records(chs...)
	}
	ids := []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	want := topologytest.NewTables()
	put := func(city string) {
		for _, r := range customers(ids, city) {
			want.Customers[r.Change.ID()] = topology.Stored[topology.Customer]{Row: r.Change.After.V.Customer, LSN: r.Change.LSN}
			h.produce([]topologytest.Record{r})
		}
	}
	put("Madrid")
	a := h.start("a", nil)
	b := h.start("b", nil)
	waitFor(t, 20*time.Second, "both nodes own a partition", func() bool {
		return len(a.owns()) > 0 && len(b.owns()) > 0
	})
	h.waitIdle(want, 20*time.Second)

	before := h.sink.MirrorRows(topology.TableCustomers)
	put("Lyon")
	h.waitIdle(want, 20*time.Second)
	require.Equal(t, len(ids), h.sink.MirrorRows(topology.TableCustomers)-before, "mirror rows written for %d changes", len(ids))

	// The owner of partition 0 leaves while customers change.
	owner, other := a, b
	if slices.Contains(b.owns(), 0) {
		owner, other = b, a
	}
	require.Contains(t, owner.owns(), int32(0), "a node owns partition 0")
	put("Porto")
	require.NoError(t, owner.shutdown(t))
	put("Turin")
	h.waitIdle(want, 20*time.Second)
	waitFor(t, 20*time.Second, "the other node owns partition 0", func() bool { return slices.Contains(other.owns(), 0) })
	assert.Empty(t, h.sink.Regressions())
	require.NoError(t, other.shutdown(t))
}
