package observe

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestClusterGlobalLag: the cluster's total lag and idle count each
// node's lag on the global tables, which the group does not commit.
func TestClusterGlobalLag(t *testing.T) {
	idleNode := &Status{Node: "a", Ready: true, Idle: true, LagByTopic: map[string]int64{topicOrders: 0, topicCustomers: 0}}
	behind := &Status{Node: "b", Ready: true, Lag: 5, LagByTopic: map[string]int64{topicOrders: 0, topicCustomers: 3, topicVehicles: 2}}
	tests := []struct {
		name      string
		nodes     []NodeStatusErr
		wantTotal int64
		wantIdle  bool
	}{
		{name: "no nodes given", wantIdle: true},
		{name: "every node idle", nodes: []NodeStatusErr{{URL: "a", Status: idleNode}}, wantIdle: true},
		{name: "a node behind on customers and vehicles", nodes: []NodeStatusErr{{URL: "a", Status: idleNode}, {URL: "b", Status: behind}}, wantTotal: 5},
		{name: "a node not answering", nodes: []NodeStatusErr{{URL: "a", Status: idleNode}, {URL: "c", Error: "refused"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &ClusterStatus{Group: "g", State: "Stable", Lag: []PartitionLag{{Topic: topicOrders, Partition: 0}}, Nodes: tt.nodes}
			addGlobalLag(st)
			assert.Equal(t, tt.wantTotal, st.TotalLag)
			assert.Equal(t, tt.wantTotal, st.GlobalLag)
			assert.Equal(t, tt.wantIdle, st.Idle)
		})
	}

	st := &ClusterStatus{Group: "g", State: "Stable", Lag: []PartitionLag{{Topic: topicOrders}}, Nodes: []NodeStatusErr{{URL: "http://b", Status: behind}}}
	addGlobalLag(st)
	var out strings.Builder
	WriteCluster(&out, st)
	assert.Contains(t, out.String(), "group g: Stable, 0 member(s), total lag 5 (global tables 5)\n")
	assert.Contains(t, out.String(), "node b (http://b): ready; lag 5 (customers 3, vehicles 2), rows written")
}
