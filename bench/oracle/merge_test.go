package oracle

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/sinks"
	"github.com/drivetrain-cdc/drivetrain/topology"
)

// sliceSource yields fixed rows, then err (if any).
type sliceSource struct {
	rows []row
	err  error
}

func (s *sliceSource) next(context.Context) (row, bool, error) {
	if len(s.rows) == 0 {
		return row{}, false, s.err
	}
	r := s.rows[0]
	s.rows = s.rows[1:]
	return r, true, nil
}

var testTable = &table{
	name:    "t",
	chName:  "db.t",
	cols:    []column{{name: "id", kind: kindInt}, {name: "city", kind: kindText}, {name: "price", kind: kindDecimal}},
	keyCols: []int{0},
}

func r(id int64, city, price string) row {
	return row{key: key{v: [2]int64{id}, n: 1}, vals: []value{{s: strconv.FormatInt(id, 10)}, {s: city}, {s: canonDecimal(price, 2)}}}
}

func TestMerge(t *testing.T) {
	tests := []struct {
		name     string
		pg, ch   []row
		maxDiffs int
		want     TableResult
	}{
		{
			name: "equal, decimals normalised",
			pg:   []row{r(1, "Madrid", "20000.00"), r(2, "Zürich", "-1.50")},
			ch:   []row{r(1, "Madrid", "20000"), r(2, "Zürich", "-1.5")},
			want: TableResult{PGRows: 2, CHRows: 2},
		},
		{
			name: "both empty",
			want: TableResult{},
		},
		{
			name: "missing, extra and differing",
			pg:   []row{r(1, "Madrid", "1"), r(2, "Sevilla", "2"), r(4, "Bilbao", "4")},
			ch:   []row{r(2, "Sevilla", "2.01"), r(3, "León", "3"), r(4, "Bilbao", "4"), r(5, "Vigo", "5")},
			want: TableResult{
				PGRows: 3, CHRows: 4, Missing: 1, Extra: 2, Differing: 1,
				MissingKeys: []string{"id=1"}, ExtraKeys: []string{"id=3", "id=5"},
				Diffs: []RowDiff{{Key: "id=2", Columns: []ColumnDiff{{Column: "price", PG: "2.00", CH: "2.01"}}}},
			},
		},
		{
			name:     "kept differences are bounded, counts are not",
			pg:       []row{r(1, "a", "1"), r(2, "a", "1"), r(3, "a", "1")},
			ch:       []row{r(1, "b", "1"), r(2, "b", "1"), r(3, "b", "1")},
			maxDiffs: 2,
			want: TableResult{
				PGRows: 3, CHRows: 3, Differing: 3,
				Diffs: []RowDiff{
					{Key: "id=1", Columns: []ColumnDiff{{Column: "city", PG: `"a"`, CH: `"b"`}}},
					{Key: "id=2", Columns: []ColumnDiff{{Column: "city", PG: `"a"`, CH: `"b"`}}},
				},
			},
		},
		{
			name: "null differs from empty",
			pg:   []row{{key: key{v: [2]int64{1}, n: 1}, vals: []value{{s: "1"}, {null: true}, {s: "1.00"}}}},
			ch:   []row{{key: key{v: [2]int64{1}, n: 1}, vals: []value{{s: "1"}, {}, {s: "1.00"}}}},
			want: TableResult{PGRows: 1, CHRows: 1, Differing: 1,
				Diffs: []RowDiff{{Key: "id=1", Columns: []ColumnDiff{{Column: "city", PG: "NULL", CH: `""`}}}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.maxDiffs == 0 {
				tt.maxDiffs = DefaultMaxDiffs
			}
			got, err := merge(context.Background(), testTable, &sliceSource{rows: tt.pg}, &sliceSource{rows: tt.ch}, tt.maxDiffs)
			require.NoError(t, err)
			tt.want.Table, tt.want.ClickHouse = "t", "db.t"
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.want.Missing+tt.want.Extra+tt.want.Differing == 0, got.OK())
		})
	}
}

func TestMergeErrors(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name    string
		pg, ch  rowSource
		wantErr string
	}{
		{"postgresql fails", &sliceSource{rows: []row{r(1, "a", "1")}, err: boom}, &sliceSource{}, "reading postgresql: boom"},
		{"clickhouse fails", &sliceSource{}, &sliceSource{err: boom}, "reading clickhouse: boom"},
		{"out of order", &sliceSource{rows: []row{r(2, "a", "1"), r(1, "a", "1")}}, &sliceSource{}, "rows out of key order (id=1 after id=2)"},
		{"duplicate key", &sliceSource{}, &sliceSource{rows: []row{r(1, "a", "1"), r(1, "a", "1")}}, "reading clickhouse: rows out of key order"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := merge(context.Background(), testTable, tt.pg, tt.ch, 5)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestChExprs(t *testing.T) {
	tests := []struct {
		name string
		col  column
		want []string
	}{
		{"int", column{name: "id", kind: kindInt, chType: "Int64"}, []string{"toString(id)"}},
		{"string", column{name: "city", kind: kindText, chType: "String"}, []string{"city"}},
		{"nullable string", column{name: "region", kind: kindText, chType: "Nullable(String)"},
			[]string{"toString(isNull(region))", "ifNull(region, '')"}},
		{"decimal", column{name: "p", kind: kindDecimal, chType: "Decimal(12, 2)"}, []string{"toString(p)"}},
		{"datetime", column{name: "ts", kind: kindTimestamp, chType: "DateTime('UTC')"}, []string{"toString(toUnixTimestamp(ts))"}},
		{"nullable datetime", column{name: "ts", kind: kindTimestamp, chType: "Nullable(DateTime('UTC'))"},
			[]string{"toString(isNull(ts))", "ifNull(toString(toUnixTimestamp(ts)), '')"}},
		{"datetime64", column{name: "ts", kind: kindTimestamp, micros: true, chType: "DateTime64(6, 'UTC')"}, []string{"toString(ts)"}},
		{"date string", column{name: "d", kind: kindDate, chType: "Nullable(String)"}, []string{"toString(isNull(d))", "ifNull(d, '')"}},
		{"date32", column{name: "d", kind: kindDate, chType: "Nullable(Date32)"}, []string{"toString(isNull(d))", "ifNull(toString(d), '')"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.col.chExprs())
		})
	}
}

// fakeInfo makes a TableInfo as sinks reports it, with the given types.
func fakeInfo(name string, cols []string, types func(string) string) *sinks.TableInfo {
	info := &sinks.TableInfo{Name: "db." + name}
	for _, c := range cols {
		info.Columns = append(info.Columns, sinks.Column{Name: c, Type: types(c)})
	}
	return info
}

func TestFactsTable(t *testing.T) {
	info := fakeInfo("sales_facts", topology.FactColumns, func(c string) string {
		switch c {
		case "order_date", "updated_at":
			return "DateTime('UTC')"
		case "order_item_id", "order_id":
			return "Int64"
		}
		return "String"
	})
	tb, err := factsTable(info, "db.sales_facts_current", "public")
	require.NoError(t, err)
	var names []string
	for _, c := range tb.cols {
		names = append(names, c.name)
	}
	var want []string
	for _, c := range topology.FactColumns {
		if !skippedFactColumns[c] {
			want = append(want, c)
		}
	}
	assert.Equal(t, want, names, "every fact column but updated_at, _version, _deleted, in order")
	assert.Equal(t, []string{"order_id", "order_item_id"}, tb.keyNames())
	assert.False(t, tb.final)
	assert.Contains(t, tb.pgSQL, `ORDER BY i.order_id, i.id`)
	assert.Contains(t, tb.pgSQL, `LEFT JOIN "public"."customers" c`)

	s := newCHSource(nil, tb, 100)
	first := s.pageSQL()
	assert.True(t, strings.HasPrefix(first, "SELECT toString(order_item_id), toString(order_id), toString(toUnixTimestamp(order_date)), order_status"), first)
	assert.True(t, strings.HasSuffix(first, " FROM db.sales_facts_current ORDER BY order_id, order_item_id LIMIT 100"), first)
	s.started, s.last = true, key{v: [2]int64{7, 42}, n: 2}
	assert.True(t, strings.HasSuffix(s.pageSQL(),
		" FROM db.sales_facts_current WHERE (order_id = 7 AND order_item_id > 42) OR (order_id > 7) ORDER BY order_id, order_item_id LIMIT 100"), s.pageSQL())
}

func TestMirrorTable(t *testing.T) {
	for _, micros := range []bool{false, true} {
		for _, tt := range topology.Tables {
			var cols []string
			for _, c := range tt.Columns() {
				cols = append(cols, c.Name)
			}
			info := fakeInfo(tt.String(), append(cols, "_version", "_deleted"), func(c string) string {
				if c == "created_at" && micros {
					return "DateTime64(6, 'UTC')"
				}
				return "String"
			})
			tb, err := mirrorTable(tt, info, "src")
			require.NoError(t, err)
			assert.Len(t, tb.cols, len(tt.Columns()))
			assert.True(t, tb.final)
			assert.Equal(t, []string{"id"}, tb.keyNames())
			assert.True(t, strings.HasSuffix(tb.pgSQL, ` FROM "src".`+`"`+tt.String()+`" AS s ORDER BY s.id`), tb.pgSQL)
			if i := tt.ColumnIndex("created_at"); i >= 0 {
				assert.Equal(t, micros, tb.cols[i].micros)
			}
			s := newCHSource(nil, tb, 10)
			assert.Contains(t, s.pageSQL(), " FROM db."+tt.String()+" FINAL ORDER BY id LIMIT 10")
			assert.Equal(t, "toString(_deleted)", s.exprs[len(s.exprs)-1])
		}
	}
	// CHAR(n) columns are read uncast (a cast to text strips padding).
	tb, err := mirrorTable(topology.TableVehicles, fakeInfo("vehicles", append(colNames(topology.TableVehicles), "_version", "_deleted"), func(string) string { return "String" }), "public")
	require.NoError(t, err)
	assert.Contains(t, tb.pgSQL, "SELECT id::text, vin, make,")
	assert.Contains(t, tb.pgSQL, "features::text")

	_, err = mirrorTable(topology.TableOrders, fakeInfo("orders", []string{"id"}, func(string) string { return "Int64" }), "public")
	assert.ErrorContains(t, err, "comparing orders.customer_id: no such column in db.orders")
}

func colNames(t topology.Table) []string {
	var out []string
	for _, c := range t.Columns() {
		out = append(out, c.Name)
	}
	return out
}

func TestCHSourceSkipsDeletedAndPages(t *testing.T) {
	tb := &table{name: "t", chName: "db.t", final: true, keyCols: []int{0},
		cols: []column{{name: "id", kind: kindInt, chType: "Int64"}, {name: "region", kind: kindText, chType: "Nullable(String)"}}}
	s := newCHSource(nil, tb, 2)
	// Fields: id, isNull(region), region, _deleted.
	s.page = [][]string{{"1", "1", "", "0"}, {"2", "0", "N", "1"}}
	s.done = true
	got, ok, err := s.next(context.Background())
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, []value{{s: "1"}, {null: true}}, got.vals)
	_, ok, err = s.next(context.Background())
	require.NoError(t, err)
	assert.False(t, ok, "the second row is deleted")
	assert.Equal(t, int64(1), s.deleted)
	assert.Equal(t, key{v: [2]int64{2}, n: 1}, s.last, "paging continues after deleted rows")
}

func TestResultString(t *testing.T) {
	res := &Result{Tables: []TableResult{
		{Table: "customers", ClickHouse: "db.customers", PGRows: 3, CHRows: 3, Differing: 1,
			Diffs: []RowDiff{{Key: "id=2", Columns: []ColumnDiff{{Column: "city", PG: `"Madrid"`, CH: `"Sevilla"`}}}}},
		{Table: "vehicles", ClickHouse: "db.vehicles", PGRows: 2, CHRows: 2},
		{Table: "payments", ClickHouse: "db.payments", PGRows: 3, CHRows: 3, CHDeleted: 1, Missing: 7, Extra: 1,
			MissingKeys: []string{"id=2"}, ExtraKeys: []string{"id=9"}},
	}}
	assert.False(t, res.OK())
	assert.Equal(t, `oracle: MISMATCH in 2 of 3 tables (customers, payments)
customers: postgresql 3 rows, clickhouse db.customers 3 rows: 0 missing, 0 extra, 1 differing
  differing id=2: city pg="Madrid" ch="Sevilla";
vehicles: postgresql 2 rows, clickhouse db.vehicles 2 rows: ok
payments: postgresql 3 rows, clickhouse db.payments 3 rows (+1 deleted): 7 missing, 1 extra, 0 differing
  missing id=2 (in postgresql, not in clickhouse)
  … and 6 more missing rows
  extra id=9 (in clickhouse, not in postgresql)
`, res.String())
	assert.Equal(t, "vehicles", res.Table("vehicles").Table)
	assert.Nil(t, res.Table("nope"))

	ok := &Result{Tables: []TableResult{{Table: "orders", ClickHouse: "db.orders", PGRows: 1, CHRows: 1}}}
	assert.True(t, ok.OK())
	assert.Equal(t, "oracle: OK, 1 tables equal\norders: postgresql 1 rows, clickhouse db.orders 1 rows: ok\n", ok.String())
}
