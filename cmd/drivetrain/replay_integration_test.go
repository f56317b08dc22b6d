//go:build integration

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

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

	refused := filepath.Join(t.TempDir(), "s0")
	stdout, stderr, code := runCLI(t, "replay", "--group", group, "--database", database, "--state-dir", refused)
	assert.NotZero(t, code, stdout)
	assert.Contains(t, stderr, "live member(s) (replay-1)")
	assert.Contains(t, stderr, "run 'drivetrain replay --force --group "+group, "names the command")
	assert.NotContains(t, stdout, "replaying", "refused before replaying")
	_, err = os.Stat(refused)
	assert.True(t, os.IsNotExist(err), "refused before creating the state directory")
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

// syncBuffer is a bytes.Buffer safe for a command writing while the test
// reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestIntegrationReplayForce: `replay --force --into-new-tables` runs
// while a live node serves the group; once caught up it waits for the
// group to have no member, following the topics as changes keep coming
// (the live node writes them to the old tables, the replay to the new
// ones); the node is stopped, the replay hands its offsets over, swaps
// the tables in and keeps the old ones as <name>_old_<suffix>; a node
// started on the replay's state directory then brings ClickHouse equal
// to PostgreSQL.
func TestIntegrationReplayForce(t *testing.T) {
	r := newPipelineRun(t, "replayforce")
	ctx := r.ctx
	live := newTestNode(t, "force-1", r.group, r.database, t.TempDir())
	live.start()
	gen, err := workload.Open(ctx, r.pgDSN, zerolog.Nop())
	require.NoError(t, err)
	defer gen.Close()
	_, err = gen.Run(ctx, workload.Options{Changes: 800, Rate: 0, Seed: uint64(r.suffix), Scale: 200})
	require.NoError(t, err)
	waitConverged(ctx, t, r.pg, r.ch, live)

	stateDir := filepath.Join(t.TempDir(), "replayed")
	var out, errOut syncBuffer
	exited := make(chan int, 1)
	go func() {
		exited <- runMain(ctx, []string{"replay", "--force", "--into-new-tables", "--group", r.group, "--database", r.database, "--state-dir", stateDir},
			&app{stdout: &out, stderr: &errOut, stdin: strings.NewReader(""), log: zerolog.Nop()})
	}()
	// The replay reads the shared stack's topics from their start: give
	// it what is left of the run's time.
	err = waitFor(ctx, 12*time.Minute, func(context.Context) (bool, string) {
		select {
		case code := <-exited:
			exited <- code
			return false, fmt.Sprintf("replay exited (%d) before waiting for the group", code)
		default:
		}
		return strings.Contains(out.String(), "stop its nodes (force-1) to hand over"), "no waiting line yet"
	})
	require.NoError(t, err, "replay --force:\n%s%s", out.String(), errOut.String())

	// Changes while the replay waits: the live node and the replay node
	// both process them, into the old and the new tables.
	_, err = gen.Run(ctx, workload.Options{Changes: 300, Rate: 0, Seed: uint64(r.suffix) + 1, Scale: 200})
	require.NoError(t, err)
	select {
	case code := <-exited:
		t.Fatalf("replay exited (%d) while the group had a member:\n%s%s", code, out.String(), errOut.String())
	default:
	}
	live.stop()
	var code int
	select {
	case code = <-exited:
	case <-time.After(5 * time.Minute):
		t.Fatalf("replay did not hand over once the group was empty:\n%s", out.String())
	}
	require.Zero(t, code, "replay --force:\n%s%s", out.String(), errOut.String())
	assert.Contains(t, out.String(), "swapped in the replayed tables; the old ones are kept as <name>_old_r")
	assert.Contains(t, out.String(), "continues from the replayed offsets")

	rows, err := r.ch.Query(ctx, "SELECT name FROM system.tables WHERE database = '"+r.database+"' AND position(name, '_old_r') > 0 ORDER BY name", 1)
	require.NoError(t, err)
	var kept []string
	for _, row := range rows {
		kept = append(kept, strings.Split(row[0], "_old_")[0])
	}
	assert.ElementsMatch(t, []string{"sales_facts", "customers", "vehicles", "orders", "order_items", "payments"}, kept, "the old tables are kept")

	next := newTestNode(t, "force-2", r.group, r.database, stateDir)
	next.start()
	waitConverged(ctx, t, r.pg, r.ch, next)
}
