package state

import (
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"
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

// Flush writes every staged global-table row and offset to Pebble in one
// batch (synced unless Options.NoSync). A GlobalBatch's Commit flushes,
// and Close does; a crash loses what was staged since the last flush,
// rows and offsets together, so that the stored offsets never pass the
// stored rows: the records after them are read again and re-applied.
func (s *Store) Flush() error {
	st := &s.stage
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.rows) == 0 && len(st.offsets) == 0 {
		return nil
	}
	b := s.db.NewBatchWithSize(int(min(st.bytes, 1<<30)))
	var key []byte
	for k, v := range st.rows {
		key = globalKey(key[:0], k.kind, k.id)
		// Set copies the value.
		if err := b.Set(key, unsafe.Slice(unsafe.StringData(v), len(v)), nil); err != nil {
			return joinClose(fmt.Errorf("staging global rows: %w", err), b)
		}
	}
	for k, next := range st.offsets {
		key = binary.AppendUvarint(key[:0], uint64(next))
		if err := b.Set(unsafe.Slice(unsafe.StringData(k), len(k)), key, nil); err != nil {
			return joinClose(fmt.Errorf("staging global offsets: %w", err), b)
		}
	}
	if err := joinClose(s.commit(b), b); err != nil {
		// The rows stay staged (and cached): reads keep seeing them, and
		// the store refuses further commits (ErrFailed).
		return err
	}
	st.rows, st.offsets, st.bytes = nil, nil, 0
	st.n.Store(0)
	return nil
}

// DropStaged forgets the staged writes, as a crash would, and the copies
// the dimension cache holds of them: reads return what Pebble has.
// Tests that stop a node as a crash would call it before Close.
func (s *Store) DropStaged() {
	st := &s.stage
	st.mu.Lock()
	defer st.mu.Unlock()
	s.cache.invalidate(st.rows)
	st.rows, st.offsets, st.bytes = nil, nil, 0
	st.n.Store(0)
}
