package state

import (
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/cockroachdb/pebble/v2"
)

// stage holds the global-table writes of staged batches (GlobalBatch.Stage)
// that are not in Pebble yet: the latest encoded row per key and the latest
// offset per topic partition. Staging coalesces the writes of many batches
// into one Pebble batch with one value per key. In the global tables'
// bootstrap, where each vehicle is written many times and a Pebble commit
// per poll wrote six times the bytes that remained, this removes most of
// the write-ahead log, memtable and compaction work.
//
// Reads of the global rows see staged rows (view.dimValue: after the
// dimension cache, which a stage also fills, and before Pebble); offsets
// are read from Pebble only, so GlobalOffset reports what survives a
// crash. Safe for concurrent use.
type stage struct {
	limit int64 // flush when bytes exceed it; negative: never keep

	mu      sync.Mutex
	n       atomic.Int64 // staged rows, read without mu to skip empty lookups
	rows    map[cacheKey]string
	offsets map[string]int64 // offset key → next
	bytes   int64
}

// add stages rows and offsets (later values replace earlier ones) and
// reports whether the stage outgrew its limit.
func (st *stage) add(rows map[cacheKey]string, offsets map[string]int64) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.rows == nil {
		st.rows, st.offsets = map[cacheKey]string{}, map[string]int64{}
	}
	for k, v := range rows {
		if old, ok := st.rows[k]; ok {
			st.bytes -= int64(len(old))
		} else {
			st.bytes += stagedKeyBytes
		}
		st.rows[k] = v
		st.bytes += int64(len(v))
	}
	for k, v := range offsets {
		if _, ok := st.offsets[k]; !ok {
			st.bytes += int64(len(k)) + stagedKeyBytes
		}
		st.offsets[k] = v
	}
	st.n.Store(int64(len(st.rows)))
	return st.bytes > st.limit
}

// clear empties the stage. The caller holds mu.
func (st *stage) clear() {
	st.rows, st.offsets, st.bytes = nil, nil, 0
	st.n.Store(0)
}

// stagedKeyBytes approximates a staged entry's memory beyond its value.
const stagedKeyBytes = 48

// get returns a staged row.
func (st *stage) get(k cacheKey) (string, bool) {
	if st.n.Load() == 0 {
		return "", false
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	v, ok := st.rows[k]
	return v, ok
}

// Flush writes a checkpoint: every staged global-table row and offset in
// one atomic write, then each partition's stage (see below), in the way
// Options.CheckpointWrite names (see checkpoint.go): a batch synced
// unless Options.NoSync; with CheckpointFlush, batches and then a flush
// of every memtable, so that whatever was written before Flush, commits
// included, is in sstables when it returns; with CheckpointIngest, an
// ingested sstable per stage. Close flushes; a crash loses what was
// staged since the last flush, rows and offsets together, so that the
// stored offsets never pass the stored rows: the records after them are
// read again and re-applied.
func (s *Store) Flush() error {
	if err := s.flushGlobal(true); err != nil {
		return err
	}
	s.partsMu.Lock()
	caches := slices.Collect(maps.Values(s.partCaches))
	s.partsMu.Unlock()
	for _, c := range caches {
		if err := c.flush(true); err != nil {
			return err
		}
	}
	if s.mode == CheckpointFlush {
		return s.flushMemtables()
	}
	return nil
}

// flushGlobal writes the global stage to Pebble; checkpoint as in
// newStageWrite.
func (s *Store) flushGlobal(checkpoint bool) error {
	st := &s.stage
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.rows) == 0 && len(st.offsets) == 0 {
		return nil
	}
	w := s.newStageWrite("global", len(st.rows)+len(st.offsets), st.bytes, checkpoint)
	var key []byte
	for k, v := range st.rows {
		key = globalKey(key[:0], k.kind, k.id)
		// The stage keeps v until it is cleared below.
		if err := w.set(key, unsafe.Slice(unsafe.StringData(v), len(v))); err != nil {
			return w.abort(fmt.Errorf("staging global rows: %w", err))
		}
	}
	for k, next := range st.offsets {
		val := binary.AppendUvarint(nil, uint64(next))
		if err := w.set(unsafe.Slice(unsafe.StringData(k), len(k)), val); err != nil {
			return w.abort(fmt.Errorf("staging global offsets: %w", err))
		}
	}
	if err := w.commit(); err != nil {
		// The rows stay staged (and cached): reads keep seeing them, and
		// the store refuses further commits (ErrFailed).
		return err
	}
	st.clear()
	return nil
}

// DropStaged forgets the staged writes, global and of every partition,
// as a crash would, and the copies the caches hold of them: reads return
// what Pebble has.
// Tests that stop a node as a crash would call it before Close.
func (s *Store) DropStaged() {
	st := &s.stage
	st.mu.Lock()
	s.cache.invalidate(st.rows)
	st.clear()
	st.mu.Unlock()
	s.partsMu.Lock()
	defer s.partsMu.Unlock()
	for _, c := range s.partCaches {
		c.mu.Lock()
		if len(c.staged) > 0 {
			// The cache holds the dropped writes: read the partition
			// again.
			c.staged, c.stagedBytes = nil, 0
			c.gen++
			c.loaded, c.complete = false, false
			c.indexed, c.custOrders, c.vehItems = false, nil, nil
			c.orders, c.oldOrders = newTable(c.chunk), newTable(c.chunk)
		}
		c.mu.Unlock()
	}
}

// A partition's batches can be staged too (Batch.Stage), while its
// cache holds it whole (every order view and both indexes: no batch then
// reads the partition from Pebble): the batch's writes go to the
// partition's stage, coalesced by key, its views to the cache, and
// nothing to Pebble. The stage is written in one batch when it outgrows
// Options.PartitionStageBytes, before anything leaves the cache (a view,
// or the indexes: later reads of it go to Pebble), and by Flush,
// Partition.Flush, any Commit of the partition, Partition reads and
// Close. It holds whole batches with their offsets, so Pebble always has
// the state after some record of each topic; a crash loses the rest,
// which the node reads again.
//
// A crash loses the stage: the caller must be able to read its records
// again. The actors stage while they rebuild a partition and, between
// checkpoints, while it runs (see package actors, "Checkpoints"): the
// rows a lost stage emitted are superseded when the records are read
// again, since the join's result does not depend on the interleaving of
// the topics, from a lost state included (topology/doc.go, "Lost
// state").

// stage keeps a committed batch's writes (pb) in the stage and installs
// its views, clock and index changes, and reports whether it did; when
// the partition is not held whole, it writes the stage to Pebble and
// returns false: the caller commits the batch.
func (c *partCache) stage(gen uint64, part int32, pb *pebble.Batch, orders map[int64]*orderEntry, clock uint64, ops []indexOp) (bool, error) {
	if c == nil || c.stageLimit <= 0 {
		return false, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.load(c.s, part) == nil && c.complete && gen == c.gen {
		// The indexes are needed whole; they are loaded before the
		// batch's changes, which install applies.
		if err := c.loadIndexes(c.s, part); err != nil {
			return false, err
		}
	}
	if !c.loaded || !c.complete || !c.indexed || gen != c.gen {
		// Ahead of the caller's commit.
		return false, c.flushStage(false)
	}
	if c.staged == nil {
		c.staged = map[string]stagedWrite{}
	}
	r := pb.Reader()
	for {
		kind, key, val, ok, err := r.Next()
		if err != nil {
			return false, fmt.Errorf("staging partition %d: %w", part, err)
		}
		if !ok {
			break
		}
		w := stagedWrite{del: kind == pebble.InternalKeyKindDelete}
		if !w.del {
			if kind != pebble.InternalKeyKindSet {
				return false, fmt.Errorf("staging partition %d: unexpected write of kind %v", part, kind)
			}
			w.val = slices.Clone(val)
		}
		if old, ok := c.staged[string(key)]; ok {
			c.stagedBytes -= int64(len(old.val))
		} else {
			c.stagedBytes += int64(len(key)) + stagedKeyBytes
		}
		c.staged[string(key)] = w
		c.stagedBytes += int64(len(w.val))
	}
	if err := c.installLocked(gen, orders, clock, ops); err != nil {
		return true, err
	}
	if c.stagedBytes > c.stageLimit {
		return true, c.flushStage(true)
	}
	return true, nil
}

// flushStage writes the partition's stage to Pebble in one atomic write;
// checkpoint as in newStageWrite. The caller holds mu.
func (c *partCache) flushStage(checkpoint bool) error {
	if len(c.staged) == 0 {
		return nil
	}
	w := c.s.newStageWrite(fmt.Sprintf("p%d", c.part), len(c.staged), c.stagedBytes, checkpoint)
	for k, sw := range c.staged {
		key := unsafe.Slice(unsafe.StringData(k), len(k)) // set and delete copy it
		var err error
		if sw.del {
			err = w.delete(key)
		} else {
			err = w.set(key, sw.val)
		}
		if err != nil {
			return w.abort(fmt.Errorf("writing a partition's staged state: %w", err))
		}
	}
	if err := w.commit(); err != nil {
		return err
	}
	c.staged, c.stagedBytes = nil, 0
	return nil
}

// Flush writes partition p's stage to Pebble, as a checkpoint does.
func (p *Partition) Flush() error { return p.s.partCache(p.part).flush(true) }

// dropStage discards the partition's stage (its range is being deleted).
func (c *partCache) dropStage() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.staged, c.stagedBytes = nil, 0
}

// flush writes the partition's stage to Pebble; checkpoint as in
// newStageWrite.
func (c *partCache) flush(checkpoint bool) error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.flushStage(checkpoint)
}
