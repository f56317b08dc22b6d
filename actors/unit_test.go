package actors

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

func TestTrackerReachesMarksInOrder(t *testing.T) {
	type step struct {
		add     *[numOutputs]int // add a unit with these rows (and dead letters below)
		dead    int
		ack     output // or ack output …
		seq     int64  // … up to seq
		dlqSeq  int64  // or one dead letter of unit dlqSeq written
		reached []int  // marks reached by this step
	}
	rows := func(facts, orders int) *[numOutputs]int {
		var r [numOutputs]int
		r[outFacts], r[mirrorOutput(topology.TableOrders)] = facts, orders
		return &r
	}
	orders := mirrorOutput(topology.TableOrders)
	tests := []struct {
		name  string
		steps []step
	}{
		{"empty unit is reached at once", []step{{add: rows(0, 0), reached: []int{1}}}},
		{"waits for every output", []step{
			{add: rows(2, 1)},
			{ack: outFacts, seq: 1},
			{ack: orders, seq: 1, reached: []int{1}},
		}},
		{"later acknowledgement waits for earlier units", []step{
			{add: rows(1, 0)},
			{add: rows(0, 1)},
			{ack: orders, seq: 2},
			{ack: outFacts, seq: 1, reached: []int{1, 2}},
		}},
		{"cumulative acknowledgement", []step{
			{add: rows(1, 0)},
			{add: rows(1, 0)},
			{add: rows(0, 0)},
			{ack: outFacts, seq: 2, reached: []int{1, 2, 3}},
		}},
		{"dead letters", []step{
			{add: rows(1, 0), dead: 2},
			{ack: outFacts, seq: 1},
			{dlqSeq: 1},
			{dlqSeq: 1, reached: []int{1}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tr tracker[int]
			n := 0
			for i, s := range tt.steps {
				switch {
				case s.add != nil:
					n++
					tr.add(s.add, int64(100*n), s.dead, n)
				case s.dlqSeq > 0:
					tr.deadLetterDone(s.dlqSeq)
				default:
					tr.ack(s.ack, s.seq)
				}
				var got []int
				tr.pop(func(m int) { got = append(got, m) })
				assert.Equal(t, s.reached, got, "step %d", i)
			}
			assert.Zero(t, tr.pending())
			assert.Zero(t, tr.inflight)
			assert.Zero(t, tr.inflightBytes, "bytes go with their units")
		})
	}
}

func TestProgressMetadata(t *testing.T) {
	g := globalProgress{customers: positions{0: 120, 1: 98}, vehicles: positions{0: 4000}, version: 1796661556148904294}
	s := encodeProgress(g)
	assert.Equal(t, "drivetrain/3 version=1796661556148904294 customers=0:120,1:98 vehicles=0:4000", s)
	got, ok := parseProgress(s)
	require.True(t, ok)
	g.mirrors = true // what this format says
	assert.Equal(t, g, got)

	// The second format says nothing of the mirror rows.
	v2, ok := parseProgress("drivetrain/2 version=1796661556148904294 customers=0:120,1:98 vehicles=0:4000")
	require.True(t, ok)
	g.mirrors = false
	assert.Equal(t, g, v2)
	for meta, want := range map[string]uint64{s: g.version, "drivetrain/1 customers=0:1": 0, "other version=5": 0} {
		v, ok := ReservedVersion(meta)
		assert.Equal(t, want, v, meta)
		assert.Equal(t, want > 0, ok, meta)
	}

	// Metadata of the first format has no reservation.
	old, ok := parseProgress("drivetrain/1 customers=0:120,1:98 vehicles=0:4000")
	require.True(t, ok)
	assert.Equal(t, globalProgress{customers: positions{0: 120, 1: 98}, vehicles: positions{0: 4000}}, old)

	empty, ok := parseProgress(encodeProgress(globalProgress{}))
	require.True(t, ok)
	assert.Empty(t, empty.customers)

	for _, bad := range []string{"", "other", "drivetrain/1 orders=0:1", "drivetrain/1 customers=0", "drivetrain/1 customers=x:1", "drivetrain/1 customers=0:-1", "drivetrain/2 version=x", "drivetrain/3 version=x", "drivetrain/1 version=5"} {
		_, ok := parseProgress(bad)
		assert.False(t, ok, bad)
	}
}

func TestPositions(t *testing.T) {
	p := positions{0: 5, 1: 7}
	assert.True(t, p.below(positions{0: 5, 1: 8}))
	assert.False(t, p.below(positions{0: 5, 1: 7}))
	assert.True(t, p.below(positions{2: 1}), "a missing partition counts as 0")
	assert.Equal(t, positions{0: 3, 1: 7, 2: 0}, p.minWith(positions{0: 3, 1: 9, 2: 4}))
}

func TestConfigValidate(t *testing.T) {
	valid := func() Config {
		c := Config{Brokers: []string{"k:9092"}, StateDir: "/s"}
		c.setDefaults()
		return c
	}
	c := valid()
	assert.Equal(t, "ecommerce.drivetrain.dlq", c.DLQTopic)
	assert.Equal(t, "drivetrain", c.Group)
	require.NoError(t, c.Validate())
	tests := []struct {
		field string
		edit  func(*Config)
	}{
		{"Brokers", func(c *Config) { c.Brokers = nil }},
		{"Brokers[0]", func(c *Config) { c.Brokers = []string{" "} }},
		{"StateDir", func(c *Config) { c.StateDir = "" }},
		{"MaxInflightRows", func(c *Config) { c.MaxInflightRows = -1 }},
		{"RebalanceTimeout", func(c *Config) { c.RebalanceTimeout = time.Second }},
		{"SinkRetryMax", func(c *Config) { c.SinkRetryMax = time.Millisecond }},
		{"SinkBatch.MaxRows", func(c *Config) { c.SinkBatch.MaxRows = -1 }},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			c := valid()
			tt.edit(&c)
			err := c.Validate()
			require.ErrorIs(t, err, ErrInvalidConfig)
			assert.Contains(t, err.Error(), tt.field+":")
		})
	}
}

func TestBackoff(t *testing.T) {
	for n := 1; n < 20; n++ {
		d := backoff(100*time.Millisecond, 2*time.Second, n)
		assert.GreaterOrEqual(t, d, 75*time.Millisecond)
		assert.LessOrEqual(t, d, 2500*time.Millisecond)
	}
}

func TestNewNodeNeedsWriters(t *testing.T) {
	_, err := NewNode(Config{Brokers: []string{"k:1"}, StateDir: "/s"}, Deps{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Deps.Facts")
	assert.False(t, errors.Is(err, ErrInvalidConfig))
}
