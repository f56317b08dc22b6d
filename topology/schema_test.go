package topology

import (
	"reflect"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// snake turns a Go field name into its column name (VIN → vin,
// MileageKm → mileage_km, CustomerID → customer_id).
func snake(s string) string {
	var b strings.Builder
	r := []rune(s)
	for i, c := range r {
		if unicode.IsUpper(c) && i > 0 && (unicode.IsLower(r[i-1]) || (i+1 < len(r) && unicode.IsLower(r[i+1]))) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return b.String()
}

// TestColumnsMatchRowTypes checks Table.Columns against the row structs:
// same order, names, Go types and nullability (Opt for nullable columns).
func TestColumnsMatchRowTypes(t *testing.T) {
	rows := map[Table]any{
		TableCustomers: Customer{}, TableVehicles: Vehicle{}, TableOrders: Order{},
		TableOrderItems: OrderItem{}, TablePayments: Payment{},
	}
	goType := map[ColumnType]reflect.Type{
		TypeSmallint: reflect.TypeFor[int16](), TypeInteger: reflect.TypeFor[int32](), TypeBigint: reflect.TypeFor[int64](),
		TypeText: reflect.TypeFor[string](), TypeJSONB: reflect.TypeFor[string](), TypeNumeric: reflect.TypeFor[Decimal](),
		TypeDate: reflect.TypeFor[Date](), TypeTimestamptz: reflect.TypeFor[Timestamp](),
	}
	for _, table := range Tables {
		rt := reflect.TypeOf(rows[table])
		cols := table.Columns()
		require.Equal(t, rt.NumField(), len(cols), table.String())
		assert.Less(t, len(cols), 64, "ColumnSet holds 64 columns")
		for i, c := range cols {
			f := rt.Field(i)
			assert.Equal(t, snake(f.Name), c.Name, "%s field %d", table, i)
			if c.Nullable {
				assert.True(t, strings.HasPrefix(f.Type.Name(), "Opt["), "%s.%s is nullable: want an Opt", table, c.Name)
				assert.Equal(t, goType[c.Type], f.Type.Field(0).Type, "%s.%s", table, c.Name)
				continue
			}
			assert.Equal(t, goType[c.Type], f.Type, "%s.%s", table, c.Name)
			assert.Equal(t, i, table.ColumnIndex(c.Name))
		}
	}
	assert.Equal(t, -1, TableOrders.ColumnIndex("nope"))
	assert.Nil(t, TableUnknown.Columns())
}

func TestColumnSet(t *testing.T) {
	var s ColumnSet
	s = s.With(0).With(16)
	assert.True(t, s.Has(0))
	assert.True(t, s.Has(16))
	assert.False(t, s.Has(1))
	assert.False(t, s.Has(-1))
	assert.False(t, s.Has(64))
	assert.Equal(t, "numeric", TypeNumeric.String())
}
