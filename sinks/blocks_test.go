package sinks

import (
	"bytes"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go/proto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

// decoded is a block decoded by ch-go's own decoders: per column, its
// type and its values as the column's Row method returns them.
type decoded struct {
	names  []string
	types  map[string]string
	values map[string][]any
	rows   int
}

func decodeBlock(t *testing.T, b []byte) decoded {
	t.Helper()
	r := proto.NewReader(bytes.NewReader(b))
	ncols, err := r.Int()
	require.NoError(t, err)
	rows, err := r.Int()
	require.NoError(t, err)
	out := decoded{types: map[string]string{}, values: map[string][]any{}, rows: rows}
	for i := 0; i < ncols; i++ {
		name, err := r.Str()
		require.NoError(t, err)
		typ, err := r.Str()
		require.NoError(t, err)
		var col proto.ColAuto
		require.NoError(t, col.Infer(proto.ColumnType(typ)), "column %s", name)
		if rows > 0 {
			require.NoError(t, col.DecodeColumn(r, rows), "column %s", name)
		}
		out.names = append(out.names, name)
		out.types[name] = typ
		row := reflect.ValueOf(col.Data).MethodByName("Row")
		require.True(t, row.IsValid(), "column %s (%T) has no Row method", name, col.Data)
		for j := 0; j < rows; j++ {
			out.values[name] = append(out.values[name], row.Call([]reflect.Value{reflect.ValueOf(j)})[0].Interface())
		}
	}
	_, err = r.ReadByte()
	require.Error(t, err, "bytes left after the block")
	return out
}

func encode(t *testing.T, input proto.Input) []byte {
	t.Helper()
	var buf proto.Buffer
	require.NoError(t, encodeNative(&buf, input))
	return buf.Buf
}

func utc(s string) time.Time {
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return ts.UTC()
}

func tsOf(s string) topology.Timestamp { return topology.TimestampOf(utc(s)) }

func money(cents int64) topology.Decimal { return topology.NewDecimal(cents, 2) }

func sampleFacts() []topology.Fact {
	return []topology.Fact{
		{
			OrderItemID: 101, OrderID: 7, OrderDate: tsOf("2024-03-05T10:11:12.999999Z"),
			OrderStatus: "paid", Channel: "web", Currency: "EUR",
			CustomerID: 3, CustomerName: "Zoë Ångström", CustomerEmail: "zoe@example.com",
			CustomerCity: "Málaga", CustomerRegion: "Andalucía", CustomerCountry: "ES", CustomerSegment: "retail",
			VehicleID: 9, VIN: "WVWZZZ1JZXW000001", Make: "Škoda", Model: "Octavia", ModelYear: 2021,
			BodyType: "sedan", FuelType: "diesel", Condition: "used", ListPrice: money(1999900),
			Quantity: 2, UnitPrice: money(1899950), Discount: money(-1), LineTotal: money(3799901),
			OrderTotal: money(999999999999999999), OrderPaid: money(-5), PaymentStatus: "partial",
			UpdatedAt: tsOf("2024-03-05T10:11:13Z"), Version: math.MaxUint64, Deleted: true,
		},
		{
			// Left-join zeros, a timestamp before 1970 (clamped to 0), a
			// price given at scale 1 and one at scale 3 (rounded).
			OrderItemID: -1, OrderDate: topology.Timestamp(-1), UpdatedAt: topology.Timestamp(1 << 62),
			ListPrice: topology.NewDecimal(15, 1), UnitPrice: topology.NewDecimal(-1005, 3),
			CustomerName: "tab\there\nnewline 'quote' \\ 日本", Version: 1,
		},
	}
}

func TestFactBlockRoundTrip(t *testing.T) {
	b := newFactBlock()
	// Fill, reset and fill again: reuse must not leak rows.
	for _, f := range sampleFacts() {
		b.append(&f)
	}
	b.reset()
	facts := sampleFacts()
	for i := range facts {
		b.append(&facts[i])
	}
	require.Equal(t, 2, b.rows())
	got := decodeBlock(t, encode(t, b.input))

	assert.Equal(t, topology.FactColumns, got.names)
	for _, c := range factColumns {
		assert.Equal(t, c.Type, got.types[c.Name], "type of %s", c.Name)
	}
	want := map[string][]any{
		"order_item_id":    {int64(101), int64(-1)},
		"order_id":         {int64(7), int64(0)},
		"order_date":       {utc("2024-03-05T10:11:12Z"), time.Unix(0, 0).UTC()},
		"order_status":     {"paid", ""},
		"customer_name":    {"Zoë Ångström", "tab\there\nnewline 'quote' \\ 日本"},
		"customer_region":  {"Andalucía", ""},
		"make":             {"Škoda", ""},
		"model_year":       {int16(2021), int16(0)},
		"list_price":       {proto.Decimal64(1999900), proto.Decimal64(150)},
		"quantity":         {int32(2), int32(0)},
		"unit_price":       {proto.Decimal64(1899950), proto.Decimal64(-101)},
		"discount":         {proto.Decimal64(-1), proto.Decimal64(0)},
		"line_total":       {proto.Decimal64(3799901), proto.Decimal64(0)},
		"order_total":      {proto.Decimal64(999999999999999999), proto.Decimal64(0)},
		"order_paid":       {proto.Decimal64(-5), proto.Decimal64(0)},
		"payment_status":   {"partial", ""},
		"updated_at":       {utc("2024-03-05T10:11:13Z"), time.Unix(math.MaxUint32, 0).UTC()},
		"_version":         {uint64(math.MaxUint64), uint64(1)},
		"_deleted":         {uint8(1), uint8(0)},
		"customer_country": {"ES", ""},
		"vin":              {"WVWZZZ1JZXW000001", ""},
	}
	for name, vals := range want {
		assert.Equal(t, vals, got.values[name], "column %s", name)
	}
}

func sampleMirrors() []topology.Mirror {
	return []topology.Mirror{
		{Row: topology.CustomerRow(topology.Customer{
			ID: 1, Email: "ana@example.com", FirstName: "Ana", LastName: "Núñez",
			Phone: topology.Some("+34 600"), City: "Sevilla", Country: "ES", Segment: "retail",
			BirthDate: topology.Some(topology.Date(-7000)), // 1950-11-02
			CreatedAt: tsOf("2023-01-02T03:04:05.123456Z"), UpdatedAt: tsOf("1969-12-31T23:59:59.5Z"),
		}), Version: 42},
		{Row: topology.CustomerRow(topology.Customer{ID: 2, BirthDate: topology.Some(topology.Date(19000))}), Version: 43, Deleted: true},
		{Row: topology.CustomerRow(topology.Customer{ID: 3}), Version: 44},
	}
}

func TestMirrorBlockRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		l    layout
		want map[string][]any
	}{
		{
			name: "modern",
			l:    modernLayout,
			want: map[string][]any{
				"birth_date": {
					proto.Nullable[time.Time]{Set: true, Value: utc("1950-11-02T00:00:00Z")},
					proto.Nullable[time.Time]{Set: true, Value: utc("2022-01-08T00:00:00Z")},
					proto.Nullable[time.Time]{Value: time.Unix(0, 0).UTC()},
				},
				"created_at": {utc("2023-01-02T03:04:05.123456Z"), time.Unix(0, 0).UTC(), time.Unix(0, 0).UTC()},
				"updated_at": {utc("1969-12-31T23:59:59.5Z"), time.Unix(0, 0).UTC(), time.Unix(0, 0).UTC()},
			},
		},
		{
			name: "legacy",
			l:    legacyLayout,
			want: map[string][]any{
				"birth_date": {
					proto.Nullable[string]{Set: true, Value: "1950-11-02"},
					proto.Nullable[string]{Set: true, Value: "2022-01-08"},
					proto.Nullable[string]{},
				},
				"created_at": {utc("2023-01-02T03:04:05Z"), time.Unix(0, 0).UTC(), time.Unix(0, 0).UTC()},
				"updated_at": {time.Unix(0, 0).UTC(), time.Unix(0, 0).UTC(), time.Unix(0, 0).UTC()},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newMirrorBlock(topology.TableCustomers, tt.l)
			rows := sampleMirrors()
			for i := range rows {
				b.append(&rows[i])
			}
			got := decodeBlock(t, encode(t, b.input))
			cols := mirrorColumns(topology.TableCustomers, tt.l)
			require.Len(t, got.names, len(cols))
			for i, c := range cols {
				assert.Equal(t, c.Name, got.names[i])
				assert.Equal(t, normType(c.Type), normType(got.types[c.Name]), "type of %s", c.Name)
			}
			common := map[string][]any{
				"id":        {int64(1), int64(2), int64(3)},
				"last_name": {"Núñez", "", ""},
				"phone":     {proto.Nullable[string]{Set: true, Value: "+34 600"}, proto.Nullable[string]{}, proto.Nullable[string]{}},
				"region":    {proto.Nullable[string]{}, proto.Nullable[string]{}, proto.Nullable[string]{}},
				"_version":  {uint64(42), uint64(43), uint64(44)},
				"_deleted":  {uint8(0), uint8(1), uint8(0)},
			}
			for name, vals := range common {
				assert.Equal(t, vals, got.values[name], "column %s", name)
			}
			for name, vals := range tt.want {
				assert.Equal(t, vals, got.values[name], "column %s", name)
			}
		})
	}
}

// TestMirrorBlocksAllTables encodes a row of every table in both layouts
// and checks the block's columns against the table's DDL, and a few
// values.
func TestMirrorBlocksAllTables(t *testing.T) {
	rows := map[topology.Table]topology.Mirror{
		topology.TableCustomers: sampleMirrors()[0],
		topology.TableVehicles: {Row: topology.VehicleRow(topology.Vehicle{
			ID: 5, VIN: "VIN", ModelYear: -1, MileageKm: 123456, ListPrice: money(-99),
			CostPrice: topology.Some(money(12345)), Features: topology.Some(`{"sunroof": true, "name": "Ünïcode"}`),
			CreatedAt: tsOf("2020-01-01T00:00:00.000001Z"),
		}), Version: 1},
		topology.TableOrders: {Row: topology.OrderRow(topology.Order{
			ID: 6, CustomerID: 1, Currency: "EUR", OrderDate: tsOf("2024-02-29T12:00:00Z"),
		}), Version: 2},
		topology.TableOrderItems: {Row: topology.ItemRow(topology.OrderItem{
			ID: 7, OrderID: 6, VehicleID: 5, Quantity: 3, UnitPrice: money(100), Discount: money(0),
		}), Version: 3},
		topology.TablePayments: {Row: topology.PaymentRow(topology.Payment{
			ID: 8, OrderID: 6, Amount: money(-300), Method: "cash", Status: "refunded",
			PaidAt: topology.Some(tsOf("2024-03-01T00:00:00.25Z")),
		}), Version: 4, Deleted: true},
	}
	for _, l := range []layout{modernLayout, legacyLayout, {micros: true}} {
		for _, tb := range topology.Tables {
			b := newMirrorBlock(tb, l)
			m := rows[tb]
			b.append(&m)
			got := decodeBlock(t, encode(t, b.input))
			cols := mirrorColumns(tb, l)
			require.Len(t, got.names, len(cols), "%s", tb)
			for i, c := range cols {
				assert.Equal(t, c.Name, got.names[i], "%s", tb)
				assert.Equal(t, normType(c.Type), normType(got.types[c.Name]), "%s.%s", tb, c.Name)
			}
			assert.Equal(t, []any{m.Row.ID()}, got.values["id"], "%s", tb)
			assert.Equal(t, []any{m.Version}, got.values["_version"], "%s", tb)
		}
	}
	b := newMirrorBlock(topology.TableVehicles, modernLayout)
	m := rows[topology.TableVehicles]
	b.append(&m)
	got := decodeBlock(t, encode(t, b.input))
	assert.Equal(t, []any{proto.Nullable[proto.Decimal64]{Set: true, Value: 12345}}, got.values["cost_price"])
	assert.Equal(t, []any{proto.Decimal64(-99)}, got.values["list_price"])
	assert.Equal(t, []any{proto.Nullable[string]{Set: true, Value: `{"sunroof": true, "name": "Ünïcode"}`}}, got.values["features"])
	assert.Equal(t, []any{int16(-1)}, got.values["model_year"])
	assert.Equal(t, []any{utc("2020-01-01T00:00:00.000001Z")}, got.values["created_at"])

	b = newMirrorBlock(topology.TablePayments, legacyLayout)
	m = rows[topology.TablePayments]
	b.append(&m)
	got = decodeBlock(t, encode(t, b.input))
	assert.Equal(t, []any{proto.Nullable[time.Time]{Set: true, Value: utc("2024-03-01T00:00:00Z")}}, got.values["paid_at"])
}

func TestEmptyBlockEncodes(t *testing.T) {
	b := newFactBlock()
	got := decodeBlock(t, encode(t, b.input))
	assert.Equal(t, 0, got.rows)
}

func TestAppendDate(t *testing.T) {
	for days := int64(-800000); days <= 800000; days += 997 {
		want := time.Unix(days*86400, 0).UTC().Format("2006-01-02")
		if days*86400 < -62135596800 { // before year 1: Go's format differs
			continue
		}
		assert.Equal(t, want, string(appendDate(nil, topology.Date(days))), "day %d", days)
	}
	assert.Equal(t, "1970-01-01", string(appendDate(nil, 0)))
	assert.Equal(t, "1969-12-31", string(appendDate(nil, -1)))
	assert.Equal(t, "2000-02-29", string(appendDate(nil, 11016)))
}

func TestSeconds(t *testing.T) {
	tests := []struct {
		in   topology.Timestamp
		want proto.DateTime
	}{
		{0, 0},
		{999_999, 0},
		{1_000_000, 1},
		{-1, 0},
		{-1_000_000_000, 0},
		{topology.Timestamp(int64(math.MaxUint32) * 1e6), math.MaxUint32},
		{topology.Timestamp(math.MaxInt64), math.MaxUint32},
		{tsOf("2024-03-05T10:11:12.999999Z"), proto.DateTime(utc("2024-03-05T10:11:12Z").Unix())},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, seconds(tt.in), "seconds(%d)", tt.in)
	}
}

func TestSizes(t *testing.T) {
	for _, f := range sampleFacts() {
		b := newFactBlock()
		b.append(&f)
		n := len(encode(t, b.input))
		// The estimate leaves out the block header (names and types).
		assert.InDelta(t, n-headerBytes(b.input), FactSize(&f), 1, "fact %d", f.OrderItemID)
	}
	for _, m := range sampleMirrors() {
		b := newMirrorBlock(topology.TableCustomers, modernLayout)
		b.append(&m)
		n := len(encode(t, b.input)) - headerBytes(b.input)
		assert.InDelta(t, n, MirrorSize(&m), 16, "customer %d", m.Row.ID())
	}
}

func headerBytes(in proto.Input) int {
	var b proto.Buffer
	b.PutInt(len(in))
	b.PutInt(in[0].Data.Rows())
	for _, c := range in {
		b.PutString(c.Name)
		b.PutString(string(c.Data.Type()))
	}
	return len(b.Buf)
}
