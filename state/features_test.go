package state

import (
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

// TestVehicleFeaturesStoredApart: a vehicle's features text has a key of
// its own, written only when it changes, and every read returns the
// whole row, with the dimension cache and without it, before and after a
// reopen.
func TestVehicleFeaturesStoredApart(t *testing.T) {
	doc1 := `{"seats":5,"extras":"` + strings.Repeat("x", 8<<10) + `"}`
	doc2 := `{"seats":7}`
	for _, tc := range []struct {
		name       string
		cacheBytes int64
	}{{"cache", 0}, {"no cache", -1}, {"tiny cache", 4 << 10}} {
		t.Run(tc.name, func(t *testing.T) {
			fs := vfs.NewMem()
			opts := Options{FS: fs, DimensionCacheBytes: tc.cacheBytes}
			s, err := Open("db", opts)
			require.NoError(t, err)
			lsn := uint64(0)
			// put writes v and returns how many keys its batch wrote.
			put := func(v topology.Vehicle) uint32 {
				t.Helper()
				lsn++
				g := s.NewGlobalBatch()
				require.NoError(t, g.PutVehicle(topology.Stored[topology.Vehicle]{Row: v, LSN: lsn}))
				// The batch reads its own write whole.
				got, ok, err := g.Vehicle(v.ID)
				require.NoError(t, err)
				require.True(t, ok)
				assert.Equal(t, v, got.Row)
				n := uint32(len(g.pending))
				require.NoError(t, g.Commit())
				return n
			}
			read := func() topology.Vehicle {
				t.Helper()
				got, ok, err := s.Vehicle(7)
				require.NoError(t, err)
				require.True(t, ok)
				// A partition's read, for facts, leaves the text out.
				part, ok, err := s.Partition(0).Vehicle(7)
				require.NoError(t, err)
				require.True(t, ok)
				want := got.Row
				want.Features.V = ""
				assert.Equal(t, want, part.Row)
				return got.Row
			}
			v := topology.Vehicle{ID: 7, Make: "Seat", ListPrice: topology.NewDecimal(100, 2), Features: topology.Some(doc1)}
			assert.Equal(t, uint32(2), put(v), "a new vehicle: row and features")
			assert.Equal(t, v, read())

			v.ListPrice = topology.NewDecimal(90, 2)
			assert.Equal(t, uint32(1), put(v), "a price change: the row only")
			assert.Equal(t, v, read())

			v.Features = topology.Some(doc2)
			assert.Equal(t, uint32(2), put(v), "new features")
			assert.Equal(t, v, read())

			v.Features = topology.Opt[string]{}
			assert.Equal(t, uint32(1), put(v), "features set to NULL")
			assert.Equal(t, v, read())

			v.Features = topology.Some(doc2)
			assert.Equal(t, uint32(1), put(v), "back to the text still stored")
			assert.Equal(t, v, read())

			require.NoError(t, s.Close())
			s, err = Open("db", opts)
			require.NoError(t, err)
			defer s.Close()
			assert.Equal(t, v, read(), "after a reopen")
			assert.Equal(t, uint32(2), put(topology.Vehicle{ID: 8, Features: topology.Some(doc1)}), "another vehicle")
			v8, ok, err := s.Vehicle(8)
			require.NoError(t, err)
			require.True(t, ok)
			assert.Equal(t, doc1, v8.Row.Features.V)
		})
	}
}

// TestHasDimension: presence of customers and vehicles, tombstones
// included, without reading them; other tables are refused.
func TestHasDimension(t *testing.T) {
	s, err := Open("db", Options{FS: vfs.NewMem(), DimensionCacheBytes: -1})
	require.NoError(t, err)
	defer s.Close()
	g := s.NewGlobalBatch()
	require.NoError(t, g.PutCustomer(topology.Stored[topology.Customer]{Row: topology.Customer{ID: 1}, LSN: 1}))
	require.NoError(t, g.PutVehicle(topology.Stored[topology.Vehicle]{Row: topology.Vehicle{ID: 2, Features: topology.Some(`{}`)}, LSN: 1, Deleted: true}))
	require.NoError(t, g.Commit())
	for _, tc := range []struct {
		table topology.Table
		id    int64
		want  bool
	}{
		{topology.TableCustomers, 1, true},
		{topology.TableCustomers, 2, false},
		{topology.TableVehicles, 2, true}, // a tombstone
		{topology.TableVehicles, 1, false},
	} {
		got, err := s.HasDimension(tc.table, tc.id)
		require.NoError(t, err)
		assert.Equal(t, tc.want, got, "%s %d", tc.table, tc.id)
	}
	_, err = s.HasDimension(topology.TableOrders, 1)
	assert.ErrorIs(t, err, topology.ErrWrongScope)
}
