package actors

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/drivetrain-cdc/drivetrain/actors/actorstest"
)

// TestNodeWaitsForSourceTopics: a node started before Debezium created the
// topics (a fresh database) waits, not ready, and starts once they exist.
func TestNodeWaitsForSourceTopics(t *testing.T) {
	cluster := newCluster(t)
	h := newHarness(t, cluster, 3, 1)
	h.prefix += "late"
	h.enc.Prefix = h.prefix
	cfg := h.config("a")
	cfg.TopicWait = 0 // wait until they appear
	n, err := NewNode(cfg, h.deps(nil))
	require.NoError(t, err)
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- n.Run(c) }()

	require.False(t, n.Ready(), "no topics yet")
	cl, err := kgo.NewClient(kgo.SeedBrokers(h.brokers...))
	require.NoError(t, err)
	defer cl.Close()
	require.NoError(t, actorstest.CreateTopics(c, cl, h.prefix, 3, 1))
	require.Eventually(t, n.Ready, 20*time.Second, 20*time.Millisecond, "the node starts once the topics exist")
	cancel()
	require.NoError(t, <-done)
}

// TestNodeTopicWaitBounded: with a bounded TopicWait, a node whose topics
// never appear stops with ErrMissingTopic.
func TestNodeTopicWaitBounded(t *testing.T) {
	h := newHarness(t, nil, 3, 1)
	h.prefix += "never"
	cfg := h.config("a")
	cfg.TopicWait = 100 * time.Millisecond
	n, err := NewNode(cfg, h.deps(nil))
	require.NoError(t, err)
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.ErrorIs(t, n.Run(c), ErrMissingTopic)
}

// TestNodeRetriesUnreachableKafka: a node whose brokers do not answer at
// start keeps retrying, not ready, instead of exiting; stopping it then is
// a clean stop.
func TestNodeRetriesUnreachableKafka(t *testing.T) {
	h := newHarness(t, nil, 3, 1)
	cfg := h.config("a")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	cfg.Brokers = []string{ln.Addr().String()}
	require.NoError(t, ln.Close()) // nothing listens there any more
	n, err := NewNode(cfg, h.deps(nil))
	require.NoError(t, err)
	c, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(c) }()
	stop := time.AfterFunc(3*time.Second, cancel)
	defer stop.Stop()
	select {
	case err := <-done:
		require.NoError(t, err, "the node must keep retrying until stopped, not fail")
		require.False(t, n.Ready())
	case <-time.After(30 * time.Second):
		t.Fatal("the node did not stop after its context was cancelled")
	}
}
