package observe

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

func TestHistogramSummary(t *testing.T) {
	h := newHistogram()
	assert.Equal(t, FreshnessSummary{}, h.summary())
	h.observeN(10, 90)  // 90 rows at 10 ms
	h.observeN(200, 9)  // 9 at 200 ms
	h.observeN(5000, 1) // 1 at 5 s
	s := h.summary()
	assert.Equal(t, int64(100), s.Count)
	assert.Equal(t, 5000.0, s.Max)
	assert.InDelta(t, 10, s.P50, 2.5, "p50 within the 10 ms bucket (×1.25 wide)")
	assert.InDelta(t, 10, s.P90, 2.5)
	assert.InDelta(t, 200, s.P99, 50)
}

type nopFacts struct{ err error }

func (n nopFacts) Write(context.Context, []topology.Fact) error { return n.err }

func TestFactCounterRecordsFreshnessOnAck(t *testing.T) {
	ack := time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC)
	c := &FactCounter{w: nopFacts{}, freshness: newHistogram(), now: func() time.Time { return ack }}
	rows := []topology.Fact{
		{UpdatedAt: topology.TimestampOf(ack.Add(-250 * time.Millisecond))},
		{UpdatedAt: topology.TimestampOf(ack.Add(-750 * time.Millisecond))},
	}
	assert.NoError(t, c.Write(context.Background(), rows))
	assert.Equal(t, int64(2), c.written.Load())
	s := c.freshness.summary()
	assert.Equal(t, int64(2), s.Count)
	assert.Equal(t, 750.0, s.Max)

	failing := &FactCounter{w: nopFacts{err: context.Canceled}, freshness: newHistogram(), now: time.Now}
	assert.Error(t, failing.Write(context.Background(), rows))
	assert.Zero(t, failing.written.Load(), "rows count only once ClickHouse acknowledged them")
	assert.Zero(t, failing.freshness.summary().Count)
}
