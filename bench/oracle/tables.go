package oracle

import (
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/drivetrain-cdc/drivetrain/sinks"
	"github.com/drivetrain-cdc/drivetrain/topology"
)

// column is one compared column: how PostgreSQL computes it, how
// ClickHouse stores it, and how values compare.
type column struct {
	name     string
	kind     kind
	nullable bool
	scale    int    // kindDecimal: the minimum fractional digits shown
	micros   bool   // kindTimestamp: ClickHouse holds DateTime64(6), else DateTime seconds
	pgExpr   string // SQL expression in PostgreSQL's SELECT
	chType   string // the ClickHouse column's type, Nullable(…) included
}

// table is one comparison: a PostgreSQL query and a ClickHouse table or
// view, both ordered by the key.
type table struct {
	name    string // reported name: the source table, or sales_facts_current
	chName  string // qualified ClickHouse table or view
	final   bool   // a mirror table: read with FINAL, skip rows with _deleted = 1
	cols    []column
	keyCols []int // indexes into cols, in sort order
	pgSQL   string
}

// keyNames names the key columns (ORDER BY).
func (t *table) keyNames() []string {
	out := make([]string, len(t.keyCols))
	for i, k := range t.keyCols {
		out[i] = t.cols[k].name
	}
	return out
}

// chExprs returns the ClickHouse expressions of c, all of type String:
// for a Nullable column its null flag first, then its value.
func (c *column) chExprs() []string {
	base, nullable := strings.CutPrefix(c.chType, "Nullable(")
	if nullable {
		base = strings.TrimSuffix(base, ")")
	}
	var e string
	switch {
	case c.kind == kindTimestamp && !c.micros:
		// toString would print 0 as 0000-00-00 00:00:00 on old servers.
		e = "toString(toUnixTimestamp(" + c.name + "))"
	case base == "String":
		e = c.name
	default:
		e = "toString(" + c.name + ")"
	}
	if !nullable {
		return []string{e}
	}
	return []string{"toString(isNull(" + c.name + "))", "ifNull(" + e + ", '')"}
}

// canonCH returns the canonical form of a ClickHouse value read through
// chExprs.
func (c *column) canonCH(s string) string {
	switch c.kind {
	case kindInt:
		return canonInt(s)
	case kindDecimal:
		return canonDecimal(s, c.scale)
	case kindJSON:
		return canonJSON(s)
	case kindTimestamp:
		return chTimestamp(s, c.micros)
	}
	return s // text; dates are YYYY-MM-DD as String and as toString(Date32)
}

// isMicros reports whether a ClickHouse timestamp type keeps microseconds.
func isMicros(chType string) bool { return strings.Contains(chType, "DateTime64") }

// kindOf maps a source column type to its comparison kind.
func kindOf(t topology.ColumnType) (kind, error) {
	switch t {
	case topology.TypeSmallint, topology.TypeInteger, topology.TypeBigint:
		return kindInt, nil
	case topology.TypeNumeric:
		return kindDecimal, nil
	case topology.TypeText:
		return kindText, nil
	case topology.TypeJSONB:
		return kindJSON, nil
	case topology.TypeDate:
		return kindDate, nil
	case topology.TypeTimestamptz:
		return kindTimestamp, nil
	}
	return 0, fmt.Errorf("no comparison for column type %s", t)
}

// pgExpr returns the PostgreSQL expression that reads a column of kind k.
// Numbers and JSON are read as text; CHAR(n) is read uncast, since a cast
// to text strips its padding and Debezium sends it padded; dates and
// timestamps are read in binary, exact to the microsecond.
func pgExpr(name string, k kind) string {
	switch k {
	case kindInt, kindDecimal, kindJSON:
		return name + "::text"
	}
	return name
}

// mirrorTable describes the comparison of source table t with its mirror.
func mirrorTable(t topology.Table, info *sinks.TableInfo, schema string) (*table, error) {
	types := make(map[string]string, len(info.Columns))
	for _, c := range info.Columns {
		types[c.Name] = c.Type
	}
	tb := &table{name: t.String(), chName: info.Name, final: true, keyCols: []int{0}}
	var exprs []string
	for _, sc := range t.Columns() {
		k, err := kindOf(sc.Type)
		if err != nil {
			return nil, fmt.Errorf("comparing %s.%s: %w", t, sc.Name, err)
		}
		chType, ok := types[sc.Name]
		if !ok {
			return nil, fmt.Errorf("comparing %s.%s: no such column in %s", t, sc.Name, info.Name)
		}
		c := column{
			name:     sc.Name,
			kind:     k,
			nullable: sc.Nullable,
			scale:    int(sc.Scale),
			micros:   isMicros(chType),
			pgExpr:   pgExpr(sc.Name, k),
			chType:   chType,
		}
		tb.cols = append(tb.cols, c)
		exprs = append(exprs, c.pgExpr)
	}
	if tb.cols[0].name != "id" {
		return nil, fmt.Errorf("comparing %s: the first column is %s, want id", t, tb.cols[0].name)
	}
	// Qualified, ORDER BY names the table's id, not the output column
	// id::text (also named id), which would sort as text.
	tb.pgSQL = fmt.Sprintf("SELECT %s FROM %s AS s ORDER BY s.id", strings.Join(exprs, ", "),
		pgx.Identifier{schema, t.String()}.Sanitize())
	return tb, nil
}

// skippedFactColumns are the sales_facts columns PostgreSQL cannot
// derive: updated_at is the time of the latest source change that went
// into the fact, which the source tables do not record.
var skippedFactColumns = map[string]bool{"updated_at": true, "_version": true, "_deleted": true}

// factExprs gives, per compared sales_facts column, its kind and its
// PostgreSQL expression over the aliases of factsFrom: i (order_items),
// o (orders), c (customers), v (vehicles), t (order totals), p (approved
// payments). Missing dimension rows give ” and 0, as in the processor;
// CHAR(n) columns keep their padding (COALESCE with ” stays bpchar).
var factExprs = map[string]struct {
	kind kind
	expr string
}{
	"order_item_id":    {kindInt, "i.id::text"},
	"order_id":         {kindInt, "i.order_id::text"},
	"order_date":       {kindTimestamp, "o.order_date"},
	"order_status":     {kindText, "o.status"},
	"channel":          {kindText, "o.channel"},
	"currency":         {kindText, "o.currency"},
	"customer_id":      {kindInt, "o.customer_id::text"},
	"customer_name":    {kindText, "CASE WHEN c.id IS NULL THEN '' ELSE c.first_name || ' ' || c.last_name END"},
	"customer_email":   {kindText, "COALESCE(c.email, '')"},
	"customer_city":    {kindText, "COALESCE(c.city, '')"},
	"customer_region":  {kindText, "COALESCE(c.region, '')"},
	"customer_country": {kindText, "COALESCE(c.country, '')"},
	"customer_segment": {kindText, "COALESCE(c.segment, '')"},
	"vehicle_id":       {kindInt, "i.vehicle_id::text"},
	"vin":              {kindText, "COALESCE(v.vin, '')"},
	"make":             {kindText, "COALESCE(v.make, '')"},
	"model":            {kindText, "COALESCE(v.model, '')"},
	"model_year":       {kindInt, "COALESCE(v.model_year, 0)::text"},
	"body_type":        {kindText, "COALESCE(v.body_type, '')"},
	"fuel_type":        {kindText, "COALESCE(v.fuel_type, '')"},
	"condition":        {kindText, "COALESCE(v.condition, '')"},
	"list_price":       {kindDecimal, "COALESCE(v.list_price, 0)::text"},
	"quantity":         {kindInt, "i.quantity::text"},
	"unit_price":       {kindDecimal, "i.unit_price::text"},
	"discount":         {kindDecimal, "i.discount::text"},
	"line_total":       {kindDecimal, "(i.quantity * i.unit_price - i.discount)::text"},
	"order_total":      {kindDecimal, "COALESCE(t.order_total, 0)::text"},
	"order_paid":       {kindDecimal, "COALESCE(p.order_paid, 0)::text"},
	"payment_status": {kindText, "CASE WHEN COALESCE(p.order_paid, 0) = 0 THEN 'unpaid' " +
		"WHEN COALESCE(p.order_paid, 0) < COALESCE(t.order_total, 0) THEN 'partial' ELSE 'paid' END"},
}

// factsFrom is the left join of docs/design.md (Outputs) in PostgreSQL: one row per order
// item (its order always exists: a foreign key), with the order's
// customer and the item's vehicle if present, the order's total over its
// items and its paid amount over its approved payments.
const factsFrom = `FROM %[1]s i
JOIN %[2]s o ON o.id = i.order_id
LEFT JOIN %[3]s c ON c.id = o.customer_id
LEFT JOIN %[4]s v ON v.id = i.vehicle_id
LEFT JOIN (SELECT order_id, sum(quantity * unit_price - discount) AS order_total
           FROM %[1]s GROUP BY order_id) t ON t.order_id = i.order_id
LEFT JOIN (SELECT order_id, sum(amount) AS order_paid
           FROM %[5]s WHERE status = 'approved' GROUP BY order_id) p ON p.order_id = i.order_id`

func factsFromSQL(schema string) string {
	q := func(t string) string { return pgx.Identifier{schema, t}.Sanitize() }
	return fmt.Sprintf(factsFrom, q("order_items"), q("orders"), q("customers"), q("vehicles"), q("payments"))
}

// factsTable describes the comparison of sales_facts_current with the
// left join computed by PostgreSQL.
func factsTable(info *sinks.TableInfo, view, schema string) (*table, error) {
	types := make(map[string]string, len(info.Columns))
	for _, c := range info.Columns {
		types[c.Name] = c.Type
	}
	tb := &table{name: sinks.FactsViewTable, chName: view}
	var exprs []string
	for _, name := range topology.FactColumns {
		if skippedFactColumns[name] {
			continue
		}
		fe, ok := factExprs[name]
		if !ok {
			return nil, fmt.Errorf("comparing %s: no PostgreSQL expression for column %s", tb.name, name)
		}
		chType, ok := types[name]
		if !ok {
			return nil, fmt.Errorf("comparing %s: no such column in %s", tb.name, info.Name)
		}
		c := column{name: name, kind: fe.kind, scale: topology.MoneyScale, micros: isMicros(chType), pgExpr: fe.expr, chType: chType}
		switch name {
		case "order_id":
			tb.keyCols = append([]int{len(tb.cols)}, tb.keyCols...)
		case "order_item_id":
			tb.keyCols = append(tb.keyCols, len(tb.cols))
		}
		tb.cols = append(tb.cols, c)
		exprs = append(exprs, c.pgExpr)
	}
	if len(tb.keyCols) != 2 || tb.cols[tb.keyCols[0]].name != "order_id" {
		return nil, fmt.Errorf("comparing %s: key columns order_id, order_item_id not found", tb.name)
	}
	// Qualified names in ORDER BY are the tables' columns, not the text
	// output columns of the same names.
	tb.pgSQL = fmt.Sprintf("SELECT %s\n%s\nORDER BY i.order_id, i.id", strings.Join(exprs, ", "), factsFromSQL(schema))
	return tb, nil
}
