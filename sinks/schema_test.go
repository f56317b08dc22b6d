package sinks

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

var update = flag.Bool("update", false, "rewrite deploy/clickhouse/*.sql from the code")

// schemaFile renders DDL for database drivetrain on a server of version v
// as a SQL script.
func schemaFile(header string, v Version) string {
	var b strings.Builder
	b.WriteString(header)
	for _, s := range DDL(DefaultDatabase, "", v) {
		b.WriteString("\n")
		b.WriteString(s)
		b.WriteString(";\n")
	}
	return b.String()
}

const schemaHeader = `-- drivetrain's ClickHouse output tables (docs/design.md, Outputs), for creating them by
-- hand. drivetrain creates what is missing and checks every table itself at
-- start (idempotent). Database drivetrain, no table suffix. Generated from
-- sinks.DDL: do not edit; run go test ./sinks -run TestSchemaFiles -update
--
-- Mirror tables hold the source columns plus _version (source.lsn) and
-- _deleted; the highest _version of each id wins when parts merge (query
-- with FINAL). sales_facts_current is the FINAL, non-deleted facts.
`

// TestSchemaFiles keeps deploy/clickhouse/*.sql equal to what DDL and
// Reports produce; -update rewrites them.
func TestSchemaFiles(t *testing.T) {
	files := []struct {
		path    string
		content string
	}{
		{
			path: "schema.sql",
			content: schemaFile(schemaHeader+`--
-- For ClickHouse 21.9 and later: TIMESTAMPTZ is DateTime64(6, 'UTC'), DATE
-- is Date32. For older servers use schema-legacy.sql.
`, Version{Major: 24, Minor: 1}),
		},
		{
			path: "schema-legacy.sql",
			content: schemaFile(schemaHeader+`--
-- For ClickHouse 18.16 and any later server: TIMESTAMPTZ is DateTime('UTC')
-- (whole seconds) and DATE a 'YYYY-MM-DD' String, since Date cannot hold
-- dates before 1970 (see the sinks package doc). drivetrain itself uses
-- DateTime64 on 20.1+ and Date32 on 21.9+, and accepts these tables
-- everywhere.
`, Version{Major: 18, Minor: 16, Patch: 1}),
		},
		{path: "queries.sql", content: QueriesSQL()},
	}
	for _, f := range files {
		path := filepath.Join("..", "deploy", "clickhouse", f.path)
		if f.path == "queries.sql" {
			// The dashboard's queries (tool/dashboard) follow the reports,
			// written by hand: -update keeps them, the check skips them.
			if old, err := os.ReadFile(path); err == nil {
				if i := strings.Index(string(old), "\n-- The dashboard's queries"); i >= 0 {
					f.content += string(old[i:])
				}
			}
		}
		if *update {
			require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
			require.NoError(t, os.WriteFile(path, []byte(f.content), 0o644))
			continue
		}
		got, err := os.ReadFile(path)
		require.NoError(t, err, "run go test ./sinks -run TestSchemaFiles -update")
		assert.Equal(t, f.content, string(got), "%s is stale: run go test ./sinks -run TestSchemaFiles -update", path)
	}
}

func TestChType(t *testing.T) {
	tests := []struct {
		col  topology.Column
		l    layout
		want string
	}{
		{topology.Column{Type: topology.TypeBigint}, legacyLayout, "Int64"},
		{topology.Column{Type: topology.TypeInteger}, legacyLayout, "Int32"},
		{topology.Column{Type: topology.TypeSmallint}, legacyLayout, "Int16"},
		{topology.Column{Type: topology.TypeText, Precision: 2}, legacyLayout, "String"},
		{topology.Column{Type: topology.TypeText, Nullable: true}, legacyLayout, "Nullable(String)"},
		{topology.Column{Type: topology.TypeJSONB, Nullable: true}, modernLayout, "Nullable(String)"},
		{topology.Column{Type: topology.TypeNumeric, Precision: 12, Scale: 2}, legacyLayout, "Decimal(12, 2)"},
		{topology.Column{Type: topology.TypeNumeric, Precision: 12, Scale: 2, Nullable: true}, legacyLayout, "Nullable(Decimal(12, 2))"},
		{topology.Column{Type: topology.TypeDate, Nullable: true}, legacyLayout, "Nullable(String)"},
		{topology.Column{Type: topology.TypeDate, Nullable: true}, modernLayout, "Nullable(Date32)"},
		{topology.Column{Type: topology.TypeTimestamptz}, legacyLayout, "DateTime('UTC')"},
		{topology.Column{Type: topology.TypeTimestamptz}, layout{micros: true}, "DateTime64(6, 'UTC')"},
		{topology.Column{Type: topology.TypeTimestamptz, Nullable: true}, modernLayout, "Nullable(DateTime64(6, 'UTC'))"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, chType(tt.col, tt.l), "%+v in %+v", tt.col, tt.l)
	}
}

func TestDDL(t *testing.T) {
	stmts := DDL("dt", "r1", Version{Major: 18, Minor: 16})
	require.Len(t, stmts, 8)
	assert.Equal(t, "CREATE DATABASE IF NOT EXISTS dt", stmts[0])
	assert.True(t, strings.HasPrefix(stmts[1], "CREATE TABLE IF NOT EXISTS dt.customers_r1\n"), stmts[1])
	assert.True(t, strings.HasPrefix(stmts[6], "CREATE TABLE IF NOT EXISTS dt.sales_facts_r1\n"), stmts[6])
	assert.Contains(t, stmts[6], "ENGINE = ReplacingMergeTree(_version)\nPARTITION BY toYYYYMM(order_date)\nORDER BY (order_id, order_item_id)")
	assert.Equal(t, "CREATE VIEW IF NOT EXISTS dt.sales_facts_current_r1 AS\nSELECT * FROM dt.sales_facts_r1 FINAL WHERE _deleted = 0", stmts[7])
	for _, s := range stmts[1:6] {
		assert.Contains(t, s, "    _version UInt64,\n    _deleted UInt8\n)\nENGINE = ReplacingMergeTree(_version)\nORDER BY id")
	}
	null := createTableSQL(names{database: "dt", suffix: "null"}, output(topology.TableOrderItems), legacyLayout, "Null")
	assert.True(t, strings.HasPrefix(null, "CREATE TABLE IF NOT EXISTS dt.order_items_null\n(\n    id Int64,\n"), null)
	assert.True(t, strings.HasSuffix(null, "    _deleted UInt8\n)\nENGINE = Null"), null)
}
