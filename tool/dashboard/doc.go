// Package dashboard serves drivetrain's sales dashboard: web pages that
// read ClickHouse and refresh live (sales now, products, customers and
// regions, inventory, transactions, history, pipeline freshness).
package dashboard
