package state

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

// Errors of the Store.
var (
	// ErrFailed is returned once Pebble reported a fatal error (such as a
	// failed write-ahead-log write or sync), or a checkpoint failed to
	// reach the disk (a failed memtable flush with CheckpointFlush, a
	// failed sstable write or ingestion with CheckpointIngest): the store
	// refuses further commits and must be closed and reopened, which
	// replays the log (a failed batch is then either wholly present or
	// absent; without a log, what was not flushed is lost).
	ErrFailed = errors.New("state store failed")
	// ErrIncompatible is returned by Open for a directory written by an
	// incompatible layout version.
	ErrIncompatible = errors.New("incompatible state layout")
	// ErrBatchDone is returned when a committed or closed batch is used.
	ErrBatchDone = errors.New("state batch already committed or closed")
)

// Store is one node's Pebble instance: the global tables, the state of the
// order-stream partitions it holds, and the offsets they reflect. Reads
// and batch creation are safe for concurrent use; each Batch and
// GlobalBatch belongs to one goroutine. A Store must not be used after
// Close.
type Store struct {
	db    *pebble.DB
	wo    *pebble.WriteOptions
	cache *dimCache
	view  view // committed reads of the global tables
	stage stage

	// How checkpoints are written (Options.CheckpointWrite), and what
	// ingesting their sstables needs: the directory, its filesystem and
	// the sstable options of Pebble's.
	mode    CheckpointWrite
	dir     string
	fs      vfs.FS
	sstOpts sstable.WriterOptions
	// flushFailed is closed when a memtable flush failed
	// (CheckpointFlush).
	flushFailed   chan struct{}
	flushFailOnce sync.Once

	orderCacheBytes int64 // per partition; 0: no partition cache
	partStageBytes  int64 // per partition; ≤ 0: no staging
	partsMu         sync.Mutex
	partCaches      map[int32]*partCache

	failed    atomic.Pointer[error]
	closeOnce sync.Once
	closeErr  error
}

var _ topology.GlobalRows = (*Store)(nil)

// Open opens (creating if needed) the store in dir.
func Open(dir string, opts Options) (s *Store, err error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	cache := pebble.NewCache(opts.BlockCacheBytes)
	defer cache.Unref()
	defer func() {
		if r := recover(); r != nil {
			fe, ok := r.(*fatalError)
			if !ok {
				panic(r)
			}
			s, err = nil, fmt.Errorf("opening state in %s: %w: %s", dir, ErrFailed, fe.msg)
		}
	}()
	st := &Store{wo: pebble.Sync, mode: opts.CheckpointWrite, dir: dir, fs: opts.FS, flushFailed: make(chan struct{}),
		cache: newDimCache(opts.DimensionCacheBytes), partCaches: map[int32]*partCache{}}
	po := withKeyLayout(&pebble.Options{
		FS:           opts.FS,
		Cache:        cache,
		Logger:       pebbleLogger{opts.Logger},
		MemTableSize: 32 << 20,
	})
	if st.mode == CheckpointFlush {
		po.DisableWAL = true
		po.EventListener = &pebble.EventListener{FlushEnd: st.flushEnd}
	}
	if opts.tune != nil {
		opts.tune(po)
	}
	db, err := pebble.Open(dir, po)
	if err != nil && strings.Contains(err.Error(), "comparer name from file") {
		// Written by a release whose filters held other prefixes.
		return nil, fmt.Errorf("opening state in %s: %w: %s (%v)", dir, ErrIncompatible, rebuildHint, err)
	}
	if err != nil {
		return nil, fmt.Errorf("opening state in %s: %w", dir, err)
	}
	s = st
	s.db = db
	if f := s.failed.Load(); f != nil {
		return nil, errors.Join(fmt.Errorf("opening state in %s: %w", dir, *f), db.Close())
	}
	// The options Pebble writes its own tables with, for the sstables of
	// checkpoints (CheckpointIngest): the comparer, filters, block sizes
	// and key schema Open defaults, at the table format of the store's.
	wo := po.Clone()
	wo.EnsureDefaults()
	s.sstOpts = wo.MakeWriterOptions(0, db.TableFormat())
	if err := removeIngestLeftovers(opts.FS, dir); err != nil {
		return nil, errors.Join(fmt.Errorf("opening state in %s: %w", dir, err), db.Close())
	}
	s.orderCacheBytes = max(0, opts.OrderCacheBytes)
	s.stage.limit = opts.StageBytes
	s.partStageBytes = opts.PartitionStageBytes
	if opts.NoSync || s.mode == CheckpointFlush {
		// Without the log, a synced write is refused.
		s.wo = pebble.NoSync
	}
	s.view = view{s: s, r: db, part: -1}
	if err := s.checkFormat(); err != nil {
		return nil, errors.Join(fmt.Errorf("opening state in %s: %w", dir, err), db.Close())
	}
	if err := s.cache.preload(db); err != nil {
		return nil, errors.Join(fmt.Errorf("opening state in %s: %w", dir, err), db.Close())
	}
	return s, nil
}

// withKeyLayout sets in po what the key layout needs of Pebble: the
// comparer, and bloom filters, which let point reads and prefix scans of
// a group (most of them for rows the join rules look up) skip the tables
// that lack the key or the group (see split).
func withKeyLayout(po *pebble.Options) *pebble.Options {
	po.Comparer = comparer
	for i := range po.Levels {
		po.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	return po
}

// comparer orders keys bytewise and gives the bloom filters the prefixes
// of split. Its name stands for what the filters hold: Pebble refuses a
// directory written under another name, as older layouts were.
var comparer = func() *pebble.Comparer {
	c := *pebble.DefaultComparer
	c.Split = split
	// The smallest prefix after a group's is the next group's: the
	// default, the prefix and a zero byte, is no prefix of this Split.
	c.ImmediateSuccessor = func(dst, a []byte) []byte {
		if inGroup(a) {
			return append(dst, prefixEnd(a)...)
		}
		return append(append(dst, a...), 0)
	}
	c.Name = "drivetrain.bytewise.group-prefix"
	return &c
}()

// rebuildHint tells what to do with a state directory of another layout.
const rebuildHint = "written by another release: remove the directory, and the node rebuilds the state from the topics"

// checkFormat writes the layout version into a new store and checks it in
// an existing one.
func (s *Store) checkFormat() error {
	val, closer, err := s.db.Get(metaFormat)
	if errors.Is(err, pebble.ErrNotFound) {
		it, err := s.db.NewIter(nil)
		if err != nil {
			return err
		}
		empty := !it.First()
		if err := it.Close(); err != nil {
			return err
		}
		if !empty {
			return fmt.Errorf("%w: keys but no layout version", ErrIncompatible)
		}
		return s.db.Set(metaFormat, []byte{formatVersion}, s.syncWrite())
	}
	if err != nil {
		return err
	}
	defer closer.Close()
	if len(val) == 1 && slices.Contains(formatUpgradable, val[0]) {
		return s.db.Set(metaFormat, []byte{formatVersion}, s.syncWrite())
	}
	if len(val) != 1 || val[0] != formatVersion {
		return fmt.Errorf("%w: layout version %v, want %d (%s)", ErrIncompatible, val, formatVersion, rebuildHint)
	}
	return nil
}

// Close closes the store. It is idempotent; later calls return the first
// call's result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		defer func() {
			if r := recover(); r != nil {
				fe, ok := r.(*fatalError)
				if !ok {
					panic(r)
				}
				s.closeErr = fmt.Errorf("closing state: %w: %s", ErrFailed, fe.msg)
			}
		}()
		// Staged writes are kept by a graceful close.
		if err := s.Flush(); err != nil && !errors.Is(err, ErrFailed) {
			s.closeErr = err
		}
		if err := s.db.Close(); err != nil && s.closeErr == nil {
			s.closeErr = fmt.Errorf("closing state: %w", err)
		}
	})
	return s.closeErr
}

// syncWrite returns the options of the writes that are synced whatever
// Options.NoSync says: synced, except without a log (CheckpointFlush),
// where Pebble refuses a synced write and the next Flush makes it durable.
func (s *Store) syncWrite() *pebble.WriteOptions {
	if s.mode == CheckpointFlush {
		return pebble.NoSync
	}
	return pebble.Sync
}

// failOnFatal, deferred by a method that calls Pebble, turns a panic
// with a *fatalError (see pebbleLogger) into ErrFailed in *err, prefixed
// with what, and makes the store refuse further commits.
func (s *Store) failOnFatal(err *error, what string) {
	r := recover()
	if r == nil {
		return
	}
	fe, ok := r.(*fatalError)
	if !ok {
		panic(r)
	}
	*err = fmt.Errorf("%s: %w: %s", what, ErrFailed, fe.msg)
	s.failed.Store(err)
}

// commit commits b, turning Pebble's fatal errors into ErrFailed.
func (s *Store) commit(b *pebble.Batch) (err error) {
	if f := s.failed.Load(); f != nil {
		return *f
	}
	defer s.failOnFatal(&err, "committing state batch")
	if err := b.Commit(s.wo); err != nil {
		return fmt.Errorf("committing state batch: %w", err)
	}
	return nil
}

// Customer returns the stored customer (read through the dimension
// cache). It implements topology.GlobalRows.
func (s *Store) Customer(id int64) (topology.Stored[topology.Customer], bool, error) {
	return s.view.Customer(id)
}

// Vehicle returns the stored vehicle (read through the dimension cache).
// It implements topology.GlobalRows.
func (s *Store) Vehicle(id int64) (topology.Stored[topology.Vehicle], bool, error) {
	return s.view.Vehicle(id)
}

// HasDimension reports whether the customer or vehicle (table) with the
// given id is stored, a tombstone included, without decoding it or
// reading a vehicle's features text. Rows of the global tables are never
// removed, so a true answer stays true.
func (s *Store) HasDimension(table topology.Table, id int64) (bool, error) {
	var kind byte
	switch table {
	case topology.TableCustomers:
		kind = kindCustomer
	case topology.TableVehicles:
		kind = kindVehicle
	default:
		return false, fmt.Errorf("looking up %s %d: %w", table, id, topology.ErrWrongScope)
	}
	_, found, err := s.view.dimValue(kind, id)
	if err != nil {
		return false, fmt.Errorf("looking up %s %d: %w", table, id, err)
	}
	return found, nil
}

// Offset is a consumed position: the next offset to read from a topic
// partition.
type Offset struct {
	Topic     string
	Partition int32
	Next      int64
}

// GlobalOffset returns the offset stored for a global-table topic
// partition by GlobalBatch.SetOffset.
func (s *Store) GlobalOffset(topic string, partition int32) (next int64, ok bool, err error) {
	return s.view.offset(-1, topic, partition)
}

// GlobalOffsets returns every offset stored in the global range, sorted
// by topic and partition.
func (s *Store) GlobalOffsets() ([]Offset, error) { return s.view.offsets(-1) }

// Partition returns the handle of order-stream partition p (p ≥ 0). The
// handle reads committed state; write through NewBatch.
func (s *Store) Partition(p int32) *Partition {
	if p < 0 {
		panic(fmt.Sprintf("state: negative partition %d", p))
	}
	return &Partition{view: view{s: s, r: flushingReader{s, p}, part: p}}
}

// flushingReader reads the DB after writing partition part's stage to it:
// a Partition handle's reads see every committed batch, staged or not.
type flushingReader struct {
	s    *Store
	part int32
}

func (r flushingReader) flush() error {
	if err := r.s.partCache(r.part).flush(false); err != nil {
		return fmt.Errorf("reading partition %d: %w", r.part, err)
	}
	return nil
}

func (r flushingReader) Get(key []byte) ([]byte, io.Closer, error) {
	if err := r.flush(); err != nil {
		return nil, nil, err
	}
	return r.s.db.Get(key)
}

func (r flushingReader) NewIter(o *pebble.IterOptions) (*pebble.Iterator, error) {
	return r.NewIterWithContext(context.Background(), o)
}

func (r flushingReader) NewIterWithContext(ctx context.Context, o *pebble.IterOptions) (*pebble.Iterator, error) {
	if err := r.flush(); err != nil {
		return nil, err
	}
	return r.s.db.NewIterWithContext(ctx, o)
}

func (r flushingReader) Close() error { return nil }

// Partitions returns the order-stream partitions that have any state, in
// ascending order.
func (s *Store) Partitions() ([]int32, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{rangePartition}, UpperBound: []byte{rangePartition + 1}})
	if err != nil {
		return nil, fmt.Errorf("listing partitions: %w", err)
	}
	var out []int32
	for valid := it.First(); valid; {
		k := it.Key()
		if len(k) < 5 {
			return nil, errors.Join(fmt.Errorf("listing partitions: %w: short key %x", ErrCorrupt, k), it.Close())
		}
		p := int32(uint32(k[1])<<24 | uint32(k[2])<<16 | uint32(k[3])<<8 | uint32(k[4]))
		out = append(out, p)
		if p == math.MaxInt32 {
			break
		}
		valid = it.SeekGE(partitionPrefix(nil, p+1))
	}
	if err := it.Close(); err != nil {
		return nil, fmt.Errorf("listing partitions: %w", err)
	}
	return out, nil
}

// DropPartition deletes every key of partition p (rows, indexes, fact
// versions, offsets) with one range deletion, synced (with
// CheckpointFlush, durable at the next Flush, as every write). The global
// tables and the other partitions are untouched.
func (s *Store) DropPartition(p int32) (err error) {
	if f := s.failed.Load(); f != nil {
		return *f
	}
	prefix := partitionPrefix(nil, p)
	defer s.failOnFatal(&err, fmt.Sprintf("dropping partition %d", p))
	// Forget the partition's stage and cached views whatever the
	// outcome; the stage first, so that no flush writes into the range.
	s.partCache(p).dropStage()
	defer s.partCache(p).drop()
	if err := s.db.DeleteRange(prefix, prefixEnd(prefix), s.syncWrite()); err != nil {
		return fmt.Errorf("dropping partition %d: %w", p, err)
	}
	return nil
}

// DiskUsage estimates the bytes on disk of partition p's state.
func (s *Store) DiskUsage(p int32) (uint64, error) {
	prefix := partitionPrefix(nil, p)
	n, err := s.db.EstimateDiskUsage(prefix, prefixEnd(prefix))
	if err != nil {
		return 0, fmt.Errorf("estimating disk usage of partition %d: %w", p, err)
	}
	return n, nil
}

// CacheStats describes the dimension cache and, summed over the
// partitions, the order-view caches and their indexes.
type CacheStats struct {
	Hits, Misses uint64
	Bytes        int64 // approximate memory held
	Entries      int
	// Order views that write batches found in memory or not (a batch
	// looks each up once), views held and their approximate memory, and
	// index reads served from memory.
	OrderHits, OrderMisses uint64
	OrderEntries           int
	OrderBytes             int64
	IndexHits              uint64
	// Complete is set when the dimension cache holds every stored
	// customer and vehicle.
	Complete bool
}

// CacheStats returns the caches' counters.
func (s *Store) CacheStats() CacheStats {
	st := s.orderStats()
	st.Hits, st.Misses, st.Bytes, st.Entries, st.Complete = s.cache.stats()
	return st
}

// Partition reads the committed state of one order-stream partition (and
// the global tables). Safe for concurrent use; by convention one actor
// owns a partition and is its only writer.
type Partition struct {
	view
}

var _ topology.Rows = (*Partition)(nil)

// ID returns the partition number.
func (p *Partition) ID() int32 { return p.part }

// NewBatch starts a write batch on the partition. Its reads see its own
// writes.
func (p *Partition) NewBatch() *Batch {
	pb := p.s.db.NewIndexedBatch()
	pc := p.s.partCache(p.part)
	return &Batch{b: pb, view: view{s: p.s, r: pb, part: p.part, owned: true}, oc: batchOrders{pc: pc, gen: pc.generation()}}
}

// Offset returns the offset of a topic partition stored in this
// partition's range by Batch.SetOffset.
func (p *Partition) Offset(topic string, partition int32) (next int64, ok bool, err error) {
	return p.offset(p.part, topic, partition)
}

// Offsets returns every offset stored in this partition's range, sorted
// by topic and partition.
func (p *Partition) Offsets() ([]Offset, error) { return p.offsets(p.part) }
