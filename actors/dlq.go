package actors

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The headers of a dead letter (besides the original record's, which it
// keeps).
const (
	HeaderErrorKind       = "error.kind"
	HeaderErrorDetail     = "error.detail"
	HeaderSourceTopic     = "source.topic"
	HeaderSourcePartition = "source.partition"
	HeaderSourceOffset    = "source.offset"
	// HeaderValueOmitted is set (to the value's size in bytes) on a dead
	// letter written without its value because it was too large for the
	// dead-letter topic.
	HeaderValueOmitted = "error.value_omitted_bytes"
)

// producer is the part of a Kafka client the dead-letter actor uses.
type producer interface {
	TryProduce(ctx context.Context, r *kgo.Record, promise func(*kgo.Record, error))
}

// dlqActor writes bad records to the dead-letter topic with the original
// key, value and headers plus headers saying why and where they came
// from, counts them per kind and logs the first of each kind. The
// producer's promise reports back to the actor (never blocking
// Receive); the actor then acknowledges the dead letter to its sender,
// whose offset may then be committed. A record the producer cannot
// write (after the client's own retries) stops the node: dropping it
// would lose it silently.
type dlqActor struct {
	env    *env
	p      producer
	log    zerolog.Logger
	self   *actor.PID
	logged map[string]bool
	ctx    context.Context
	cancel context.CancelFunc
}

// Receive implements actor.Actor.
func (d *dlqActor) Receive(c actor.Context) {
	switch m := c.Message().(type) {
	case *actor.Started:
		d.self = c.Self()
		d.log = d.env.log.With().Str("component", "dlq").Str("topic", d.env.cfg.DLQTopic).Logger()
		d.logged = map[string]bool{}
		d.ctx, d.cancel = context.WithCancel(context.Background())
	case *deadLetter:
		d.env.metrics.deadLetter(m.kind)
		if !d.logged[m.kind] {
			d.logged[m.kind] = true
			d.log.Warn().Str("kind", m.kind).Str("detail", m.detail).Str("source_topic", m.record.Topic).
				Int32("source_partition", m.record.Partition).Int64("source_offset", m.record.Offset).
				Msg("bad record sent to the dead-letter topic (logged once per kind; see the drivetrain_dead_letters counter)")
		}
		d.produce(m)
	case *deadLetterProduced:
		switch {
		case m.err == nil:
			d.env.root.Send(m.msg.replyTo, &deadLetterWritten{seq: m.msg.seq})
		case errors.Is(m.err, kerr.MessageTooLarge) && !m.msg.trimmed:
			// An oversized record does not fit the dead-letter topic
			// either: keep its key and headers, say what was dropped.
			trimmed := *m.msg
			trimmed.trimmed = true
			d.log.Warn().Int("value_bytes", len(m.msg.record.Value)).Str("source_topic", m.msg.record.Topic).
				Int64("source_offset", m.msg.record.Offset).Msg("dead letter too large: writing it without its value")
			d.produce(&trimmed)
		case errors.Is(m.err, kgo.ErrMaxBuffered):
			msg, root, self := m.msg, d.env.root, d.self
			time.AfterFunc(50*time.Millisecond, func() { root.Send(self, msg) })
		case d.ctx.Err() != nil:
		default:
			r := m.msg.record
			d.env.fail(fmt.Errorf("%w: %s (record %s partition %d offset %d): %w",
				ErrDeadLetter, d.env.cfg.DLQTopic, r.Topic, r.Partition, r.Offset, m.err))
		}
	case *actor.Stopping:
		d.cancel()
	}
}

func (d *dlqActor) produce(m *deadLetter) {
	r := m.record
	value, extra := r.Value, []kgo.RecordHeader(nil)
	if m.trimmed {
		value = nil
		extra = append(extra, kgo.RecordHeader{Key: HeaderValueOmitted, Value: []byte(strconv.Itoa(len(r.Value)))})
	}
	out := &kgo.Record{
		Topic: d.env.cfg.DLQTopic,
		Key:   r.Key,
		Value: value,
		Headers: append(append([]kgo.RecordHeader(nil), r.Headers...),
			kgo.RecordHeader{Key: HeaderErrorKind, Value: []byte(m.kind)},
			kgo.RecordHeader{Key: HeaderErrorDetail, Value: []byte(m.detail)},
			kgo.RecordHeader{Key: HeaderSourceTopic, Value: []byte(r.Topic)},
			kgo.RecordHeader{Key: HeaderSourcePartition, Value: []byte(strconv.FormatInt(int64(r.Partition), 10))},
			kgo.RecordHeader{Key: HeaderSourceOffset, Value: []byte(strconv.FormatInt(r.Offset, 10))},
		),
	}
	out.Headers = append(out.Headers, extra...)
	root, self := d.env.root, d.self
	d.p.TryProduce(d.ctx, out, func(_ *kgo.Record, err error) {
		root.Send(self, &deadLetterProduced{msg: m, err: err})
	})
}
