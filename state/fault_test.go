package state_test

import (
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/state"
)

// TestCommitFailure injects a failure into the write-ahead log while a
// batch of rows and its offset commits: the error surfaces as
// ErrFailed, the store refuses further commits, and after a crash the
// reopened store holds neither the rows nor the offset.
func TestCommitFailure(t *testing.T) {
	tests := []struct {
		name string
		kind errorfs.OpKind
	}{
		{"write", errorfs.OpFileWrite},
		{"sync", errorfs.OpFileSync},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := vfs.NewCrashableMem()
			var on atomic.Bool
			var injected atomic.Int32
			fs := errorfs.Wrap(mem, errorfs.InjectorFunc(func(op errorfs.Op) error {
				if on.Load() && strings.HasSuffix(op.Path, ".log") && (op.Kind == tt.kind || op.Kind == errorfs.OpFileSyncData) {
					injected.Add(1)
					return errorfs.ErrInjected
				}
				return nil
			}))
			s, err := state.Open("db", state.Options{FS: fs, Logger: testLogger{t}})
			require.NoError(t, err)

			// A first batch commits normally.
			b := s.Partition(0).NewBatch()
			require.NoError(t, b.PutOrder(stored(order, 1, 0)))
			require.NoError(t, b.SetOffset("orders", 0, 1))
			require.NoError(t, b.Commit())

			on.Store(true)
			b = s.Partition(0).NewBatch()
			it := item
			require.NoError(t, b.PutItem(stored(it, 2, 0)))
			require.NoError(t, b.SetOffset("order_items", 0, 1))
			err = b.Commit()
			require.ErrorIs(t, err, state.ErrFailed)
			assert.Positive(t, injected.Load())

			// Further commits are refused.
			g := s.NewGlobalBatch()
			require.NoError(t, g.PutCustomer(stored(ana, 3, 0)))
			require.ErrorIs(t, g.Commit(), state.ErrFailed)
			require.ErrorIs(t, s.DropPartition(0), state.ErrFailed)

			// The machine crashes: only synced data survives.
			crashed := mem.CrashClone(vfs.CrashCloneCfg{})
			_ = s.Close()
			on.Store(false)

			s2 := open(t, crashed, state.Options{})
			p := s2.Partition(0)
			_, ok, err := p.Order(100)
			require.NoError(t, err)
			assert.True(t, ok, "the committed batch survives")
			next, ok, err := p.Offset("orders", 0)
			require.NoError(t, err)
			assert.True(t, ok)
			assert.Equal(t, int64(1), next)

			_, ok, err = p.Item(100, 1000)
			require.NoError(t, err)
			_, offOK, err2 := p.Offset("order_items", 0)
			require.NoError(t, err2)
			assert.False(t, ok, "the failed batch's row")
			assert.False(t, offOK, "the failed batch's offset")
			assert.Empty(t, refs(t, p, 10), "the failed batch's index entry")
		})
	}
}
