package actors

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/drivetrain-cdc/drivetrain/topology/topologytest"
)

// paused returns the order-stream topic partitions the node's group
// client does not fetch.
func (r *node) paused() int {
	r.mu.Lock()
	g := r.group
	r.mu.Unlock()
	if g == nil {
		return 0
	}
	n := 0
	for _, ps := range g.cl.PauseFetchPartitions(nil) {
		n += len(ps)
	}
	return n
}

// TestBackpressure stalls the sink: the node pauses fetching once the
// unacknowledged rows pass the credit limit, and the rows in flight stay
// bounded while the backlog waits in Kafka; unstalled, everything flows
// and is committed.
func TestBackpressure(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	// No big orders: the bound below allows a fan-out of 10 facts per record;
	// a record of an order of hundreds of items emits that many at once.
	hist := topologytest.Generate(rng, topologytest.Config{Transactions: 2500, Snapshot: 5, Partitions: 2, GlobalPartitions: 1, BigOrders: -1})
	h := newHarness(t, nil, 2, 1)
	const limit, poll = 40, 20
	h.tweak = func(c *Config) { c.MaxInflightRows, c.MaxPollRecords = limit, poll }
	n := h.start("a", nil)
	waitFor(t, 20*time.Second, "the node in the group", func() bool { return len(n.owns()) == 2 })

	h.sink.Stall()
	h.produce(hist.Interleave(rng, nil))
	waitFor(t, 20*time.Second, "fetching paused", func() bool { return n.paused() == 6 && h.sink.Stalled() > 0 })
	behind, err := h.lag(ctx(t))
	assert.NoError(t, err)
	assert.NotEmpty(t, behind, "nothing can be committed while the sink is stalled")
	stalled := n.Stats()
	t.Logf("while stalled: %+v", stalled)

	h.sink.Unstall()
	h.waitIdle(hist.Final, 30*time.Second)
	done := n.Stats()
	t.Logf("after: %+v", done)
	// Per partition actor: the limit plus what the records already handed
	// to it emit (at most 2 polls' worth overall, an order record
	// re-emitting every fact of the order); per global actor, the limit
	// plus one poll's mirror rows. A generous allowance for fan-out.
	bound := int64(2*limit + 2*limit + 2*poll*10 + 2*poll)
	assert.LessOrEqual(t, done.MaxInflightRows, bound)
	assert.Greater(t, done.RowsEmitted, 5*bound, "the bound should be well below the rows that flowed")
	assert.Empty(t, h.sink.Regressions())
	assert.NoError(t, n.shutdown(t))
}

// TestBackpressureBytes: with a row credit that never binds, the byte
// credit (MaxInflightBytes) pauses fetching while the sink is stalled and
// bounds the bytes in flight; unstalled, everything flows.
func TestBackpressureBytes(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	hist := topologytest.Generate(rng, topologytest.Config{Transactions: 1500, Snapshot: 5, Partitions: 2, GlobalPartitions: 1, BigOrders: -1})
	h := newHarness(t, nil, 2, 1)
	const bytes, poll = 8 << 10, 20
	h.tweak = func(c *Config) { c.MaxInflightRows, c.MaxInflightBytes, c.MaxPollRecords = 1_000_000, bytes, poll }
	n := h.start("a", nil)
	waitFor(t, 20*time.Second, "the node in the group", func() bool { return len(n.owns()) == 2 })
	h.sink.Stall()
	h.produce(hist.Interleave(rng, nil))
	waitFor(t, 20*time.Second, "fetching paused on bytes", func() bool { return n.paused() == 6 && h.sink.Stalled() > 0 })
	stalled := n.Stats()
	t.Logf("while stalled: %d rows in flight", stalled.InflightRows)
	assert.Less(t, stalled.InflightRows, int64(len(hist.Interleave(rng, nil))), "the backlog waits in Kafka")
	h.sink.Unstall()
	h.waitIdle(hist.Final, 30*time.Second)
	assert.Empty(t, h.sink.Regressions())
	assert.NoError(t, n.shutdown(t))
}
