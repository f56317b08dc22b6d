package topology_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/topology"
	"github.com/drivetrain-cdc/drivetrain/topology/topologytest"
)

func TestNextVersion(t *testing.T) {
	tests := []struct {
		name      string
		last, now uint64
		want      uint64
	}{
		{"first fact", 0, 1000, 1000},
		{"clock ahead", 999, 1000, 1000},
		{"clock stalled", 1000, 1000, 1001},
		{"clock behind", 5000, 1000, 5001},
		{"zero clock", 0, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, topology.NextVersion(tt.last, tt.now))
		})
	}
}

func TestCents(t *testing.T) {
	tests := []struct {
		in   topology.Decimal
		want int64
	}{
		{topology.NewDecimal(3998, 2), 3998},
		{topology.NewDecimal(-100, 2), -100},
		{topology.NewDecimal(5, 0), 500},
		{topology.NewDecimal(205, 1), 2050},
		{topology.NewDecimal(12345, 3), 1235},
		{topology.NewDecimal(-12345, 3), -1235},
		{topology.NewDecimal(12344, 3), 1234},
		{topology.NewDecimal(1999999, 5), 2000},
	}
	for _, tt := range tests {
		t.Run(tt.in.String(), func(t *testing.T) {
			assert.Equal(t, tt.want, topology.Cents(tt.in))
		})
	}
}

func TestPaymentStatus(t *testing.T) {
	tests := []struct {
		paid, total int64
		want        string
	}{
		{0, 0, "unpaid"},
		{0, 100, "unpaid"},
		{50, 100, "partial"},
		{100, 100, "paid"},
		{150, 100, "paid"},
		{10, 0, "paid"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, topology.PaymentStatus(tt.paid, tt.total), "paid %d of %d", tt.paid, tt.total)
	}
}

func TestPositionBefore(t *testing.T) {
	p := func(part int32, off int64) topology.Position { return topology.Position{Partition: part, Offset: off} }
	assert.True(t, p(1, 3).Before(p(1, 4)))
	assert.False(t, p(1, 4).Before(p(1, 4)))
	assert.False(t, p(1, 5).Before(p(1, 4)))
	assert.False(t, p(0, 3).Before(p(1, 4)), "other partition: unordered")
	assert.False(t, p(1, -1).Before(p(1, 4)), "unknown offset: unordered")
}

func TestChangeValidate(t *testing.T) {
	item := topology.Some(topology.ItemRow(topology.OrderItem{ID: 1, OrderID: 2}))
	order := topology.Some(topology.OrderRow(topology.Order{ID: 2}))
	tests := []struct {
		name    string
		ch      topology.Change
		wantErr string
	}{
		{"insert", topology.Change{Table: topology.TableOrderItems, Op: topology.OpCreate, After: item}, ""},
		{"delete", topology.Change{Table: topology.TableOrderItems, Op: topology.OpDelete, Before: item}, ""},
		{"unknown table", topology.Change{Op: topology.OpCreate, After: item}, "unknown table"},
		{"unknown op", topology.Change{Table: topology.TableOrderItems, After: item}, "unknown op"},
		{"insert without after", topology.Change{Table: topology.TableOrderItems, Op: topology.OpCreate, Before: item}, "missing after image"},
		{"delete without before", topology.Change{Table: topology.TableOrderItems, Op: topology.OpDelete, After: item}, "missing before image"},
		{"image of another table", topology.Change{Table: topology.TableOrderItems, Op: topology.OpUpdate, After: order}, "after image of table orders"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.ch.Validate()
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, topology.ErrInvalidChange)
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestApplyScopes(t *testing.T) {
	mem := topologytest.NewMemStore()
	cust := topology.Change{Table: topology.TableCustomers, Op: topology.OpCreate, After: topology.Some(topology.CustomerRow(topology.Customer{ID: 1}))}
	ord := topology.Change{Table: topology.TableOrders, Op: topology.OpCreate, After: topology.Some(topology.OrderRow(topology.Order{ID: 1}))}
	var out topology.Output
	require.ErrorIs(t, topology.Apply(mem.Partition(0), &cust, 1, &out), topology.ErrWrongScope)
	_, err := topology.ApplyGlobal(mem, &ord, &out)
	require.ErrorIs(t, err, topology.ErrWrongScope)
	require.ErrorIs(t, topology.Refresh(mem.Partition(0), topology.TableOrders, 1, &out), topology.ErrWrongScope)
	assert.Empty(t, out.Mirrors)
	assert.Empty(t, out.Facts)
}

// TestApplyStateOnly checks the rebuild mode (nil Output): rows and
// indexes are stored, nothing is versioned.
func TestApplyStateOnly(t *testing.T) {
	mem := topologytest.NewMemStore()
	p := mem.Partition(0)
	for _, ch := range []topology.Change{
		{Table: topology.TableOrders, Op: topology.OpCreate, After: topology.Some(topology.OrderRow(topology.Order{ID: 1, CustomerID: 7}))},
		{Table: topology.TableOrderItems, Op: topology.OpRead, After: topology.Some(topology.ItemRow(topology.OrderItem{ID: 5, OrderID: 1, VehicleID: 9}))},
	} {
		require.NoError(t, topology.Apply(p, &ch, 1000, nil))
	}
	_, ok, err := p.Item(1, 5)
	require.NoError(t, err)
	assert.True(t, ok)
	_, ok, err = p.LastFactVersion(5)
	require.NoError(t, err)
	assert.False(t, ok)

	var out topology.Output
	require.NoError(t, topology.Refresh(p, topology.TableVehicles, 9, &out))
	require.NoError(t, topology.EmitPending(p, 2000, &out))
	require.Len(t, out.Facts, 1)
	assert.Equal(t, uint64(2000), out.Facts[0].Version)
	require.NoError(t, topology.Refresh(p, topology.TableCustomers, 7, &out))
	require.NoError(t, topology.EmitPending(p, 2000, &out))
	require.Len(t, out.Facts, 2)
	assert.Equal(t, uint64(2001), out.Facts[1].Version)
}

func TestFactColumnsMatchFact(t *testing.T) {
	typ := reflect.TypeFor[topology.Fact]()
	require.Equal(t, typ.NumField(), len(topology.FactColumns))
	for i, col := range topology.FactColumns {
		want := strings.TrimPrefix(col, "_")
		got := strings.ToLower(strings.ReplaceAll(typ.Field(i).Name, "ID", "Id"))
		assert.Equal(t, strings.ReplaceAll(want, "_", ""), got, "column %d", i)
	}
}

// TestColumnNumbering checks that the column numbers the join rules use
// (struct field order, for Change.Unchanged) are those of Table.Columns.
func TestColumnNumbering(t *testing.T) {
	for _, table := range topology.Tables {
		var want []string
		for _, c := range table.Columns() {
			want = append(want, c.Name)
		}
		assert.Equal(t, want, topologytest.ColumnNames(table), table.String())
	}
}

// TestMonth checks Timestamp.Month against the sink's DateTime range: an
// instant outside it falls in the month of the nearest end.
func TestMonth(t *testing.T) {
	for _, tt := range []struct {
		ts   time.Time
		want int
	}{
		{time.Date(2024, 3, 31, 23, 59, 59, 999999000, time.UTC), 202403},
		{time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC), 202404},
		{time.Date(1965, 5, 1, 0, 0, 0, 0, time.UTC), 197001},
		{time.Date(1969, 12, 31, 23, 59, 59, 999999000, time.UTC), 197001},
		{time.Date(2106, 2, 7, 6, 28, 15, 0, time.UTC), 210602},
		{time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC), 210602},
	} {
		assert.Equal(t, tt.want, topology.TimestampOf(tt.ts).Month(), tt.ts.String())
	}
}
