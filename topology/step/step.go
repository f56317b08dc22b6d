// Package step is drivetrain's processing step: the one place where
// Kafka records become state changes and output rows. A partition actor,
// the global-table actors, the property and crash tests and the
// in-process benchmark all call it; what they keep for themselves is
// what is theirs: mailboxes, credit, acknowledgements and Kafka for the
// actors, interleavings and crashes for the tests, timing for the
// benchmark.
//
// A step call takes a batch of records (or, for tests that generate
// changes rather than Debezium JSON, of decoded changes) and, against a
// state batch the caller opened:
//
//  1. decodes each record (package topology/debezium); a record that
//     cannot be decoded, or whose change the join rules reject, becomes a
//     dead letter with its kind and detail, and the batch goes on;
//  2. checks that an order-stream record belongs to the partition it was
//     read from: one that does not is a dead letter (KindMisrouted), and
//     a run of them fails the batch (MisroutedError);
//  3. applies the change to state (topology.Apply, ApplyGlobal), emitting
//     its mirror row unless the mode says not to;
//  4. records, per order-stream topic, the next offset after the batch in
//     the state batch (Store.SetOffset), so that the state and the offsets
//     it reflects commit together;
//  5. builds the facts the batch made due, each once (topology.EmitPending),
//     with versions from the partition's fact-version clock.
//
// The caller writes the state batch (to Pebble, or to the state's
// in-memory stage that the next checkpoint writes) and then lets the
// Result's rows leave. A crash may lose a staged batch whose rows left:
// the records are then read again from the offsets the state kept, and
// the join's result does not depend on that (topology/doc.go, "Lost
// state").
//
// The step does no I/O; the clock is passed in (Unix nanoseconds), so
// tests drive it with skewed and backward-stepping clocks.
package step

import (
	"errors"
	"fmt"
	"time"

	"github.com/drivetrain-cdc/drivetrain/topology"
	"github.com/drivetrain-cdc/drivetrain/topology/debezium"
)

// Record is a Kafka record as the step reads it.
type Record struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       []byte
	Value     []byte
	// Timestamp is the record's Kafka timestamp (when it was written).
	Timestamp time.Time
}

// Dead-letter kinds of the step; the other kinds are the names of
// debezium.ErrorKind.
const (
	// KindInvalidChange: a decoded change that the join rules reject
	// (topology.ErrInvalidChange).
	KindInvalidChange = "invalid_change"
	// KindMisrouted: an order-stream record whose order belongs to
	// another partition than the one it was read from. Joining it there
	// would be wrong; the partition goes on without it.
	KindMisrouted = "misrouted"
)

// BadRecord is why a record goes to the dead-letter topic.
type BadRecord struct {
	Kind   string // stable: a debezium.ErrorKind name, or KindInvalidChange
	Detail string
}

func (b *BadRecord) Error() string { return b.Kind + ": " + b.Detail }

// Bad is a record of a batch that goes to the dead-letter topic.
type Bad struct {
	Index int // the record's position in the batch
	BadRecord
}

// Decoder turns records into changes. It wraps the Debezium decoder, so
// it is not safe for concurrent use: one per goroutine.
type Decoder struct {
	d  *debezium.Decoder
	ch debezium.Change
}

// NewDecoder returns a Decoder with the given options.
func NewDecoder(opts debezium.Options) *Decoder {
	return &Decoder{d: debezium.NewDecoder(opts)}
}

// Debezium returns the wrapped decoder, for callers that read keys only.
func (d *Decoder) Debezium() *debezium.Decoder { return d.d }

// Decode decodes r into ch. It returns false, nil for records that carry
// no change (tombstones, heartbeats, transaction and message topics), and
// a *BadRecord for records that cannot be decoded. With detach, the
// strings of ch own their memory (rows that leave the step need that);
// otherwise they are valid until the next call.
func (d *Decoder) Decode(r *Record, detach bool, ch *topology.Change) (bool, error) {
	return d.decodeWith(d.d.Decode, r, detach, ch)
}

// Check reports why r would go to the dead-letter topic, as Decode and
// the join rules would (nil for a good record or one without a change),
// without keeping its change.
func (d *Decoder) Check(r *Record) error {
	var ch topology.Change
	ok, err := d.decodeWith(d.d.Check, r, false, &ch)
	if err != nil || !ok {
		return err
	}
	if err := ch.Validate(); err != nil {
		return &BadRecord{Kind: KindInvalidChange, Detail: err.Error()}
	}
	return nil
}

func (d *Decoder) decodeWith(decode func(string, []byte, []byte, *debezium.Change) error, r *Record, detach bool, ch *topology.Change) (bool, error) {
	if err := decode(r.Topic, r.Key, r.Value, &d.ch); err != nil {
		var e *debezium.Error
		if errors.As(err, &e) {
			detail := e.Detail
			if e.Path != "" {
				detail = e.Path + ": " + detail
			}
			return false, &BadRecord{Kind: e.Kind.String(), Detail: detail}
		}
		return false, &BadRecord{Kind: "decode_error", Detail: err.Error()}
	}
	if d.ch.Kind != debezium.KindChange {
		return false, nil
	}
	if detach {
		d.ch.Detach()
	}
	d.ch.ToTopology(topology.Position{Partition: r.Partition, Offset: r.Offset}, ch)
	return true, nil
}

// MisroutedError is returned when Partition.MaxMisrouted order-stream
// records in a row belong to other partitions than the one they were
// read from: the topics are not co-partitioned by order id, and every
// join would be wrong.
type MisroutedError struct {
	Topic     string
	Partition int32
	Offset    int64 // the last of the run
	OrderID   int64
	Want      int32 // the partition the order belongs to
	Run       int   // records in a row
}

func (e *MisroutedError) Error() string {
	return fmt.Sprintf("%d records in a row belong to other partitions; the last, %s partition %d offset %d, carries order %d, which belongs to partition %d",
		e.Run, e.Topic, e.Partition, e.Offset, e.OrderID, e.Want)
}

// applyError wraps a store error with the record it happened at.
func applyError(topic string, partition int32, offset int64, err error) error {
	return fmt.Errorf("applying %s partition %d offset %d: %w", topic, partition, offset, err)
}
