package actors

import (
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/drivetrain-cdc/drivetrain/topology/topologytest"
)

// TestOrderInsensitivity is the actor-level property test of docs/design.md, Ordering and redelivery:
// random histories of the five tables, produced into kfake as Debezium
// JSON in random interleavings (each topic partition in order), in
// chunks while a node consumes them (and sometimes crashes and comes
// back, on its state or on none), end with the sink holding exactly the
// left join of the final tables. DRIVETRAIN_PROPERTY_CASES sets the
// number of cases (default 30); DRIVETRAIN_PROPERTY_SEED replays one.
func TestOrderInsensitivity(t *testing.T) {
	cases := 30
	if s, err := strconv.Atoi(os.Getenv("DRIVETRAIN_PROPERTY_CASES")); err == nil {
		cases = s
	}
	base := uint64(time.Now().UnixNano())
	if s, err := strconv.ParseUint(os.Getenv("DRIVETRAIN_PROPERTY_SEED"), 10, 64); err == nil {
		base, cases = s, 1
	}
	cluster := newCluster(t)
	for i := range cases {
		seed := base + uint64(i)
		t.Run(strconv.FormatUint(seed, 10), func(t *testing.T) {
			t.Parallel()
			t.Logf("seed %d (rerun with DRIVETRAIN_PROPERTY_SEED=%d)", seed, seed)
			rng := rand.New(rand.NewPCG(seed, 0x5eed))
			cfg := topologytest.RandomConfig(rng)
			hist := topologytest.Generate(rng, cfg)
			h := newHarness(t, cluster, cfg.Partitions, cfg.GlobalPartitions)
			recs := hist.Interleave(rng, nil)
			// Part of the history is there before the node starts (its
			// global part is bootstrapped), the rest arrives in chunks.
			first := rng.IntN(len(recs) + 1)
			h.produce(recs[:first])
			n := h.start("a", nil)
			for rest := recs[first:]; len(rest) > 0; {
				k := 1 + rng.IntN(len(rest))
				h.produce(rest[:k])
				rest = rest[k:]
				// Sometimes the node crashes (no draining, no commits; it
				// still leaves the group, for speed) and comes back on its
				// state or on empty state.
				if rng.IntN(4) == 0 {
					n.crash(t)
					fs := n.fs
					if rng.IntN(2) == 0 {
						fs = nil
					}
					n = h.start("a", fs)
				}
			}
			h.waitIdle(hist.Final, 20*time.Second)
			assert.NoError(t, n.shutdown(t))
		})
	}
}
