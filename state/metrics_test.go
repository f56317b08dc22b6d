package state

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

// discardLogger drops Pebble's informational lines and reports its errors.
type discardLogger struct{ t testing.TB }

func (discardLogger) Infof(string, ...any)                {}
func (l discardLogger) Errorf(format string, args ...any) { l.t.Logf("pebble: "+format, args...) }

// writeRows commits n customers (ids from first) and, in each of the
// given partitions, n orders, through the public batch API.
func writeRows(t *testing.T, s *Store, first int64, n int, partitions ...int32) {
	t.Helper()
	g := s.NewGlobalBatch()
	for id := first; id < first+int64(n); id++ {
		c := topology.Customer{ID: id, Email: fmt.Sprintf("c%d@example.com", id), FirstName: "Ana", LastName: "García",
			City: "Madrid", Country: "ES", Segment: "retail"}
		require.NoError(t, g.PutCustomer(topology.Stored[topology.Customer]{Row: c, LSN: uint64(id)}))
	}
	require.NoError(t, g.Commit())
	for _, p := range partitions {
		b := s.Partition(p).NewBatch()
		for id := first; id < first+int64(n); id++ {
			o := topology.Order{ID: id, CustomerID: id, Status: "pending", Channel: "web", Currency: "EUR"}
			require.NoError(t, b.PutOrder(topology.Stored[topology.Order]{Row: o, LSN: uint64(id)}))
		}
		require.NoError(t, b.Commit())
	}
}

// TestMetrics drives a store through writes, flushes, a compaction and
// reads, and checks that each moves the figures it should.
func TestMetrics(t *testing.T) {
	// No dimension cache: reads of customers reach Pebble's block cache.
	s, err := Open("db", Options{FS: vfs.NewMem(), DimensionCacheBytes: -1, Logger: discardLogger{t}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })

	steps := []struct {
		name  string
		do    func(t *testing.T)
		check func(t *testing.T, before, after Metrics)
	}{
		{
			name: "writes go to the log and the memtable",
			do:   func(t *testing.T) { writeRows(t, s, 1, 500, 0, 1) },
			check: func(t *testing.T, before, after Metrics) {
				assert.Greater(t, after.WALBytesInTotal, before.WALBytesInTotal)
				assert.GreaterOrEqual(t, after.WALBytesWrittenTotal, after.WALBytesInTotal, "framing adds to the logical bytes")
				assert.Positive(t, after.WALFiles)
				assert.Positive(t, after.MemTables)
				assert.Positive(t, after.MemTableBytes)
				assert.Zero(t, after.FlushesTotal)
				assert.Zero(t, after.Tables, "nothing flushed yet")
				assert.Zero(t, after.ReadAmplification)
			},
		},
		{
			name: "a flush writes an L0 table",
			do:   func(t *testing.T) { require.NoError(t, s.db.Flush()) },
			check: func(t *testing.T, before, after Metrics) {
				assert.Greater(t, after.FlushesTotal, before.FlushesTotal)
				assert.Greater(t, after.FlushedBytesTotal, before.FlushedBytesTotal)
				assert.Positive(t, after.Levels[0].Tables)
				assert.Positive(t, after.Levels[0].Bytes)
				assert.Positive(t, after.Levels[0].Sublevels)
				assert.Equal(t, after.Levels[0].Tables, after.Tables, "every table in L0")
				assert.Positive(t, after.ReadAmplification)
				assert.Greater(t, after.DiskBytes, before.DiskBytes)
				assert.GreaterOrEqual(t, after.DiskBytes, uint64(after.TableBytes))
				assert.Greater(t, after.WriteAmplification, 1.0, "the log and the table")
			},
		},
		{
			name: "more writes and a second flush add to L0",
			do: func(t *testing.T) {
				writeRows(t, s, 1, 500, 0, 1) // the same keys again: the tables overlap
				require.NoError(t, s.db.Flush())
			},
			check: func(t *testing.T, before, after Metrics) {
				assert.Greater(t, after.FlushesTotal, before.FlushesTotal)
				// L0 holds another table, unless Pebble's background work
				// already compacted the overlapping ones.
				assert.True(t, after.Levels[0].Tables > before.Levels[0].Tables || after.CompactionsTotal > before.CompactionsTotal,
					"L0 tables %d → %d, compactions %d → %d", before.Levels[0].Tables, after.Levels[0].Tables, before.CompactionsTotal, after.CompactionsTotal)
			},
		},
		{
			name: "a compaction empties L0",
			do: func(t *testing.T) {
				require.NoError(t, s.db.Compact(context.Background(), []byte{0}, []byte{0xff}, false))
			},
			check: func(t *testing.T, before, after Metrics) {
				// This compaction, or the background one of the step before.
				assert.Positive(t, after.CompactionsTotal)
				var byKind int64
				for _, n := range after.CompactionsByKind {
					byKind += n
				}
				assert.Equal(t, after.CompactionsTotal, byKind, "the kinds add up to the total")
				assert.Positive(t, after.CompactionsByKind["default"], "overlapping L0 tables are merged")
				assert.Positive(t, after.CompactedBytesTotal)
				assert.Zero(t, after.Levels[0].Tables)
				assert.Positive(t, after.Tables)
				assert.Zero(t, after.CompactionsInProgress)
				var sum int64
				for _, l := range after.Levels {
					sum += l.Bytes
				}
				assert.Equal(t, after.TableBytes, sum)
			},
		},
		{
			name: "reads go through the block cache",
			do: func(t *testing.T) {
				for range 2 {
					_, ok, err := s.Customer(42)
					require.NoError(t, err)
					require.True(t, ok)
				}
			},
			check: func(t *testing.T, before, after Metrics) {
				assert.Greater(t, after.BlockCacheHitsTotal+after.BlockCacheMissesTotal,
					before.BlockCacheHitsTotal+before.BlockCacheMissesTotal)
				assert.Greater(t, after.BlockCacheHitsTotal, before.BlockCacheHitsTotal, "the second read hits")
				assert.Positive(t, after.BlockCacheBytes)
			},
		},
	}
	before := s.Metrics()
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.do(t)
			after := s.Metrics()
			st.check(t, before, after)
			before = after
		})
	}
}

func TestUsage(t *testing.T) {
	s, err := Open("db", Options{FS: vfs.NewMem(), Logger: discardLogger{t}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })

	u, err := s.Usage()
	require.NoError(t, err)
	assert.Zero(t, u.Global)
	assert.Empty(t, u.Partitions)

	writeRows(t, s, 1, 200, 0, 3)
	writeRows(t, s, 1000, 2000, 1) // partition 1 holds the most
	u, err = s.Usage()
	require.NoError(t, err)
	assert.Equal(t, []int32{0, 1, 3}, slices.Sorted(maps.Keys(u.Partitions)), "every partition with state")
	assert.Zero(t, u.Partitions[0], "nothing flushed: no table to measure")

	require.NoError(t, s.db.Flush())
	u, err = s.Usage()
	require.NoError(t, err)
	assert.Positive(t, u.Global)
	for p, n := range u.Partitions {
		assert.Positive(t, n, "partition %d", p)
	}
	assert.Greater(t, u.Partitions[1], u.Partitions[0])

	require.NoError(t, s.DropPartition(3))
	u, err = s.Usage()
	require.NoError(t, err)
	assert.Equal(t, []int32{0, 1}, slices.Sorted(maps.Keys(u.Partitions)), "a dropped partition has no state")
}
