package actorstest

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/drivetrain-cdc/drivetrain/topology"
	"github.com/drivetrain-cdc/drivetrain/topology/topologytest"
)

// CreateTopics creates the five source topics under prefix: the
// order-stream topics with orderPartitions partitions, customers and
// vehicles with globalPartitions.
func CreateTopics(ctx context.Context, cl *kgo.Client, prefix string, orderPartitions, globalPartitions int32) error {
	adm := kadm.NewClient(cl)
	e := Encoder{Prefix: prefix}
	for _, t := range topology.Tables {
		n := orderPartitions
		if t.Global() {
			n = globalPartitions
		}
		resp, err := adm.CreateTopic(ctx, n, 1, map[string]*string{"cleanup.policy": ptr("compact")}, e.Topic(t))
		if err == nil {
			err = resp.Err
		}
		if err != nil {
			return fmt.Errorf("creating %s: %w", e.Topic(t), err)
		}
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

// Producer writes generated records into Kafka as Debezium would: the
// change event in the JSON converter's shape, into the partition the
// generator chose, and, when Tombstones is set, a tombstone after each
// delete (as Debezium's tombstones.on.delete does). It remembers where
// each record landed. Not safe for concurrent use.
type Producer struct {
	Client     *kgo.Client // created with kgo.RecordPartitioner(kgo.ManualPartitioner())
	Enc        *Encoder
	Tombstones bool
	// Timestamp, when set, is every record's timestamp (CreateTime), as
	// if the records had been written then; zero: the time of producing.
	Timestamp time.Time

	// Written lists the change records written, with their offsets.
	Written []Written
}

// Written is a change record as it landed in Kafka.
type Written struct {
	Topic     string
	Partition int32
	Offset    int64
	Change    topology.Change
}

// Produce writes recs in order and waits for the brokers to have them.
func (p *Producer) Produce(ctx context.Context, recs []topologytest.Record) error {
	var out []*kgo.Record
	var changes []int // index in recs of each change record of out
	for i := range recs {
		ch := &recs[i].Change
		topic := p.Enc.Topic(ch.Table)
		key := p.Enc.Key(ch.Table, ch.ID())
		out = append(out, &kgo.Record{Topic: topic, Partition: ch.Pos.Partition, Key: key, Value: p.Enc.Value(ch), Timestamp: p.Timestamp})
		changes = append(changes, i)
		if p.Tombstones && ch.Op == topology.OpDelete {
			out = append(out, &kgo.Record{Topic: topic, Partition: ch.Pos.Partition, Key: key, Timestamp: p.Timestamp})
			changes = append(changes, -1)
		}
	}
	if len(out) == 0 {
		return nil
	}
	if err := p.Client.ProduceSync(ctx, out...).FirstErr(); err != nil {
		return fmt.Errorf("producing %d records: %w", len(out), err)
	}
	for j, r := range out {
		if i := changes[j]; i >= 0 {
			p.Written = append(p.Written, Written{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Change: recs[i].Change})
		}
	}
	return nil
}

// ProduceRaw writes records as they are (bad records, for example).
func (p *Producer) ProduceRaw(ctx context.Context, recs ...*kgo.Record) error {
	if err := p.Client.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return fmt.Errorf("producing %d records: %w", len(recs), err)
	}
	return nil
}
