package health

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/drivetrain-cdc/drivetrain/tool/config"
)

func TestWrite(t *testing.T) {
	var b bytes.Buffer
	failed := Write(&b, []Check{
		{Name: "A", OK: true, Detail: "fine", Fix: "unused"},
		{Name: "B", Detail: "broken", Fix: "repair it"},
	})
	assert.Equal(t, 1, failed)
	assert.Equal(t, "✓ A: fine\n✗ B: broken — fix: repair it\n", b.String())
}

// TestConsumerLag checks the group's lag on the order stream of an
// in-process cluster: 10 records in each of the three topics' two
// partitions, against the group's commits.
func TestConsumerLag(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "p.public.orders", "p.public.order_items", "p.public.payments"))
	require.NoError(t, err)
	t.Cleanup(cluster.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	require.NoError(t, err)
	defer cl.Close()
	for _, topic := range []string{"p.public.orders", "p.public.order_items", "p.public.payments"} {
		for p := range int32(2) {
			for range 10 {
				require.NoError(t, cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Partition: p, Value: []byte("x")}).FirstErr())
			}
		}
	}
	kafka := config.Kafka{Brokers: cluster.ListenAddrs(), ClientID: "health-test"}
	check := func(maxLag int64) Check {
		t.Helper()
		cs := ConsumerLag(ctx, kafka, "g", "p", maxLag)
		require.Len(t, cs, 1)
		return cs[0]
	}

	c := check(10)
	assert.True(t, c.OK, "before the first node there is nothing to be behind: %+v", c)
	assert.Equal(t, "no node has joined yet (nothing committed); 60 records waiting (ready_max_lag 10)", c.Detail)

	offsets := kadm.Offsets{}
	offsets.Add(kadm.Offset{Topic: "p.public.orders", Partition: 0, At: 10})
	offsets.Add(kadm.Offset{Topic: "p.public.orders", Partition: 1, At: 7})
	_, err = kadm.NewClient(cl).CommitOffsets(ctx, "g", offsets)
	require.NoError(t, err)
	c = check(100)
	assert.True(t, c.OK)
	assert.Equal(t, "no live member, lag 43 (ready_max_lag 100)", c.Detail, "uncommitted partitions count from their start")

	c = check(10)
	assert.False(t, c.OK)
	assert.Equal(t, "start the nodes (drivetrain run, processor.group g)", c.Fix)

	cluster.Close()
	short, cancelShort := context.WithTimeout(ctx, 2*time.Second)
	defer cancelShort()
	cs := ConsumerLag(short, kafka, "g", "p", 100)
	require.Len(t, cs, 1)
	assert.False(t, cs[0].OK, "an unreachable cluster fails the check")
}

func TestHostOf(t *testing.T) {
	assert.Equal(t, "ch:8123", HostOf("http://user:secret@ch:8123/"))
	assert.Equal(t, "db:5432", HostOf("host=db port=5432 user=app password=secret"))
	assert.Equal(t, "(unparsable address)", HostOf("::"))
}
