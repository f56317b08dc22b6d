package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseEvent(t *testing.T) {
	tests := []struct {
		name  string
		value string
		want  event
		ok    bool
	}{
		{
			name: "with schema",
			value: `{"schema":{"type":"struct","fields":[{"field":"payload","type":"string"}]},"payload":` +
				`{"before":null,"after":{"id":1,"note":"a \"payload\": b"},"source":{"ts_ms":1000,"ts_us":1000123},"op":"c","ts_ms":1005,"ts_us":1005456}}`,
			want: event{commitUs: 1000123, readUs: 1005456},
			ok:   true,
		},
		{
			name:  "without schema",
			value: `{"before":null,"after":{"id":1},"source":{"ts_us":2000000},"op":"u","ts_us":2000300}`,
			want:  event{commitUs: 2000000, readUs: 2000300},
			ok:    true,
		},
		{name: "tombstone", value: "", ok: false},
		{name: "heartbeat", value: `{"schema":{},"payload":{"ts_ms":1000}}`, ok: false},
		{name: "not json", value: `{"payload":`, ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v []byte
			if tt.value != "" {
				v = []byte(tt.value)
			}
			got, ok := parseEvent(v)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestDurationsQuantile(t *testing.T) {
	d := durations{5, 1, 4, 2, 3, 6, 8, 7, 10, 9}
	tests := []struct {
		p    float64
		want float64
	}{{0.5, 5}, {0.9, 9}, {0.99, 10}, {1, 10}, {0.01, 1}}
	for _, tt := range tests {
		assert.Equal(t, tt.want, d.q(tt.p), "q(%v)", tt.p)
	}
	assert.Zero(t, durations(nil).q(0.5))
}

const metricsBefore = `# HELP drivetrain_freshness_seconds x
# TYPE drivetrain_freshness_seconds histogram
drivetrain_freshness_seconds_bucket{le="0.1"} 10
drivetrain_freshness_seconds_bucket{le="0.2"} 10
drivetrain_freshness_seconds_bucket{le="0.4"} 10
drivetrain_freshness_seconds_bucket{le="+Inf"} 10
drivetrain_freshness_seconds_sum 0.5
drivetrain_freshness_seconds_count 10
drivetrain_insert_duration_seconds_bucket{table="orders",le="0.1"} 3
`

const metricsAfter = `drivetrain_freshness_seconds_bucket{le="0.1"} 10
drivetrain_freshness_seconds_bucket{le="0.2"} 60
drivetrain_freshness_seconds_bucket{le="0.4"} 109
drivetrain_freshness_seconds_bucket{le="+Inf"} 110
drivetrain_freshness_seconds_count 110
`

func TestHistogramWindow(t *testing.T) {
	before, err := parseHistogram([]byte(metricsBefore), "drivetrain_freshness_seconds")
	require.NoError(t, err)
	after, err := parseHistogram([]byte(metricsAfter), "drivetrain_freshness_seconds")
	require.NoError(t, err)
	h := after.minus(before)
	require.Equal(t, 100.0, h.count)
	tests := []struct {
		p    float64
		want float64
	}{
		{0.25, 0.15}, // halfway through (0.1, 0.2]
		{0.5, 0.2},
		{0.75, 0.2 + 0.2*25/49}, // 25 of the 49 in (0.2, 0.4]
		{1, 0.4},                // the observation above the last bound: the last finite bound
	}
	for _, tt := range tests {
		assert.InDelta(t, tt.want, h.q(tt.p), 1e-9, "q(%v)", tt.p)
	}
	assert.Zero(t, histogram{}.q(0.5))

	_, err = parseHistogram([]byte(metricsBefore), "drivetrain_missing")
	require.ErrorContains(t, err, "drivetrain_missing")
}
