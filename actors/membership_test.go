package actors

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/topology/topologytest"
)

// TestStaticMembership: with a session timeout of 30 s, a node killed and
// restarted under its node id gets its partitions back as soon as it
// rejoins, and a node stopped gracefully hands its partitions over at
// once, both well before the group would notice a missing member. The
// takeover times are logged; the sink ends equal to the join.
func TestStaticMembership(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	hist := topologytest.Generate(rng, topologytest.Config{Transactions: 200, Snapshot: 4, Partitions: 4, GlobalPartitions: 1})
	h := newHarness(t, nil, 4, 1)
	h.tweak = func(c *Config) {
		c.SessionTimeout = 30 * time.Second
		c.RebalanceTimeout = 20 * time.Second
	}
	chunks := split(rng, hist.Interleave(rng, nil), 3)
	h.produce(chunks[0])
	a := h.start("a", nil)
	b := h.start("b", nil)
	waitFor(t, 20*time.Second, "a and b sharing the partitions", func() bool { return len(a.owns()) == 2 && len(b.owns()) == 2 })
	mine := a.owns()

	// A crashed process sends no LeaveGroup.
	newDropLeaves(h.cluster).add(a.memberID())
	a.crash(t)
	start := time.Now()
	a2 := h.start("a", a.fs)
	waitFor(t, 15*time.Second, "a back with its partitions", func() bool { return assert.ObjectsAreEqual(mine, a2.owns()) })
	t.Logf("a restarted after a crash owns its partitions again after %v (session timeout 30s)", time.Since(start).Round(time.Millisecond))
	h.produce(chunks[1])

	start = time.Now()
	require.NoError(t, b.shutdown(t))
	waitFor(t, 15*time.Second, "a owning every partition after b left", func() bool { return len(a2.owns()) == 4 })
	t.Logf("b's partitions moved to a %v after b began to stop (session timeout 30s)", time.Since(start).Round(time.Millisecond))
	h.produce(chunks[2])
	h.waitIdle(hist.Final, 30*time.Second)
	assert.Empty(t, h.sink.Regressions())
	assert.NoError(t, a2.shutdown(t))
}
