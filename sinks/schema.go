package sinks

import (
	"fmt"
	"strings"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

// Column is a column of an output table as drivetrain writes it.
type Column struct {
	Name string
	// Type is the ClickHouse type as servers spell it in system.columns
	// ("Decimal(12, 2)", "Nullable(String)", "DateTime('UTC')").
	Type string
}

// Table names: a mirror table is named after its source table.
const (
	FactsTable     = "sales_facts"
	FactsViewTable = "sales_facts_current"
)

// Metadata columns of every output table.
const (
	versionColumn = "_version"
	deletedColumn = "_deleted"
)

// factTypes gives the ClickHouse type of every column of sales_facts
// (docs/design.md, Outputs). Prices and line values are Decimal(12, 2) like the source's
// NUMERIC(12,2); the order sums Decimal(18, 2).
var factTypes = map[string]string{
	"order_item_id":    "Int64",
	"order_id":         "Int64",
	"order_date":       "DateTime('UTC')",
	"order_status":     "String",
	"channel":          "String",
	"currency":         "String",
	"customer_id":      "Int64",
	"customer_name":    "String",
	"customer_email":   "String",
	"customer_city":    "String",
	"customer_region":  "String",
	"customer_country": "String",
	"customer_segment": "String",
	"vehicle_id":       "Int64",
	"vin":              "String",
	"make":             "String",
	"model":            "String",
	"model_year":       "Int16",
	"body_type":        "String",
	"fuel_type":        "String",
	"condition":        "String",
	"list_price":       "Decimal(12, 2)",
	"quantity":         "Int32",
	"unit_price":       "Decimal(12, 2)",
	"discount":         "Decimal(12, 2)",
	"line_total":       "Decimal(12, 2)",
	"order_total":      "Decimal(18, 2)",
	"order_paid":       "Decimal(18, 2)",
	"payment_status":   "String",
	"updated_at":       "DateTime('UTC')",
	versionColumn:      "UInt64",
	deletedColumn:      "UInt8",
}

// factColumns are the columns of sales_facts in topology.FactColumns
// order.
var factColumns = func() []Column {
	if len(factTypes) != len(topology.FactColumns) {
		panic("sinks: factTypes and topology.FactColumns differ in length")
	}
	cols := make([]Column, len(topology.FactColumns))
	for i, name := range topology.FactColumns {
		t, ok := factTypes[name]
		if !ok {
			panic("sinks: no ClickHouse type for sales_facts column " + name)
		}
		cols[i] = Column{Name: name, Type: t}
	}
	return cols
}()

// Types of the server-dependent columns.
const (
	typeDateTime   = "DateTime('UTC')"
	typeDateTime64 = "DateTime64(6, 'UTC')"
	typeDate32     = "Date32"
	typeDateString = "String"
)

// chType returns the ClickHouse type of source column c in layout l.
func chType(c topology.Column, l layout) string {
	var t string
	switch c.Type {
	case topology.TypeSmallint:
		t = "Int16"
	case topology.TypeInteger:
		t = "Int32"
	case topology.TypeBigint:
		t = "Int64"
	case topology.TypeText, topology.TypeJSONB:
		t = "String"
	case topology.TypeNumeric:
		t = fmt.Sprintf("Decimal(%d, %d)", c.Precision, c.Scale)
	case topology.TypeDate:
		t = typeDateString
		if l.date32 {
			t = typeDate32
		}
	case topology.TypeTimestamptz:
		t = typeDateTime
		if l.micros {
			t = typeDateTime64
		}
	default:
		panic(fmt.Sprintf("sinks: no ClickHouse type for %s column %s", c.Type, c.Name))
	}
	if c.Nullable {
		t = "Nullable(" + t + ")"
	}
	return t
}

// mirrorColumns returns the columns of the mirror table of t in layout l:
// the source columns, then _version and _deleted.
func mirrorColumns(t topology.Table, l layout) []Column {
	src := t.Columns()
	cols := make([]Column, 0, len(src)+2)
	for _, c := range src {
		cols = append(cols, Column{Name: c.Name, Type: chType(c, l)})
	}
	return append(cols, Column{versionColumn, "UInt64"}, Column{deletedColumn, "UInt8"})
}

// output identifies an output table: outFacts or a mirror table, whose
// value is its topology.Table.
type output uint8

const outFacts output = 0

// outputs lists every output table: sales_facts, then the mirror tables
// in the order of docs/design.md, Source data model.
var outputs = func() []output {
	out := []output{outFacts}
	for _, t := range topology.Tables {
		out = append(out, output(t))
	}
	return out
}()

func (o output) source() topology.Table { return topology.Table(o) }

// baseName is the table's name without suffix.
func (o output) baseName() string {
	if o == outFacts {
		return FactsTable
	}
	return o.source().String()
}

func (o output) columns(l layout) []Column {
	if o == outFacts {
		return factColumns
	}
	return mirrorColumns(o.source(), l)
}

func (o output) partitionBy() string {
	if o == outFacts {
		// The versions of a fact under one order_date month stay in one
		// partition, where ReplacingMergeTree can merge them; an order
		// whose order_date moves to another month leaves deleted rows
		// under its past months (docs/design.md, Rows that move).
		return "toYYYYMM(order_date)"
	}
	return ""
}

func (o output) orderBy() string {
	if o == outFacts {
		return "(order_id, order_item_id)"
	}
	return "id"
}

// names qualifies table names for one database and suffix.
type names struct {
	database string
	suffix   string
}

func (n names) table(base string) string {
	if n.suffix != "" {
		base += "_" + n.suffix
	}
	return base
}

func (n names) qualified(base string) string { return n.database + "." + n.table(base) }

const replacingEngine = "ReplacingMergeTree(" + versionColumn + ")"

// createTableSQL returns the CREATE TABLE IF NOT EXISTS statement of o in
// layout l with the given engine ("" for ReplacingMergeTree(_version) with
// o's partitioning and sorting key).
func createTableSQL(n names, o output, l layout, engine string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS %s\n(\n", n.qualified(o.baseName()))
	cols := o.columns(l)
	for i, c := range cols {
		fmt.Fprintf(&b, "    %s %s", c.Name, c.Type)
		if i < len(cols)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString(")\n")
	if engine != "" {
		fmt.Fprintf(&b, "ENGINE = %s", engine)
		return b.String()
	}
	fmt.Fprintf(&b, "ENGINE = %s\n", replacingEngine)
	if p := o.partitionBy(); p != "" {
		fmt.Fprintf(&b, "PARTITION BY %s\n", p)
	}
	fmt.Fprintf(&b, "ORDER BY %s", o.orderBy())
	return b.String()
}

func createDatabaseSQL(n names) string { return "CREATE DATABASE IF NOT EXISTS " + n.database }

func createViewSQL(n names) string {
	return fmt.Sprintf("CREATE VIEW IF NOT EXISTS %s AS\nSELECT * FROM %s FINAL WHERE %s = 0",
		n.qualified(FactsViewTable), n.qualified(FactsTable), deletedColumn)
}

// DDL returns the statements that create drivetrain's output tables in
// database (with the table suffix, if any) on a server of version v: the
// database, the five mirror tables, sales_facts and the
// sales_facts_current view. Every statement is idempotent (IF NOT
// EXISTS). database and suffix must be valid (see Config).
func DDL(database, suffix string, v Version) []string {
	n := names{database: database, suffix: suffix}
	l := layoutFor(v)
	out := []string{createDatabaseSQL(n)}
	for _, o := range outputs[1:] {
		out = append(out, createTableSQL(n, o, l, ""))
	}
	out = append(out, createTableSQL(n, outFacts, l, ""), createViewSQL(n))
	return out
}
