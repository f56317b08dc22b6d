//go:build integration

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/bench/workload"
	"github.com/drivetrain-cdc/drivetrain/tool/observe"
	"github.com/drivetrain-cdc/drivetrain/tool/observe/observetest"
)

// TestIntegrationStatus runs a node on the real stack and checks what
// `drivetrain status` reports: the group's one member owning every
// order-stream partition, the lag, and the node's own figures.
func TestIntegrationStatus(t *testing.T) {
	r := newPipelineRun(t, "status")
	ctx, pgDSN, suffix, database, group := r.ctx, r.pgDSN, r.suffix, r.database, r.group

	node := newTestNode(t, "status-1", group, database, t.TempDir())
	node.start()
	gen, err := workload.Open(ctx, pgDSN, zerolog.Nop())
	require.NoError(t, err)
	defer gen.Close()
	_, err = gen.Run(ctx, workload.Options{Changes: 300, Rate: 0, Seed: uint64(suffix), Scale: 300})
	require.NoError(t, err)
	require.NoError(t, waitFor(ctx, 3*time.Minute, func(ctx context.Context) (bool, string) {
		st, err := node.status(ctx)
		if err != nil {
			return false, err.Error()
		}
		return st.Idle, fmt.Sprintf("lag %d, backlog %d, reason %q", st.Lag, st.SinkBacklog, st.Reason)
	}))

	stdout, stderr, code := runCLI(t, "status", "--group", group, "--nodes", node.url, "--json")
	require.Zero(t, code, stderr)
	var st observe.ClusterStatus
	require.NoError(t, json.Unmarshal([]byte(stdout), &st), stdout)
	assert.Equal(t, "Stable", st.State)
	assert.Zero(t, st.TotalLag)
	require.Len(t, st.Members, 1)
	for _, topic := range topicsOf("ecommerce")[2:] {
		assert.Equal(t, []int{0, 1, 2, 3, 4, 5}, st.Members[0].Partitions[topic], "the one node owns every partition of %s", topic)
	}
	assert.Len(t, st.Lag, 18, "three topics of six partitions")
	require.Len(t, st.Nodes, 1)
	require.Empty(t, st.Nodes[0].Error)
	assert.Equal(t, "status-1", st.Nodes[0].Status.Node)
	assert.True(t, st.Nodes[0].Status.Idle)
	assert.Positive(t, st.Nodes[0].Status.FactsWritten)
	state := st.Nodes[0].Status.State
	require.NotNil(t, state, "the running node reports its state store")
	assert.Positive(t, state.DiskBytes)
	assert.Empty(t, state.UsageError)
	assert.NotEmpty(t, state.PartitionBytes, "the node holds partitions with state")
	assert.Equal(t, state.DiskBytes, st.Members[0].StateBytes, "the member is the node")

	stdout, _, code = runCLI(t, "status", "--group", group, "--nodes", node.url)
	require.Zero(t, code)
	assert.Contains(t, stdout, "group "+group+": Stable, 1 member(s), total lag 0")
	assert.Contains(t, stdout, "node status-1 ("+node.url+"): ready, idle;")
	assert.Regexp(t, `\n  state [0-9.]+ [KMG]?i?B on disk \(global `, stdout)

	families := observetest.Scrape(t, node.url+"/metrics")
	for _, name := range observe.MetricNames {
		if strings.HasPrefix(name, "drivetrain_pebble_") {
			assert.Contains(t, families, name, "/metrics of a running node")
		}
	}
	assert.Positive(t, families["drivetrain_pebble_disk_bytes"].GetMetric()[0].GetGauge().GetValue())
	assert.Positive(t, families["drivetrain_pebble_wal_bytes_in_total"].GetMetric()[0].GetCounter().GetValue())
}
