package bench

import (
	"bytes"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestHistogramQuantile(t *testing.T) {
	h := histogram{bounds: []float64{0.1, 0.2, 0.4, math.Inf(1)}, counts: []float64{10, 30, 40, 40}}
	for _, tc := range []struct {
		name string
		q    float64
		want float64
	}{
		{"in the first bucket", 0.125, 0.05},
		{"interpolated", 0.5, 0.15},
		{"top of a bucket", 0.75, 0.2},
		{"last finite bucket", 1, 0.4},
	} {
		t.Run(tc.name, func(t *testing.T) { assert.InDelta(t, tc.want, h.quantile(tc.q), 1e-9) })
	}
	d := h.sub(histogram{bounds: h.bounds, counts: []float64{10, 10, 10, 10}}).distribution(100)
	assert.Equal(t, []float64{0, 20.0 / 30, 1}, d.Q)
	assert.Equal(t, []float64{100, 200, 400}, d.Values)
}

func TestTableAndCompare(t *testing.T) {
	a := &Results{Schema: SchemaVersion, Figures: []Figure{
		{Suite: "catchup", System: "drivetrain", Name: "throughput", Unit: "events/s", HigherIsBetter: true, Median: 100, Min: 90, Max: 110},
		{Suite: "catchup", System: "python", Name: "throughput", Unit: "events/s", HigherIsBetter: true, Median: 50, Min: 40, Max: 60},
		{Suite: "freshness", System: "drivetrain", Name: "freshness p99", Unit: "ms", Rate: 500, Median: 300, Min: 290, Max: 310},
	}}
	var tab bytes.Buffer
	Table(&tab, a)
	assert.Contains(t, tab.String(), "| catchup | throughput | python | 50 events/s | 40 – 60 | – | 2.00× |")
	assert.Contains(t, tab.String(), "| freshness | freshness p99 at 500/s | drivetrain | 300 ms |")

	var sum bytes.Buffer
	Summary(&sum, a)
	assert.Contains(t, sum.String(), "| figure | unit | drivetrain | python | drivetrain ÷ python |")
	assert.Contains(t, sum.String(), "| catchup throughput | events/s | 100 | 50 | 2.00× |")
	assert.Contains(t, sum.String(), "| freshness p99 at 500/s | ms | 300 | – | – |")

	b := &Results{Schema: SchemaVersion, Figures: []Figure{
		{Suite: "catchup", System: "drivetrain", Name: "throughput", Unit: "events/s", HigherIsBetter: true, Median: 150, Min: 140, Max: 160},
		{Suite: "freshness", System: "drivetrain", Name: "freshness p99", Unit: "ms", Rate: 500, Median: 400, Min: 350, Max: 450},
	}}
	var cmp bytes.Buffer
	Compare(&cmp, a, b)
	out := cmp.String()
	assert.Regexp(t, `catchup/drivetrain/throughput\s+100\s+150\s+\+50.0%\s+better`, out)
	assert.Regexp(t, `catchup/python/throughput\s+50\s+–\s+only in A`, out)
	assert.Regexp(t, `freshness/drivetrain/freshness p99@500\s+300\s+400\s+\+33.3%\s+worse`, out)
}
