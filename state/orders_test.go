package state_test

import (
	"math/rand/v2"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/state"
	"github.com/drivetrain-cdc/drivetrain/topology"
)

// orderRows is what a reader returns for the orders 1…n: the order, its
// items and payments, and the fact versions of items 1…3n.
type orderRows struct {
	Customers [][]int64
	Vehicles  [][]topology.ItemRef
	Orders    []topology.Stored[topology.Order]
	Found     []bool
	Items     [][]topology.Stored[topology.OrderItem]
	Payments  [][]topology.Stored[topology.Payment]
	Facts     []uint64
}

func readOrders(t *testing.T, r topology.Rows, n int64) orderRows {
	t.Helper()
	var out orderRows
	for id := int64(1); id <= 3; id++ {
		out.Customers = append(out.Customers, ordersOf(t, r, id))
		out.Vehicles = append(out.Vehicles, refs(t, r, id))
	}
	for id := int64(1); id <= n; id++ {
		o, ok, err := r.Order(id)
		require.NoError(t, err)
		items, err := r.ItemsOfOrder(id, nil)
		require.NoError(t, err)
		payments, err := r.PaymentsOfOrder(id, nil)
		require.NoError(t, err)
		out.Orders, out.Found = append(out.Orders, o), append(out.Found, ok)
		out.Items, out.Payments = append(out.Items, items), append(out.Payments, payments)
	}
	for id := int64(1); id <= 3*n; id++ {
		v, _, err := r.LastFactVersion(id)
		require.NoError(t, err)
		out.Facts = append(out.Facts, v)
	}
	return out
}

// TestOrderCacheCoherent runs random batches — committed, closed without
// commit, two of one partition open at once — and partition drops, and
// after each requires a new batch (which reads through the order cache)
// to read what the committed state holds.
func TestOrderCacheCoherent(t *testing.T) {
	tests := []struct {
		name  string
		bytes int64
	}{
		{"default", 0},
		{"tiny", 600},
		{"disabled", -1},
	}
	const orders = 6
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			s := open(t, vfs.NewMem(), state.Options{OrderCacheBytes: tt.bytes})
			p := s.Partition(0)
			lsn := uint64(0)
			write := func(b *state.Batch) {
				for range 1 + rng.IntN(4) {
					lsn++
					orderID := 1 + rng.Int64N(orders)
					del := rng.IntN(5) == 0
					switch rng.IntN(5) {
					case 0:
						o := order
						o.ID, o.CustomerID = orderID, 1+rng.Int64N(3)
						st := stored(o, lsn, int64(lsn))
						st.Deleted = del
						require.NoError(t, b.PutOrder(st))
					case 1, 2:
						it := item
						it.OrderID, it.ID, it.VehicleID = orderID, 3*orderID-rng.Int64N(3), 1+rng.Int64N(3)
						st := stored(it, lsn, int64(lsn))
						st.Deleted = del
						_, _, err := b.Item(it.OrderID, it.ID)
						require.NoError(t, err)
						require.NoError(t, b.PutItem(st))
					case 3:
						py := pay
						py.OrderID, py.ID = orderID, 1+rng.Int64N(4)
						st := stored(py, lsn, int64(lsn))
						st.Deleted = del
						if rng.IntN(2) == 0 {
							_, err := b.PaymentsOfOrder(orderID, nil)
							require.NoError(t, err)
						}
						require.NoError(t, b.PutPayment(st))
					case 4:
						id := 1 + rng.Int64N(3*orders)
						_, _, err := b.LastFactVersion(id)
						require.NoError(t, err)
						require.NoError(t, b.SetFactVersion(id, lsn))
					}
				}
				// Sometimes, reads that warm all the batch's views.
				if rng.IntN(2) == 0 {
					readOrders(t, b, orders)
				}
			}
			for step := range 300 {
				switch rng.IntN(10) {
				case 0:
					b := p.NewBatch()
					write(b)
					require.NoError(t, b.Close())
				case 1:
					require.NoError(t, s.DropPartition(0))
				case 2:
					// Two batches of the partition at once, committed in
					// turn.
					a, b := p.NewBatch(), p.NewBatch()
					readOrders(t, a, orders)
					write(b)
					require.NoError(t, b.Commit())
					write(a)
					require.NoError(t, a.Commit())
				default:
					// What the batch reads of its own writes is what
					// its commit leaves.
					b := p.NewBatch()
					write(b)
					own := readOrders(t, b, orders)
					require.NoError(t, b.Commit())
					require.Equal(t, readOrders(t, p, orders), own, "step %d", step)
				}
				// The committed state, as a fresh batch reads it through
				// the cache and as the partition reads it from Pebble.
				b := p.NewBatch()
				got := readOrders(t, b, orders)
				require.NoError(t, b.Close())
				want := readOrders(t, p, orders)
				require.Equal(t, want, got, "step %d", step)
			}
		})
	}
}

// TestBatchReadsOwnWrites checks that a batch's reads through its order
// views see its writes, and that a batch closed without commit leaves no
// trace for the next one.
func TestBatchReadsOwnWrites(t *testing.T) {
	s := open(t, vfs.NewMem(), state.Options{})
	p := s.Partition(2)

	b := p.NewBatch()
	it := item
	it.OrderID, it.ID = 100, 5
	require.NoError(t, b.PutItem(stored(it, 1, 1)))
	require.NoError(t, b.PutOrder(stored(order, 2, 2)))
	require.NoError(t, b.SetFactVersion(5, 11))
	got, ok, err := b.Item(100, 5)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, it, got.Row)
	o, ok, err := b.Order(100)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, order, o.Row)
	v, ok, err := b.LastFactVersion(5)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, uint64(11), v)
	require.NoError(t, b.Close())

	b = p.NewBatch()
	defer b.Close()
	_, ok, err = b.Item(100, 5)
	require.NoError(t, err)
	assert.False(t, ok, "the closed batch's item")
	_, ok, err = b.Order(100)
	require.NoError(t, err)
	assert.False(t, ok, "the closed batch's order")
	_, ok, err = b.LastFactVersion(5)
	require.NoError(t, err)
	assert.False(t, ok, "the closed batch's fact version")
	assert.Empty(t, refs(t, b, it.VehicleID))
}
