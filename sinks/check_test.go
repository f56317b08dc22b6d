package sinks

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

// existingFrom builds what system.tables and system.columns would say
// about a table made by drivetrain's DDL in layout l, then applies edit.
func existingFrom(o output, l layout, spell func(string) string) *existing {
	ex := &existing{engine: "ReplacingMergeTree", sortingKey: strings.Trim(o.orderBy(), "()")}
	ex.engineFull = "ReplacingMergeTree(_version) ORDER BY " + o.orderBy() + " SETTINGS index_granularity = 8192"
	for _, c := range o.columns(l) {
		ex.columns = append(ex.columns, existingColumn{name: c.Name, typ: spell(c.Type)})
	}
	return ex
}

func same(s string) string { return s }

func TestMatch(t *testing.T) {
	payments := output(topology.TablePayments)
	tests := []struct {
		name       string
		o          output
		ex         *existing
		layouts    []layout
		wantLayout layout
		want       []SchemaDiff
	}{
		{
			name: "facts as created", o: outFacts, ex: existingFrom(outFacts, legacyLayout, same),
			layouts: []layout{legacyLayout},
		},
		{
			name: "spelling differs only in spaces and quotes", o: payments,
			ex: existingFrom(payments, modernLayout, func(s string) string {
				return strings.ReplaceAll(strings.ReplaceAll(s, ", ", ","), "'", `"`)
			}),
			layouts: []layout{modernLayout, legacyLayout}, wantLayout: modernLayout,
		},
		{
			name: "older table on an upgraded server keeps its layout", o: output(topology.TableCustomers),
			ex:      existingFrom(output(topology.TableCustomers), legacyLayout, same),
			layouts: layoutsFor(Version{24, 1, 0}), wantLayout: legacyLayout,
		},
		{
			name: "replicated engine", o: payments,
			ex: func() *existing {
				ex := existingFrom(payments, legacyLayout, same)
				ex.engine = "ReplicatedReplacingMergeTree"
				ex.engineFull = "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/payments', '{replica}', _version) ORDER BY id"
				return ex
			}(),
			layouts: []layout{legacyLayout},
		},
		{
			name: "extra column with a default is fine", o: payments,
			ex: func() *existing {
				ex := existingFrom(payments, legacyLayout, same)
				ex.columns = append(ex.columns, existingColumn{name: "ingested_at", typ: "DateTime", defaultKind: "DEFAULT"})
				return ex
			}(),
			layouts: []layout{legacyLayout},
		},
		{
			name: "every difference, column by column", o: outFacts,
			ex: func() *existing {
				ex := existingFrom(outFacts, legacyLayout, same)
				ex.engine, ex.engineFull = "MergeTree", "MergeTree PARTITION BY toYYYYMM(order_date) ORDER BY order_id SETTINGS index_granularity = 8192"
				ex.sortingKey = "order_id"
				var cols []existingColumn
				for _, c := range ex.columns {
					switch c.name {
					case "vin":
						continue
					case "order_total":
						c.typ = "Decimal(12, 2)"
					case "order_date":
						c.typ = "DateTime"
					case "line_total":
						c.defaultKind = "MATERIALIZED"
					}
					cols = append(cols, c)
				}
				ex.columns = append(cols, existingColumn{name: "note", typ: "String"})
				return ex
			}(),
			layouts: []layout{legacyLayout},
			want: []SchemaDiff{
				{Table: "sales_facts", Want: "engine ReplacingMergeTree(_version)", Got: "engine MergeTree"},
				{Table: "sales_facts", Want: "ORDER BY (order_id, order_item_id)", Got: "ORDER BY order_id"},
				{Table: "sales_facts", Column: "order_date", Want: "DateTime('UTC')", Got: "DateTime"},
				{Table: "sales_facts", Column: "vin", Want: "String"},
				{Table: "sales_facts", Column: "line_total", Want: "Decimal(12, 2)", Got: "Decimal(12, 2) MATERIALIZED"},
				{Table: "sales_facts", Column: "order_total", Want: "Decimal(18, 2)", Got: "Decimal(12, 2)"},
				{Table: "sales_facts", Column: "note", Got: "String"},
			},
		},
		{
			name: "ReplacingMergeTree without version", o: payments,
			ex: func() *existing {
				ex := existingFrom(payments, legacyLayout, same)
				ex.engineFull = "ReplacingMergeTree() ORDER BY id SETTINGS index_granularity = 8192"
				return ex
			}(),
			layouts: []layout{legacyLayout},
			want:    []SchemaDiff{{Table: "payments", Want: "engine ReplacingMergeTree(_version)", Got: "engine ReplacingMergeTree()"}},
		},
		{
			name: "a mixed table matches no layout: diff from the preferred", o: payments,
			ex: func() *existing {
				ex := existingFrom(payments, modernLayout, same)
				ex.columns[6].typ = "DateTime('UTC')" // created_at only
				return ex
			}(),
			layouts: layoutsFor(Version{24, 1, 0}), wantLayout: modernLayout,
			want: []SchemaDiff{{Table: "payments", Column: "created_at", Want: "DateTime64(6, 'UTC')", Got: "DateTime('UTC')"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, diffs := match(tt.o.baseName(), tt.o, tt.ex, tt.layouts)
			assert.Equal(t, tt.want, diffs)
			if tt.want == nil {
				assert.Equal(t, tt.wantLayout, l)
			}
		})
	}
}

func TestEngineCall(t *testing.T) {
	tests := []struct {
		engine, full string
		call         string
		args         []string
	}{
		{"ReplacingMergeTree", "ReplacingMergeTree(_version) PARTITION BY toYYYYMM(order_date) ORDER BY (order_id, order_item_id)", "ReplacingMergeTree(_version)", []string{"_version"}},
		{"MergeTree", "MergeTree ORDER BY (a, b)", "MergeTree", nil},
		{"ReplacingMergeTree", "ReplacingMergeTree() ORDER BY id", "ReplacingMergeTree()", nil},
		{"Null", "Null", "Null", nil},
		{"ReplicatedReplacingMergeTree", "ReplicatedReplacingMergeTree('/p/{shard}', '{replica}', _version) ORDER BY id",
			"ReplicatedReplacingMergeTree('/p/{shard}', '{replica}', _version)", []string{"'/p/{shard}'", "'{replica}'", "_version"}},
	}
	for _, tt := range tests {
		call, args := engineCall(&existing{engine: tt.engine, engineFull: tt.full})
		assert.Equal(t, tt.call, call)
		assert.Equal(t, tt.args, args)
	}
}
