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
// with the rows, so that a crash before it loses both and nothing else.
func TestStage(t *testing.T) {
	for _, tc := range []struct {
		name       string
		cacheBytes int64
	}{{"cache", 0}, {"no cache", -1}} {
		t.Run(tc.name, func(t *testing.T) {
			mem := vfs.NewCrashableMem()
			s := open(t, mem, state.Options{DimensionCacheBytes: tc.cacheBytes})

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
			s2 := open(t, mem.CrashClone(vfs.CrashCloneCfg{}), state.Options{DimensionCacheBytes: tc.cacheBytes})
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
			s3 := open(t, mem.CrashClone(vfs.CrashCloneCfg{}), state.Options{DimensionCacheBytes: tc.cacheBytes})
			checkStaged(t, s3)
			next, _, err = s3.GlobalOffset("customers", 0)
			require.NoError(t, err)
			assert.Equal(t, int64(3), next)
		})
	}
}

// TestStageFlushesWhenFull: a stage that outgrows StageBytes is written
// by the Stage call that filled it; Close flushes what is left.
func TestStageFlushesWhenFull(t *testing.T) {
	mem := vfs.NewCrashableMem()
	s, err := state.Open("db", state.Options{FS: mem, Logger: testLogger{t}, StageBytes: 1 << 10})
	require.NoError(t, err)
	durable := func() int64 {
		t.Helper()
		s2 := open(t, mem.CrashClone(vfs.CrashCloneCfg{}), state.Options{})
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
}
