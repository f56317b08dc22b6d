package state

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

func header(deleted bool) (bool, uint64, int64, topology.Position) {
	return deleted, 1<<40 + 7, 1_704_067_200_123, topology.Position{Partition: 5, Offset: 1 << 33}
}

func TestCodecRoundTrip(t *testing.T) {
	var st topology.Stored[topology.Customer]
	st.Deleted, st.LSN, st.SourceTsMs, st.Pos = header(true)
	st.Row = topology.Customer{
		ID: 1, Email: "ana@example.com", FirstName: "Ana", LastName: "García", Phone: topology.Some("+34 600"),
		City: "Madrid", Country: "ES", Segment: "retail", BirthDate: topology.Some(topology.Date(-5)),
		CreatedAt: -1, UpdatedAt: 1 << 50,
	}
	var sv topology.Stored[topology.Vehicle]
	_, sv.LSN, sv.SourceTsMs, sv.Pos = header(false)
	sv.Row = topology.Vehicle{
		ID: -9, VIN: "VSSZZZ6JZ9R000001", Make: "Seat", Model: "Ibiza", ModelYear: 2023, BodyType: "hatchback",
		FuelType: "petrol", Transmission: "manual", Color: topology.Some(""), MileageKm: -1, Condition: "new",
		ListPrice: topology.NewDecimal(1850000, 2), CostPrice: topology.Some(topology.NewDecimal(-1, 2)),
		StockStatus: "sold", Features: topology.Some(`{"seats":5}`), CreatedAt: 3, UpdatedAt: 4,
	}
	var so topology.Stored[topology.Order]
	so.Deleted, so.LSN, so.SourceTsMs, so.Pos = header(true)
	so.Row = topology.Order{ID: 100, CustomerID: 1, Status: "paid", Channel: "web", Currency: "EUR", OrderDate: 10, UpdatedAt: 11}
	var si topology.Stored[topology.OrderItem]
	_, si.LSN, si.SourceTsMs, si.Pos = header(false)
	si.Row = topology.OrderItem{ID: 1000, OrderID: 100, VehicleID: -9, Quantity: 2, UnitPrice: topology.NewDecimal(99, 2), Discount: topology.NewDecimal(0, 0)}
	var sp topology.Stored[topology.Payment]
	_, sp.LSN, sp.SourceTsMs, sp.Pos = header(false)
	sp.Row = topology.Payment{ID: 5, OrderID: 100, Amount: topology.NewDecimal(-1<<62, 2), Method: "cash", Status: "approved", PaidAt: topology.Some(topology.Timestamp(-7)), CreatedAt: 8}

	tests := []struct {
		name   string
		encode func() []byte
		check  func(t *testing.T, b []byte)
	}{
		{"customer", func() []byte { return appendCustomer(nil, &st) }, func(t *testing.T, b []byte) {
			got, err := decodeCustomer(b)
			require.NoError(t, err)
			assert.Equal(t, st, got)
		}},
		{"customer zero", func() []byte { return appendCustomer(nil, &topology.Stored[topology.Customer]{}) }, func(t *testing.T, b []byte) {
			got, err := decodeCustomer(b)
			require.NoError(t, err)
			assert.Equal(t, topology.Stored[topology.Customer]{}, got)
		}},
		{"vehicle", func() []byte { return appendVehicle(nil, &sv) }, func(t *testing.T, b []byte) {
			got, err := decodeVehicle(b)
			require.NoError(t, err)
			// The row keeps whether features is NULL; the text is
			// encoded on its own (appendFeatures).
			want := sv
			want.Row.Features.V = ""
			assert.Equal(t, want, got)
		}},
		{"features", func() []byte { return appendFeatures(nil, sv.Row.Features.V) }, func(t *testing.T, b []byte) {
			got, err := readFeatures(dec{b: b})
			require.NoError(t, err)
			assert.Equal(t, sv.Row.Features.V, got)
			_, err = readFeatures(dec{b: b[1:]})
			assert.ErrorIs(t, err, ErrCorrupt)
		}},
		{"order", func() []byte { return appendOrder(nil, &so) }, func(t *testing.T, b []byte) {
			got, err := decodeOrder(b)
			require.NoError(t, err)
			assert.Equal(t, so, got)
		}},
		{"order with past months", func() []byte {
			moved := so
			moved.PastMonths = []int32{202312, 202403}
			return appendOrder(nil, &moved)
		}, func(t *testing.T, b []byte) {
			got, err := decodeOrder(b)
			require.NoError(t, err)
			assert.Equal(t, []int32{202312, 202403}, got.PastMonths)
			got.PastMonths = nil
			assert.Equal(t, so, got)
			// A value of layout 4 is one without the trailer.
			old, err := decodeOrder(appendOrder(nil, &so))
			require.NoError(t, err)
			assert.Nil(t, old.PastMonths)
			_, err = decodeOrder(append(appendOrder(nil, &so), 0x7f))
			assert.ErrorIs(t, err, ErrCorrupt)
		}},
		{"item", func() []byte { return appendItem(nil, &si) }, func(t *testing.T, b []byte) {
			got, err := decodeItem(b)
			require.NoError(t, err)
			assert.Equal(t, si, got)
		}},
		{"payment", func() []byte { return appendPayment(nil, &sp) }, func(t *testing.T, b []byte) {
			got, err := decodePayment(b)
			require.NoError(t, err)
			assert.Equal(t, sp, got)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.encode()
			tt.check(t, b)
			// The encoding stays compact: no field names, varints.
			assert.Less(t, len(b), 120)
		})
	}
}

func TestCodecRejectsCorruptValues(t *testing.T) {
	good := appendItem(nil, &topology.Stored[topology.OrderItem]{Row: topology.OrderItem{ID: 1, OrderID: 2}})
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"unknown codec version", append([]byte{9}, good[1:]...)},
		{"truncated", good[:len(good)-1]},
		{"trailing bytes", append(append([]byte(nil), good...), 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeItem(tt.in)
			require.ErrorIs(t, err, ErrCorrupt)
		})
	}
	// A payment ends with paid_at (presence byte 1, varint 1 = 0x02) and
	// created_at (varint 0): corrupt the presence byte.
	p := appendPayment(nil, &topology.Stored[topology.Payment]{Row: topology.Payment{PaidAt: topology.Some(topology.Timestamp(1))}})
	require.Equal(t, []byte{1, 2, 0}, p[len(p)-3:])
	p[len(p)-3] = 7
	_, err := decodePayment(p)
	require.ErrorIs(t, err, ErrCorrupt)
}

func TestCodecAllocations(t *testing.T) {
	s := topology.Stored[topology.OrderItem]{Row: topology.OrderItem{ID: 1, OrderID: 2, VehicleID: 3, Quantity: 1}}
	buf := make([]byte, 0, 128)
	allocs := testing.AllocsPerRun(100, func() { buf = appendItem(buf[:0], &s) })
	assert.Zero(t, allocs, "encoding into a reused buffer")
	allocs = testing.AllocsPerRun(100, func() {
		if _, err := decodeItem(buf); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs, "decoding a row without strings")
}

func TestKeysSortLikeIDs(t *testing.T) {
	ids := []int64{-1 << 63, -5, -1, 0, 1, 2, 255, 256, 1 << 40, 1<<63 - 1}
	for i := 1; i < len(ids); i++ {
		a := string(partKey(nil, 3, kindOrder, ids[i-1]))
		b := string(partKey(nil, 3, kindOrder, ids[i]))
		assert.Less(t, a, b, "%d < %d", ids[i-1], ids[i])
		assert.Equal(t, ids[i], readID([]byte(b[6:])))
	}
	// Partition ranges nest: the end of partition 3's range is partition 4's prefix.
	assert.Equal(t, partitionPrefix(nil, 4), prefixEnd(partitionPrefix(nil, 3)))
}
