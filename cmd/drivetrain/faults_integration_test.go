//go:build integration

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/drivetrain-cdc/drivetrain/actors"
	"github.com/drivetrain-cdc/drivetrain/bench/workload"
	"github.com/drivetrain-cdc/drivetrain/topology"
)

// The fault suite (`make faults`; bench/README.md has its table): each
// scenario runs the generator against the local stack, injects a fault
// into the running pipeline, waits until the node is idle and the oracle
// finds ClickHouse equal to PostgreSQL, and reports how long that took
// after the load ended and the node's peak RSS. The scenarios named
// TestIntegrationFault* run with the other integration tests in `make
// test`; the ClickHouse freeze stops the server those tests use, so
// `make test` runs it alone after them.

// faultLoad is the workload of a scenario: 3,000 changes at 400/s.
var faultLoad = workload.Options{Changes: 3000, Rate: 400, Scale: 300, ProgressInterval: 250 * time.Millisecond}

// faultRun runs one scenario: a node, the load in the background, inject
// once the load made 1,000 changes, then convergence and the report.
func faultRun(t *testing.T, name string, env []string, inject func(r *pipelineRun, node **testNode)) {
	r := newPipelineRun(t, "fault")
	node := newTestNode(t, "fault-1", r.group, r.database, t.TempDir())
	node.env = env
	node.start()
	gen, err := workload.Open(r.ctx, r.pgDSN, zerolog.Nop())
	require.NoError(t, err)
	defer gen.Close()
	opts := faultLoad
	opts.Seed = uint64(r.suffix)
	reached := make(chan struct{})
	fired := false
	opts.Progress = func(p workload.Progress) {
		if !fired && p.Phase == "running" && p.Changes >= 1000 {
			fired = true
			close(reached)
		}
	}
	done := make(chan error, 1)
	go func() {
		_, err := gen.Run(r.ctx, opts)
		done <- err
	}()
	select {
	case <-reached:
	case err := <-done:
		t.Fatalf("the workload ended before the fault: %v", err)
	}
	inject(r, &node)
	require.NoError(t, <-done)
	loadEnd := time.Now()
	waitConverged(r.ctx, t, r.pg, r.ch, node)
	report := fmt.Sprintf("fault %s: converged %.1f s after the fault and the load ended; node peak RSS %d MB",
		name, time.Since(loadEnd).Seconds(), node.peakRSS()>>20)
	t.Log(report)
	if out := os.Getenv("DRIVETRAIN_FAULTS_OUT"); out != "" {
		f, err := os.OpenFile(out, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		require.NoError(t, err)
		fmt.Fprintln(f, report)
		require.NoError(t, f.Close())
	}
}

// peakRSS returns the node process's peak resident set (VmHWM) in bytes, 0
// if it is not running.
func (n *testNode) peakRSS() int64 {
	if n.cmd == nil {
		return 0
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", n.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// TestIntegrationFaultNodeKill: the node is SIGKILLed under load and
// restarted on its state directory under its node id.
func TestIntegrationFaultNodeKill(t *testing.T) {
	faultRun(t, "node kill -9", nil, func(_ *pipelineRun, node **testNode) {
		(*node).kill()
		(*node).start()
	})
}

// TestIntegrationFaultMisrouted: a valid order record written under load
// to a partition that is not its order's goes to the dead-letter topic as
// misrouted; the pipeline goes on.
func TestIntegrationFaultMisrouted(t *testing.T) {
	_, brokers, _ := stackEnv(t)
	var offset int64 = -1
	var partition int32
	faultRun(t, "misrouted record", nil, func(r *pipelineRun, _ **testNode) {
		cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(brokers, ",")...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
		require.NoError(t, err)
		defer cl.Close()
		const id = 999_999_001
		partition = (topology.OrderPartition(id, 6) + 1) % 6
		value := fmt.Sprintf(`{"before":null,"after":{"id":%d,"customer_id":1,"status":"pending","channel":"web","currency":"EUR","order_date":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"},"source":{"ts_ms":1,"table":"orders","lsn":1},"op":"c"}`, id)
		res := cl.ProduceSync(r.ctx, &kgo.Record{Topic: "ecommerce.public.orders", Partition: partition, Key: []byte(fmt.Sprintf(`{"id":%d}`, id)), Value: []byte(value)})
		require.NoError(t, res.FirstErr())
		offset = res[0].Record.Offset
	})
	// The dead letter names the record.
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(brokers, ",")...), kgo.ConsumeTopics(actors.DLQTopicFor("ecommerce")),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	require.NoError(t, err)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	want := fmt.Sprintf("ecommerce.public.orders/%d/%d", partition, offset)
	for {
		fs := cl.PollFetches(ctx)
		require.NoError(t, ctx.Err(), "no dead letter for %s", want)
		found := false
		fs.EachRecord(func(rec *kgo.Record) {
			h := map[string]string{}
			for _, x := range rec.Headers {
				h[x.Key] = string(x.Value)
			}
			if h[actors.HeaderSourceTopic]+"/"+h[actors.HeaderSourcePartition]+"/"+h[actors.HeaderSourceOffset] == want {
				require.Equal(t, "misrouted", h[actors.HeaderErrorKind])
				found = true
			}
		})
		if found {
			return
		}
	}
}

// TestFaultClickHouseFreeze: ClickHouse is frozen (SIGSTOP) for 20 s under
// load: the node reports itself not ready (stalled partitions, with
// ready_max_stall 5s), holds its rows, and catches up once ClickHouse runs
// again (SIGCONT).
func TestFaultClickHouseFreeze(t *testing.T) {
	pidFile := filepath.Join("..", "..", ".stack", "run", "clickhouse.pid")
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Skipf("no local stack ClickHouse to freeze (%v)", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	require.NoError(t, err)
	faultRun(t, "ClickHouse frozen 20 s", []string{"DRIVETRAIN_READY_MAX_STALL=5s"}, func(r *pipelineRun, node **testNode) {
		require.NoError(t, syscall.Kill(pid, syscall.SIGSTOP))
		defer func() { require.NoError(t, syscall.Kill(pid, syscall.SIGCONT)) }()
		deadline := time.Now().Add(20 * time.Second)
		sawStall := false
		for time.Now().Before(deadline) {
			if st, err := (*node).status(r.ctx); err == nil && len(st.Stalled) > 0 && !st.Ready {
				sawStall = true
			}
			time.Sleep(500 * time.Millisecond)
		}
		require.True(t, sawStall, "the node never reported a stalled partition while ClickHouse was frozen")
	})
}
