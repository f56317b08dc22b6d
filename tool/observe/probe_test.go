package observe

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestProberUnreachable(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	chErr, kafkaErr := errors.New("connection refused"), error(nil)
	p := NewProber(time.Second,
		Probe{Name: "clickhouse", Check: func(context.Context) error { return chErr }},
		Probe{Name: "kafka", Check: func(context.Context) error { return kafkaErr }})
	p.now = func() time.Time { return now }
	ctx := context.Background()

	assert.Empty(t, p.Unreachable(30*time.Second), "nothing checked yet")
	p.CheckNow(ctx)
	assert.Empty(t, p.Unreachable(30*time.Second), "failing, not for long")
	now = now.Add(29 * time.Second)
	p.CheckNow(ctx)
	assert.Empty(t, p.Unreachable(30*time.Second))
	now = now.Add(time.Second)
	assert.Equal(t, "clickhouse unreachable for 30s (ready_max_unreachable 30s): connection refused", p.Unreachable(30*time.Second))
	assert.Empty(t, p.Unreachable(0), "0: never checked")
	var nilProber *Prober
	assert.Empty(t, nilProber.Unreachable(time.Second))

	chErr = nil
	p.CheckNow(ctx)
	assert.Empty(t, p.Unreachable(30*time.Second), "back at the first success")

	kafkaErr = errors.New("i/o timeout")
	p.CheckNow(ctx)
	now = now.Add(time.Minute)
	p.CheckNow(ctx)
	assert.Equal(t, "kafka unreachable for 1m0s (ready_max_unreachable 30s): i/o timeout", p.Unreachable(30*time.Second),
		"failing since the first failure, not the last")
}

func TestProberStopsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	checked := make(chan struct{}, 1)
	p := NewProber(time.Hour, Probe{Name: "x", Check: func(ctx context.Context) error {
		select {
		case checked <- struct{}{}:
		default:
		}
		<-ctx.Done()
		return ctx.Err()
	}})
	done := make(chan struct{})
	go func() {
		p.Run(ctx)
		close(done)
	}()
	<-checked
	cancel()
	<-done
	assert.Empty(t, p.Unreachable(time.Nanosecond), "a check cut short by stopping says nothing of the service")
}

// TestKafkaProbe probes an in-process cluster: it answers, then, closed,
// it does not, and the prober reports Kafka unreachable.
func TestKafkaProbe(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
	require.NoError(t, err)
	cl, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...))
	require.NoError(t, err)
	defer cl.Close()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := NewProber(2*time.Second, KafkaProbe(cl))
	p.now = func() time.Time { return now }
	ctx := context.Background()

	p.CheckNow(ctx)
	now = now.Add(time.Minute)
	assert.Empty(t, p.Unreachable(time.Second), "the cluster answers")

	cluster.Close()
	p.CheckNow(ctx)
	now = now.Add(time.Minute)
	assert.Contains(t, p.Unreachable(30*time.Second), "kafka unreachable for 1m0s (ready_max_unreachable 30s): ")
}
