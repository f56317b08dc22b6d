package actors

import (
	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/drivetrain-cdc/drivetrain/topology"
	"github.com/drivetrain-cdc/drivetrain/topology/debezium"
	"github.com/drivetrain-cdc/drivetrain/topology/step"
)

// decoder turns Kafka records into topology.Changes with the processing
// step's decoder (not safe for concurrent use: one per actor or
// goroutine), and reads keys alone for the readers that need no more.
type decoder struct {
	*step.Decoder
	ch debezium.Change
}

// newDecoder returns a decoder that logs, once per column, a column the
// source table has and drivetrain's table definition lacks: its values
// are ignored (schema evolution upstream). stored, if not nil, tells
// whether a row is in state (debezium.Options.Stored). memo: for a
// decoder that checks many versions of the same rows (debezium.Options.Memo).
func newDecoder(prefix string, maxRecordBytes int, log zerolog.Logger, stored func(topology.Table, int64) bool, memo bool) *decoder {
	return &decoder{Decoder: step.NewDecoder(debezium.Options{
		Memo:           memo,
		Stored:         stored,
		TopicPrefix:    prefix,
		MaxRecordBytes: maxRecordBytes,
		// The join rules read an update's before image only for its
		// unchanged TOAST columns.
		SkipUpdateBefore: true,
		OnUnknownColumn: func(t topology.Table, column string) {
			log.Warn().Str("table", t.String()).Str("column", column).Msg("column unknown to drivetrain: its values are ignored")
		},
	})}
}

// stepRecord returns r as the processing step reads it.
func stepRecord(r *kgo.Record) step.Record {
	return step.Record{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Key: r.Key, Value: r.Value, Timestamp: r.Timestamp}
}

// stepRecords returns records as the processing step reads them, in buf.
func stepRecords(buf []step.Record, records []*kgo.Record) []step.Record {
	buf = buf[:0]
	for _, r := range records {
		buf = append(buf, stepRecord(r))
	}
	return buf
}

// decode decodes r into ch (see step.Decoder.Decode): false, nil for
// records that carry no change, a *step.BadRecord for undecodable ones.
func (d *decoder) decode(r *kgo.Record, detach bool, ch *topology.Change) (bool, error) {
	sr := stepRecord(r)
	return d.Decode(&sr, detach, ch)
}

// check reports why r would go to the dead-letter topic (step.Decoder.Check).
func (d *decoder) check(r *kgo.Record) error {
	sr := stepRecord(r)
	return d.Check(&sr)
}

// keyID returns the id in r's key, decoding nothing else: ok is false
// when the key does not parse.
func (d *decoder) keyID(r *kgo.Record) (int64, bool) {
	if err := d.Debezium().Decode(r.Topic, r.Key, nil, &d.ch); err != nil || d.ch.Kind != debezium.KindTombstone || !d.ch.Key.Valid {
		return 0, false
	}
	return d.ch.Key.V, true
}

// key decodes only what names the row of r: its table and id (from the
// key, so tombstones have one too). ok is false for records without.
func (d *decoder) key(r *kgo.Record) (topology.Table, int64, bool) {
	if err := d.Debezium().Decode(r.Topic, r.Key, r.Value, &d.ch); err != nil {
		return 0, 0, false
	}
	if (d.ch.Kind != debezium.KindChange && d.ch.Kind != debezium.KindTombstone) || !d.ch.Key.Valid {
		return 0, 0, false
	}
	return d.ch.Table, d.ch.Key.V, true
}
