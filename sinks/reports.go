package sinks

import (
	"context"
	"fmt"
	"strings"
)

// Report is one canned analytics query over drivetrain's ClickHouse tables
// (the seed's use cases: a sales dashboard, inventory, transaction tracking,
// historical reports). Every column of its SQL is a String (toString), so
// it reads the same over both transports.
type Report struct {
	Name  string // stable identifier, used on the command line
	Title string
	// SQL is the query text with {db} standing for the database.
	SQL string
}

// Reports lists the canned reports; deploy/clickhouse/queries.sql holds the
// same queries for dashboard tools (a test keeps the two equal).
var Reports = []Report{
	{
		Name:  "sales-by-day",
		Title: "Sales by day (last 14 days with sales; cancelled orders excluded)",
		SQL: `SELECT toString(toDate(order_date)) AS day,
       toString(uniqExact(order_id)) AS orders,
       toString(sum(quantity)) AS vehicles,
       toString(sum(line_total)) AS revenue
FROM {db}.sales_facts_current
WHERE order_status != 'cancelled'
GROUP BY day
ORDER BY day DESC
LIMIT 14`,
	},
	{
		Name:  "make-model",
		Title: "Revenue by make and model (top 15)",
		SQL: `SELECT make,
       model,
       toString(uniqExact(order_id)) AS orders,
       toString(sum(quantity)) AS units,
       toString(sum(line_total)) AS revenue
FROM {db}.sales_facts_current
WHERE order_status != 'cancelled' AND make != ''
GROUP BY make, model
ORDER BY sum(line_total) DESC, make, model
LIMIT 15`,
	},
	{
		Name:  "city-segment",
		Title: "Revenue by customer city and segment (top 15)",
		SQL: `SELECT customer_city AS city,
       customer_segment AS segment,
       toString(uniqExact(customer_id)) AS customers,
       toString(uniqExact(order_id)) AS orders,
       toString(sum(line_total)) AS revenue
FROM {db}.sales_facts_current
WHERE order_status != 'cancelled' AND customer_city != ''
GROUP BY city, segment
ORDER BY sum(line_total) DESC, city, segment
LIMIT 15`,
	},
	{
		Name:  "payments",
		Title: "Payment status of the 15 most recent orders",
		SQL: `SELECT toString(order_id) AS id,
       toString(any(order_date)) AS ordered_at,
       any(customer_name) AS customer,
       any(order_status) AS status,
       toString(any(order_total)) AS total,
       toString(any(order_paid)) AS paid,
       any(payment_status) AS payment
FROM {db}.sales_facts_current
GROUP BY order_id
ORDER BY max(order_date) DESC, order_id DESC
LIMIT 15`,
	},
	{
		Name:  "inventory",
		Title: "Current inventory by stock status",
		SQL: `SELECT stock_status,
       toString(count()) AS vehicles,
       toString(uniqExact(make)) AS makes,
       toString(sum(list_price)) AS list_value
FROM {db}.vehicles FINAL
WHERE _deleted = 0
GROUP BY stock_status
ORDER BY stock_status`,
	},
}

// ReportNamed returns the report with the given name.
func ReportNamed(name string) (Report, bool) {
	for _, r := range Reports {
		if r.Name == name {
			return r, true
		}
	}
	return Report{}, false
}

// Query returns r's SQL for the given database and table suffix.
func (r Report) Query(database, suffix string) string {
	n := names{database: database, suffix: suffix}
	sql := r.SQL
	for _, base := range []string{FactsViewTable, "vehicles"} {
		sql = strings.ReplaceAll(sql, "{db}."+base, n.qualified(base))
	}
	return sql
}

// Columns returns the column names of r's result, in order.
func (r Report) Columns() []string {
	sel := r.SQL[len("SELECT "):strings.Index(r.SQL, "\nFROM ")]
	var cols []string
	for _, expr := range splitTopLevel(sel) {
		expr = strings.TrimSpace(expr)
		if i := strings.LastIndex(expr, " AS "); i >= 0 {
			expr = expr[i+len(" AS "):]
		}
		cols = append(cols, expr)
	}
	return cols
}

// splitTopLevel splits s at commas outside parentheses.
func splitTopLevel(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, c := range s {
		switch c {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// QueryReport runs r against c's database and tables and returns its rows.
func (c *Client) QueryReport(ctx context.Context, r Report) ([][]string, error) {
	rows, err := c.query(ctx, r.Query(c.n.database, c.n.suffix), len(r.Columns()))
	if err != nil {
		return nil, fmt.Errorf("running report %s: %w", r.Name, err)
	}
	return rows, nil
}

// QueriesSQL renders every report as deploy/clickhouse/queries.sql holds
// them, for database "drivetrain".
func QueriesSQL() string {
	var b strings.Builder
	b.WriteString("-- drivetrain's canned reports (drivetrain report --sql prints the same).\n")
	b.WriteString("-- Generated from sinks/reports.go; rewrite with: go test ./sinks -run TestSchemaFiles -update\n")
	for _, r := range Reports {
		fmt.Fprintf(&b, "\n-- %s: %s\n%s;\n", r.Name, r.Title, r.Query("drivetrain", ""))
	}
	return b.String()
}
