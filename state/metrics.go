package state

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// NumLevels is the number of levels of the store's LSM tree (L0 to L6).
const NumLevels = 7

// Metrics is a snapshot of the store's Pebble figures, for monitoring.
// The fields ending in Total, and CompactionsByKind, count from the moment
// the store was opened; the others are current values.
type Metrics struct {
	// DiskBytes is the disk space the store uses: live, obsolete and
	// zombie tables, the write-ahead log, the manifest and the options
	// file, and the output of compactions in progress.
	DiskBytes uint64
	// Levels describes each level of the LSM tree, L0 first.
	Levels [NumLevels]LevelMetrics
	// Tables and TableBytes are the live sstables summed over the levels.
	Tables     int64
	TableBytes int64
	// ReadAmplification is the number of sublevels a read may have to
	// consult: the sublevels of L0 plus the non-empty levels below it.
	ReadAmplification int
	// WriteAmplification is the bytes written to sstables (by flushes and
	// compactions) and to the write-ahead log, divided by the bytes
	// written to the write-ahead log; 0 before any write.
	WriteAmplification float64

	// CompactionsTotal counts the finished compactions (flushes are
	// counted apart); CompactionsByKind splits it by kind: "default",
	// "move", "copy", "delete_only", "elision_only", "read",
	// "tombstone_density", "rewrite", "blob_file_rewrite" (every kind
	// present, zero or not).
	CompactionsTotal  int64
	CompactionsByKind map[string]int64
	// CompactionsInProgress is the number of compactions running now.
	CompactionsInProgress int64
	// CompactionDebtBytes estimates the bytes that must be compacted for
	// the LSM tree to reach a stable shape.
	CompactionDebtBytes uint64
	// CompactedBytesTotal is the bytes compactions wrote to sstables and
	// blob files.
	CompactedBytesTotal uint64

	// FlushesTotal counts memtable flushes; FlushedBytesTotal the bytes
	// they wrote to sstables and blob files.
	FlushesTotal      int64
	FlushedBytesTotal uint64

	// WALBytesInTotal is the logical bytes written to the write-ahead log;
	// WALBytesWrittenTotal the bytes written to it physically, including
	// its framing overhead; WALFiles and WALBytes the live log files and
	// their size on disk.
	WALBytesInTotal      uint64
	WALBytesWrittenTotal uint64
	WALFiles             int64
	WALBytes             uint64

	// MemTableBytes is the memory allocated by the memtables (the
	// mutable one and those waiting to be flushed); MemTables their
	// number.
	MemTableBytes uint64
	MemTables     int64

	// BlockCacheBytes is the memory the block cache holds;
	// BlockCacheHitsTotal and BlockCacheMissesTotal count its lookups.
	BlockCacheBytes       int64
	BlockCacheHitsTotal   int64
	BlockCacheMissesTotal int64
}

// LevelMetrics describes one level of the LSM tree.
type LevelMetrics struct {
	// Tables is the number of sstables in the level; Bytes their size.
	Tables int64
	Bytes  int64
	// Sublevels is the level's contribution to read amplification: 0 for
	// an empty level, 1 for a non-empty level below L0, L0's sublevel
	// count for L0.
	Sublevels int32
}

// Metrics returns a snapshot of the store's Pebble metrics. It does no
// I/O. Safe for concurrent use; the Store must be open.
func (s *Store) Metrics() Metrics {
	pm := s.db.Metrics()
	m := Metrics{
		DiskBytes:             pm.DiskSpaceUsage(),
		ReadAmplification:     pm.ReadAmp(),
		CompactionsTotal:      pm.Compact.Count,
		CompactionsInProgress: pm.Compact.NumInProgress,
		CompactionDebtBytes:   pm.Compact.EstimatedDebt,
		CompactionsByKind: map[string]int64{
			"default":           pm.Compact.DefaultCount,
			"move":              pm.Compact.MoveCount,
			"copy":              pm.Compact.CopyCount,
			"delete_only":       pm.Compact.DeleteOnlyCount,
			"elision_only":      pm.Compact.ElisionOnlyCount,
			"read":              pm.Compact.ReadCount,
			"tombstone_density": pm.Compact.TombstoneDensityCount,
			"rewrite":           pm.Compact.RewriteCount,
			"blob_file_rewrite": pm.Compact.BlobFileRewriteCount,
		},
		FlushesTotal:          pm.Flush.Count,
		WALBytesInTotal:       pm.WAL.BytesIn,
		WALBytesWrittenTotal:  pm.WAL.BytesWritten,
		WALFiles:              pm.WAL.Files,
		WALBytes:              pm.WAL.PhysicalSize,
		MemTableBytes:         pm.MemTable.Size,
		MemTables:             pm.MemTable.Count,
		BlockCacheBytes:       pm.BlockCache.Size,
		BlockCacheHitsTotal:   pm.BlockCache.Hits,
		BlockCacheMissesTotal: pm.BlockCache.Misses,
	}
	// levels fails to compile if Pebble's level count differs.
	var levels *[NumLevels]pebble.LevelMetrics = &pm.Levels
	for i := range levels {
		l := &levels[i]
		m.Levels[i] = LevelMetrics{Tables: l.TablesCount, Bytes: l.TablesSize, Sublevels: l.Sublevels}
		m.Tables += l.TablesCount
		m.TableBytes += l.TablesSize
		m.FlushedBytesTotal += l.TableBytesFlushed + l.BlobBytesFlushed
		m.CompactedBytesTotal += l.TableBytesCompacted + l.BlobBytesCompacted
	}
	// Total folds the write-ahead log into L0's input and output, so its
	// write amplification is that of the whole store.
	total := pm.Total()
	m.WriteAmplification = total.WriteAmp()
	return m
}

// Usage is the estimated disk usage of the store's key ranges.
type Usage struct {
	// Global is the bytes of the global range: the customers, vehicles
	// and the offsets of their topics.
	Global uint64
	// Partitions is the bytes of each order-stream partition that has
	// state, by partition number (held or not: a revoked partition keeps
	// its state until it is dropped).
	Partitions map[int32]uint64
}

// Usage estimates the bytes on disk of the global range and of each
// order-stream partition's range. Estimates cover the sstables that
// overlap a range (in proportion where a table spans several), so writes
// still in the memtables count for nothing until they are flushed. It
// reads only metadata and the partitions' first keys. Safe for
// concurrent use.
func (s *Store) Usage() (Usage, error) {
	global := []byte{rangeGlobal}
	g, err := s.db.EstimateDiskUsage(global, prefixEnd(global))
	if err != nil {
		return Usage{}, fmt.Errorf("estimating disk usage of the global tables: %w", err)
	}
	parts, err := s.Partitions()
	if err != nil {
		return Usage{}, err
	}
	u := Usage{Global: g, Partitions: make(map[int32]uint64, len(parts))}
	for _, p := range parts {
		if u.Partitions[p], err = s.DiskUsage(p); err != nil {
			return Usage{}, err
		}
	}
	return u, nil
}
