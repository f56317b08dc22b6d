package actors

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/drivetrain-cdc/drivetrain/actors/actorstest"
	"github.com/drivetrain-cdc/drivetrain/state"
	"github.com/drivetrain-cdc/drivetrain/topology"
	"github.com/drivetrain-cdc/drivetrain/topology/topologytest"
)

// The node tests run real nodes (actors, Pebble on an in-memory
// filesystem, franz-go clients) against kfake, franz-go's in-memory
// Kafka, and an in-memory sink. They wait on conditions with timeouts,
// never on sleeps.

// newCluster returns a kfake cluster that allows short session timeouts.
func newCluster(t *testing.T, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.GroupMinSessionTimeout(100 * time.Millisecond)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// harness is one test's Kafka cluster, topics, sink and producer.
type harness struct {
	t       *testing.T
	cluster *kfake.Cluster
	brokers []string
	adm     *kadm.Client
	prefix  string
	group   string
	sink    *actorstest.Sink
	prod    *actorstest.Producer
	enc     *actorstest.Encoder
	// tweak adjusts every node's Config, tweakDeps its Deps.
	tweak     func(*Config)
	tweakDeps func(*Deps)
	// clocks, when set, gives node id its emission clock.
	clocks func(id string) func() uint64
}

var harnessSeq atomic.Int64

// newHarness creates topics with a fresh prefix on cluster (a new cluster
// when nil).
func newHarness(t *testing.T, cluster *kfake.Cluster, orderParts, globalParts int32) *harness {
	t.Helper()
	if cluster == nil {
		cluster = newCluster(t)
	}
	h := &harness{t: t, cluster: cluster, brokers: cluster.ListenAddrs(), sink: actorstest.NewSink()}
	id := harnessSeq.Add(1)
	h.prefix = fmt.Sprintf("t%d", id)
	h.group = fmt.Sprintf("g%d", id)
	h.enc = &actorstest.Encoder{Prefix: h.prefix}
	cl, err := kgo.NewClient(kgo.SeedBrokers(h.brokers...), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerLinger(0))
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	h.adm = kadm.NewClient(cl)
	h.prod = &actorstest.Producer{Client: cl, Enc: h.enc, Tombstones: true}
	require.NoError(t, actorstest.CreateTopics(ctx(t), cl, h.prefix, orderParts, globalParts))
	return h
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// testLogger logs to the test at Warn (DRIVETRAIN_TEST_LOG=debug for more).
func testLogger(t *testing.T) zerolog.Logger {
	lvl := zerolog.WarnLevel
	if l, err := zerolog.ParseLevel(os.Getenv("DRIVETRAIN_TEST_LOG")); err == nil && l != zerolog.NoLevel {
		lvl = l
	}
	return zerolog.New(zerolog.NewTestWriter(t)).Level(lvl).With().Timestamp().Logger()
}

// node is a node running in a test.
type node struct {
	*Node
	id   string
	fs   vfs.FS
	done chan error
	stop context.CancelFunc
}

// config returns the test configuration of node id: short intervals so
// that tests run fast.
func (h *harness) config(id string) Config {
	cfg := Config{
		Brokers:           h.brokers,
		TopicPrefix:       h.prefix,
		Group:             h.group,
		NodeID:            id,
		StateDir:          "/state",
		StateNoSync:       true,
		MaxInflightRows:   5000,
		MaxPollRecords:    200,
		CommitInterval:    50 * time.Millisecond,
		DrainTimeout:      5 * time.Second,
		SessionTimeout:    1500 * time.Millisecond,
		HeartbeatInterval: 100 * time.Millisecond,
		RebalanceTimeout:  10 * time.Second,
		SinkRetryMin:      5 * time.Millisecond,
		SinkRetryMax:      50 * time.Millisecond,
		TopicWait:         -1,
	}
	cfg.SinkBatch.MaxDelay = 10 * time.Millisecond
	// Rows of records older than this also wait only this long: tests
	// whose records wait for a node to start or restart stay fast
	// (TestLateRowsWaitForCatchUpDelay covers a longer one).
	cfg.SinkBatch.CatchUpDelay = 10 * time.Millisecond
	// Any backlog starts a partition quietly, so that the crash and
	// rebalance tests go through quiet starts of partitions with commits.
	cfg.quietMinBacklog = 1
	if h.tweak != nil {
		h.tweak(&cfg)
	}
	return cfg
}

// deps returns the node's dependencies with its state on fs; nil means a
// new in-memory filesystem (tests never write state to the real disk).
func (h *harness) deps(fs vfs.FS) Deps {
	if fs == nil {
		fs = vfs.NewMem()
	}
	d := Deps{
		Log:       testLogger(h.t),
		Facts:     h.sink.Facts(),
		Mirrors:   map[topology.Table]Writer[topology.Mirror]{},
		Retryable: func(err error) bool { return errors.Is(err, actorstest.ErrTransient) },
		KafkaOpts: []kgo.Opt{kgo.FetchMaxWait(50 * time.Millisecond), kgo.RetryBackoffFn(func(int) time.Duration { return 20 * time.Millisecond })},
		State:     state.Options{FS: fs},
	}
	for _, t := range topology.Tables {
		d.Mirrors[t] = h.sink.Mirror(t)
	}
	if h.tweakDeps != nil {
		h.tweakDeps(&d)
	}
	return d
}

// start starts node id on the state in fs (a new in-memory filesystem
// when nil).
func (h *harness) start(id string, fs vfs.FS) *node {
	h.t.Helper()
	if fs == nil {
		fs = vfs.NewMem()
	}
	d := h.deps(fs)
	if h.clocks != nil {
		d.Clock = h.clocks(id)
	}
	n, err := NewNode(h.config(id), d)
	require.NoError(h.t, err)
	c, cancel := context.WithCancel(context.Background())
	r := &node{Node: n, id: id, fs: fs, done: make(chan error, 1), stop: cancel}
	go func() { r.done <- n.Run(c) }()
	h.t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(30 * time.Second):
			h.t.Errorf("node %s did not stop", id)
		}
	})
	return r
}

// shutdown stops r gracefully and returns Run's error.
func (r *node) shutdown(t *testing.T) error {
	t.Helper()
	r.stop()
	return r.wait(t)
}

// crash stops r as a crash would (see Node.kill).
func (r *node) crash(t *testing.T) {
	t.Helper()
	r.kill()
	require.NoError(t, r.wait(t))
}

func (r *node) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err
		return err
	case <-time.After(30 * time.Second):
		var buf strings.Builder
		_ = pprof.Lookup("goroutine").WriteTo(&buf, 1)
		t.Fatalf("node %s did not stop:\n%s", r.id, buf.String())
		return nil
	}
}

// produce writes records and fails the test on error.
func (h *harness) produce(recs []topologytest.Record) {
	h.t.Helper()
	require.NoError(h.t, h.prod.Produce(ctx(h.t), recs))
}

// lag returns, per order-stream topic partition whose committed offset
// is below the end offset, "topic/partition committed/end".
func (h *harness) lag(c context.Context) ([]string, error) {
	tp := newTopics(h.prefix)
	os := tp.orderStream()
	ends, err := h.adm.ListEndOffsets(c, os[:]...)
	if err != nil {
		return nil, err
	}
	committed, err := h.adm.FetchOffsets(c, h.group)
	if err != nil {
		return nil, err
	}
	var behind []string
	ends.Each(func(o kadm.ListedOffset) {
		var at int64
		if r, ok := committed.Lookup(o.Topic, o.Partition); ok {
			at = r.At
		}
		if at < o.Offset {
			behind = append(behind, fmt.Sprintf("%s/%d %d/%d", o.Topic, o.Partition, at, o.Offset))
		}
	})
	return behind, nil
}

// waitIdle waits until every order-stream offset is committed up to the
// end and the sink holds want; it fails the test with what differs.
func (h *harness) waitIdle(want *topologytest.Tables, timeout time.Duration) {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var behind []string
	var diff string
	for {
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var err error
		behind, err = h.lag(c)
		cancel()
		if err == nil && len(behind) == 0 {
			if diff = h.sink.Diff(want); diff == "" {
				return
			}
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("not idle after %v:\nbehind: %s\nsink differs from the join:\n%s%s", timeout, strings.Join(behind, ", "), diff, h.histories(diff))
		}
		<-tick.C
	}
}

// histories returns the insert histories of the facts a diff names.
func (h *harness) histories(diff string) string {
	var b strings.Builder
	for _, m := range factInDiff.FindAllStringSubmatch(diff, -1) {
		order, _ := strconv.ParseInt(m[1], 10, 64)
		item, _ := strconv.ParseInt(m[2], 10, 64)
		fmt.Fprintf(&b, "inserts of fact {%d %d}:\n", order, item)
		for _, line := range h.sink.FactHistory(order, item) {
			fmt.Fprintf(&b, "  %s\n", line)
		}
	}
	return b.String()
}

// factInDiff matches a fact's key in a topologytest.Diff report.
var factInDiff = regexp.MustCompile(`fact \{(\d+) (\d+)\}`)

// records wraps changes as generated records (their Pos.Partition says
// where they go).
func records(chs ...topology.Change) []topologytest.Record {
	out := make([]topologytest.Record, len(chs))
	for i, ch := range chs {
		out[i] = topologytest.Record{Change: ch}
	}
	return out
}
