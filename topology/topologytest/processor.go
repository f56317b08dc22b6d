package topologytest

import (
	"fmt"
	"math/rand/v2"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

// GlobalScope names the global tables' scope in a Backend; partition
// scopes are the partition numbers.
const GlobalScope int32 = -1

// Backend is the state a Processor runs the join rules on: one write
// transaction per scope (the global tables, or one partition of the order
// stream), open from the first call that needs it until Commit. Reads of a
// scope see that scope's uncommitted writes and the other scopes'
// committed ones. Offsets are "next offset to read" per topic partition,
// stored in the scope's transaction.
type Backend interface {
	Global() (topology.GlobalStore, error)
	Partition(p int32) (topology.PartitionStore, error)
	SetOffset(scope int32, q Queue, next int64) error
	// Offset returns the committed offset of q in scope.
	Offset(scope int32, q Queue) (int64, bool, error)
	Commit(scope int32) error
}

// MemBackend is a Backend over a MemStore. Writes apply at once, so it
// cannot model a crash.
type MemBackend struct {
	*MemStore
	offsets map[int32]map[Queue]int64
}

// NewMemBackend returns an empty MemBackend.
func NewMemBackend() *MemBackend {
	return &MemBackend{MemStore: NewMemStore(), offsets: map[int32]map[Queue]int64{}}
}

// Global implements Backend.
func (b *MemBackend) Global() (topology.GlobalStore, error) { return b.MemStore, nil }

// Partition implements Backend.
func (b *MemBackend) Partition(p int32) (topology.PartitionStore, error) {
	return b.MemStore.Partition(p), nil
}

// SetOffset implements Backend.
func (b *MemBackend) SetOffset(scope int32, q Queue, next int64) error {
	if b.offsets[scope] == nil {
		b.offsets[scope] = map[Queue]int64{}
	}
	b.offsets[scope][q] = next
	return nil
}

// Offset implements Backend.
func (b *MemBackend) Offset(scope int32, q Queue) (int64, bool, error) {
	n, ok := b.offsets[scope][q]
	return n, ok, nil
}

// Commit implements Backend.
func (b *MemBackend) Commit(int32) error { return nil }

// Processor drives the join rules the way the actors do, minus actors and
// Kafka: a global-table record is applied to the global tables and
// committed, then every partition refreshes the facts that join the row;
// an order-stream record is applied to its partition. Each scope's
// outputs reach the Sink only when the scope commits, and the offsets of
// the records go in the same commit. Not safe for concurrent use.
type Processor struct {
	Backend    Backend
	Sink       *Sink
	Partitions int32         // order-stream partitions; all are owned
	Clock      func() uint64 // the emission clock, Unix nanoseconds

	pending map[int32]*topology.Output
}

func (p *Processor) out(scope int32) *topology.Output {
	if p.pending == nil {
		p.pending = map[int32]*topology.Output{}
	}
	o := p.pending[scope]
	if o == nil {
		o = &topology.Output{}
		p.pending[scope] = o
	}
	return o
}

// Process applies one record.
func (p *Processor) Process(r *Record) error {
	ch := &r.Change
	q := r.Queue()
	next := ch.Pos.Offset + 1
	if !ch.Table.Global() {
		part := ch.Pos.Partition
		s, err := p.Backend.Partition(part)
		if err != nil {
			return err
		}
		if err := topology.Apply(s, ch, p.Clock(), p.out(part)); err != nil {
			return fmt.Errorf("applying %s offset %d: %w", q.Topic, ch.Pos.Offset, err)
		}
		return p.Backend.SetOffset(part, q, next)
	}
	g, err := p.Backend.Global()
	if err != nil {
		return err
	}
	applied, err := topology.ApplyGlobal(g, ch, p.out(GlobalScope))
	if err != nil {
		return fmt.Errorf("applying %s offset %d: %w", q.Topic, ch.Pos.Offset, err)
	}
	if err := p.Backend.SetOffset(GlobalScope, q, next); err != nil {
		return err
	}
	// The partitions must see the row before they refresh.
	if err := p.Commit(GlobalScope); err != nil {
		return err
	}
	for part := range p.Partitions {
		s, err := p.Backend.Partition(part)
		if err != nil {
			return err
		}
		if applied {
			if err := topology.Refresh(s, ch.Table, ch.ID(), p.Clock(), p.out(part)); err != nil {
				return fmt.Errorf("refreshing partition %d for %s offset %d: %w", part, q.Topic, ch.Pos.Offset, err)
			}
		}
		// The partition has caught up with this record of a global topic.
		if err := p.Backend.SetOffset(part, q, next); err != nil {
			return err
		}
	}
	return nil
}

// Commit commits a scope and hands its outputs to the sink.
func (p *Processor) Commit(scope int32) error {
	if err := p.Backend.Commit(scope); err != nil {
		return fmt.Errorf("committing scope %d: %w", scope, err)
	}
	if o := p.pending[scope]; o != nil {
		p.Sink.Insert(o)
		o.Reset()
	}
	return nil
}

// CommitAll commits every partition and the global scope.
func (p *Processor) CommitAll() error {
	for part := range p.Partitions {
		if err := p.Commit(part); err != nil {
			return err
		}
	}
	return p.Commit(GlobalScope)
}

// Crash forgets the outputs not yet committed; the caller discards the
// Backend's uncommitted writes.
func (p *Processor) Crash() { p.pending = nil }

// Resume returns where to resume reading each queue of h from the
// committed offsets: an order-stream partition from its own offsets; a
// global topic partition from the lowest of the global tables' offset and
// every partition's, so that refreshes lost with a partition's
// uncommitted writes happen again.
func (p *Processor) Resume(h *History) (map[Queue]int64, error) {
	from := map[Queue]int64{}
	for q := range h.Queues {
		var scopes []int32
		if TableOf(q.Topic).Global() {
			scopes = append(scopes, GlobalScope)
			for part := range p.Partitions {
				scopes = append(scopes, part)
			}
		} else {
			scopes = append(scopes, q.Partition)
		}
		lowest := int64(-1)
		for _, sc := range scopes {
			n, _, err := p.Backend.Offset(sc, q)
			if err != nil {
				return nil, err
			}
			if lowest < 0 || n < lowest {
				lowest = n
			}
		}
		from[q] = lowest
	}
	return from, nil
}

// TableOf returns the table of a topic named by Topic.
func TableOf(topic string) topology.Table {
	const prefix = "ecommerce.public."
	if len(topic) <= len(prefix) || topic[:len(prefix)] != prefix {
		return topology.TableUnknown
	}
	return topology.TableNamed(topic[len(prefix):])
}

// Run processes recs in order, committing the scope of a record after it
// with probability 1/commitEvery (every record when commitEvery ≤ 1), then
// commits everything.
func (p *Processor) Run(rng *rand.Rand, recs []Record, commitEvery int) error {
	for i := range recs {
		if err := p.Process(&recs[i]); err != nil {
			return err
		}
		if commitEvery <= 1 || rng.IntN(commitEvery) == 0 {
			scope := GlobalScope
			if !recs[i].Change.Table.Global() {
				scope = recs[i].Change.Pos.Partition
			}
			if err := p.Commit(scope); err != nil {
				return err
			}
		}
	}
	return p.CommitAll()
}

// NewClock returns an emission clock for tests: Unix nanoseconds from
// start, advancing by a random step that is sometimes 0 (a stalled clock,
// which NextVersion must survive).
func NewClock(rng *rand.Rand, start uint64) func() uint64 {
	now := start
	return func() uint64 {
		if rng.IntN(4) != 0 {
			now += 1 + rng.Uint64N(1000)
		}
		return now
	}
}
