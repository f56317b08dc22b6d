package actors

import (
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/state"
	"github.com/drivetrain-cdc/drivetrain/topology/topologytest"
)

// TestCheckpointCrashes: a node loses its state at each point of the
// checkpoint cycle while records arrive — before its first checkpoint
// (everything since the start staged), just after a checkpoint, and in
// the middle of one (the disk refuses the checkpoint's write: the log's,
// the memtable flush's without the log, the sstable's when checkpoints
// are ingested; the store fails and the node stops) — and a node started
// on what reached the disk ends equal to the join, with no commit ahead
// of what the sink acknowledged; for each way of writing checkpoints
// (Config.StateCheckpointWrite).
func TestCheckpointCrashes(t *testing.T) {
	for _, mode := range state.CheckpointWrites {
		t.Run(string(mode), func(t *testing.T) {
			for _, when := range []string{"before", "after", "during"} {
				t.Run(when, func(t *testing.T) { checkpointCrash(t, mode, when) })
			}
		})
	}
}

// checkpointCrash runs a case of TestCheckpointCrashes: the node loses
// its state when (before, after or during a checkpoint) in mode.
func checkpointCrash(t *testing.T, mode state.CheckpointWrite, when string) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 11))
	hist := topologytest.Generate(rng, topologytest.Config{Transactions: 400, Snapshot: 20, Partitions: 3, GlobalPartitions: 2})
	h := newHarness(t, nil, 3, 2)
	interval := 20 * time.Millisecond
	if when == "before" {
		interval = time.Hour
	}
	h.tweak = func(c *Config) {
		c.CheckpointInterval, c.MaxPollRecords = interval, 20
		c.StateCheckpointWrite = mode
		// With the log, a checkpoint that fails must fail in Pebble's
		// commit, as a synced write does (an unsynced one fails in the
		// background).
		c.StateNoSync = when != "during"
	}
	checker := newCommitChecker(h)
	chunks := split(rng, hist.Interleave(rng, nil), 4)
	produce := func(recs []topologytest.Record) {
		h.produce(recs)
		checker.sync()
	}

	mem := vfs.NewCrashableMem()
	var armed atomic.Bool
	var injected atomic.Int32
	fs := errorfs.Wrap(mem, errorfs.InjectorFunc(func(op errorfs.Op) error {
		if armed.Load() && (op.Kind == errorfs.OpFileWrite || op.Kind == errorfs.OpFileSync || op.Kind == errorfs.OpFileSyncData) && checkpointFile(mode, op.Path) {
			injected.Add(1)
			return errorfs.ErrInjected
		}
		return nil
	}))
	produce(chunks[0])
	a := h.start("a", fs)
	waitFor(t, 20*time.Second, "a running", a.Ready)
	produce(chunks[1])
	if when != "before" {
		waitFor(t, 20*time.Second, "checkpoints written", func() bool { return a.Stats().Checkpoints >= 2 })
	}
	produce(chunks[2])
	waitFor(t, 20*time.Second, "rows in flight", func() bool { return a.Stats().InflightRows > 0 })
	switch when {
	case "before":
		require.Zero(t, a.Stats().Checkpoints)
		a.crash(t)
	case "after":
		done := a.Stats().Checkpoints
		waitFor(t, 20*time.Second, "one more checkpoint", func() bool { return a.Stats().Checkpoints > done })
		a.crash(t)
	case "during":
		armed.Store(true)
		require.ErrorIs(t, a.wait(t), state.ErrFailed)
		assert.Positive(t, injected.Load())
	}

	produce(chunks[3])
	b := h.start("b", mem.CrashClone(vfs.CrashCloneCfg{}))
	h.waitIdle(hist.Final, 60*time.Second)
	assert.Empty(t, h.sink.Regressions())
	violations, _ := checker.result()
	assert.Empty(t, violations, "commits ahead of the sink")
	require.NoError(t, b.shutdown(t))
}

// checkpointFile reports whether a checkpoint written in mode writes to
// the file at path: the log, the sstables of a memtable flush, or the
// sstables the store writes for Pebble to ingest.
func checkpointFile(mode state.CheckpointWrite, path string) bool {
	switch mode {
	case state.CheckpointFlush:
		return strings.HasSuffix(path, ".sst")
	case state.CheckpointIngest:
		return strings.Contains(path, "drivetrain-checkpoint-")
	}
	return strings.HasSuffix(path, ".log")
}
