package actors

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/topology/topologytest"
)

// TestQuietStart starts nodes of a new group on topics that already hold
// a history: the partitions apply the records up to the end offsets
// without emitting and then send each touched order's state once. The
// sink must equal the join, with fewer rows than a node that emits
// every record (EmitEveryRecord) sends for the same history; with a
// bound of a few orders, the quiet start ends early and the records after
// it are emitted one by one, to the same result. TestDeadLetters covers
// the bad records of a quiet start, TestCrashAndRebalance crashes in it.
func TestQuietStart(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	hist := topologytest.Generate(rng, topologytest.Config{Transactions: 300, Snapshot: 4, Partitions: 3, GlobalPartitions: 2})
	recs := hist.Interleave(rng, nil)
	emitted := map[string]int64{}
	for _, mode := range []struct {
		name  string
		tweak func(*Config)
	}{
		{"quiet", nil},
		{"every record", func(c *Config) { c.EmitEveryRecord = true }},
		{"quiet, ending early", func(c *Config) { c.quietMaxOrders = 3 }},
	} {
		t.Run(mode.name, func(t *testing.T) {
			h := newHarness(t, nil, 3, 2)
			h.tweak = mode.tweak
			h.produce(recs)
			n := h.start("a", nil)
			h.waitIdle(hist.Final, 30*time.Second)
			assert.Empty(t, h.sink.Regressions())
			emitted[mode.name] = n.Stats().RowsEmitted
			require.NoError(t, n.shutdown(t))
		})
	}
	t.Logf("rows emitted: %v", emitted)
	assert.Less(t, emitted["quiet"], emitted["every record"])
	assert.Less(t, emitted["quiet"], emitted["quiet, ending early"])
}

// TestCrashDuringQuietStart crashes a node while the state of its quiet
// start waits for a stalled sink: nothing may have been committed (a
// commit would make the next owner emit record by record, and the rows
// behind it are not in the sink). The node started again on the crashed
// state starts quietly again and ends equal to the join, with no commit
// ahead of what the sink acknowledged.
func TestCrashDuringQuietStart(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	hist := topologytest.Generate(rng, topologytest.Config{Transactions: 300, Snapshot: 4, Partitions: 2, GlobalPartitions: 1})
	h := newHarness(t, nil, 2, 1)
	h.tweak = func(c *Config) { c.MaxInflightRows = 20 }
	checker := newCommitChecker(h)
	h.produce(hist.Interleave(rng, nil))
	checker.sync()
	h.sink.Stall()
	mem := vfs.NewCrashableMem()
	a := h.start("a", mem)
	waitFor(t, 20*time.Second, "the quiet start's facts stalled in the sink", func() bool {
		return h.sink.StalledFacts() > 0
	})
	assert.Zero(t, a.offered(), "offsets offered for commit before the quiet start's rows were acknowledged")
	a.crash(t)
	checker.mu.Lock()
	commits := checker.advancing
	checker.mu.Unlock()
	assert.Zero(t, commits, "offsets committed before the quiet start's rows were acknowledged")

	h.sink.Unstall()
	b := h.start("b", mem.CrashClone(vfs.CrashCloneCfg{}))
	h.waitIdle(hist.Final, 30*time.Second)
	violations, commits := checker.result()
	assert.Empty(t, violations)
	assert.Positive(t, commits)
	assert.Empty(t, h.sink.Regressions())
	assert.NoError(t, b.shutdown(t))
}

// offered returns how many partitions have offsets above zero on r's
// commit board, committed or waiting to be. (A partition never committed
// offers its zero offsets with a fact-version reservation before it
// emits: that commits nothing it read.)
func (r *node) offered() int {
	r.mu.Lock()
	g := r.group
	r.mu.Unlock()
	if g == nil {
		return 0
	}
	b := g.e.board
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, e := range b.m {
		if e.offsets != [3]int64{} {
			n++
		}
	}
	return n
}

// TestQuietRestart restarts a node of a group that committed, behind by
// a second half of the history: its partitions start quietly from the
// committed offsets (the harness lowers the backlog that takes) and end
// equal to the join, with fewer rows than emitting every record of that
// backlog.
func TestQuietRestart(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 28))
	hist := topologytest.Generate(rng, topologytest.Config{Transactions: 300, Snapshot: 4, Partitions: 3, GlobalPartitions: 2})
	recs := hist.Interleave(rng, nil)
	half := len(recs) / 2
	emitted := map[bool]int64{}
	for _, every := range []bool{false, true} {
		h := newHarness(t, nil, 3, 2)
		h.tweak = func(c *Config) { c.EmitEveryRecord = every }
		h.produce(recs[:half])
		a := h.start("a", nil)
		waitFor(t, 30*time.Second, "the first half committed", func() bool {
			behind, err := h.lag(ctx(t))
			return err == nil && len(behind) == 0
		})
		require.NoError(t, a.shutdown(t))
		h.produce(recs[half:])
		b := h.start("b", a.fs)
		h.waitIdle(hist.Final, 30*time.Second)
		assert.Empty(t, h.sink.Regressions())
		emitted[every] = b.Stats().RowsEmitted
		require.NoError(t, b.shutdown(t))
	}
	t.Logf("rows emitted after the restart: quiet %d, every record %d", emitted[false], emitted[true])
	assert.Less(t, emitted[false], emitted[true])
}
