package topology_test

import (
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/topology/step"
	"github.com/drivetrain-cdc/drivetrain/topology/topologytest"
)

var (
	seedFlag  = flag.Uint64("seed", 0, "first seed of the randomized join tests (0: from the clock)")
	casesFlag = flag.Int("cases", 0, "cases of each randomized join test (0: 300, or 40 with -short)")
)

// randomCases calls f with the seeds of the randomized cases and fails
// with the seed and a command that reruns the failing case.
func randomCases(t *testing.T, f func(rng *rand.Rand) string) {
	t.Helper()
	n := *casesFlag
	if n == 0 {
		n = 300
		if testing.Short() {
			n = 40
		}
	}
	topologytest.RandomCases(t, "./topology", *seedFlag, n, f)
}

// newProcessor returns a Processor for h on an in-memory store.
func newProcessor(rng *rand.Rand, h *topologytest.History) *topologytest.Processor {
	return &topologytest.Processor{
		Backend:    topologytest.NewMemBackend(),
		Sink:       topologytest.NewSink(),
		Partitions: h.Config.Partitions,
		Clock:      topologytest.NewClock(rng, 1_000_000),
	}
}

// run feeds one interleaving of h through a Processor on an in-memory
// store and returns its sink.
func run(rng *rand.Rand, h *topologytest.History) (*topologytest.Sink, error) {
	p := newProcessor(rng, h)
	err := p.Run(rng, h.Interleave(rng, nil), 4)
	return p.Sink, err
}

// check returns "" if sink holds exactly what the final tables of h say,
// with fact versions that grew per key.
func check(h *topologytest.History, sink *topologytest.Sink) string {
	if d := topologytest.Diff(h.Final, sink); d != "" {
		return d
	}
	if r := sink.Regressions(); r != nil {
		return fmt.Sprint("fact versions went back: ", r)
	}
	return ""
}

// TestJoinOrderInsensitive is the order-insensitivity property of
// docs/design.md (Ordering and redelivery) at the level of the join rules: random histories of the five tables,
// interleaved at random while keeping each partition's order, end in
// mirror tables equal to the final source tables and in facts equal to
// their left join computed directly.
func TestJoinOrderInsensitive(t *testing.T) {
	randomCases(t, func(rng *rand.Rand) string {
		h := topologytest.Generate(rng, topologytest.RandomConfig(rng))
		for range 2 {
			sink, err := run(rng, h)
			if err != nil {
				return err.Error()
			}
			if msg := check(h, sink); msg != "" {
				return msg
			}
		}
		return ""
	})
}

// TestJoinRedelivery checks that redelivered records change nothing in
// the final result: queues that rewind and repeat stretches of records
// anywhere in the run, and then a replay of any suffix of every queue
// after the run.
func TestJoinRedelivery(t *testing.T) {
	randomCases(t, func(rng *rand.Rand) string {
		h := topologytest.Generate(rng, topologytest.RandomConfig(rng))
		p := newProcessor(rng, h)
		if err := p.Run(rng, h.WithRedeliveries(rng).Interleave(rng, nil), 4); err != nil {
			return err.Error()
		}
		if msg := check(h, p.Sink); msg != "" {
			return "with redeliveries: " + msg
		}
		mirrors, facts := p.Sink.LiveMirrors(), p.Sink.CurrentFacts()
		from := map[topologytest.Queue]int64{}
		for q, recs := range h.Queues {
			from[q] = rng.Int64N(int64(len(recs)) + 1)
		}
		if err := p.Run(rng, h.Interleave(rng, from), 4); err != nil {
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
}

// TestJoinLostState is the case of a node that emitted facts and lost its
// state before the group committed what it read (topologytest.RunLostState):
// the facts it emitted from records beyond the committed offsets must all
// be superseded, including those of items that the next node sees deleted
// before their order arrives.
func TestJoinLostState(t *testing.T) {
	randomCases(t, func(rng *rand.Rand) string {
		h := topologytest.Generate(rng, topologytest.RandomConfig(rng))
		sink, err := topologytest.RunLostState(rng, h, topologytest.NewMemBackend(), topologytest.NewMemBackend())
		if err != nil {
			return err.Error()
		}
		return check(h, sink)
	})
}

// TestGeneratorCoversTheCases guards the property tests against a
// generator that stops producing the interesting histories.
func TestGeneratorCoversTheCases(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var switched, toasted, cascaded, deleted, snap int
	for range 50 {
		h := topologytest.Generate(rng, topologytest.Config{Transactions: 100, Snapshot: 2})
		for _, recs := range h.Queues {
			for _, r := range recs {
				ch := r.Change
				switch {
				case ch.Unchanged != 0:
					toasted++
				case ch.Op.String() == "r":
					snap++
				case ch.Op.String() == "d" && ch.Table.String() == "orders":
					cascaded++
				case ch.Op.String() == "d":
					deleted++
				case ch.Op.String() == "u" && ch.Table.String() == "order_items" && ch.Before.Valid &&
					ch.Before.V.Item.VehicleID != ch.After.V.Item.VehicleID:
					switched++
				}
			}
		}
	}
	for name, n := range map[string]int{"vehicle switches": switched, "TOAST placeholders": toasted,
		"order deletes": cascaded, "other deletes": deleted, "snapshot reads": snap} {
		require.Positive(t, n, name)
	}
}

// TestJoinEmitState is the quiet start of a partition: the records up to
// a random point are processed as usual (what the sinks hold at the
// group's committed offsets; none, when the point is 0), the order-stream
// records up to a second point are applied without emitting, then
// EmitState sends every order they touched, then the rest is processed
// as usual. The sink must end equal to the final tables, as if every
// record had emitted.
func TestJoinEmitState(t *testing.T) {
	randomCases(t, func(rng *rand.Rand) string {
		h := topologytest.Generate(rng, topologytest.RandomConfig(rng))
		p := newProcessor(rng, h)
		recs := h.Interleave(rng, nil)
		from := rng.IntN(len(recs) + 1)
		if rng.IntN(2) == 0 {
			from = 0
		}
		cut := from + rng.IntN(len(recs)-from+1)
		if err := p.Run(rng, recs[:from], 4); err != nil {
			return err.Error()
		}
		touched := map[int32]map[int64]bool{}
		for i := from; i < cut; i++ {
			r := &recs[i]
			if r.Change.Table.Global() {
				if err := p.Process(r); err != nil {
					return err.Error()
				}
				continue
			}
			part := r.Change.Pos.Partition
			ids, err := p.Apply(r, step.Quiet)
			if err != nil {
				return err.Error()
			}
			if touched[part] == nil {
				touched[part] = map[int64]bool{}
			}
			for _, id := range ids {
				touched[part][id] = true
			}
		}
		if err := p.CommitAll(); err != nil {
			return err.Error()
		}
		for part, ids := range touched {
			s, err := p.Backend.Partition(part)
			if err != nil {
				return err.Error()
			}
			res, err := p.Step(part).EmitState(s, slices.Sorted(maps.Keys(ids)), p.Clock())
			if err != nil {
				return err.Error()
			}
			if err := p.Backend.Commit(part); err != nil {
				return err.Error()
			}
			p.Sink.InsertRows(res.Mirrors, res.Facts)
		}
		if err := p.Run(rng, recs[cut:], 4); err != nil {
			return err.Error()
		}
		if msg := check(h, p.Sink); msg != "" {
			return fmt.Sprintf("quiet from record %d to %d of %d: %s", from, cut, len(recs), msg)
		}
		return ""
	})
}
