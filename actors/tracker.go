package actors

import (
	"sort"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

// output names a sink: sales_facts, or the mirror table of a source
// table (the value is the topology.Table).
type output uint8

// outFacts is sales_facts; the mirror outputs follow it.
const outFacts output = 0

// numOutputs is the number of outputs (sales_facts and five mirrors).
const numOutputs = 6

func mirrorOutput(t topology.Table) output { return output(t) }

func (o output) String() string {
	if o == outFacts {
		return "sales_facts"
	}
	return topology.Table(o).String()
}

// outputSet is a set of outputs, bit o standing for output o.
type outputSet uint8

func (s outputSet) has(o output) bool { return s&(1<<o) != 0 }

// unit is what one message an actor processed sent to the sinks: rows
// for some outputs and dead letters, and the progress mark the actor
// reaches once all of them are acknowledged.
type unit[M any] struct {
	seq     int64
	rows    int
	bytes   int64
	waiting outputSet
	dead    int // dead letters not yet written
	mark    M
}

// tracker follows an actor's units until the sinks acknowledge them, and
// hands out their marks in unit order: a mark is reached only when its
// unit and every earlier one are acknowledged. That is what makes a
// committed offset never run ahead of what the sinks hold, whatever the
// order in which the sinks (each batching on its own clock) acknowledge.
//
// Sinks acknowledge cumulatively: "every row of this source up to seq
// is written" (sinks.Batch.Tokens). Not safe for concurrent use: it
// belongs to one actor.
type tracker[M any] struct {
	units    []unit[M]
	head     int
	acked    [numOutputs]int64
	nextSeq  int64
	reached  int64 // sequence number of the last unit reached
	inflight int   // rows of the units not yet reached
	// inflightBytes is their size, as the sinks measure rows.
	inflightBytes int64
}

// over reports whether the rows not yet reached exceed rows or bytes
// (the credit: see Config.MaxInflightRows and MaxInflightBytes).
func (t *tracker[M]) over(rows int, bytes int64) bool {
	return t.inflight > rows || t.inflightBytes > bytes
}

// add registers a unit sending rows[o] rows to each output o and dead
// dead letters, and returns its sequence number, which tokens its rows.
// Units must then be acknowledged through ack and deadLetterDone; call
// pop to collect the reached marks (a unit with nothing to acknowledge
// is reached as soon as its predecessors are).
func (t *tracker[M]) add(rows *[numOutputs]int, bytes int64, dead int, mark M) int64 {
	t.nextSeq++
	u := unit[M]{seq: t.nextSeq, dead: dead, mark: mark, bytes: bytes}
	for o, n := range rows {
		if n > 0 {
			u.waiting |= 1 << o
			u.rows += n
		}
	}
	t.inflight += u.rows
	t.inflightBytes += u.bytes
	t.units = append(t.units, u)
	return u.seq
}

// ack records that output o wrote every row of this tracker up to seq.
func (t *tracker[M]) ack(o output, seq int64) {
	t.acked[o] = max(t.acked[o], seq)
}

// deadLetterDone records that one dead letter of unit seq was written.
func (t *tracker[M]) deadLetterDone(seq int64) {
	q := t.units[t.head:]
	i := sort.Search(len(q), func(i int) bool { return q[i].seq >= seq })
	if i < len(q) && q[i].seq == seq && q[i].dead > 0 {
		q[i].dead--
	}
}

func (t *tracker[M]) complete(u *unit[M]) bool {
	if u.dead > 0 {
		return false
	}
	for o := output(0); o < numOutputs; o++ {
		if u.waiting.has(o) && t.acked[o] < u.seq {
			return false
		}
	}
	return true
}

// pop removes the reached units from the front and calls reached with
// each one's mark, in order. It returns how many it removed.
func (t *tracker[M]) pop(reached func(M)) int {
	n := 0
	for t.head < len(t.units) && t.complete(&t.units[t.head]) {
		u := &t.units[t.head]
		t.inflight -= u.rows
		t.inflightBytes -= u.bytes
		t.reached = u.seq
		m := u.mark
		var zero unit[M]
		*u = zero
		t.head++
		n++
		reached(m)
	}
	if t.head == len(t.units) {
		t.units, t.head = t.units[:0], 0
	} else if t.head > 1024 && t.head > len(t.units)/2 {
		k := copy(t.units, t.units[t.head:])
		clear(t.units[k:])
		t.units, t.head = t.units[:k], 0
	}
	return n
}

// pending returns the number of units not yet reached.
func (t *tracker[M]) pending() int { return len(t.units) - t.head }
