package actors

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/drivetrain-cdc/drivetrain/actors/actorstest"
	"github.com/drivetrain-cdc/drivetrain/topology"
	"github.com/drivetrain-cdc/drivetrain/topology/step"
	"github.com/drivetrain-cdc/drivetrain/topology/topologytest"
)

// TestDecodeRoundTrip checks the test encoder against the real decoder:
// every change of random histories, encoded as Debezium's JSON converter
// writes it, decodes into the change it was made from — but for the
// before image of an update without unchanged columns, which the
// processor's decoder leaves out (debezium.Options.SkipUpdateBefore).
func TestDecodeRoundTrip(t *testing.T) {
	enc := &actorstest.Encoder{Prefix: "rt"}
	dec := newDecoder("rt", 0, zerolog.Nop(), nil, false)
	for seed := uint64(1); seed <= 5; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		h := topologytest.Generate(rng, topologytest.Config{Transactions: 80, Snapshot: 3})
		for q, recs := range h.Queues {
			for _, r := range recs {
				want := r.Change
				rec := &kgo.Record{
					Topic:     enc.Topic(want.Table),
					Partition: q.Partition,
					Offset:    want.Pos.Offset,
					Key:       enc.Key(want.Table, want.ID()),
					Value:     enc.Value(&want),
				}
				var got topology.Change
				ok, err := dec.decode(rec, true, &got)
				require.NoError(t, err, "seed %d %s offset %d: %s", seed, rec.Topic, rec.Offset, rec.Value)
				require.True(t, ok)
				if want.Op == topology.OpUpdate && want.Unchanged == 0 {
					want.Before = topology.Opt[topology.Row]{}
				}
				assert.Equal(t, want, got, "seed %d %s offset %d", seed, rec.Topic, rec.Offset)
			}
		}
	}
}

// TestDecodeLogsUnknownColumn: a column added upstream (here in a value
// without its schema, as the shipped connector writes them) is ignored and
// logged once per decoder.
func TestDecodeLogsUnknownColumn(t *testing.T) {
	var logs bytes.Buffer
	dec := newDecoder("rt", 0, zerolog.New(&logs), nil, false)
	value := `{"before":null,"after":{"id":7,"order_id":3,"vehicle_id":12,"quantity":2,"unit_price":"D54=","discount":"AA==","gift_wrap":true},` +
		`"source":{"version":"3.6.1.Final","connector":"postgresql","name":"rt","ts_ms":1,"db":"ecommerce","schema":"public","table":"order_items","txId":1,"lsn":10},"op":"c","ts_ms":2}`
	for i := range 3 {
		var ch topology.Change
		ok, err := dec.decode(&kgo.Record{Topic: "rt.public.order_items", Offset: int64(i), Key: []byte(`{"id":7}`), Value: []byte(value)}, false, &ch)
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, int32(2), ch.After.V.Item.Quantity)
	}
	assert.Equal(t, 1, strings.Count(logs.String(), "column unknown to drivetrain"), logs.String())
	assert.Contains(t, logs.String(), `"column":"gift_wrap"`)
	assert.Contains(t, logs.String(), `"table":"order_items"`)
}

func TestDecodeBadRecords(t *testing.T) {
	dec := newDecoder("rt", 0, zerolog.Nop(), nil, false)
	tests := []struct {
		name     string
		rec      kgo.Record
		wantKind string
		wantOK   bool
	}{
		{"malformed json", kgo.Record{Topic: "rt.public.orders", Key: []byte(`{"id":1}`), Value: []byte(`{"op":`)}, "malformed_json", false},
		{"tombstone", kgo.Record{Topic: "rt.public.orders", Key: []byte(`{"id":1}`)}, "", false},
		{"heartbeat", kgo.Record{Topic: "__debezium-heartbeat.rt", Value: []byte(`{}`)}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ch topology.Change
			ok, err := dec.decode(&tt.rec, false, &ch)
			assert.Equal(t, tt.wantOK, ok)
			if tt.wantKind == "" {
				assert.NoError(t, err)
				return
			}
			var bad *step.BadRecord
			require.ErrorAs(t, err, &bad)
			assert.Equal(t, tt.wantKind, bad.Kind)
		})
	}
}

// TestDecodeAllKeepsOrder: a poll decoded in chunks by several decoders
// at once gives what one decoder gives record by record.
func TestDecodeAllKeepsOrder(t *testing.T) {
	enc := &actorstest.Encoder{Prefix: "rt"}
	h := topologytest.Generate(rand.New(rand.NewPCG(3, 9)), topologytest.Config{Transactions: 800, Snapshot: 40})
	var recs []*kgo.Record
	for q, rs := range h.Queues {
		for _, r := range rs {
			ch := r.Change
			recs = append(recs, &kgo.Record{Topic: enc.Topic(ch.Table), Partition: q.Partition, Offset: ch.Pos.Offset, Key: enc.Key(ch.Table, ch.ID()), Value: enc.Value(&ch)})
		}
	}
	recs = append(recs, &kgo.Record{Topic: "rt.public.orders", Value: []byte(`{"op":`)}) // a bad one, last
	require.Greater(t, len(recs), 3*minChunk, "enough records for three chunks")
	one := newDecoder("rt", 0, zerolog.Nop(), nil, false)
	var decs []*decoder
	for range 3 {
		decs = append(decs, newDecoder("rt", 0, zerolog.Nop(), nil, false))
	}
	got := decodeAll(decs, recs)
	require.Len(t, got, len(recs))
	for i, r := range recs {
		var want step.Decoded
		want.OK, want.Err = one.decode(r, true, &want.Change)
		require.Equal(t, want, got[i], "record %d", i)
	}
	assert.Error(t, got[len(got)-1].Err)
	assert.Empty(t, decodeAll(decs, nil))
}
