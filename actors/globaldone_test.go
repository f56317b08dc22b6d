package actors

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/topology"
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
