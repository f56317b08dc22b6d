package actors

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/drivetrain-cdc/drivetrain/topology"
	"github.com/drivetrain-cdc/drivetrain/topology/step"
)

// Actor messages. Commands are imperative (writeRows, drain), events past
// tense (recordsFetched, rowsWritten). Every message is a pointer that
// nobody changes after sending it; slices belong to the receiver unless
// the message says they are shared read-only.

// recordsFetched carries records of one order-stream partition number
// (any of its three topics, each topic partition in offset order) from
// the poll loop to the partition actor.
type recordsFetched struct {
	records []*kgo.Record
}

// globalFetched carries records of a global topic from the global
// actor's reader. The reader waits for done to close before it polls
// again: that is the global actor's backpressure.
type globalFetched struct {
	records []*kgo.Record
	decoded []step.Decoded // one per record, decoded by the reader
	done    chan struct{}
	// backward: the records come from a bootstrap read newest first
	// (backward.go), so they do not say how far the table has read.
	backward bool
	// through, when set, is how far the table has read once the records
	// are applied: the end of a backward bootstrap.
	through positions
}

// writeRows hands rows to a sink actor. Each row is tokened with
// (source, seq): the sink acknowledges with rowsWritten to replyTo once
// every row of the source up to seq is written. late says the rows come
// from records that were already old when read (sinks.BatchConfig.Late):
// they may wait longer in a batch.
type writeRows[R any] struct {
	source  int32
	seq     int64
	replyTo *actor.PID
	rows    []R
	late    bool
}

// rowsWritten acknowledges every row of the receiver's source up to seq
// on one output.
type rowsWritten struct {
	out output
	seq int64
}

// flush asks a sink actor to write its open batch now, or as soon as
// the write in flight is done: a source drains, or ran out of credit
// while the batch may hold its rows (late rows wait CatchUpDelay).
type flush struct{}

// flushDue tells a sink actor that the deadline of its open batch, armed
// for at, passed.
type flushDue struct {
	at time.Time
}

// batchWritten reports the end of a sink actor's write goroutine.
type batchWritten struct {
	err error
}

// retryBatch asks a sink actor to write its failed batch again.
type retryBatch struct{}

// deadLetter asks the dead-letter actor to produce a bad record; it
// answers deadLetterWritten{seq} to replyTo once the broker has it.
type deadLetter struct {
	record  *kgo.Record
	kind    string
	detail  string
	replyTo *actor.PID
	seq     int64
	trimmed bool // written without the value (too large)
}

// deadLetterWritten acknowledges one dead letter of unit seq.
type deadLetterWritten struct {
	seq int64
}

// deadLetterProduced reports the producer's result for one dead letter
// to the dead-letter actor.
type deadLetterProduced struct {
	msg *deadLetter
	err error
}

// subscribe registers a partition actor with a global actor: from now
// on it is told every change the global actor applies. The global actor
// answers subscribed.
type subscribe struct {
	pid *actor.PID
}

// subscribed answers subscribe with the global actor's position: the
// subscriber was told nothing about records before through, and will be
// told about every record from through on.
type subscribed struct {
	table   topology.Table
	through positions
}

// unsubscribe removes a subscriber.
type unsubscribe struct {
	pid *actor.PID
}

// dimensionsChanged tells a partition actor that the global actor
// applied (and committed) changes to the rows of table with the given
// ids, and has now applied every record of its topic before through. ids
// and through are shared read-only by every subscriber. The partition
// actor answers refreshDone once it has re-emitted the facts.
type dimensionsChanged struct {
	table   topology.Table
	ids     []int64
	through positions
	from    *actor.PID
	written time.Time // Kafka timestamp of the newest record applied
}

// refreshDone tells a global actor that a subscriber processed one
// dimensionsChanged: the global actor keeps at most a few outstanding
// per subscriber, so a slow partition slows the dimension stream instead
// of piling messages up.
type refreshDone struct {
	pid *actor.PID
}

// catchUpRead carries ids of global rows changed by records a partition
// has not yet refreshed its facts for (see the package doc), read by
// the partition's catch-up goroutine; last marks the final chunk of the
// table. The goroutine waits for done before reading more.
type catchUpRead struct {
	table topology.Table
	ids   []int64
	last  bool
	done  chan struct{}
}

// catchUpFailed reports that the catch-up goroutine stopped on an error.
type catchUpFailed struct {
	err error
}

// drain asks an actor to stop taking input and to close done once all it
// sent to the sinks is acknowledged.
type drain struct {
	done chan struct{}
}

// reservationCommitted tells a partition actor that a commit carrying its
// fact-version reservation version succeeded: it may emit versions up to
// it.
type reservationCommitted struct {
	version uint64
}
