package observe

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/actors"
	"github.com/drivetrain-cdc/drivetrain/state"
)

// fakeNode is a NodeView with fixed figures.
type fakeNode struct {
	stats   actors.Stats
	ready   bool
	stalled []int32
}

func (n *fakeNode) Stats() actors.Stats                    { return n.stats }
func (n *fakeNode) Ready() bool                            { return n.ready }
func (n *fakeNode) Stalled(time.Duration) []int32          { return n.stalled }
func (n *fakeNode) StateMetrics() (state.Metrics, bool)    { return state.Metrics{}, false }
func (n *fakeNode) StateUsage() (state.Usage, bool, error) { return state.Usage{}, false, nil }

const (
	topicOrders    = "ecommerce.public.orders"
	topicCustomers = "ecommerce.public.customers"
	topicVehicles  = "ecommerce.public.vehicles"
)

// measuredLag is a LagWatcher that measured: the group has committed
// everything of the order stream; the global topics end at 10 (customers
// partition 0) and 4 (vehicles partition 0).
func measuredLag() *LagWatcher {
	return &LagWatcher{
		measuredAt: time.Now(),
		perPart:    map[string]map[int32]int64{topicOrders: {0: 0, 1: 0}},
		globalEnds: map[string]map[int32]int64{topicCustomers: {0: 10}, topicVehicles: {0: 4}},
	}
}

func TestSourceGlobalLag(t *testing.T) {
	tests := []struct {
		name       string
		globalDone map[string]map[int32]int64
		orderLag   int64
		wantLag    int64
		wantByTop  map[string]int64
		wantIdle   bool
		wantReady  bool
	}{
		{name: "everything done", globalDone: map[string]map[int32]int64{topicCustomers: {0: 10}, topicVehicles: {0: 4}},
			wantByTop: map[string]int64{topicOrders: 0, topicCustomers: 0, topicVehicles: 0}, wantIdle: true, wantReady: true},
		{name: "customer changes not yet applied or their facts unwritten",
			globalDone: map[string]map[int32]int64{topicCustomers: {0: 7}, topicVehicles: {0: 4}},
			wantLag:    3, wantByTop: map[string]int64{topicOrders: 0, topicCustomers: 3, topicVehicles: 0}, wantReady: true},
		{name: "global actors not started", globalDone: nil,
			wantLag: 14, wantByTop: map[string]int64{topicOrders: 0, topicCustomers: 10, topicVehicles: 4}, wantReady: true},
		{name: "order stream behind too", orderLag: 5, globalDone: map[string]map[int32]int64{topicCustomers: {0: 10}, topicVehicles: {0: 4}},
			wantLag: 5, wantByTop: map[string]int64{topicOrders: 5, topicCustomers: 0, topicVehicles: 0}, wantReady: true},
		{name: "done beyond the end measured a moment ago", globalDone: map[string]map[int32]int64{topicCustomers: {0: 12}, topicVehicles: {0: 4}},
			wantByTop: map[string]int64{topicOrders: 0, topicCustomers: 0, topicVehicles: 0}, wantIdle: true, wantReady: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lag := measuredLag()
			lag.perPart[topicOrders][1] = tt.orderLag
			node := &fakeNode{ready: true, stats: actors.Stats{GlobalDone: tt.globalDone}}
			s := NewSource("n1", Readiness{MaxLag: 100})
			s.Attach(Figures{Node: node, Facts: NewFactCounter(nopFacts{}, nil), Lag: lag})
			st := s.Status()
			assert.Equal(t, tt.wantLag, st.Lag)
			assert.Equal(t, tt.wantByTop, st.LagByTopic)
			assert.Equal(t, tt.wantIdle, st.Idle)
			assert.Equal(t, tt.wantReady, st.Ready, st.Reason)

			m := s.Snapshot()
			assert.Equal(t, tt.wantLag, m.LagTotal, "drivetrain_consumer_lag_total is the status's lag")
			assert.Contains(t, m.Lag, topicCustomers, "drivetrain_consumer_lag has the global partitions")
		})
	}
}

func TestSourceReadiness(t *testing.T) {
	s := NewSource("n1", Readiness{MaxLag: 10, MaxStall: time.Minute, MaxUnreachable: 30 * time.Second})
	assert.Equal(t, Status{Node: "n1", Reason: "starting"}, s.Status())
	s.SetReason("clickhouse unreachable: connection refused")
	assert.Equal(t, "clickhouse unreachable: connection refused", s.Status().Reason)

	node := &fakeNode{stats: actors.Stats{GlobalDone: map[string]map[int32]int64{topicCustomers: {0: 10}, topicVehicles: {0: 4}}}}
	lag := measuredLag()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	chErr := error(nil)
	probes := NewProber(time.Second, Probe{Name: "clickhouse", Check: func(context.Context) error { return chErr }})
	probes.now = func() time.Time { return now }
	s.Attach(Figures{Node: node, Facts: NewFactCounter(nopFacts{}, nil), Lag: lag, Probes: probes})
	reason := func() string {
		st := s.Status()
		require.Equal(t, st.Reason == "", st.Ready, "a reason exactly when not ready: %+v", st)
		return st.Reason
	}

	assert.Equal(t, "bootstrapping the global tables or joining the group", reason())
	node.ready = true
	assert.Empty(t, reason())

	lag.perPart[topicOrders][0] = 11
	assert.Equal(t, "consumer lag 11 above 10", reason())
	lag.perPart[topicOrders][0] = 0
	node.stats.GlobalDone[topicCustomers][0] = -1
	assert.Equal(t, "consumer lag 11 above 10", reason(), "the global tables' lag counts")
	node.stats.GlobalDone[topicCustomers][0] = 10

	node.stalled = []int32{3}
	assert.Contains(t, reason(), "partitions [3] have had work and made no progress for over 1m0s")
	node.stalled = nil

	chErr = errors.New("connection refused")
	probes.CheckNow(context.Background())
	now = now.Add(29 * time.Second)
	assert.Empty(t, reason(), "unreachable for less than ready_max_unreachable")
	now = now.Add(time.Second)
	assert.Equal(t, "clickhouse unreachable for 30s (ready_max_unreachable 30s): connection refused", reason())
	chErr = nil
	probes.CheckNow(context.Background())
	assert.Empty(t, reason(), "ready again once ClickHouse answers")

	// A failed lag measurement counts once it has failed for
	// ready_max_unreachable.
	lag.err = errors.New("broker down")
	lag.measuredAt = now
	s.now = func() time.Time { return now }
	now = now.Add(29 * time.Second)
	assert.Empty(t, reason(), "the last lag holds while Kafka may be away")
	assert.False(t, s.Status().Idle, "but is not known to be 0")
	now = now.Add(time.Second)
	assert.Equal(t, "consumer lag not measured for 30s (ready_max_unreachable 30s): broker down", reason())
	lag.measuredAt = time.Time{}
	assert.Equal(t, "measuring consumer lag: broker down", reason(), "never measured")
}
