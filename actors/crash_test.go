package actors

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/drivetrain-cdc/drivetrain/actors/actorstest"
	"github.com/drivetrain-cdc/drivetrain/topology"
	"github.com/drivetrain-cdc/drivetrain/topology/topologytest"
)

// commitChecker watches the group's offset commits on the broker and
// records every commit that runs ahead of what the sink acknowledged: a
// committed offset c of a topic partition is safe when, for every row
// with records below c, the sink holds the row at the version of its
// last record below c or later, or the row has a record at or after c
// (which will be processed again, and emit the row, after a restart).
type commitChecker struct {
	h          *harness
	mu         sync.Mutex
	records    map[tp][]actorstest.Written // by topic partition, in offset order
	violations []string
	commits    int
	// advancing counts the commits of an offset above zero.
	advancing int
}

func newCommitChecker(h *harness) *commitChecker {
	c := &commitChecker{h: h, records: map[tp][]actorstest.Written{}}
	h.cluster.ControlKey(kmsg.OffsetCommit.Int16(), func(kr kmsg.Request) (kmsg.Response, error, bool) {
		req := kr.(*kmsg.OffsetCommitRequest)
		if req.Group == h.group {
			c.check(req)
		}
		return nil, nil, false
	})
	return c
}

// result returns the commits found ahead of the sink (at most ten) and
// the number of commits checked.
func (c *commitChecker) result() (violations []string, commits int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.violations), c.commits
}

// sync indexes what the producer wrote so far.
func (c *commitChecker) sync() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.records)
	for _, w := range c.h.prod.Written {
		k := tp{w.Topic, w.Partition}
		c.records[k] = append(c.records[k], w)
	}
}

type rowKey struct {
	table topology.Table
	id    int64
}

func (c *commitChecker) check(req *kmsg.OffsetCommitRequest) {
	c.mu.Lock()
	defer c.mu.Unlock()
	versions := c.h.sink.MirrorVersions()
	c.commits++
	advancing := false
	defer func() {
		if advancing {
			c.advancing++
		}
	}()
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			advancing = advancing || p.Offset > 0
			recs := c.records[tp{t.Topic, p.Partition}]
			last := map[rowKey]actorstest.Written{}
			later := map[rowKey]bool{}
			for _, w := range recs {
				k := rowKey{w.Change.Table, w.Change.ID()}
				if w.Offset < p.Offset {
					last[k] = w
				} else {
					later[k] = true
				}
			}
			for k, w := range last {
				if later[k] || versions[k.table][k.id] >= w.Change.LSN {
					continue
				}
				if len(c.violations) < 10 {
					c.violations = append(c.violations, fmt.Sprintf("commit %s/%d at %d: %s %d of offset %d (lsn %d) not in the sink (sink has version %d)",
						t.Topic, p.Partition, p.Offset, k.table, k.id, w.Offset, w.Change.LSN, versions[k.table][k.id]))
				}
			}
		}
	}
}

// dropLeaves makes the broker drop LeaveGroup requests of the given
// members, as it never sees them from a crashed process: the group then
// waits for their sessions to time out.
type dropLeaves struct {
	mu      sync.Mutex
	members map[string]bool
}

func newDropLeaves(c *kfake.Cluster) *dropLeaves {
	d := &dropLeaves{members: map[string]bool{}}
	c.ControlKey(kmsg.LeaveGroup.Int16(), func(kr kmsg.Request) (kmsg.Response, error, bool) {
		req := kr.(*kmsg.LeaveGroupRequest)
		d.mu.Lock()
		defer d.mu.Unlock()
		drop := d.members[req.MemberID]
		for _, m := range req.Members {
			drop = drop || d.members[m.MemberID]
		}
		if drop {
			c.KeepControl()
			return nil, errors.New("dropped: the member crashed"), true
		}
		return nil, nil, false
	})
	return d
}

func (d *dropLeaves) add(member string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.members[member] = true
}

// memberID returns the node's consumer group member id.
func (r *node) memberID() string {
	r.mu.Lock()
	g := r.group
	r.mu.Unlock()
	if g == nil {
		return ""
	}
	m, _ := g.cl.GroupMetadata()
	return m
}

// owns returns the partition numbers the node runs actors for.
func (r *node) owns() []int32 {
	r.mu.Lock()
	g := r.group
	r.mu.Unlock()
	if g == nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []int32
	for n := range g.parts {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// waitFor polls cond every 10ms until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		<-tick.C
	}
}

// TestCrashAndRebalance runs three nodes on one cluster, crashes one
// while the sink is stalled (its state ahead of its commits, rows in
// flight lost), brings it back on the same state, shuts another down
// gracefully, adds a fourth with empty state, and checks that the sink
// ends equal to the join and that no commit ran ahead of the sink.
func TestCrashAndRebalance(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 3))
	hist := topologytest.Generate(rng, topologytest.Config{Transactions: 400, Snapshot: 6, Partitions: 6, GlobalPartitions: 3})
	h := newHarness(t, nil, 6, 3)
	checker := newCommitChecker(h)
	drops := newDropLeaves(h.cluster)
	recs := hist.Interleave(rng, nil)
	chunks := split(rng, recs, 6)
	produce := func(recs []topologytest.Record) {
		h.produce(recs)
		checker.sync()
	}

	produce(chunks[0])
	a := h.start("a", nil)
	b := h.start("b", nil)
	c := h.start("c", nil)
	waitFor(t, 20*time.Second, "three members sharing the partitions", func() bool {
		return len(a.owns()) == 2 && len(b.owns()) == 2 && len(c.owns()) == 2
	})

	// Crash a with rows in flight.
	h.sink.Stall()
	produce(chunks[1])
	waitFor(t, 20*time.Second, "rows in flight on a", func() bool { return a.Stats().InflightRows > 0 })
	drops.add(a.memberID())
	a.crash(t)
	h.sink.Unstall()
	produce(chunks[2])
	waitFor(t, 20*time.Second, "a's partitions taken over once its session expired", func() bool {
		return len(b.owns())+len(c.owns()) == 6
	})

	// Bring a back on its state; shut b down; add d with empty state.
	a2 := h.start("a", a.fs)
	produce(chunks[3])
	waitFor(t, 20*time.Second, "a back in the group", func() bool { return len(a2.owns()) > 0 })
	require.NoError(t, b.shutdown(t))
	produce(chunks[4])
	d := h.start("d", nil)
	produce(chunks[5])
	waitFor(t, 20*time.Second, "d in the group", func() bool { return len(d.owns()) > 0 })

	h.waitIdle(hist.Final, 60*time.Second)
	violations, commits := checker.result()
	assert.Empty(t, violations)
	assert.Positive(t, commits)
	for _, n := range []*node{a2, c, d} {
		assert.NoError(t, n.shutdown(t))
	}
}

// split cuts recs into n chunks of random sizes, none below half of an
// even share.
func split(rng *rand.Rand, recs []topologytest.Record, n int) [][]topologytest.Record {
	// Cuts near the n-quantiles, jittered by up to a quarter of a chunk:
	// every chunk holds at least half of its share, so that each step of
	// a test has records for every node's partitions.
	share := len(recs) / n
	cuts := []int{0}
	for i := 1; i < n; i++ {
		jitter := 0
		if share >= 4 {
			jitter = rng.IntN(share/2+1) - share/4
		}
		cuts = append(cuts, i*share+jitter)
	}
	cuts = append(cuts, len(recs))
	var out [][]topologytest.Record
	for i := 0; i+1 < len(cuts); i++ {
		out = append(out, recs[cuts[i]:cuts[i+1]])
	}
	return out
}
