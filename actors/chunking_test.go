package actors

import (
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/topology/topologytest"
)

// TestFactsInSharesWithRecordsArriving runs a node whose credit is far
// below the facts that one record or one dimension change emits (big
// orders, dimension updates that refresh many facts), while records keep
// arriving: calls of the processing step leave facts due, which go out
// in shares as credit comes back, with records held meanwhile. No step
// call may run while a share is due (the step refuses it and the node
// stops): not the held records when a reservation of versions commits,
// nor once a share ends while a refresh queued behind it left facts
// due. The sink ends equal to the join.
func TestFactsInSharesWithRecordsArriving(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 41))
			hist := topologytest.Generate(rng, topologytest.Config{
				Transactions: 400, Snapshot: 3, Partitions: 2, GlobalPartitions: 1,
				BigOrders: 0.08, BigOrderItems: [2]int{40, 120},
			})
			recs := hist.Interleave(rng, nil)
			h := newHarness(t, nil, 2, 1)
			h.tweak = func(c *Config) { c.MaxInflightRows, c.MaxPollRecords = 30, 20 }
			// A clock that runs fast, half a second a reading: the partition passes
			// its reservation of versions every few batches, holds its
			// records until the next reservation commits, and that commit
			// often comes while a share of facts is due.
			var ticks atomic.Int64
			start := uint64(time.Now().UnixNano())
			h.clocks = func(string) func() uint64 {
				return func() uint64 { return start + uint64(ticks.Add(1))*uint64(500*time.Millisecond) }
			}
			n := h.start("a", nil)
			waitFor(t, 20*time.Second, "the node in the group", func() bool { return len(n.owns()) == 2 })
			// In slices, so that records arrive while shares are due.
			for i := 0; i < len(recs); i += 50 {
				h.produce(recs[i:min(i+50, len(recs))])
				select {
				case err := <-n.done:
					require.Failf(t, "the node stopped", "%v", err)
				default:
				}
			}
			h.waitIdle(hist.Final, 30*time.Second)
			assert.Empty(t, h.sink.Regressions())
			require.NoError(t, n.shutdown(t))
		})
	}
}
