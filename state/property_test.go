package state_test

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/state"
	"github.com/drivetrain-cdc/drivetrain/topology"
	"github.com/drivetrain-cdc/drivetrain/topology/topologytest"
)

var (
	seedFlag  = flag.Uint64("seed", 0, "first seed of the randomized tests (0: from the clock)")
	casesFlag = flag.Int("cases", 0, "cases of each randomized test (0: 40, or 10 with -short)")
)

// pebbleBackend runs topologytest.Processor on a Store in a crashable
// in-memory filesystem: one open batch per scope until it commits.
type pebbleBackend struct {
	t      testing.TB
	mem    *vfs.MemFS
	opts   state.Options
	s      *state.Store
	global *state.GlobalBatch
	parts  map[int32]*state.Batch
	// writeBehind stages the committed batches, as a node does between
	// checkpoints, and writes a checkpoint (Store.Flush) now and then;
	// rng decides when. Without the log (CheckpointFlush), the commits
	// too reach the disk at a checkpoint only.
	writeBehind bool
	rng         *rand.Rand
}

var _ topologytest.Backend = (*pebbleBackend)(nil)

// newPebbleBackend opens the store with the default caches, or, in half
// of the cases, with caches too small to hold anything, so that the join
// rules read from Pebble: the cache misses, the scans of an order's rows
// and of the indexes, and what the stage must write before them. In half
// of the cases it writes behind (pebbleBackend.writeBehind): with the
// small caches, partitions then fall back to commits and their views are
// evicted and read back. The checkpoints are written as mode says.
func newPebbleBackend(t testing.TB, rng *rand.Rand, mode state.CheckpointWrite) *pebbleBackend {
	opts := state.Options{CheckpointWrite: mode}
	if rng.IntN(2) == 0 {
		opts.OrderCacheBytes, opts.DimensionCacheBytes = 4<<10, -1
	}
	mem := vfs.NewCrashableMem()
	return &pebbleBackend{t: t, mem: mem, opts: opts, s: open(t, mem, opts), parts: map[int32]*state.Batch{},
		writeBehind: rng.IntN(2) == 0, rng: rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64()))}
}

// close closes the store (the case is over).
func (b *pebbleBackend) close() {
	if b.global != nil {
		_ = b.global.Close()
	}
	for _, pb := range b.parts {
		_ = pb.Close()
	}
	require.NoError(b.t, b.s.Close())
}

func (b *pebbleBackend) globalBatch() *state.GlobalBatch {
	if b.global == nil {
		b.global = b.s.NewGlobalBatch()
	}
	return b.global
}

func (b *pebbleBackend) batch(p int32) *state.Batch {
	if b.parts[p] == nil {
		b.parts[p] = b.s.Partition(p).NewBatch()
	}
	return b.parts[p]
}

func (b *pebbleBackend) Global() (topology.GlobalStore, error) { return b.globalBatch(), nil }

func (b *pebbleBackend) Partition(p int32) (topology.PartitionStore, error) { return b.batch(p), nil }

func (b *pebbleBackend) SetOffset(scope int32, q topologytest.Queue, next int64) error {
	if scope == topologytest.GlobalScope {
		return b.globalBatch().SetOffset(q.Topic, q.Partition, next)
	}
	return b.batch(scope).SetOffset(q.Topic, q.Partition, next)
}

func (b *pebbleBackend) Offset(scope int32, q topologytest.Queue) (int64, bool, error) {
	if scope == topologytest.GlobalScope {
		return b.s.GlobalOffset(q.Topic, q.Partition)
	}
	return b.s.Partition(scope).Offset(q.Topic, q.Partition)
}

func (b *pebbleBackend) Commit(scope int32) error {
	if err := b.commit(scope); err != nil || !b.checkpoints() || b.rng.IntN(8) > 0 {
		return err
	}
	return b.s.Flush() // a checkpoint
}

// checkpoints reports whether a crash loses what was written since the
// last checkpoint: the stages, or, without the log, everything.
func (b *pebbleBackend) checkpoints() bool {
	return b.writeBehind || b.opts.CheckpointWrite == state.CheckpointFlush
}

// checkpointModes runs f as a subtest for each way of writing
// checkpoints.
func checkpointModes(t *testing.T, f func(t *testing.T, mode state.CheckpointWrite)) {
	forModes(t, state.CheckpointWrites, f)
}

// loggedModes are the ways of writing checkpoints that keep the log on:
// a commit is durable when it returns.
var loggedModes = []state.CheckpointWrite{state.CheckpointWAL, state.CheckpointIngest}

// forModes runs f as a subtest for each of modes.
func forModes(t *testing.T, modes []state.CheckpointWrite, f func(t *testing.T, mode state.CheckpointWrite)) {
	for _, mode := range modes {
		t.Run(string(mode), func(t *testing.T) { f(t, mode) })
	}
}

func (b *pebbleBackend) commit(scope int32) error {
	if scope == topologytest.GlobalScope {
		if b.global == nil {
			return nil
		}
		g := b.global
		b.global = nil
		if b.writeBehind {
			return g.Stage()
		}
		return g.Commit()
	}
	pb := b.parts[scope]
	if pb == nil {
		return nil
	}
	delete(b.parts, scope)
	if b.writeBehind {
		return pb.Stage()
	}
	return pb.Commit()
}

// crash simulates a machine crash: the open batches are lost, and the
// store reopens on a copy of what was synced.
func (b *pebbleBackend) crash() {
	clone := b.mem.CrashClone(vfs.CrashCloneCfg{})
	if b.global != nil {
		require.NoError(b.t, b.global.Close())
		b.global = nil
	}
	for p, pb := range b.parts {
		require.NoError(b.t, pb.Close())
		delete(b.parts, p)
	}
	require.NoError(b.t, b.s.Close())
	b.mem, b.s = clone, open(b.t, clone, b.opts)
}

func randomCases(t *testing.T, f func(rng *rand.Rand) string) {
	t.Helper()
	n := *casesFlag
	if n == 0 {
		// Fewer than the 300 of the topology package's in-memory runs:
		// Pebble is slow under -race.
		n = 40
		if testing.Short() {
			n = 10
		}
	}
	topologytest.RandomCases(t, "./state", *seedFlag, n, f)
}

func check(h *topologytest.History, sink *topologytest.Sink) string {
	if d := topologytest.Diff(h.Final, sink); d != "" {
		return d
	}
	if r := sink.Regressions(); r != nil {
		return fmt.Sprint("fact versions went back: ", r)
	}
	return ""
}

// TestStateOrderInsensitive is the order-insensitivity property on Pebble
// state: random histories, interleaved at random (each partition's order
// kept) and committed in random batches, end in the mirror rows and facts
// that the final tables define.
func TestStateOrderInsensitive(t *testing.T) {
	randomCases(t, func(rng *rand.Rand) string {
		h := topologytest.Generate(rng, topologytest.RandomConfig(rng))
		backend := newPebbleBackend(t, rng, state.CheckpointWAL)
		defer backend.close()
		p := &topologytest.Processor{
			Backend:    backend,
			Sink:       topologytest.NewSink(),
			Partitions: h.Config.Partitions,
			Clock:      topologytest.NewClock(rng, 1_000_000),
		}
		if err := p.Run(rng, h.Interleave(rng, nil), 1+rng.IntN(8)); err != nil {
			return err.Error()
		}
		return check(h, p.Sink)
	})
}

// TestStateLostState is topologytest.RunLostState on Pebble state: the
// node that takes over rebuilds each partition from the committed offsets
// without emitting and must supersede every fact the lost state emitted;
// for each way of writing checkpoints.
func TestStateLostState(t *testing.T) {
	checkpointModes(t, func(t *testing.T, mode state.CheckpointWrite) {
		randomCases(t, func(rng *rand.Rand) string {
			h := topologytest.Generate(rng, topologytest.RandomConfig(rng))
			lost, next := newPebbleBackend(t, rng, mode), newPebbleBackend(t, rng, mode)
			defer lost.close()
			defer next.close()
			sink, err := topologytest.RunLostState(rng, h, lost, next)
			if err != nil {
				return err.Error()
			}
			return check(h, sink)
		})
	})
}

// TestStateCrashAndRedelivery crashes the node at random points (losing
// the uncommitted batches and what they would have emitted, or, writing
// behind, what was staged since the last checkpoint), restarts it
// from the offsets stored with the state on a clock that went back, and
// at the end replays a random suffix of every topic partition: the result
// is the same, and fact versions only grow; for each way of writing
// checkpoints.
func TestStateCrashAndRedelivery(t *testing.T) {
	checkpointModes(t, func(t *testing.T, mode state.CheckpointWrite) {
		randomCases(t, func(rng *rand.Rand) string {
			h := topologytest.Generate(rng, topologytest.RandomConfig(rng))
			backend := newPebbleBackend(t, rng, mode)
			defer backend.close()
			clock := uint64(1_000_000_000)
			p := &topologytest.Processor{
				Backend:    backend,
				Sink:       topologytest.NewSink(),
				Partitions: h.Config.Partitions,
				Clock:      topologytest.NewClock(rng, clock),
			}
			recs := h.Interleave(rng, nil)
			crashes := 0
			for i := 0; i < len(recs); i++ {
				if err := p.Process(&recs[i]); err != nil {
					return err.Error()
				}
				if rng.IntN(3) == 0 {
					scope := topologytest.GlobalScope
					if !recs[i].Change.Table.Global() {
						scope = recs[i].Change.Pos.Partition
					}
					if err := p.Commit(scope); err != nil {
						return err.Error()
					}
				}
				if crashes < 3 && rng.IntN(len(recs)) < 2 {
					crashes++
					p.Crash()
					backend.crash()
					// A restart on a clock a little behind: the stored last
					// versions keep fact versions growing. Writing behind (or
					// without the log), the crash loses the partitions'
					// clocks with their stages (or commits): a node then
					// starts above the versions its commit metadata reserved
					// (package actors), modelled here as above every version
					// emitted.
					clock -= 1000
					if backend.checkpoints() {
						for _, f := range p.Sink.Facts() {
							clock = max(clock, f.Version+1)
						}
					}
					p.Clock = topologytest.NewClock(rng, clock)
					from, err := p.Resume(h)
					if err != nil {
						return err.Error()
					}
					recs, i = h.Interleave(rng, from), -1
				}
			}
			if err := p.CommitAll(); err != nil {
				return err.Error()
			}
			if msg := check(h, p.Sink); msg != "" {
				return fmt.Sprintf("after %d crashes: %s", crashes, msg)
			}
			mirrors, facts := p.Sink.LiveMirrors(), p.Sink.CurrentFacts()
			from := map[topologytest.Queue]int64{}
			for q, qr := range h.Queues {
				from[q] = rng.Int64N(int64(len(qr)) + 1)
			}
			if err := p.Run(rng, h.Interleave(rng, from), 3); err != nil {
				return err.Error()
			}
			if msg := check(h, p.Sink); msg != "" {
				return "after replaying a suffix: " + msg
			}
			if !slices.Equal(mirrors, p.Sink.LiveMirrors()) || !slices.Equal(facts, p.Sink.CurrentFacts()) {
				return "replaying a suffix changed the result"
			}
			return ""
		})
	})
}
