package topology

// ColumnType is the PostgreSQL type of a source column, as far as decoding
// needs it (docs/design.md, Source data model).
type ColumnType uint8

// The column types of the five source tables.
const (
	TypeUnknown     ColumnType = iota
	TypeSmallint               // SMALLINT → int16
	TypeInteger                // INTEGER → int32
	TypeBigint                 // BIGINT, BIGSERIAL → int64
	TypeText                   // TEXT, CHAR(n) → string
	TypeNumeric                // NUMERIC(p,s) → Decimal
	TypeDate                   // DATE → Date
	TypeTimestamptz            // TIMESTAMPTZ → Timestamp
	TypeJSONB                  // JSONB → JSON text in a string
)

var columnTypeNames = [...]string{"unknown", "smallint", "integer", "bigint", "text", "numeric", "date", "timestamptz", "jsonb"}

// String returns the PostgreSQL name of the type ("timestamptz").
func (t ColumnType) String() string {
	if int(t) < len(columnTypeNames) {
		return columnTypeNames[t]
	}
	return "unknown(" + itoa(int64(t)) + ")"
}

// Column describes one column of a source table.
type Column struct {
	Name      string
	Type      ColumnType
	Nullable  bool
	Precision int32 // NUMERIC precision; CHAR(n) length; 0 otherwise
	Scale     int32 // NUMERIC scale
}

// ColumnSet is a set of columns of one table, bit i standing for column i
// of Table.Columns. Every table has fewer than 64 columns.
type ColumnSet uint64

// Has reports whether column i is in s.
func (s ColumnSet) Has(i int) bool { return i >= 0 && i < 64 && s&(1<<uint(i)) != 0 }

// With returns s plus column i.
func (s ColumnSet) With(i int) ColumnSet { return s | 1<<uint(i) }

// Columns returns the columns of t in table order: the order of the
// fields of the table's row type (Customer, Vehicle …) and of the
// CREATE TABLE in deploy/postgres/schema.sql. The slice is shared; do not
// modify it. It is nil for TableUnknown.
func (t Table) Columns() []Column {
	if int(t) < len(tableColumns) {
		return tableColumns[t]
	}
	return nil
}

// ColumnIndex returns the index of the column named name in t.Columns, or
// -1.
func (t Table) ColumnIndex(name string) int {
	for i, c := range t.Columns() {
		if c.Name == name {
			return i
		}
	}
	return -1
}

func notNull(name string, t ColumnType) Column { return Column{Name: name, Type: t} }
func null(name string, t ColumnType) Column    { return Column{Name: name, Type: t, Nullable: true} }
func char(name string, n int32) Column         { return Column{Name: name, Type: TypeText, Precision: n} }

func numeric(name string, p, s int32, nullable bool) Column {
	return Column{Name: name, Type: TypeNumeric, Nullable: nullable, Precision: p, Scale: s}
}

// tableColumns mirrors deploy/postgres/schema.sql; a test in this package
// checks that it matches the row types field by field.
var tableColumns = [...][]Column{
	TableUnknown: nil,
	TableCustomers: {
		notNull("id", TypeBigint),
		notNull("email", TypeText),
		notNull("first_name", TypeText),
		notNull("last_name", TypeText),
		null("phone", TypeText),
		notNull("city", TypeText),
		null("region", TypeText),
		char("country", 2),
		notNull("segment", TypeText),
		null("birth_date", TypeDate),
		notNull("created_at", TypeTimestamptz),
		notNull("updated_at", TypeTimestamptz),
	},
	TableVehicles: {
		notNull("id", TypeBigint),
		char("vin", 17),
		notNull("make", TypeText),
		notNull("model", TypeText),
		notNull("model_year", TypeSmallint),
		notNull("body_type", TypeText),
		notNull("fuel_type", TypeText),
		notNull("transmission", TypeText),
		null("color", TypeText),
		notNull("mileage_km", TypeInteger),
		notNull("condition", TypeText),
		numeric("list_price", 12, 2, false),
		numeric("cost_price", 12, 2, true),
		notNull("stock_status", TypeText),
		null("features", TypeJSONB),
		notNull("created_at", TypeTimestamptz),
		notNull("updated_at", TypeTimestamptz),
	},
	TableOrders: {
		notNull("id", TypeBigint),
		notNull("customer_id", TypeBigint),
		notNull("status", TypeText),
		notNull("channel", TypeText),
		char("currency", 3),
		notNull("order_date", TypeTimestamptz),
		notNull("updated_at", TypeTimestamptz),
	},
	TableOrderItems: {
		notNull("id", TypeBigint),
		notNull("order_id", TypeBigint),
		notNull("vehicle_id", TypeBigint),
		notNull("quantity", TypeInteger),
		numeric("unit_price", 12, 2, false),
		numeric("discount", 12, 2, false),
	},
	TablePayments: {
		notNull("id", TypeBigint),
		notNull("order_id", TypeBigint),
		numeric("amount", 12, 2, false),
		notNull("method", TypeText),
		notNull("status", TypeText),
		null("paid_at", TypeTimestamptz),
		notNull("created_at", TypeTimestamptz),
	},
}
