package state

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Options configures a Store. The zero value works: every field documents
// its default.
type Options struct {
	// FS is the filesystem holding the store; default vfs.Default (the
	// operating system's). Tests use vfs.NewMem().
	FS vfs.FS
	// BlockCacheBytes sizes Pebble's block cache; default 16 MiB (reads
	// go to memory first: see DimensionCacheBytes and OrderCacheBytes).
	BlockCacheBytes int64
	// DimensionCacheBytes bounds the in-memory copy of the customers and
	// vehicles (approximate: the encoded size of each row plus a fixed
	// overhead, about 160 bytes per customer and 350 per vehicle); default
	// 512 MiB; negative disables it. When every row fits, no dimension read
	// goes to Pebble; beyond it, rows are read through.
	DimensionCacheBytes int64
	// OrderCacheBytes bounds, per partition, the in-memory copy of the
	// order views (an order with its items and payments, encoded, about
	// 250 bytes each; three quarters of the bound) and of the customer →
	// orders and vehicle → items indexes (about 40 bytes per entry; a
	// quarter) that write batches read; default 32 MiB; negative disables
	// it (a batch then still keeps the views it touched until it ends).
	// When a partition fits, its batches read nothing from Pebble; beyond
	// it, older views and, if they outgrow their share, the indexes are
	// read from Pebble.
	OrderCacheBytes int64
	// StageBytes bounds the global-table writes that GlobalBatch.Stage
	// keeps in memory, coalesced by key, before it writes them to Pebble
	// in one batch (approximate: the encoded rows and offsets); default
	// 64 MiB; negative makes Stage commit like Commit.
	StageBytes int64
	// PartitionStageBytes bounds, per partition, the writes that batches
	// keep in memory, coalesced by key, before they are written to Pebble
	// in one batch (see stage.go); default 8 MiB; negative: every batch is
	// committed to Pebble.
	PartitionStageBytes int64
	// NoSync makes commits return before the write-ahead log reaches
	// stable storage: faster, and a process crash loses nothing, but a
	// machine crash may lose the last commits, whose rows may already be in
	// ClickHouse with their Kafka offsets committed. After such a crash a
	// partition's stored offsets are below the committed ones, and it must
	// be replayed from its stored offsets or rebuilt (see the package doc).
	// Default false: every commit is synced.
	NoSync bool
	// CheckpointWrite is how a checkpoint, Flush writing the stages (and a
	// stage written because it outgrew its bound or by Partition.Flush),
	// reaches the disk; see CheckpointWAL, CheckpointFlush and
	// CheckpointIngest. Default (empty) CheckpointWAL.
	CheckpointWrite CheckpointWrite
	// Logger receives Pebble's log lines; default Pebble's (the standard
	// library logger).
	Logger Logger

	// tune, set by tests of this package, adjusts Pebble's options.
	tune func(*pebble.Options)
}

// CheckpointWrite names how the Store writes its checkpoints (see
// stage.go). Every mode writes a stage atomically with the offsets it
// reflects, so that after a crash the stored offsets never pass the stored
// rows.
type CheckpointWrite string

const (
	// CheckpointWAL writes each stage as one Pebble batch through the
	// write-ahead log, synced unless Options.NoSync, as every commit.
	CheckpointWAL CheckpointWrite = "wal"
	// CheckpointFlush opens Pebble without its write-ahead log: every
	// write, staged or committed, goes to the memtable only, and Flush
	// (and Close) writes the stages and then flushes the memtables to
	// sstables before it returns. A crash loses what was written since
	// the last Flush (or since the last memtable Pebble flushed on its
	// own when it filled), commits and DropPartition included; the
	// records after the stored offsets are read again, as after a lost
	// stage. Options.NoSync has no effect. A failed flush fails the store
	// (ErrFailed).
	CheckpointFlush CheckpointWrite = "flush"
	// CheckpointIngest keeps the write-ahead log for commits (synced
	// unless Options.NoSync) and writes each stage of a checkpoint as an
	// sstable, its keys sorted, that Pebble ingests: one file and one
	// ingestion per stage, the global tables' and each partition's, each
	// with its offsets. A stage written ahead of a commit or of a read
	// that needs it in Pebble is committed as a batch, as CheckpointWAL
	// does. A failed sstable write or ingestion fails the store
	// (ErrFailed).
	CheckpointIngest CheckpointWrite = "ingest"
)

// CheckpointWrites lists the valid CheckpointWrite values.
var CheckpointWrites = []CheckpointWrite{CheckpointWAL, CheckpointFlush, CheckpointIngest}

// CheckpointWritesText lists CheckpointWrites for messages: "wal, flush,
// ingest".
func CheckpointWritesText() string {
	names := make([]string, len(CheckpointWrites))
	for i, w := range CheckpointWrites {
		names[i] = string(w)
	}
	return strings.Join(names, ", ")
}

// Valid reports whether w is one of CheckpointWrites or empty (the
// default, CheckpointWAL).
func (w CheckpointWrite) Valid() bool {
	return w == "" || slices.Contains(CheckpointWrites, w)
}

// Logger is what the Store logs to: Pebble's informational and error
// lines. Fatal conditions are not logged through it: they become errors
// (ErrFailed) or, in Pebble's background work, panics.
type Logger interface {
	Infof(format string, args ...any)
	Errorf(format string, args ...any)
}

const (
	defaultBlockCacheBytes     = 16 << 20
	defaultDimensionCacheBytes = 512 << 20
	defaultOrderCacheBytes     = 32 << 20
	defaultStageBytes          = 64 << 20
	defaultPartitionStageBytes = 8 << 20
)

// ErrInvalidOptions is wrapped by the errors of Options.Validate.
var ErrInvalidOptions = errors.New("invalid state options")

// Validate reports the first invalid field, by name.
func (o Options) Validate() error {
	if o.BlockCacheBytes < 0 {
		return fmt.Errorf("%w: BlockCacheBytes %d is negative", ErrInvalidOptions, o.BlockCacheBytes)
	}
	if !o.CheckpointWrite.Valid() {
		return fmt.Errorf("%w: CheckpointWrite %q is not one of %s", ErrInvalidOptions, o.CheckpointWrite, CheckpointWritesText())
	}
	return nil
}

// withDefaults returns o with its zero fields set to the defaults.
func (o Options) withDefaults() Options {
	if o.FS == nil {
		o.FS = vfs.Default
	}
	if o.BlockCacheBytes == 0 {
		o.BlockCacheBytes = defaultBlockCacheBytes
	}
	if o.DimensionCacheBytes == 0 {
		o.DimensionCacheBytes = defaultDimensionCacheBytes
	}
	if o.OrderCacheBytes == 0 {
		o.OrderCacheBytes = defaultOrderCacheBytes
	}
	if o.StageBytes == 0 {
		o.StageBytes = defaultStageBytes
	}
	if o.PartitionStageBytes == 0 {
		o.PartitionStageBytes = defaultPartitionStageBytes
	}
	if o.Logger == nil {
		o.Logger = pebble.DefaultLogger
	}
	if o.CheckpointWrite == "" {
		o.CheckpointWrite = CheckpointWAL
	}
	return o
}

// pebbleLogger adapts Logger to Pebble's, turning Fatalf into a panic
// with a *fatalError, which the Store recovers where it called Pebble.
type pebbleLogger struct{ l Logger }

func (p pebbleLogger) Infof(format string, args ...any)  { p.l.Infof(format, args...) }
func (p pebbleLogger) Errorf(format string, args ...any) { p.l.Errorf(format, args...) }

func (p pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.l.Errorf("%s", msg)
	panic(&fatalError{msg: msg})
}

type fatalError struct{ msg string }

func (e *fatalError) Error() string { return e.msg }
