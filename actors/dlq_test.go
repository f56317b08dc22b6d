package actors

import (
	"context"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/drivetrain-cdc/drivetrain/topology"
	"github.com/drivetrain-cdc/drivetrain/topology/topologytest"
)

// TestDeadLetters puts bad records among good ones, in an order-stream
// topic and in a global one: each goes to the dead-letter topic with its
// key, value and headers plus why and where it came from, is counted by
// kind, and processing goes on to the same result.
func TestDeadLetters(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	hist := topologytest.Generate(rng, topologytest.Config{Transactions: 60, Partitions: 2, GlobalPartitions: 1})
	h := newHarness(t, nil, 2, 1)
	recs := hist.Interleave(rng, nil)
	half := len(recs) / 2
	h.produce(recs[:half])

	orders, customers := h.enc.Topic(topology.TableOrders), h.enc.Topic(topology.TableCustomers)
	bad := []*kgo.Record{
		{Topic: orders, Partition: 1, Key: []byte(`{"id":1}`), Value: []byte(`{"payload":{"op":`),
			Headers: []kgo.RecordHeader{{Key: "origin", Value: []byte("test")}}},
		{Topic: orders, Partition: 0, Key: h.enc.Key(topology.TableOrders, 2), Value: unknownOp(h, 2)},
		{Topic: customers, Partition: 0, Key: []byte(`{"id":3}`), Value: []byte(`[1,2,3]`)},
		// A valid order on a partition that is not its order's, and one
		// whose source.table says payments: neither is applied.
		{Topic: orders, Partition: 1 - topology.OrderPartition(900_001, 2), Key: h.enc.Key(topology.TableOrders, 900_001), Value: order(h, 900_001)},
		{Topic: orders, Partition: topology.OrderPartition(900_002, 2), Key: h.enc.Key(topology.TableOrders, 900_002),
			Value: []byte(strings.Replace(string(order(h, 900_002)), `"table":"orders"`, `"table":"payments"`, 1))},
	}
	require.NoError(t, h.prod.ProduceRaw(ctx(t), bad...))
	h.produce(recs[half:])

	n := h.start("a", nil)
	h.waitIdle(hist.Final, 20*time.Second)

	cl, err := kgo.NewClient(kgo.SeedBrokers(h.brokers...), kgo.ConsumeTopics(DLQTopicFor(h.prefix)),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	require.NoError(t, err)
	defer cl.Close()
	var got []*kgo.Record
	for len(got) < len(bad) {
		fs := cl.PollFetches(ctx(t))
		require.NoError(t, fs.Err())
		got = append(got, fs.Records()...)
	}
	require.Len(t, got, len(bad))
	byOrigin := map[string]*kgo.Record{}
	for _, r := range got {
		hs := headers(r)
		byOrigin[hs[HeaderSourceTopic]+"/"+hs[HeaderSourcePartition]+"/"+hs[HeaderSourceOffset]] = r
	}
	wantKinds := []string{"malformed_json", "unknown_op", "not_envelope", "misrouted", "wrong_table"}
	for i, b := range bad {
		r := byOrigin[b.Topic+"/"+strconv.Itoa(int(b.Partition))+"/"+strconv.FormatInt(b.Offset, 10)]
		require.NotNil(t, r, "dead letter of %s/%d/%d", b.Topic, b.Partition, b.Offset)
		assert.Equal(t, b.Key, r.Key)
		assert.Equal(t, b.Value, r.Value)
		hs := headers(r)
		assert.Equal(t, wantKinds[i], hs[HeaderErrorKind])
		assert.NotEmpty(t, hs[HeaderErrorDetail])
		for _, oh := range b.Headers {
			assert.Equal(t, string(oh.Value), hs[oh.Key], "original header %s", oh.Key)
		}
	}
	assert.Equal(t, map[string]int64{"malformed_json": 1, "unknown_op": 1, "not_envelope": 1, "misrouted": 1, "wrong_table": 1}, n.Stats().DeadLetters)
	assert.NoError(t, n.shutdown(t))
}

func headers(r *kgo.Record) map[string]string {
	m := map[string]string{}
	for _, h := range r.Headers {
		m[h.Key] = string(h.Value)
	}
	return m
}

// order returns a well-formed order event.
func order(h *harness, id int64) []byte {
	ch := topology.Change{Table: topology.TableOrders, Op: topology.OpCreate, LSN: 1, SourceTsMs: 1,
		After: topology.Some(topology.OrderRow(topology.Order{ID: id, Status: "pending", Channel: "web", Currency: "EUR"}))}
	return h.enc.Value(&ch)
}

// unknownOp returns a well-formed order event with op "x".
func unknownOp(h *harness, id int64) []byte {
	return []byte(strings.Replace(string(order(h, id)), `"op":"c"`, `"op":"x"`, 1))
}

// TestDeadLetterTooLarge: an oversized record that does not fit the
// dead-letter topic either (an operator's topic with a small
// max.message.bytes) is written with as much of its value as fits and a
// header saying how large it was.
func TestDeadLetterTooLarge(t *testing.T) {
	h := newHarness(t, nil, 1, 1)
	h.tweak = func(c *Config) { c.MaxRecordBytes = 1000 }
	_, err := h.adm.CreateTopic(ctx(t), 1, 1, map[string]*string{"max.message.bytes": kadm.StringPtr("4000")}, DLQTopicFor(h.prefix))
	require.NoError(t, err)
	orders := h.enc.Topic(topology.TableOrders)
	big := &kgo.Record{Topic: orders, Partition: 0, Key: []byte(`{"id":7}`), Value: []byte(strings.Repeat("x", 6000))}
	require.NoError(t, h.prod.ProduceRaw(ctx(t), big))

	n, err := NewNode(h.config("a"), h.deps(nil))
	require.NoError(t, err)
	c, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(c) }()
	h.waitIdle(topologytest.NewTables(), 20*time.Second)
	cancel()
	require.NoError(t, <-done)

	cl, err := kgo.NewClient(kgo.SeedBrokers(h.brokers...), kgo.ConsumeTopics(DLQTopicFor(h.prefix)),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	require.NoError(t, err)
	defer cl.Close()
	fs := cl.PollFetches(ctx(t))
	require.NoError(t, fs.Err())
	recs := fs.Records()
	require.Len(t, recs, 1)
	hs := headers(recs[0])
	assert.Equal(t, "oversized", hs[HeaderErrorKind])
	assert.Equal(t, "6000", hs[HeaderValueTruncated])
	assert.NotEmpty(t, recs[0].Value)
	assert.Less(t, len(recs[0].Value), 4000)
	assert.Equal(t, big.Value[:len(recs[0].Value)], recs[0].Value)
	assert.Equal(t, big.Key, recs[0].Key)
}

// TestDeadLettersOnce: a bad record goes to the dead-letter topic once,
// whichever node reads it again — one with an empty state in the same
// group (it reads the global tables from the start) or one in a new group
// (as a replay does, reading everything again).
func TestDeadLettersOnce(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	hist := topologytest.Generate(rng, topologytest.Config{Transactions: 40, Partitions: 2, GlobalPartitions: 1})
	h := newHarness(t, nil, 2, 1)
	recs := hist.Interleave(rng, nil)
	h.produce(recs[:len(recs)/2])
	orders, customers := h.enc.Topic(topology.TableOrders), h.enc.Topic(topology.TableCustomers)
	require.NoError(t, h.prod.ProduceRaw(ctx(t),
		&kgo.Record{Topic: orders, Partition: 1, Key: []byte(`{"id":1}`), Value: []byte(`{"payload":{"op":`)},
		&kgo.Record{Topic: customers, Partition: 0, Key: []byte(`{"id":3}`), Value: []byte(`[1,2,3]`)},
	))
	h.produce(recs[len(recs)/2:])

	count := func() int {
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ends, err := h.adm.ListEndOffsets(c, DLQTopicFor(h.prefix))
		require.NoError(t, err)
		n := 0
		ends.Each(func(o kadm.ListedOffset) { n += int(o.Offset) })
		return n
	}
	a := h.start("a", nil)
	h.waitIdle(hist.Final, 20*time.Second)
	waitFor(t, 10*time.Second, "two dead letters", func() bool { return count() == 2 })
	require.NoError(t, a.shutdown(t))

	b := h.start("b", nil) // same group, empty state
	h.waitIdle(hist.Final, 20*time.Second)
	waitFor(t, 10*time.Second, "b's global tables read", b.Ready)
	require.NoError(t, b.shutdown(t))

	h.group += "-replay"
	c := h.start("c", nil) // a new group: every record again
	h.waitIdle(hist.Final, 20*time.Second)
	require.NoError(t, c.shutdown(t))
	assert.Equal(t, 2, count(), "the dead-letter topic still holds each bad record once")
}
