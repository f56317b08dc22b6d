package actors

import (
	"errors"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/drivetrain-cdc/drivetrain/topology"
	"github.com/drivetrain-cdc/drivetrain/topology/debezium"
)

// decoder turns Kafka records into topology.Changes. It wraps the
// Debezium decoder (not safe for concurrent use: one per actor) so that
// changes to its API stay in this file.
type decoder struct {
	d  *debezium.Decoder
	ch debezium.Change
}

// newDecoder returns a decoder that logs, once per column, a column the
// source table has and drivetrain's table definition lacks: its values
// are ignored (schema evolution upstream). stored, if not nil, tells
// whether a row is in state (debezium.Options.Stored). memo: for a
// decoder that checks many versions of the same rows (debezium.Options.Memo).
func newDecoder(prefix string, maxRecordBytes int, log zerolog.Logger, stored func(topology.Table, int64) bool, memo bool) *decoder {
	return &decoder{d: debezium.NewDecoder(debezium.Options{
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

// badRecord is why a record goes to the dead-letter topic.
type badRecord struct {
	kind   string // stable: a debezium.ErrorKind name, or invalid_change
	detail string
}

func (b *badRecord) Error() string { return b.kind + ": " + b.detail }

// kindInvalidChange is the dead-letter kind of a decoded change that the
// join rules reject (topology.ErrInvalidChange).
const kindInvalidChange = "invalid_change"

// decode decodes r into ch. It returns false, nil for records that carry
// no change (tombstones, heartbeats, transaction and message topics),
// and a *badRecord for records that cannot be decoded. With detach, the
// strings of ch own their memory (rows that leave the actor need that);
// otherwise they are valid until the next call.
func (d *decoder) decode(r *kgo.Record, detach bool, ch *topology.Change) (bool, error) {
	return d.decodeWith(d.d.Decode, r, detach, ch)
}

// decodeWith is decode with Decoder.Decode or Decoder.Check.
func (d *decoder) decodeWith(decode func(string, []byte, []byte, *debezium.Change) error, r *kgo.Record, detach bool, ch *topology.Change) (bool, error) {
	if err := decode(r.Topic, r.Key, r.Value, &d.ch); err != nil {
		var e *debezium.Error
		if errors.As(err, &e) {
			detail := e.Detail
			if e.Path != "" {
				detail = e.Path + ": " + detail
			}
			return false, &badRecord{kind: e.Kind.String(), detail: detail}
		}
		return false, &badRecord{kind: "decode_error", detail: err.Error()}
	}
	if d.ch.Kind != debezium.KindChange {
		return false, nil
	}
	if detach {
		d.ch.Detach()
	}
	d.ch.ToTopology(topology.Position{Partition: r.Partition, Offset: r.Offset}, ch)
	return true, nil
}

// check reports why r would go to the dead-letter topic, as decode and
// the join rules would (nil for a good record or one without a change),
// without keeping its change.
func (d *decoder) check(r *kgo.Record) error {
	var ch topology.Change
	ok, err := d.decodeWith(d.d.Check, r, false, &ch)
	if err != nil || !ok {
		return err
	}
	if err := ch.Validate(); err != nil {
		return &badRecord{kind: kindInvalidChange, detail: err.Error()}
	}
	return nil
}

// keyID returns the id in r's key, decoding nothing else: ok is false
// when the key does not parse.
func (d *decoder) keyID(r *kgo.Record) (int64, bool) {
	if err := d.d.Decode(r.Topic, r.Key, nil, &d.ch); err != nil || d.ch.Kind != debezium.KindTombstone || !d.ch.Key.Valid {
		return 0, false
	}
	return d.ch.Key.V, true
}

// key decodes only what names the row of r: its table and id (from the
// key, so tombstones have one too). ok is false for records without.
func (d *decoder) key(r *kgo.Record) (topology.Table, int64, bool) {
	if err := d.d.Decode(r.Topic, r.Key, r.Value, &d.ch); err != nil {
		return 0, 0, false
	}
	if (d.ch.Kind != debezium.KindChange && d.ch.Kind != debezium.KindTombstone) || !d.ch.Key.Valid {
		return 0, 0, false
	}
	return d.ch.Table, d.ch.Key.V, true
}
