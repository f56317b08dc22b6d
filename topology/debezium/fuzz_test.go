package debezium

import (
	"encoding/json"
	"runtime/metrics"
	"testing"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

// fuzzTopics are the topics FuzzDecode picks from: every table with and
// without a schema, the skipped kinds, and an unknown table.
var fuzzTopics = []string{
	"ecommerce.public.customers", "ecommerce.public.vehicles", "ecommerce.public.orders",
	"ecommerce.public.order_items", "ecommerce.public.payments",
	"__debezium-heartbeat.ecommerce", "ecommerce.transaction", "ecommerce.message", "ecommerce.public.other",
}

func fuzzTopicIndex(topic string) uint8 {
	for i, t := range fuzzTopics {
		if t == topic {
			return uint8(i)
		}
	}
	table := topology.TableNamed(topic[lastDot(topic)+1:])
	for i, t := range fuzzTopics {
		if t == "ecommerce.public."+table.String() {
			return uint8(i)
		}
	}
	return 0
}

func lastDot(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '.' {
			return i
		}
	}
	return -1
}

// FuzzDecode checks that Decode never panics, returns either a change or a
// classified *Error, renders every change as valid JSON, and allocates no
// more than a small multiple of its input.
//
//	go test -run '^$' -fuzz FuzzDecode -fuzztime 3m -fuzzminimizetime 5s ./topology/debezium
func FuzzDecode(f *testing.F) {
	for _, fx := range loadFixtures(f) {
		f.Add(fuzzTopicIndex(fx.topic), fx.key, fx.value)
	}
	m := defaultMode
	for i, row := range []string{customerRow, vehicleRow, orderRow, orderItemRow, paymentRow} {
		t := topology.Tables[i]
		f.Add(uint8(i), []byte(m.key(t, true, "1")), []byte(m.value(t, true, m.payload(t, "u", row, row))))
		f.Add(uint8(i), []byte(m.key(t, false, "1")), []byte(m.value(t, false, m.payload(t, "d", row, "null"))))
	}
	f.Add(uint8(3), []byte(`{"id":1}`), []byte(`{"schema":null,"payload":null}`))
	f.Add(uint8(3), []byte(nil), []byte(`{"after":{"unit_price":{"scale":2,"value":"D54="}},"source":{"ts_ms":1},"op":"c"}`))

	sample := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	allocated := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	f.Fuzz(func(t *testing.T, topicIndex uint8, key, value []byte) {
		topic := fuzzTopics[int(topicIndex)%len(fuzzTopics)]
		run := func() uint64 {
			before := allocated()
			d := NewDecoder(Options{})
			var ch Change
			for range 2 { // the second time through the schema cache
				err := d.Decode(topic, key, value, &ch)
				if err != nil {
					e, ok := err.(*Error)
					if !ok || e.Kind == 0 || e.Kind.String() == "" || e.Detail == "" {
						t.Fatalf("unclassified error %#v", err)
					}
					continue
				}
				if ch.Kind == 0 {
					t.Fatal("no error and no kind")
				}
				if out := ch.AppendJSON(nil); !json.Valid(out) {
					t.Fatalf("rendering is not JSON: %s", out)
				}
			}
			return allocated() - before
		}
		// The schema is parsed with encoding/json (maps, slices) when it
		// changes, and NewDecoder costs about 10 kB; everything else stays
		// within the input's size. The counter is process-wide, so an
		// excess is confirmed by re-running before it fails the input.
		limit := uint64(64*(len(key)+len(value)) + 64<<10)
		used := run()
		for i := 0; i < 3 && used > limit; i++ {
			used = min(used, run())
		}
		if used > limit {
			t.Fatalf("decoding %d bytes allocated %d bytes (limit %d)", len(key)+len(value), used, limit)
		}
	})
}
