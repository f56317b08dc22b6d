package topologytest

import (
	"fmt"
	"math/rand/v2"

	"github.com/drivetrain-cdc/drivetrain/topology"
	"github.com/drivetrain-cdc/drivetrain/topology/step"
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

// Processor runs the production processing step (package
// topology/step) the way the actors do, minus actors and Kafka. Process
// reads one record: it joins its scope's open batch. Commit ends a
// scope's batch the way an actor ends a fetch: the step applies the
// records, the scope's writes and offsets commit together, and only then
// do its rows reach the Sink. Committing the global scope applies its
// records to the global tables and queues, for every partition, the
// refresh of the facts that join the changed rows; a partition runs its
// queued refreshes at its next commit, with the global offsets they
// reach, so a crash in between loses them with the partition's batch, as
// it would on a node. Not safe for concurrent use.
type Processor struct {
	Backend    Backend
	Sink       *Sink
	Partitions int32         // order-stream partitions; all are owned
	Clock      func() uint64 // the emission clock, Unix nanoseconds

	steps   map[int32]*step.Partition
	global  step.Global
	batch   map[int32][]Record
	refresh map[int32][]refresh
}

// refresh is a global batch's changes, queued for one partition.
type refresh struct {
	table   topology.Table
	ids     []int64
	offsets map[Queue]int64 // the global offsets the refresh reaches
}

// scopeStore adds the offsets of a Backend scope to its store.
type scopeStore struct {
	topology.PartitionStore
	b     Backend
	scope int32
}

func (s scopeStore) SetOffset(topic string, partition int32, next int64) error {
	return s.b.SetOffset(s.scope, Queue{topic, partition}, next)
}

// orderTopics are the order-stream topics, in the step's order.
var orderTopics = [3]string{Topic(topology.TableOrders), Topic(topology.TableOrderItems), Topic(topology.TablePayments)}

// Step returns the processing step of partition part.
func (p *Processor) Step(part int32) *step.Partition {
	if p.steps == nil {
		p.steps = map[int32]*step.Partition{}
	}
	s := p.steps[part]
	if s == nil {
		s = step.NewPartition(part, p.Partitions, orderTopics, nil)
		p.steps[part] = s
	}
	return s
}

// scope returns the scope of r: GlobalScope or its partition.
func scope(r *Record) int32 {
	if r.Change.Table.Global() {
		return GlobalScope
	}
	return r.Change.Pos.Partition
}

// Process reads one record into its scope's open batch.
func (p *Processor) Process(r *Record) error {
	if p.batch == nil {
		p.batch = map[int32][]Record{}
	}
	sc := scope(r)
	p.batch[sc] = append(p.batch[sc], *r)
	return nil
}

// Commit ends a scope's batch: it runs the step, commits the scope and
// hands its rows to the sink.
func (p *Processor) Commit(sc int32) error {
	if sc == GlobalScope {
		return p.commitGlobal()
	}
	recs := p.batch[sc]
	delete(p.batch, sc)
	s, err := p.Backend.Partition(sc)
	if err != nil {
		return err
	}
	st := scopeStore{s, p.Backend, sc}
	changes := make([]topology.Change, len(recs))
	topics := make([]string, len(recs))
	for i := range recs {
		changes[i], topics[i] = recs[i].Change, recs[i].Topic
	}
	res, err := p.Step(sc).Changes(st, changes, topics, step.Emit, p.Clock())
	if err != nil {
		return err
	}
	if len(res.Bad) > 0 {
		return fmt.Errorf("partition %d: bad record: %v", sc, res.Bad[0].BadRecord.Error())
	}
	mirrors, facts := res.Mirrors, res.Facts
	for _, r := range p.refresh[sc] {
		res, err := p.Step(sc).Refresh(s, r.table, r.ids, p.Clock())
		if err != nil {
			return fmt.Errorf("refreshing partition %d: %w", sc, err)
		}
		mirrors, facts = append(mirrors, res.Mirrors...), append(facts, res.Facts...)
		for q, next := range r.offsets {
			if err := p.Backend.SetOffset(sc, q, next); err != nil {
				return err
			}
		}
	}
	delete(p.refresh, sc)
	if err := p.Backend.Commit(sc); err != nil {
		return fmt.Errorf("committing scope %d: %w", sc, err)
	}
	p.Sink.InsertRows(mirrors, facts)
	return nil
}

// commitGlobal is Commit of the global scope.
func (p *Processor) commitGlobal() error {
	recs := p.batch[GlobalScope]
	delete(p.batch, GlobalScope)
	g, err := p.Backend.Global()
	if err != nil {
		return err
	}
	offsets := map[Queue]int64{}
	var mirrors []topology.Mirror
	var queued []refresh
	for _, t := range []topology.Table{topology.TableCustomers, topology.TableVehicles} {
		var dec []step.Decoded
		for i := range recs {
			if recs[i].Change.Table == t {
				dec = append(dec, step.Decoded{Change: recs[i].Change, OK: true})
				offsets[recs[i].Queue()] = recs[i].Change.Pos.Offset + 1
			}
		}
		if len(dec) == 0 {
			continue
		}
		res, err := p.global.Apply(g, dec, true)
		if err != nil {
			return err
		}
		if len(res.Bad) > 0 {
			return fmt.Errorf("%s: bad record: %v", t, res.Bad[0].BadRecord.Error())
		}
		mirrors = append(mirrors, res.Mirrors...)
		queued = append(queued, refresh{table: t, ids: res.Changed})
	}
	for q, next := range offsets {
		if err := p.Backend.SetOffset(GlobalScope, q, next); err != nil {
			return err
		}
	}
	if err := p.Backend.Commit(GlobalScope); err != nil {
		return fmt.Errorf("committing the global scope: %w", err)
	}
	p.Sink.InsertRows(mirrors, nil)
	if len(offsets) == 0 {
		return nil
	}
	// The partitions record the global offsets with their refreshes.
	if len(queued) > 0 {
		queued[len(queued)-1].offsets = offsets
	} else {
		queued = []refresh{{offsets: offsets}}
	}
	if p.refresh == nil {
		p.refresh = map[int32][]refresh{}
	}
	for part := range p.Partitions {
		p.refresh[part] = append(p.refresh[part], queued...)
	}
	return nil
}

// Apply runs the step on one order-stream record at once in mode
// (step.Replay or step.Quiet: it emits nothing), within its partition's
// open batch, and returns the orders a Quiet record touched. Records
// of that partition read with Process must be committed first.
func (p *Processor) Apply(r *Record, mode step.Mode) ([]int64, error) {
	part := r.Change.Pos.Partition
	s, err := p.Backend.Partition(part)
	if err != nil {
		return nil, err
	}
	res, err := p.Step(part).Changes(scopeStore{s, p.Backend, part}, []topology.Change{r.Change}, []string{r.Topic}, mode, 0)
	return res.Touched, err
}

// CommitAll commits the global scope, then every partition.
func (p *Processor) CommitAll() error {
	if err := p.Commit(GlobalScope); err != nil {
		return err
	}
	for part := range p.Partitions {
		if err := p.Commit(part); err != nil {
			return err
		}
	}
	return nil
}

// Crash forgets the batches and refreshes not yet committed; the caller
// discards the Backend's uncommitted writes.
func (p *Processor) Crash() {
	p.batch, p.refresh = nil, nil
}

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
