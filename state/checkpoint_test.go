package state_test

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/state"
)

// fileOps records the files Pebble and the Store create and write, by
// name, and fails those that fail matches while armed.
type fileOps struct {
	mu       sync.Mutex
	created  map[string]bool
	logBytes bool // a write to a log file
	armed    atomic.Bool
	fail     func(errorfs.Op) bool
	injected atomic.Int32
}

func newFileOps() *fileOps { return &fileOps{created: map[string]bool{}} }

func (f *fileOps) MaybeError(op errorfs.Op) error {
	f.mu.Lock()
	base := op.Path[strings.LastIndexByte(op.Path, '/')+1:]
	switch op.Kind {
	case errorfs.OpCreate:
		f.created[base] = true
	case errorfs.OpFileWrite, errorfs.OpFileWriteAt:
		if strings.HasSuffix(base, ".log") {
			f.logBytes = true
		}
	}
	f.mu.Unlock()
	if f.armed.Load() && f.fail != nil && f.fail(op) {
		f.injected.Add(1)
		return errorfs.ErrInjected
	}
	return nil
}

func (f *fileOps) String() string { return "fileOps" }

// createdCheckpointTable reports whether a checkpoint's sstable was
// created (CheckpointIngest), and forgets what was created.
func (f *fileOps) createdCheckpointTable() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	found := false
	for name := range f.created {
		if strings.HasPrefix(name, "drivetrain-checkpoint-") {
			found = true
		}
	}
	clear(f.created)
	return found
}

func (f *fileOps) wroteLog() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.logBytes
}

// TestCheckpointWriteCrash: in each way of writing checkpoints, what a
// Flush wrote survives a machine crash, the stages since are lost whole,
// rows and offsets together, and the stored offsets never pass the
// stored rows. Commits are durable when they return with the log
// (CheckpointWAL, CheckpointIngest), at the next Flush or Close without it
// (CheckpointFlush). CheckpointFlush writes nothing to the log (Pebble
// closes it with a trailer); CheckpointIngest writes its checkpoints as
// sstables.
func TestCheckpointWriteCrash(t *testing.T) {
	checkpointModes(t, func(t *testing.T, mode state.CheckpointWrite) {
		mem := vfs.NewCrashableMem()
		ops := newFileOps()
		opts := state.Options{CheckpointWrite: mode}
		s := open(t, errorfs.Wrap(mem, ops), opts)
		logged := mode != state.CheckpointFlush

		// Committed: an order and a customer, with their offsets.
		p := s.Partition(0)
		b := p.NewBatch()
		require.NoError(t, b.PutOrder(stored(order, 1, 0)))
		require.NoError(t, b.SetOffset("orders", 0, 1))
		require.NoError(t, b.Commit())
		g := s.NewGlobalBatch()
		require.NoError(t, g.PutCustomer(stored(ana, 2, 0)))
		require.NoError(t, g.SetOffset("customers", 0, 1))
		require.NoError(t, g.Commit())
		c := afterCrash(t, mem, opts)
		_, ok, err := c.Partition(0).Order(100)
		require.NoError(t, err)
		assert.Equal(t, logged, ok, "a commit is durable at once with the log only")
		_, ok, err = c.Customer(1)
		require.NoError(t, err)
		assert.Equal(t, logged, ok)

		// Staged: an item, a move of the customer, their offsets; then a
		// checkpoint.
		b = p.NewBatch()
		require.NoError(t, b.PutItem(stored(item, 3, 0)))
		require.NoError(t, b.SetOffset("order_items", 0, 1))
		require.NoError(t, b.SetOffset("orders", 0, 2))
		require.NoError(t, b.Stage())
		moved := ana
		moved.City = "Sevilla"
		g = s.NewGlobalBatch()
		require.NoError(t, g.PutCustomer(stored(moved, 4, 1)))
		require.NoError(t, g.SetOffset("customers", 0, 2))
		require.NoError(t, g.Stage())
		ops.createdCheckpointTable()
		require.NoError(t, s.Flush())
		assert.Equal(t, mode == state.CheckpointIngest, ops.createdCheckpointTable(), "checkpoint sstables")

		// Staged after the checkpoint: another order and customer and
		// their offsets, lost by the crash; with the log, a commit of
		// another partition survives it.
		b = p.NewBatch()
		second := order
		second.ID = 101
		require.NoError(t, b.PutOrder(stored(second, 5, 2)))
		require.NoError(t, b.SetOffset("orders", 0, 3))
		require.NoError(t, b.Stage())
		g = s.NewGlobalBatch()
		luis := ana
		luis.ID, luis.Email = 2, "luis@example.com"
		require.NoError(t, g.PutCustomer(stored(luis, 6, 2)))
		require.NoError(t, g.SetOffset("customers", 0, 3))
		require.NoError(t, g.Stage())
		b = s.Partition(1).NewBatch()
		other := order
		other.ID = 200
		require.NoError(t, b.PutOrder(stored(other, 7, 0)))
		require.NoError(t, b.SetOffset("orders", 1, 1))
		require.NoError(t, b.Commit())

		c = afterCrash(t, mem, opts)
		cp := c.Partition(0)
		next, _, err := cp.Offset("orders", 0)
		require.NoError(t, err)
		assert.Equal(t, int64(2), next, "the checkpoint's offset")
		next, _, err = cp.Offset("order_items", 0)
		require.NoError(t, err)
		assert.Equal(t, int64(1), next)
		_, ok, err = cp.Order(100)
		require.NoError(t, err)
		assert.True(t, ok, "the order below the offset")
		_, ok, err = cp.Item(100, 1000)
		require.NoError(t, err)
		assert.True(t, ok, "the checkpoint's item")
		_, ok, err = cp.Order(101)
		require.NoError(t, err)
		assert.False(t, ok, "the stage after the checkpoint")
		cust, ok, err := c.Customer(1)
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, "Sevilla", cust.Row.City)
		next, _, err = c.GlobalOffset("customers", 0)
		require.NoError(t, err)
		assert.Equal(t, int64(2), next)
		_, ok, err = c.Customer(2)
		require.NoError(t, err)
		assert.False(t, ok)
		_, ok, err = c.Partition(1).Order(200)
		require.NoError(t, err)
		assert.Equal(t, logged, ok, "a commit after the checkpoint")
		_, offOK, err := c.Partition(1).Offset("orders", 1)
		require.NoError(t, err)
		assert.Equal(t, ok, offOK, "the commit's offset goes with its row")

		assert.Equal(t, logged, ops.wroteLog(), "log writes")

		// Close writes the stages and, without the log, the commits.
		require.NoError(t, s.Close())
		c = afterCrash(t, mem, opts)
		next, _, err = c.Partition(0).Offset("orders", 0)
		require.NoError(t, err)
		assert.Equal(t, int64(3), next)
		_, ok, err = c.Partition(0).Order(101)
		require.NoError(t, err)
		assert.True(t, ok)
		_, ok, err = c.Customer(2)
		require.NoError(t, err)
		assert.True(t, ok)
		_, ok, err = c.Partition(1).Order(200)
		require.NoError(t, err)
		assert.True(t, ok, "a commit is durable after Close")
	})
}

// TestCheckpointWriteFailure: a checkpoint that cannot reach the disk (a
// memtable flush without the log, a checkpoint's sstable) fails the
// store: Flush returns ErrFailed, later commits are refused, and after a
// crash the store holds the last checkpoint, without the failed one's
// rows or offsets.
func TestCheckpointWriteFailure(t *testing.T) {
	for _, tc := range []struct {
		mode state.CheckpointWrite
		fail func(op errorfs.Op) bool
	}{
		{state.CheckpointFlush, func(op errorfs.Op) bool {
			return strings.HasSuffix(op.Path, ".sst") && (op.Kind == errorfs.OpFileWrite || op.Kind == errorfs.OpFileSync)
		}},
		{state.CheckpointIngest, func(op errorfs.Op) bool {
			return strings.Contains(op.Path, "drivetrain-checkpoint-") && op.Kind == errorfs.OpFileSync
		}},
	} {
		t.Run(string(tc.mode), func(t *testing.T) {
			mem := vfs.NewCrashableMem()
			ops := newFileOps()
			ops.fail = tc.fail
			opts := state.Options{CheckpointWrite: tc.mode}
			s, err := state.Open("db", state.Options{FS: errorfs.Wrap(mem, ops), Logger: testLogger{t}, CheckpointWrite: tc.mode})
			require.NoError(t, err)

			p := s.Partition(0)
			b := p.NewBatch()
			require.NoError(t, b.PutOrder(stored(order, 1, 0)))
			require.NoError(t, b.SetOffset("orders", 0, 1))
			require.NoError(t, b.Stage())
			require.NoError(t, s.Flush())

			b = p.NewBatch()
			require.NoError(t, b.PutItem(stored(item, 2, 0)))
			require.NoError(t, b.SetOffset("order_items", 0, 1))
			require.NoError(t, b.Stage())
			ops.armed.Store(true)
			require.ErrorIs(t, s.Flush(), state.ErrFailed)
			assert.Positive(t, ops.injected.Load())
			// The stage stays readable; nothing more is written.
			_, ok, err := p.NewBatch().Item(100, 1000)
			require.NoError(t, err)
			assert.True(t, ok)
			b = p.NewBatch()
			require.NoError(t, b.SetOffset("payments", 0, 1))
			require.ErrorIs(t, b.Commit(), state.ErrFailed)
			require.ErrorIs(t, s.Flush(), state.ErrFailed)

			// The machine crashes while the disk still fails.
			crashed := mem.CrashClone(vfs.CrashCloneCfg{})
			ops.armed.Store(false)
			_ = s.Close()
			c := open(t, crashed, opts)
			cp := c.Partition(0)
			_, ok, err = cp.Order(100)
			require.NoError(t, err)
			assert.True(t, ok, "the last checkpoint")
			next, _, err := cp.Offset("orders", 0)
			require.NoError(t, err)
			assert.Equal(t, int64(1), next)
			_, ok, err = cp.Item(100, 1000)
			require.NoError(t, err)
			assert.False(t, ok, "the failed checkpoint's row")
			_, ok, err = cp.Offset("order_items", 0)
			require.NoError(t, err)
			assert.False(t, ok, "the failed checkpoint's offset")
		})
	}
}

// TestIngestSyncsTheLogFirst: with NoSync, an ingested checkpoint syncs
// the log before Pebble records the ingestion, so that a crash cannot keep
// the checkpoint and lose a commit made before it.
func TestIngestSyncsTheLogFirst(t *testing.T) {
	mem := vfs.NewCrashableMem()
	opts := state.Options{CheckpointWrite: state.CheckpointIngest, NoSync: true}
	s := open(t, mem, opts)
	b := s.Partition(0).NewBatch()
	require.NoError(t, b.PutOrder(stored(order, 1, 0)))
	require.NoError(t, b.SetOffset("orders", 0, 1))
	require.NoError(t, b.Commit())
	c := afterCrash(t, mem, opts)
	_, ok, err := c.Partition(0).Order(100)
	require.NoError(t, err)
	require.False(t, ok, "an unsynced commit is lost by a crash")

	b = s.Partition(1).NewBatch()
	other := order
	other.ID = 200
	require.NoError(t, b.PutOrder(stored(other, 2, 0)))
	require.NoError(t, b.SetOffset("orders", 1, 1))
	require.NoError(t, b.Stage())
	require.NoError(t, s.Flush())
	c = afterCrash(t, mem, opts)
	_, ok, err = c.Partition(1).Order(200)
	require.NoError(t, err)
	assert.True(t, ok, "the checkpoint")
	_, ok, err = c.Partition(0).Order(100)
	require.NoError(t, err)
	assert.True(t, ok, "the commit before it")
}
