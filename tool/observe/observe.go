package observe

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

// freshnessBuckets are the upper bounds, in milliseconds, of the freshness
// histogram: 1 ms to about 18 hours in steps of ×1.25.
var freshnessBuckets = func() []float64 {
	var b []float64
	for v := 1.0; v < 65e6; v *= 1.25 {
		b = append(b, v)
	}
	return b
}()

// histogram counts observations in freshnessBuckets. Safe for concurrent
// use.
type histogram struct {
	mu     sync.Mutex
	counts []int64 // one per bucket, plus one for above the last
	total  int64
	max    float64
}

func newHistogram() *histogram {
	return &histogram{counts: make([]int64, len(freshnessBuckets)+1)}
}

// observeN records n observations of v milliseconds.
func (h *histogram) observeN(v float64, n int64) {
	i := bucketOf(v)
	h.mu.Lock()
	h.counts[i] += n
	h.total += n
	if v > h.max {
		h.max = v
	}
	h.mu.Unlock()
}

func bucketOf(v float64) int {
	lo, hi := 0, len(freshnessBuckets)
	for lo < hi {
		mid := (lo + hi) / 2
		if v <= freshnessBuckets[mid] {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// summary returns the count, quantiles (upper bound of the bucket holding
// each quantile, capped at the maximum seen) and maximum.
func (h *histogram) summary() FreshnessSummary {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := FreshnessSummary{Count: h.total, Max: h.max}
	if h.total == 0 {
		return s
	}
	q := func(p float64) float64 {
		rank := int64(math.Ceil(p * float64(h.total)))
		var seen int64
		for i, c := range h.counts {
			seen += c
			if seen >= rank {
				if i < len(freshnessBuckets) {
					return math.Min(freshnessBuckets[i], h.max)
				}
				return h.max
			}
		}
		return h.max
	}
	s.P50, s.P90, s.P99 = q(0.50), q(0.90), q(0.99)
	return s
}

// FactCounter wraps the sales_facts writer (it is an
// actors.Writer[topology.Fact]): after ClickHouse acknowledged
// a batch it counts the rows and records each row's freshness, the time
// from its updated_at (the source commit time, source.ts_ms, of the latest
// change that went into it) to the acknowledgement.
type FactCounter struct {
	w interface {
		Write(ctx context.Context, rows []topology.Fact) error
	}
	written   atomic.Int64
	freshness *histogram
	now       func() time.Time
	// since excludes from freshness the rows whose latest source change
	// is older than this (Unix µs): history read while catching up says
	// nothing about how fresh the pipeline keeps up.
	since int64
	// insert and promFreshness feed /metrics; nil records nothing.
	insert        *insertObserver
	promFreshness prometheus.Observer
}

// NewFactCounter wraps w, the sales_facts writer, counting from now on;
// m (nil: no metrics) gets its insert and freshness histograms.
func NewFactCounter(w interface {
	Write(ctx context.Context, rows []topology.Fact) error
}, m *Metrics) *FactCounter {
	c := &FactCounter{w: w, freshness: newHistogram(), now: time.Now, since: time.Now().UnixMicro()}
	if m != nil {
		c.insert, c.promFreshness = m.insertObserver("sales_facts"), m.freshness
	}
	return c
}

// Write writes rows with the wrapped writer and, once acknowledged,
// counts them and records their freshness. Safe for concurrent use.
func (c *FactCounter) Write(ctx context.Context, rows []topology.Fact) error {
	start := c.now()
	if err := c.w.Write(ctx, rows); err != nil {
		return err
	}
	ackTime := c.now()
	c.insert.observe(ackTime.Sub(start), len(rows))
	ack := ackTime.UnixMicro()
	for i := range rows {
		if rows[i].UpdatedAt > 0 && int64(rows[i].UpdatedAt) >= c.since {
			ms := float64(ack-int64(rows[i].UpdatedAt)) / 1000
			c.freshness.observeN(ms, 1)
			if c.promFreshness != nil {
				c.promFreshness.Observe(ms / 1000)
			}
		}
	}
	c.written.Add(int64(len(rows)))
	return nil
}

// MirrorCounter wraps a mirror-table writer (it is an
// actors.Writer[topology.Mirror]) and counts acknowledged rows.
type MirrorCounter struct {
	w interface {
		Write(ctx context.Context, rows []topology.Mirror) error
	}
	written atomic.Int64
	// insert feeds /metrics; nil records nothing.
	insert *insertObserver
}

// NewMirrorCounter wraps w, the writer of mirror table table; m (nil: no
// metrics) gets its insert histograms.
func NewMirrorCounter(w interface {
	Write(ctx context.Context, rows []topology.Mirror) error
}, table string, m *Metrics) *MirrorCounter {
	return &MirrorCounter{w: w, insert: m.insertObserver(table)}
}

// Write writes rows with the wrapped writer and counts them once
// acknowledged. Safe for concurrent use.
func (c *MirrorCounter) Write(ctx context.Context, rows []topology.Mirror) error {
	start := time.Now()
	if err := c.w.Write(ctx, rows); err != nil {
		return err
	}
	c.insert.observe(time.Since(start), len(rows))
	c.written.Add(int64(len(rows)))
	return nil
}
