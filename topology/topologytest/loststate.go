package topologytest

import (
	"math/rand/v2"

	"github.com/drivetrain-cdc/drivetrain/topology/step"
)

// RunLostState plays a node that emits part of h and loses its state
// before the group commits what it read (a crash before its first
// commit, a wiped disk), and the node that takes over (topology/doc.go,
// "Lost state"). A first processor on backend a reads a random prefix of
// an interleaving of h into a new sink, with its outputs committed. A
// second on backend b rebuilds each order-stream partition up to random
// committed offsets (at most what the first read) without emitting, then
// reads the global topics whole and the rest of the others in another
// interleaving, on a clock later than any version the first wrote. The
// sink must end equal to the join of h's final tables. It returns the
// sink.
func RunLostState(rng *rand.Rand, h *History, a, b Backend) (*Sink, error) {
	sink := NewSink()
	clock := NewClock(rng, 1_000_000)
	first := &Processor{Backend: a, Sink: sink, Partitions: h.Config.Partitions, Clock: clock}
	recs := h.Interleave(rng, nil)
	read := recs[:rng.IntN(len(recs)+1)]
	if err := first.Run(rng, read, 4); err != nil {
		return nil, err
	}
	committed := map[Queue]int64{}
	for _, r := range read {
		if !r.Change.Table.Global() {
			committed[r.Queue()] = r.Change.Pos.Offset + 1
		}
	}
	for _, q := range h.queueOrder() { // in a fixed order: a seed replays the case
		if n, ok := committed[q]; ok {
			committed[q] = rng.Int64N(n + 1)
		}
	}
	// The versions the first node wrote may run ahead of its clock by one
	// per fact; the second starts well after them.
	second := &Processor{Backend: b, Sink: sink, Partitions: h.Config.Partitions, Clock: NewClock(rng, clock()+1_000_000)}
	for _, r := range h.Interleave(rng, nil) {
		part := r.Change.Pos.Partition
		if r.Change.Table.Global() || r.Change.Pos.Offset >= committed[r.Queue()] {
			continue
		}
		_, err := second.Apply(&r, step.Replay)
		if err == nil && rng.IntN(4) == 0 {
			err = b.Commit(part)
		}
		if err != nil {
			return nil, err
		}
	}
	for part := range h.Config.Partitions {
		if err := b.Commit(part); err != nil {
			return nil, err
		}
	}
	if err := second.Run(rng, h.Interleave(rng, committed), 4); err != nil {
		return nil, err
	}
	return sink, nil
}
