//go:build integration

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/bench/oracle"
	"github.com/drivetrain-cdc/drivetrain/bench/workload"
	"github.com/drivetrain-cdc/drivetrain/sinks"
)

// TestIntegrationReplay: after a node processed a workload, `drivetrain
// replay` rebuilds state from the earliest offsets in place and into new
// tables swapped in when caught up; each is followed by the oracle. Replay
// refuses to run while a live node holds the group's partitions.
func TestIntegrationReplay(t *testing.T) {
	pgDSN, _, _ := stackEnv(t)
	chURL := os.Getenv("DRIVETRAIN_CLICKHOUSE_URL")
	if chURL == "" {
		t.Skip("DRIVETRAIN_CLICKHOUSE_URL is not set; source .stack/env")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	stdout, stderr, code := runCLI(t, "connector", "register")
	require.Zero(t, code, "connector register:\n%s%s", stdout, stderr)
	waitSlotActive(ctx, t, pgDSN, "drivetrain")

	suffix := time.Now().UnixNano()
	database, group := fmt.Sprintf("replay_%d", suffix), fmt.Sprintf("replay-%d", suffix)
	ch, err := sinks.Dial(ctx, sinks.Config{Addr: chURL, Database: database}, zerolog.Nop())
	require.NoError(t, err)
	defer ch.Close()
	t.Cleanup(func() { _ = ch.Exec(context.Background(), "DROP DATABASE IF EXISTS "+database) })
	pg, err := pgx.Connect(ctx, pgDSN)
	require.NoError(t, err)
	defer pg.Close(context.Background())

	node := newTestNode(t, "replay-1", group, database, t.TempDir())
	node.start()
	gen, err := workload.Open(ctx, pgDSN, zerolog.Nop())
	require.NoError(t, err)
	defer gen.Close()
	_, err = gen.Run(ctx, workload.Options{Changes: 1500, Rate: 0, Seed: uint64(suffix), Scale: 300})
	require.NoError(t, err)
	waitConverged(ctx, t, pg, ch, node)

	stdout, stderr, code = runCLI(t, "replay", "--group", group, "--database", database, "--state-dir", filepath.Join(t.TempDir(), "s0"))
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
}
