package state_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/state"
	"github.com/drivetrain-cdc/drivetrain/topology"
)

// testLogger drops Pebble's informational lines and reports its errors.
type testLogger struct{ t testing.TB }

func (testLogger) Infof(string, ...any)                {}
func (l testLogger) Errorf(format string, args ...any) { l.t.Logf("pebble: "+format, args...) }
func (l testLogger) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

// both reads the global tables from g and the rest from Rows.
type both struct {
	g topology.GlobalRows
	topology.Rows
}

func (b both) Customer(id int64) (topology.Stored[topology.Customer], bool, error) {
	return b.g.Customer(id)
}

func (b both) Vehicle(id int64) (topology.Stored[topology.Vehicle], bool, error) {
	return b.g.Vehicle(id)
}

func open(t testing.TB, fs vfs.FS, opts state.Options) *state.Store {
	t.Helper()
	opts.FS = fs
	opts.Logger = testLogger{t}
	s, err := state.Open("db", opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func stored[T any](row T, lsn uint64, off int64) topology.Stored[T] {
	return topology.Stored[T]{Row: row, LSN: lsn, SourceTsMs: int64(lsn) * 1000, Pos: topology.Position{Offset: off}}
}

var (
	ana   = topology.Customer{ID: 1, Email: "ana@example.com", FirstName: "Ana", LastName: "García", City: "Madrid", Country: "ES", Segment: "retail"}
	ibiza = topology.Vehicle{ID: 10, VIN: "VSSZZZ6JZ9R000001", Make: "Seat", Model: "Ibiza", ListPrice: topology.NewDecimal(1850000, 2), Features: topology.Some(`{"seats":5}`)}
	order = topology.Order{ID: 100, CustomerID: 1, Status: "pending", Channel: "web", Currency: "EUR", OrderDate: 1e15}
	item  = topology.OrderItem{ID: 1000, OrderID: 100, VehicleID: 10, Quantity: 1, UnitPrice: topology.NewDecimal(1800000, 2)}
	pay   = topology.Payment{ID: 500, OrderID: 100, Amount: topology.NewDecimal(100, 2), Method: "cash", Status: "approved"}
)

func TestRowsRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		write func(g *state.GlobalBatch, b *state.Batch) error
		check func(t *testing.T, r topology.Rows)
	}{
		{"customer", func(g *state.GlobalBatch, _ *state.Batch) error { return g.PutCustomer(stored(ana, 1, 0)) },
			func(t *testing.T, r topology.Rows) {
				got, ok, err := r.Customer(1)
				require.NoError(t, err)
				require.True(t, ok)
				assert.Equal(t, stored(ana, 1, 0), got)
			}},
		{"vehicle tombstone", func(g *state.GlobalBatch, _ *state.Batch) error {
			s := stored(ibiza, 2, 3)
			s.Deleted = true
			return g.PutVehicle(s)
		}, func(t *testing.T, r topology.Rows) {
			got, ok, err := r.Vehicle(10)
			require.NoError(t, err)
			require.True(t, ok)
			assert.True(t, got.Deleted)
			want := ibiza
			if _, ok := r.(*state.Partition); ok {
				want.Features.V = "" // a partition's read leaves the text out (topology.Rows)
			}
			assert.Equal(t, want, got.Row)
		}},
		{"order", func(_ *state.GlobalBatch, b *state.Batch) error { return b.PutOrder(stored(order, 3, 0)) },
			func(t *testing.T, r topology.Rows) {
				got, ok, err := r.Order(100)
				require.NoError(t, err)
				require.True(t, ok)
				assert.Equal(t, stored(order, 3, 0), got)
			}},
		{"item", func(_ *state.GlobalBatch, b *state.Batch) error { return b.PutItem(stored(item, 4, 0)) },
			func(t *testing.T, r topology.Rows) {
				got, ok, err := r.Item(100, 1000)
				require.NoError(t, err)
				require.True(t, ok)
				assert.Equal(t, stored(item, 4, 0), got)
				_, ok, err = r.Item(101, 1000)
				require.NoError(t, err)
				assert.False(t, ok, "items are keyed under their order")
			}},
		{"payment", func(_ *state.GlobalBatch, b *state.Batch) error { return b.PutPayment(stored(pay, 5, 0)) },
			func(t *testing.T, r topology.Rows) {
				got, ok, err := r.Payment(100, 500)
				require.NoError(t, err)
				require.True(t, ok)
				assert.Equal(t, stored(pay, 5, 0), got)
			}},
		{"fact version", func(_ *state.GlobalBatch, b *state.Batch) error { return b.SetFactVersion(1000, 1<<62) },
			func(t *testing.T, r topology.Rows) {
				v, ok, err := r.LastFactVersion(1000)
				require.NoError(t, err)
				require.True(t, ok)
				assert.Equal(t, uint64(1<<62), v)
				// One clock per partition: at least the last version of
				// every item.
				v, ok, err = r.LastFactVersion(1001)
				require.NoError(t, err)
				assert.True(t, ok)
				assert.Equal(t, uint64(1<<62), v)
			}},
		{"nothing", func(*state.GlobalBatch, *state.Batch) error { return nil },
			func(t *testing.T, r topology.Rows) {
				_, ok, err := r.Customer(1)
				require.NoError(t, err)
				assert.False(t, ok)
				_, ok, err = r.Order(100)
				require.NoError(t, err)
				assert.False(t, ok)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := vfs.NewMem()
			s := open(t, fs, state.Options{})
			g := s.NewGlobalBatch()
			b := s.Partition(0).NewBatch()
			require.NoError(t, tt.write(g, b))
			// The batches read their own writes before committing.
			tt.check(t, both{g, b})
			require.NoError(t, g.Commit())
			require.NoError(t, b.Commit())
			tt.check(t, s.Partition(0))
			// And after a reopen.
			require.NoError(t, s.Close())
			tt.check(t, open(t, fs, state.Options{}).Partition(0))
		})
	}
}

func refs(t *testing.T, r topology.Rows, vehicleID int64) []topology.ItemRef {
	t.Helper()
	got, err := r.ItemsOfVehicle(vehicleID, nil)
	require.NoError(t, err)
	return got
}

func ordersOf(t *testing.T, r topology.Rows, customerID int64) []int64 {
	t.Helper()
	got, err := r.OrdersOfCustomer(customerID, nil)
	require.NoError(t, err)
	return got
}

func TestIndexes(t *testing.T) {
	s := open(t, vfs.NewMem(), state.Options{})
	p := s.Partition(2)
	b := p.NewBatch()
	it2 := item
	it2.ID = 1001
	require.NoError(t, b.PutOrder(stored(order, 1, 0)))
	require.NoError(t, b.PutItem(stored(item, 2, 0)))
	require.NoError(t, b.PutItem(stored(it2, 3, 1)))
	require.NoError(t, b.PutPayment(stored(pay, 4, 0)))
	require.NoError(t, b.Commit())

	assert.Equal(t, []topology.ItemRef{{OrderID: 100, ItemID: 1000}, {OrderID: 100, ItemID: 1001}}, refs(t, p, 10))
	assert.Equal(t, []int64{100}, ordersOf(t, p, 1))
	items, err := p.ItemsOfOrder(100, nil)
	require.NoError(t, err)
	require.Len(t, items, 2)
	pays, err := p.PaymentsOfOrder(100, nil)
	require.NoError(t, err)
	require.Len(t, pays, 1)

	// Item 1000 switches to vehicle 11; the order switches to customer 2.
	b = p.NewBatch()
	moved := item
	moved.VehicleID = 11
	require.NoError(t, b.PutItem(stored(moved, 5, 2)))
	o2 := order
	o2.CustomerID = 2
	require.NoError(t, b.PutOrder(stored(o2, 6, 1)))
	// Within the batch the indexes already moved.
	assert.Equal(t, []topology.ItemRef{{OrderID: 100, ItemID: 1001}}, refs(t, b, 10))
	require.NoError(t, b.Commit())
	assert.Equal(t, []topology.ItemRef{{OrderID: 100, ItemID: 1001}}, refs(t, p, 10))
	assert.Equal(t, []topology.ItemRef{{OrderID: 100, ItemID: 1000}}, refs(t, p, 11))
	assert.Empty(t, ordersOf(t, p, 1))
	assert.Equal(t, []int64{100}, ordersOf(t, p, 2))

	// Deleting item 1001 and the order leaves tombstones: the indexes
	// forget them, the order's item scan keeps them.
	b = p.NewBatch()
	gone := stored(it2, 7, 3)
	gone.Deleted = true
	require.NoError(t, b.PutItem(gone))
	goneOrder := stored(o2, 8, 2)
	goneOrder.Deleted = true
	require.NoError(t, b.PutOrder(goneOrder))
	require.NoError(t, b.Commit())
	assert.Empty(t, refs(t, p, 10))
	assert.Empty(t, ordersOf(t, p, 2))
	items, err = p.ItemsOfOrder(100, items[:0])
	require.NoError(t, err)
	require.Len(t, items, 2)
	assert.False(t, items[0].Deleted)
	assert.True(t, items[1].Deleted)

	// Re-putting the same row (a redelivery) keeps one index entry.
	b = p.NewBatch()
	require.NoError(t, b.PutItem(stored(moved, 5, 2)))
	require.NoError(t, b.PutItem(stored(moved, 5, 2)))
	require.NoError(t, b.Commit())
	assert.Equal(t, []topology.ItemRef{{OrderID: 100, ItemID: 1000}}, refs(t, p, 11))

	// Other partitions see none of it.
	assert.Empty(t, refs(t, s.Partition(1), 11))
}

func TestDropPartition(t *testing.T) {
	s := open(t, vfs.NewMem(), state.Options{})
	g := s.NewGlobalBatch()
	require.NoError(t, g.PutCustomer(stored(ana, 1, 0)))
	require.NoError(t, g.SetOffset("customers", 0, 1))
	require.NoError(t, g.Commit())
	for _, n := range []int32{0, 1, 2, 300} {
		b := s.Partition(n).NewBatch()
		o := order
		o.ID = 100 + int64(n)
		require.NoError(t, b.PutOrder(stored(o, 1, 0)))
		require.NoError(t, b.SetFactVersion(7, 9))
		require.NoError(t, b.SetOffset("orders", n, 1))
		require.NoError(t, b.Commit())
	}
	parts, err := s.Partitions()
	require.NoError(t, err)
	assert.Equal(t, []int32{0, 1, 2, 300}, parts)

	require.NoError(t, s.DropPartition(1))

	parts, err = s.Partitions()
	require.NoError(t, err)
	assert.Equal(t, []int32{0, 2, 300}, parts)
	p1 := s.Partition(1)
	_, ok, err := p1.Order(101)
	require.NoError(t, err)
	assert.False(t, ok)
	assert.Empty(t, ordersOf(t, p1, 1))
	_, ok, err = p1.Offset("orders", 1)
	require.NoError(t, err)
	assert.False(t, ok)
	_, ok, err = p1.LastFactVersion(7)
	require.NoError(t, err)
	assert.False(t, ok)

	for _, n := range []int32{0, 2, 300} {
		p := s.Partition(n)
		_, ok, err := p.Order(100 + int64(n))
		require.NoError(t, err)
		assert.True(t, ok, "partition %d keeps its order", n)
		next, ok, err := p.Offset("orders", n)
		require.NoError(t, err)
		assert.True(t, ok)
		assert.Equal(t, int64(1), next)
		v, _, err := p.LastFactVersion(7)
		require.NoError(t, err)
		assert.Equal(t, uint64(9), v)
	}
	_, ok, err = s.Customer(1)
	require.NoError(t, err)
	assert.True(t, ok, "the global tables stay")
	next, ok, err := s.GlobalOffset("customers", 0)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, int64(1), next)
}

func TestOffsetsCommitWithTheirBatch(t *testing.T) {
	fs := vfs.NewMem()
	s := open(t, fs, state.Options{})
	p := s.Partition(3)

	// A batch closed without commit leaves neither rows nor offsets.
	b := p.NewBatch()
	require.NoError(t, b.PutOrder(stored(order, 1, 0)))
	require.NoError(t, b.SetOffset("ecommerce.public.orders", 3, 1))
	require.NoError(t, b.Close())
	require.NoError(t, b.Close(), "Close is idempotent")
	_, ok, err := p.Order(100)
	require.NoError(t, err)
	assert.False(t, ok)
	_, ok, err = p.Offset("ecommerce.public.orders", 3)
	require.NoError(t, err)
	assert.False(t, ok)
	require.ErrorIs(t, b.PutOrder(stored(order, 1, 0)), state.ErrBatchDone)

	// A committed one, both.
	b = p.NewBatch()
	require.NoError(t, b.PutOrder(stored(order, 1, 0)))
	require.NoError(t, b.SetOffset("ecommerce.public.orders", 3, 1))
	require.NoError(t, b.SetOffset("ecommerce.public.customers", 0, 42))
	require.NoError(t, b.Commit())
	require.ErrorIs(t, b.Commit(), state.ErrBatchDone)
	offs, err := p.Offsets()
	require.NoError(t, err)
	assert.Equal(t, []state.Offset{
		{Topic: "ecommerce.public.customers", Partition: 0, Next: 42},
		{Topic: "ecommerce.public.orders", Partition: 3, Next: 1},
	}, offs)

	g := s.NewGlobalBatch()
	require.NoError(t, g.SetOffset("ecommerce.public.vehicles", 1, 7))
	require.NoError(t, g.Commit())
	goffs, err := s.GlobalOffsets()
	require.NoError(t, err)
	assert.Equal(t, []state.Offset{{Topic: "ecommerce.public.vehicles", Partition: 1, Next: 7}}, goffs)

	b = p.NewBatch()
	assert.Error(t, b.SetOffset("", 0, 1), "empty topic")
	assert.Error(t, b.SetOffset("t\x00x", 0, 1), "NUL in topic")
	assert.Error(t, b.SetOffset("t", 0, -1), "negative offset")
	require.NoError(t, b.Close())
}

func TestDimensionCache(t *testing.T) {
	// Generations of 32 KiB: a tenth of the 1,000 vehicles.
	s := open(t, vfs.NewMem(), state.Options{DimensionCacheBytes: 64 << 10})
	g := s.NewGlobalBatch()
	for i := range 1000 {
		v := ibiza
		v.ID = int64(i)
		require.NoError(t, g.PutVehicle(stored(v, 1, int64(i))))
	}
	require.NoError(t, g.Commit())
	p := s.Partition(0)
	for range 3 {
		for i := range 1000 {
			got, ok, err := p.Vehicle(int64(i))
			require.NoError(t, err)
			require.True(t, ok)
			require.Equal(t, int64(i), got.Row.ID)
		}
	}
	st := s.CacheStats()
	assert.LessOrEqual(t, st.Bytes, int64(64<<10)+8<<10, "bounded, within a chunk")
	assert.Positive(t, st.Entries)
	assert.Less(t, st.Entries, 1000)
	assert.False(t, st.Complete)

	// Reads hit after a miss.
	_, _, err := p.Vehicle(99)
	require.NoError(t, err)
	before := s.CacheStats()
	_, _, err = p.Vehicle(99)
	require.NoError(t, err)
	assert.Equal(t, before.Hits+1, s.CacheStats().Hits, "a partition's read: the row, without the features text")

	// A committed write replaces the cached value; a batch reads its own
	// uncommitted write while others still read the committed one.
	g = s.NewGlobalBatch()
	v := ibiza
	v.ID = 99
	v.Make = "Cupra"
	require.NoError(t, g.PutVehicle(stored(v, 2, 100)))
	got, _, err := g.Vehicle(99)
	require.NoError(t, err)
	assert.Equal(t, "Cupra", got.Row.Make)
	got, _, err = p.Vehicle(99)
	require.NoError(t, err)
	assert.Equal(t, "Seat", got.Row.Make)
	require.NoError(t, g.Commit())
	got, _, err = p.Vehicle(99)
	require.NoError(t, err)
	assert.Equal(t, "Cupra", got.Row.Make)
}

func TestOpenChecksLayout(t *testing.T) {
	fs := vfs.NewMem()
	db, err := pebble.Open("db", &pebble.Options{FS: fs, Logger: testLogger{t}})
	require.NoError(t, err)
	require.NoError(t, db.Set([]byte("zzz"), []byte("foreign"), pebble.Sync))
	require.NoError(t, db.Close())
	_, err = state.Open("db", state.Options{FS: fs, Logger: testLogger{t}})
	require.ErrorIs(t, err, state.ErrIncompatible)

	_, err = state.Open("db2", state.Options{FS: fs, BlockCacheBytes: -1})
	require.ErrorIs(t, err, state.ErrInvalidOptions)
	require.ErrorContains(t, err, "BlockCacheBytes")
}

func TestCloseIsIdempotent(t *testing.T) {
	s := open(t, vfs.NewMem(), state.Options{})
	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
}

// TestDimensionCacheConcurrentCommits has readers fill the cache while a
// writer commits new versions of the same vehicle: once Commit returns,
// no reader may see an older version (a stale fill would stick).
func TestDimensionCacheConcurrentCommits(t *testing.T) {
	s := open(t, vfs.NewMem(), state.Options{NoSync: true})
	const writes = 200
	put := func(i int) {
		g := s.NewGlobalBatch()
		v := ibiza
		v.MileageKm = int32(i)
		require.NoError(t, g.PutVehicle(stored(v, uint64(i), int64(i))))
		require.NoError(t, g.Commit())
	}
	put(0)
	var done atomic.Bool
	var wg sync.WaitGroup
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := s.Partition(int32(r))
			for !done.Load() {
				if _, _, err := p.Vehicle(10); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for i := 1; i <= writes; i++ {
		put(i)
		got, ok, err := s.Partition(9).Vehicle(10)
		require.NoError(t, err)
		require.True(t, ok)
		require.GreaterOrEqual(t, got.Row.MileageKm, int32(i), "read after commit %d", i)
	}
	done.Store(true)
	wg.Wait()
	got, _, err := s.Vehicle(10)
	require.NoError(t, err)
	assert.Equal(t, int32(writes), got.Row.MileageKm)
}
