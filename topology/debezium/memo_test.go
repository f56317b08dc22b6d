package debezium

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

// longFeatures returns the features column of vehicleRow replaced by a
// document of about n bytes, as Debezium writes it (a JSON string),
// with inner as the end of the document.
func longFeatures(n int, inner string) string {
	var doc strings.Builder
	doc.WriteString(`{\"options\": [`)
	for i := 0; doc.Len() < n; i++ {
		if i > 0 {
			doc.WriteString(", ")
		}
		doc.WriteString(`\"option ` + strconv.Itoa(i) + `\"`)
	}
	doc.WriteString(`]` + inner + `}`)
	return `"features":"` + doc.String() + `"`
}

// vehicleWith returns vehicleRow for vehicle id with the features column
// replaced.
func vehicleWith(id int, features string) string {
	row := strings.Replace(vehicleRow, `"id":12`, `"id":`+strconv.Itoa(id), 1)
	i := strings.Index(row, `"features":`)
	j := strings.Index(row, `,"created_at"`)
	return row[:i] + features + row[j:]
}

// TestCheckMemo: Check with a memo passes over a long value it decoded
// before for the same row and column, in the before and the after image,
// and otherwise returns exactly what Decode returns: a document that
// differs, or the same bytes for another row, are decoded again, and a
// bad one is reported.
func TestCheckMemo(t *testing.T) {
	m := defaultMode
	topic := m.topic(topology.TableVehicles)
	good := longFeatures(600, "")
	other := longFeatures(600, `, \"rev\": 2`)
	bad := longFeatures(600, `, \"rev\": }`) // not JSON inside the string
	update := func(id int, before, after string) (key, value []byte) {
		return []byte(m.key(topology.TableVehicles, false, strconv.Itoa(id))),
			[]byte(m.value(topology.TableVehicles, false, m.payload(topology.TableVehicles, "u", vehicleWith(id, before), vehicleWith(id, after))))
	}

	d := NewDecoder(Options{TopicPrefix: "ecommerce", SkipUpdateBefore: true, Memo: true})
	var ch Change
	k, v := update(7, good, good)
	require.NoError(t, d.Decode(topic, k, v, &ch))
	assert.Zero(t, d.memoHits, "Decode remembers, it does not pass over")

	for _, tc := range []struct {
		name          string
		id            int
		before, after string
		hits          int64
	}{
		{"the same document, both images", 7, good, good, 2},
		{"another row", 8, good, good, 0},
		{"a new document in the after image", 7, good, other, 1},
		{"the new document remembered", 7, other, other, 2},
		{"a bad document in the after image", 7, other, bad, 1},
		{"a bad document in the before image", 7, bad, other, 1},
		{"a malformed before image", 7, `"features":"\q"`, other, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, v := update(tc.id, tc.before, tc.after)
			var fresh Change
			want := NewDecoder(Options{TopicPrefix: "ecommerce", SkipUpdateBefore: true}).Decode(topic, k, v, &fresh)
			hits := d.memoHits
			got := d.Check(topic, k, v, &ch)
			assert.Equal(t, want, got)
			assert.Equal(t, tc.hits, d.memoHits-hits, "values passed over")
			if want == nil {
				assert.Equal(t, fresh.After.Vehicle.ID, ch.After.Vehicle.ID)
				assert.Equal(t, fresh.Op, ch.Op)
			}
		})
	}
}

// FuzzCheck: Check, with a memo that knows vehicle 7's document, returns
// what Decode returns, for any value.
//
//	go test -run '^$' -fuzz FuzzCheck -fuzztime 1m ./topology/debezium
func FuzzCheck(f *testing.F) {
	m := defaultMode
	topic := m.topic(topology.TableVehicles)
	good, other := longFeatures(400, ""), longFeatures(400, `, \"rev\": 2`)
	key := []byte(m.key(topology.TableVehicles, false, "7"))
	value := func(op, before, after string) string {
		return m.value(topology.TableVehicles, false, m.payload(topology.TableVehicles, op, before, after))
	}
	primer := []byte(value("u", vehicleWith(7, good), vehicleWith(7, good)))
	for _, v := range []string{
		value("u", vehicleWith(7, good), vehicleWith(7, good)),
		value("u", vehicleWith(7, good), vehicleWith(7, other)),
		value("u", vehicleWith(7, other), vehicleWith(7, good)),
		value("u", vehicleWith(8, good), vehicleWith(8, good)),
		value("d", vehicleWith(7, good), "null"),
		m.value(topology.TableVehicles, true, m.payload(topology.TableVehicles, "u", vehicleWith(7, good), vehicleWith(7, good))),
	} {
		f.Add([]byte(v))
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		var a, b Change
		want := NewDecoder(Options{TopicPrefix: "ecommerce", SkipUpdateBefore: true}).Decode(topic, key, v, &a)
		d := NewDecoder(Options{TopicPrefix: "ecommerce", SkipUpdateBefore: true, Memo: true})
		if err := d.Decode(topic, key, primer, &b); err != nil {
			t.Fatal(err)
		}
		got := d.Check(topic, key, v, &b)
		if (want == nil) != (got == nil) || want != nil && want.Error() != got.Error() {
			t.Fatalf("Decode: %v; Check: %v", want, got)
		}
	})
}
