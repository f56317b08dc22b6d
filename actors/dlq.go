package actors

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kadm"
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
	// HeaderValueTruncated is set (to the value's size in bytes) on a
	// dead letter whose value was cut to fit the dead-letter topic: the
	// value holds its first bytes.
	HeaderValueTruncated = "error.value_truncated_bytes"
)

// dlqMaxMessageBytes is the max.message.bytes of a dead-letter topic the
// node creates.
const dlqMaxMessageBytes = 8 << 20

// dlKey names a source record: a record is dead-lettered once per
// offset, whichever node, replay or restart finds it bad.
type dlKey struct {
	topic     string
	partition int32
	offset    int64
}

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
	env *env
	p   producer
	// sent holds the source records the dead-letter topic already has
	// (read at start, see deadLettered) or that this node sent: they are
	// acknowledged without being written again.
	sent   map[dlKey]struct{}
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
		k := dlKey{m.record.Topic, m.record.Partition, m.record.Offset}
		if _, dup := d.sent[k]; dup && !m.trimmed {
			d.env.root.Send(m.replyTo, &deadLetterWritten{seq: m.seq})
			return
		}
		if d.sent == nil {
			d.sent = map[dlKey]struct{}{}
		}
		d.sent[k] = struct{}{}
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
			// either: keep its key, headers and as much of its value as
			// fits, and say how large it was.
			trimmed := *m.msg
			trimmed.trimmed = true
			d.log.Warn().Int("value_bytes", len(m.msg.record.Value)).Str("source_topic", m.msg.record.Topic).
				Int64("source_offset", m.msg.record.Offset).Msg("dead letter too large: writing it with its value truncated")
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

// maxValue is the most a truncated dead letter's value keeps: the
// topic's max.message.bytes (read at start; the producer's limit is set
// to it), less room for the key, headers and batch overhead.
func (d *dlqActor) maxValue() int {
	if d.env.dlqLimit > 0 {
		return d.env.dlqLimit
	}
	return dlqMaxMessageBytes
}

// truncated returns the first bytes of r's value that fit in limit bytes
// together with its key and headers.
func truncated(r *kgo.Record, limit int) []byte {
	room := limit - len(r.Key) - 1024
	for _, h := range r.Headers {
		room -= len(h.Key) + len(h.Value)
	}
	return r.Value[:max(0, min(room, len(r.Value)))]
}

func (d *dlqActor) produce(m *deadLetter) {
	r := m.record
	value, extra := r.Value, []kgo.RecordHeader(nil)
	if m.trimmed {
		value = truncated(r, d.maxValue())
		extra = append(extra, kgo.RecordHeader{Key: HeaderValueTruncated, Value: []byte(strconv.Itoa(len(r.Value)))})
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

// deadLettered reads the dead-letter topic up to its end offsets and
// returns the source records it holds (by their source.* headers): the
// dead-letter actor does not write them again, so that a bad record is
// dead-lettered once whichever node, restart or replay (with another
// group) reads it again. The topic holds bad records only, so this is
// small; a node logs how many it found.
func deadLettered(ctx context.Context, e *env, adm *kadm.Client) (map[dlKey]struct{}, error) {
	topic := e.cfg.DLQTopic
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err == nil {
		err = starts.Error()
	}
	var ends kadm.ListedOffsets
	if err == nil {
		ends, err = adm.ListEndOffsets(ctx, topic)
	}
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("listing the offsets of the dead-letter topic %s: %w", topic, err)
	}
	from := map[int32]kgo.Offset{}
	pending := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if s, ok := starts.Lookup(topic, o.Partition); ok && s.Offset < o.Offset {
			from[o.Partition] = kgo.NewOffset().At(s.Offset)
			pending[o.Partition] = o.Offset
		}
	})
	sent := map[dlKey]struct{}{}
	if len(pending) == 0 {
		return sent, nil
	}
	cl, err := kgo.NewClient(append(e.kafkaOpts(e.cfg.NodeID+"-dlq-reader"),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: from}))...)
	if err != nil {
		return nil, fmt.Errorf("reading the dead-letter topic %s: %w", topic, err)
	}
	defer cl.Close()
	for len(pending) > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		fs.EachError(func(_ string, p int32, err error) {
			e.log.Warn().Err(err).Int32("partition", p).Msg("reading the dead-letter topic")
		})
		fs.EachRecord(func(r *kgo.Record) {
			end, ok := pending[r.Partition]
			if !ok {
				return
			}
			if k, ok := sourceOf(r); ok {
				sent[k] = struct{}{}
			}
			if r.Offset+1 >= end {
				delete(pending, r.Partition)
			}
		})
	}
	e.log.Info().Int("records", len(sent)).Msg("dead-letter topic read: its records are not dead-lettered again")
	return sent, nil
}

// sourceOf returns the source record a dead letter names in its headers.
func sourceOf(r *kgo.Record) (dlKey, bool) {
	var k dlKey
	var okTopic, okPart, okOff bool
	for _, h := range r.Headers {
		switch h.Key {
		case HeaderSourceTopic:
			k.topic, okTopic = string(h.Value), true
		case HeaderSourcePartition:
			p, err := strconv.ParseInt(string(h.Value), 10, 32)
			k.partition, okPart = int32(p), err == nil
		case HeaderSourceOffset:
			o, err := strconv.ParseInt(string(h.Value), 10, 64)
			k.offset, okOff = o, err == nil
		}
	}
	return k, okTopic && okPart && okOff
}
