//go:build integration

package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/bench/oracle"
	"github.com/drivetrain-cdc/drivetrain/bench/workload"
)

// TestIntegrationReplay: after a node processed a workload, `drivetrain
// replay` rebuilds state from the earliest offsets in place and into new
// tables swapped in when caught up; each is followed by the oracle. Replay
// refuses to run while a live node holds the group's partitions.
func TestIntegrationReplay(t *testing.T) {
	r := newPipelineRun(t, "replay")
	ctx, pgDSN, suffix, database, group, ch, pg := r.ctx, r.pgDSN, r.suffix, r.database, r.group, r.ch, r.pg

	node := newTestNode(t, "replay-1", group, database, t.TempDir())
	node.start()
	gen, err := workload.Open(ctx, pgDSN, zerolog.Nop())
	require.NoError(t, err)
	defer gen.Close()
	_, err = gen.Run(ctx, workload.Options{Changes: 1500, Rate: 0, Seed: uint64(suffix), Scale: 300})
	require.NoError(t, err)
	waitConverged(ctx, t, pg, ch, node)

	stdout, stderr, code := runCLI(t, "replay", "--group", group, "--database", database, "--state-dir", filepath.Join(t.TempDir(), "s0"))
	assert.NotZero(t, code, stdout)
	assert.Contains(t, stderr, "live member")
	node.stop()

	requireOracle := func(what string) {
		t.Helper()
		res, err := oracle.Compare(ctx, pg, ch, oracle.Options{})
		require.NoError(t, err)
		require.True(t, res.OK(), "after %s:\n%s", what, res.String())
	}
	// Nothing changes in PostgreSQL from here on: each replay must end
	// with ClickHouse equal to it.
	stdout, stderr, code = runCLI(t, "replay", "--group", group, "--database", database, "--state-dir", filepath.Join(t.TempDir(), "s1"))
	require.Zero(t, code, "replay in place:\n%s%s", stdout, stderr)
	assert.Contains(t, stdout, "replay done")
	assert.Contains(t, stdout, "events/s")
	requireOracle("a replay in place")

	stdout, stderr, code = runCLI(t, "replay", "--group", group, "--database", database, "--state-dir", filepath.Join(t.TempDir(), "s2"), "--into-new-tables", "--drop-old")
	require.Zero(t, code, "replay into new tables:\n%s%s", stdout, stderr)
	assert.Contains(t, stdout, "swapped in the replayed tables; the old ones are dropped")
	requireOracle("a replay into new tables")
	rows, err := ch.Query(ctx, "SELECT name FROM system.tables WHERE database = '"+database+"' AND name LIKE '%_old_%'", 1)
	require.NoError(t, err)
	assert.Empty(t, rows, "--drop-old drops the old tables")

	// Under load: the database keeps writing while a replay into new tables
	// runs. The replay ends at the end offsets it listed at its start,
	// hands them over and swaps the tables while the workload goes on; a
	// node started on its state directory then continues, and once the
	// workload stopped ClickHouse equals PostgreSQL.
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	loadDone := make(chan error, 1)
	go func() {
		_, err := gen.Run(loadCtx, workload.Options{Changes: 100_000, Rate: 100, Seed: uint64(suffix) + 1, Scale: 300})
		loadDone <- err
	}()
	stateDir := filepath.Join(t.TempDir(), "s3")
	stdout, stderr, code = runCLI(t, "replay", "--group", group, "--database", database, "--state-dir", stateDir, "--into-new-tables")
	require.Zero(t, code, "replay into new tables under load:\n%s%s", stdout, stderr)
	select {
	case err := <-loadDone:
		t.Fatalf("the workload ended (%v) before the replay: the replay waited for the load to stop", err)
	default:
	}
	assert.Contains(t, stdout, "swapped in the replayed tables")
	assert.Contains(t, stdout, "continues from the replayed offsets (orders ")
	live := newTestNode(t, "replay-2", group, database, stateDir)
	live.start()
	stopLoad()
	<-loadDone
	waitConverged(ctx, t, pg, ch, live)
}
