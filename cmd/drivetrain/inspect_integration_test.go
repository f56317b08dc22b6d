//go:build integration

package main

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestIntegrationInspectKafka reads a record back from Kafka by
// topic/partition/offset, on a scratch topic of its own.
func TestIntegrationInspectKafka(t *testing.T) {
	brokers := os.Getenv("DRIVETRAIN_KAFKA_BROKERS")
	if brokers == "" {
		t.Skip("DRIVETRAIN_KAFKA_BROKERS is not set; run `make stack-up && source .stack/env` (make test does it)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(brokers, ",")...))
	require.NoError(t, err)
	defer cl.Close()
	adm := kadm.NewClient(cl)

	topic := "inspect_it_" + strconv.FormatInt(time.Now().UnixNano(), 36) + ".public.orders"
	_, err = adm.CreateTopic(ctx, 1, 1, nil, topic)
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = adm.DeleteTopics(context.Background(), topic) })

	value := `{"before":null,"after":{"id":3,"customer_id":41,"status":"paid","channel":"web","currency":"EUR",` +
		`"order_date":"2024-02-23T08:52:14.431487Z","updated_at":"2024-02-23T09:00:00Z"},"source":{"ts_ms":5,"lsn":9},"op":"c"}`
	require.NoError(t, cl.ProduceSync(ctx,
		&kgo.Record{Topic: topic, Key: []byte(`{"id":3}`), Value: []byte(value)},
		&kgo.Record{Topic: topic, Key: []byte(`{"id":3}`)},
	).FirstErr())

	stdout, stderr, code := runWithStdin("", "inspect", "--kafka", brokers, "--topic", topic, "--partition", "0", "--offset", "0")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, `{"topic":"`+topic+`","table":"orders","op":"c","snapshot":null,"lsn":9,"tx_id":null,"source_ts_ms":5,"key":3,"before":null,`+
		`"after":{"id":3,"customer_id":41,"status":"paid","channel":"web","currency":"EUR","order_date":"2024-02-23T08:52:14.431487Z","updated_at":"2024-02-23T09:00:00Z"},"unchanged":[]}`+"\n", stdout)

	stdout, stderr, code = runWithStdin("", "inspect", "--kafka", brokers, "--topic", topic, "--partition", "0", "--offset", "1")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, `{"topic":"`+topic+`","tombstone":true,"key":3}`+"\n", stdout)

	_, stderr, code = runWithStdin("", "inspect", "--kafka", brokers, "--topic", topic, "--partition", "0", "--offset", "7")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "ends at offset 2, there is no record at 7")

	_, stderr, code = runWithStdin("", "inspect", "--kafka", brokers, "--topic", topic, "--partition", "3", "--offset", "0")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "has no partition 3")
}
