package actors

import (
	"slices"
	"sync"
	"time"
)

// progressBoard is where partition actors say whether they have work (a
// unit unacknowledged, records held, refreshes or shares queued) and when
// they last made progress (a unit acknowledged), so that readiness can
// tell a partition that stalls — a sink that accepts nothing, an actor
// stuck on one batch — from one that is merely busy. Safe for concurrent
// use.
type progressBoard struct {
	mu sync.Mutex
	m  map[int32]*partProgress
}

type partProgress struct {
	work bool
	at   time.Time // last progress, or when the partition got work
}

// note records partition n's state at now: progressed when a unit was
// acknowledged, work whether it has any left.
func (b *progressBoard) note(n int32, now time.Time, progressed, work bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = map[int32]*partProgress{}
	}
	p := b.m[n]
	if p == nil {
		p = &partProgress{at: now}
		b.m[n] = p
	}
	if progressed || !p.work {
		p.at = now
	}
	p.work = work
}

// remove forgets partition n (released).
func (b *progressBoard) remove(n int32) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.m, n)
}

// stalled returns the partitions that have had work without progress for
// longer than d at now, ascending.
func (b *progressBoard) stalled(now time.Time, d time.Duration) []int32 {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []int32
	for n, p := range b.m {
		if p.work && now.Sub(p.at) > d {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// Stalled returns the order-stream partitions of the node that have had
// work (rows unacknowledged, records or refreshes waiting) and made no
// progress (no acknowledgement) for longer than d: /readyz reports them.
func (n *Node) Stalled(d time.Duration) []int32 {
	return n.progress.stalled(time.Now(), d)
}
