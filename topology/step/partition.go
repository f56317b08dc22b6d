package step

import (
	"errors"
	"fmt"
	"time"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

// errPending is returned by a call made while facts are left due.
var errPending = errors.New("facts of the previous call are still due: call Continue first")

// Store is the state of one order-stream partition as one write batch
// sees it, plus the offsets that batch commits with its rows.
type Store interface {
	topology.PartitionStore
	// SetOffset records that the state reflects the records of (topic,
	// partition) before next.
	SetOffset(topic string, partition int32, next int64) error
}

// Mode says what a batch of records does besides changing state.
type Mode uint8

const (
	// Emit applies the records and emits their rows.
	Emit Mode = iota
	// Replay applies the records without emitting: their rows are in the
	// sinks already (records below the group's committed offsets).
	Replay
	// Quiet applies the records without emitting and reports the orders
	// they touched and their bad records: nothing of them is in the sinks
	// yet, and the state of those orders is emitted once afterwards
	// (EmitState), one row per row instead of one per record.
	Quiet
)

// Result is what one step call produced. Its slices belong to the
// caller; the step does not keep or reuse them.
type Result struct {
	Mirrors []topology.Mirror
	Facts   []topology.Fact
	// Bad lists the records that go to the dead-letter topic (also in
	// Quiet mode; never in Replay mode, whose records were dead-lettered
	// when first processed).
	Bad []Bad
	// Next holds, per order-stream topic (orders, order_items, payments),
	// the offset after the batch's last record of that topic, 0 when the
	// batch had none.
	Next [3]int64
	// Written is the newest Kafka timestamp of the batch's records.
	Written time.Time
	// Touched lists, in Quiet mode, the orders the records changed (with
	// repeats).
	Touched []int64
	// More says facts the call made due were left unbuilt (MaxFacts):
	// Continue builds the next share. Until none is left the caller
	// applies nothing more to the partition.
	More bool
	// Rest lists, for EmitState, the orders left out once their mirror
	// rows reached MaxFacts: emit them in a later call.
	Rest []int64
}

// Rows returns how many rows r holds.
func (r *Result) Rows() int { return len(r.Mirrors) + len(r.Facts) }

// Partition is the processing step of one order-stream partition: its
// number N of Count partitions, and the three co-partitioned topics it
// reads (orders, order_items, payments, in that order). Not safe for
// concurrent use: one per partition actor.
type Partition struct {
	N, Count int32
	Topics   [3]string
	Decoder  *Decoder

	// MaxFacts bounds the facts one call builds (0: no bound): past it,
	// the call stops after a whole item, sets Result.More and leaves the
	// rest to Continue, so that one record or batch, such as the delete
	// of an order of thousands of items, never puts more rows in memory
	// than the caller's credit.
	MaxFacts int
	// MaxMisrouted is how many records in a row may belong to other
	// partitions before the step fails with a MisroutedError (default
	// DefaultMaxMisrouted): one such record is a dead letter, a run of
	// them a connector that does not route by order id.
	MaxMisrouted int

	ch        topology.Change
	out       topology.Output
	misrouted int // records in a row that belonged to other partitions
}

// DefaultMaxMisrouted is Partition.MaxMisrouted's default.
const DefaultMaxMisrouted = 100

// NewPartition returns the step of partition n of count, reading topics
// (orders, order_items, payments) with dec.
func NewPartition(n, count int32, topics [3]string, dec *Decoder) *Partition {
	return &Partition{N: n, Count: count, Topics: topics, Decoder: dec}
}

// Topic returns the index of topic among the partition's topics, or -1.
func (p *Partition) Topic(topic string) int {
	for i, t := range p.Topics {
		if t == topic {
			return i
		}
	}
	return -1
}

// Records processes records read from the partition's topics (others are
// skipped) in the given mode, with the emission clock now, against s.
// A store error, or a MisroutedError, fails the whole batch: the caller
// discards s.
func (p *Partition) Records(s Store, recs []Record, mode Mode, now uint64) (Result, error) {
	if p.out.Pending() {
		return Result{}, errPending
	}
	var res Result
	detach := mode == Emit
	for i := range recs {
		r := &recs[i]
		t := p.Topic(r.Topic)
		if t < 0 {
			continue
		}
		if r.Timestamp.After(res.Written) {
			res.Written = r.Timestamp
		}
		ok, err := p.Decoder.Decode(r, detach, &p.ch)
		if err == nil && ok {
			err = p.apply(s, &p.ch, r.Topic, mode, now, &res)
		}
		if err := res.note(i, mode, err); err != nil {
			return Result{}, err
		}
		res.Next[t] = r.Offset + 1
	}
	return p.finish(s, mode, now, &res)
}

// Changes is Records for changes already decoded (the property tests
// generate changes, not Debezium JSON); their Pos gives the partition and
// offset, and topics[i] the topic of changes[i]. Bad.Index counts in
// changes.
func (p *Partition) Changes(s Store, changes []topology.Change, topics []string, mode Mode, now uint64) (Result, error) {
	if p.out.Pending() {
		return Result{}, errPending
	}
	var res Result
	for i := range changes {
		t := p.Topic(topics[i])
		if t < 0 {
			continue
		}
		err := p.apply(s, &changes[i], topics[i], mode, now, &res)
		if err := res.note(i, mode, err); err != nil {
			return Result{}, err
		}
		res.Next[t] = changes[i].Pos.Offset + 1
	}
	return p.finish(s, mode, now, &res)
}

// note records the outcome of record i: a *BadRecord becomes a dead
// letter (unless replaying) and the batch goes on; another error is
// returned, failing the batch.
func (r *Result) note(i int, mode Mode, err error) error {
	var bad *BadRecord
	if !errors.As(err, &bad) {
		return err
	}
	if mode != Replay {
		r.Bad = append(r.Bad, Bad{Index: i, BadRecord: *bad})
	}
	return nil
}

// apply checks and applies one change.
func (p *Partition) apply(s Store, ch *topology.Change, topic string, mode Mode, now uint64, res *Result) error {
	if err := ch.Validate(); err != nil {
		return &BadRecord{Kind: KindInvalidChange, Detail: err.Error()}
	}
	id := ch.Image().OrderID()
	if want := topology.OrderPartition(id, p.Count); want != p.N {
		p.misrouted++
		limit := p.MaxMisrouted
		if limit <= 0 {
			limit = DefaultMaxMisrouted
		}
		if p.misrouted >= limit {
			return &MisroutedError{Topic: topic, Partition: ch.Pos.Partition, Offset: ch.Pos.Offset, OrderID: id, Want: want, Run: p.misrouted}
		}
		return &BadRecord{Kind: KindMisrouted, Detail: fmt.Sprintf("order %d belongs to partition %d, not %d", id, want, p.N)}
	}
	p.misrouted = 0
	var out *topology.Output
	if mode == Emit {
		out = &p.out
	}
	if err := topology.Apply(s, ch, now, out); err != nil {
		if errors.Is(err, topology.ErrInvalidChange) {
			return &BadRecord{Kind: KindInvalidChange, Detail: err.Error()}
		}
		return applyError(topic, ch.Pos.Partition, ch.Pos.Offset, err)
	}
	if mode == Quiet {
		res.Touched = append(res.Touched, id)
	}
	return nil
}

// finish records the offsets, builds the due facts and hands the rows
// over.
func (p *Partition) finish(s Store, mode Mode, now uint64, res *Result) (Result, error) {
	for i, topic := range p.Topics {
		if res.Next[i] == 0 {
			continue
		}
		if err := s.SetOffset(topic, p.N, res.Next[i]); err != nil {
			return Result{}, err
		}
	}
	if mode == Emit {
		if err := p.emit(s, now, res); err != nil {
			return Result{}, err
		}
	}
	return *res, nil
}

// Refresh re-emits the facts of the partition that join the given rows
// of a global table (customers or vehicles), after the global step
// applied changes of them.
func (p *Partition) Refresh(s topology.PartitionStore, t topology.Table, ids []int64, now uint64) (Result, error) {
	if p.out.Pending() {
		return Result{}, errPending
	}
	var res Result
	for _, id := range ids {
		if err := topology.Refresh(s, t, id, &p.out); err != nil {
			p.out.Reset()
			return Result{}, err
		}
	}
	err := p.emit(s, now, &res)
	return res, err
}

// EmitState emits everything the state holds of the given orders (see
// topology.EmitState): what a Quiet batch leaves to emit.
func (p *Partition) EmitState(s topology.PartitionStore, orders []int64, now uint64) (Result, error) {
	if p.out.Pending() {
		return Result{}, errPending
	}
	var res Result
	for i, id := range orders {
		if err := topology.EmitState(s, id, &p.out); err != nil {
			p.out.Reset()
			return Result{}, err
		}
		if p.MaxFacts > 0 && len(p.out.Mirrors) >= p.MaxFacts && i+1 < len(orders) {
			res.Rest = orders[i+1:]
			break
		}
	}
	err := p.emit(s, now, &res)
	return res, err
}

// emit builds the pending facts and moves the rows into res.
func (p *Partition) emit(s topology.PartitionStore, now uint64, res *Result) error {
	more, err := topology.EmitPendingUpTo(s, now, &p.out, p.MaxFacts)
	if err != nil {
		p.out.Reset()
		return err
	}
	res.Mirrors, res.Facts, res.More = p.out.Mirrors, p.out.Facts, more
	p.out.Mirrors, p.out.Facts = nil, nil
	if !more {
		p.out.Reset()
	}
	return nil
}

// Continue builds the next share of the facts a call left due
// (Result.More), against a new state batch s of the same partition.
func (p *Partition) Continue(s topology.PartitionStore, now uint64) (Result, error) {
	var res Result
	err := p.emit(s, now, &res)
	return res, err
}

// Pending reports whether facts are left due (Result.More).
func (p *Partition) Pending() bool { return p.out.Pending() }
