package actors

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/drivetrain-cdc/drivetrain/actors/actorstest"
	"github.com/drivetrain-cdc/drivetrain/state"
	"github.com/drivetrain-cdc/drivetrain/topology"
	"github.com/drivetrain-cdc/drivetrain/topology/topologytest"
)

// TestRedelivery processes a history to the end, then rewinds the
// group's committed offsets and the stored offsets of the global tables
// to random earlier positions and runs a node again, on the same state
// and on empty state: replaying any suffix of processed records leaves
// the sink equal to the join.
func TestRedelivery(t *testing.T) {
	for _, tt := range []struct {
		name       string
		emptyState bool
	}{
		{"same state", false},
		{"empty state", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			seed := uint64(time.Now().UnixNano())
			t.Logf("seed %d", seed)
			rng := rand.New(rand.NewPCG(seed, 4))
			hist := topologytest.Generate(rng, topologytest.Config{Transactions: 200, Snapshot: 4, Partitions: 3, GlobalPartitions: 2})
			h := newHarness(t, nil, 3, 2)
			h.produce(hist.Interleave(rng, nil))
			first := h.start("a", nil)
			h.waitIdle(hist.Final, 20*time.Second)
			require.NoError(t, first.shutdown(t))

			// Rewind the group, keeping the commit metadata.
			c := ctx(t)
			committed, err := h.adm.FetchOffsets(c, h.group)
			require.NoError(t, err)
			rewound := kadm.Offsets{}
			committed.Each(func(o kadm.OffsetResponse) {
				o.At = rng.Int64N(o.At + 1)
				rewound.Add(o.Offset)
			})
			resp, err := h.adm.CommitOffsets(c, h.group, rewound)
			require.NoError(t, err)
			require.NoError(t, resp.Error())

			fs := first.fs
			if tt.emptyState {
				fs = nil
			} else {
				// Rewind the global tables' stored offsets.
				store, err := state.Open("/state", state.Options{FS: fs})
				require.NoError(t, err)
				offs, err := store.GlobalOffsets()
				require.NoError(t, err)
				b := store.NewGlobalBatch()
				for _, o := range offs {
					require.NoError(t, b.SetOffset(o.Topic, o.Partition, rng.Int64N(o.Next+1)))
				}
				require.NoError(t, b.Commit())
				require.NoError(t, store.Close())
			}
			before := h.sink.Diff(hist.Final)
			require.Empty(t, before)
			second := h.start("a", fs)
			h.waitIdle(hist.Final, 20*time.Second)
			assert.Empty(t, h.sink.Regressions())
			assert.NoError(t, second.shutdown(t))
		})
	}
}

// TestRecreatedTopics: state that has read further than the topics now
// go (they were recreated) is not joined with new records: the node
// refuses to start, saying to remove the state directory.
func TestRecreatedTopics(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	hist := topologytest.Generate(rng, topologytest.Config{Transactions: 60, Partitions: 2, GlobalPartitions: 1})
	h := newHarness(t, nil, 2, 1)
	h.produce(hist.Interleave(rng, nil))
	first := h.start("a", nil)
	h.waitIdle(hist.Final, 20*time.Second)
	require.NoError(t, first.shutdown(t))

	c := ctx(t)
	var names []string
	for _, tab := range []topology.Table{topology.TableCustomers, topology.TableVehicles, topology.TableOrders, topology.TableOrderItems, topology.TablePayments} {
		names = append(names, h.enc.Topic(tab))
	}
	_, err := h.adm.DeleteTopics(c, names...)
	require.NoError(t, err)
	waitFor(t, 10*time.Second, "topics recreated", func() bool {
		return actorstest.CreateTopics(c, h.prod.Client, h.prefix, 2, 1) == nil
	})

	second := h.start("a", first.fs)
	err = second.wait(t)
	require.ErrorIs(t, err, ErrStaleState)
	assert.Contains(t, err.Error(), "remove the state directory")
}
