//go:build integration

package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/bench/oracle"
	"github.com/drivetrain-cdc/drivetrain/bench/workload"
	"github.com/drivetrain-cdc/drivetrain/sinks"
	"github.com/drivetrain-cdc/drivetrain/tool/observe"
)

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// drivetrainBinary builds cmd/drivetrain once per test run: the end-to-end
// tests run the node as a separate process, as operators do.
func drivetrainBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "drivetrain-e2e-bin")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "drivetrain")
		out, err := exec.Command("go", "build", "-o", builtBin, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	require.NoError(t, buildErr)
	return builtBin
}

// testNode is a `drivetrain run` process.
type testNode struct {
	t        *testing.T
	bin      string
	args     []string
	logPath  string
	url      string
	cmd      *exec.Cmd
	waitDone chan error
	env      []string // extra environment
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

func newTestNode(t *testing.T, id, group, database, stateDir string) *testNode {
	addr := freeAddr(t)
	n := &testNode{
		t:       t,
		bin:     drivetrainBinary(t),
		logPath: filepath.Join(t.TempDir(), id+".log"),
		url:     "http://" + addr,
		args: []string{"run", "--node-id", id, "--group", group, "--database", database,
			"--state-dir", stateDir, "--http-addr", addr},
	}
	t.Cleanup(func() {
		n.stop()
		if t.Failed() {
			n.dumpLog()
		}
	})
	return n
}

func (n *testNode) start() {
	n.t.Helper()
	logf, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	require.NoError(n.t, err)
	n.cmd = exec.Command(n.bin, n.args...)
	n.cmd.Stdout, n.cmd.Stderr = logf, logf
	n.cmd.Env = append(append(os.Environ(), "DRIVETRAIN_LOG_LEVEL=info"), n.env...)
	require.NoError(n.t, n.cmd.Start())
	n.waitDone = make(chan error, 1)
	go func(c *exec.Cmd) { n.waitDone <- c.Wait(); logf.Close() }(n.cmd)
}

// kill ends the node with SIGKILL: no flush, no commit, no leaving the group.
func (n *testNode) kill() {
	n.t.Helper()
	require.NoError(n.t, n.cmd.Process.Signal(syscall.SIGKILL))
	<-n.waitDone
	n.cmd = nil
}

// stop ends the node gracefully (SIGTERM) if it runs.
func (n *testNode) stop() {
	if n.cmd == nil {
		return
	}
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.waitDone:
	case <-time.After(90 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.waitDone
	}
	n.cmd = nil
}

func (n *testNode) exited() bool {
	select {
	case err := <-n.waitDone:
		n.waitDone <- err
		return true
	default:
		return false
	}
}

func (n *testNode) dumpLog() {
	data, _ := os.ReadFile(n.logPath)
	if len(data) > 20000 {
		data = data[len(data)-20000:]
	}
	n.t.Logf("--- tail of %s ---\n%s", n.logPath, bytes.TrimSpace(data))
}

func (n *testNode) status(ctx context.Context) (*observe.Status, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return observe.FetchStatus(ctx, n.url)
}

// waitReady waits until the node's /status says ready.
func (n *testNode) waitReady(ctx context.Context) {
	n.t.Helper()
	err := waitFor(ctx, 3*time.Minute, func(ctx context.Context) (bool, string) {
		if n.exited() {
			return false, "the node exited"
		}
		st, err := n.status(ctx)
		if err != nil {
			return false, err.Error()
		}
		return st.Ready, st.Reason
	})
	require.NoError(n.t, err, "node %s not ready", n.url)
}

// waitConverged waits until every node is idle and the oracle finds
// ClickHouse equal to PostgreSQL, and fails with the last differences.
func waitConverged(ctx context.Context, t *testing.T, pg *pgx.Conn, ch *sinks.Client, nodes ...*testNode) {
	t.Helper()
	var last *oracle.Result
	err := waitFor(ctx, 5*time.Minute, func(ctx context.Context) (bool, string) {
		for _, n := range nodes {
			if n.exited() {
				return false, "node " + n.url + " exited"
			}
			st, err := n.status(ctx)
			if err != nil {
				return false, err.Error()
			}
			if !st.Idle {
				return false, fmt.Sprintf("node %s busy: lag %d, sink backlog %d", st.Node, st.Lag, st.SinkBacklog)
			}
		}
		res, err := oracle.Compare(ctx, pg, ch, oracle.Options{})
		if err != nil {
			return false, err.Error()
		}
		last = res
		return res.OK(), "oracle mismatch"
	})
	if err != nil {
		msg := err.Error()
		if last != nil {
			msg += "\n" + last.String()
		}
		t.Fatal(msg)
	}
	t.Logf("converged:\n%s", last.String())
}

// pipelineRun is what an end-to-end test on the local stack starts from:
// the connector registered and streaming, and its own ClickHouse database
// (dropped at the end) and consumer group, named <name>_<n> and <name>-<n>.
type pipelineRun struct {
	ctx             context.Context
	pgDSN           string
	suffix          int64
	database, group string
	ch              *sinks.Client
	pg              *pgx.Conn
}

// newPipelineRun skips the test when the stack's addresses are not set.
func newPipelineRun(t *testing.T, name string) *pipelineRun {
	t.Helper()
	pgDSN, _, _ := stackEnv(t)
	chURL := os.Getenv("DRIVETRAIN_CLICKHOUSE_URL")
	if chURL == "" {
		t.Skip("DRIVETRAIN_CLICKHOUSE_URL is not set; source .stack/env")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	t.Cleanup(cancel)
	stdout, stderr, code := runCLI(t, "connector", "register")
	require.Zero(t, code, "connector register:\n%s%s", stdout, stderr)
	waitSlotActive(ctx, t, pgDSN, "drivetrain")

	r := &pipelineRun{ctx: ctx, pgDSN: pgDSN, suffix: time.Now().UnixNano()}
	r.database, r.group = fmt.Sprintf("%s_%d", name, r.suffix), fmt.Sprintf("%s-%d", name, r.suffix)
	ch, err := sinks.Dial(ctx, sinks.Config{Addr: chURL, Database: r.database}, zerolog.Nop())
	require.NoError(t, err)
	r.ch = ch
	pg, err := pgx.Connect(ctx, pgDSN)
	require.NoError(t, err)
	r.pg = pg
	t.Cleanup(func() {
		_ = ch.Exec(context.Background(), "DROP DATABASE IF EXISTS "+r.database)
		ch.Close()
		pg.Close(context.Background())
	})
	return r
}

// TestIntegrationEndToEnd is the correctness oracle on the real pipeline:
// PostgreSQL → Debezium → Kafka → drivetrain run (a separate process) →
// ClickHouse over HTTP, with a mixed workload; once idle, every mirror table
// and sales_facts_current must equal PostgreSQL row by row.
func TestIntegrationEndToEnd(t *testing.T) { endToEnd(t, false) }

// TestIntegrationEndToEndKill does the same with the node SIGKILLed in the
// middle of the workload and restarted on its state directory.
func TestIntegrationEndToEndKill(t *testing.T) { endToEnd(t, true) }

func endToEnd(t *testing.T, kill bool) {
	r := newPipelineRun(t, "e2e")
	ctx, pgDSN, suffix, database, group, ch, pg := r.ctx, r.pgDSN, r.suffix, r.database, r.group, r.ch, r.pg
	node := newTestNode(t, "e2e-1", group, database, t.TempDir())
	node.start()
	// Not waiting for ready here: on a new database Debezium creates the
	// topics with the first changes, which the workload makes; the node
	// waits for them.

	gen, err := workload.Open(ctx, pgDSN, zerolog.Nop())
	require.NoError(t, err)
	defer gen.Close()
	killed := make(chan struct{})
	var once sync.Once
	opts := workload.Options{Changes: 4000, Rate: 800, Seed: uint64(suffix), Scale: 300, ProgressInterval: 250 * time.Millisecond}
	if kill {
		opts.Progress = func(p workload.Progress) {
			if p.Phase == "running" && p.Changes >= 1500 {
				once.Do(func() { close(killed) })
			}
		}
	}
	genDone := make(chan error, 1)
	var rep *workload.Report
	go func() {
		var err error
		rep, err = gen.Run(ctx, opts)
		genDone <- err
	}()
	if kill {
		select {
		case <-killed:
		case err := <-genDone:
			t.Fatalf("the workload ended before the kill point: %v", err)
		}
		node.kill()
		t.Log("node SIGKILLed mid-workload; restarting it on its state directory")
		node.start()
		node.waitReady(ctx)
	}
	require.NoError(t, <-genDone)
	t.Logf("workload: %d changes in %d transactions, counts %v", rep.Changes, rep.Transactions, rep.Counts)
	waitConverged(ctx, t, pg, ch, node)
}
