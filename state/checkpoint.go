package state

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/objstorage/objstorageprovider"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// A checkpoint writes each stage (the global tables', each partition's)
// atomically with the offsets it reflects, in the way
// Options.CheckpointWrite names. Each keeps the property the recovery
// rests on: after a crash Pebble holds the writes up to some point of the
// order they were made in, so a stage's offsets never pass its rows, nor
// the rows of the commits made before it.
//
// CheckpointWAL: a stage is a Pebble batch, logged (and synced unless
// NoSync) before it is applied; a crash loses the end of the log, whole
// batches.
//
// CheckpointFlush: Pebble runs without its log. A batch is applied whole
// to one memtable (commitWrite reserves room for it in the mutable
// memtable, or rotates the memtable first; a batch too large for one is
// queued whole as a flushable batch after the memtable it follows), in
// the order of the sequence numbers, and the flushable queue is flushed
// oldest first: a flush takes a prefix of the queue and installs its
// tables in one version edit, written to the MANIFEST and synced before
// the memtables count as flushed. The durable state is therefore always
// the writes up to the end of some memtable, a prefix of the batches.
// Flush waits until the memtable that was mutable when it had written the
// stages is flushed, so that everything written before it returns is in
// sstables; Close flushes (Flush) before closing Pebble, which would
// otherwise drop the memtables.
//
// CheckpointIngest: commits go through the log, and a checkpoint's stage
// becomes an sstable that DB.Ingest adds. The ingestion takes a sequence
// number above every batch committed before it and below every later
// one, and is durable when Ingest returns: its tables are linked, synced
// and recorded in the MANIFEST, or, when the ingested keys overlap a
// memtable, Pebble either queues the ingestion as a flushable after that
// memtable (the memtable is rotated and the ingestion recorded in a new
// log, the previous log closed and synced first) or flushes the memtable
// and waits for it before applying the ingestion: the newer keys always
// shadow the older ones. The commits made before the ingestion are
// synced when they return (with NoSync the log is synced before the
// ingestion: see ingest), so a crash loses whole commits and ingestions
// after some point, never one before a survivor.

// ingestPrefix starts the names of the sstables a checkpoint writes in
// the store's directory for Pebble to ingest; Open removes those a crash
// left behind.
const ingestPrefix = "drivetrain-checkpoint-"

// emptyFlush is the message of the error Pebble's FlushEnd event carries
// for a flush that wrote no table (an empty memtable), which is no
// failure; Pebble does not export the error.
const emptyFlush = "pebble: empty table"

// flushEnd is Pebble's FlushEnd event with CheckpointFlush: a failed
// flush fails the store (without a log, the memtables are the only copy
// of what was written since the last flush).
func (s *Store) flushEnd(info pebble.FlushInfo) {
	if info.Err == nil || info.Err.Error() == emptyFlush {
		return
	}
	err := fmt.Errorf("flushing state: %w: %v", ErrFailed, info.Err)
	s.failed.CompareAndSwap(nil, &err)
	s.flushFailOnce.Do(func() { close(s.flushFailed) })
}

// flushMemtables flushes every memtable to sstables and waits for it
// (CheckpointFlush). A failed flush returns ErrFailed; Pebble retries it
// in the background until Close.
func (s *Store) flushMemtables() (err error) {
	if f := s.failed.Load(); f != nil {
		return *f
	}
	defer s.failOnFatal(&err, "flushing state")
	done, err := s.db.AsyncFlush()
	if err != nil {
		return fmt.Errorf("flushing state: %w", err)
	}
	select {
	case <-done:
		return nil
	case <-s.flushFailed:
		return *s.failed.Load()
	}
}

// stageWrite writes one stage to Pebble atomically: as a batch committed
// like any other, or, for a checkpoint with CheckpointIngest, as an
// sstable that Pebble ingests.
type stageWrite struct {
	s    *Store
	name string        // of the stage, in its sstable's name
	b    *pebble.Batch // nil when ingesting
	kvs  []stagedKV
	keys []byte // the keys of kvs, one after the other
}

// stagedKV is a write of a stage to ingest: keys[start:end] set to val,
// or deleted.
type stagedKV struct {
	start, end int
	val        []byte
	del        bool
}

// newStageWrite starts writing a stage of about size bytes (rows, n
// writes); checkpoint is set when a checkpoint writes it (Flush,
// Partition.Flush, a stage that outgrew its bound), unset when it is
// written ahead of a commit or a read.
func (s *Store) newStageWrite(name string, n int, size int64, checkpoint bool) *stageWrite {
	w := &stageWrite{s: s, name: name}
	if checkpoint && s.mode == CheckpointIngest {
		w.kvs = make([]stagedKV, 0, n)
		return w
	}
	w.b = s.db.NewBatchWithSize(int(min(size, 1<<30)))
	return w
}

// set writes key (copied) with val, which must not change until commit
// returns.
func (w *stageWrite) set(key, val []byte) error {
	if w.b != nil {
		return w.b.Set(key, val, nil)
	}
	w.add(key, val, false)
	return nil
}

// delete deletes key (copied).
func (w *stageWrite) delete(key []byte) error {
	if w.b != nil {
		return w.b.Delete(key, nil)
	}
	w.add(key, nil, true)
	return nil
}

func (w *stageWrite) add(key, val []byte, del bool) {
	start := len(w.keys)
	w.keys = append(w.keys, key...)
	w.kvs = append(w.kvs, stagedKV{start: start, end: len(w.keys), val: val, del: del})
}

// abort releases a write that will not be committed, after err.
func (w *stageWrite) abort(err error) error {
	if w.b != nil {
		return joinClose(err, w.b)
	}
	return err
}

// commit writes the stage: commits the batch, or writes and ingests the
// sstable.
func (w *stageWrite) commit() error {
	if w.b != nil {
		return joinClose(w.s.commit(w.b), w.b)
	}
	return w.s.ingest(w)
}

// ingest writes w's writes, sorted, into an sstable in the store's
// directory and ingests it. Any failure fails the store (ErrFailed): the
// stage stays in memory, readers keep seeing it, and nothing is committed
// after it.
func (s *Store) ingest(w *stageWrite) (err error) {
	if f := s.failed.Load(); f != nil {
		return *f
	}
	if len(w.kvs) == 0 {
		return nil
	}
	path := s.fs.PathJoin(s.dir, ingestPrefix+w.name+".sst")
	created := false
	defer func() {
		if r := recover(); r != nil {
			fe, ok := r.(*fatalError)
			if !ok {
				panic(r)
			}
			err = errors.New(fe.msg)
		}
		if err != nil {
			if created {
				// Ingest removes the file when it succeeds only.
				_ = s.fs.Remove(path)
			}
			err = fmt.Errorf("writing a checkpoint of %s: %w: %w", w.name, ErrFailed, err)
			s.failed.CompareAndSwap(nil, &err)
		}
	}()
	key := func(kv stagedKV) []byte { return w.keys[kv.start:kv.end] }
	slices.SortFunc(w.kvs, func(a, b stagedKV) int { return comparer.Compare(key(a), key(b)) })
	f, err := s.fs.Create(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		return err
	}
	created = true
	// The writer buffers the file, and Close syncs and closes it.
	tw := sstable.NewWriter(objstorageprovider.NewFileWritable(f), s.sstOpts)
	for _, kv := range w.kvs {
		if kv.del {
			err = tw.Delete(key(kv))
		} else {
			err = tw.Set(key(kv), kv.val)
		}
		if err != nil {
			return errors.Join(err, tw.Close())
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if s.wo == pebble.NoSync {
		// The commits before the ingestion may not be synced yet: sync
		// the log, so that a crash cannot keep the ingestion without
		// them (an ingestion that does not overlap a memtable is
		// recorded in the MANIFEST only).
		if err := s.db.LogData(nil, pebble.Sync); err != nil {
			return err
		}
	}
	return s.db.Ingest(context.Background(), []string{path})
}

// removeIngestLeftovers removes the sstables of checkpoints that a crash
// interrupted before Pebble ingested them.
func removeIngestLeftovers(fs vfs.FS, dir string) error {
	names, err := fs.List(dir)
	if err != nil {
		return err
	}
	for _, n := range names {
		if strings.HasPrefix(n, ingestPrefix) {
			if err := fs.Remove(fs.PathJoin(dir, n)); err != nil {
				return err
			}
		}
	}
	return nil
}
