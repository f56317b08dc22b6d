//go:build integration

package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/bench/workload"
)

// TestIntegrationCluster runs three `drivetrain run` processes in one group
// on the real stack under a running workload: one is SIGKILLed and started
// again, the cluster is scaled down to one node (graceful stops) and back to
// three; once idle, ClickHouse must equal PostgreSQL row by row.
func TestIntegrationCluster(t *testing.T) {
	r := newPipelineRun(t, "cluster")
	ctx, pgDSN, suffix, database, group, ch, pg := r.ctx, r.pgDSN, r.suffix, r.database, r.group, r.ch, r.pg

	nodes := make([]*testNode, 3)
	for i := range nodes {
		nodes[i] = newTestNode(t, fmt.Sprintf("cluster-%d", i+1), group, database, t.TempDir())
		nodes[i].start()
	}

	gen, err := workload.Open(ctx, pgDSN, zerolog.Nop())
	require.NoError(t, err)
	defer gen.Close()
	var changes atomic.Int64
	genDone := make(chan error, 1)
	go func() {
		_, err := gen.Run(ctx, workload.Options{Changes: 6000, Rate: 400, Seed: uint64(suffix), Scale: 300,
			ProgressInterval: 200 * time.Millisecond, Progress: func(p workload.Progress) {
				if p.Phase == "running" {
					changes.Store(p.Changes)
				}
			}})
		genDone <- err
	}()
	waitChanges := func(n int64) {
		t.Helper()
		require.NoError(t, waitFor(ctx, 5*time.Minute, func(context.Context) (bool, string) {
			return changes.Load() >= n, fmt.Sprintf("%d changes so far", changes.Load())
		}))
	}

	waitChanges(1000)
	for _, n := range nodes {
		n.waitReady(ctx)
	}
	nodes[0].kill()
	t.Log("node 1 SIGKILLed; starting it again on its state directory")
	nodes[0].start()

	waitChanges(2500)
	nodes[1].stop()
	nodes[2].stop()
	t.Log("scaled down to one node")

	waitChanges(4000)
	nodes[1].start()
	nodes[2].start()
	t.Log("scaled back to three nodes")

	require.NoError(t, <-genDone)
	waitConverged(ctx, t, pg, ch, nodes...)
}
