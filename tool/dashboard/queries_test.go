package dashboard

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/deploy"
	"github.com/drivetrain-cdc/drivetrain/sinks"
)

func shippedQueries(t *testing.T) map[string]Query {
	t.Helper()
	qs, err := ParseQueries(deploy.QueriesSQL)
	require.NoError(t, err)
	out := map[string]Query{}
	for _, q := range qs {
		out[q.Name] = q
	}
	return out
}

// TestShippedQueries checks deploy/clickhouse/queries.sql as the
// dashboard reads it: the reports are there as `drivetrain report` runs
// them, every page's query exists, and parameters are the ones pages bind.
func TestShippedQueries(t *testing.T) {
	qs := shippedQueries(t)
	for _, r := range sinks.Reports {
		q, ok := qs[r.Name]
		if assert.True(t, ok, "report %s in queries.sql", r.Name) {
			assert.Equal(t, r.Query("drivetrain", ""), q.SQL, r.Name)
			assert.Equal(t, r.Columns(), q.Columns, r.Name)
			assert.Empty(t, q.Params, r.Name)
		}
	}
	bound := map[string]string{"now": "DateTime", "from": "DateTime", "to": "DateTime", "bucket": "String", "order_id": "Int64", "email": "String"}
	used := map[string]bool{}
	for _, p := range Pages {
		args, err := p.args(nil, time.Now())
		require.NoError(t, err)
		for _, name := range p.Queries {
			q, ok := qs[name]
			require.True(t, ok, "page %s: query %s", p.Name, name)
			used[name] = true
			for _, prm := range q.Params {
				assert.Equal(t, bound[prm.Name], prm.Type, "query %s parameter %s", name, prm.Name)
				assert.Contains(t, args, prm.Name, "page %s binds %s for %s", p.Name, prm.Name, name)
			}
			assert.Len(t, q.Numeric, len(q.Columns))
			_, err := q.Bind("drivetrain", "", args)
			assert.NoError(t, err)
		}
	}
	for name := range qs {
		if _, isReport := sinks.ReportNamed(name); !isReport {
			assert.True(t, used[name], "query %s is on no page", name)
		}
	}
}

func TestParseQueries(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []Query
		wantErr string
	}{
		{
			name: "two queries, comments and parameters",
			in: "-- a header line\n-- Generated from x: not a query\n\n" +
				"-- one: The first\nSELECT a,\n       toString(count()) AS n\nFROM t\nWHERE x = {id:Int64} AND y < {at:DateTime} AND z = {id:Int64};\n\n" +
				"-- two-b: The second\nSELECT concat(a, ', ', b) AS ab, 'x,y' AS lit\nFROM\n(\n    SELECT 1\n    FROM u\n);\n",
			want: []Query{
				{Name: "one", Title: "The first", SQL: "SELECT a,\n       toString(count()) AS n\nFROM t\nWHERE x = {id:Int64} AND y < {at:DateTime} AND z = {id:Int64}",
					Params: []Param{{"id", "Int64"}, {"at", "DateTime"}}, Columns: []string{"a", "n"}, Numeric: []bool{false, true}},
				{Name: "two-b", Title: "The second", SQL: "SELECT concat(a, ', ', b) AS ab, 'x,y' AS lit\nFROM\n(\n    SELECT 1\n    FROM u\n)",
					Columns: []string{"ab", "lit"}, Numeric: []bool{false, false}},
			},
		},
		{name: "no semicolon", in: "-- q: Q\nSELECT 1\nFROM t\n", wantErr: "query q: no semicolon ends it"},
		{name: "twice", in: "-- q: Q\nSELECT 1\nFROM t;\n-- q: Q\nSELECT 1\nFROM t;\n", wantErr: "query q: defined twice"},
		{name: "bad type", in: "-- q: Q\nSELECT 1\nFROM t WHERE a = {a:Float64};\n", wantErr: "parameter a has type Float64"},
		{name: "two types", in: "-- q: Q\nSELECT 1\nFROM t WHERE a = {a:Int64} OR a = {a:String};\n", wantErr: "parameter a is both Int64 and String"},
		{name: "no FROM line", in: "-- q: Q\nSELECT 1 FROM t;\n", wantErr: "query q: no FROM at the start of a line"},
		{name: "nothing", in: "-- just a comment\n", wantErr: "no queries found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseQueries(tt.in)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestBind(t *testing.T) {
	q := Query{
		Name:   "q",
		SQL:    "SELECT 1\nFROM drivetrain.sales_facts_current JOIN drivetrain.vehicles FINAL USING (x)\nWHERE a >= {from:DateTime} AND id = {id:Int64} AND email = {email:String} AND b = {id:Int64} AND c = 'drivetrain.orders'",
		Params: []Param{{"from", "DateTime"}, {"id", "Int64"}, {"email", "String"}},
	}
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name, db, suffix string
		args             Args
		want, wantErr    string
	}{
		{
			name: "values become typed literals", db: "drivetrain",
			args: Args{"from": at, "id": int64(-7), "email": "ana@example.com"},
			want: "SELECT 1\nFROM drivetrain.sales_facts_current JOIN drivetrain.vehicles FINAL USING (x)\nWHERE a >= toDateTime(1796119200) AND id = -7 AND email = unhex('616E61406578616D706C652E636F6D') AND b = -7 AND c = 'drivetrain.orders'",
		},
		{
			name: "text that looks like SQL stays data", db: "drivetrain",
			args: Args{"from": at, "id": int64(1), "email": "x' OR 1=1 --\\"},
			want: "SELECT 1\nFROM drivetrain.sales_facts_current JOIN drivetrain.vehicles FINAL USING (x)\nWHERE a >= toDateTime(1796119200) AND id = 1 AND email = unhex('7827204F5220313D31202D2D5C') AND b = 1 AND c = 'drivetrain.orders'",
		},
		{
			name: "database and suffix", db: "shop", suffix: "r2",
			args: Args{"from": at, "id": int64(1), "email": ""},
			want: "SELECT 1\nFROM shop.sales_facts_current_r2 JOIN shop.vehicles_r2 FINAL USING (x)\nWHERE a >= toDateTime(1796119200) AND id = 1 AND email = unhex('') AND b = 1 AND c = 'shop.orders_r2'",
		},
		{name: "missing", db: "d", args: Args{"from": at, "id": int64(1)}, wantErr: "query q: no value for parameter email"},
		{name: "wrong type", db: "d", args: Args{"from": "yesterday", "id": int64(1), "email": ""}, wantErr: "parameter from: want a time, got string"},
		{name: "int as int", db: "d", args: Args{"from": at, "id": 1, "email": ""}, wantErr: "parameter id: want an int64, got int"},
		{name: "before 1970", db: "d", args: Args{"from": time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC), "id": int64(1), "email": ""}, wantErr: "outside 1970–2106"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := q.Bind(tt.db, tt.suffix, tt.args)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.NotContains(t, got, "{")
		})
	}
}

// TestBindStringIsHex checks that no byte of a String value reaches the
// SQL text: only hex digits do.
func TestBindStringIsHex(t *testing.T) {
	q := Query{Name: "q", SQL: "SELECT {s:String}", Params: []Param{{"s", "String"}}}
	for _, s := range []string{"", "'", "\\'", "é", "a\x00b", strings.Repeat("')--", 80)} {
		got, err := q.Bind("d", "", Args{"s": s})
		require.NoError(t, err)
		assert.Regexp(t, `^SELECT unhex\('[0-9A-F]*'\)$`, got)
	}
}
