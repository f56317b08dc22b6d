package state_test

import (
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/state"
	"github.com/drivetrain-cdc/drivetrain/topology"
)

// TestStage: staged global writes are read at once by every reader, with
// the dimension cache and without it; they reach Pebble only at a flush
// (Commit, Flush, Close, or a stage that outgrew StageBytes), the offsets
// with the rows, so that a crash before it loses both and nothing else;
// in each way of writing checkpoints that keeps the log (without it, a
// commit is durable at the next Flush only: see TestCheckpointWriteCrash).
func TestStage(t *testing.T) {
	forModes(t, loggedModes, func(t *testing.T, mode state.CheckpointWrite) {
		for _, tc := range []struct {
			name       string
			cacheBytes int64
		}{{"cache", 0}, {"no cache", -1}} {
			t.Run(tc.name, func(t *testing.T) {
				mem := vfs.NewCrashableMem()
				s := open(t, mem, state.Options{DimensionCacheBytes: tc.cacheBytes, CheckpointWrite: mode})

				// A committed first version.
				g := s.NewGlobalBatch()
				require.NoError(t, g.PutCustomer(stored(ana, 1, 0)))
				require.NoError(t, g.PutVehicle(stored(ibiza, 2, 0)))
				require.NoError(t, g.SetOffset("customers", 0, 1))
				require.NoError(t, g.Commit())

				// Staged changes, the customer twice.
				moved := ana
				moved.City = "Sevilla"
				for i, c := range []topology.Customer{moved, {ID: 1, Email: ana.Email, City: "Cádiz"}} {
					g = s.NewGlobalBatch()
					require.NoError(t, g.PutCustomer(stored(c, uint64(3+i), int64(1+i))))
					require.NoError(t, g.SetOffset("customers", 0, int64(2+i)))
					require.NoError(t, g.Stage())
				}
				g = s.NewGlobalBatch()
				repriced := ibiza
				repriced.ListPrice = topology.NewDecimal(1700000, 2)
				repriced.Features = topology.Some(`{"seats":7}`)
				require.NoError(t, g.PutVehicle(stored(repriced, 5, 1)))
				luis := topology.Customer{ID: 2, Email: "luis@example.com", City: "Vigo"}
				require.NoError(t, g.PutCustomer(stored(luis, 6, 3)))
				require.NoError(t, g.Stage())
				require.NoError(t, g.Close(), "closing a staged batch")

				checkStaged := func(t *testing.T, s *state.Store) {
					t.Helper()
					c, ok, err := s.Customer(1)
					require.NoError(t, err)
					require.True(t, ok)
					assert.Equal(t, "Cádiz", c.Row.City)
					v, ok, err := s.Vehicle(10)
					require.NoError(t, err)
					require.True(t, ok)
					assert.Equal(t, repriced, v.Row)
					// A new batch reads them too (the TOAST merge's reads).
					g := s.NewGlobalBatch()
					v, ok, err = g.Vehicle(10)
					require.NoError(t, err)
					require.True(t, ok)
					assert.Equal(t, repriced, v.Row)
					require.NoError(t, g.Close())
					ok, err = s.HasDimension(topology.TableCustomers, 2)
					require.NoError(t, err)
					assert.True(t, ok, "a new staged customer")
				}
				checkStaged(t, s)
				// The stored offset is the flushed one.
				next, _, err := s.GlobalOffset("customers", 0)
				require.NoError(t, err)
				assert.Equal(t, int64(1), next)

				// A crash loses the staged rows and offsets, not the committed.
				s2 := afterCrash(t, mem, state.Options{DimensionCacheBytes: tc.cacheBytes, CheckpointWrite: mode})
				c, _, err := s2.Customer(1)
				require.NoError(t, err)
				assert.Equal(t, ana, c.Row)
				v, _, err := s2.Vehicle(10)
				require.NoError(t, err)
				assert.Equal(t, ibiza, v.Row)
				next, _, err = s2.GlobalOffset("customers", 0)
				require.NoError(t, err)
				assert.Equal(t, int64(1), next)
				ok, err := s2.HasDimension(topology.TableCustomers, 2)
				require.NoError(t, err)
				assert.False(t, ok)

				// A flush makes them durable; the last staged value wins.
				require.NoError(t, s.Flush())
				next, _, err = s.GlobalOffset("customers", 0)
				require.NoError(t, err)
				assert.Equal(t, int64(3), next)
				checkStaged(t, s)
				s3 := afterCrash(t, mem, state.Options{DimensionCacheBytes: tc.cacheBytes, CheckpointWrite: mode})
				checkStaged(t, s3)
				next, _, err = s3.GlobalOffset("customers", 0)
				require.NoError(t, err)
				assert.Equal(t, int64(3), next)
			})
		}
	})
}

// afterCrash opens the store as a machine crash now would leave it in mem.
func afterCrash(t *testing.T, mem *vfs.MemFS, opts state.Options) *state.Store {
	t.Helper()
	return open(t, mem.CrashClone(vfs.CrashCloneCfg{}), opts)
}

// TestStageFlushesWhenFull: a stage that outgrows StageBytes is written
// by the Stage call that filled it; Close flushes what is left (with the
// log).
func TestStageFlushesWhenFull(t *testing.T) {
	forModes(t, loggedModes, func(t *testing.T, mode state.CheckpointWrite) {
		mem := vfs.NewCrashableMem()
		s, err := state.Open("db", state.Options{FS: mem, Logger: testLogger{t}, StageBytes: 1 << 10, CheckpointWrite: mode})
		require.NoError(t, err)
		durable := func() int64 {
			t.Helper()
			s2 := afterCrash(t, mem, state.Options{CheckpointWrite: mode})
			next, _, err := s2.GlobalOffset("customers", 0)
			require.NoError(t, err)
			require.NoError(t, s2.Close())
			return next
		}
		var flushedAt int64
		for i := int64(1); i <= 40 && flushedAt == 0; i++ {
			g := s.NewGlobalBatch()
			c := ana
			c.ID = i
			require.NoError(t, g.PutCustomer(stored(c, uint64(i), i-1)))
			require.NoError(t, g.SetOffset("customers", 0, i))
			require.NoError(t, g.Stage())
			if durable() == i {
				flushedAt = i
			}
		}
		require.NotZero(t, flushedAt, "40 customers outgrow 1 KiB")
		assert.Greater(t, flushedAt, int64(1), "a stage under the bound is kept")

		g := s.NewGlobalBatch()
		require.NoError(t, g.SetOffset("customers", 0, 100))
		require.NoError(t, g.Stage())
		assert.Equal(t, flushedAt, durable())
		require.NoError(t, s.Close())
		assert.Equal(t, int64(100), durable(), "Close flushes")
	})
}

// TestPartitionStage: staged batches of a partition are read by its next
// batches (rows, indexes, the fact-version clock) and by its Partition
// handle, which writes them first; a crash before a flush loses them,
// offsets included; a Commit writes them first; DropPartition discards
// them; a partition not held whole in memory commits instead (with the
// log).
func TestPartitionStage(t *testing.T) {
	forModes(t, loggedModes, func(t *testing.T, mode state.CheckpointWrite) {
		mem := vfs.NewCrashableMem()
		s := open(t, mem, state.Options{CheckpointWrite: mode})
		p := s.Partition(0)
		b := p.NewBatch()
		require.NoError(t, b.PutOrder(stored(order, 1, 0)))
		require.NoError(t, b.SetOffset("orders", 0, 1))
		require.NoError(t, b.Commit())

		// Staged: an item, a move of the order to customer 2, the clock.
		b = p.NewBatch()
		require.NoError(t, b.PutItem(stored(item, 2, 0)))
		moved := order
		moved.CustomerID = 2
		require.NoError(t, b.PutOrder(stored(moved, 3, 1)))
		require.NoError(t, b.SetFactVersion(1000, 77))
		require.NoError(t, b.SetOffset("orders", 0, 2))
		require.NoError(t, b.SetOffset("order_items", 0, 1))
		require.NoError(t, b.Stage())
		staged := func(t *testing.T, r topology.Rows) {
			t.Helper()
			o, ok, err := r.Order(100)
			require.NoError(t, err)
			require.True(t, ok)
			assert.Equal(t, int64(2), o.Row.CustomerID)
			_, ok, err = r.Item(100, 1000)
			require.NoError(t, err)
			assert.True(t, ok)
			assert.Equal(t, []topology.ItemRef{{OrderID: 100, ItemID: 1000}}, refs(t, r, 10))
			assert.Empty(t, ordersOf(t, r, 1))
			assert.Equal(t, []int64{100}, ordersOf(t, r, 2))
			v, _, err := r.LastFactVersion(1000)
			require.NoError(t, err)
			assert.Equal(t, uint64(77), v)
		}
		// The next batch reads them, also for a customer it changes itself.
		b = p.NewBatch()
		staged(t, b)
		back := moved
		back.CustomerID = 1
		require.NoError(t, b.PutOrder(stored(back, 4, 2)))
		assert.Equal(t, []int64{100}, ordersOf(t, b, 1))
		assert.Empty(t, ordersOf(t, b, 2))
		require.NoError(t, b.Close())

		// A crash loses the staged batch whole.
		crashed := afterCrash(t, mem, state.Options{CheckpointWrite: mode})
		cp := crashed.Partition(0)
		o, _, err := cp.Order(100)
		require.NoError(t, err)
		assert.Equal(t, int64(1), o.Row.CustomerID)
		_, ok, err := cp.Item(100, 1000)
		require.NoError(t, err)
		assert.False(t, ok)
		next, _, err := cp.Offset("orders", 0)
		require.NoError(t, err)
		assert.Equal(t, int64(1), next)
		_, ok, err = cp.Offset("order_items", 0)
		require.NoError(t, err)
		assert.False(t, ok)

		// A Commit writes the stage first; both survive a crash.
		b = p.NewBatch()
		require.NoError(t, b.SetOffset("payments", 0, 1))
		require.NoError(t, b.Commit())
		crashed = afterCrash(t, mem, state.Options{CheckpointWrite: mode})
		staged(t, crashed.Partition(0))
		next, _, err = crashed.Partition(0).Offset("order_items", 0)
		require.NoError(t, err)
		assert.Equal(t, int64(1), next)

		// A Partition read writes the stage too.
		b = p.NewBatch()
		require.NoError(t, b.SetOffset("payments", 0, 2))
		require.NoError(t, b.Stage())
		next, _, err = p.Offset("payments", 0)
		require.NoError(t, err)
		assert.Equal(t, int64(2), next)
		crashed = afterCrash(t, mem, state.Options{CheckpointWrite: mode})
		next, _, err = crashed.Partition(0).Offset("payments", 0)
		require.NoError(t, err)
		assert.Equal(t, int64(2), next)

		// DropPartition discards the stage: nothing comes back with a flush.
		b = p.NewBatch()
		require.NoError(t, b.PutPayment(stored(pay, 5, 3)))
		require.NoError(t, b.Stage())
		require.NoError(t, s.DropPartition(0))
		require.NoError(t, s.Flush())
		_, ok, err = p.Order(100)
		require.NoError(t, err)
		assert.False(t, ok)
		_, ok, err = p.Payment(100, 500)
		require.NoError(t, err)
		assert.False(t, ok)
	})
}

// TestPartitionStageNeedsTheWholePartition: a partition whose order views
// outgrow the cache commits its batches, and a stage in progress is
// written before a view leaves memory (with the log).
func TestPartitionStageNeedsTheWholePartition(t *testing.T) {
	forModes(t, loggedModes, func(t *testing.T, mode state.CheckpointWrite) {
		mem := vfs.NewCrashableMem()
		s := open(t, mem, state.Options{OrderCacheBytes: 16 << 10, CheckpointWrite: mode})
		p := s.Partition(0)
		durable := func() int64 {
			t.Helper()
			c := afterCrash(t, mem, state.Options{CheckpointWrite: mode})
			next, _, err := c.Partition(0).Offset("orders", 0)
			require.NoError(t, err)
			require.NoError(t, c.Close())
			return next
		}
		var lastStaged int64
		for i := int64(1); i <= 400; i++ {
			b := p.NewBatch()
			o := order
			o.ID = i
			// Deleted: no index entries, which would outgrow their share
			// first.
			st := stored(o, uint64(i), i-1)
			st.Deleted = true
			require.NoError(t, b.PutOrder(st))
			require.NoError(t, b.SetOffset("orders", 0, i))
			require.NoError(t, b.Stage())
			// A batch reads every order, staged or not, held or not.
			r := p.NewBatch()
			for j := int64(1); j <= i; j += 1 + i/8 {
				_, ok, err := r.Order(j)
				require.NoError(t, err)
				require.True(t, ok, "order %d after %d", j, i)
			}
			require.NoError(t, r.Close())
			if d := durable(); d < i {
				lastStaged = i
			} else {
				require.Equal(t, i, d)
			}
		}
		assert.Positive(t, lastStaged, "the first batches are staged")
		assert.Less(t, lastStaged, int64(400), "the last ones are committed")
		for i := int64(1); i <= 400; i++ {
			_, ok, err := p.Order(i)
			require.NoError(t, err)
			require.True(t, ok, "order %d", i)
		}
	})
}
