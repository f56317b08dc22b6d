package actors

import (
	"errors"
	"fmt"
)

// Errors that stop a node. They are wrapped with what the node was doing
// and returned by Run.
var (
	// ErrCoPartitioning means orders, order_items and payments are not
	// co-partitioned by order id: unequal partition counts, or a record
	// whose order id belongs to another partition. Joining them anyway
	// would produce wrong facts, so the node refuses to run.
	ErrCoPartitioning = errors.New("order-stream topics are not co-partitioned by order id")
	// ErrMissingTopic means a source topic does not exist.
	ErrMissingTopic = errors.New("source topic missing")
	// ErrSinkFailed means a sink reported an error that retrying cannot
	// clear (a permanent error per Deps.Retryable).
	ErrSinkFailed = errors.New("sink failed")
	// ErrDeadLetter means a bad record could not be written to the
	// dead-letter topic; the node stops rather than drop it.
	ErrDeadLetter = errors.New("writing to the dead-letter topic failed")
	// ErrActorFailed means an actor panicked: a broken invariant.
	ErrActorFailed = errors.New("actor failed")
	// ErrStaleState means the state directory reflects records that the
	// topics no longer have (they were recreated).
	ErrStaleState = errors.New("state directory does not match the topics")
)

// copartitionCountError is the start-up check's error: the partition
// counts of the order-stream topics differ.
func copartitionCountError(counts map[string]int32) error {
	return fmt.Errorf("%w: partition counts %v differ; recreate the topics with equal partition counts "+
		"(the connector's topic.creation.default.partitions, or kafka-topics --alter --partitions "+
		"followed by a full replay) so that the PartitionRouting SMT (partition.topic.num) sends an order's "+
		"rows to the same partition number in each", ErrCoPartitioning, counts)
}

// copartitionRecordError is the run-time check's error: run records in a
// row whose order ids belong to other partitions, the last at offset.
func copartitionRecordError(run int, topic string, partition int32, offset, orderID int64, want int32) error {
	return fmt.Errorf("%w: %d records in a row belong to other partitions; %s partition %d offset %d carries order %d, which belongs to partition %d; "+
		"route the order-stream topics by order id with Debezium's PartitionRouting SMT "+
		"(partition.payload.fields=change.id for orders and change.order_id for order_items and payments, "+
		"partition.topic.num equal to the topics' partition count, partition.hash.function=java; "+
		"see deploy/debezium/connector.json), then rebuild the topics",
		ErrCoPartitioning, run, topic, partition, offset, orderID, want)
}
